//! Scalene's JSON profile (`scalene --json`, `scalene run -o FILE.json`; see `scalene/scalene_json.py`).
//!
//! Per file, Scalene lists every line of the source with its CPU split (`n_cpu_percent_python`,
//! `n_cpu_percent_c`, `n_sys_percent`: percentages of all CPU samples of the run, adding up to 100 over
//! the files) and memory figures (`n_peak_mb`, `n_avg_mb`, `n_malloc_mb`, `n_mallocs`, `n_copy_mb_s`,
//! `n_usage_fraction`, `n_python_fraction`; Scalene's MB are MiB), and per function the same figures.
//!
//! The model: one single-frame stack per line with CPU time (function, file, line), weighing
//! `(python + native + system) % × elapsed / 100` seconds, as line_profiler's lines are; and
//! [`Profile::memory`] with every line and function that has a non-zero figure. A line's function is the
//! innermost function record whose range holds it (ranges come from the lines' `start_function_line` /
//! `end_function_line`, written by Scalene 2.x), `<module>` otherwise.
//!
//! The document is deserialised into borrowed structs (unknown keys, including the stack traces that make
//! up most of a file, are skipped unparsed into values); only when that fails on a value of the wrong type
//! is it walked again as a tree, to name the field.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::{
    format_error, json_error, json_kind, CpuSplit, Format, Frame, FrameId, FrameTable, LineKind,
    LineMemory, Memory, Meta, Profile, Reader, Stack, Unit,
};
use crate::Result;

/// Scalene's "MB".
pub const MIB: f64 = 1024.0 * 1024.0;

/// Reads Scalene JSON profiles.
pub struct ScaleneReader;

impl Reader for ScaleneReader {
    fn format(&self) -> Format {
        Format::Scalene
    }

    /// A JSON object with Scalene's top-level keys. Scalene sorts its keys, so `elapsed_time_sec` comes
    /// after the stack traces: the whole document is searched (memmem runs at memory speed).
    fn sniff(&self, data: &[u8]) -> bool {
        data.trim_ascii_start().starts_with(b"{")
            && memchr::memmem::find(data, b"\"max_footprint_mb\"").is_some()
            && memchr::memmem::find(data, b"\"elapsed_time_sec\"").is_some()
    }

    fn read(&self, data: &[u8], path: &Path) -> Result<Profile> {
        let doc: Doc = serde_json::from_slice(data)
            .map_err(|e| json_error(path, data, &e, "not a Scalene profile", explain))?;
        to_profile(&doc).map_err(|m| format_error(path, format!("not a Scalene profile: {m}")))
    }
}

/// The parts of Scalene's document etlkit uses.
#[derive(Debug, Deserialize)]
pub struct Doc<'a> {
    pub elapsed_time_sec: f64,
    #[serde(default)]
    pub max_footprint_mb: Option<f64>,
    #[serde(default, borrow)]
    pub max_footprint_fname: Option<Cow<'a, str>>,
    #[serde(default)]
    pub max_footprint_lineno: Option<u32>,
    /// In the document's order (Scalene lists the files by CPU time, most first).
    #[serde(borrow, deserialize_with = "ordered")]
    pub files: Vec<(Cow<'a, str>, FileDoc<'a>)>,
}

/// One profiled file.
#[derive(Debug, Deserialize)]
pub struct FileDoc<'a> {
    #[serde(borrow)]
    pub lines: Vec<LineDoc<'a>>,
    #[serde(default, borrow)]
    pub functions: Vec<LineDoc<'a>>,
    #[serde(default)]
    pub percent_cpu_time: Option<f64>,
}

/// One line (or function: `line` is then its name and `lineno` its first line) with Scalene's figures.
#[derive(Debug, Deserialize)]
pub struct LineDoc<'a> {
    pub lineno: u32,
    #[serde(default, borrow)]
    pub line: Cow<'a, str>,
    pub n_cpu_percent_python: f64,
    pub n_cpu_percent_c: f64,
    #[serde(default)]
    pub n_sys_percent: f64,
    #[serde(default)]
    pub n_peak_mb: Option<f64>,
    /// Scalene before `n_peak_mb` (still written, as a copy of it).
    #[serde(default)]
    pub n_growth_mb: Option<f64>,
    #[serde(default)]
    pub n_avg_mb: f64,
    #[serde(default)]
    pub n_malloc_mb: f64,
    #[serde(default)]
    pub n_mallocs: u64,
    #[serde(default)]
    pub n_copy_mb_s: f64,
    #[serde(default)]
    pub n_usage_fraction: f64,
    #[serde(default)]
    pub n_python_fraction: f64,
    #[serde(default)]
    pub start_function_line: u32,
    #[serde(default)]
    pub end_function_line: u32,
}

impl LineDoc<'_> {
    fn peak_mb(&self) -> f64 {
        self.n_peak_mb.or(self.n_growth_mb).unwrap_or(0.0)
    }

    fn cpu_pct(&self) -> f64 {
        self.n_cpu_percent_python + self.n_cpu_percent_c + self.n_sys_percent
    }

    fn is_zero(&self) -> bool {
        self.cpu_pct() == 0.0
            && self.peak_mb() == 0.0
            && self.n_avg_mb == 0.0
            && self.n_malloc_mb == 0.0
            && self.n_mallocs == 0
            && self.n_copy_mb_s == 0.0
    }

    fn numbers(&self) -> [(&'static str, f64); 10] {
        [
            ("n_cpu_percent_python", self.n_cpu_percent_python),
            ("n_cpu_percent_c", self.n_cpu_percent_c),
            ("n_sys_percent", self.n_sys_percent),
            ("n_peak_mb", self.peak_mb()),
            ("n_avg_mb", self.n_avg_mb),
            ("n_malloc_mb", self.n_malloc_mb),
            ("n_copy_mb_s", self.n_copy_mb_s),
            ("n_usage_fraction", self.n_usage_fraction),
            ("n_python_fraction", self.n_python_fraction),
            ("n_mallocs", self.n_mallocs as f64),
        ]
    }

    fn memory(&self, frame: FrameId) -> LineMemory {
        LineMemory {
            frame,
            allocated_bytes: Some(self.n_malloc_mb * MIB),
            allocations: Some(self.n_mallocs),
            peak_bytes: Some(self.peak_mb() * MIB),
            average_bytes: Some(self.n_avg_mb * MIB),
            copy_bytes_per_s: Some(self.n_copy_mb_s * MIB),
            share: Some(self.n_usage_fraction),
            python_fraction: Some(self.n_python_fraction),
            cpu: Some(CpuSplit {
                python_pct: self.n_cpu_percent_python,
                native_pct: self.n_cpu_percent_c,
                system_pct: self.n_sys_percent,
            }),
            source: None,
        }
    }
}

/// A JSON object as a list of (key, value) in the document's order.
fn ordered<'de, D, K, V>(d: D) -> std::result::Result<Vec<(K, V)>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
{
    struct Ordered<K, V>(PhantomData<(K, V)>);
    impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Ordered<K, V> {
        type Value = Vec<(K, V)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut m: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut v = Vec::with_capacity(m.size_hint().unwrap_or(0).min(1024));
            while let Some(e) = m.next_entry()? {
                v.push(e);
            }
            Ok(v)
        }
    }
    d.deserialize_map(Ordered(PhantomData))
}

/// Scalene escapes `&`, `<` and `>` in source lines as the text `\u0026`, `\u003c`, `\u003e` (its GUI
/// unescapes them).
fn unescape(line: &str) -> String {
    let line = line.trim_end_matches(['\n', '\r']);
    if !line.contains("\\u00") {
        return line.to_string();
    }
    line.replace("\\u0026", "&")
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
}

/// Names the function of each line of one file: the innermost function record whose range holds it.
struct FunctionMap<'d> {
    /// (first line, last line or u32::MAX when Scalene gave no range, name), by first line.
    ranges: Vec<(u32, u32, &'d str)>,
}

impl<'d> FunctionMap<'d> {
    fn new(file: &'d FileDoc<'d>) -> Self {
        // Scalene 2.x gives each line its function's range; earlier versions give none.
        let has_ranges = file.lines.iter().any(|l| l.start_function_line > 0);
        // The `def` lines (a line that starts its own function) with their last line, by line: looked
        // up by binary search, as a big program has thousands of functions.
        let mut defs: Vec<(u32, u32)> = file
            .lines
            .iter()
            .filter(|l| l.start_function_line == l.lineno)
            .map(|l| (l.lineno, l.end_function_line.max(l.lineno)))
            .collect();
        defs.sort_unstable();
        let mut ranges: Vec<(u32, u32, &str)> = file
            .functions
            .iter()
            .map(|f| {
                // A function record's line is `co_firstlineno`: its first decorator when it has any, so
                // the range is that of the first `def` at or after it.
                let end = if has_ranges {
                    let i = defs.partition_point(|d| d.0 < f.lineno);
                    defs.get(i)
                        .filter(|d| d.0 - f.lineno <= MAX_DECORATOR_LINES)
                        .map_or(f.lineno, |d| d.1)
                } else {
                    u32::MAX
                };
                (f.lineno, end, f.line.as_ref())
            })
            .collect();
        ranges.sort_by_key(|r| r.0);
        if !has_ranges {
            // Without ranges a function is taken to run to the next one (nested functions and module code
            // after the last function cannot be told apart then).
            for i in 1..ranges.len() {
                ranges[i - 1].1 = ranges[i].0.saturating_sub(1).max(ranges[i - 1].0);
            }
        }
        FunctionMap { ranges }
    }

    fn name(&self, line: u32) -> &'d str {
        // The innermost holder starts last among those starting at or before the line.
        let before = self.ranges.partition_point(|r| r.0 <= line);
        self.ranges[..before]
            .iter()
            .rev()
            .find(|&&(_, last, _)| line <= last)
            .map_or("<module>", |r| r.2)
    }
}

/// How far a function record's first line (its first decorator) may be from its `def`.
const MAX_DECORATOR_LINES: u32 = 64;

/// Checks the figures a view would trust (non-negative, finite), naming the field of the first bad one.
fn check(file: &str, what: &str, i: usize, l: &LineDoc) -> std::result::Result<(), String> {
    for (name, v) in l.numbers() {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!(
                "files[{file:?}].{what}[{i}].{name}: {v} is not a non-negative number"
            ));
        }
    }
    Ok(())
}

/// Builds the model (see the module documentation).
pub fn to_profile(doc: &Doc) -> std::result::Result<Profile, String> {
    if !(doc.elapsed_time_sec.is_finite() && doc.elapsed_time_sec >= 0.0) {
        return Err(format!(
            "elapsed_time_sec: {} is not a non-negative number",
            doc.elapsed_time_sec
        ));
    }
    let mut table = FrameTable::default();
    let mut stacks = Vec::new();
    let mut lines = Vec::new();
    let mut functions = Vec::new();
    let mut allocated = 0.0;
    let mut peak_at = None;
    for (file, fd) in &doc.files {
        let names = FunctionMap::new(fd);
        for (i, l) in fd.lines.iter().enumerate() {
            check(file, "lines", i, l)?;
            if l.is_zero() {
                continue;
            }
            let id = table.intern(Frame::new(
                names.name(l.lineno),
                file.as_ref(),
                Some(l.lineno),
            ));
            let seconds = l.cpu_pct() * doc.elapsed_time_sec / 100.0;
            if !seconds.is_finite() {
                return Err(format!(
                    "files[{file:?}].lines[{i}]: its CPU share of elapsed_time_sec is not a finite time"
                ));
            }
            if seconds > 0.0 {
                stacks.push(Stack {
                    frames: vec![id],
                    weight: seconds,
                });
            }
            allocated += l.n_malloc_mb * MIB;
            let mut m = l.memory(id);
            m.source = Some(unescape(&l.line));
            lines.push(m);
        }
        for (i, f) in fd.functions.iter().enumerate() {
            check(file, "functions", i, f)?;
            let id = table.intern(Frame::new(f.line.as_ref(), file.as_ref(), Some(f.lineno)));
            functions.push(f.memory(id));
        }
        if doc.max_footprint_fname.as_deref() == Some(file.as_ref()) {
            if let Some(n) = doc.max_footprint_lineno {
                peak_at = Some(table.intern(Frame::new(names.name(n), file.as_ref(), Some(n))));
            }
        }
    }
    let peak_bytes = doc.max_footprint_mb.map(|mb| mb * MIB);
    if peak_bytes.is_some_and(|b| !(b.is_finite() && b >= 0.0)) {
        return Err("max_footprint_mb is not a non-negative number".into());
    }
    let mut p = Profile::new(Meta {
        format: Format::Scalene,
        tool: "Scalene".into(),
        unit: Unit::Seconds,
        line_kind: LineKind::Executing,
        notes: vec![SCALENE_NOTE.into()],
    });
    p.frames = table.into_frames();
    p.stacks = stacks;
    p.memory = Some(Memory {
        measure: "Scalene's sampled allocations per line: peak, average and total allocated (MiB)"
            .into(),
        mb: MIB,
        peak_bytes,
        peak_at,
        allocated_bytes: Some(allocated),
        allocations: None,
        allocators: Vec::new(),
        lines,
        functions,
        by_count: Vec::new(),
    });
    Ok(p)
}

/// What a reader of a Scalene report should know.
pub const SCALENE_NOTE: &str = "Scalene samples: a line's time is its share of the CPU samples (Python + \
     native + system) times the run's elapsed time, and a call's line does not include its callee; memory \
     figures come from sampled allocations (MiB), so small allocations are not counted one by one";

/// Names the field of a value of the wrong type (the document is valid JSON but not Scalene's shape).
fn explain(v: &Value) -> Option<String> {
    let found = |v: &Value| json_kind(v);
    let Value::Object(top) = v else {
        return Some(format!("expected an object at the top, found {}", found(v)));
    };
    let number = |m: &serde_json::Map<String, Value>, key: &str, path: &str, required: bool| match m
        .get(key)
    {
        None if required => Some(format!("{path}{key}: missing")),
        None | Some(Value::Number(_)) => None,
        Some(Value::Null) if !required => None,
        Some(x) => Some(format!(
            "{path}{key}: expected a number, found {}",
            found(x)
        )),
    };
    let uint = |m: &serde_json::Map<String, Value>, key: &str, path: &str, required: bool| match m
        .get(key)
    {
        None if required => Some(format!("{path}{key}: missing")),
        None => None,
        Some(Value::Null) if !required => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= u32::MAX as u64) => None,
        Some(x) => Some(format!(
            "{path}{key}: expected a line number (an integer from 0 to 2^32-1), found {}",
            match x {
                Value::Number(n) => n.to_string(),
                _ => found(x).to_string(),
            }
        )),
    };
    let count = |m: &serde_json::Map<String, Value>, key: &str, path: &str| match m.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some() => None,
        Some(x) => Some(format!(
            "{path}{key}: expected a count (a non-negative integer), found {}",
            found(x)
        )),
    };
    if let Some(e) = number(top, "elapsed_time_sec", "", true)
        .or_else(|| number(top, "max_footprint_mb", "", false))
        .or_else(|| uint(top, "max_footprint_lineno", "", false))
    {
        return Some(e);
    }
    match top.get("max_footprint_fname") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(x) => {
            return Some(format!(
                "max_footprint_fname: expected a string, found {}",
                found(x)
            ))
        }
    }
    let files = match top.get("files") {
        Some(Value::Object(f)) => f,
        None => return Some("files: missing".into()),
        Some(x) => return Some(format!("files: expected an object, found {}", found(x))),
    };
    for (name, f) in files {
        let fpath = format!("files[{name:?}]");
        let Value::Object(f) = f else {
            return Some(format!("{fpath}: expected an object, found {}", found(f)));
        };
        if let Some(e) = number(f, "percent_cpu_time", &format!("{fpath}."), false) {
            return Some(e);
        }
        for (list, required) in [("lines", true), ("functions", false)] {
            let items = match f.get(list) {
                Some(Value::Array(a)) => a,
                None if !required => continue,
                None => return Some(format!("{fpath}.{list}: missing")),
                Some(x) => {
                    return Some(format!(
                        "{fpath}.{list}: expected an array, found {}",
                        found(x)
                    ))
                }
            };
            for (i, l) in items.iter().enumerate() {
                let p = format!("{fpath}.{list}[{i}].");
                let Value::Object(l) = l else {
                    return Some(format!("{p}: expected an object, found {}", found(l)));
                };
                let e = uint(l, "lineno", &p, true)
                    .or_else(|| number(l, "n_cpu_percent_python", &p, true))
                    .or_else(|| number(l, "n_cpu_percent_c", &p, true))
                    .or_else(|| {
                        [
                            "n_sys_percent",
                            "n_peak_mb",
                            "n_growth_mb",
                            "n_avg_mb",
                            "n_malloc_mb",
                            "n_copy_mb_s",
                            "n_usage_fraction",
                            "n_python_fraction",
                        ]
                        .iter()
                        .find_map(|k| number(l, k, &p, false))
                    })
                    .or_else(|| count(l, "n_mallocs", &p))
                    .or_else(|| uint(l, "start_function_line", &p, false))
                    .or_else(|| uint(l, "end_function_line", &p, false))
                    .or_else(|| match l.get("line") {
                        None | Some(Value::String(_)) => None,
                        Some(x) => Some(format!("{p}line: expected a string, found {}", found(x))),
                    });
                if e.is_some() {
                    return e;
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(lines: &str, functions: &str) -> String {
        format!(
            r#"{{"elapsed_time_sec": 2.0, "max_footprint_mb": 3.0, "max_footprint_fname": "a.py",
                "max_footprint_lineno": 3, "files": {{"a.py": {{"percent_cpu_time": 100,
                "lines": [{lines}], "functions": [{functions}]}}}}}}"#
        )
    }

    fn line(n: u32, cpu: f64, start: u32, end: u32) -> String {
        format!(
            r#"{{"lineno": {n}, "line": "x\n", "n_cpu_percent_python": {cpu}, "n_cpu_percent_c": 0,
                "n_sys_percent": 0, "n_peak_mb": 0, "n_malloc_mb": 0.5, "n_mallocs": 1,
                "start_function_line": {start}, "end_function_line": {end}}}"#
        )
    }

    fn read(text: &str) -> Result<Profile> {
        ScaleneReader.read(text.as_bytes(), Path::new("s.json"))
    }

    /// Nested functions: a line belongs to the innermost function whose range holds it; lines outside
    /// every function are `<module>`.
    #[test]
    fn lines_are_named_by_the_innermost_function() {
        let lines = [
            line(1, 10.0, 1, 6),
            line(2, 10.0, 2, 4),
            line(3, 10.0, 2, 4),
            line(5, 10.0, 1, 6),
            line(8, 60.0, 0, 0),
        ]
        .join(",");
        let funcs = r#"{"lineno": 1, "line": "outer", "n_cpu_percent_python": 30, "n_cpu_percent_c": 0},
                       {"lineno": 2, "line": "outer.<locals>.inner", "n_cpu_percent_python": 20, "n_cpu_percent_c": 0}"#;
        let p = read(&doc(&lines, funcs)).unwrap();
        let of_stack = |l: u32| {
            p.stacks
                .iter()
                .map(|s| &p.frames[s.frames[0] as usize])
                .find(|f| f.line == Some(l))
                .unwrap()
                .function
                .clone()
        };
        assert_eq!(of_stack(1), "outer");
        assert_eq!(of_stack(3), "outer.<locals>.inner");
        assert_eq!(of_stack(5), "outer");
        assert_eq!(of_stack(8), "<module>");
        // percent x elapsed / 100: 60% of 2 s.
        assert!((p.total() - 2.0).abs() < 1e-12, "{}", p.total());
        let m = p.memory.as_ref().unwrap();
        assert_eq!(m.allocated_bytes, Some(5.0 * 0.5 * MIB));
        assert_eq!(m.peak_bytes, Some(3.0 * MIB));
        let at = &p.frames[m.peak_at.unwrap() as usize];
        assert_eq!(
            (at.function.as_str(), at.line),
            ("outer.<locals>.inner", Some(3))
        );
        assert_eq!(m.functions.len(), 2);
    }

    #[test]
    fn wrong_types_name_the_field_and_syntax_errors_the_byte() {
        let bad = doc(
            &line(1, 1.0, 0, 0).replace("\"n_peak_mb\": 0", "\"n_peak_mb\": \"0\""),
            "",
        );
        let e = read(&bad).unwrap_err().to_string();
        assert!(
            e.contains(r#"files["a.py"].lines[0].n_peak_mb: expected a number, found a string"#),
            "{e}"
        );
        assert!(e.contains("byte "), "{e}");
        let e = read(&doc(&line(1, -1.0, 0, 0), ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("lines[0].n_cpu_percent_python: -1"), "{e}");
        let e = read(&doc(
            &line(1, 1.0, 0, 0).replace("\"lineno\": 1", "\"lineno\": -3"),
            "",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("lines[0].lineno: expected a line number"), "{e}");
        let text = doc(&line(1, 1.0, 0, 0), "");
        let e = read(&text[..text.len() - 5]).unwrap_err().to_string();
        assert!(e.contains("truncated JSON"), "{e}");
        assert!(
            e.contains(&format!("byte {}", text.len() - 5)),
            "{e} (len {})",
            text.len()
        );
        let e = read(r#"{"elapsed_time_sec": 1, "max_footprint_mb": 0}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("files: missing"), "{e}");
    }

    #[test]
    fn source_text_is_unescaped() {
        assert_eq!(unescape("if a \\u003c b \\u0026 c:\n"), "if a < b & c:");
        assert_eq!(unescape("plain\r\n"), "plain");
    }
}
