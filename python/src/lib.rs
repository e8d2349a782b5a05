//! `etlkit._etlkit`: the thin pyo3 layer under the `etlkit` Python package.
//!
//! Everything here converts arguments, calls the library, and converts back: results cross the boundary as
//! JSON text (the library's own serde representations, the same as the CLI's `--json`), which the Python
//! package (`python/etlkit/`) wraps in typed result classes. Errors are converted at the boundary into the
//! exception classes of `etlkit._errors`; panics are caught and become `InternalError`, never a crash.
//!
//! Long calls run with the GIL released. `generate`, `run_pipeline` and `check` run on a worker thread while the
//! calling thread waits with the GIL released and polls Python's signal handlers every 50 ms; when one raises
//! (Ctrl-C: `KeyboardInterrupt`), the library's cancel flag is set, the worker stops cleanly (temp files
//! removed, the solution's process group killed), and the handler's exception is raised.

use std::any::Any;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::RecvTimeoutError;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use etlkit::generate::{self as gen, Compression, DirtKind, GenerateOptions};
use etlkit::harness::{self, CheckOptions, Limits};
use etlkit::pipeline::{self, PipelineOptions};
use etlkit::profile::{self, export, view, Filters, Format, Profile};
use etlkit::Error;

/// Which exception a `BadInput`/`Format` error becomes: the file that was bad is a dataset or a profile.
#[derive(Clone, Copy)]
enum Ctx {
    Dataset,
    Profile,
}

/// Builds an instance of `etlkit._errors.<class>` with `args`, then sets `attrs` on it.
fn make_error<'py>(
    py: Python<'py>,
    class: &str,
    args: Bound<'py, PyTuple>,
    attrs: &[(&str, Bound<'py, PyAny>)],
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let inst = py.import("etlkit._errors")?.getattr(class)?.call1(args)?;
        for (k, v) in attrs {
            inst.setattr(*k, v)?;
        }
        Ok(PyErr::from_value(inst))
    };
    build().unwrap_or_else(|e| e)
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Converts a library error into the matching Python exception.
fn to_py<'py>(py: Python<'py>, err: Error, ctx: Ctx) -> PyErr {
    let msg = err.to_string();
    let s = |v: &str| v.into_pyobject(py).unwrap().into_any();
    let n = |v: u64| v.into_pyobject(py).unwrap().into_any();
    let tuple = |items: Vec<Bound<'py, PyAny>>| PyTuple::new(py, items).unwrap();
    let bad_file = match ctx {
        Ctx::Dataset => "DatasetError",
        Ctx::Profile => "ProfileFormatError",
    };
    match err {
        Error::Io { path, source } => {
            // Python's own OSError shape: IoError(errno, strerror, filename) -> "[Errno 2] ...: 'path'".
            let errno = source.raw_os_error().or(match source.kind() {
                std::io::ErrorKind::NotFound => Some(2),
                std::io::ErrorKind::PermissionDenied => Some(13),
                _ => None,
            });
            match errno {
                Some(e) => {
                    let text = source.to_string();
                    let text = text
                        .strip_suffix(&format!(" (os error {e})"))
                        .unwrap_or(&text)
                        .to_string();
                    let args = tuple(vec![
                        e.into_pyobject(py).unwrap().into_any(),
                        s(&text),
                        s(&path_str(&path)),
                    ]);
                    make_error(py, "IoError", args, &[])
                }
                None => make_error(py, "IoError", tuple(vec![s(&msg)]), &[]),
            }
        }
        Error::InvalidArgument {
            what,
            value,
            expected,
        } => make_error(
            py,
            "InvalidArgumentError",
            tuple(vec![s(&msg)]),
            &[
                ("what", s(what)),
                ("value", s(&value)),
                ("expected", s(&expected)),
            ],
        ),
        Error::OutputNotEmpty { path } => make_error(
            py,
            "InvalidArgumentError",
            tuple(vec![s(&format!(
                "{}: output directory is not empty (pass force=True to replace its contents)",
                path.display()
            ))]),
            &[
                ("what", s("out_dir")),
                ("value", s(&path_str(&path))),
                ("expected", s("an empty or new directory, or force=True")),
            ],
        ),
        Error::BadInput {
            path, line, offset, ..
        } => make_error(
            py,
            bad_file,
            tuple(vec![s(&msg)]),
            &[
                ("path", s(&path_str(&path))),
                ("line", n(line)),
                ("offset", n(offset)),
            ],
        ),
        Error::Format { path, .. } => make_error(
            py,
            bad_file,
            tuple(vec![s(&msg)]),
            &[("path", s(&path_str(&path)))],
        ),
        Error::Interrupted => PyKeyboardInterrupt::new_err(msg),
        Error::Program { program, .. } => make_error(
            py,
            "ProgramError",
            tuple(vec![s(&msg)]),
            &[("program", s(&program))],
        ),
        Error::Internal { .. } => make_error(py, "InternalError", tuple(vec![s(&msg)]), &[]),
    }
}

fn internal(py: Python<'_>, what: String) -> PyErr {
    let args = PyTuple::new(
        py,
        [format!(
            "internal error (a bug in etlkit, please report it): {what}"
        )],
    )
    .unwrap();
    make_error(py, "InternalError", args, &[])
}

/// Runs `f` with the GIL released, converting its error and any panic.
fn released<T: Send>(
    py: Python<'_>,
    ctx: Ctx,
    f: impl FnOnce() -> etlkit::Result<T> + Send,
) -> PyResult<T> {
    match py.allow_threads(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(py, e, ctx)),
        Err(p) => Err(internal(py, etlkit::error::panic_message(&*p))),
    }
}

/// Runs `f` on a worker thread; the calling thread waits with the GIL released and runs Python's signal
/// handlers every 50 ms. When a handler raises, `cancel` is set, the worker is waited for (it stops at its next
/// check) and the handler's exception (normally `KeyboardInterrupt`) is raised.
fn interruptible<T: Send>(
    py: Python<'_>,
    ctx: Ctx,
    cancel: &AtomicBool,
    f: impl FnOnce() -> etlkit::Result<T> + Send,
) -> PyResult<T> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let (outcome, interrupt) = std::thread::scope(|scope| {
        scope.spawn(move || {
            let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        });
        let mut interrupt: Option<PyErr> = None;
        loop {
            match py.allow_threads(|| rx.recv_timeout(Duration::from_millis(50))) {
                Ok(r) => break (r, interrupt),
                Err(RecvTimeoutError::Timeout) => {
                    if interrupt.is_none() {
                        if let Err(e) = py.check_signals() {
                            cancel.store(true, Ordering::SeqCst);
                            interrupt = Some(e);
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let p: Box<dyn Any + Send> =
                        Box::new("the worker thread ended without a result");
                    break (Err(p), interrupt);
                }
            }
        }
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(py, e, ctx)),
        Err(p) => Err(internal(py, etlkit::error::panic_message(&*p))),
    }
}

fn invalid(what: &'static str, value: &str, expected: &str) -> Error {
    Error::InvalidArgument {
        what,
        value: value.to_string(),
        expected: expected.to_string(),
    }
}

fn to_json<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| internal(py, format!("cannot serialise a result: {e}")))
}

fn threads_or_default(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Generates a dataset; returns its manifest as JSON.
#[pyfunction]
#[pyo3(signature = (out_dir, size, rows, seed, dirty_rate, threads, files, progress, force, compression, dirt))]
#[allow(clippy::too_many_arguments)]
fn generate(
    py: Python<'_>,
    out_dir: PathBuf,
    size: Option<String>,
    rows: Option<u64>,
    seed: u64,
    dirty_rate: f64,
    threads: Option<usize>,
    files: Option<u64>,
    progress: bool,
    force: bool,
    compression: &str,
    dirt: Option<String>,
) -> PyResult<String> {
    let cancel = Arc::new(AtomicBool::new(false));
    let build = || -> etlkit::Result<GenerateOptions> {
        let compression: Compression = compression.parse()?;
        Ok(GenerateOptions {
            out: Some(out_dir),
            size: size.as_deref().map(etlkit::size::parse_size).transpose()?,
            rows,
            files,
            seed,
            threads: threads_or_default(threads),
            dirty_rate,
            dirt: match &dirt {
                Some(d) => DirtKind::parse_list(d)?,
                None => DirtKind::ALL.to_vec(),
            },
            compression,
            force,
            progress,
            cancel: Some(cancel.clone()),
            ..GenerateOptions::default()
        })
    };
    let opts = build().map_err(|e| to_py(py, e, Ctx::Dataset))?;
    let manifest = interruptible(py, Ctx::Dataset, &cancel, || gen::generate(&opts))?;
    to_json(py, &manifest)
}

/// Runs the reference pipeline; returns its summary as JSON.
#[pyfunction]
#[pyo3(signature = (data_dir, out_dir, engine, threads, fail_fast, progress, mmap))]
#[allow(clippy::too_many_arguments)]
fn run_pipeline(
    py: Python<'_>,
    data_dir: PathBuf,
    out_dir: PathBuf,
    engine: &str,
    threads: Option<usize>,
    fail_fast: bool,
    progress: bool,
    mmap: bool,
) -> PyResult<String> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut opts = PipelineOptions::new(data_dir, out_dir);
    opts.engine = engine.parse().map_err(|e| to_py(py, e, Ctx::Dataset))?;
    if let Some(t) = threads {
        if t == 0 {
            return Err(to_py(
                py,
                invalid("threads", "0", "1 or more"),
                Ctx::Dataset,
            ));
        }
        opts.threads = t;
    }
    opts.fail_fast = fail_fast;
    opts.progress = progress;
    opts.mmap = mmap;
    opts.cancel = Some(cancel.clone());
    let summary = interruptible(py, Ctx::Dataset, &cancel, || pipeline::run(&opts))?;
    to_json(py, &summary)
}

/// Runs and verifies a candidate solution; returns (result JSON, rendered text).
#[pyfunction]
#[pyo3(signature = (solution_path, data_dir, python, timeout, memory, profiler, reference, work, runs, warmup))]
#[allow(clippy::too_many_arguments)]
fn check(
    py: Python<'_>,
    solution_path: PathBuf,
    data_dir: PathBuf,
    python: Option<PathBuf>,
    timeout: f64,
    memory: Option<String>,
    profiler: &str,
    reference: Option<PathBuf>,
    work: Option<PathBuf>,
    runs: usize,
    warmup: usize,
) -> PyResult<(String, String)> {
    let cancel = Arc::new(AtomicBool::new(false));
    let build = || -> etlkit::Result<CheckOptions> {
        let mut o = CheckOptions::new(data_dir);
        if let Some(p) = python {
            o.python = p;
        }
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(invalid(
                "timeout",
                &timeout.to_string(),
                "a positive number of seconds",
            ));
        }
        o.limits = Limits {
            wall: Duration::from_secs_f64(timeout),
            memory: memory
                .as_deref()
                .map(etlkit::size::parse_size)
                .transpose()?,
            ..Limits::default()
        };
        o.profiler = profiler.parse()?;
        o.reference = reference;
        o.work = work;
        if runs == 0 {
            return Err(invalid("runs", "0", "1 or more"));
        }
        (o.runs, o.warmup) = (runs, warmup);
        o.cancel = Some(cancel.clone());
        Ok(o)
    };
    let opts = build().map_err(|e| to_py(py, e, Ctx::Dataset))?;
    let r = interruptible(py, Ctx::Dataset, &cancel, || {
        harness::check(&solution_path, &opts)
    })?;
    Ok((to_json(py, &r)?, r.render()))
}

/// A loaded profile (cProfile/pstats, py-spy raw or speedscope, folded stacks). Immutable.
#[pyclass(frozen, module = "etlkit._etlkit", name = "RawProfile")]
struct RawProfile {
    inner: Profile,
    path: PathBuf,
}

#[pymethods]
impl RawProfile {
    #[getter]
    fn path(&self) -> String {
        path_str(&self.path)
    }

    /// `{"format", "tool", "unit", "line_kind", "notes"}` as JSON.
    fn meta_json(&self, py: Python<'_>) -> PyResult<String> {
        to_json(py, &self.inner.meta)
    }

    #[getter]
    fn total(&self) -> f64 {
        self.inner.total()
    }

    /// The full report (`etlkit profile --json`) as JSON.
    #[pyo3(signature = (top, idle, imports, stdlib, site_packages, function))]
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        py: Python<'_>,
        top: usize,
        idle: bool,
        imports: bool,
        stdlib: bool,
        site_packages: bool,
        function: Option<String>,
    ) -> PyResult<String> {
        let filters = Filters {
            idle,
            imports,
            stdlib,
            site_packages,
        };
        let p = &self.inner;
        let r = released(py, Ctx::Profile, || {
            Ok(view::analyze(p, &filters, top, function.as_deref()))
        })?;
        to_json(py, &r)
    }

    /// Writes an export; `format` is folded, svg, speedscope or pprof (None: from the extension).
    #[pyo3(signature = (path, format, title))]
    fn export(
        &self,
        py: Python<'_>,
        path: PathBuf,
        format: Option<&str>,
        title: Option<String>,
    ) -> PyResult<()> {
        let format = match format {
            None => export::ExportFormat::from_path(&path),
            Some(name) => name.parse().map_err(|e| to_py(py, e, Ctx::Profile))?,
        };
        let title = title.unwrap_or_else(|| {
            self.path
                .file_name()
                .map_or("profile".into(), |n| n.to_string_lossy().into_owned())
        });
        let p = &self.inner;
        released(py, Ctx::Profile, || {
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let mut out = BufWriter::new(file);
            let written = export::export(p, format, &title, &mut out, &path)
                .and_then(|()| out.flush().map_err(|e| Error::io(&path, e)));
            if written.is_err() {
                drop(out);
                let _ = std::fs::remove_file(&path);
            }
            written
        })
    }

    /// Compares this profile (before) with `other` (after); the diff as JSON.
    fn diff(&self, py: Python<'_>, other: &RawProfile) -> PyResult<String> {
        let (a, b) = (&self.inner, &other.inner);
        let d = released(py, Ctx::Profile, || profile::diff(a, b))?;
        to_json(py, &d)
    }

    /// Diagnoses this profile against the sources under `source_dir`: (JSON, rendered text).
    fn diagnose(&self, py: Python<'_>, source_dir: PathBuf) -> PyResult<(String, String)> {
        let p = &self.inner;
        let d = released(py, Ctx::Profile, || {
            etlkit::diagnose::diagnose(p, &source_dir)
        })?;
        Ok((to_json(py, &d)?, d.render()))
    }
}

/// Diagnoses several profiles of one run together (e.g. py-spy and memray): (JSON, rendered text).
#[pyfunction]
fn diagnose_many(
    py: Python<'_>,
    profiles: Vec<PyRef<'_, RawProfile>>,
    source_dir: PathBuf,
) -> PyResult<(String, String)> {
    let inner: Vec<&etlkit::profile::Profile> = profiles.iter().map(|p| &p.inner).collect();
    let d = released(py, Ctx::Profile, || {
        etlkit::diagnose::diagnose_many(&inner, &source_dir)
    })?;
    Ok((to_json(py, &d)?, d.render()))
}

/// Loads a profile file; `format` is pstats, folded, speedscope, lprof, scalene or memray (None: guessed
/// from the content).
#[pyfunction]
#[pyo3(signature = (path, format))]
fn load_profile(py: Python<'_>, path: PathBuf, format: Option<&str>) -> PyResult<RawProfile> {
    let format = format
        .map(str::parse::<Format>)
        .transpose()
        .map_err(|e| to_py(py, e, Ctx::Profile))?;
    let inner = released(py, Ctx::Profile, || profile::load(&path, format))?;
    Ok(RawProfile { inner, path })
}

/// The `etlkit` command line (the console script): runs the CLI on `argv` and returns the exit code.
/// The CLI installs its own Ctrl-C handler: call it from the console script, not inside a Python session.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.allow_threads(|| etlkit::cli::exit_code(argv))
}

#[pymodule]
fn _etlkit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", etlkit::VERSION)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(run_pipeline, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(load_profile, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose_many, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_class::<RawProfile>()?;
    Ok(())
}
