//! The drill's steps that run programs or render: record a profile of slow.py with the chosen profiler (or use
//! the recorded one), show it to the learner, time slow.py against fast.py. The command line and any other host
//! call these; only the prompts stay in the host.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::Drill;
use crate::diagnose::Category;
use crate::harness::profiler::{Kind, Recording};
use crate::harness::runner::{self, Limits, RunOutcome, RunSpec};
use crate::profile::view::{self, Filters};
use crate::{Error, Result};

/// The profile a drill is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DrillProfiler {
    /// `py-spy record --format raw` (the drill's profile.raw.txt).
    #[default]
    Pyspy,
    /// `python -m cProfile -o` (the drill's profile.pstats).
    Cprofile,
    /// line_profiler's `kernprof -l -p slow.py` (the drill's profile.lprof).
    Line,
    /// `scalene run --no-stacks` (the drill's profile.scalene.json).
    Scalene,
}

named_values!(DrillProfiler, "profiler", {
    Pyspy => "pyspy",
    Cprofile => "cprofile",
    Line => "line",
    Scalene => "scalene",
});

/// The drills folder: `given`, else `./exercises/drills`, else the one etlkit was built with.
pub fn drills_dir(given: Option<&Path>) -> PathBuf {
    if let Some(d) = given {
        return d.to_path_buf();
    }
    let here = PathBuf::from("exercises/drills");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises/drills")
}

/// One run of a program for a drill: what the runner measured and everything it printed.
pub(crate) struct ScriptRun {
    pub outcome: RunOutcome,
    pub stdout: Vec<u8>,
}

impl ScriptRun {
    /// Why the run failed (exit status or the limit that stopped it, and the end of its stderr), if it did.
    pub fn failure(&self) -> Option<String> {
        let r = &self.outcome;
        if r.success() {
            return None;
        }
        let how = match (r.limit, r.exit_code, r.signal) {
            (Some(l), ..) => format!("stopped at its {} limit", l.name()),
            (None, Some(c), _) => format!("exit {c}"),
            (None, None, Some(s)) => format!("killed by signal {s}"),
            _ => "killed".to_string(),
        };
        let err = r.stderr_tail.trim();
        Some(if err.is_empty() {
            how
        } else {
            // The last lines hold the exception.
            let lines: Vec<&str> = err.lines().collect();
            format!(
                "{how}: {}",
                lines[lines.len().saturating_sub(6)..].join("\n")
            )
        })
    }
}

/// Runs `program args` in `cwd` as the harness runs candidates (its own process group, killed when `cancel` is
/// set or after `wall`; `on_start` gets its pid), with `env` added. A program that fails is not an error here.
pub(crate) fn run_script(
    program: &Path,
    args: Vec<OsString>,
    cwd: &Path,
    env: Vec<(OsString, OsString)>,
    wall: Duration,
    cancel: &AtomicBool,
    on_start: impl FnOnce(i32),
) -> Result<ScriptRun> {
    let logs = tempfile::Builder::new()
        .prefix("etlkit-drill-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let spec = RunSpec {
        program: program.to_path_buf(),
        args,
        cwd: cwd.to_path_buf(),
        output_dir: logs.path().to_path_buf(),
        env,
        logs: Some(logs.path().to_path_buf()),
    };
    let limits = Limits {
        wall,
        memory: None,
        cpu: None,
        output: None,
    };
    let outcome = runner::run_cancellable(&spec, &limits, Some(cancel), on_start)?;
    let stdout = std::fs::read(logs.path().join("stdout.txt"))
        .map_err(|e| Error::io(logs.path().join("stdout.txt"), e))?;
    Ok(ScriptRun { outcome, stdout })
}

/// [`run_script`] with no extra environment and ten minutes at most; returns (wall seconds, stdout). A failed
/// run is an [`Error::Program`] named `what`.
fn run_child(
    what: &str,
    program: &Path,
    args: Vec<OsString>,
    cwd: &Path,
    cancel: &AtomicBool,
    on_start: impl FnOnce(i32),
) -> Result<(f64, Vec<u8>)> {
    let r = run_script(
        program,
        args,
        cwd,
        vec![],
        Duration::from_secs(600),
        cancel,
        on_start,
    )?;
    if let Some(why) = r.failure() {
        return Err(Error::Program {
            program: what.to_string(),
            message: format!("{} failed ({why})", program.display()),
        });
    }
    Ok((r.outcome.wall_seconds, r.stdout))
}

/// Runs a script with `python` in the script's folder; returns (wall seconds, stdout).
pub fn time_script(python: &Path, script: &Path, cancel: &AtomicBool) -> Result<(f64, Vec<u8>)> {
    let cwd = script.parent().unwrap_or(Path::new("."));
    let what = script.display().to_string();
    run_child(&what, python, vec![script.into()], cwd, cancel, |_| {})
}

/// The profile of the drill's slow.py to train on: the recorded one for `profiler`, or unless `fresh` is
/// false and one exists, a new recording with `python` (a temporary file).
pub fn profile_of(
    d: &Drill,
    profiler: DrillProfiler,
    fresh: bool,
    python: &Path,
    cancel: &AtomicBool,
) -> Result<PathBuf> {
    if !fresh {
        let cached = match profiler {
            DrillProfiler::Pyspy => d.cached_profile(),
            DrillProfiler::Cprofile => d.cached_pstats(),
            DrillProfiler::Line => d.cached_lprof(),
            DrillProfiler::Scalene => d.cached_scalene(),
        };
        if let Some(p) = cached {
            return Ok(p);
        }
    }
    let kind = match profiler {
        DrillProfiler::Pyspy => Kind::PySpy,
        DrillProfiler::Cprofile => Kind::Cprofile,
        DrillProfiler::Line => Kind::Line,
        DrillProfiler::Scalene => Kind::Scalene,
    };
    record(
        kind,
        python,
        &d.slow(),
        waits(d.category()),
        "; or train on the drill's recorded profile",
        cancel,
    )
}

/// Whether a category's bottleneck is waiting (on I/O, or for the GIL): py-spy must then sample idle threads.
pub(crate) fn waits(category: Option<Category>) -> bool {
    matches!(
        category,
        Some(Category::SequentialIo | Category::GilBoundThreads)
    )
}

/// Records a profile of `script` run by `python` in the script's folder under its plain name (so every profiler
/// names the file as the source does), into a new temporary folder; `waits`: the bottleneck may be waiting, so
/// py-spy samples idle threads too. A missing profiler's note ends with `otherwise`.
pub(crate) fn record(
    kind: Kind,
    python: &Path,
    script: &Path,
    waits: bool,
    otherwise: &str,
    cancel: &AtomicBool,
) -> Result<PathBuf> {
    let name = match kind {
        Kind::PySpy => "py-spy",
        Kind::Cprofile => "cProfile",
        Kind::Line => "line_profiler",
        Kind::Scalene => "Scalene",
    };
    let dir = tempfile::Builder::new()
        .prefix("etlkit-drill-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?
        .keep();
    let cwd = script.parent().unwrap_or(Path::new("."));
    let file = PathBuf::from(script.file_name().unwrap_or_default());
    let mut rec = Recording::new(kind, python, &file, &dir);
    rec.idle = waits;
    if let Some(note) = &rec.note {
        return Err(Error::Program {
            program: name.to_string(),
            message: format!("{note}{otherwise}"),
        });
    }
    let mut argv = rec.python_args.clone();
    argv.push(file.into());
    match run_child(name, python, argv, cwd, cancel, |pid| rec.attach(pid)) {
        Err(Error::Program { message, .. }) => {
            return Err(Error::Program {
                program: name.to_string(),
                message: format!(
                    "could not record {} with {}: {message}",
                    script.display(),
                    python.display()
                ),
            })
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    rec.finish().ok_or_else(|| Error::Program {
        program: name.to_string(),
        message: rec
            .note
            .clone()
            .unwrap_or_else(|| format!("wrote no profile for {}", script.display())),
    })
}

/// The drill's program as `slow.py`, however the profiler spelled its path (Scalene writes it absolute).
fn short(file: &str) -> &str {
    if file.ends_with("/slow.py") {
        "slow.py"
    } else {
        file
    }
}

/// What the learner sees before answering: the story, then the profile (hot functions and lines, with the
/// source of slow.py's lines; line_profiler's hits and per-hit times; Scalene's memory by line), no answer.
pub fn show(d: &Drill, profile_path: &Path) -> Result<String> {
    let profile = crate::profile::load(profile_path, None)?;
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
            crate::profile::Format::Lprof => "line_profiler".to_string(),
            crate::profile::Format::Scalene => format!("Scalene, {:.2} s", r.total),
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
