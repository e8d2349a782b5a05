//! Command-line definitions. Each subcommand has its own module that maps arguments to a library call.

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
pub struct Cli {
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
pub fn report_error(err: &anyhow::Error) -> u8 {
    let Some(lib) = err.downcast_ref::<etlkit::Error>() else {
        eprintln!("etlkit: error: {err:#}");
        return 1;
    };
    if lib.is_broken_pipe() {
        return 0;
    }
    if matches!(lib, etlkit::Error::Interrupted) {
        eprintln!("etlkit: interrupted");
        return interrupt::EXIT_INTERRUPTED;
    }
    eprintln!("etlkit: error: {err:#}");
    if matches!(lib, etlkit::Error::OutputNotEmpty { .. }) {
        eprintln!("etlkit: pass --force to replace its contents");
    }
    if lib.is_usage() {
        2
    } else {
        1
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
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
