//! `etlkit check` and `etlkit compare`: argument definitions and adapters to `crate::harness`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::harness::{self, history, report, CheckOptions, Limits, Profiler, Verdict};
use crate::size::parse_size;

#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// Python interpreter [default: $ETLKIT_PYTHON, the active venv's, or python3].
    #[arg(long)]
    python: Option<PathBuf>,
    /// Wall-time limit in seconds.
    #[arg(long, default_value_t = 600.0)]
    timeout: f64,
    /// Memory limit of the whole process tree (resident), e.g. 4GB.
    #[arg(long, default_value = "8GB", value_parser = |s: &str| parse_size(s).map_err(|e| e.to_string()))]
    memory: u64,
    /// CPU-time limit in seconds (user + system, whole tree).
    #[arg(long)]
    cpu: Option<f64>,
    /// Limit on the bytes written under the output directory.
    #[arg(long, default_value = "10GB", value_parser = |s: &str| parse_size(s).map_err(|e| e.to_string()))]
    max_output: u64,
    /// Profiler wrapping the solution.
    #[arg(long, value_enum, default_value_t = Profiler::PySpy)]
    profiler: Profiler,
    /// Reference outputs to compare with [default: computed with `etlkit pipeline`].
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Keep working directories (outputs, profiles, logs) here [default: a new temp dir].
    #[arg(long)]
    work: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also name each solution's bottleneck from its profile and source (`etlkit diagnose`).
    #[arg(long)]
    diagnose: bool,
    /// Timed runs of each solution after the checked one (unprofiled; `compare` takes them in turns); more
    /// than one shows the median and the spread, and `compare` ranks by the median.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Untimed runs of each solution before the timed ones.
    #[arg(long, default_value_t = 0)]
    warmup: u32,
}

impl LimitArgs {
    fn options(&self, data: &std::path::Path) -> CheckOptions {
        let mut o = CheckOptions::new(data);
        // Ctrl-C kills the running solution's process group; the command then exits 130.
        o.cancel = Some(super::interrupt::cancel_flag());
        if let Some(p) = &self.python {
            o.python = p.clone();
        }
        o.limits = Limits {
            wall: Duration::from_secs_f64(self.timeout),
            memory: Some(self.memory),
            cpu: self.cpu.map(Duration::from_secs_f64),
            output: Some(self.max_output),
        };
        o.profiler = self.profiler;
        o.reference = self.reference.clone();
        o.work = self.work.clone();
        o.diagnose = self.diagnose;
        (o.runs, o.warmup) = (self.runs as usize, self.warmup as usize);
        o
    }
}

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "The contract: `python SOLUTION.py INPUT_DIR OUTPUT_DIR` writes daily_revenue.csv, \
top_customers.csv, rejects.csv and summary.json (exercises/etl_10gb/README.md).\nExit code: 0 when correct, 1 otherwise."
)]
pub struct CheckArgs {
    /// The candidate solution (a Python file).
    solution: PathBuf,
    /// The dataset directory (made by `etlkit generate`).
    #[arg(long, short)]
    data: PathBuf,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Candidate solutions (Python files).
    #[arg(required_unless_present = "show")]
    solutions: Vec<PathBuf>,
    /// The dataset directory (made by `etlkit generate`).
    #[arg(long, short, required_unless_present = "show")]
    data: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Directory for report.html, report.json and the flamegraphs.
    #[arg(long, default_value = "etlkit-report")]
    report: PathBuf,
    /// Append this comparison (ranked rows, machine, dataset size, etlkit version) to a JSON-lines history.
    #[arg(long, value_name = "FILE.jsonl")]
    history: Option<PathBuf>,
    /// Print the standings over time from --history instead of running anything.
    #[arg(long, requires = "history", conflicts_with_all = ["solutions", "data"])]
    show: bool,
}

pub fn run_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let r = harness::check(&args.solution, &args.limits.options(&args.data))?;
    if args.limits.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", r.render());
    }
    Ok(if r.verdict == Verdict::Correct {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn run_compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    if args.show {
        let path = args
            .history
            .as_deref()
            .expect("clap requires --history with --show");
        let entries = history::load(path)?;
        if args.limits.json {
            println!("{}", serde_json::to_string_pretty(&entries)?);
        } else {
            print!("{}", history::standings(&entries, 8));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let data = args
        .data
        .as_deref()
        .expect("clap requires --data without --show");
    let opts = args.limits.options(data);
    let c = harness::compare(&args.solutions, &opts)?;
    let html = report::write_html(&c, &args.report)?;
    if let Some(path) = &args.history {
        history::append(path, &history::Entry::of(&c))?;
    }
    if args.limits.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", report::table(&c));
        println!("Report: {}", html.display());
    }
    Ok(ExitCode::SUCCESS)
}
