//! The `etlkit` console script: the very same clap CLI as the Rust binary. Its sources (`../src/cli/`) are
//! compiled into the extension as they are, so the two commands cannot drift apart; `main` mirrors
//! `src/main.rs`, except that it returns the exit code instead of exiting (Python's entry point does that).

#[path = "../../src/cli/mod.rs"]
#[allow(dead_code)]
mod imp;

use clap::Parser;

/// Runs the CLI on `argv` (program name first) and returns the process exit code.
pub fn main(argv: Vec<String>) -> u8 {
    let args = match imp::Cli::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            // --help and --version land here too (exit code 0), printed to stdout; usage errors to stderr.
            let _ = e.print();
            return e.exit_code() as u8;
        }
    };
    let result = imp::run(args);
    // Not a Rust program's `main`: nothing flushes Rust's stdout at exit unless this does.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    match result {
        Ok(code) => {
            if code == std::process::ExitCode::SUCCESS {
                0
            } else {
                1
            }
        }
        Err(err) => imp::report_error(&err),
    }
}
