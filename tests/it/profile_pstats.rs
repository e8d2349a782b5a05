//! pstats files written by real cProfile (every Python the fixture script found), yappi and pyinstrument,
//! checked number by number against what Python's own `pstats` module reported for the same file
//! (`*.oracle.json`, written by scripts/make-profile-fixtures).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use etlkit::profile::{self, Format, Profile, CPROFILE_NOTE};
use serde_json::Value;

fn fixtures(sub: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = crate::common::root()
        .join("tests/fixtures/profile")
        .join(sub);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9
}

type Key = (String, u32, String);

fn key_of(v: &Value) -> Key {
    (
        v["file"].as_str().unwrap().to_string(),
        v["line"].as_u64().unwrap() as u32,
        v["name"].as_str().unwrap().to_string(),
    )
}

/// Compares one parsed profile with its oracle; returns the number of functions checked.
fn check_against_oracle(path: &Path, p: &Profile) -> usize {
    let oracle: Value =
        serde_json::from_slice(&std::fs::read(format!("{}.oracle.json", path.display())).unwrap())
            .unwrap();
    let ctx = path.display().to_string();
    let key = |id: u32| {
        let f = &p.frames[id as usize];
        (f.file.clone(), f.line.unwrap_or(0), f.function.clone())
    };
    let ours: HashMap<Key, &profile::FunctionTiming> =
        p.timings.iter().map(|t| (key(t.frame), t)).collect();
    let funcs = oracle["functions"].as_array().unwrap();
    assert_eq!(ours.len(), funcs.len(), "{ctx}: function count");
    assert_eq!(p.timings.len(), funcs.len(), "{ctx}: no duplicate keys");
    let unknown_cc = funcs.iter().any(|f| f["cc"].as_i64() == Some(-1));
    if !unknown_cc {
        let nc: i64 = p.timings.iter().map(|t| t.nc).sum();
        let cc: i64 = p.timings.iter().map(|t| t.cc.unwrap()).sum();
        assert_eq!(
            nc,
            oracle["total_calls"].as_i64().unwrap(),
            "{ctx}: total_calls"
        );
        assert_eq!(
            cc,
            oracle["prim_calls"].as_i64().unwrap(),
            "{ctx}: prim_calls"
        );
    }
    assert!(
        close(p.total(), oracle["total_tt"].as_f64().unwrap()),
        "{ctx}: total_tt {} vs {}",
        p.total(),
        oracle["total_tt"]
    );
    for f in funcs {
        let k = key_of(f);
        let t = ours
            .get(&k)
            .unwrap_or_else(|| panic!("{ctx}: missing {k:?}"));
        let cc = f["cc"].as_i64().unwrap();
        let nc = f["nc"].as_i64().unwrap();
        assert_eq!(t.cc, (cc >= 0).then_some(cc), "{ctx}: cc of {k:?}");
        assert_eq!(t.nc, nc.max(0), "{ctx}: nc of {k:?}");
        assert!(close(t.tt, f["tt"].as_f64().unwrap()), "{ctx}: tt of {k:?}");
        assert!(close(t.ct, f["ct"].as_f64().unwrap()), "{ctx}: ct of {k:?}");
        let callers = f["callers"].as_array().unwrap();
        assert_eq!(t.callers.len(), callers.len(), "{ctx}: callers of {k:?}");
        for c in callers {
            let ck = key_of(c);
            let e = t
                .callers
                .iter()
                .find(|e| key(e.caller) == ck)
                .unwrap_or_else(|| panic!("{ctx}: caller {ck:?} of {k:?}"));
            let ccc = c["cc"].as_i64().unwrap();
            assert_eq!(e.nc, c["nc"].as_i64().unwrap().max(0), "{ctx}: caller nc");
            assert_eq!(e.cc, (ccc >= 0).then_some(ccc), "{ctx}: caller cc");
            assert!(close(e.tt, c["tt"].as_f64().unwrap()), "{ctx}: caller tt");
            assert!(close(e.ct, c["ct"].as_f64().unwrap()), "{ctx}: caller ct");
        }
    }
    funcs.len()
}

#[test]
fn cprofile_files_match_pythons_pstats_on_every_version() {
    let files = fixtures("pstats", ".pstats");
    // At least 3.11 plus the others the fixture script found; 8+ files means several versions.
    assert!(
        files.len() >= 8,
        "expected pstats fixtures, found {files:?}"
    );
    let mut versions = std::collections::BTreeSet::new();
    for path in &files {
        let p = profile::load(path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.meta.format, Format::Pstats);
        assert_eq!(p.meta.tool, "cProfile");
        assert!(p.meta.notes.iter().any(|n| n == CPROFILE_NOTE));
        let n = check_against_oracle(path, &p);
        assert!(n > 5, "{}: only {n} functions", path.display());
        let oracle: Value = serde_json::from_slice(
            &std::fs::read(format!("{}.oracle.json", path.display())).unwrap(),
        )
        .unwrap();
        versions.insert(oracle["python"].as_str().unwrap()[..4].to_string());
    }
    assert!(
        versions.len() >= 2,
        "only one Python version in the fixtures: {versions:?}"
    );
}

#[test]
fn workload_has_recursion_builtins_non_ascii_and_long_names() {
    let path = fixtures("pstats", "workload-3.11.pstats").remove(0);
    let p = profile::load(&path, None).unwrap();
    let find = |name: &str| {
        p.timings
            .iter()
            .find(|t| p.frames[t.frame as usize].function == name)
            .unwrap_or_else(|| panic!("{name} not found"))
    };
    // fib(18): 8361 calls, one of them primitive; the self-edge carries the 8360 recursive calls (its `cc`
    // counts the calls that were primitive for the caller frame, 2 as in pstats' own output).
    let fib = find("fib");
    assert_eq!((fib.nc, fib.cc), (8361, Some(1)));
    let self_edge = fib.callers.iter().find(|e| e.caller == fib.frame).unwrap();
    assert_eq!((self_edge.nc, self_edge.cc), (8360, Some(2)));
    let len = find("<built-in method builtins.len>");
    assert_eq!(p.frames[len.frame as usize].file, "~");
    let g = find("calcular_größe");
    assert!(p.frames[g.frame as usize]
        .file
        .ends_with("pkg_ünï/módulo.py"));
    assert!(p
        .timings
        .iter()
        .any(|t| p.frames[t.frame as usize].function.len() > 180));
}

#[test]
fn yappi_and_pyinstrument_pstats_are_read_with_their_quirks() {
    for path in fixtures("other", ".pstats") {
        let p = profile::load(&path, None).unwrap_or_else(|e| panic!("{e}"));
        check_against_oracle(&path, &p);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains("pyinstrument") {
            // pyinstrument writes cc = nc = -1: counts are unknown, and the report says so.
            assert!(p.timings.iter().all(|t| t.cc.is_none() && t.nc == 0));
            assert_eq!(p.meta.tool, "pyinstrument/yappi");
            assert!(p.meta.notes[0].contains("-1"));
        } else {
            // yappi writes qualified names for methods and real counts.
            assert!(p.timings.iter().any(|t| t.cc.is_some_and(|c| c > 0)));
        }
        let r = profile::analyze(&p, &Default::default(), 100, Some("inner"));
        assert!(
            r.top_total.iter().any(|f| f.function == "inner"),
            "{name}: inner missing from the report"
        );
        assert!(
            !r.neighbours.unwrap().callers.is_empty(),
            "{name}: inner has a caller (outer)"
        );
    }
}

#[test]
fn python_m_profile_files_are_refused_clearly() {
    let path = fixtures("other", "profile-module.prof").remove(0);
    let err = profile::load(&path, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, etlkit::Error::Format { .. }), "{msg}");
    assert!(
        msg.contains("python -m profile") && msg.contains("cProfile"),
        "{msg}"
    );
    assert!(
        msg.contains("byte "),
        "the error names the byte offset: {msg}"
    );
}

#[test]
fn report_views_on_pstats() {
    let path = fixtures("pstats", "nested-3.11.pstats").remove(0);
    let p = profile::load(&path, None).unwrap();
    let r = profile::analyze(&p, &Default::default(), 10, Some("outer"));
    assert_eq!(r.top_self[0].function, "inner", "inner does the work");
    // Hot path: exec -> <module> -> main -> outer -> inner.
    let names: Vec<&str> = r.hot_path.iter().map(|s| s.function.as_str()).collect();
    let tail = &names[names.len() - 4..];
    assert_eq!(tail, ["<module>", "main", "outer", "inner"], "{names:?}");
    let nb = r.neighbours.as_ref().unwrap();
    assert_eq!(nb.callers[0].function, "main");
    assert_eq!(nb.callers[0].calls, Some(20));
    assert_eq!(nb.callees[0].function, "inner");
    let text = profile::view::render_text(&r);
    assert!(text.contains("note: cProfile adds a fixed cost"), "{text}");
    // Columns are aligned: every row of the first table has the function column at the same offset.
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Top functions by self"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let col = table[0].find("function").unwrap();
    for row in &table[1..] {
        assert!(row.char_indices().nth(col).is_some(), "{row}");
        let prefix: String = row.chars().take(col).collect();
        assert!(prefix.ends_with("  "), "misaligned row {row:?}");
    }
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["top_self"][0]["function"], "inner");
    assert!(json["top_self"][0]["self"].as_f64().unwrap() > 0.0);
}

#[test]
fn filters_hide_builtins_and_imports_in_pstats() {
    let path = fixtures("pstats", "workload-3.11.pstats").remove(0);
    let p = profile::load(&path, None).unwrap();
    let f = profile::Filters {
        idle: true,
        imports: true,
        stdlib: true,
        site_packages: true,
    };
    let r = profile::analyze(&p, &f, 50, None);
    for row in r.top_self.iter().chain(&r.top_total) {
        assert_ne!(row.file, "~", "{row:?}");
        assert!(!row.file.starts_with("<frozen"), "{row:?}");
        assert!(!row.file.starts_with("/usr/lib/python3"), "{row:?}");
    }
    assert_eq!(r.top_self[0].function, "parse_lines");
    // Shares stay relative to the whole run, so no function exceeds 100%.
    assert!((r.total - p.total()).abs() < 1e-12);
    assert!(
        r.top_total.iter().all(|x| x.total_pct <= 100.0 + 1e-9),
        "{:?}",
        r.top_total[0]
    );
    let idle_only = profile::Filters {
        idle: true,
        ..Default::default()
    };
    let r = profile::analyze(&p, &idle_only, 50, None);
    assert!(r
        .top_self
        .iter()
        .all(|x| x.function != "<built-in method time.sleep>"));
}

/// Every line_profiler fixture (4.0 to 5.1, with and without `-p`): the numbers `line_profiler.load_stats`
/// gives, and the per-line hits and times its own text report prints.
#[test]
fn lprof_files_match_line_profilers_own_numbers_on_every_version() {
    let root = crate::common::root().join("tests/fixtures/profile/lprof");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    assert!(versions.len() >= 5, "{versions:?}");
    let mut files = 0;
    for dir in versions {
        for lprof in fixtures(
            dir.strip_prefix(root.parent().unwrap())
                .unwrap()
                .to_str()
                .unwrap(),
            ".lprof",
        ) {
            files += 1;
            let ctx = lprof.display().to_string();
            let stem = lprof.with_extension("");
            let oracle: Value = serde_json::from_slice(
                &std::fs::read(format!("{}.oracle.json", stem.display())).unwrap(),
            )
            .unwrap();
            let stats = profile::lprof::parse(&std::fs::read(&lprof).unwrap())
                .unwrap_or_else(|e| panic!("{ctx}: {e:?}"));
            assert_eq!(stats.unit, oracle["unit"].as_f64().unwrap(), "{ctx}");
            let funcs = oracle["functions"].as_array().unwrap();
            assert_eq!(stats.functions.len(), funcs.len(), "{ctx}");
            for (ours, theirs) in stats.functions.iter().zip(funcs) {
                assert_eq!(ours.file, theirs["file"].as_str().unwrap(), "{ctx}");
                assert_eq!(
                    ours.first_line as u64,
                    theirs["first_line"].as_u64().unwrap(),
                    "{ctx}"
                );
                assert_eq!(ours.name, theirs["name"].as_str().unwrap(), "{ctx}");
                let rows: Vec<(u32, u64, u64)> = theirs["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| {
                        (
                            l["lineno"].as_u64().unwrap() as u32,
                            l["nhits"].as_u64().unwrap(),
                            l["time"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(ours.lines, rows, "{ctx} {}", ours.name);
            }
            // The text report (`python -m line_profiler`): hits exactly, times in its 1e-6 s unit to 0.1.
            let text = std::fs::read_to_string(format!("{}.txt", stem.display())).unwrap();
            let mut function = String::new();
            let mut checked = 0;
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("Function: ") {
                    function = rest.split(" at line ").next().unwrap().to_string();
                    continue;
                }
                let cols: Vec<&str> = line.split_whitespace().collect();
                let (Some(Ok(lineno)), Some(Ok(hits)), Some(Ok(time))) = (
                    cols.first().map(|c| c.parse::<u32>()),
                    cols.get(1).map(|c| c.parse::<u64>()),
                    cols.get(2).map(|c| c.parse::<f64>()),
                ) else {
                    continue;
                };
                let f = stats
                    .functions
                    .iter()
                    .find(|f| f.name == function)
                    .unwrap_or_else(|| panic!("{ctx}: {function}"));
                let &(_, h, t) = f
                    .lines
                    .iter()
                    .find(|l| l.0 == lineno)
                    .unwrap_or_else(|| panic!("{ctx}: {function}:{lineno}"));
                assert_eq!(h, hits, "{ctx} {function}:{lineno}");
                assert!(
                    (t as f64 * stats.unit / 1e-6 - time).abs() <= 0.051,
                    "{ctx} {function}:{lineno}: {t} vs {time}"
                );
                checked += 1;
            }
            assert!(checked >= 10, "{ctx}: only {checked} report lines checked");
            // Through the generic loader: sniffed, one stack per line, the total in seconds.
            let p = profile::load(&lprof, None).unwrap();
            assert_eq!(p.meta.format, Format::Lprof, "{ctx}");
            let total: f64 = stats
                .functions
                .iter()
                .flat_map(|f| &f.lines)
                .map(|l| l.2 as f64)
                .sum::<f64>()
                * stats.unit;
            assert!(close(p.total(), total), "{ctx}");
            assert_eq!(p.line_hits.len(), p.stacks.len(), "{ctx}");
        }
    }
    assert!(files >= 9, "{files} .lprof fixtures");
}

/// line_profiler's text report read back (`python -m line_profiler FILE.lprof > report.txt`, every version):
/// the same functions, files and hits as the `.lprof`, times to the report's 0.1 of its unit; damage is refused
/// with the line.
#[test]
fn lprof_text_reports_read_back_to_the_dumps_numbers() {
    let root = crate::common::root().join("tests/fixtures/profile/lprof");
    let mut checked = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        for name in ["prog", "prog_p"] {
            let (bin, txt) = (
                dir.join(format!("{name}.lprof")),
                dir.join(format!("{name}.txt")),
            );
            if !txt.exists() {
                continue;
            }
            let ctx = txt.display().to_string();
            let dump = profile::lprof::parse(&std::fs::read(&bin).unwrap()).unwrap();
            let text = profile::lprof::parse_text(&std::fs::read_to_string(&txt).unwrap())
                .unwrap_or_else(|e| panic!("{ctx}: {e:?}"));
            let timed = |f: &profile::lprof::LineFunction| f.lines.iter().any(|l| l.1 > 0);
            let mut ours: Vec<_> = text.functions.iter().filter(|f| timed(f)).collect();
            let mut theirs: Vec<_> = dump.functions.iter().filter(|f| timed(f)).collect();
            ours.sort_by_key(|f| (f.name.clone(), f.first_line));
            theirs.sort_by_key(|f| (f.name.clone(), f.first_line));
            assert_eq!(ours.len(), theirs.len(), "{ctx}");
            for (a, b) in ours.iter().zip(&theirs) {
                assert_eq!((&a.name, &a.file), (&b.name, &b.file), "{ctx}");
                let hits = |f: &profile::lprof::LineFunction| -> Vec<(u32, u64)> {
                    f.lines
                        .iter()
                        .filter(|l| l.1 > 0)
                        .map(|l| (l.0, l.1))
                        .collect()
                };
                assert_eq!(hits(a), hits(b), "{ctx} {}", a.name);
                for (x, y) in a.lines.iter().zip(b.lines.iter().filter(|l| l.1 > 0)) {
                    let (tx, ty) = (x.2 as f64 * text.unit, y.2 as f64 * dump.unit);
                    assert!(
                        (tx - ty).abs() <= 0.051e-6,
                        "{ctx} {}:{}: {tx} vs {ty}",
                        a.name,
                        x.0
                    );
                }
                checked += 1;
            }
            // Sniffed and loaded like the dump.
            let p = profile::load(&txt, None).unwrap();
            assert_eq!(p.meta.format, Format::Lprof, "{ctx}");
        }
    }
    assert!(checked >= 40, "{checked} functions checked");
    // Without the source at hand line_profiler leaves out `File:`/`Function:`; the `-m` summary names them.
    let report = "Timer unit: 1e-06 s\n\nTotal time: 0.8 s\n\nCould not find file a.py\n\nLine #      Hits         Time  Per Hit   % Time  Line Contents\n==============================================================\n    15                                           \n    17    200000     261729.9      1.3     33.8  \n\n  0.80 seconds - a.py:15 - normalize\n";
    let st = profile::lprof::parse_text(report).unwrap();
    assert_eq!(st.functions[0].name, "normalize");
    assert_eq!(st.functions[0].file, "a.py");
    assert_eq!(st.functions[0].lines, vec![(17, 200000, 2617299)]);
    // Damage: a mangled function header names its line.
    let bad =
        "Timer unit: 1e-06 s\n\nTotal time: 0.8 s\nFile: a.py\nFunction: normalize at line x\n";
    let e = profile::parse(bad.as_bytes(), Path::new("r.txt"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("r.txt:5:") && e.contains("byte 50"), "{e}");
    assert!(profile::lprof::parse_text("Timer unit: banana\n").is_err());
}

/// Truncated and corrupted `.lprof` files are refused with a byte offset, never a panic.
#[test]
fn lprof_damage_is_refused_with_an_offset() {
    let path = crate::common::root().join("tests/fixtures/profile/lprof/5.1.0/prog.lprof");
    let data = std::fs::read(&path).unwrap();
    for n in 0..data.len() {
        let e = profile::lprof::parse(&data[..n]).unwrap_err();
        assert!(e.offset <= n, "cut at {n}: {e:?}");
    }
    let mut refused = 0;
    for i in 0..data.len() {
        for x in [0x00u8, 0xff, b'.', b'('] {
            let mut d = data.clone();
            d[i] = x;
            if profile::lprof::parse(&d).is_err() {
                refused += 1;
            }
        }
    }
    assert!(refused > data.len(), "{refused}");
    let e = profile::parse(&data[..data.len() - 3], &path, Some(Format::Lprof))
        .unwrap_err()
        .to_string();
    assert!(e.contains("prog.lprof") && e.contains("byte "), "{e}");
}

/// `etlkit profile FILE.lprof`: the hottest functions first, each line with its hits and time per hit, and the
/// line with most of its function's time named.
#[test]
fn lprof_report_shows_hits_and_time_per_hit() {
    let path = crate::common::root().join("tests/fixtures/profile/lprof/5.1.0/prog_p.lprof");
    let p = profile::load(&path, None).unwrap();
    let r = profile::analyze(&p, &profile::Filters::default(), 3, None);
    assert_eq!(r.line_functions.len(), 3);
    assert_eq!(r.line_functions[0].function, "main");
    let fw = r
        .line_functions
        .iter()
        .find(|f| f.function == "Tally.from_words")
        .unwrap();
    let hot = fw
        .lines
        .iter()
        .max_by(|a, b| a.time.total_cmp(&b.time))
        .unwrap();
    assert_eq!((hot.line, hot.hits), (37, 200_000));
    assert!((hot.per_hit * hot.hits as f64 - hot.time).abs() < 1e-9);
    assert!(hot.pct > 90.0);
    let text = profile::view::render_text(&r);
    assert!(
        text.contains("Tally.from_words (lines.py), total"),
        "{text}"
    );
    assert!(text.contains("200000"), "{text}");
    assert!(text.contains("per hit"), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["line_functions"][0]["function"], "main");
}
