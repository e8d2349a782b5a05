//! Helpers shared by the integration tests.
//!
//! Python: tests that need it run the venv of `scripts/setup` (`$ETLKIT_VENV`, default `~/.cache/etlkit-venv`)
//! and check that it has what they need. When it does not, they fail and say what to install; they never fall
//! back to a weaker run (another interpreter, no profiler). `ETLKIT_SKIP_PYTHON=1` skips them, each printing
//! that it was skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A command running the `etlkit` binary.
pub fn etlkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_etlkit"))
}

/// The venv's interpreter, checked to import each of `needs` (`"py-spy"`: the venv's py-spy program); `None`
/// only with `ETLKIT_SKIP_PYTHON=1` (after printing that `test` was skipped). Panics with what to install when
/// the venv lacks something.
pub fn python(test: &str, needs: &[&str]) -> Option<PathBuf> {
    if std::env::var("ETLKIT_SKIP_PYTHON").is_ok_and(|v| v == "1") {
        eprintln!("{test}: skipped (ETLKIT_SKIP_PYTHON=1): it needs Python with {needs:?}");
        return None;
    }
    let venv = std::env::var_os("ETLKIT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/etlkit-venv")
        });
    let py = venv.join("bin/python");
    // Each check runs once per test process.
    static CHECKED: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let mut checked = CHECKED.get_or_init(Default::default).lock().unwrap();
    let mut missing = Vec::new();
    for &need in needs {
        let ok = *checked.entry(need.to_string()).or_insert_with(|| {
            if need == "py-spy" {
                venv.join("bin/py-spy").is_file()
            } else {
                Command::new(&py)
                    .args(["-c", &format!("import {need}")])
                    .output()
                    .is_ok_and(|o| o.status.success())
            }
        });
        if !ok {
            missing.push(need);
        }
    }
    if !py.is_file() || !missing.is_empty() {
        panic!(
            "{test} needs {} with {missing:?}: run scripts/setup (it makes that venv), point ETLKIT_VENV at \
             one, or set ETLKIT_SKIP_PYTHON=1 to skip the tests that need Python",
            py.display()
        );
    }
    Some(py)
}

/// True while `pid` is a live (not zombie) process.
pub fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// [`python`] in a test: the interpreter, or return from the test when Python tests are skipped.
macro_rules! python_or_skip {
    ($test:expr $(, $need:expr)* $(,)?) => {
        match $crate::common::python($test, &[$($need),*]) {
            Some(p) => p,
            None => return,
        }
    };
}
