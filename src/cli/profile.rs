//! `etlkit profile`: argument definitions and the adapter to `etlkit::profile`.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// The profile file to read.
    file: PathBuf,
}

pub fn run(args: ProfileArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "{}: profile ingestion is not implemented yet",
        args.file.display()
    )
}
