//! Fix mode: the learner copies a drill's `slow.py` into a folder of their own, makes it fast, and submits it.
//!
//! A submission passes when it prints what `slow.py` prints on the drill's input **and** on a second input it has
//! not seen (the drill run with another [`SEED_VAR`], picked at grading time, so a hard-coded answer fails); when
//! it is faster than `slow.py` by the drill's target (half of what `fast.py` reaches, measured in the same
//! rounds, and at least [`MIN_SPEEDUP`]); and when it meets its category's own demand: less peak memory for a
//! whole-file load, several cores (or no threads) for the GIL, less waiting for sequential I/O. Runs alternate
//! between `slow.py`, `fast.py` and the solution, so drift on the machine hits all three alike. A submission that
//! falls short is profiled and diagnosed, to say what is still hot.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::flow::{self, ScriptRun};
use super::Drill;
use crate::diagnose::Category;
use crate::harness::profiler::Kind;
use crate::harness::timing::Timing;
use crate::{Error, Result};

/// The environment variable a drill makes its input from (a seed); unset, the drill's own input.
pub const SEED_VAR: &str = "DRILL_SEED";
/// The least speedup a fix must reach, whatever `fast.py` reaches.
pub const MIN_SPEEDUP: f64 = 3.0;
/// The same for the GIL drills on fewer than four cores, where processes can beat threads by 2x at most.
pub const MIN_SPEEDUP_GIL_FEW_CORES: f64 = 1.5;
/// The least peak-memory reduction a whole-file-load fix must reach.
pub const MIN_MEMORY_RATIO: f64 = 3.0;
/// A whole-file-load fix may be at most this much slower than `slow.py` (its demand is memory).
const MAX_SLOWDOWN: f64 = 1.25;
/// CPU time over wall time at or above which a program used more than one core.
const PARALLEL: f64 = 1.3;

/// The folder fix mode starts in by default: `./drill-NN` for drill `NN-slug`.
pub fn default_workdir(d: &Drill) -> PathBuf {
    PathBuf::from(format!("drill-{}", d.id.split('-').next().unwrap_or(&d.id)))
}

/// `path` made absolute with `..` and symlinks resolved as far as it exists.
fn resolved(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(".", e))?
            .join(path)
    };
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(existing).map_err(|e| Error::io(existing, e))?;
    out.extend(rest.iter().rev());
    Ok(out)
}

/// Starts fix mode: copies the drill's `slow.py` to `dir/solution.py` and its story to `dir/README.md`; returns
/// the solution's path. The folder must be outside the drills (they are shared by every attempt) and must not
/// hold a solution already (it would be lost).
pub fn start(d: &Drill, dir: &Path) -> Result<PathBuf> {
    let target = resolved(dir)?;
    let drills = resolved(d.dir.parent().unwrap_or(&d.dir))?;
    if target.starts_with(&drills) {
        return Err(Error::InvalidArgument {
            what: "fix folder",
            value: dir.display().to_string(),
            expected: format!(
                "a folder outside the drills ({}): they are shared by every attempt",
                drills.display()
            ),
        });
    }
    let solution = target.join("solution.py");
    if solution.exists() {
        return Err(Error::InvalidArgument {
            what: "fix folder",
            value: dir.display().to_string(),
            expected: format!(
                "no solution.py yet ({} exists: submit it, or remove it to start again)",
                solution.display()
            ),
        });
    }
    std::fs::create_dir_all(&target).map_err(|e| Error::io(&target, e))?;
    let code = std::fs::read(d.slow()).map_err(|e| Error::io(d.slow(), e))?;
    crate::atomic::write_bytes(&solution, &code)?;
    let readme = target.join("README.md");
    if !readme.exists() {
        let text = format!(
            "# Drill {id}: fix it\n\n{story}\n\n`solution.py` starts as a copy of the drill's `slow.py`. Make it fast \
             without changing what it prints, then grade it with\n\n    etlkit drill {id} --submit {sol}\n\n\
             It must print what slow.py prints on the drill's input and on a second input you have not seen (the \
             program run with another ${SEED_VAR}: keep making the input from it), be faster by the drill's target, \
             and meet the category's own demand (less memory, several cores, less waiting).\n",
            id = d.id,
            story = d.story.trim(),
            sol = solution.display(),
        );
        crate::atomic::write_bytes(&readme, text.as_bytes())?;
    }
    Ok(solution)
}

/// How to grade a submission.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// The interpreter that runs slow.py, fast.py and the solution.
    pub python: PathBuf,
    /// Timed rounds (each runs slow.py, fast.py and the solution once); at least one.
    pub runs: usize,
    /// Untimed rounds first (warm caches); the correctness round is the first of them when there are any.
    pub warmup: usize,
    /// The seed of the hidden input.
    pub hidden_seed: u64,
    /// The solution's wall-time limit per run [default: 5 times slow.py's first run, at least 30 s].
    pub timeout: Option<Duration>,
}

impl SubmitOptions {
    pub fn new(python: impl Into<PathBuf>) -> SubmitOptions {
        SubmitOptions {
            python: python.into(),
            runs: 3,
            warmup: 0,
            hidden_seed: random_seed(),
            timeout: None,
        }
    }
}

/// A hidden seed from the clock: another one every time.
pub fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Any seed but the drills' own small ones; a plain decimal that int() reads.
    1_000_000 + nanos % 999_000_000
}

/// One program's timed runs.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub timing: Timing,
    /// Median CPU seconds (user + system, children included).
    pub cpu_seconds: f64,
    /// Highest peak resident memory of any run.
    pub peak_rss_bytes: u64,
    /// Most threads one of its processes ran at once.
    pub peak_threads: u32,
}

impl Measured {
    fn of(runs: &[&ScriptRun]) -> Option<Measured> {
        let timing = Timing::new(runs.iter().map(|r| r.outcome.wall_seconds).collect())?;
        let cpu = Timing::new(runs.iter().map(|r| r.outcome.cpu_seconds).collect())?.median;
        Some(Measured {
            timing,
            cpu_seconds: cpu,
            peak_rss_bytes: runs
                .iter()
                .map(|r| r.outcome.peak_rss_bytes)
                .max()
                .unwrap_or(0),
            peak_threads: runs
                .iter()
                .map(|r| r.outcome.peak_threads)
                .max()
                .unwrap_or(0),
        })
    }

    /// Wall time not spent on a CPU (waiting on I/O, sleeps, locks), from the medians.
    fn idle(&self) -> f64 {
        (self.timing.median - self.cpu_seconds).max(0.0)
    }
}

/// One thing a submission is graded on.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// The grade of a submission.
#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    pub drill: String,
    pub category: String,
    pub solution: PathBuf,
    pub hidden_seed: u64,
    /// In the order they were made; grading stops at the first failed output check.
    pub checks: Vec<Check>,
    pub slow: Option<Measured>,
    pub fast: Option<Measured>,
    #[serde(rename = "solution_runs")]
    pub mine: Option<Measured>,
    /// slow.py's median over the solution's.
    pub speedup: Option<f64>,
    /// slow.py's median over fast.py's, in the same rounds.
    pub fast_speedup: Option<f64>,
    /// The speedup the solution had to reach (none for the memory category, whose target is memory).
    pub target: Option<f64>,
    /// slow.py's peak memory over the solution's.
    pub memory_ratio: Option<f64>,
    /// What `diagnose` finds in the solution when it falls short.
    pub still_hot: Option<String>,
    pub passed: bool,
}

impl Submission {
    /// The grade as the learner reads it.
    pub fn render(&self) -> String {
        let mut s = format!(
            "Drill {} ({}): grading {}\n",
            self.drill,
            self.category,
            self.solution.display()
        );
        for c in &self.checks {
            s.push_str(&format!(
                "  {:<5} {}: {}\n",
                if c.passed { "ok" } else { "FAIL" },
                c.name,
                c.detail
            ));
        }
        if let (Some(slow), Some(fast), Some(mine)) = (&self.slow, &self.fast, &self.mine) {
            s.push_str(&format!(
                "\n  {:<12} {:>10} {:>8} {:>9} {:>10}\n",
                "", "median s", "± sd", "CPU s", "peak MiB"
            ));
            for (name, m) in [("slow.py", slow), ("fast.py", fast), ("yours", mine)] {
                s.push_str(&format!(
                    "  {:<12} {:>10.3} {:>8.3} {:>9.2} {:>10.1}\n",
                    name,
                    m.timing.median,
                    m.timing.sd,
                    m.cpu_seconds,
                    m.peak_rss_bytes as f64 / (1 << 20) as f64
                ));
            }
            if [slow, fast, mine].iter().any(|m| m.timing.noisy()) {
                s.push_str("  (runs spread over 10%: the machine is busy; --runs more for a steadier figure)\n");
            }
        }
        if let Some(hot) = &self.still_hot {
            s.push_str(&format!("\nStill hot in your solution: {hot}\n"));
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        s.push_str(&if self.passed {
            "\nPASSED: fixed.\n".to_string()
        } else {
            format!(
                "\nNOT YET: {failed} of {} checks failed.\n",
                self.checks.len()
            )
        });
        s
    }
}

/// The speedup a fix must reach, and why: half of `fast.py`'s and at least the category's floor; when fast.py
/// itself does not reach the floor now (a busy machine), 80% of what it reaches.
pub fn speed_target(category: Option<Category>, fast_speedup: f64, cores: usize) -> (f64, String) {
    let floor = if category == Some(Category::GilBoundThreads) && cores < 4 {
        MIN_SPEEDUP_GIL_FEW_CORES
    } else {
        MIN_SPEEDUP
    };
    if fast_speedup >= floor {
        let t = floor.max(fast_speedup / 2.0);
        (
            t,
            format!("half of fast.py's {fast_speedup:.1}x, at least {floor:.1}x"),
        )
    } else {
        (
            0.8 * fast_speedup,
            format!(
                "80% of fast.py's {fast_speedup:.1}x: it does not reach {floor:.1}x on this machine now"
            ),
        )
    }
}

/// The memory reduction a whole-file-load fix must reach: as [`speed_target`], on peak memory.
pub fn memory_target(fast_ratio: f64) -> (f64, String) {
    if fast_ratio >= MIN_MEMORY_RATIO {
        (
            MIN_MEMORY_RATIO.max(fast_ratio / 2.0),
            format!("half of fast.py's {fast_ratio:.1}x, at least {MIN_MEMORY_RATIO:.1}x"),
        )
    } else {
        (
            0.8 * fast_ratio,
            format!("80% of fast.py's {fast_ratio:.1}x"),
        )
    }
}

/// The speed and category checks, from the three programs' measurements.
pub fn performance_checks(
    category: Option<Category>,
    slow: &Measured,
    fast: &Measured,
    mine: &Measured,
    cores: usize,
) -> (Vec<Check>, Option<f64>) {
    let speedup = slow.timing.median / mine.timing.median.max(1e-9);
    let fast_speedup = slow.timing.median / fast.timing.median.max(1e-9);
    let times = format!(
        "slow.py {:.3} s, yours {:.3} s ({})",
        slow.timing.median,
        mine.timing.median,
        match mine.timing.runs.len() {
            1 => "one run".to_string(),
            n => format!("medians of {n} runs"),
        }
    );
    let mut checks = Vec::new();
    if category == Some(Category::WholeFileLoad) {
        let ratio = slow.peak_rss_bytes as f64 / mine.peak_rss_bytes.max(1) as f64;
        let fast_ratio = slow.peak_rss_bytes as f64 / fast.peak_rss_bytes.max(1) as f64;
        let (need, why) = memory_target(fast_ratio);
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        checks.push(Check {
            name: "peak memory".into(),
            passed: ratio >= need,
            detail: format!(
                "{ratio:.1}x less than slow.py ({:.0} MiB vs {:.0} MiB); needs {need:.1}x ({why})",
                mib(mine.peak_rss_bytes),
                mib(slow.peak_rss_bytes)
            ),
        });
        checks.push(Check {
            name: "time".into(),
            passed: speedup >= 1.0 / MAX_SLOWDOWN,
            detail: format!(
                "{speedup:.2}x ({times}); may be at most {:.0}% slower",
                (MAX_SLOWDOWN - 1.0) * 100.0
            ),
        });
        return (checks, None);
    }
    let (need, why) = speed_target(category, fast_speedup, cores);
    checks.push(Check {
        name: "speedup".into(),
        passed: speedup >= need,
        detail: format!("{speedup:.1}x ({times}); target {need:.1}x ({why})"),
    });
    match category {
        Some(Category::GilBoundThreads) => {
            let cores_used = mine.cpu_seconds / mine.timing.median.max(1e-9);
            checks.push(Check {
                name: "cores".into(),
                passed: cores_used >= PARALLEL || mine.peak_threads <= 1,
                detail: format!(
                    "CPU time {:.2} s over wall {:.2} s = {cores_used:.2} cores, up to {} threads in a process; \
                     needs several cores at work ({PARALLEL}+) or no threads",
                    mine.cpu_seconds, mine.timing.median, mine.peak_threads
                ),
            });
        }
        Some(Category::SequentialIo) => {
            let (was, now) = (slow.idle(), mine.idle());
            checks.push(Check {
                name: "waiting".into(),
                passed: now * need <= was.max(1e-9),
                detail: format!(
                    "{now:.2} s of wall time not on a CPU, slow.py {was:.2} s; must shrink {need:.1}x like the time"
                ),
            });
        }
        _ => {}
    }
    (checks, Some(need))
}

/// First differing line of two outputs, for the learner.
fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let e = String::from_utf8_lossy(expected);
    let g = String::from_utf8_lossy(got);
    let (mut el, mut gl) = (e.lines(), g.lines());
    let mut n = 0;
    loop {
        n += 1;
        match (el.next(), gl.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => return format!("line {n}: expected {a:?}, got {b:?}"),
            (Some(a), None) => {
                return format!("line {n}: expected {a:?}, got the end of the output")
            }
            (None, Some(b)) => {
                return format!("line {n}: expected the end of the output, got {b:?}")
            }
            (None, None) => return "same lines, different line endings or trailing bytes".into(),
        }
    }
}

/// Grades `solution` as a fix of drill `d`.
pub fn submit(
    d: &Drill,
    solution: &Path,
    opts: &SubmitOptions,
    cancel: &AtomicBool,
) -> Result<Submission> {
    let solution = std::fs::canonicalize(solution).map_err(|e| Error::io(solution, e))?;
    let category = d.category();
    let mut sub = Submission {
        drill: d.id.clone(),
        category: d.answer.category.clone(),
        solution: solution.clone(),
        hidden_seed: opts.hidden_seed,
        checks: Vec::new(),
        slow: None,
        fast: None,
        mine: None,
        speedup: None,
        fast_speedup: None,
        target: None,
        memory_ratio: None,
        still_hot: None,
        passed: false,
    };
    let drill_wall = Duration::from_secs(600);
    let run = |script: &Path, seed: Option<u64>, wall: Duration| -> Result<ScriptRun> {
        let env: Vec<(OsString, OsString)> = seed
            .map(|s| (SEED_VAR.into(), s.to_string().into()))
            .into_iter()
            .collect();
        let cwd = script.parent().unwrap_or(Path::new("."));
        flow::run_script(
            &opts.python,
            vec![script.into()],
            cwd,
            env,
            wall,
            cancel,
            |_| {},
        )
    };
    // The drill's own programs must work: if they do not, the drill (or the interpreter) is broken, not the fix.
    let reference = |r: ScriptRun, script: &Path| -> Result<ScriptRun> {
        match r.failure() {
            None => Ok(r),
            Some(why) => Err(Error::Program {
                program: script.display().to_string(),
                message: format!("the drill's own program failed ({why})"),
            }),
        }
    };

    // Round 0 checks the output on the drill's input, then on the hidden one.
    let slow0 = reference(run(&d.slow(), None, drill_wall)?, &d.slow())?;
    let limit = opts
        .timeout
        .unwrap_or_else(|| Duration::from_secs_f64((5.0 * slow0.outcome.wall_seconds).max(30.0)));
    let mine0 = run(&solution, None, limit)?;
    let name = solution
        .file_name()
        .map_or("the solution".into(), |n| n.to_string_lossy().into_owned());
    if let Some(why) = mine0.failure() {
        sub.checks.push(Check {
            name: "runs".into(),
            passed: false,
            detail: format!("{name} failed on the drill's input: {why}"),
        });
        return Ok(sub);
    }
    let same = mine0.stdout == slow0.stdout;
    sub.checks.push(Check {
        name: "same output".into(),
        passed: same,
        detail: if same {
            "prints what slow.py prints on the drill's input".into()
        } else {
            format!(
                "differs from slow.py's on the drill's input: {}",
                first_difference(&slow0.stdout, &mine0.stdout)
            )
        },
    });
    if !same {
        return Ok(sub);
    }
    let seed = opts.hidden_seed;
    let slow_h = reference(run(&d.slow(), Some(seed), drill_wall)?, &d.slow())?;
    let mine_h = run(&solution, Some(seed), limit)?;
    let hidden = match mine_h.failure() {
        Some(why) => Err(format!("{name} failed on it: {why}")),
        None if mine_h.stdout != slow_h.stdout => Err(format!(
            "differs from slow.py's: {}; the program must compute its answer from the input it makes from \
             ${SEED_VAR}",
            first_difference(&slow_h.stdout, &mine_h.stdout)
        )),
        None => Ok(()),
    };
    sub.checks.push(Check {
        name: "hidden input".into(),
        passed: hidden.is_ok(),
        detail: match hidden {
            Ok(()) => format!("same output as slow.py with {SEED_VAR}={seed}"),
            Err(e) => format!("with {SEED_VAR}={seed}: {e}"),
        },
    });
    if !sub.checks.iter().all(|c| c.passed) {
        return Ok(sub);
    }

    // Timed rounds, the three programs in turn; round 0's runs are the first timed round unless warming up.
    let fast0 = reference(run(&d.fast(), None, drill_wall)?, &d.fast())?;
    let mut rounds = vec![(slow0, fast0, mine0)];
    while rounds.len() < opts.warmup + opts.runs.max(1) {
        let s = reference(run(&d.slow(), None, drill_wall)?, &d.slow())?;
        let f = reference(run(&d.fast(), None, drill_wall)?, &d.fast())?;
        let m = run(&solution, None, limit)?;
        if let Some(why) = m.failure() {
            sub.checks.push(Check {
                name: "runs".into(),
                passed: false,
                detail: format!("{name} failed in timed round {}: {why}", rounds.len() + 1),
            });
            return Ok(sub);
        }
        rounds.push((s, f, m));
    }
    let timed = &rounds[opts.warmup.min(rounds.len() - 1)..];
    let slow = Measured::of(&timed.iter().map(|r| &r.0).collect::<Vec<_>>());
    let fast = Measured::of(&timed.iter().map(|r| &r.1).collect::<Vec<_>>());
    let mine = Measured::of(&timed.iter().map(|r| &r.2).collect::<Vec<_>>());
    let (Some(slow), Some(fast), Some(mine)) = (slow, fast, mine) else {
        return Err(Error::internal("no timed rounds"));
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (checks, target) = performance_checks(category, &slow, &fast, &mine, cores);
    sub.checks.extend(checks);
    sub.target = target;
    sub.speedup = Some(slow.timing.median / mine.timing.median.max(1e-9));
    sub.fast_speedup = Some(slow.timing.median / fast.timing.median.max(1e-9));
    sub.memory_ratio = Some(slow.peak_rss_bytes as f64 / mine.peak_rss_bytes.max(1) as f64);
    sub.slow = Some(slow);
    sub.fast = Some(fast);
    sub.mine = Some(mine);
    sub.passed = sub.checks.iter().all(|c| c.passed);
    if !sub.passed {
        sub.still_hot = still_hot(&solution, category, &opts.python, cancel);
    }
    Ok(sub)
}

/// Profiles the solution (py-spy, else cProfile) and says what `diagnose` finds hottest in it; `None` when no
/// profiler works or nothing stands out, as the grade stands without it.
fn still_hot(
    solution: &Path,
    category: Option<Category>,
    python: &Path,
    cancel: &AtomicBool,
) -> Option<String> {
    let (path, tool) = [(Kind::PySpy, "py-spy"), (Kind::Cprofile, "cProfile")]
        .into_iter()
        .find_map(|(kind, tool)| {
            flow::record(kind, python, solution, flow::waits(category), "", cancel)
                .ok()
                .map(|p| (p, tool))
        })?;
    let profile = crate::profile::load(&path, None).ok();
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
    let diagnosis = crate::diagnose::diagnose(&profile?, solution.parent()?).ok()?;
    let f = diagnosis.findings.first()?;
    let file = Path::new(&f.file)
        .file_name()
        .map_or(f.file.clone(), |n| n.to_string_lossy().into_owned());
    Some(format!(
        "{} at {file}:{} in {}() ({:.0}% of the time, {tool}): {}",
        f.category.map_or("an unclassified hot spot", |c| c.id()),
        f.line,
        f.function,
        f.share_pct,
        f.evidence
    ))
}

/// One graded fix, as kept in the fix history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixAttempt {
    pub drill: String,
    pub category: String,
    pub passed: bool,
    pub speedup: Option<f64>,
    pub target: Option<f64>,
    pub memory_ratio: Option<f64>,
    pub unix_time: u64,
}

impl FixAttempt {
    pub fn of(s: &Submission) -> FixAttempt {
        FixAttempt {
            drill: s.drill.clone(),
            category: s.category.clone(),
            passed: s.passed,
            speedup: s.speedup,
            target: s.target,
            memory_ratio: s.memory_ratio,
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

/// The fix history beside the answer history (`drill-fixes.jsonl`).
pub fn history_path() -> PathBuf {
    super::history_path().with_file_name("drill-fixes.jsonl")
}

/// Per category: (fixes submitted, fixes passed, best speedup of a passed fix).
pub fn stats(fixes: &[FixAttempt]) -> BTreeMap<String, (u32, u32, Option<f64>)> {
    let mut m: BTreeMap<String, (u32, u32, Option<f64>)> = BTreeMap::new();
    for f in fixes {
        let e = m.entry(f.category.clone()).or_default();
        e.0 += 1;
        if f.passed {
            e.1 += 1;
            if let Some(s) = f.speedup {
                e.2 = Some(e.2.map_or(s, |b: f64| b.max(s)));
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(walls: &[f64], cpu: f64, rss_mib: u64, threads: u32) -> Measured {
        Measured {
            timing: Timing::new(walls.to_vec()).unwrap(),
            cpu_seconds: cpu,
            peak_rss_bytes: rss_mib << 20,
            peak_threads: threads,
        }
    }

    fn passed(checks: &[Check], name: &str) -> bool {
        checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name}: {checks:?}"))
            .passed
    }

    #[test]
    fn speed_target_is_half_of_fast_and_at_least_the_floor() {
        let nlj = Some(Category::NestedLoopJoin);
        assert_eq!(speed_target(nlj, 20.0, 2).0, 10.0);
        assert_eq!(speed_target(nlj, 4.0, 2).0, 3.0);
        // fast.py short of the floor (a busy machine): 80% of it.
        assert!((speed_target(nlj, 2.5, 2).0 - 2.0).abs() < 1e-9);
        let gil = Some(Category::GilBoundThreads);
        assert_eq!(speed_target(gil, 1.8, 2).0, 1.5);
        assert_eq!(speed_target(gil, 8.0, 8).0, 4.0);
        assert_eq!(speed_target(gil, 4.0, 8).0, 3.0);
    }

    #[test]
    fn a_fix_short_of_the_target_fails_and_one_above_passes() {
        let cat = Some(Category::ListAsQueue);
        let slow = measured(&[3.0, 3.1, 2.9], 3.0, 50, 1);
        let fast = measured(&[0.3, 0.3, 0.3], 0.3, 50, 1);
        let (c, target) =
            performance_checks(cat, &slow, &fast, &measured(&[1.5, 1.5], 1.5, 50, 1), 2);
        assert_eq!(target, Some(5.0));
        assert!(!passed(&c, "speedup"));
        let (c, _) = performance_checks(cat, &slow, &fast, &measured(&[0.5], 0.5, 50, 1), 2);
        assert!(passed(&c, "speedup"), "{c:?}");
    }

    #[test]
    fn a_memory_fix_must_be_leaner_not_just_faster() {
        let cat = Some(Category::WholeFileLoad);
        let slow = measured(&[2.0], 2.0, 900, 1);
        let fast = measured(&[1.5], 1.5, 60, 1);
        // Faster, same memory: fails on memory, passes on time.
        let (c, target) = performance_checks(cat, &slow, &fast, &measured(&[0.5], 0.5, 880, 1), 2);
        assert_eq!(target, None);
        assert!(!passed(&c, "peak memory") && passed(&c, "time"), "{c:?}");
        // Leaner but far slower: fails on time.
        let (c, _) = performance_checks(cat, &slow, &fast, &measured(&[4.0], 4.0, 70, 1), 2);
        assert!(passed(&c, "peak memory") && !passed(&c, "time"), "{c:?}");
        let (c, _) = performance_checks(cat, &slow, &fast, &measured(&[1.9], 1.9, 70, 1), 2);
        assert!(c.iter().all(|c| c.passed), "{c:?}");
    }

    #[test]
    fn a_gil_fix_must_use_cores_or_drop_threads() {
        let cat = Some(Category::GilBoundThreads);
        let slow = measured(&[4.0], 4.0, 50, 5);
        let fast = measured(&[2.0], 3.9, 50, 1);
        // Faster (less work) but still threads on one core.
        let (c, _) = performance_checks(cat, &slow, &fast, &measured(&[2.0], 2.0, 50, 5), 2);
        assert!(passed(&c, "speedup") && !passed(&c, "cores"), "{c:?}");
        // Processes: two cores busy.
        let (c, _) = performance_checks(cat, &slow, &fast, &measured(&[2.0], 3.8, 50, 3), 2);
        assert!(c.iter().all(|c| c.passed), "{c:?}");
        // No threads at all.
        let (c, _) = performance_checks(cat, &slow, &fast, &measured(&[1.0], 1.0, 50, 1), 2);
        assert!(c.iter().all(|c| c.passed), "{c:?}");
    }

    #[test]
    fn a_sequential_io_fix_must_wait_less() {
        let cat = Some(Category::SequentialIo);
        let slow = measured(&[3.0], 0.3, 50, 1);
        let fast = measured(&[0.3], 0.25, 50, 9);
        let (c, _) = performance_checks(cat, &slow, &fast, &measured(&[0.4], 0.3, 50, 9), 2);
        assert!(c.iter().all(|c| c.passed), "{c:?}");
        let (c, _) = performance_checks(cat, &slow, &fast, &measured(&[2.9], 0.2, 50, 1), 2);
        assert!(!passed(&c, "speedup") && !passed(&c, "waiting"), "{c:?}");
    }

    #[test]
    fn first_difference_names_the_line() {
        assert_eq!(
            first_difference(b"a\nb\nc\n", b"a\nx\nc\n"),
            "line 2: expected \"b\", got \"x\""
        );
        assert!(first_difference(b"a\nb\n", b"a\n").contains("got the end"));
        assert!(first_difference(b"a\n", b"a\nz\n").contains("expected the end"));
    }

    #[test]
    fn stats_count_fixes_and_keep_the_best_passed_speedup() {
        let f = |cat: &str, passed: bool, speedup: f64| FixAttempt {
            drill: "x".into(),
            category: cat.into(),
            passed,
            speedup: Some(speedup),
            target: Some(3.0),
            memory_ratio: None,
            unix_time: 0,
        };
        let s = stats(&[
            f("sort_in_loop", false, 9.0),
            f("sort_in_loop", true, 4.0),
            f("sort_in_loop", true, 6.0),
            f("list_as_queue", false, 1.0),
        ]);
        assert_eq!(s["sort_in_loop"], (3, 2, Some(6.0)));
        assert_eq!(s["list_as_queue"], (1, 0, None));
    }
}
