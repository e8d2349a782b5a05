//! etlkit's integration tests, one test binary (each of these modules used to be its own binary, and each
//! linked the whole library with polars). Shared helpers live in [`common`]: paths, the `etlkit` command and
//! the one policy for tests that need Python.

#[macro_use]
mod common;

mod drills;
mod fix;
mod generate;
mod guess_fuzz;
mod harness;
mod pipeline;
mod pipeline_oracle;
#[cfg(feature = "polars")]
mod pipeline_polars;
mod profile_big;
mod profile_diff;
mod profile_fuzz_regressions;
mod profile_memory;
mod profile_mutations;
mod profile_pstats;
mod profile_sampled;
mod solutions;
