//! etlkit: a toolkit for practising, teaching and automating two jobs every Python data engineer meets:
//! the "10 GB CSV ETL" and "profile this slow program and fix it".
//!
//! The library holds all logic; the `etlkit` binary (`src/main.rs`) and the Python package (`python/`) are
//! thin adapters over it.
//!
//! - [`generate`]: deterministic synthetic datasets (the `orders` scenario) with recorded dirt.
//! - [`profile`]: profile ingestion (cProfile/pstats, py-spy, folded, speedscope), views, exports, diffs.

pub mod atomic;
pub mod diagnose;
pub mod drill;
pub mod error;
pub mod generate;
pub mod harness;
pub mod pipeline;
pub mod profile;
pub mod size;

pub use error::{Error, Result};

/// The version written into manifests; datasets are reproducible for a given seed and this version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
