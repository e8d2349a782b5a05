//! The `etlkit` command: a thin clap adapter over the library. Logic lives in `etlkit::*`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => ExitCode::from(cli::report_error(&err)),
    }
}
