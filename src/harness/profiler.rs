//! Profiling a Python program that the runner runs: where the profiler is, how the program is started under it,
//! attaching py-spy to the running program, stopping it, and saying why there is no profile when there is none.
//! Used by `check`/`compare` and by the drills.
//!
//! cProfile, line_profiler (`kernprof`) and Scalene run the program as Python modules (`python -m ...`), so the
//! runner still owns the interpreter. py-spy attaches to the program's pid once it runs (rather than launching it)
//! for the same reason: the runner's exit status, rusage and process group are the program's.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The profilers a program can be run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `py-spy record --format raw`, attached to the running program (sampling; sees worker processes).
    PySpy,
    /// `python -m cProfile -o FILE`.
    Cprofile,
    /// `python -m kernprof -l -p SCRIPT -o FILE` (line_profiler, every line of the script).
    Line,
    /// `python -m scalene run --no-stacks -o FILE` (CPU and memory per line).
    Scalene,
}

/// py-spy beside `python` (a venv's), else on `PATH`.
pub fn py_spy_next_to(python: &Path) -> Option<PathBuf> {
    let beside = python.parent().map(|d| d.join("py-spy"));
    if let Some(p) = beside.filter(|p| p.is_file()) {
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("py-spy"))
            .find(|p| p.is_file())
    })
}

/// True when `python` can import every one of `modules` (checked by running it).
pub fn importable(python: &Path, modules: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {modules}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A profiler set up for one run of `python [args] script ...`.
#[derive(Debug)]
pub struct Recording {
    /// Arguments that go between the interpreter and the script (`-m cProfile -o FILE`); empty for py-spy.
    pub python_args: Vec<OsString>,
    /// Where the profile will be written.
    pub output: PathBuf,
    /// Why the run will not be profiled (the profiler is missing), or why it was not once it ended.
    pub note: Option<String>,
    /// py-spy also samples threads that wait (`--idle`): for programs whose bottleneck is waiting, on I/O or
    /// for the GIL.
    pub idle: bool,
    spy: Option<PathBuf>,
    spy_log: PathBuf,
    child: Option<Child>,
}

impl Recording {
    /// Sets up `kind` for a run of `script` with `python`; the profile goes to `dir/profile.EXT`. A profiler that
    /// is not installed leaves the run unprofiled, with a note saying what to install.
    pub fn new(kind: Kind, python: &Path, script: &Path, dir: &Path) -> Recording {
        let ext = match kind {
            Kind::PySpy => "raw.txt",
            Kind::Cprofile => "pstats",
            Kind::Line => "lprof",
            // (Scalene names its output `.json` whatever it is given.)
            Kind::Scalene => "scalene.json",
        };
        let output = dir.join(format!("profile.{ext}"));
        let mut r = Recording {
            python_args: Vec::new(),
            output: output.clone(),
            note: None,
            idle: false,
            spy: None,
            spy_log: dir.join("py-spy.log"),
            child: None,
        };
        let module = |name: &str, args: &[&std::ffi::OsStr]| -> Vec<OsString> {
            let mut v: Vec<OsString> = vec!["-m".into(), name.into()];
            v.extend(args.iter().map(|a| a.to_os_string()));
            v
        };
        match kind {
            Kind::PySpy => {
                r.spy = py_spy_next_to(python);
                if r.spy.is_none() {
                    r.note = Some(format!(
                        "py-spy not found next to {} or on PATH: install it (`pip install py-spy`) or profile with cProfile",
                        python.display()
                    ));
                }
            }
            Kind::Cprofile => {
                r.python_args = module("cProfile", &["-o".as_ref(), output.as_os_str()]);
            }
            // The profiler must be importable, or the run would fail for a reason that is not the program's.
            Kind::Line if importable(python, "kernprof, line_profiler") => {
                r.python_args = module(
                    "kernprof",
                    &[
                        "-l".as_ref(),
                        "-p".as_ref(),
                        script.as_os_str(),
                        "-o".as_ref(),
                        output.as_os_str(),
                    ],
                );
            }
            Kind::Line => {
                r.note = Some(format!(
                    "line_profiler not found in {}: install it (`pip install line_profiler`, 4.1 or later) or profile with py-spy",
                    python.display()
                ));
            }
            Kind::Scalene if importable(python, "scalene") => {
                r.python_args = module(
                    "scalene",
                    &[
                        "run".as_ref(),
                        "--no-stacks".as_ref(),
                        "-o".as_ref(),
                        output.as_os_str(),
                    ],
                );
            }
            Kind::Scalene => {
                r.note = Some(format!(
                    "Scalene not found in {}: install it (`pip install scalene`) or profile with py-spy",
                    python.display()
                ));
            }
        }
        r
    }

    /// True when the run will be profiled.
    pub fn active(&self) -> bool {
        self.note.is_none()
    }

    /// Attaches py-spy (if that is the profiler) to the program, as soon as it runs.
    pub fn attach(&mut self, pid: i32) {
        let Some(spy) = &self.spy else {
            return;
        };
        let log = File::create(&self.spy_log).ok();
        let mut cmd = Command::new(spy);
        cmd.args([
            "record",
            "--format",
            "raw",
            "--subprocesses",
            "--rate",
            "100",
            "--nonblocking",
            "-o",
        ])
        .arg(&self.output)
        .arg("--pid")
        .arg(pid.to_string())
        .args(self.idle.then_some("--idle"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
        if let Some(log) = log {
            cmd.stderr(log);
        }
        self.child = cmd.spawn().ok();
    }

    /// Stops an attached profiler at once (the run failed or was interrupted).
    pub fn abort(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// After the run: waits for an attached py-spy to write its profile, then returns the profile's path, or
    /// `None` with [`Recording::note`] saying why there is none.
    pub fn finish(&mut self) -> Option<PathBuf> {
        let mut status = None;
        if let Some(mut child) = self.child.take() {
            // py-spy writes its profile once every process it follows is gone; give it a moment, then stop it.
            let deadline = Instant::now() + Duration::from_secs(15);
            status = loop {
                match child.try_wait() {
                    Ok(Some(s)) => break Some(s),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break None;
                    }
                }
            };
        }
        if self.output.is_file() {
            return Some(self.output.clone());
        }
        if self.note.is_some() {
            return None;
        }
        if self.spy.is_some() {
            let log = std::fs::read_to_string(&self.spy_log).unwrap_or_default();
            let lower = log.to_lowercase();
            self.note = Some(
                if lower.contains("permission")
                    || lower.contains("not permitted")
                    || lower.contains("ptrace")
                {
                    "py-spy could not attach (ptrace not permitted): run as root, or `sudo sysctl kernel.yama.ptrace_scope=0`, or profile with cProfile".to_string()
                } else {
                    format!(
                        "py-spy wrote no profile ({}): {}",
                        status.map_or("stopped".into(), |s| s.to_string()),
                        log.lines()
                            .last()
                            .unwrap_or("the program may have ended before it attached")
                    )
                },
            );
        }
        // (A module profiler writes nothing when the program fails before the end: the run's verdict says so.)
        None
    }
}

impl Drop for Recording {
    // A profiler never outlives the run it watched.
    fn drop(&mut self) {
        self.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cProfile runs as a module with its output in the run's folder; a profiler the interpreter cannot import
    /// leaves the run unprofiled with a note that says what to install.
    #[test]
    fn module_profilers_and_missing_ones() {
        let dir = Path::new("/tmp/run");
        let c = Recording::new(Kind::Cprofile, Path::new("python3"), Path::new("s.py"), dir);
        assert!(c.active());
        assert_eq!(c.output, dir.join("profile.pstats"));
        let args: Vec<&std::ffi::OsStr> = c.python_args.iter().map(|a| a.as_os_str()).collect();
        assert_eq!(
            args,
            [
                "-m".as_ref(),
                "cProfile".as_ref(),
                "-o".as_ref(),
                dir.join("profile.pstats").as_os_str()
            ]
        );
        for kind in [Kind::Line, Kind::Scalene] {
            let mut r = Recording::new(kind, Path::new("/no/such/python"), Path::new("s.py"), dir);
            assert!(!r.active() && r.python_args.is_empty());
            assert!(
                r.note.as_deref().unwrap().contains("pip install"),
                "{:?}",
                r.note
            );
            assert_eq!(r.finish(), None);
        }
    }
}
