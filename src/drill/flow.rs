//! The drill's steps that run programs or render: record a profile of slow.py with the chosen profiler (or use
//! the recorded one), show it to the learner, time slow.py against fast.py. The command line and any other host
//! call these; only the prompts stay in the host.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::Drill;
use crate::harness::profiler::{Kind, Recording};
use crate::harness::runner::{self, Limits, RunSpec};
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

/// Runs `program args` in `cwd` as the harness runs candidates (its own process group, killed when `cancel` is
/// set or after ten minutes; `on_start` gets its pid); returns (wall seconds, stdout). A failed run is an
/// [`Error::Program`] named `what`.
fn run_child(
    what: &str,
    program: &Path,
    args: Vec<OsString>,
    cwd: &Path,
    cancel: &AtomicBool,
    on_start: impl FnOnce(i32),
) -> Result<(f64, Vec<u8>)> {
    let logs = tempfile::Builder::new()
        .prefix("etlkit-drill-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
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
    let r = runner::run_cancellable(&spec, &limits, Some(cancel), on_start)?;
    if !r.success() {
        return Err(Error::Program {
            program: what.to_string(),
            message: format!(
                "{} failed ({}): {}",
                program.display(),
                r.limit.map_or_else(
                    || r.exit_code.map_or("killed".into(), |c| format!("exit {c}")),
                    |l| format!("{} limit", l.name())
                ),
                r.stderr_tail.trim()
            ),
        });
    }
    let out = std::fs::read(logs.path().join("stdout.txt"))
        .map_err(|e| Error::io(logs.path().join("stdout.txt"), e))?;
    Ok((r.wall_seconds, out))
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
    let (kind, name) = match profiler {
        DrillProfiler::Pyspy => (Kind::PySpy, "py-spy"),
        DrillProfiler::Cprofile => (Kind::Cprofile, "cProfile"),
        DrillProfiler::Line => (Kind::Line, "line_profiler"),
        DrillProfiler::Scalene => (Kind::Scalene, "Scalene"),
    };
    let dir = tempfile::Builder::new()
        .prefix("etlkit-drill-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?
        .keep();
    // Run in the drill's folder with a relative script name, so every profiler names the file `slow.py`.
    let mut rec = Recording::new(kind, python, Path::new("slow.py"), &dir);
    if let Some(note) = &rec.note {
        return Err(Error::Program {
            program: name.to_string(),
            message: format!("{note}; or train on the drill's recorded profile"),
        });
    }
    let mut argv = rec.python_args.clone();
    argv.push("slow.py".into());
    match run_child(name, python, argv, &d.dir, cancel, |pid| rec.attach(pid)) {
        Err(Error::Program { message, .. }) => {
            return Err(Error::Program {
                program: name.to_string(),
                message: format!(
                    "could not record {} with {}: {message}",
                    d.slow().display(),
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
            .unwrap_or_else(|| format!("wrote no profile for {}", d.slow().display())),
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
