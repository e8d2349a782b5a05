//! `etlkit drill`: pick a drill, show its profile without the answer, ask, grade, explain, measure the fix.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::diagnose::Category;
use crate::drill::fix::{self, FixAttempt};
use crate::drill::flow::{self, DrillProfiler};
use crate::drill::{self, Attempt, Guess};

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Examples:\n  etlkit drill                      # a random drill, interactive\n  etlkit drill --focus              # practise your weakest category\n  etlkit drill 01 --answer slow.py:36 --category nested_loop_join --json\n  etlkit drill 13 --profiler cprofile   # train on a cProfile profile (per function, with call counts)\n  etlkit drill 20 --profiler scalene    # CPU and memory per line\n  etlkit drill 14 --fix               # copy slow.py to ./drill-14/solution.py, make it fast\n  etlkit drill 14 --submit            # grade ./drill-14/solution.py: output, hidden input, speedup\n  etlkit drill --list ; etlkit drill --stats"
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
    /// Fix mode: copy the drill's slow.py to a folder of your own (--into) to make it fast, then --submit it.
    #[arg(long, conflicts_with_all = ["submit", "answer", "list", "stats"])]
    fix: bool,
    /// The folder for --fix [default: ./drill-NN].
    #[arg(long, value_name = "DIR", requires = "fix")]
    into: Option<PathBuf>,
    /// Grade a fix [default: ./drill-NN/solution.py]: same output as slow.py on the drill's input and on a hidden
    /// one, faster by the drill's target, and the category's own demand (memory, cores, waiting).
    #[arg(long, value_name = "FILE", num_args = 0..=1, conflicts_with_all = ["answer", "list", "stats"])]
    submit: Option<Option<PathBuf>>,
    /// Timed rounds for --submit (each runs slow.py, fast.py and the solution in turn).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Untimed rounds before them, for --submit.
    #[arg(long, default_value_t = 0)]
    warmup: u32,
    /// The hidden input's seed for --submit [default: a new one each time].
    #[arg(long, value_name = "N")]
    hidden_seed: Option<u64>,
    /// Wall-time limit of one run of the solution, in seconds [default: 5 times slow.py's, at least 30].
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Do not add this attempt to the history.
    #[arg(long)]
    no_history: bool,
    /// List the drills.
    #[arg(long)]
    list: bool,
    /// Show your score per category (answers and fixes).
    #[arg(long)]
    stats: bool,
    /// The drills folder [default: ./exercises/drills, else the one etlkit was built with].
    #[arg(long)]
    drills: Option<PathBuf>,
    /// Python interpreter for running the drill [default: $ETLKIT_PYTHON, the venv's, or python3].
    #[arg(long)]
    python: Option<PathBuf>,
}

pub fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    let dir = flow::drills_dir(args.drills.as_deref());
    // Absolute paths: scripts run with their own folder as the working directory.
    let dir = std::fs::canonicalize(&dir).map_err(|e| crate::Error::io(&dir, e))?;
    let drills = drill::catalog(&dir)?;
    let history_path = drill::history_path();
    let history: Vec<Attempt> = drill::load_history(&history_path);
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
        let fixes: Vec<FixAttempt> = drill::load_history(&fix::history_path());
        if !fixes.is_empty() {
            println!(
                "\n{:<26} {:>8} {:>10} {:>13}",
                "category", "fixes", "passed", "best speedup"
            );
            for (c, (n, ok, best)) in fix::stats(&fixes) {
                let best = best.map_or("-".into(), |b| format!("{b:.1}x"));
                println!("{c:<26} {n:>8} {ok:>10} {best:>13}");
            }
        }
        println!("history: {}", history_path.display());
        return Ok(ExitCode::SUCCESS);
    }
    // A submitted file in ./drill-NN names its drill.
    let inferred = match (&args.name, &args.submit) {
        (None, Some(Some(file))) => std::fs::canonicalize(file).ok().and_then(|f| {
            f.parent()?
                .file_name()?
                .to_str()?
                .strip_prefix("drill-")
                .map(String::from)
        }),
        _ => None,
    };
    if args.name.is_none() && inferred.is_none() && (args.fix || args.submit.is_some()) {
        anyhow::bail!("name the drill to fix or submit, e.g. `etlkit drill 14 --fix`");
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let d = drill::pick(
        &drills,
        args.name.as_deref().or(inferred.as_deref()),
        args.only.as_deref(),
        args.difficulty.as_deref(),
        args.focus.then_some(&history[..]),
        seed,
    )?;
    let python = args
        .python
        .clone()
        .unwrap_or_else(crate::harness::default_python);
    let cancel = super::interrupt::cancel_flag();
    if args.fix {
        let dir = args.into.clone().unwrap_or_else(|| fix::default_workdir(d));
        fix::start(d, &dir)?;
        print_fix_start(d, &dir.join("solution.py"));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(file) = &args.submit {
        let file = file
            .clone()
            .unwrap_or_else(|| fix::default_workdir(d).join("solution.py"));
        let mut opts = fix::SubmitOptions::new(&python);
        opts.runs = args.runs as usize;
        opts.warmup = args.warmup as usize;
        if let Some(s) = args.hidden_seed {
            opts.hidden_seed = s;
        }
        if let Some(t) = args.timeout {
            opts.timeout = Some(std::time::Duration::try_from_secs_f64(t).map_err(|_| {
                anyhow::anyhow!("--timeout wants a positive number of seconds, not {t}")
            })?);
        }
        if !args.json {
            eprintln!(
                "grading {}: {} timed round(s) of slow.py, fast.py and yours{}...",
                file.display(),
                opts.runs,
                if opts.warmup > 0 {
                    format!(" after {} warm-up round(s)", opts.warmup)
                } else {
                    String::new()
                }
            );
        }
        let sub = fix::submit(d, &file, &opts, &cancel)?;
        if !args.no_history {
            drill::record(&fix::history_path(), &FixAttempt::of(&sub))?;
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&sub)?);
        } else {
            print!("{}", sub.render());
        }
        return Ok(if sub.passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let profile_path = flow::profile_of(d, args.profiler, args.fresh, &python, &cancel)?;
    let shown = flow::show(d, &profile_path)?;
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
    let profile = crate::profile::load(&profile_path, None)?;
    let tool = crate::diagnose::diagnose(&profile, &d.slow())?;
    let speed = if args.no_run {
        None
    } else {
        let (slow_s, slow_out) = flow::time_script(&python, &d.slow(), &cancel)?;
        let (fast_s, fast_out) = flow::time_script(&python, &d.fast(), &cancel)?;
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
    // The interviewer's next line: so what are your options? Offer to try one.
    if interactive
        && dialoguer::Confirm::new()
            .with_prompt(format!(
                "Now fix it? (copies slow.py to ./{}/solution.py for you to make fast)",
                fix::default_workdir(d).display()
            ))
            .default(false)
            .interact()?
    {
        let dir = fix::default_workdir(d);
        fix::start(d, &dir)?;
        print_fix_start(d, &dir.join("solution.py"));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_fix_start(d: &drill::Drill, solution: &std::path::Path) {
    println!(
        "Fix mode: {} is your copy of the drill's slow.py.\n\
         Make it fast without changing what it prints (keep making its input from ${}), then run\n\n    \
         etlkit drill {} --submit {}\n\n\
         It must print the same as slow.py on the drill's input and on a hidden one, be faster by the drill's \
         target\n(half of fast.py's speedup, at least 3x) and meet the category's own demand.",
        solution.display(),
        fix::SEED_VAR,
        d.id.split('-').next().unwrap_or(&d.id),
        solution.display()
    );
}
