//! Inputs on which `scripts/fuzz` once found a crash (tests/fixtures/profile/fuzz/, named
//! `TARGET-what.ext`): each goes through what its fuzz target does (reader, views, every export, diff,
//! merge) and must give values or `etlkit::Error`s, never a panic.

use std::path::{Path, PathBuf};

use etlkit::profile::{self, export, export::ExportFormat, Filters, Format, Profile};

fn regressions() -> Vec<PathBuf> {
    let dir = crate::common::root().join("tests/fixtures/profile/fuzz");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

/// The fuzz targets' `exercise` (fuzz/fuzz_targets/common.rs).
fn exercise(p: &Profile) {
    let path = Path::new("fuzz");
    let all = Filters {
        idle: true,
        imports: true,
        stdlib: true,
        site_packages: true,
    };
    for (filters, function) in [(Filters::default(), Some("main")), (all, Some("a@b"))] {
        let r = profile::analyze(p, &filters, 10, function);
        let _ = profile::view::render_text(&r);
        let _ = serde_json::to_string(&r).unwrap();
    }
    for format in [
        ExportFormat::Folded,
        ExportFormat::Svg,
        ExportFormat::Speedscope,
        ExportFormat::Pprof,
    ] {
        let _ = export::export(p, format, "fuzz", &mut std::io::sink(), path);
    }
    let _ = profile::diff(p, p);
    let _ = profile::merge(&[("a".into(), p.clone()), ("b".into(), p.clone())], true);
}

#[test]
fn inputs_that_once_crashed_a_fuzz_target_do_not() {
    for path in regressions() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let format = match name.split('-').next() {
            Some("pstats") => Format::Pstats,
            Some("folded") => Format::Folded,
            Some("speedscope") => Format::Speedscope,
            Some("lprof") => Format::Lprof,
            Some("scalene") => Format::Scalene,
            Some("memray") => Format::Memray,
            _ => panic!("{name}: name it TARGET-what.ext"),
        };
        let data = std::fs::read(&path).unwrap();
        if let Ok(p) = profile::parse(&data, &path, Some(format)) {
            exercise(&p);
        }
    }
}

#[test]
fn weights_too_large_for_inferno_are_refused_not_wrapped() {
    // Found by the folded and speedscope targets: inferno adds counts in a u64, so a total past 2^63
    // panicked with overflow checks and drew nonsense ("all (4 samples)", 125%) without them.
    for name in ["folded-huge-counts.folded", "speedscope-huge-weights.json"] {
        let path = crate::common::root()
            .join("tests/fixtures/profile/fuzz")
            .join(name);
        let p = profile::load(&path, None).unwrap();
        let mut svg = Vec::new();
        let e = export::flamegraph(&p, "t", &mut svg, &path).unwrap_err();
        assert!(e.to_string().contains("too many to draw"), "{name}: {e}");
        let e = export::differential_flamegraph(&p, &p, "t", false, &mut svg, &path).unwrap_err();
        assert!(e.to_string().contains("too many to draw"), "{name}: {e}");
    }
    let p = profile::parse(
        b"a 9223372036854775000\nb 9000\n",
        Path::new("x"),
        Some(Format::Folded),
    )
    .unwrap();
    assert!(export::flamegraph(&p, "t", &mut Vec::new(), Path::new("x")).is_err());
    let p = profile::parse(b"a 9223372036854775000\n", Path::new("x"), None).unwrap();
    export::flamegraph(&p, "t", &mut Vec::new(), Path::new("x")).unwrap();
}
