//! The `etlkit` command: a thin clap adapter over the library. Logic lives in `etlkit::*`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            if let Some(lib) = err.downcast_ref::<etlkit::Error>() {
                // A closed pipe (`etlkit generate --stdout | head`) is the reader's choice, not an error.
                if lib.is_broken_pipe() {
                    return ExitCode::SUCCESS;
                }
                eprintln!("etlkit: error: {err:#}");
                return ExitCode::from(if lib.is_usage() { 2 } else { 1 });
            }
            eprintln!("etlkit: error: {err:#}");
            ExitCode::from(1)
        }
    }
}
