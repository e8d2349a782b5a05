//! `--engine polars`: the exercise spec on polars (placeholder until the polars dependency lands).

use super::{PipelineOptions, Summary};
use crate::{Error, Result};

pub fn run(_opts: &PipelineOptions) -> Result<Summary> {
    Err(Error::InvalidArgument {
        what: "engine",
        value: "polars".into(),
        expected: "csv (the polars engine is not built yet)".into(),
    })
}
