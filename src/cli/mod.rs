//! The command line (cargo feature `cli`): clap definitions, each subcommand in its own module mapping
//! arguments to a library call; the terminal's parts (prompts, Ctrl-C, exit codes) live here and nowhere else.
//! [`run`] is the whole `etlkit` command, for `src/main.rs` and the Python package's console script alike.

mod check;
mod diagnose;
mod drill;
mod generate;
pub mod interrupt;
mod pipeline;
mod profile;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// etlkit: generate 10 GB CSV datasets, run the reference ETL, profile and diagnose slow Python.
#[derive(Debug, Parser)]
#[command(name = "etlkit", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a deterministic synthetic dataset (the `orders` scenario) with recorded dirt.
    Generate(generate::GenerateArgs),
    /// Run the reference ETL on a generated dataset: validate, clean, de-duplicate, join, aggregate.
    Pipeline(pipeline::PipelineArgs),
    /// Run a candidate Python solution of the ETL exercise under limits; verify, measure and profile it.
    Check(check::CheckArgs),
    /// Run several solutions and the reference on the same data: a table, JSON and an HTML report.
    Compare(check::CompareArgs),
    /// Name the bottleneck of a Python program from its profile and its source.
    Diagnose(diagnose::DiagnoseArgs),
    /// Practise naming bottlenecks: a profile, your answer, a grade, the fix and its measured speedup.
    Drill(drill::DrillArgs),
    /// Read a profile (cProfile/pstats, py-spy raw or speedscope, folded stacks, line_profiler, Scalene,
    /// memray): report, export, diff.
    Profile(profile::ProfileArgs),
    /// Print a shell completion script (e.g. `etlkit completions bash > ~/.local/share/bash-completion/completions/etlkit`).
    Completions {
        /// The shell to write completions for.
        shell: clap_complete::Shell,
    },
}

/// Prints an error as the command line reports it and returns the exit code: 0 for a closed pipe (the
/// reader's choice), 130 for an interrupt, 2 for a usage error, 1 otherwise. Shared by `etlkit` and the Python
/// console script.
fn report_error(err: &anyhow::Error) -> u8 {
    let Some(lib) = err.downcast_ref::<crate::Error>() else {
        eprintln!("etlkit: error: {err:#}");
        return 1;
    };
    if lib.is_broken_pipe() {
        return 0;
    }
    if matches!(lib, crate::Error::Interrupted) {
        eprintln!("etlkit: interrupted");
        return interrupt::EXIT_INTERRUPTED;
    }
    eprintln!("etlkit: error: {err:#}");
    if matches!(lib, crate::Error::OutputNotEmpty { .. }) {
        eprintln!("etlkit: pass --force to replace its contents");
    }
    if lib.is_usage() {
        2
    } else {
        1
    }
}

/// Runs the command line on `argv` (program name first) and returns the exit code: the `etlkit` binary and the
/// Python package's console script both call this.
pub fn run<I, T>(argv: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    ExitCode::from(exit_code(argv))
}

/// [`run`] with the exit code as a number (0 success, 1 failure, 2 usage error, 130 interrupted), for a host
/// that exits by itself (Python's console-script entry point).
pub fn exit_code<I, T>(argv: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match Cli::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            // --help and --version land here too (exit code 0), printed to stdout; usage errors to stderr.
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    let result = dispatch(args);
    // Inside Python nothing flushes Rust's stdout at exit unless this does.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    match result {
        Ok(code) if code == ExitCode::SUCCESS => 0,
        Ok(_) => 1,
        Err(err) => report_error(&err),
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Pipeline(args) => pipeline::run(args),
        Command::Check(args) => check::run_check(args),
        Command::Compare(args) => check::run_compare(args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::Drill(args) => drill::run(args),
        Command::Profile(args) => profile::run(args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "etlkit", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::{Debug, Display};
    use std::str::FromStr;

    use clap::ValueEnum;

    use crate::generate::Compression;
    use crate::harness::Profiler;
    use crate::pipeline::Engine;
    use crate::profile::{export::ExportFormat, Format};

    /// The names clap accepts for an option are the names the library parses and prints (Python uses the
    /// latter), for every value.
    fn agree<T>()
    where
        T: ValueEnum + Display + FromStr + PartialEq + Debug,
        T::Err: Display,
    {
        for v in T::value_variants() {
            let name = v.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(v.to_string(), name);
            assert_eq!(name.parse::<T>().ok().as_ref(), Some(v));
        }
        let err = "no-such-value".parse::<T>().err().unwrap().to_string();
        let first = T::value_variants()[0].to_string();
        assert!(
            err.contains("'no-such-value'") && err.contains(&first),
            "{err}"
        );
    }

    #[test]
    fn option_names_agree_with_clap() {
        agree::<Engine>();
        agree::<Compression>();
        agree::<Profiler>();
        agree::<Format>();
        agree::<ExportFormat>();
        assert_eq!(
            "duckdb".parse::<Engine>().unwrap_err().to_string(),
            "invalid engine 'duckdb': one of csv, polars"
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(super::exit_code(["etlkit", "--version"]), 0);
        assert_eq!(super::exit_code(["etlkit", "no-such-command"]), 2);
        assert_eq!(
            super::exit_code(["etlkit", "profile", "/no/such/profile.pstats"]),
            1
        );
    }
}
