//! `etlkit diagnose`: argument definitions and the adapter to `etlkit::diagnose`.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Example:\n  py-spy record --format raw -o prof.txt -- python slow.py\n  etlkit diagnose prof.txt --source ."
)]
pub struct DiagnoseArgs {
    /// The profile (py-spy raw or speedscope, folded stacks, cProfile/pstats).
    profile: PathBuf,
    /// The program's source: a directory or a .py file [default: the current directory].
    #[arg(long, short, default_value = ".")]
    source: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let d = etlkit::diagnose::diagnose_file(&args.profile, &args.source)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", d.render());
    }
    Ok(ExitCode::SUCCESS)
}
