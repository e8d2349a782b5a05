//! The shipped solutions of the ETL exercise, checked by the harness on small clean and dirty datasets, and the
//! deliberately bad ones getting the right verdicts with no process left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use etlkit::generate::{generate, GenerateOptions};
use etlkit::harness::{self, runner, CheckOptions, Limit, Profiler, Verdict};

fn solutions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises/etl_10gb/solutions")
}

/// The project venv's python (scripts/setup installs the solutions' packages into it).
fn python() -> PathBuf {
    let venv = std::env::var_os("ETLKIT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").unwrap()).join(".cache/etlkit-venv")
        });
    let py = venv.join("bin/python");
    assert!(
        py.is_file(),
        "{} missing: run scripts/setup solutions",
        py.display()
    );
    py
}

fn dataset(dir: &Path, rate: f64) -> CheckOptions {
    let data = dir.join("data");
    generate(&GenerateOptions {
        out: Some(data.clone()),
        rows: Some(30_000),
        files: Some(3),
        dirty_rate: rate,
        seed: 5,
        ..Default::default()
    })
    .unwrap();
    harness::reference(&data, &dir.join("reference")).unwrap();
    let mut o = CheckOptions::new(&data);
    o.python = python();
    o.profiler = Profiler::None;
    o.reference = Some(dir.join("reference"));
    o.limits.wall = Duration::from_secs(300);
    o
}

fn check(o: &CheckOptions, name: &str, work: &Path) -> harness::CheckResult {
    let r = harness::check_with_reference(
        &solutions().join(name),
        o,
        o.reference.as_ref().unwrap(),
        &work.join(name.replace('/', "-")),
    )
    .unwrap();
    assert!(
        !runner::group_alive(r.run.pgid),
        "{name} left processes behind"
    );
    r
}

/// Solutions exact on every dataset, and those exact on clean data only (their limits are their lesson).
const EXACT: [&str; 3] = [
    "streaming_csv.py",
    "multiprocessing_chunks.py",
    "dask_distributed.py",
];
const CLEAN_ONLY: [&str; 4] = [
    "polars_lazy.py",
    "duckdb_sql.py",
    "naive_pandas.py",
    "nested_loop.py",
];

#[test]
fn shipped_solutions_are_right_on_clean_data() {
    let t = tempfile::tempdir().unwrap();
    let o = dataset(t.path(), 0.0);
    for name in EXACT.iter().chain(CLEAN_ONLY.iter()) {
        let r = check(&o, name, t.path());
        assert_eq!(r.verdict, Verdict::Correct, "{}", r.render());
    }
}

#[test]
fn exact_solutions_are_right_on_dirty_data_and_the_others_run() {
    let t = tempfile::tempdir().unwrap();
    let o = dataset(t.path(), 0.03);
    for name in EXACT {
        let r = check(&o, name, t.path());
        assert_eq!(r.verdict, Verdict::Correct, "{}", r.render());
    }
    for name in CLEAN_ONLY {
        let r = check(&o, name, t.path());
        // Documented to differ on dirty data (rejects they cannot express), but they finish and write outputs.
        assert!(
            matches!(r.verdict, Verdict::Correct | Verdict::Wrong),
            "{}",
            r.render()
        );
        assert!(r.output_dir.join("daily_revenue.csv").is_file(), "{name}");
    }
}

#[test]
fn bad_solutions_get_the_right_verdicts() {
    let t = tempfile::tempdir().unwrap();
    let mut o = dataset(t.path(), 0.0);
    let wrong = check(&o, "bad/wrong_cents.py", t.path());
    assert_eq!(wrong.verdict, Verdict::Wrong);
    assert!(wrong.render().contains("cents"), "{}", wrong.render());
    let crash = check(&o, "bad/crashes.py", t.path());
    assert_eq!(crash.verdict, Verdict::Crashed);
    assert!(crash.render().contains("KeyError"), "{}", crash.render());
    let forks = check(&o, "bad/forks_hanging_child.py", t.path());
    assert_eq!(forks.run.killed_leftovers, 1, "{}", forks.render());
    o.limits.memory = Some(400 << 20);
    let hog = check(&o, "bad/memory_hog.py", t.path());
    assert_eq!(
        (hog.verdict, hog.run.limit),
        (Verdict::OverLimit, Some(Limit::Memory))
    );
    o.limits.wall = Duration::from_secs(3);
    let hang = check(&o, "bad/hangs.py", t.path());
    assert_eq!(
        (hang.verdict, hang.run.limit),
        (Verdict::OverLimit, Some(Limit::Wall))
    );
}
