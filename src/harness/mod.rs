//! `etlkit check` and `etlkit compare`: run candidate Python solutions of the ETL exercise under limits,
//! verify their outputs against the reference pipeline, measure them, profile them.
//!
//! The contract for a candidate: `python solution.py INPUT_DIR OUTPUT_DIR` writes the exercise's outputs
//! (`exercises/etl_10gb/README.md`).

pub mod history;
pub mod profiler;
pub mod report;
pub mod runner;
pub mod timing;
pub mod verify;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::Serialize;

pub use profiler::py_spy_next_to;
pub use runner::{Limit, Limits, RunOutcome};
pub use verify::Verification;

use crate::pipeline::{self, PipelineOptions};
use crate::profile::view::{self, Filters, FunctionRow};
use crate::{Error, Result};

/// Which profiler wraps the candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Profiler {
    /// py-spy `record --format raw --subprocesses` (sampling, low overhead, sees worker processes).
    PySpy,
    /// `python -m cProfile` (deterministic; main process only; inflates call-heavy code).
    Cprofile,
    /// line_profiler's `kernprof -l -p SOLUTION` (every line of the solution timed, no decorators needed;
    /// main process only; line_profiler 4.1 or later in the solution's Python).
    Line,
    None,
}

named_values!(Profiler, "profiler", {
    PySpy => "py-spy",
    Cprofile => "cprofile",
    Line => "line",
    None => "none",
});

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Correct,
    Wrong,
    Crashed,
    OverLimit,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Wrong => "wrong",
            Verdict::Crashed => "crashed",
            Verdict::OverLimit => "over limit",
        }
    }
}

/// Options of `check` and `compare`.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub data: PathBuf,
    pub python: PathBuf,
    pub limits: Limits,
    pub profiler: Profiler,
    /// Reference outputs to compare with; computed with the Rust pipeline when absent.
    pub reference: Option<PathBuf>,
    /// Where each run's working directory, outputs and profile go (a temp dir when absent).
    pub work: Option<PathBuf>,
    /// Rows in the hot-spot lists.
    pub top: usize,
    /// Also name the bottleneck (`etlkit diagnose`) from the profile and the solution's source.
    pub diagnose: bool,
    /// Set to stop early (Ctrl-C): the running solution's process group is killed and the call fails with
    /// [`Error::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Timed runs of each solution after the checked one (unprofiled; in `compare` taken in turns so that
    /// drift hits every solution alike); with more than one, results show the median and the spread and
    /// `compare` ranks by the median. 1: the checked run's time alone.
    pub runs: usize,
    /// Untimed runs of each solution before the timed ones (warm caches).
    pub warmup: usize,
}

impl CheckOptions {
    pub fn new(data: impl Into<PathBuf>) -> Self {
        CheckOptions {
            data: data.into(),
            python: default_python(),
            limits: Limits::default(),
            profiler: Profiler::PySpy,
            reference: None,
            work: None,
            top: 8,
            diagnose: false,
            cancel: None,
            runs: 1,
            warmup: 0,
        }
    }
}

/// `$ETLKIT_PYTHON`, the active venv's python, or `python3`.
pub fn default_python() -> PathBuf {
    if let Some(p) = std::env::var_os("ETLKIT_PYTHON") {
        return p.into();
    }
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        let p = Path::new(&v).join("bin/python");
        if p.exists() {
            return p;
        }
    }
    "python3".into()
}

/// A hot line with its source text.
#[derive(Debug, Clone, Serialize)]
pub struct HotLine {
    pub file: String,
    pub line: u32,
    pub function: String,
    pub share_pct: f64,
    pub source: Option<String>,
}

/// What a profile of the candidate shows.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileSummary {
    pub profiler: Profiler,
    pub file: PathBuf,
    pub flamegraph: Option<PathBuf>,
    pub top_self: Vec<FunctionRow>,
    pub hot_lines: Vec<HotLine>,
    /// Why there is no profile, or what to know about it.
    pub note: Option<String>,
}

/// The result of checking one solution.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub solution: PathBuf,
    pub name: String,
    pub verdict: Verdict,
    pub run: RunOutcome,
    pub input_bytes: u64,
    pub mb_per_s: f64,
    pub verification: Option<Verification>,
    pub profile: Option<ProfileSummary>,
    /// The bottleneck named from the profile and the source (with `diagnose`).
    pub diagnosis: Option<crate::diagnose::Diagnosis>,
    /// The reference's run on the same data, for the ratios.
    pub reference: Option<ReferenceRun>,
    pub output_dir: PathBuf,
    /// Timed runs after the checked one (`runs`/`warmup`), unprofiled; `mb_per_s` is then from their median.
    pub timing: Option<timing::Timing>,
}

/// How the Rust reference did on the same data.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceRun {
    pub wall_seconds: f64,
    /// Known when the reference ran in this process (not with `--reference DIR`).
    pub peak_rss_bytes: Option<u64>,
}

impl CheckResult {
    /// One paragraph for the terminal.
    pub fn render(&self) -> String {
        let r = &self.run;
        let mut s = format!(
            "{}: {}\n  wall {:.2} s, CPU {:.2} s, peak RSS {:.0} MB (whole process tree), {:.1} MB/s\n",
            self.name,
            self.verdict.label().to_uppercase(),
            r.wall_seconds,
            r.cpu_seconds,
            r.peak_rss_bytes as f64 / 1e6,
            self.mb_per_s
        );
        if let Some(t) = &self.timing {
            s.push_str(&format!(
                "  timed {} runs after it: median {:.2} s ± {:.2} (min {:.2}, mean {:.2}){}\n",
                t.runs.len(),
                t.median,
                t.sd,
                t.min,
                t.mean,
                if t.noisy() {
                    format!(
                        "; they spread {:.0}% around the median: the machine is noisy",
                        100.0 * t.spread()
                    )
                } else {
                    String::new()
                }
            ));
        }
        if let Some(l) = r.limit {
            s.push_str(&format!(
                "  stopped: {} limit hit; the whole process group was killed\n",
                l.name()
            ));
        } else if !r.success() {
            s.push_str(&format!(
                "  exit: {}\n",
                r.exit_code.map_or_else(
                    || format!("killed by signal {}", r.signal.unwrap_or(0)),
                    |c| format!("code {c}")
                )
            ));
        }
        if r.killed_leftovers > 0 {
            s.push_str(&format!(
                "  {} leftover process(es) of the solution were killed after it ended\n",
                r.killed_leftovers
            ));
        }
        if self.verdict == Verdict::Crashed && !r.stderr_tail.is_empty() {
            let lines: Vec<&str> = r.stderr_tail.lines().collect();
            s.push_str("  stderr (last lines):\n");
            for l in &lines[lines.len().saturating_sub(8)..] {
                s.push_str(&format!("    {l}\n"));
            }
        }
        if let Some(rf) = &self.reference {
            s.push_str(&format!(
                "  vs the Rust reference: {:.1}x its time ({:.2} s){}\n",
                r.wall_seconds / rf.wall_seconds.max(1e-9),
                rf.wall_seconds,
                rf.peak_rss_bytes.map_or(String::new(), |m| format!(
                    ", {:.1}x its memory ({:.0} MB)",
                    r.peak_rss_bytes as f64 / m.max(1) as f64,
                    m as f64 / 1e6
                ))
            ));
        }
        if let Some(v) = &self.verification {
            s.push_str("  outputs vs reference:\n");
            s.push_str(&v.render());
        }
        if let Some(p) = &self.profile {
            if let Some(n) = &p.note {
                s.push_str(&format!("  profile: {n}\n"));
            }
            if !p.hot_lines.is_empty() {
                s.push_str("  hot lines:\n");
                for h in &p.hot_lines {
                    s.push_str(&format!(
                        "    {:>5.1}%  {}:{}  {}  | {}\n",
                        h.share_pct,
                        h.file,
                        h.line,
                        h.function,
                        h.source.as_deref().unwrap_or("").trim()
                    ));
                }
            } else if !p.top_self.is_empty() {
                s.push_str("  hot functions (self time):\n");
                for f in &p.top_self {
                    s.push_str(&format!(
                        "    {:>5.1}%  {} ({})\n",
                        f.self_pct, f.function, f.file
                    ));
                }
            }
            if let Some(svg) = &p.flamegraph {
                s.push_str(&format!("  flamegraph: {}\n", svg.display()));
            }
        }
        if let Some(d) = &self.diagnosis {
            s.push_str("  diagnosis:\n");
            for l in d.render().lines() {
                s.push_str(&format!("    {l}\n"));
            }
        }
        s
    }
}

/// Bytes of the dataset's fact files (uncompressed size is not known for compressed files: their size on disk).
fn input_bytes(data: &Path) -> u64 {
    std::fs::read_dir(data.join("orders"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Computes the reference outputs with the Rust pipeline into `dir`.
pub fn reference(data: &Path, dir: &Path) -> Result<pipeline::Summary> {
    reference_cancellable(data, dir, None)
}

fn reference_cancellable(
    data: &Path,
    dir: &Path,
    cancel: Option<Arc<AtomicBool>>,
) -> Result<pipeline::Summary> {
    let mut opts = PipelineOptions::new(data, dir);
    opts.cancel = cancel;
    pipeline::run(&opts)
}

fn source_line(solution_dir: &Path, file: &str, line: u32) -> Option<String> {
    let candidates = [PathBuf::from(file), solution_dir.join(file)];
    let path = candidates.iter().find(|p| p.is_file())?;
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .nth(line.checked_sub(1)? as usize)
        .map(str::to_string)
}

fn summarize_profile(
    path: &Path,
    profiler: Profiler,
    solution: &Path,
    top: usize,
    work: &Path,
) -> ProfileSummary {
    let mut summary = ProfileSummary {
        profiler,
        file: path.to_path_buf(),
        flamegraph: None,
        top_self: Vec::new(),
        hot_lines: Vec::new(),
        note: None,
    };
    let profile = match crate::profile::load(path, None) {
        Ok(p) => p,
        Err(e) => {
            summary.note = Some(format!("could not read the profile: {e}"));
            return summary;
        }
    };
    let filters = Filters {
        idle: true,
        imports: true,
        stdlib: false,
        site_packages: false,
    };
    let report = view::analyze(&profile, &filters, top, None);
    let dir = solution.parent().unwrap_or(Path::new("."));
    let name = solution
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Lines of the solution itself come first: that is where the candidate can act.
    let mut lines: Vec<_> = report.hot_lines.iter().collect();
    lines.sort_by_key(|l| !(l.file.ends_with(&name)));
    summary.hot_lines = lines
        .into_iter()
        .take(top)
        .map(|l| HotLine {
            file: l.file.clone(),
            line: l.line,
            function: l.function.clone(),
            share_pct: l.self_pct,
            source: source_line(dir, &l.file, l.line),
        })
        .collect();
    summary.top_self = report.top_self;
    if profiler == Profiler::Cprofile {
        summary.note =
            Some("cProfile: main process only, and call-heavy code looks slower than it is".into());
    }
    if profiler == Profiler::Line {
        summary.note = Some(if summary.hot_lines.is_empty() {
            "line_profiler timed no line: it times the solution's functions, and this solution does its work at module level".into()
        } else {
            "line_profiler: the solution's own lines, main process only; a line's time includes what it calls".into()
        });
    }
    let svg = work.join("flamegraph.svg");
    let written = std::fs::File::create(&svg)
        .map_err(|e| Error::io(&svg, e))
        .and_then(|mut f| crate::profile::export::flamegraph(&profile, &name, &mut f, &svg));
    if written.is_ok() {
        summary.flamegraph = Some(svg);
    }
    summary
}

/// Checks one solution: runs it under the limits (profiled), verifies its outputs against `reference_dir`.
pub fn check_with_reference(
    solution: &Path,
    opts: &CheckOptions,
    reference_dir: &Path,
    work: &Path,
) -> Result<CheckResult> {
    let solution = std::fs::canonicalize(solution).map_err(|e| Error::io(solution, e))?;
    let data = std::fs::canonicalize(&opts.data).map_err(|e| Error::io(&opts.data, e))?;
    std::fs::create_dir_all(work).map_err(|e| Error::io(work, e))?;
    // The solution runs with `work` as its directory: a relative output path would land under itself.
    let work = &std::fs::canonicalize(work).map_err(|e| Error::io(work, e))?;
    let out = work.join("output");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let name = solution
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let script_args: Vec<OsString> = vec![
        solution.clone().into(),
        data.clone().into(),
        out.clone().into(),
    ];
    let kind = match opts.profiler {
        Profiler::PySpy => Some(profiler::Kind::PySpy),
        Profiler::Cprofile => Some(profiler::Kind::Cprofile),
        Profiler::Line => Some(profiler::Kind::Line),
        Profiler::None => None,
    };
    let mut recording = kind.map(|k| profiler::Recording::new(k, &opts.python, &solution, work));
    let mut args: Vec<OsString> = recording
        .as_ref()
        .map(|r| r.python_args.clone())
        .unwrap_or_default();
    args.extend(script_args);
    let spec = runner::RunSpec {
        program: opts.python.clone(),
        args,
        cwd: work.to_path_buf(),
        output_dir: out.clone(),
        env: vec![("PYTHONUNBUFFERED".into(), "1".into())],
        logs: None,
    };
    let run = runner::run_cancellable(&spec, &opts.limits, opts.cancel.as_deref(), |pid| {
        if let Some(r) = recording.as_mut() {
            r.attach(pid);
        }
    });
    // Interrupted or failed: the profiler goes too (dropping the recording stops it).
    let run = run?;
    let (profile_path, note) = match recording.as_mut() {
        Some(r) => (r.finish(), r.note.clone()),
        None => (None, None),
    };
    let verdict = if run.limit.is_some() {
        Verdict::OverLimit
    } else if !run.success() {
        Verdict::Crashed
    } else {
        Verdict::Wrong
    };
    let verification = (verdict == Verdict::Wrong).then(|| verify::verify(reference_dir, &out));
    let verdict = match &verification {
        Some(v) if v.ok => Verdict::Correct,
        _ => verdict,
    };
    let mut profile = profile_path
        .filter(|p| p.is_file())
        .map(|p| summarize_profile(&p, opts.profiler, &solution, opts.top, work));
    if let Some(n) = note {
        match &mut profile {
            Some(p) => p.note = Some(n),
            None => {
                profile = Some(ProfileSummary {
                    profiler: opts.profiler,
                    file: PathBuf::new(),
                    flamegraph: None,
                    top_self: Vec::new(),
                    hot_lines: Vec::new(),
                    note: Some(n),
                })
            }
        }
    }
    let diagnosis = match (&profile, opts.diagnose) {
        (Some(p), true) if p.file.is_file() => crate::profile::load(&p.file, None)
            .and_then(|prof| crate::diagnose::diagnose(&prof, &solution))
            .ok(),
        _ => None,
    };
    // The reference's own summary says how long it took.
    let reference = std::fs::read(reference_dir.join("summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<pipeline::Summary>(&b).ok())
        .map(|s| ReferenceRun {
            wall_seconds: s.elapsed_seconds,
            peak_rss_bytes: None,
        });
    let input_bytes = input_bytes(&data);
    Ok(CheckResult {
        diagnosis,
        reference,
        mb_per_s: input_bytes as f64 / 1e6 / run.wall_seconds.max(1e-9),
        solution,
        name,
        verdict,
        run,
        input_bytes,
        verification,
        profile,
        output_dir: out,
        timing: None,
    })
}

/// `opts.warmup` untimed rounds, then `opts.runs` timed ones; each round runs every solution once, in turn
/// (drift over time then hits all of them alike). Unprofiled; a solution whose checked run was not correct is
/// not run again. The wall times go into each row's `timing`.
fn repeat_runs(
    solutions: &[PathBuf],
    correct: &[bool],
    opts: &CheckOptions,
    reference_dir: &Path,
    root: &Path,
) -> Result<Vec<Option<timing::Timing>>> {
    let mut quiet = opts.clone();
    quiet.profiler = Profiler::None;
    quiet.diagnose = false;
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); solutions.len()];
    for round in 0..opts.warmup + opts.runs.max(1) {
        for (i, s) in solutions.iter().enumerate() {
            if !correct[i] {
                continue;
            }
            let work = root.join(format!("{:02}-repeat", i + 1));
            let r = check_with_reference(s, &quiet, reference_dir, &work)?;
            if round >= opts.warmup && r.verdict == Verdict::Correct {
                walls[i].push(r.run.wall_seconds);
            }
        }
    }
    Ok(walls.into_iter().map(timing::Timing::new).collect())
}

/// Working directory for runs: `opts.work` or a fresh temp dir (kept, so outputs and profiles can be read).
fn work_root(opts: &CheckOptions) -> Result<PathBuf> {
    match &opts.work {
        Some(w) => {
            std::fs::create_dir_all(w).map_err(|e| Error::io(w, e))?;
            Ok(w.clone())
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("etlkit-check-")
                .tempdir()
                .map_err(|e| Error::io(std::env::temp_dir(), e))?;
            Ok(t.keep())
        }
    }
}

/// Checks one solution (computing the reference first unless `opts.reference` is given).
pub fn check(solution: &Path, opts: &CheckOptions) -> Result<CheckResult> {
    let root = work_root(opts)?;
    let reference_dir = match &opts.reference {
        Some(r) => r.clone(),
        None => {
            let r = root.join("reference");
            reference_cancellable(&opts.data, &r, opts.cancel.clone())?;
            r
        }
    };
    let computed_here = opts.reference.is_none();
    let mut result = check_with_reference(solution, opts, &reference_dir, &root.join("run"))?;
    if opts.runs > 1 || opts.warmup > 0 {
        result.timing = repeat_runs(
            &[solution.to_path_buf()],
            &[result.verdict == Verdict::Correct],
            opts,
            &reference_dir,
            &root,
        )?
        .pop()
        .flatten();
        if let Some(t) = &result.timing {
            result.mb_per_s = result.input_bytes as f64 / 1e6 / t.median.max(1e-9);
        }
    }
    if computed_here {
        // It ran in this process: this process's peak is an upper bound of its memory.
        if let Some(rf) = &mut result.reference {
            rf.peak_rss_bytes = Some(self_peak_rss());
        }
    }
    Ok(result)
}

/// One row of a comparison (the reference included, as the first row).
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    pub name: String,
    pub verdict: Verdict,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    pub mb_per_s: f64,
    pub peak_rss_bytes: u64,
    /// Wall time relative to the reference (1.0 = as fast); 0 when the reference was given, not timed.
    pub ratio_to_reference: f64,
    /// False for reference outputs that were given rather than computed (no figures of their own).
    pub timed: bool,
    pub flamegraph: Option<PathBuf>,
    /// The timed runs (with more than one run per solution); `wall_seconds` is then their median.
    pub timing: Option<timing::Timing>,
}

/// The result of `compare`.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub data: PathBuf,
    pub input_bytes: u64,
    pub rows: Vec<CompareRow>,
    pub results: Vec<CheckResult>,
    pub work: PathBuf,
}

/// Runs the reference and every solution on the same data. With `opts.reference`, those outputs are the
/// reference (the row shows no time of its own); otherwise the Rust pipeline computes them, timed.
pub fn compare(solutions: &[PathBuf], opts: &CheckOptions) -> Result<Comparison> {
    let root = work_root(opts)?;
    let input = input_bytes(&opts.data);
    let (reference_dir, reference_row) = match &opts.reference {
        Some(dir) => {
            if !dir.join("summary.json").is_file() {
                return Err(Error::Format {
                    path: dir.clone(),
                    message: "not a reference output directory (no summary.json)".into(),
                });
            }
            let row = CompareRow {
                name: format!("reference outputs ({})", dir.display()),
                verdict: Verdict::Correct,
                wall_seconds: 0.0,
                cpu_seconds: 0.0,
                mb_per_s: 0.0,
                peak_rss_bytes: 0,
                ratio_to_reference: 0.0,
                flamegraph: None,
                timed: false,
                timing: None,
            };
            (dir.clone(), row)
        }
        None => {
            let dir = root.join("reference");
            // The reference runs in this process: its RSS is this process's own high-water mark, a fair upper
            // bound.
            let started = std::time::Instant::now();
            reference_cancellable(&opts.data, &dir, opts.cancel.clone())?;
            let wall = started.elapsed().as_secs_f64();
            let row = CompareRow {
                name: "etlkit pipeline (reference)".into(),
                verdict: Verdict::Correct,
                wall_seconds: wall,
                cpu_seconds: self_cpu_seconds(),
                mb_per_s: input as f64 / 1e6 / wall.max(1e-9),
                peak_rss_bytes: self_peak_rss(),
                ratio_to_reference: 1.0,
                flamegraph: None,
                timed: true,
                timing: None,
            };
            (dir, row)
        }
    };
    let ref_wall = reference_row.wall_seconds;
    let mut rows = vec![reference_row];
    let mut results = Vec::new();
    for (i, s) in solutions.iter().enumerate() {
        let stem = s
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let r = check_with_reference(
            s,
            opts,
            &reference_dir,
            &root.join(format!("{:02}-{stem}", i + 1)),
        )?;
        rows.push(CompareRow {
            name: r.name.clone(),
            verdict: r.verdict,
            wall_seconds: r.run.wall_seconds,
            cpu_seconds: r.run.cpu_seconds,
            mb_per_s: r.mb_per_s,
            peak_rss_bytes: r.run.peak_rss_bytes,
            // Without a timed reference there is nothing to divide by.
            ratio_to_reference: if ref_wall > 0.0 {
                r.run.wall_seconds / ref_wall
            } else {
                0.0
            },
            flamegraph: r.profile.as_ref().and_then(|p| p.flamegraph.clone()),
            timed: true,
            timing: None,
        });
        results.push(r);
    }
    if opts.runs > 1 || opts.warmup > 0 {
        let correct: Vec<bool> = rows[1..]
            .iter()
            .map(|r| r.verdict == Verdict::Correct)
            .collect();
        let timings = repeat_runs(solutions, &correct, opts, &reference_dir, &root)?;
        for (row, t) in rows[1..].iter_mut().zip(timings) {
            row.timing = t;
            if let Some(t) = &row.timing {
                row.wall_seconds = t.median;
                row.mb_per_s = input as f64 / 1e6 / t.median.max(1e-9);
                if ref_wall > 0.0 {
                    row.ratio_to_reference = t.median / ref_wall;
                }
            }
        }
        // Ranked: correct solutions by median time, then the others.
        rows[1..].sort_by(|a, b| {
            (a.verdict != Verdict::Correct, a.wall_seconds)
                .partial_cmp(&(b.verdict != Verdict::Correct, b.wall_seconds))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    Ok(Comparison {
        data: opts.data.clone(),
        input_bytes: input,
        rows,
        results,
        work: root,
    })
}

fn self_usage() -> libc::rusage {
    // SAFETY: getrusage fills the struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u
}

fn self_cpu_seconds() -> f64 {
    let u = self_usage();
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn self_peak_rss() -> u64 {
    self_usage().ru_maxrss as u64 * 1024
}
