//! py-spy raw and speedscope files recorded by real py-spy (and pyinstrument's evented speedscope):
//! per-frame sample counts against an independent count of the same file (`*.oracle.json`), round trips,
//! exports, views and filters.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use etlkit::profile::{
    self, export, folded, speedscope, Filters, Format, FrameKind, LineKind, Profile, Unit,
};
use serde_json::Value;

fn dir(sub: &str) -> PathBuf {
    crate::common::root()
        .join("tests/fixtures/profile")
        .join(sub)
}

fn fixtures(sub: &str, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no {suffix} fixtures in {sub}");
    v
}

/// Self (leaf) and total (once per stack) sample counts per frame label, thread/process roots left out.
fn counts(p: &Profile, per_sample: f64) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let (mut s, mut t) = (BTreeMap::new(), BTreeMap::new());
    for st in &p.stacks {
        let n = (st.weight / per_sample).round() as u64;
        let labels: HashSet<String> = st
            .frames
            .iter()
            .map(|&f| &p.frames[f as usize])
            .filter(|f| f.kind == FrameKind::Python)
            .map(|f| f.label())
            .collect();
        for l in labels {
            *t.entry(l).or_default() += n;
        }
        if let Some(&leaf) = st.frames.last() {
            let f = &p.frames[leaf as usize];
            if f.kind == FrameKind::Python {
                *s.entry(f.label()).or_default() += n;
            }
        }
    }
    (s, t)
}

fn oracle(path: &Path) -> (u64, BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let v: Value =
        serde_json::from_slice(&std::fs::read(format!("{}.oracle.json", path.display())).unwrap())
            .unwrap();
    let m = |k: &str| {
        v[k].as_object()
            .unwrap()
            .iter()
            .filter(|(l, _)| {
                // The oracle counts every frame; thread/process roots are compared separately.
                !(l.starts_with("thread (") || l.starts_with("process "))
            })
            .map(|(l, n)| (l.clone(), n.as_u64().unwrap()))
            .collect()
    };
    (v["samples"].as_u64().unwrap(), m("self"), m("total"))
}

#[test]
fn raw_files_match_an_independent_count() {
    for path in fixtures("pyspy", ".raw.txt") {
        let p = profile::load(&path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.meta.format, Format::Folded);
        assert_eq!(p.meta.tool, "py-spy");
        assert_eq!(p.meta.unit, Unit::Samples);
        let (n, os, ot) = oracle(&path);
        assert_eq!(p.total() as u64, n, "{}", path.display());
        let (s, t) = counts(&p, 1.0);
        assert_eq!(s, os, "{}: self counts", path.display());
        assert_eq!(t, ot, "{}: total counts", path.display());
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let lines = if name.contains("nolineno") {
            LineKind::None
        } else {
            LineKind::Executing
        };
        assert_eq!(p.meta.line_kind, lines, "{name}");
        let roots: HashSet<FrameKind> = p
            .stacks
            .iter()
            .filter_map(|s| s.frames.first())
            .map(|&f| p.frames[f as usize].kind)
            .collect();
        if name.contains("threads") || name.contains("idle") {
            assert_eq!(roots, HashSet::from([FrameKind::Thread]), "{name}");
        } else if name.contains("subprocesses") {
            assert_eq!(roots, HashSet::from([FrameKind::Process]), "{name}");
            // py-spy nests the child's process frame under the parent's.
            let procs: HashSet<u32> = p
                .stacks
                .iter()
                .flat_map(|s| s.frames.iter().copied())
                .filter(|&f| p.frames[f as usize].kind == FrameKind::Process)
                .collect();
            assert!(procs.len() >= 2, "{name}: parent and child processes");
        } else {
            assert_eq!(roots, HashSet::from([FrameKind::Python]), "{name}");
        }
    }
}

#[test]
fn speedscope_files_match_an_independent_count() {
    for path in fixtures("pyspy", ".speedscope.json") {
        let p = profile::load(&path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.meta.format, Format::Speedscope);
        assert_eq!(p.meta.tool, "py-spy");
        assert_eq!(p.meta.unit, Unit::Seconds);
        let (n, os, ot) = oracle(&path);
        // py-spy weighs every sample 1/rate seconds.
        let per_sample = p.total() / n as f64;
        assert!((per_sample - 0.004).abs() < 1e-9, "rate 250: {per_sample}");
        let (s, t) = counts(&p, per_sample);
        assert_eq!(s, os, "{}: self counts", path.display());
        assert_eq!(t, ot, "{}: total counts", path.display());
        // One speedscope profile per thread (and process): each gets a root frame.
        assert!(p
            .stacks
            .iter()
            .all(|s| p.frames[s.frames[0] as usize].kind != FrameKind::Python));
    }
}

#[test]
fn raw_and_speedscope_see_the_same_hot_user_functions() {
    // Different runs (py-spy writes one format per run), so compare which user functions do work.
    let hot = |name: &str| -> HashSet<String> {
        let p = profile::load(&dir("pyspy").join(name), None).unwrap();
        let r = profile::analyze(&p, &Default::default(), 100, None);
        r.top_self
            .iter()
            .filter(|f| f.file.ends_with("workload.py") || f.file.ends_with("módulo.py"))
            .filter(|f| f.self_pct >= 3.0)
            .map(|f| f.function.clone())
            .collect()
    };
    let (raw, ss) = (hot("workload.raw.txt"), hot("workload.speedscope.json"));
    for f in ["parse_lines", "calcular_größe", "spin"] {
        assert!(raw.contains(f), "{f} in {raw:?}");
        assert!(ss.contains(f), "{f} in {ss:?}");
    }
    assert!(raw
        .iter()
        .chain(&ss)
        .any(|f| f.starts_with("this_is_a_deliberately_very_long")));
}

#[test]
fn folded_round_trip_is_byte_identical() {
    let mut files = fixtures("pyspy", ".raw.txt");
    files.extend(fixtures("other", ".folded"));
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let p = profile::parse(&data, &path, None).unwrap();
        let mut out = Vec::new();
        folded::write(&p, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(data).unwrap(),
            "{}",
            path.display()
        );
    }
}

fn same_model(a: &Profile, b: &Profile, ctx: &str) {
    assert_eq!(a.frames, b.frames, "{ctx}: frames");
    assert_eq!(a.meta.unit, b.meta.unit, "{ctx}: unit");
    // speedscope has one `line` field: pstats' definition lines come back as plain lines.
    if a.meta.line_kind != LineKind::Definition {
        assert_eq!(a.meta.line_kind, b.meta.line_kind, "{ctx}: line kind");
    }
    assert_eq!(a.stacks.len(), b.stacks.len(), "{ctx}: stack count");
    // Per-thread speedscope profiles group stacks by thread, so compare in a canonical order.
    let sorted = |p: &Profile| {
        let mut v = p.stacks.clone();
        v.sort_by(|x, y| x.frames.cmp(&y.frames));
        v
    };
    for (x, y) in sorted(a).iter().zip(&sorted(b)) {
        assert_eq!(x.frames, y.frames, "{ctx}: stack frames");
        assert!(
            (x.weight - y.weight).abs() <= 1e-12 * x.weight.abs().max(1.0),
            "{ctx}: {} vs {}",
            x.weight,
            y.weight
        );
    }
}

#[test]
fn speedscope_export_reimports_to_the_same_model() {
    let mut files = fixtures("pyspy", ".raw.txt");
    files.extend(fixtures("pyspy", ".speedscope.json"));
    files.extend(fixtures("other", ".folded"));
    for path in files {
        let p = profile::load(&path, None).unwrap();
        let mut out = Vec::new();
        speedscope::write(&p, "x", &mut out).unwrap();
        let q = profile::parse(&out, Path::new("export.json"), None).unwrap();
        assert_eq!(q.meta.format, Format::Speedscope);
        same_model(&p, &q, &path.display().to_string());
    }
    // pstats: estimated stacks survive the trip too.
    let path = dir("pstats").join("nested-3.11.pstats");
    let p = export::with_stacks(&profile::load(&path, None).unwrap()).into_owned();
    let mut out = Vec::new();
    speedscope::write(&p, "x", &mut out).unwrap();
    same_model(
        &p,
        &profile::parse(&out, Path::new("x.json"), None).unwrap(),
        "pstats",
    );
}

#[test]
fn estimated_stacks_from_pstats_keep_every_functions_self_time() {
    let p = profile::load(&dir("pstats").join("workload-3.11.pstats"), None).unwrap();
    let s = export::with_stacks(&p);
    assert!(
        (s.total() - p.total()).abs() < 1e-9,
        "{} vs {}",
        s.total(),
        p.total()
    );
    // inner's self time ends up in stacks whose leaf is inner, under outer.
    let q = profile::load(&dir("pstats").join("nested-3.11.pstats"), None).unwrap();
    let s = export::with_stacks(&q);
    let inner = q
        .timings
        .iter()
        .find(|t| q.frames[t.frame as usize].function == "inner")
        .unwrap();
    let leaf_inner: f64 = s
        .stacks
        .iter()
        .filter(|st| q.frames[*st.frames.last().unwrap() as usize].function == "inner")
        .inspect(|st| {
            let names: Vec<&str> = st
                .frames
                .iter()
                .map(|&f| q.frames[f as usize].function.as_str())
                .collect();
            assert!(names.ends_with(&["main", "outer", "inner"]), "{names:?}");
        })
        .map(|st| st.weight)
        .sum();
    assert!((leaf_inner - inner.tt).abs() < 1e-12);
}

#[test]
fn evented_speedscope_from_pyinstrument() {
    let path = dir("other").join("nested-pyinstrument.speedscope.json");
    let p = profile::load(&path, None).unwrap();
    assert_eq!(p.meta.tool, "pyinstrument");
    assert_eq!(p.meta.line_kind, LineKind::Definition);
    let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let prof = &v["profiles"][0];
    // Every moment between the first open and the last close is attributed to exactly one stack.
    let events = prof["events"].as_array().unwrap();
    let span = events.last().unwrap()["at"].as_f64().unwrap() - events[0]["at"].as_f64().unwrap();
    assert!((p.total() - span).abs() < 1e-9, "{} vs {span}", p.total());
    let r = profile::analyze(&p, &Default::default(), 5, None);
    assert_eq!(r.top_self[0].function, "inner");
}

#[test]
fn evented_profiles_are_converted_exactly() {
    let doc = r#"{"$schema":"https://www.speedscope.app/file-format-schema.json",
      "shared":{"frames":[{"name":"main","file":"a.py","line":1},{"name":"work","file":"a.py","line":5}]},
      "profiles":[{"type":"evented","name":"p","unit":"milliseconds","startValue":0,"endValue":10,
        "events":[{"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":2},{"type":"C","frame":1,"at":7},
                  {"type":"O","frame":1,"at":8},{"type":"C","frame":1,"at":9},{"type":"C","frame":0,"at":10}]}]}"#;
    let p = profile::parse(doc.as_bytes(), Path::new("e.json"), None).unwrap();
    assert_eq!(p.meta.unit, Unit::Milliseconds);
    let got: Vec<(Vec<u32>, f64)> = p
        .stacks
        .iter()
        .map(|s| (s.frames.clone(), s.weight))
        .collect();
    // main alone: 0-2, 7-8, 9-10; work: 2-7, 8-9.
    assert_eq!(got, vec![(vec![0], 4.0), (vec![0, 1], 6.0)]);
    let bad = doc.replace(
        r#"{"type":"C","frame":1,"at":7}"#,
        r#"{"type":"C","frame":0,"at":7}"#,
    );
    let e = profile::parse(bad.as_bytes(), Path::new("e.json"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not the innermost open frame"), "{e}");
}

#[test]
fn svg_flamegraphs_name_the_hot_functions() {
    for (file, must) in [
        (
            "pyspy/workload.raw.txt",
            &["parse_lines", "calcular_größe", "spin"][..],
        ),
        (
            "pyspy/workload.speedscope.json",
            &["parse_lines", "spin"][..],
        ),
        (
            "pstats/workload-3.11.pstats",
            &["parse_lines", "calcular_größe", "fib"][..],
        ),
    ] {
        let path = crate::common::root()
            .join("tests/fixtures/profile")
            .join(file);
        let p = profile::load(&path, None).unwrap();
        let mut out = Vec::new();
        export::flamegraph(&p, "t", &mut out, &path).unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"),
            "{file}"
        );
        for m in must {
            assert!(svg.contains(m), "{file}: {m} missing from the SVG");
        }
    }
}

#[cfg(feature = "pprof")]
#[test]
fn pprof_export_decodes_with_the_same_samples() {
    use pprof::protos::Message;
    let path = dir("pyspy").join("workload-threads.raw.txt");
    let p = profile::load(&path, None).unwrap();
    for gz in [false, true] {
        let mut out = Vec::new();
        export::write_pprof(&p, gz, &mut out, &path).unwrap();
        let bytes = if gz {
            use std::io::Read;
            let mut v = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut v)
                .unwrap();
            v
        } else {
            out
        };
        let proto = pprof::protos::Profile::decode(&bytes[..]).unwrap();
        let total: i64 = proto.sample.iter().map(|s| s.value[0]).sum();
        assert_eq!(total as f64, p.total());
        assert_eq!(proto.sample.len(), p.stacks.len());
        let st = &proto.string_table;
        assert_eq!(st[0], "");
        assert!(st.iter().any(|s| s == "parse_lines"));
        // Leaf first: the first location of a parse_lines stack is parse_lines itself.
        let fname = |loc: u64| {
            let l = &proto.location[loc as usize - 1];
            let f = &proto.function[l.line[0].function_id as usize - 1];
            st[f.name as usize].clone()
        };
        assert!(proto
            .sample
            .iter()
            .any(|s| fname(s.location_id[0]) == "parse_lines"));
    }
}

#[test]
fn filters_on_sampled_profiles() {
    let p = profile::load(&dir("pyspy").join("workload-idle.raw.txt"), None).unwrap();
    let all = profile::analyze(&p, &Default::default(), 100, None);
    assert!(
        all.top_self
            .iter()
            .any(|f| profile::view::is_idle(&profile::Frame::new(
                f.function.clone(),
                f.file.clone(),
                None
            ))),
        "the --idle recording has idle leaves"
    );
    let f = Filters {
        idle: true,
        imports: true,
        stdlib: true,
        site_packages: false,
    };
    let r = profile::analyze(&p, &f, 100, None);
    for row in &r.top_self {
        assert!(!row.file.starts_with("<frozen"), "{row:?}");
        assert!(
            !row.file.starts_with("threading.py") && !row.file.starts_with("subprocess.py"),
            "{row:?}"
        );
    }
    // With stdlib cut out, the thread's work is attributed to user code (worker -> spin).
    assert!(r.top_self.iter().any(|x| x.function == "spin"));
    assert!(r.total < all.total, "idle and import stacks were dropped");
    let imports = profile::analyze(
        &p,
        &Filters {
            imports: true,
            ..Default::default()
        },
        100,
        None,
    );
    assert!(imports
        .top_total
        .iter()
        .all(|x| x.function != "_find_and_load"));
}

#[test]
fn hot_path_and_neighbours_on_samples() {
    let p = profile::load(&dir("pyspy").join("nested-slow.raw.txt"), None).unwrap();
    let r = profile::analyze(&p, &Default::default(), 10, Some("outer"));
    let names: Vec<&str> = r.hot_path.iter().map(|s| s.function.as_str()).collect();
    assert_eq!(names, ["<module>", "main", "outer", "inner"]);
    assert!(r.hot_path.windows(2).all(|w| w[0].total >= w[1].total));
    let nb = r.neighbours.unwrap();
    assert_eq!(nb.callers.len(), 1);
    assert_eq!(nb.callers[0].function, "main");
    assert_eq!(nb.callees[0].function, "inner");
    assert_eq!(
        nb.callers[0].weight, nb.callees[0].weight,
        "outer only calls inner"
    );
    assert_eq!(r.hot_lines[0].function, "inner");
}
