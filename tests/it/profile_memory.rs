//! Scalene and memray readers against the tools' own figures (the oracles written by
//! scripts/make-profile-fixtures-lines), their reports and exports, and their errors on damaged input.

use std::path::{Path, PathBuf};

use etlkit::profile::{self, export, export::ExportFormat, Filters, Format, Profile, Unit};
use serde_json::Value;

const MIB: f64 = 1024.0 * 1024.0;

fn fixture(rel: &str) -> PathBuf {
    crate::common::root()
        .join("tests/fixtures/profile")
        .join(rel)
}

fn oracle(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(rel)).unwrap()).unwrap()
}

/// The Scalene fixtures and their oracles, found on disk (every version folder).
fn scalene_fixtures() -> Vec<(PathBuf, PathBuf)> {
    let mut v = Vec::new();
    for dir in std::fs::read_dir(fixture("scalene")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.to_string_lossy().to_string();
            if name.ends_with(".json") && !name.ends_with(".oracle.json") {
                v.push((
                    p.clone(),
                    PathBuf::from(name.replace(".json", ".oracle.json")),
                ));
            }
        }
    }
    v.sort();
    v
}

/// The function each line of programs/lines.py belongs to (its `def` ranges; decorators included).
fn function_of(line: u32) -> &'static str {
    match line {
        16..=20 => "normalize",
        25..=26 => "Tally.__init__",
        29..=30 => "Tally.add",
        32..=38 => "Tally.from_words",
        42..=46 => "make_words",
        50..=52 => "write_data",
        56..=59 => "read_data",
        63..=69 => "main",
        _ => "<module>",
    }
}

fn f64_of(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// Every Scalene fixture: per line and per function, etlkit's figures are exactly Scalene's (MB as
/// MiB, bytes = MB x 2^20 exactly), lines are named by their function, a line's time is its CPU share of
/// the elapsed time, and the run-wide figures match.
#[test]
fn scalene_figures_equal_scalenes_own_on_every_fixture() {
    let fixtures = scalene_fixtures();
    assert!(fixtures.len() >= 2, "{fixtures:?}");
    for (json, oracle_path) in fixtures {
        let ctx = json.display().to_string();
        let o: Value = serde_json::from_slice(&std::fs::read(&oracle_path).unwrap()).unwrap();
        let p = profile::load(&json, None).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(p.meta.format, Format::Scalene, "{ctx}");
        assert_eq!(p.meta.unit, Unit::Seconds, "{ctx}");
        let m = p.memory.as_ref().unwrap();
        let file = o["file"].as_str().unwrap();
        let elapsed = f64_of(&o, "elapsed_time_sec");
        assert_eq!(
            m.peak_bytes,
            Some(f64_of(&o, "max_footprint_mb") * MIB),
            "{ctx}"
        );
        let at = &p.frames[m.peak_at.unwrap() as usize];
        assert_eq!(at.file, o["max_footprint_fname"].as_str().unwrap(), "{ctx}");
        assert_eq!(
            at.line,
            Some(o["max_footprint_lineno"].as_u64().unwrap() as u32),
            "{ctx}"
        );
        assert_eq!(at.function, function_of(at.line.unwrap()), "{ctx}");
        // Lines: the oracle keeps those with a non-zero figure, etlkit too, in file order.
        let lines = o["lines"].as_array().unwrap();
        assert_eq!(m.lines.len(), lines.len(), "{ctx}");
        let mut cpu_total = 0.0;
        for (ours, theirs) in m.lines.iter().zip(lines) {
            let f = &p.frames[ours.frame as usize];
            let lineno = theirs["lineno"].as_u64().unwrap() as u32;
            let at = format!("{ctx}:{lineno}");
            assert_eq!((f.file.as_str(), f.line), (file, Some(lineno)), "{at}");
            assert_eq!(f.function, function_of(lineno), "{at}");
            let cpu = ours.cpu.unwrap();
            assert_eq!(
                cpu.python_pct,
                f64_of(theirs, "n_cpu_percent_python"),
                "{at}"
            );
            assert_eq!(cpu.native_pct, f64_of(theirs, "n_cpu_percent_c"), "{at}");
            assert_eq!(cpu.system_pct, f64_of(theirs, "n_sys_percent"), "{at}");
            assert_eq!(
                ours.peak_bytes,
                Some(f64_of(theirs, "n_peak_mb") * MIB),
                "{at}"
            );
            assert_eq!(
                ours.average_bytes,
                Some(f64_of(theirs, "n_avg_mb") * MIB),
                "{at}"
            );
            assert_eq!(
                ours.allocated_bytes,
                Some(f64_of(theirs, "n_malloc_mb") * MIB),
                "{at}"
            );
            assert_eq!(ours.allocations, theirs["n_mallocs"].as_u64(), "{at}");
            assert_eq!(
                ours.copy_bytes_per_s,
                Some(f64_of(theirs, "n_copy_mb_s") * MIB),
                "{at}"
            );
            assert_eq!(ours.share, Some(f64_of(theirs, "n_usage_fraction")), "{at}");
            assert_eq!(
                ours.python_fraction,
                Some(f64_of(theirs, "n_python_fraction")),
                "{at}"
            );
            assert_eq!(
                ours.source.as_deref(),
                Some(theirs["line"].as_str().unwrap().trim_end_matches('\n')),
                "{at}"
            );
            // The line's stack weighs its CPU share of the run.
            let w: f64 = p
                .stacks
                .iter()
                .filter(|s| s.frames == [ours.frame])
                .map(|s| s.weight)
                .sum();
            assert_eq!(w, cpu.total_pct() * elapsed / 100.0, "{at}");
            cpu_total += cpu.total_pct();
        }
        let sum = f64_of(&o, "sum_cpu_percent_python_c") + f64_of(&o, "sum_sys_percent");
        assert!(
            (cpu_total - sum).abs() < 1e-9,
            "{ctx}: {cpu_total} vs {sum}"
        );
        assert!((p.total() - sum * elapsed / 100.0).abs() < 1e-9, "{ctx}");
        // Functions: every record, by name and first line, with the same figures.
        let funcs = o["functions"].as_array().unwrap();
        assert_eq!(m.functions.len(), funcs.len(), "{ctx}");
        for (ours, theirs) in m.functions.iter().zip(funcs) {
            let f = &p.frames[ours.frame as usize];
            let at = format!("{ctx}: {}", f.function);
            assert_eq!(f.function, theirs["line"].as_str().unwrap(), "{at}");
            assert_eq!(
                f.line,
                Some(theirs["lineno"].as_u64().unwrap() as u32),
                "{at}"
            );
            let cpu = ours.cpu.unwrap();
            assert_eq!(
                cpu.python_pct,
                f64_of(theirs, "n_cpu_percent_python"),
                "{at}"
            );
            assert_eq!(cpu.native_pct, f64_of(theirs, "n_cpu_percent_c"), "{at}");
            assert_eq!(cpu.system_pct, f64_of(theirs, "n_sys_percent"), "{at}");
            assert_eq!(
                ours.peak_bytes,
                Some(f64_of(theirs, "n_peak_mb") * MIB),
                "{at}"
            );
            assert_eq!(
                ours.allocated_bytes,
                Some(f64_of(theirs, "n_malloc_mb") * MIB),
                "{at}"
            );
            assert_eq!(ours.allocations, theirs["n_mallocs"].as_u64(), "{at}");
        }
    }
}

/// `etlkit profile prog.json`: the split tables with Scalene's figures, the peak and where, and the same
/// in the JSON report.
#[test]
fn scalene_report_shows_the_cpu_split_and_memory_by_line() {
    let p = profile::load(&fixture("scalene/2.4.0/prog-nostacks.json"), None).unwrap();
    let r = profile::analyze(&p, &Filters::default(), 5, None);
    let m = r.memory.as_ref().unwrap();
    // prog-nostacks: the peak is at line 68 (sorted() of the tally), 33.076 MiB.
    assert_eq!(
        m.peak_at.as_deref(),
        Some("/tmp/etlkit-profile-fixtures-lines/lines.py:68 (main)")
    );
    let o = oracle("scalene/2.4.0/prog-nostacks.oracle.json");
    let hottest = o["lines"]
        .as_array()
        .unwrap()
        .iter()
        .max_by(|a, b| {
            let c = |l: &Value| {
                f64_of(l, "n_cpu_percent_python")
                    + f64_of(l, "n_cpu_percent_c")
                    + f64_of(l, "n_sys_percent")
            };
            c(a).total_cmp(&c(b))
        })
        .unwrap();
    assert_eq!(
        m.cpu_lines[0].line,
        hottest["lineno"].as_u64().map(|l| l as u32)
    );
    assert_eq!(m.cpu_lines.len(), 5);
    assert!(m.lines[0].peak_bytes >= m.lines[1].peak_bytes);
    let text = profile::view::render_text(&r);
    assert!(
        text.starts_with("Scalene profile (JSON), total 3.247s over"),
        "{text}"
    );
    assert!(
        text.contains(
            "memory: peak 33.076MiB at /tmp/etlkit-profile-fixtures-lines/lines.py:68 (main)"
        ),
        "{text}"
    );
    for head in ["Functions (CPU %", "Lines by CPU", "Memory by line (MiB"] {
        assert!(text.contains(head), "{head}: {text}");
    }
    // The hottest line's split, as Scalene's figures rounded to 0.1.
    let row = format!(
        "{:.1}  {:>6.1}  {:>6.1}  {:>6.1}  /tmp/etlkit-profile-fixtures-lines/lines.py:{}",
        f64_of(hottest, "n_cpu_percent_python")
            + f64_of(hottest, "n_cpu_percent_c")
            + f64_of(hottest, "n_sys_percent"),
        f64_of(hottest, "n_cpu_percent_python"),
        f64_of(hottest, "n_cpu_percent_c"),
        f64_of(hottest, "n_sys_percent"),
        hottest["lineno"]
    );
    assert!(text.contains(&row), "{row}\n{text}");
    // The source text comes from Scalene's JSON (no file needed).
    assert!(text.contains("text = f.read()"), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["memory"]["peak_bytes"],
        f64_of(&o, "max_footprint_mb") * MIB
    );
    assert!(json["memory"]["cpu_lines"][0]["cpu"]["native_pct"].is_number());
}

/// memray's JSON stats: peak, total, allocation count, allocators and the top sites by size and by count
/// are exactly memray's (its text report, parsed by the oracle, shows the same bytes).
#[test]
fn memray_stats_equal_memrays_own_figures() {
    let path = fixture("memray/1.20.0/stats.json");
    let o = oracle("memray/1.20.0/stats.oracle.json");
    let p = profile::load(&path, None).unwrap();
    assert_eq!(p.meta.format, Format::Memray);
    assert!(p.stacks.is_empty());
    let m = p.memory.as_ref().unwrap();
    assert_eq!(m.peak_bytes, o["peak_memory"]["bytes"].as_f64());
    assert_eq!(
        m.allocated_bytes,
        o["total_memory_allocated"]["bytes"].as_f64()
    );
    assert_eq!(m.allocations, o["total_allocations"].as_u64());
    let dist = o["allocator_type_distribution"].as_object().unwrap();
    assert_eq!(m.allocators.len(), dist.len());
    for (k, n) in &m.allocators {
        assert_eq!(Some(*n), dist[k].as_u64(), "{k}");
    }
    let site = |r: &etlkit::profile::LineMemory| {
        let f = &p.frames[r.frame as usize];
        (
            f.function.clone(),
            f.file.clone(),
            f.line.unwrap_or(0) as u64,
        )
    };
    let by_size = o["top_allocations_by_size"].as_array().unwrap();
    assert_eq!(m.lines.len(), by_size.len());
    for (ours, theirs) in m.lines.iter().zip(by_size) {
        let want = (
            theirs["function"].as_str().unwrap().to_string(),
            theirs["file"].as_str().unwrap().to_string(),
            theirs["line"].as_u64().unwrap(),
        );
        assert_eq!(site(ours), want);
        assert_eq!(ours.allocated_bytes, theirs["bytes"].as_f64());
    }
    let by_count = o["top_allocations_by_count"].as_array().unwrap();
    assert_eq!(m.by_count.len(), by_count.len());
    for (ours, theirs) in m.by_count.iter().zip(by_count) {
        assert_eq!(site(ours).0, theirs["function"].as_str().unwrap());
        assert_eq!(site(ours).2, theirs["line"].as_u64().unwrap());
        assert_eq!(ours.allocations, theirs["count"].as_u64());
    }
    // The report prints memray's own figures (its size_fmt) for the peak, the total and each site.
    let r = profile::analyze(&p, &Filters::default(), 10, None);
    let text = profile::view::render_text(&r);
    assert!(
        text.contains(&format!(
            "memory: peak {}; {} in {} allocations",
            o["peak_memory"]["text"].as_str().unwrap(),
            o["total_memory_allocated"]["text"].as_str().unwrap(),
            o["total_allocations"]
        )),
        "{text}"
    );
    for s in by_size {
        let line = format!(
            "{}  ",
            s["text"].as_str().unwrap() // e.g. 28.222MB
        );
        assert!(text.contains(&line), "{line}: {text}");
    }
    assert!(
        text.contains("Top allocation sites by number of allocations"),
        "{text}"
    );
    assert!(
        text.contains("   116            <frozen runpy>:259"),
        "{text}"
    );
    // No stacks: every export is refused, saying why, without naming an etlkit option.
    for format in [
        ExportFormat::Svg,
        ExportFormat::Speedscope,
        ExportFormat::Pprof,
        ExportFormat::Folded,
    ] {
        let e = export::export(&p, format, "t", &mut Vec::new(), Path::new("o"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no stacks") && e.contains("CSV transform"),
            "{e}"
        );
        assert!(!e.contains("--"), "{e}");
    }
}

/// memray's CSV transform: stacks in bytes whose total is the CSV's and, as memray guarantees for its
/// default (high-water-mark) transform, the JSON stats' peak; bytes by line from the leaves.
#[test]
fn memray_csv_is_bytes_by_stack_adding_up_to_the_peak() {
    let path = fixture("memray/1.20.0/alloc.csv");
    let o = oracle("memray/1.20.0/stats.oracle.json");
    let p = profile::load(&path, None).unwrap();
    assert_eq!((p.meta.format, p.meta.unit), (Format::Memray, Unit::Bytes));
    assert_eq!(p.total(), o["csv"]["bytes"].as_f64().unwrap());
    assert_eq!(p.total(), o["peak_memory"]["bytes"].as_f64().unwrap());
    let m = p.memory.as_ref().unwrap();
    assert_eq!(m.allocations, o["csv"]["num_allocations"].as_u64());
    // Independent count of the CSV: bytes per leaf line and per stack.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rows = 0;
    let mut leaf_45 = 0u64;
    for line in text.lines().skip(1) {
        rows += 1;
        let cols: Vec<&str> = line.splitn(6, ',').collect();
        if cols[5].starts_with("make_words;lines.py;45|") {
            leaf_45 += cols[2].parse::<u64>().unwrap();
        }
    }
    assert_eq!(rows as u64, o["csv"]["rows"].as_u64().unwrap());
    let row45 = m
        .lines
        .iter()
        .find(|r| {
            let f = &p.frames[r.frame as usize];
            f.function == "make_words" && f.line == Some(45)
        })
        .unwrap();
    assert_eq!(row45.allocated_bytes, Some(leaf_45 as f64));
    assert!(leaf_45 > 10_000_000);
    // Stacks are root first: memray's run tracker at the root, the allocating line at the leaf.
    let heavy = p
        .stacks
        .iter()
        .max_by(|a, b| a.weight.total_cmp(&b.weight))
        .unwrap();
    let names: Vec<&str> = heavy
        .frames
        .iter()
        .map(|&f| p.frames[f as usize].function.as_str())
        .collect();
    assert_eq!(names.first(), Some(&"_run_tracker"), "{names:?}");
    assert!(
        ["make_words", "read_data"].contains(names.last().unwrap()),
        "{names:?}"
    );
    // The report: bytes as MB (memray's size_fmt), never seconds.
    let r = profile::analyze(&p, &Filters::default(), 8, None);
    let text = profile::view::render_text(&r);
    assert!(
        text.starts_with("memray profile (CSV), total 31.886MB over"),
        "{text}"
    );
    assert!(text.contains("Top functions by self memory"), "{text}");
    assert!(!text.contains("ms ") && !text.contains("µs"), "{text}");
    assert!(text.contains("lines.py:45"), "{text}");
    // Exports: a flamegraph counted in bytes, a speedscope file in bytes that reads back the same,
    // and a pprof profile of space/bytes.
    let mut svg = Vec::new();
    export::export(&p, ExportFormat::Svg, "m", &mut svg, Path::new("m.svg")).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("all (31,885,673 bytes, 100%)"), "svg");
    let mut ss = Vec::new();
    export::export(
        &p,
        ExportFormat::Speedscope,
        "m",
        &mut ss,
        Path::new("m.json"),
    )
    .unwrap();
    let back = profile::parse(&ss, Path::new("m.json"), None).unwrap();
    assert_eq!(back.meta.unit, Unit::Bytes);
    assert_eq!(back.total(), p.total());
    let mut pb = Vec::new();
    export::export(&p, ExportFormat::Pprof, "m", &mut pb, Path::new("m.pb")).unwrap();
    assert!(pb.windows(5).any(|w| w == b"space") && pb.windows(5).any(|w| w == b"bytes"));
    // A memory profile and a CPU profile are not compared.
    let cpu = profile::load(&fixture("scalene/2.4.0/prog.json"), None).unwrap();
    assert!(profile::diff(&p, &cpu).is_err());
}

/// Scalene's CPU exports: a flamegraph of the lines in microseconds, folded and speedscope with the
/// same total.
#[test]
fn scalene_exports_draw_cpu_time() {
    let p = profile::load(&fixture("scalene/2.4.0/prog.json"), None).unwrap();
    let mut svg = Vec::new();
    export::export(&p, ExportFormat::Svg, "s", &mut svg, Path::new("s.svg")).unwrap();
    let us = (p.total() * 1e6).round() as u64;
    let svg = String::from_utf8(svg).unwrap();
    let want = format!("all ({} µs, 100%)", fmt_thousands(us));
    assert!(svg.contains(&want), "{want}");
    let mut ss = Vec::new();
    export::export(
        &p,
        ExportFormat::Speedscope,
        "s",
        &mut ss,
        Path::new("s.json"),
    )
    .unwrap();
    let back = profile::parse(&ss, Path::new("s.json"), None).unwrap();
    assert!((back.total() - p.total()).abs() < 1e-12);
    assert!(back
        .frames
        .iter()
        .any(|f| f.function == "read_data" && f.line == Some(58)));
}

fn fmt_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Every fixture is sniffed as its own format, and no other reader claims it; memray's text report is
/// refused with a message naming what to use.
#[test]
fn sniffing_tells_every_fixture_apart() {
    for (rel, want) in [
        ("scalene/2.4.0/prog.json", Format::Scalene),
        ("scalene/2.4.0/prog-nostacks.json", Format::Scalene),
        ("memray/1.20.0/stats.json", Format::Memray),
        ("memray/1.20.0/alloc.csv", Format::Memray),
        ("memray/1.20.0/stats.txt", Format::Memray),
    ] {
        let data = std::fs::read(fixture(rel)).unwrap();
        assert_eq!(profile::sniff(&data), Some(want), "{rel}");
        let claims: Vec<Format> = profile::readers()
            .into_iter()
            .filter(|r| r.sniff(&data))
            .map(|r| r.format())
            .collect();
        assert!(
            claims.iter().all(|&f| f == want || f == Format::Folded),
            "{rel}: {claims:?}"
        );
    }
    // The other way round: no existing fixture is taken for Scalene or memray.
    for sub in ["pstats", "pyspy", "other", "lprof/5.1.0"] {
        for e in std::fs::read_dir(fixture(sub)).unwrap() {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let f = profile::sniff(&data);
            assert!(
                f != Some(Format::Scalene) && f != Some(Format::Memray),
                "{}: {f:?}",
                path.display()
            );
        }
    }
    // Scalene forced on memray's JSON and the other way round: refused, naming the missing field.
    let stats = std::fs::read(fixture("memray/1.20.0/stats.json")).unwrap();
    let e = profile::parse(&stats, Path::new("s.json"), Some(Format::Scalene))
        .unwrap_err()
        .to_string();
    assert!(e.contains("elapsed_time_sec: missing"), "{e}");
    let sc = std::fs::read(fixture("scalene/2.4.0/prog-nostacks.json")).unwrap();
    let e = profile::parse(&sc, Path::new("p.json"), Some(Format::Memray))
        .unwrap_err()
        .to_string();
    assert!(e.contains("total_num_allocations: missing"), "{e}");
    let e = profile::load(&fixture("memray/1.20.0/stats.txt"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("text report"), "{e}");
}

fn read(data: &[u8], format: Format) -> Result<Profile, etlkit::Error> {
    profile::parse(data, Path::new("d"), Some(format))
}

fn byte_of(e: &str) -> Option<usize> {
    let rest = e.split("byte ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Truncations of every fixture are refused with the byte where the data ended (JSON) or a position
/// inside the data (CSV), never a panic; flipped bytes give an error or a valid profile, never a panic.
#[test]
fn damaged_memory_profiles_are_refused_with_a_position() {
    for (rel, format) in [
        ("scalene/2.4.0/prog.json", Format::Scalene),
        ("scalene/2.4.0/prog-nostacks.json", Format::Scalene),
        ("memray/1.20.0/stats.json", Format::Memray),
        ("memray/1.20.0/alloc.csv", Format::Memray),
    ] {
        let data = std::fs::read(fixture(rel)).unwrap();
        let json = rel.ends_with(".json");
        let step = (data.len() / 400).max(1);
        let mut refused = 0;
        for n in (0..data.len() - 1).step_by(step) {
            let cut = &data[..n];
            match read(cut, format) {
                Err(e) => {
                    let e = e.to_string();
                    refused += 1;
                    if json && !cut.trim_ascii().is_empty() {
                        // Every cut of a JSON document ends it early: the error is at its end.
                        assert!(
                            byte_of(&e).is_some_and(|b| b <= n && b + 64 >= n),
                            "{rel} cut at {n}: {e}"
                        );
                    }
                }
                // A CSV cut at a row boundary is a shorter, valid CSV.
                Ok(p) => assert!(!json, "{rel} cut at {n} parsed: {:?}", p.meta),
            }
        }
        assert!(refused > 100, "{rel}: {refused}");
        let mut errors = 0;
        for i in (0..data.len()).step_by((data.len() / 300).max(1)) {
            for x in [b'"', b'x', b',', b'-', 0xff] {
                let mut d = data.clone();
                d[i] = x;
                if let Err(e) = read(&d, format) {
                    errors += 1;
                    let e = e.to_string();
                    assert!(
                        byte_of(&e).is_some() || e.contains(": ") && e.contains('['),
                        "{rel} byte {i} = {x}: {e}"
                    );
                } else if let Ok(p) = read(&d, format) {
                    // What parses goes through the views and exports without a panic.
                    let r = profile::analyze(&p, &Filters::default(), 5, Some("main"));
                    let _ = profile::view::render_text(&r);
                    let _ =
                        export::export(&p, ExportFormat::Svg, "x", &mut Vec::new(), Path::new("x"));
                }
            }
        }
        assert!(errors > 100, "{rel}: {errors}");
    }
}

/// A value of the wrong type names its field (the path into the document) and its byte.
#[test]
fn wrong_values_name_their_field() {
    let data = std::fs::read_to_string(fixture("scalene/2.4.0/prog-nostacks.json")).unwrap();
    // The 4th line record's n_peak_mb becomes a string.
    let mut count = 0;
    let mut at = 0;
    for (i, _) in data.match_indices("\"n_peak_mb\": ") {
        // Function records come first in the file: skip to the lines.
        if data[..i].contains("\"lines\"") {
            count += 1;
            if count == 4 {
                at = i;
                break;
            }
        }
    }
    assert!(at > 0);
    let value_at = at + "\"n_peak_mb\": ".len();
    let bad = format!("{}\"oops\"{}", &data[..value_at], &data[value_at + 3..]);
    let e = read(bad.as_bytes(), Format::Scalene)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "files[\"/tmp/etlkit-profile-fixtures-lines/lines.py\"].lines[3].n_peak_mb: expected a number, found a string"
        ),
        "{e}"
    );
    let b = byte_of(&e).unwrap();
    assert!(b >= value_at && b <= value_at + 6, "{b} vs {value_at}: {e}");
    let stats = std::fs::read_to_string(fixture("memray/1.20.0/stats.json")).unwrap();
    let bad = stats.replacen("\"size\": 27176000", "\"size\": -1", 1);
    let e = read(bad.as_bytes(), Format::Memray)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("top_allocations_by_size[1].size: expected a non-negative integer, found -1"),
        "{e}"
    );
    let bad = stats.replacen("make_words:lines.py:45", "make_words", 1);
    let e = read(bad.as_bytes(), Format::Memray)
        .unwrap_err()
        .to_string();
    assert!(e.contains("top_allocations_by_size[0].location"), "{e}");
}
