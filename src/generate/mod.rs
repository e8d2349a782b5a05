//! `etlkit generate`: deterministic synthetic datasets with recorded dirt.
pub mod dirt;
