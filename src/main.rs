//! The `etlkit` command: the library's command line (`etlkit::cli`, cargo feature `cli`). Logic lives in
//! `etlkit::*`.

fn main() -> std::process::ExitCode {
    etlkit::cli::run(std::env::args_os())
}
