//! The drills: `etlkit diagnose` names every shipped drill's bottleneck (category and place), every fast.py
//! prints what its slow.py prints and is faster (or, for memory drills, smaller), and `etlkit drill` grades.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use etlkit::diagnose::diagnose;
use etlkit::drill::fix::SEED_VAR;
use etlkit::drill::{catalog, Mark};
use etlkit::harness::runner::{self, Limits, RunSpec};

fn drills_dir() -> PathBuf {
    crate::common::root().join("exercises/drills")
}

/// Accuracy per category on the recorded profiles, py-spy raw and cProfile pstats alike: every drill must be
/// named right (category, and a line inside the answer's range) from both.
#[test]
fn diagnose_names_every_drill() {
    let drills = catalog(&drills_dir()).unwrap();
    assert!(drills.len() >= 24, "{} drills", drills.len());
    let mut per_category: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut misses = Vec::new();
    for d in &drills {
        let profiles = [
            d.cached_profile()
                .unwrap_or_else(|| panic!("{} has no profile.raw.txt", d.id)),
            d.cached_pstats()
                .unwrap_or_else(|| panic!("{} has no profile.pstats", d.id)),
        ];
        for profile_path in profiles {
            let profile = etlkit::profile::load(&profile_path, None).unwrap();
            let dx = diagnose(&profile, &d.slow()).unwrap();
            let [lo, hi] = d.answer.lines;
            let ok = dx.top().is_some_and(|f| {
                f.category.map(|c| c.id()) == Some(d.answer.category.as_str())
                    && std::iter::once(f.line)
                        .chain(f.related.iter().copied())
                        .any(|l| lo <= l && l <= hi)
            });
            let e = per_category.entry(d.answer.category.clone()).or_default();
            e.0 += 1;
            e.1 += ok as u32;
            if !ok {
                misses.push(format!(
                    "{} ({}): want {}@{lo}-{hi}, got {:?}",
                    d.id,
                    profile_path.file_name().unwrap().to_string_lossy(),
                    d.answer.category,
                    dx.top().map(|f| (f.category, f.line, &f.related))
                ));
            }
        }
    }
    for (c, (n, k)) in &per_category {
        eprintln!("{c:<26} {k}/{n}");
    }
    assert!(
        per_category.len() >= 14,
        "every category has drills: {per_category:?}"
    );
    assert!(misses.is_empty(), "{misses:#?}");
}

/// Bad input gets a clear error, not an empty answer: a profile of another program, a source that is not
/// Python, an empty profile.
#[test]
fn diagnose_refuses_bad_input() {
    let drill = drills_dir().join("01-order-enrichment");
    let other = drills_dir().join("02-clickstream-sessions/slow.py");
    let profile = etlkit::profile::load(&drill.join("profile.pstats"), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lone = dir.path().join("other.py");
    std::fs::copy(&other, &lone).unwrap();
    let e = diagnose(&profile, &lone).unwrap_err().to_string();
    assert!(
        e.contains("none of the profile's files") && e.contains("slow.py"),
        "{e}"
    );
    let broken = dir.path().join("slow.py");
    std::fs::write(&broken, "def f(:\n    return 1\n").unwrap();
    let e = diagnose(&profile, &broken).unwrap_err().to_string();
    assert!(
        e.contains("slow.py:1") && e.contains("not valid Python"),
        "{e}"
    );
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let e = etlkit::diagnose::diagnose_file(&empty, &drill.join("slow.py"));
    assert!(e.is_err(), "an empty profile is refused");
}

/// fast.py prints the same as slow.py, on the drill's input and on a second one (`DRILL_SEED`, which must change
/// what they print), and is faster (a generous ratio, not a tight timing); for the memory drills it peaks lower.
#[test]
fn every_fix_keeps_the_output_and_is_faster() {
    let py = python_or_skip!(
        "drills::every_fix_keeps_the_output_and_is_faster",
        "pandas",
        "numpy"
    );
    let drills = catalog(&drills_dir()).unwrap();
    let limits = Limits {
        wall: Duration::from_secs(120),
        memory: None,
        cpu: None,
        output: None,
    };
    let mut failures = Vec::new();
    for d in &drills {
        let run_with = |script: PathBuf, env: Vec<(std::ffi::OsString, std::ffi::OsString)>| {
            let work = tempfile::tempdir().unwrap();
            let spec = RunSpec {
                program: py.clone(),
                args: vec![script.into()],
                cwd: work.path().to_path_buf(),
                output_dir: work.path().to_path_buf(),
                env,
                logs: None,
            };
            let r = runner::run(&spec, &limits, |_| {}).unwrap();
            let out = std::fs::read(work.path().join("stdout.txt")).unwrap();
            (r, out)
        };
        let run = |script: PathBuf| run_with(script, vec![]);
        let (slow, slow_out) = run(d.slow());
        let (fast, fast_out) = run(d.fast());
        if !slow.success() || !fast.success() {
            failures.push(format!(
                "{}: slow {:?} fast {:?}: {}",
                d.id, slow.exit_code, fast.exit_code, fast.stderr_tail
            ));
            continue;
        }
        if slow_out != fast_out {
            failures.push(format!("{}: outputs differ", d.id));
        }
        // The hidden input of `drill --submit`: fast.py must be right on it too, and it must change the output.
        let hidden = || vec![(SEED_VAR.into(), "987654321".into())];
        let (_, slow_hidden) = run_with(d.slow(), hidden());
        let (_, fast_hidden) = run_with(d.fast(), hidden());
        if slow_hidden != fast_hidden || slow_hidden.is_empty() {
            failures.push(format!("{}: outputs differ with {SEED_VAR} set", d.id));
        }
        if slow_hidden == slow_out {
            failures.push(format!("{}: {SEED_VAR} does not change the output", d.id));
        }
        let faster = fast.wall_seconds < 0.8 * slow.wall_seconds;
        let smaller = fast.peak_rss_bytes < slow.peak_rss_bytes * 4 / 5;
        // Processes beat threads by at most the core count (2 here), and only on an idle machine: a GIL drill's
        // fix passes when it runs on more than one core at once (CPU time above wall time), or when it moves the
        // work to processes without costing more CPU than the threads did.
        let fast_src = std::fs::read_to_string(d.fast()).unwrap();
        let uses_processes =
            fast_src.contains("ProcessPoolExecutor") || fast_src.contains("multiprocessing");
        let parallel = fast.cpu_seconds > 1.15 * fast.wall_seconds
            || (uses_processes && fast.cpu_seconds < 1.5 * slow.cpu_seconds.max(0.1));
        let ok = match d.answer.category.as_str() {
            "whole_file_load" => smaller || faster,
            "gil_bound_threads" => parallel || faster,
            _ => faster,
        };
        if !ok {
            failures.push(format!(
                "{}: slow {:.2}s/{}MB, fast {:.2}s (CPU {:.2}s)/{}MB",
                d.id,
                slow.wall_seconds,
                slow.peak_rss_bytes >> 20,
                fast.wall_seconds,
                fast.cpu_seconds,
                fast.peak_rss_bytes >> 20
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The CLI grades right, half-right and wrong answers and keeps a history.
#[test]
fn drill_cli_grades_and_keeps_history() {
    let home = tempfile::tempdir().unwrap();
    let d = &catalog(&drills_dir()).unwrap()[0];
    let [lo, _] = d.answer.lines;
    let func_start = {
        let src = etlkit::diagnose::source::SourceFile::parse(&d.slow()).unwrap();
        src.functions()
            .iter()
            .find(|f| f.name == d.answer.function)
            .unwrap()
            .start
    };
    let wrong_cat = if d.answer.category == "sort_in_loop" {
        "deepcopy_in_loop"
    } else {
        "sort_in_loop"
    };
    let cases = [
        (
            format!("slow.py:{lo}"),
            d.answer.category.clone(),
            4,
            Mark::Right,
        ),
        (
            format!("slow.py:{func_start}"),
            wrong_cat.to_string(),
            1,
            Mark::Partly,
        ),
        (
            "slow.py:1".to_string(),
            wrong_cat.to_string(),
            0,
            Mark::Wrong,
        ),
    ];
    for (loc, cat, points, mark) in cases {
        let out = crate::common::etlkit()
            .args([
                "drill",
                &d.id,
                "--answer",
                &loc,
                "--category",
                &cat,
                "--json",
                "--no-run",
                "--drills",
            ])
            .arg(drills_dir())
            .env("ETLKIT_HOME", home.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["points"], points, "{loc} {cat}: {v}");
        assert_eq!(v["grade"]["location"], serde_json::to_value(mark).unwrap());
    }
    let history = std::fs::read_to_string(home.path().join("drill-history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 3);
    // --focus then prefers a category never attempted.
    let out = crate::common::etlkit()
        .args([
            "drill",
            "--focus",
            "--answer",
            "1",
            "--category",
            "sort_in_loop",
            "--json",
            "--no-run",
            "--no-history",
            "--drills",
        ])
        .arg(drills_dir())
        .env("ETLKIT_HOME", home.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(v["answer"]["category"], d.answer.category.as_str());
}

/// `--profiler cprofile` trains on the drill's pstats profile: the report shows functions with call counts,
/// and the tool's own diagnosis from it names the answer; `--fresh` records a new one with cProfile.
#[test]
fn drill_cli_trains_on_cprofile() {
    let py = python_or_skip!("drills::drill_cli_trains_on_cprofile");
    let home = tempfile::tempdir().unwrap();
    let d = catalog(&drills_dir())
        .unwrap()
        .into_iter()
        .find(|d| d.answer.category == "list_as_queue")
        .unwrap();
    for fresh in [false, true] {
        let mut cmd = crate::common::etlkit();
        cmd.args([
            "drill",
            &d.id,
            "--profiler",
            "cprofile",
            "--no-run",
            "--no-history",
        ])
        .args([
            "--answer",
            "slow.py:1",
            "--category",
            "sort_in_loop",
            "--drills",
        ])
        .arg(drills_dir())
        .arg("--python")
        .arg(&py)
        .env("ETLKIT_HOME", home.path());
        if fresh {
            cmd.arg("--fresh");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Profile of slow.py (cProfile"), "{text}");
        assert!(text.contains(" calls "), "call counts shown: {text}");
        assert!(
            text.contains("etlkit diagnose says: list_as_queue"),
            "fresh={fresh}: {text}"
        );
    }
}

/// A profile that names the program by its absolute path (cProfile keeps the path it was given) is matched
/// to a source given relatively, and the other way round.
#[test]
fn diagnose_matches_absolute_and_relative_paths() {
    let rel = Path::new("exercises/drills/01-order-enrichment");
    let abs = std::fs::canonicalize(drills_dir().join("01-order-enrichment/slow.py")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("p.txt");
    std::fs::write(
        &folded,
        format!(
            "<module> ({0}:1);main ({0}:60);enrich_orders ({0}:37) 90\n<module> ({0}:1);main ({0}:60) 10\n",
            abs.display()
        ),
    )
    .unwrap();
    let profile = etlkit::profile::load(&folded, None).unwrap();
    let d = diagnose(&profile, rel).unwrap();
    let top = d.top().expect("a finding");
    assert_eq!(top.function, "enrich_orders");
    assert!(d.user_share_pct > 99.0, "{}", d.user_share_pct);
}

/// Ctrl-C during `etlkit drill`'s timing run stops the script it runs (in its own process group, as the
/// harness runs candidates), says so and exits 130.
#[test]
fn an_interrupted_drill_leaves_no_script_behind() {
    let py = python_or_skip!("drills::an_interrupted_drill_leaves_no_script_behind");
    let home = tempfile::tempdir().unwrap();
    let d = catalog(&drills_dir()).unwrap().remove(0);
    // A copy of the drill whose slow.py hangs after writing its pid.
    let drills = home.path().join("drills");
    let copy = drills.join(d.dir.file_name().unwrap());
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&d.dir).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let pidfile = home.path().join("slow.pid");
    std::fs::write(
        copy.join("slow.py"),
        format!(
            "import os, time\nopen({:?}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n",
            pidfile.display().to_string()
        ),
    )
    .unwrap();
    let child = crate::common::etlkit()
        .args(["drill", &d.id, "--no-history", "--answer", "slow.py:1"])
        .args(["--category", "sort_in_loop", "--drills"])
        .arg(&drills)
        .arg("--python")
        .arg(&py)
        .env("ETLKIT_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let script = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "slow.py never ran");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        !crate::common::process_alive(script),
        "slow.py ({script}) survived"
    );
}

/// `etlkit drill --profiler line|scalene`: line_profiler's hits and time per line, Scalene's CPU and memory per
/// line, from the drill's recorded profile and from a fresh recording; the diagnosis names the drill from them.
#[test]
fn drill_cli_trains_on_line_profiler_and_scalene() {
    let py = python_or_skip!(
        "drills::drill_cli_trains_on_line_profiler_and_scalene",
        "line_profiler",
        "scalene"
    );
    let home = tempfile::tempdir().unwrap();
    let d = catalog(&drills_dir())
        .unwrap()
        .into_iter()
        .find(|d| d.answer.category == "list_as_queue")
        .unwrap();
    for (profiler, shows) in [
        (
            "line",
            "Hot lines (a line's time includes the calls it makes)",
        ),
        ("scalene", "Memory by line (Scalene"),
    ] {
        for fresh in [false, true] {
            let mut cmd = crate::common::etlkit();
            cmd.args([
                "drill",
                &d.id,
                "--profiler",
                profiler,
                "--no-run",
                "--no-history",
            ])
            .args([
                "--answer",
                "slow.py:1",
                "--category",
                "sort_in_loop",
                "--drills",
            ])
            .arg(drills_dir())
            .arg("--python")
            .arg(&py)
            .env("ETLKIT_HOME", home.path());
            if fresh {
                cmd.arg("--fresh");
            }
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{profiler} fresh={fresh}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(shows), "{profiler} fresh={fresh}: {text}");
            assert!(
                text.contains("etlkit diagnose says: list_as_queue"),
                "{profiler} fresh={fresh}: {text}"
            );
        }
    }
}

/// Several profiles of one run, diagnosed together: memory per line (memray, Scalene) makes a whole-file load
/// certain and ranks it by the memory it holds; memray alone ranks lines by memory; cProfile with
/// line_profiler keeps the measured lines. Near miss: memory does not move a CPU-bound drill's answer.
#[test]
fn diagnose_combines_time_and_memory() {
    let drills = catalog(&drills_dir()).unwrap();
    let by_id = |id: &str| drills.iter().find(|d| d.id.starts_with(id)).unwrap();
    let d = by_id("20-");
    let paths = |names: &[&str]| -> Vec<PathBuf> { names.iter().map(|n| d.dir.join(n)).collect() };
    let alone = etlkit::diagnose::diagnose_files(&paths(&["profile.raw.txt"]), &d.slow()).unwrap();
    let both = etlkit::diagnose::diagnose_files(
        &paths(&["profile.raw.txt", "profile.memray.csv"]),
        &d.slow(),
    )
    .unwrap();
    let (a, b) = (alone.top().unwrap(), both.top().unwrap());
    assert_eq!(b.category.map(|c| c.id()), Some("whole_file_load"));
    assert_eq!(b.line, 26);
    assert!(
        b.confidence >= 0.9 && b.confidence > a.confidence,
        "{a:?} {b:?}"
    );
    assert!(b.memory_pct.unwrap() > 50.0, "{b:?}");
    assert!(b.evidence.contains("of the memory"), "{}", b.evidence);
    assert!(a.memory_pct.is_none());
    assert_eq!(both.profile_format, "Folded+Memray");
    assert!(
        both.render().contains("% of the memory"),
        "{}",
        both.render()
    );

    let memory =
        etlkit::diagnose::diagnose_files(&paths(&["profile.memray.csv"]), &d.slow()).unwrap();
    assert_eq!(memory.measure, "memory");
    let top = memory.top().unwrap();
    assert_eq!(
        (top.category.map(|c| c.id()), top.line),
        (Some("whole_file_load"), 26)
    );
    assert!(
        memory
            .notes
            .iter()
            .any(|n| n.contains("measures memory, not time")),
        "{:?}",
        memory.notes
    );

    let scalene =
        etlkit::diagnose::diagnose_files(&paths(&["profile.scalene.json"]), &d.slow()).unwrap();
    let top = scalene.top().unwrap();
    assert_eq!(
        (top.category.map(|c| c.id()), top.line),
        (Some("whole_file_load"), 26)
    );
    assert!(top.memory_pct.unwrap() > 50.0, "{top:?}");

    // cProfile + line_profiler: the lines are line_profiler's (measured), not derived from functions.
    let d = by_id("01-");
    let paths = |names: &[&str]| -> Vec<PathBuf> { names.iter().map(|n| d.dir.join(n)).collect() };
    let both =
        etlkit::diagnose::diagnose_files(&paths(&["profile.pstats", "profile.lprof"]), &d.slow())
            .unwrap();
    assert!(
        !both
            .notes
            .iter()
            .any(|n| n.contains("cProfile counts calls per function")),
        "{:?}",
        both.notes
    );
    let top = both.top().unwrap();
    assert_eq!(top.category.map(|c| c.id()), Some("nested_loop_join"));
    assert!((35..=38).contains(&top.line), "{top:?}");
    // Near miss: a CPU-bound drill's answer stays with its memory profile added.
    let with_memory = etlkit::diagnose::diagnose_files(
        &paths(&["profile.raw.txt", "profile.scalene.json"]),
        &d.slow(),
    )
    .unwrap();
    let top = with_memory.top().unwrap();
    assert_eq!(top.category.map(|c| c.id()), Some("nested_loop_join"));
}
