//! `diff` finds the known regression (nested.py `slow` doubles inner()) in cProfile and py-spy fixtures;
//! `merge` adds profiles up; the CLI gate exits 1 on a regression and 0 otherwise.

use std::path::PathBuf;

use etlkit::profile::{self, FrameKind};

fn fx(rel: &str) -> PathBuf {
    crate::common::root()
        .join("tests/fixtures/profile")
        .join(rel)
}

fn etlkit(args: &[&str]) -> (i32, String, String) {
    let out = crate::common::etlkit().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn diff_finds_the_regression_in_pstats_and_pyspy() {
    for (fast, slow) in [
        ("pstats/nested-fast.pstats", "pstats/nested-slow.pstats"),
        ("pyspy/nested-fast.raw.txt", "pyspy/nested-slow.raw.txt"),
    ] {
        let a = profile::load(&fx(fast), None).unwrap();
        let b = profile::load(&fx(slow), None).unwrap();
        let d = profile::diff(&a, &b).unwrap();
        assert_eq!(
            d.functions[0].function, "inner",
            "{fast}: the largest change is inner"
        );
        let inner = &d.functions[0];
        assert!(inner.delta_self_pct.unwrap() > 50.0, "{fast}: {inner:?}");
        let regs = d.regressions(20.0, 5.0);
        assert!(
            regs.iter().any(|r| r.starts_with("inner ")),
            "{fast}: {regs:?}"
        );
        // The other direction is an improvement for inner.
        let back = profile::diff(&b, &a).unwrap();
        assert!(back
            .regressions(20.0, 5.0)
            .iter()
            .all(|r| !r.starts_with("inner ")));
        assert!(back.total_pct < 0.0);
    }
    // Lines: py-spy has them; inner's loop lines carry the change.
    let a = profile::load(&fx("pyspy/nested-fast.raw.txt"), None).unwrap();
    let b = profile::load(&fx("pyspy/nested-slow.raw.txt"), None).unwrap();
    let d = profile::diff(&a, &b).unwrap();
    assert_eq!(d.lines[0].function, "inner");
    assert!(d.lines[0].line.is_some());
}

#[test]
fn diff_refuses_mixed_units() {
    let a = profile::load(&fx("pstats/nested-fast.pstats"), None).unwrap();
    let b = profile::load(&fx("pyspy/nested-slow.raw.txt"), None).unwrap();
    assert!(profile::diff(&a, &b).unwrap_err().is_usage());
}

#[test]
fn merge_adds_up() {
    let a = profile::load(&fx("pyspy/nested-fast.raw.txt"), None).unwrap();
    let b = profile::load(&fx("pyspy/nested-slow.raw.txt"), None).unwrap();
    let m = profile::merge(&[("a".into(), a.clone()), ("b".into(), b.clone())], false).unwrap();
    assert_eq!(m.total(), a.total() + b.total());
    // Identical stacks were combined.
    assert!(m.stacks.len() < a.stacks.len() + b.stacks.len());
    let l = profile::merge(&[("a".into(), a.clone()), ("b".into(), b.clone())], true).unwrap();
    assert_eq!(l.stacks.len(), a.stacks.len() + b.stacks.len());
    assert!(l
        .stacks
        .iter()
        .all(|s| l.frames[s.frames[0] as usize].kind == FrameKind::Process));

    let p = profile::load(&fx("pstats/nested-fast.pstats"), None).unwrap();
    let q = profile::load(&fx("pstats/nested-slow.pstats"), None).unwrap();
    let m = profile::merge(&[("p".into(), p.clone()), ("q".into(), q.clone())], false).unwrap();
    assert!((m.total() - (p.total() + q.total())).abs() < 1e-12);
    let calls = |x: &profile::Profile| x.timings.iter().map(|t| t.nc).sum::<i64>();
    assert_eq!(calls(&m), calls(&p) + calls(&q));
    assert_eq!(m.timings.len(), p.timings.len());
    assert!(profile::merge(&[("p".into(), p), ("a".into(), a)], false).is_err());
}

#[test]
fn cli_gate_and_differential_flamegraph() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("diff.svg");
    let fast = fx("pstats/nested-fast.pstats");
    let slow = fx("pstats/nested-slow.pstats");
    let (code, out, err) = etlkit(&[
        "profile",
        "diff",
        fast.to_str().unwrap(),
        slow.to_str().unwrap(),
        "--fail-if-slower",
        "20",
        "--flamegraph",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("REGRESSION") && out.contains("inner"), "{out}");
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.contains("inner") && s.contains("</svg>"));
    let (code, out, _) = etlkit(&[
        "profile",
        "diff",
        slow.to_str().unwrap(),
        fast.to_str().unwrap(),
        "--fail-if-slower",
        "20",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no regression above 20%"), "{out}");
    let (code, out, _) = etlkit(&[
        "profile",
        "diff",
        fast.to_str().unwrap(),
        slow.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["functions"][0]["function"], "inner");
}

#[test]
fn cli_report_exports_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let raw = fx("pyspy/workload-threads.raw.txt");
    let outs: Vec<PathBuf> = ["f.svg", "s.json", "p.pb.gz", "x.folded"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    let mut args = vec![
        "profile".to_string(),
        raw.to_str().unwrap().to_string(),
        "--json".into(),
    ];
    for o in &outs {
        args.push("-o".into());
        args.push(o.to_str().unwrap().into());
    }
    let (code, out, err) = etlkit(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["meta"]["tool"], "py-spy");
    for o in &outs {
        assert!(std::fs::metadata(o).unwrap().len() > 100, "{}", o.display());
    }
    // The folded export is the input again; the speedscope export reads back.
    assert_eq!(
        std::fs::read(&outs[3]).unwrap(),
        std::fs::read(&raw).unwrap()
    );
    let (code, out, _) = etlkit(&["profile", outs[1].to_str().unwrap(), "-n", "3"]);
    assert_eq!(code, 0);
    assert!(out.contains("speedscope"), "{out}");

    // Errors: exit 1 with the file and position, never a panic.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "main;foo 12\nmain;bar twelve\n").unwrap();
    let (code, _, err) = etlkit(&["profile", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.txt:2: byte 21") && err.contains("twelve"),
        "{err}"
    );
    let trunc = dir.path().join("t.pstats");
    let data = std::fs::read(fx("pstats/nested-3.11.pstats")).unwrap();
    std::fs::write(&trunc, &data[..data.len() / 2]).unwrap();
    let (code, _, err) = etlkit(&["profile", trunc.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("t.pstats: byte ") && err.contains("truncated"),
        "{err}"
    );
    let (code, _, err) = etlkit(&["profile", fx("other/profile-module.prof").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("cProfile"), "{err}");
    let (code, _, err) = etlkit(&["profile", "--format", "speedscope", raw.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("speedscope"), "{err}");
}
