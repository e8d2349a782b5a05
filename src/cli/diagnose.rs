//! `etlkit diagnose`: argument definitions and the adapter to `crate::diagnose`.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Examples:\n  py-spy record --format raw -o prof.txt -- python slow.py\n  etlkit diagnose prof.txt --source .\n  # several profiles of the program: time from one, calls or memory from the others\n  memray run -o run.bin slow.py && memray transform csv -o alloc.csv run.bin\n  etlkit diagnose prof.txt alloc.csv --source slow.py"
)]
pub struct DiagnoseArgs {
    /// The profile(s) of one program: py-spy raw or speedscope, folded stacks, cProfile/pstats,
    /// line_profiler, Scalene JSON, memray stats JSON or CSV. Several are read together: the time per line
    /// comes from the first that measures lines, call counts from cProfile, memory from Scalene or memray.
    #[arg(required = true, num_args = 1..)]
    profile: Vec<PathBuf>,
    /// The program's source: a directory or a .py file [default: the current directory].
    #[arg(long, short, default_value = ".")]
    source: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let d = crate::diagnose::diagnose_files(&args.profile, &args.source)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", d.render());
    }
    Ok(ExitCode::SUCCESS)
}
