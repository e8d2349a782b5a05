//! Integration tests of `etlkit check` / `compare`: verdicts for good and bad candidates, limits, no surviving
//! processes, readable diffs, profiles, and the HTML report in a real headless browser.

use std::path::{Path, PathBuf};
use std::time::Duration;

use etlkit::generate::{generate, GenerateOptions};
use etlkit::harness::{self, report, runner, CheckOptions, Limit, Profiler, Verdict};

fn fixture(name: &str) -> PathBuf {
    crate::common::root()
        .join("tests/fixtures/harness")
        .join(name)
}

/// A small dirty dataset with the reference outputs in DATA/.reference (where the test doubles read them).
fn setup(dir: &Path, py: PathBuf) -> CheckOptions {
    let data = dir.join("data");
    generate(&GenerateOptions {
        out: Some(data.clone()),
        rows: Some(20_000),
        files: Some(2),
        dirty_rate: 0.02,
        ..Default::default()
    })
    .unwrap();
    harness::reference(&data, &data.join(".reference")).unwrap();
    let mut o = CheckOptions::new(&data);
    o.python = py;
    o.profiler = Profiler::PySpy;
    o.reference = Some(data.join(".reference"));
    o.limits.wall = Duration::from_secs(60);
    o
}

fn check(opts: &CheckOptions, name: &str, work: &Path) -> harness::CheckResult {
    harness::check_with_reference(
        &fixture(name),
        opts,
        opts.reference.as_ref().unwrap(),
        &work.join(name),
    )
    .unwrap()
}

#[test]
fn verdicts_for_good_and_bad_candidates() {
    let py = python_or_skip!("harness::verdicts_for_good_and_bad_candidates", "py-spy");
    let t = tempfile::tempdir().unwrap();
    let mut opts = setup(t.path(), py);
    let w = t.path();

    let good = check(&opts, "copy_reference.py", w);
    assert_eq!(good.verdict, Verdict::Correct, "{}", good.render());
    assert!(good.verification.as_ref().unwrap().ok);
    assert!(good.run.cpu_seconds > 0.0 && good.run.peak_rss_bytes > 1_000_000);
    {
        let p = good.profile.as_ref().expect("profiled");
        assert!(p.flamegraph.as_ref().is_some_and(|f| f.is_file()), "{p:?}");
        let hot = &p.hot_lines[0];
        assert!(hot.file.ends_with("copy_reference.py"), "{hot:?}");
        assert!(
            hot.source.as_deref().unwrap_or("").contains("total")
                || hot.source.as_deref().unwrap_or("").contains("range"),
            "{hot:?}"
        );
    }

    let wrong = check(&opts, "wrong_cents.py", w);
    assert_eq!(wrong.verdict, Verdict::Wrong);
    let text = wrong.render();
    assert!(
        text.contains("daily_revenue.csv") && text.contains("DIFFERS"),
        "{text}"
    );
    assert!(
        text.contains("by up to 1 cents") && text.contains("rounding"),
        "{text}"
    );
    assert!(text.contains("top_customers.csv    ok"), "{text}");

    let crash = check(&opts, "crashes.py", w);
    assert_eq!(crash.verdict, Verdict::Crashed);
    assert_eq!(crash.run.exit_code, Some(1));
    assert!(
        crash.render().contains("ZeroDivisionError"),
        "{}",
        crash.render()
    );

    opts.profiler = Profiler::None;
    opts.limits.memory = Some(300_000_000);
    let hog = check(&opts, "memory_hog.py", w);
    assert_eq!(
        (hog.verdict, hog.run.limit),
        (Verdict::OverLimit, Some(Limit::Memory))
    );
    assert!(hog.run.peak_rss_bytes > 300_000_000);
    assert!(!runner::group_alive(hog.run.pgid));

    opts.limits.wall = Duration::from_secs(2);
    let hang = check(&opts, "hangs.py", w);
    assert_eq!(
        (hang.verdict, hang.run.limit),
        (Verdict::OverLimit, Some(Limit::Wall))
    );
    assert!(hang.run.wall_seconds < 30.0);
    assert!(!runner::group_alive(hang.run.pgid));
}

#[test]
fn a_relative_work_directory_still_finds_the_outputs() {
    let py = python_or_skip!(
        "harness::a_relative_work_directory_still_finds_the_outputs",
        "py-spy"
    );
    // `scripts/demo` passes `--work out/demo/...`; the solution runs inside that directory, so the harness must
    // hand it an absolute output path (a relative one once sent the outputs to work/work/output: "not written").
    let dir = tempfile::tempdir().unwrap();
    let opts = setup(dir.path(), py);
    let out = crate::common::etlkit()
        .current_dir(dir.path())
        .args([
            "check",
            fixture("copy_reference.py").to_str().unwrap(),
            "--data",
        ])
        .arg(&opts.data)
        .arg("--reference")
        .arg(opts.reference.as_ref().unwrap())
        .args(["--work", "rel/work", "--profiler", "none", "--python"])
        .arg(&opts.python)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("CORRECT"), "{text}");
    assert!(dir
        .path()
        .join("rel/work/run/output/daily_revenue.csv")
        .is_file());
}

#[test]
fn a_forked_child_that_hangs_does_not_survive() {
    let py = python_or_skip!(
        "harness::a_forked_child_that_hangs_does_not_survive",
        "py-spy"
    );
    let t = tempfile::tempdir().unwrap();
    let opts = setup(t.path(), py);
    let r = check(&opts, "forks_hanging_child.py", t.path());
    // It wrote no outputs: wrong, not hanging the harness, and its child was killed.
    assert_eq!(r.verdict, Verdict::Wrong);
    assert_eq!(r.run.killed_leftovers, 1, "{:?}", r.run);
    assert!(!runner::group_alive(r.run.pgid));
    assert!(r.render().contains("not written"));
    assert!(r.run.wall_seconds < 30.0);
}

#[test]
fn compare_writes_a_report_that_renders_in_a_browser() {
    let py = python_or_skip!(
        "harness::compare_writes_a_report_that_renders_in_a_browser",
        "py-spy"
    );
    let t = tempfile::tempdir().unwrap();
    let mut opts = setup(t.path(), py);
    opts.work = Some(t.path().join("work"));
    // The reference is computed (and timed) here: no `reference` given.
    opts.reference = None;
    let c = harness::compare(
        &[fixture("copy_reference.py"), fixture("wrong_cents.py")],
        &opts,
    )
    .unwrap();
    assert_eq!(c.rows.len(), 3);
    assert_eq!(c.rows[0].name, "etlkit pipeline (reference)");
    assert_eq!(
        (c.rows[1].verdict, c.rows[2].verdict),
        (Verdict::Correct, Verdict::Wrong)
    );
    let table = report::table(&c);
    assert!(
        table.contains("copy_reference.py") && table.contains("wrong"),
        "{table}"
    );
    let html = report::write_html(&c, &t.path().join("report")).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.path().join("report/report.json")).unwrap())
            .unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 3);
    // A real browser loads the page: the DOM it builds holds the table rows and both charts.
    let Some(dom) = browser_dom(&html, t.path()) else {
        return;
    };
    assert!(dom.contains("<table id=\"results\">"), "{dom}");
    assert_eq!(dom.matches("<tr>").count(), 4, "header + 3 rows");
    assert_eq!(dom.matches("<svg").count(), 2, "two bar charts");
    assert!(dom.contains("wrong_cents.py"));
}

/// Given reference outputs are the ones compared with (they were ignored, and the reference recomputed): a
/// reference changed by one cent turns the candidate that copies the true outputs into a wrong one.
#[test]
fn compare_uses_the_given_reference() {
    let py = python_or_skip!("harness::compare_uses_the_given_reference", "py-spy");
    let t = tempfile::tempdir().unwrap();
    let mut opts = setup(t.path(), py);
    let given = t.path().join("given-reference");
    std::fs::create_dir_all(&given).unwrap();
    let truth = opts.reference.clone().unwrap();
    for e in std::fs::read_dir(&truth).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), given.join(e.file_name())).unwrap();
    }
    let daily = given.join("daily_revenue.csv");
    let text = std::fs::read_to_string(&daily).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // The last field of the first data row is revenue in cents: add one.
    let row = &mut lines[1];
    let cut = row.rfind(',').unwrap();
    let cents: i64 = row[cut + 1..].parse().unwrap();
    *row = format!("{}{}", &row[..=cut], cents + 1);
    std::fs::write(&daily, lines.join("\n") + "\n").unwrap();
    opts.reference = Some(given.clone());
    opts.work = Some(t.path().join("work"));
    let c = harness::compare(&[fixture("copy_reference.py")], &opts).unwrap();
    assert_eq!(c.rows.len(), 2);
    assert!(!c.rows[0].timed && c.rows[0].name.contains("given-reference"));
    assert_eq!(
        c.rows[1].verdict,
        Verdict::Wrong,
        "{:?}",
        c.results[0].verification
    );
    assert!(
        !t.path().join("work/reference").exists(),
        "nothing recomputed"
    );
    let table = report::table(&c);
    assert!(table.lines().nth(1).unwrap().contains(" - "), "{table}");
}

/// Ctrl-C (SIGINT) or SIGTERM to `etlkit check` kills the candidate's process group (which a terminal's
/// Ctrl-C does not reach: it runs in its own group), says so and exits 130.
#[test]
fn an_interrupted_check_leaves_no_candidate_behind() {
    let py = python_or_skip!(
        "harness::an_interrupted_check_leaves_no_candidate_behind",
        "py-spy"
    );
    let t = tempfile::tempdir().unwrap();
    let opts = setup(t.path(), py);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let pidfile = t.path().join(format!("candidate-{signal}.pid"));
        let child = crate::common::etlkit()
            .arg("check")
            .arg(fixture("sleeps.py"))
            .arg("--data")
            .arg(&opts.data)
            .arg("--reference")
            .arg(opts.reference.as_ref().unwrap())
            .arg("--python")
            .arg(&opts.python)
            .args(["--profiler", "none", "--work"])
            .arg(t.path().join(format!("work-{signal}")))
            .env("ETLKIT_TEST_PIDFILE", &pidfile)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let candidate = wait_for_pid(&pidfile);
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "signal {signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(
            !crate::common::process_alive(candidate),
            "the candidate {candidate} survived"
        );
    }
}

/// Waits (up to a minute) for the candidate to write its pid.
pub fn wait_for_pid(path: &Path) -> i32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pid in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `--profiler line`: the solution runs under `kernprof -l -p` (no decorators) and its own lines come back with
/// their times; without line_profiler in the interpreter the run still happens, unprofiled, with a note saying
/// what to install.
#[test]
fn line_profiler_times_the_solutions_own_lines() {
    let py = python_or_skip!(
        "harness::line_profiler_times_the_solutions_own_lines",
        "py-spy",
        "line_profiler"
    );
    let t = tempfile::tempdir().unwrap();
    let mut opts = setup(t.path(), py);
    opts.profiler = Profiler::Line;
    let r = check(&opts, "copy_in_functions.py", t.path());
    assert_eq!(r.verdict, Verdict::Correct, "{}", r.render());
    let p = r.profile.as_ref().expect("a profile summary");
    {
        assert!(p.file.extension().is_some_and(|e| e == "lprof"), "{p:?}");
        let hot = p.hot_lines.first().expect("hot lines");
        assert!(hot.file.ends_with("copy_in_functions.py"), "{p:?}");
        // The loop of `busy` (lines 14-15) or the call that runs it (21): the solution's own lines.
        assert!([14, 15, 21].contains(&hot.line), "{p:?}");
        assert!(p
            .note
            .as_deref()
            .is_some_and(|n| n.contains("line_profiler")));
        // A script doing its work at module level: line_profiler times functions only, and says so.
        let m = check(&opts, "copy_reference.py", t.path());
        let mp = m.profile.as_ref().unwrap();
        assert!(mp.hot_lines.is_empty(), "{mp:?}");
        assert!(
            mp.note
                .as_deref()
                .is_some_and(|n| n.contains("module level")),
            "{mp:?}"
        );
    }
    // Without line_profiler in the interpreter (the system's python3, when it lacks it) the run still happens,
    // unprofiled, with a note saying what to install.
    let bare = std::process::Command::new("python3")
        .args(["-c", "import kernprof, line_profiler"])
        .status()
        .is_ok_and(|s| !s.success());
    if bare {
        opts.python = "python3".into();
        let r = check(&opts, "copy_in_functions.py", &t.path().join("bare"));
        assert_eq!(r.verdict, Verdict::Correct, "{}", r.render());
        let p = r.profile.as_ref().expect("a note");
        assert!(
            p.note
                .as_deref()
                .is_some_and(|n| n.contains("line_profiler not found")),
            "{p:?}"
        );
    }
}

/// `runs`/`warmup`: every correct solution is run again in turns, unprofiled; its row shows the median of the
/// timed runs (min <= median, the spread beside it) and the correct solutions rank first by median. A wrong
/// solution is not run again.
#[test]
fn compare_times_several_runs_and_ranks_by_median() {
    let py = python_or_skip!(
        "harness::compare_times_several_runs_and_ranks_by_median",
        "py-spy"
    );
    let t = tempfile::tempdir().unwrap();
    let mut opts = setup(t.path(), py);
    opts.profiler = Profiler::None;
    (opts.runs, opts.warmup) = (3, 1);
    opts.work = Some(t.path().join("work"));
    let c = harness::compare(
        &[fixture("wrong_cents.py"), fixture("copy_reference.py")],
        &opts,
    )
    .unwrap();
    assert_eq!(c.rows.len(), 3);
    let good = &c.rows[1];
    assert!(good.name.contains("copy_reference"), "{:?}", c.rows);
    let timing = good.timing.as_ref().expect("timed runs");
    assert_eq!(timing.runs.len(), 3);
    assert!(timing.min <= timing.median && timing.median == good.wall_seconds);
    assert!(timing.runs.iter().all(|&w| w > 0.0));
    let bad = &c.rows[2];
    assert_eq!(bad.verdict, Verdict::Wrong);
    assert!(bad.timing.is_none());
    let table = report::table(&c);
    assert!(
        table.contains("median s ± sd") && table.contains(" ± "),
        "{table}"
    );
    // The leaderboard's history: two comparisons, then the standings over time from the command line.
    let history = t.path().join("history.jsonl");
    for _ in 0..2 {
        etlkit::harness::history::append(&history, &etlkit::harness::history::Entry::of(&c))
            .unwrap();
    }
    let out = crate::common::etlkit()
        .args(["compare", "--show", "--history"])
        .arg(&history)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = shown
        .lines()
        .find(|l| l.starts_with("copy_reference.py"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert_eq!(row.matches(" s (").count(), 2, "{shown}");
    assert!(
        shown.contains("#2: ") && shown.contains("3 runs each"),
        "{shown}"
    );
    // The HTML shows the runs as a strip plot: three dots for the correct solution, in the overall plot and
    // beside its flamegraph; none for the wrong one.
    let html = report::write_html(&c, &t.path().join("report")).unwrap();
    let Some(dom) = browser_dom(&html, t.path()) else {
        return;
    };
    assert_eq!(dom.matches("class=\"runs\"").count(), 2, "{dom}");
    assert_eq!(dom.matches("<circle").count(), 6, "{dom}");
    assert_eq!(dom.matches("class=\"median\"").count(), 2, "{dom}");
    assert!(dom.contains("median s ± sd"));
}

/// The DOM headless Chromium builds from `html` (`None` after saying so when no Chromium is installed, which
/// CI does not allow).
fn browser_dom(html: &Path, scratch: &Path) -> Option<String> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(chromium) = chromium else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is required in CI (scripts/setup installs it)"
        );
        eprintln!("skipping the browser check: no chromium (scripts/setup installs it)");
        return None;
    };
    let profile_dir = scratch.join("chromium-profile");
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
