//! `etlkit drill`: pick a drill, show its profile without the answer, ask, grade, explain, measure the fix.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use etlkit::diagnose::Category;
use etlkit::drill::{self, Attempt, Drill, Guess};
use etlkit::harness::runner::{self, Limits, RunSpec};
use etlkit::profile::view::{self, Filters};

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Examples:\n  etlkit drill                      # a random drill, interactive\n  etlkit drill --focus              # practise your weakest category\n  etlkit drill 01 --answer slow.py:36 --category nested_loop_join --json\n  etlkit drill 13 --profiler cprofile   # train on a cProfile profile (per function, with call counts)\n  etlkit drill 20 --profiler scalene    # CPU and memory per line\n  etlkit drill --list ; etlkit drill --stats"
)]
pub struct DrillArgs {
    /// Drill id or part of it (e.g. `01` or `order-enrichment`) [default: random].
    name: Option<String>,
    /// Only drills of this category.
    #[arg(long, value_name = "CATEGORY")]
    only: Option<String>,
    /// Only drills of this difficulty (easy, medium, hard).
    #[arg(long)]
    difficulty: Option<String>,
    /// Pick from the categories you miss most (from your history).
    #[arg(long)]
    focus: bool,
    /// Seed for the random pick [default: the clock].
    #[arg(long)]
    seed: Option<u64>,
    /// Your answer's location, non-interactively: `slow.py:LINE`, `LINE` or a function name.
    #[arg(long)]
    answer: Option<String>,
    /// Your answer's category id (with --answer).
    #[arg(long)]
    category: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Do not time slow.py against fast.py.
    #[arg(long)]
    no_run: bool,
    /// Record a new profile (with the --profiler) instead of using the drill's recorded one.
    #[arg(long)]
    fresh: bool,
    /// The profile to train on: py-spy's sampled stacks (hot lines), cProfile's per-function calls and times
    /// (what most people reach for first), line_profiler's hits and time per line, or Scalene's CPU and memory
    /// per line.
    #[arg(long, value_enum, default_value = "pyspy")]
    profiler: DrillProfiler,
    /// Do not add this attempt to the history.
    #[arg(long)]
    no_history: bool,
    /// List the drills.
    #[arg(long)]
    list: bool,
    /// Show your score per category.
    #[arg(long)]
    stats: bool,
    /// The drills folder [default: ./exercises/drills, else the one etlkit was built with].
    #[arg(long)]
    drills: Option<PathBuf>,
    /// Python interpreter for running the drill [default: $ETLKIT_PYTHON, the venv's, or python3].
    #[arg(long)]
    python: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DrillProfiler {
    /// `py-spy record --format raw` (the drill's profile.raw.txt).
    Pyspy,
    /// `python -m cProfile -o` (the drill's profile.pstats).
    Cprofile,
    /// line_profiler's `kernprof -l -p slow.py` (the drill's profile.lprof).
    Line,
    /// `scalene run --no-stacks` (the drill's profile.scalene.json).
    Scalene,
}

fn drills_dir(arg: &Option<PathBuf>) -> PathBuf {
    if let Some(d) = arg {
        return d.clone();
    }
    let here = PathBuf::from("exercises/drills");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises/drills")
}

/// Runs `program args` in `cwd` as the harness runs candidates (its own process group, killed on Ctrl-C or
/// after ten minutes); returns (wall seconds, stdout).
fn run_child(
    program: &Path,
    args: Vec<OsString>,
    cwd: &Path,
    cancel: &Arc<AtomicBool>,
) -> anyhow::Result<(f64, Vec<u8>)> {
    let logs = tempfile::Builder::new()
        .prefix("etlkit-drill-")
        .tempdir()
        .map_err(|e| etlkit::Error::io(std::env::temp_dir(), e))?;
    let spec = RunSpec {
        program: program.to_path_buf(),
        args,
        cwd: cwd.to_path_buf(),
        output_dir: logs.path().to_path_buf(),
        env: vec![],
        logs: Some(logs.path().to_path_buf()),
    };
    let limits = Limits {
        wall: Duration::from_secs(600),
        memory: None,
        cpu: None,
        output: None,
    };
    let r = runner::run_cancellable(&spec, &limits, Some(cancel), |_| {})?;
    if !r.success() {
        anyhow::bail!(
            "{} failed ({}): {}",
            program.display(),
            r.limit.map_or_else(
                || r.exit_code.map_or("killed".into(), |c| format!("exit {c}")),
                |l| format!("{} limit", l.name())
            ),
            r.stderr_tail.trim()
        );
    }
    let out = std::fs::read(logs.path().join("stdout.txt"))
        .map_err(|e| etlkit::Error::io(logs.path().join("stdout.txt"), e))?;
    Ok((r.wall_seconds, out))
}

/// Runs a script, returns (seconds, stdout).
fn time_script(
    python: &Path,
    script: &Path,
    cancel: &Arc<AtomicBool>,
) -> anyhow::Result<(f64, Vec<u8>)> {
    let cwd = script.parent().unwrap_or(Path::new("."));
    anyhow::Context::with_context(run_child(python, vec![script.into()], cwd, cancel), || {
        script.display().to_string()
    })
}

fn profile_of(
    d: &Drill,
    args: &DrillArgs,
    python: &Path,
    cancel: &Arc<AtomicBool>,
) -> anyhow::Result<PathBuf> {
    if !args.fresh {
        let cached = match args.profiler {
            DrillProfiler::Pyspy => d.cached_profile(),
            DrillProfiler::Cprofile => d.cached_pstats(),
            DrillProfiler::Line => d.cached_lprof(),
            DrillProfiler::Scalene => d.cached_scalene(),
        };
        if let Some(p) = cached {
            return Ok(p);
        }
    }
    let tmp = |ext: &str| {
        std::env::temp_dir().join(format!(
            "etlkit-drill-{}-{}.{ext}",
            d.id,
            std::process::id()
        ))
    };
    // The profilers that run as Python modules: (name, module and arguments, output, what to install).
    let module_run = match args.profiler {
        DrillProfiler::Cprofile => {
            let out = tmp("pstats");
            Some((
                "cProfile",
                vec!["cProfile".into(), "-o".into(), out.clone().into()],
                out,
                "it is part of Python",
            ))
        }
        DrillProfiler::Line => {
            let out = tmp("lprof");
            Some((
                "line_profiler",
                vec![
                    "kernprof".into(),
                    "-l".into(),
                    "-p".into(),
                    "slow.py".into(),
                    "-o".into(),
                    out.clone().into(),
                ],
                out,
                "`pip install line_profiler` (4.1 or later)",
            ))
        }
        DrillProfiler::Scalene => {
            // (Scalene names its output `.json` whatever it is given.)
            let out = tmp("json");
            Some((
                "Scalene",
                vec![
                    "scalene".into(),
                    "run".into(),
                    "--no-stacks".into(),
                    "-o".into(),
                    out.clone().into(),
                ],
                out,
                "`pip install scalene`",
            ))
        }
        DrillProfiler::Pyspy => None,
    };
    if let Some((name, module_args, out, install)) = module_run {
        // Run in the drill's folder with a relative script name, so the profile names `slow.py` as py-spy does.
        let mut argv: Vec<OsString> = vec!["-m".into()];
        argv.extend(module_args);
        argv.push("slow.py".into());
        if let Err(e) = run_child(python, argv, &d.dir, cancel) {
            if e.downcast_ref::<etlkit::Error>()
                .is_some_and(|e| matches!(e, etlkit::Error::Interrupted))
            {
                return Err(e);
            }
            anyhow::bail!(
                "{name} could not record {} with {} ({install}): {e:#}",
                d.slow().display(),
                python.display()
            );
        }
        if !out.is_file() {
            anyhow::bail!("{name} wrote no profile for {}", d.slow().display());
        }
        return Ok(out);
    }
    let spy = etlkit::harness::py_spy_next_to(python).ok_or_else(|| anyhow::anyhow!("py-spy not found next to {} or on PATH: `pip install py-spy`, or use a drill's recorded profile (drop --fresh)", python.display()))?;
    let out = tmp("txt");
    let mut spy_args: Vec<OsString> = ["record", "--format", "raw", "--rate", "200", "-o"]
        .into_iter()
        .map(OsString::from)
        .collect();
    spy_args.extend([
        out.clone().into(),
        "--".into(),
        python.into(),
        d.slow().into(),
    ]);
    if let Err(e) = run_child(&spy, spy_args, &d.dir, cancel) {
        if e.downcast_ref::<etlkit::Error>()
            .is_some_and(|e| matches!(e, etlkit::Error::Interrupted))
        {
            return Err(e);
        }
        anyhow::bail!("py-spy could not record {}: {e:#}; if ptrace is not permitted run as root or use the recorded profile", d.slow().display());
    }
    if !out.is_file() {
        anyhow::bail!("py-spy wrote no profile for {}", d.slow().display());
    }
    Ok(out)
}

/// The drill's program as `slow.py`, however the profiler spelled its path (Scalene writes it absolute).
fn short(file: &str) -> &str {
    if file.ends_with("/slow.py") {
        "slow.py"
    } else {
        file
    }
}

fn show(d: &Drill, profile_path: &Path) -> anyhow::Result<String> {
    let profile = etlkit::profile::load(profile_path, None)?;
    let filters = Filters {
        idle: false,
        imports: true,
        stdlib: false,
        site_packages: false,
    };
    let r = view::analyze(&profile, &filters, 8, None);
    let src = std::fs::read_to_string(d.slow()).unwrap_or_default();
    let lines: Vec<&str> = src.lines().collect();
    let timed = profile.is_timed();
    let mut s = format!(
        "Drill {} ({}, {})\n\n{}\n\nProfile of slow.py ({}):\n",
        d.id,
        d.answer.difficulty,
        d.slow().display(),
        d.story.trim(),
        match profile.meta.format {
            etlkit::profile::Format::Lprof => "line_profiler".to_string(),
            etlkit::profile::Format::Scalene => format!("Scalene, {:.2} s", r.total),
            _ if timed => format!("cProfile, {:.2} s", r.total),
            _ => format!("{} samples", r.total),
        }
    );
    let source_of = |file: &str, line: u32| {
        if file.ends_with("slow.py") {
            lines.get(line as usize - 1).map_or("", |t| t.trim())
        } else {
            ""
        }
    };
    if !r.line_functions.is_empty() {
        // line_profiler: a line's time includes what it calls; hits say how often it ran.
        let mut rows: Vec<(&str, &str, &view::LineDetail)> = r
            .line_functions
            .iter()
            .flat_map(|f| {
                f.lines
                    .iter()
                    .map(move |l| (f.function.as_str(), f.file.as_str(), l))
            })
            .collect();
        rows.sort_by(|a, b| b.2.time.total_cmp(&a.2.time));
        s.push_str("\nHot lines (a line's time includes the calls it makes)\n   time s        hits    per hit  line\n");
        for (function, file, l) in rows.into_iter().take(10) {
            let per_hit = match l.per_hit {
                t if t >= 1.0 => format!("{t:.2} s"),
                t if t >= 1e-3 => format!("{:.2} ms", t * 1e3),
                t => format!("{:.2} us", t * 1e6),
            };
            s.push_str(&format!(
                "  {:>7.3} {:>11} {:>10}  slow.py:{:<4} {:<22} {}\n",
                l.time,
                l.hits,
                per_hit,
                l.line,
                function,
                source_of(file, l.line)
            ));
        }
        return Ok(s);
    }
    s.push_str("\nHot functions (self time)\n");
    for f in r.top_self.iter().take(if timed { 10 } else { 6 }) {
        let calls = f.calls.map_or(String::new(), |n| format!("  {n:>8} calls"));
        let at = f.line.map_or(String::new(), |l| format!(":{l}"));
        s.push_str(&format!(
            "  {:>5.1}%{calls}  {} ({}{at})\n",
            f.self_pct,
            f.function,
            short(&f.file)
        ));
    }
    if timed {
        s.push_str("\nTop functions by total time (including what they call)\n");
        for f in r.top_total.iter().take(8) {
            let calls = f.calls.map_or(String::new(), |n| format!("  {n:>8} calls"));
            s.push_str(&format!(
                "  {:>5.1}%{calls}  {} ({})\n",
                f.total_pct,
                f.function,
                short(&f.file)
            ));
        }
        s.push_str(
            "\n(cProfile counts calls per function; it has no lines: read the source for them)\n",
        );
        return Ok(s);
    }
    s.push_str("\nHot lines\n");
    for l in r.hot_lines.iter().take(8) {
        let text = source_of(&l.file, l.line);
        s.push_str(&format!(
            "  {:>5.1}%  {}:{:<4} {:<22} {}\n",
            l.self_pct,
            short(&l.file),
            l.line,
            l.function,
            text
        ));
    }
    if let Some(m) = &profile.memory {
        s.push_str("\nMemory by line (Scalene: peak held, MiB)\n");
        let mut rows: Vec<_> = m
            .lines
            .iter()
            .filter(|l| l.peak_bytes.unwrap_or(0.0) * 10.0 >= m.mb)
            .collect();
        rows.sort_by(|a, b| {
            b.peak_bytes
                .unwrap_or(0.0)
                .total_cmp(&a.peak_bytes.unwrap_or(0.0))
        });
        for l in rows.into_iter().take(5) {
            let f = &profile.frames[l.frame as usize];
            let line = f.line.unwrap_or(0);
            s.push_str(&format!(
                "  {:>9.1}  {}:{:<4} {:<22} {}\n",
                l.peak_bytes.unwrap_or(0.0) / m.mb,
                short(&f.file),
                line,
                f.function,
                source_of(&f.file, line)
            ));
        }
    }
    Ok(s)
}

pub fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    let dir = drills_dir(&args.drills);
    // Absolute paths: scripts run with their own folder as the working directory.
    let dir = std::fs::canonicalize(&dir).map_err(|e| etlkit::Error::io(&dir, e))?;
    let drills = drill::catalog(&dir)?;
    let history_path = drill::history_path();
    let history = drill::load_history(&history_path);
    if args.list {
        for d in &drills {
            println!(
                "{:<28} {:<26} {}",
                d.id, d.answer.category, d.answer.difficulty
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.stats {
        println!(
            "{:<26} {:>8} {:>10} {:>10}",
            "category", "attempts", "kind ok", "place ok"
        );
        for (c, (n, k, l)) in drill::stats(&history) {
            println!("{c:<26} {n:>8} {k:>10} {l:>10}");
        }
        println!("history: {}", history_path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let d = drill::pick(
        &drills,
        args.name.as_deref(),
        args.only.as_deref(),
        args.difficulty.as_deref(),
        args.focus.then_some(&history[..]),
        seed,
    )?;
    let python = args
        .python
        .clone()
        .unwrap_or_else(etlkit::harness::default_python);
    let cancel = super::interrupt::cancel_flag();
    let profile_path = profile_of(d, &args, &python, &cancel)?;
    let shown = show(d, &profile_path)?;
    let interactive = args.answer.is_none() && std::io::stdin().is_terminal();
    if !args.json {
        println!("{shown}");
    }
    let guess = match (&args.answer, &args.category) {
        (Some(loc), Some(cat)) => Guess {
            location: loc.clone(),
            category: cat.clone(),
        },
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!("pass both --answer LOCATION and --category KIND")
        }
        (None, None) if interactive => {
            let location: String = dialoguer::Input::new()
                .with_prompt("Where is the bottleneck? (slow.py:LINE, LINE or a function)")
                .interact_text()?;
            let items: Vec<String> = Category::ALL
                .iter()
                .map(|c| format!("{:<26} {}", c.id(), c.title()))
                .collect();
            let i = dialoguer::Select::new()
                .with_prompt("What kind of bottleneck? (arrow keys, Enter)")
                .items(&items)
                .default(0)
                .interact()?;
            Guess {
                location,
                category: Category::ALL[i].id().to_string(),
            }
        }
        (None, None) => anyhow::bail!(
            "no answer: run in a terminal, or pass --answer slow.py:LINE --category KIND"
        ),
    };
    let grade = drill::grade(d, &guess);
    if !args.no_history {
        drill::record(
            &history_path,
            &Attempt {
                drill: d.id.clone(),
                category: d.answer.category.clone(),
                answered_category: guess.category.clone(),
                location: grade.location,
                category_mark: grade.category,
                unix_time: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            },
        )?;
    }
    let profile = etlkit::profile::load(&profile_path, None)?;
    let tool = etlkit::diagnose::diagnose(&profile, &d.slow())?;
    let speed = if args.no_run {
        None
    } else {
        let (slow_s, slow_out) = time_script(&python, &d.slow(), &cancel)?;
        let (fast_s, fast_out) = time_script(&python, &d.fast(), &cancel)?;
        Some((slow_s, fast_s, slow_out == fast_out))
    };
    if args.json {
        let v = serde_json::json!({
            "drill": d.id,
            "guess": guess,
            "grade": grade,
            "points": grade.points(),
            "answer": d.answer,
            "diagnosis": tool.top(),
            "speedup": speed.map(|(s, f, same)| serde_json::json!({"slow_seconds": s, "fast_seconds": f, "ratio": s / f.max(1e-9), "same_output": same})),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "\nYour answer: {} / {}  ->  {}/4 points",
            guess.location,
            guess.category,
            grade.points()
        );
        println!("{}\n", grade.comment);
        println!("Why: {}\n", d.answer.explanation.trim());
        println!("Fix: {}\n", d.answer.fix.trim());
        if let Some(f) = tool.top() {
            println!(
                "etlkit diagnose says: {} at line {} ({:.0}% of the time): {}",
                f.category.map_or("?", |c| c.id()),
                f.line,
                f.share_pct,
                f.evidence
            );
        }
        if let Some((s, f, same)) = speed {
            println!(
                "Measured now: slow.py {s:.2} s, fast.py {f:.2} s: {:.1}x faster{}",
                s / f.max(1e-9),
                if same {
                    ", same output"
                } else {
                    " (OUTPUTS DIFFER)"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
