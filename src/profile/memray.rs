//! memray's exports (memray's capture files are internal to it; these are the stable outputs it writes
//! for other tools):
//!
//! - `memray stats --json`: run-wide figures (allocations, bytes allocated over the run, the peak, the
//!   allocators used) and the top allocation sites by size and by count as `function:file:line`. No stacks:
//!   the model has frames and [`Profile::memory`] only, and exports are refused.
//! - `memray transform csv`: one row per allocation stack (`allocator,num_allocations,size,tid,
//!   thread_name,stack_trace`, the trace leaf first as `function;file;line|…`). By default these are the
//!   allocations live at the high-water mark (their sizes add up to the peak); with memray's leak or
//!   temporary-allocation options, those instead: the file does not say which. Rows become stacks weighing
//!   their bytes ([`Unit::Bytes`]), so the views and exports show memory by function and line.
//!
//! memray's human-readable `stats` report is recognised and refused with a message naming the two above.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::{
    bad_input, format_error, json_error, json_kind, Format, Frame, FrameId, FrameTable, LineKind,
    LineMemory, Memory, Meta, Profile, Reader, Stack, Unit,
};
use crate::Result;

/// memray's "MB" (its `size_fmt` divides by 1000).
pub const MB: f64 = 1e6;

/// The CSV transform's header, as memray 1.x writes it.
pub const CSV_HEADER: &str = "allocator,num_allocations,size,tid,thread_name,stack_trace";

/// Reads memray's JSON stats and CSV transform.
pub struct MemrayReader;

/// Which memray output a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    StatsJson,
    Csv,
    /// The text report of `memray stats` (refused).
    StatsText,
}

/// Tells memray's outputs apart by their first bytes (and, for JSON, their keys).
pub fn kind(data: &[u8]) -> Option<Kind> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let t = data.trim_ascii_start();
    if t.starts_with(b"{") {
        let head = &data[..data.len().min(64 * 1024)];
        return (memchr::memmem::find(head, b"\"total_bytes_allocated\"").is_some()
            && memchr::memmem::find(head, b"\"top_allocations_by_size\"").is_some())
        .then_some(Kind::StatsJson);
    }
    if data.starts_with(CSV_HEADER.as_bytes())
        && matches!(data.get(CSV_HEADER.len()), None | Some(b'\n' | b'\r'))
    {
        return Some(Kind::Csv);
    }
    // The report starts with an emoji and "Total allocations:" (no colour codes when not a terminal).
    let head = &t[..t.len().min(64)];
    (memchr::memmem::find(head, b"Total allocations:").is_some()).then_some(Kind::StatsText)
}

impl Reader for MemrayReader {
    fn format(&self) -> Format {
        Format::Memray
    }

    fn sniff(&self, data: &[u8]) -> bool {
        kind(data).is_some()
    }

    fn read(&self, data: &[u8], path: &Path) -> Result<Profile> {
        match kind(data) {
            Some(Kind::Csv) => read_csv(data, path),
            Some(Kind::StatsText) => Err(format_error(
                path,
                "this is memray's text report, which rounds its figures; etlkit reads memray's JSON \
                 stats (the stats command's JSON output) and its CSV transform",
            )),
            // Forced or sniffed JSON: the parser says what is wrong with it.
            Some(Kind::StatsJson) | None if data.trim_ascii_start().starts_with(b"{") => {
                read_stats(data, path)
            }
            _ => Err(bad_input(
                path,
                data,
                0,
                format!(
                    "not a memray export: expected memray's JSON stats or its CSV transform (header \
                     `{CSV_HEADER}`)"
                ),
            )),
        }
    }
}

// ------------------------------------------------------------------------------------------ stats JSON

/// The parts of `memray stats --json` etlkit uses.
#[derive(Debug, Deserialize)]
pub struct Stats<'a> {
    pub total_num_allocations: u64,
    pub total_bytes_allocated: u64,
    #[serde(default, borrow)]
    pub allocator_type_distribution: HashMap<Cow<'a, str>, u64>,
    #[serde(borrow)]
    pub top_allocations_by_size: Vec<SiteSize<'a>>,
    #[serde(borrow)]
    pub top_allocations_by_count: Vec<SiteCount<'a>>,
    #[serde(borrow)]
    pub metadata: StatsMeta<'a>,
}

#[derive(Debug, Deserialize)]
pub struct SiteSize<'a> {
    #[serde(borrow)]
    pub location: Cow<'a, str>,
    pub size: u64,
}

#[derive(Debug, Deserialize)]
pub struct SiteCount<'a> {
    #[serde(borrow)]
    pub location: Cow<'a, str>,
    pub count: u64,
}

#[derive(Debug, Deserialize)]
pub struct StatsMeta<'a> {
    pub peak_memory: u64,
    #[serde(default, borrow)]
    pub command_line: Option<Cow<'a, str>>,
}

/// A location as memray's stats print it: `function:file:line`, or `<stack trace unavailable>`.
/// memray itself splits the function off at the first colon and the line at the last.
pub fn parse_location(s: &str) -> Option<Frame> {
    if s == "<stack trace unavailable>" {
        return Some(Frame::new(s, "", None));
    }
    let (function, rest) = s.split_once(':')?;
    let (file, line) = rest.rsplit_once(':')?;
    let line: u32 = line.parse().ok()?;
    Some(Frame::new(function, file, (line > 0).then_some(line)))
}

fn read_stats(data: &[u8], path: &Path) -> Result<Profile> {
    let s: Stats = serde_json::from_slice(data)
        .map_err(|e| json_error(path, data, &e, "not memray's JSON stats", explain))?;
    let mut table = FrameTable::default();
    let total = s.total_bytes_allocated as f64;
    let site = |table: &mut FrameTable, list: &str, i: usize, loc: &str| -> Result<FrameId> {
        let f = parse_location(loc).ok_or_else(|| {
            format_error(
                path,
                format!(
                    "not memray's JSON stats: {list}[{i}].location: {loc:?} is not \
                     FUNCTION:FILE:LINE"
                ),
            )
        })?;
        Ok(table.intern(f))
    };
    let row = |frame, bytes: Option<u64>, count: Option<u64>| LineMemory {
        frame,
        allocated_bytes: bytes.map(|b| b as f64),
        allocations: count,
        peak_bytes: None,
        average_bytes: None,
        copy_bytes_per_s: None,
        share: bytes.map(|b| if total > 0.0 { b as f64 / total } else { 0.0 }),
        python_fraction: None,
        cpu: None,
        source: None,
    };
    let mut by_size = Vec::new();
    for (i, x) in s.top_allocations_by_size.iter().enumerate() {
        let id = site(&mut table, "top_allocations_by_size", i, &x.location)?;
        by_size.push((id, x.size));
    }
    let mut by_count = Vec::new();
    for (i, x) in s.top_allocations_by_count.iter().enumerate() {
        let id = site(&mut table, "top_allocations_by_count", i, &x.location)?;
        by_count.push((id, x.count));
    }
    // A site in both lists gets both figures.
    let count_of = |id: FrameId| by_count.iter().find(|c| c.0 == id).map(|c| c.1);
    let size_of = |id: FrameId| by_size.iter().find(|c| c.0 == id).map(|c| c.1);
    let lines = by_size
        .iter()
        .map(|&(id, b)| row(id, Some(b), count_of(id)))
        .collect();
    let by_count_rows = by_count
        .iter()
        .map(|&(id, n)| row(id, size_of(id), Some(n)))
        .collect();
    let mut allocators: Vec<(String, u64)> = s
        .allocator_type_distribution
        .iter()
        .map(|(k, &v)| (k.to_string(), v))
        .collect();
    allocators.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut notes = vec![STATS_NOTE.to_string()];
    if let Some(c) = &s.metadata.command_line {
        notes.push(format!("command: {c}"));
    }
    let mut p = Profile::new(Meta {
        format: Format::Memray,
        tool: "memray".into(),
        unit: Unit::Bytes,
        line_kind: LineKind::Executing,
        notes,
    });
    p.frames = table.into_frames();
    p.memory = Some(Memory {
        measure: "bytes allocated at each site over the whole run (memray stats)".into(),
        mb: MB,
        peak_bytes: Some(s.metadata.peak_memory as f64),
        peak_at: None,
        allocated_bytes: Some(total),
        allocations: Some(s.total_num_allocations),
        allocators,
        lines,
        functions: Vec::new(),
        by_count: by_count_rows,
    });
    Ok(p)
}

/// What a reader of a memray stats report should know.
pub const STATS_NOTE: &str = "memray stats: the top allocation sites count every allocation of the run \
     (freed or not), so they can add up to more than the peak; the file has no stacks, so there is nothing \
     to draw: memray's CSV transform of the same capture gives the stacks";

/// Names the field of a value of the wrong type.
fn explain(v: &Value) -> Option<String> {
    let Value::Object(top) = v else {
        return Some(format!(
            "expected an object at the top, found {}",
            json_kind(v)
        ));
    };
    let uint = |m: &serde_json::Map<String, Value>, key: &str, path: &str| match m.get(key) {
        None => Some(format!("{path}{key}: missing")),
        Some(Value::Number(n)) if n.as_u64().is_some() => None,
        Some(x) => Some(format!(
            "{path}{key}: expected a non-negative integer, found {}",
            match x {
                Value::Number(n) => n.to_string(),
                _ => json_kind(x).to_string(),
            }
        )),
    };
    if let Some(e) =
        uint(top, "total_num_allocations", "").or_else(|| uint(top, "total_bytes_allocated", ""))
    {
        return Some(e);
    }
    match top.get("metadata") {
        Some(Value::Object(m)) => {
            if let Some(e) = uint(m, "peak_memory", "metadata.") {
                return Some(e);
            }
            if let Some(x) = m
                .get("command_line")
                .filter(|x| !x.is_string() && !x.is_null())
            {
                return Some(format!(
                    "metadata.command_line: expected a string, found {}",
                    json_kind(x)
                ));
            }
        }
        None => return Some("metadata: missing".into()),
        Some(x) => {
            return Some(format!(
                "metadata: expected an object, found {}",
                json_kind(x)
            ))
        }
    }
    match top.get("allocator_type_distribution") {
        None => {}
        Some(Value::Object(m)) => {
            for k in m.keys() {
                if let Some(e) = uint(m, k, "allocator_type_distribution.") {
                    return Some(e);
                }
            }
        }
        Some(x) => {
            return Some(format!(
                "allocator_type_distribution: expected an object, found {}",
                json_kind(x)
            ))
        }
    }
    for (list, field) in [
        ("top_allocations_by_size", "size"),
        ("top_allocations_by_count", "count"),
    ] {
        let items = match top.get(list) {
            Some(Value::Array(a)) => a,
            None => return Some(format!("{list}: missing")),
            Some(x) => return Some(format!("{list}: expected an array, found {}", json_kind(x))),
        };
        for (i, x) in items.iter().enumerate() {
            let p = format!("{list}[{i}].");
            let Value::Object(x) = x else {
                return Some(format!(
                    "{list}[{i}]: expected an object, found {}",
                    json_kind(x)
                ));
            };
            match x.get("location") {
                Some(Value::String(_)) => {}
                None => return Some(format!("{p}location: missing")),
                Some(l) => {
                    return Some(format!(
                        "{p}location: expected a string, found {}",
                        json_kind(l)
                    ))
                }
            }
            if let Some(e) = uint(x, field, &p) {
                return Some(e);
            }
        }
    }
    None
}

// ------------------------------------------------------------------------------------------ CSV

/// The frame of an empty stack trace (an allocation memray saw no Python frame for).
const NO_STACK: &str = "<stack trace unavailable>";

/// Parses one `function;file;line` frame of a CSV stack trace. Paths may hold `;`: the function ends at
/// the first, the line starts after the last.
fn parse_frame(s: &str) -> Option<Frame> {
    let (function, rest) = s.split_once(';')?;
    let (file, line) = rest.rsplit_once(';')?;
    let line: i64 = line.trim().parse().ok()?;
    Some(Frame::new(
        function,
        file,
        u32::try_from(line).ok().filter(|&l| l > 0),
    ))
}

fn read_csv(data: &[u8], path: &Path) -> Result<Profile> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(data);
    let at = |pos: Option<&csv::Position>| pos.map_or(0, |p| p.byte() as usize);
    let headers = rdr
        .byte_headers()
        .map_err(|e| bad_input(path, data, at(e.position()), format!("CSV: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name.as_bytes());
    let (Some(c_alloc), Some(c_n), Some(c_size), Some(c_tid), Some(c_thread), Some(c_stack)) = (
        col("allocator"),
        col("num_allocations"),
        col("size"),
        col("tid"),
        col("thread_name"),
        col("stack_trace"),
    ) else {
        return Err(bad_input(
            path,
            data,
            0,
            format!("not memray's CSV transform: the header must be `{CSV_HEADER}`"),
        ));
    };
    struct Row {
        allocator: String,
        n: u64,
        size: u64,
        tid: String,
        thread: String,
        frames: Vec<FrameId>,
    }
    let mut table = FrameTable::default();
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let more = rdr
            .read_byte_record(&mut record)
            .map_err(|e| bad_input(path, data, at(e.position()), format!("CSV: {e}")))?;
        if !more {
            break;
        }
        let offset = at(record.position());
        let row_no = record.position().map_or(0, |p| p.line());
        let field = |i: usize, name: &str| -> Result<&str> {
            let b = record.get(i).ok_or_else(|| {
                bad_input(
                    path,
                    data,
                    offset,
                    format!("row {row_no}: no `{name}` column"),
                )
            })?;
            std::str::from_utf8(b).map_err(|_| {
                bad_input(
                    path,
                    data,
                    offset,
                    format!("row {row_no}, {name}: not UTF-8"),
                )
            })
        };
        let uint = |i: usize, name: &str| -> Result<u64> {
            let s = field(i, name)?;
            s.parse().map_err(|_| {
                bad_input(
                    path,
                    data,
                    offset,
                    format!("row {row_no}, {name}: expected a non-negative integer, found {s:?}"),
                )
            })
        };
        let n = uint(c_n, "num_allocations")?;
        let size = uint(c_size, "size")?;
        let trace = field(c_stack, "stack_trace")?;
        let mut frames = Vec::new();
        if trace.is_empty() {
            frames.push(table.intern(Frame::new(NO_STACK, "", None)));
        } else {
            // Leaf first in the file; root first in the model.
            for f in trace.rsplit('|') {
                let frame = parse_frame(f).ok_or_else(|| {
                    bad_input(
                        path,
                        data,
                        offset,
                        format!("row {row_no}, stack_trace: frame {f:?} is not FUNCTION;FILE;LINE"),
                    )
                })?;
                frames.push(table.intern(frame));
            }
        }
        rows.push(Row {
            allocator: field(c_alloc, "allocator")?.to_string(),
            n,
            size,
            tid: field(c_tid, "tid")?.to_string(),
            thread: field(c_thread, "thread_name")?.to_string(),
            frames,
        });
    }
    // Thread roots only when there are several threads (py-spy's `thread (ID): NAME` shape).
    let mut tids: Vec<&str> = rows.iter().map(|r| r.tid.as_str()).collect();
    tids.sort_unstable();
    tids.dedup();
    let threaded = tids.len() > 1;
    let mut stacks: Vec<Stack> = Vec::new();
    let mut index: HashMap<Vec<FrameId>, usize> = HashMap::new();
    let mut per_line: HashMap<FrameId, (u64, u64)> = HashMap::new();
    let mut allocators: HashMap<String, u64> = HashMap::new();
    let (mut total, mut count) = (0u64, 0u64);
    for r in &rows {
        let mut frames = Vec::with_capacity(r.frames.len() + 1);
        if threaded {
            // memray writes `0x1 (MainThread)` or `0x1`.
            let name = r
                .thread
                .split_once(" (")
                .and_then(|(_, n)| n.strip_suffix(')'))
                .unwrap_or(&r.thread);
            frames.push(table.intern(Frame::new(format!("thread ({}): {name}", r.tid), "", None)));
        }
        frames.extend(&r.frames);
        // Sums past u64 are no allocation a process made: refuse rather than wrap.
        total = total.checked_add(r.size).ok_or_else(|| {
            format_error(
                path,
                "not memray's CSV transform: the sizes add up past 2^64 bytes",
            )
        })?;
        count = count.saturating_add(r.n);
        let a = allocators.entry(r.allocator.clone()).or_default();
        *a = a.saturating_add(r.n);
        if let Some(&leaf) = r.frames.last() {
            let e = per_line.entry(leaf).or_default();
            e.0 += r.size;
            e.1 = e.1.saturating_add(r.n);
        }
        match index.get(&frames) {
            Some(&i) => stacks[i].weight += r.size as f64,
            None => {
                index.insert(frames.clone(), stacks.len());
                stacks.push(Stack {
                    frames,
                    weight: r.size as f64,
                });
            }
        }
    }
    let total_f = total as f64;
    let mut lines: Vec<LineMemory> = per_line
        .into_iter()
        .map(|(frame, (bytes, n))| LineMemory {
            frame,
            allocated_bytes: Some(bytes as f64),
            allocations: Some(n),
            peak_bytes: None,
            average_bytes: None,
            copy_bytes_per_s: None,
            share: Some(if total > 0 {
                bytes as f64 / total_f
            } else {
                0.0
            }),
            python_fraction: None,
            cpu: None,
            source: None,
        })
        .collect();
    lines.sort_by(|a, b| {
        b.allocated_bytes
            .partial_cmp(&a.allocated_bytes)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.frame.cmp(&b.frame))
    });
    let mut allocators: Vec<(String, u64)> = allocators.into_iter().collect();
    allocators.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut p = Profile::new(Meta {
        format: Format::Memray,
        tool: "memray".into(),
        unit: Unit::Bytes,
        line_kind: LineKind::Executing,
        notes: vec![CSV_NOTE.into()],
    });
    p.frames = table.into_frames();
    p.stacks = stacks;
    p.memory = Some(Memory {
        measure:
            "bytes of the allocations in memray's CSV transform (by default those live at the \
                  high-water mark)"
                .into(),
        mb: MB,
        peak_bytes: None,
        peak_at: None,
        allocated_bytes: Some(total_f),
        allocations: Some(count),
        allocators,
        lines,
        functions: Vec::new(),
        by_count: Vec::new(),
    });
    Ok(p)
}

/// What a reader of a memray CSV report should know.
pub const CSV_NOTE: &str = "memray CSV: weights are bytes of the allocations memray's transform listed; \
     by default those live at the high-water mark (they add up to the peak), unless the transform was asked \
     for leaked or temporary allocations, which the file does not record";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_frames_split_like_memray() {
        let f = parse_location("read_data:lines.py:59").unwrap();
        assert_eq!(
            (f.function.as_str(), f.file.as_str(), f.line),
            ("read_data", "lines.py", Some(59))
        );
        // A colon in the file (a Windows path) stays in the file.
        let f = parse_location("f:C:\\x\\a.py:3").unwrap();
        assert_eq!((f.file.as_str(), f.line), ("C:\\x\\a.py", Some(3)));
        assert_eq!(
            parse_location("<stack trace unavailable>").unwrap().file,
            ""
        );
        assert!(parse_location("f:a.py:x").is_none());
        let f = parse_frame("f;/a;b/c.py;12").unwrap();
        assert_eq!(
            (f.function.as_str(), f.file.as_str(), f.line),
            ("f", "/a;b/c.py", Some(12))
        );
        assert_eq!(parse_frame("f;<frozen x>;0").unwrap().line, None);
        assert!(parse_frame("f;12").is_none());
    }

    #[test]
    fn csv_rows_become_root_first_stacks_in_bytes() {
        let csv = format!(
            "{CSV_HEADER}\nMALLOC,2,100,1,0x1 (Main),leaf;a.py;3|main;a.py;9\n\
             MMAP,1,50,2,0x2,leaf;a.py;3|main;a.py;9\nMALLOC,1,7,1,0x1 (Main),\n"
        );
        let p = read_csv(csv.as_bytes(), Path::new("a.csv")).unwrap();
        assert_eq!(p.meta.unit, Unit::Bytes);
        assert_eq!(p.total(), 157.0);
        let names = |s: &Stack| -> Vec<String> {
            s.frames
                .iter()
                .map(|&f| p.frames[f as usize].function.clone())
                .collect()
        };
        assert_eq!(names(&p.stacks[0]), ["thread (1): Main", "main", "leaf"]);
        assert_eq!(names(&p.stacks[1]), ["thread (2): 0x2", "main", "leaf"]);
        assert_eq!(names(&p.stacks[2]), ["thread (1): Main", NO_STACK]);
        let m = p.memory.unwrap();
        assert_eq!(m.allocations, Some(4));
        assert_eq!(
            m.allocators,
            [("MALLOC".to_string(), 3), ("MMAP".to_string(), 1)]
        );
        assert_eq!(m.lines[0].allocated_bytes, Some(150.0));
        assert_eq!(m.lines[0].allocations, Some(3));
    }

    #[test]
    fn damaged_csv_rows_name_row_field_and_byte() {
        let good = format!("{CSV_HEADER}\nMALLOC,2,100,1,0x1,leaf;a.py;3\n");
        for (bad, want) in [
            (
                good.replace(",100,", ",-5,"),
                "row 2, size: expected a non-negative integer",
            ),
            (
                good.replace("leaf;a.py;3", "leaf"),
                "row 2, stack_trace: frame \"leaf\"",
            ),
            (good.replace(",1,0x1", ",1"), "CSV: "),
        ] {
            let e = MemrayReader
                .read(bad.as_bytes(), Path::new("a.csv"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e}");
            assert!(e.contains(&format!("byte {}", CSV_HEADER.len() + 1)), "{e}");
        }
    }

    #[test]
    fn the_text_report_is_refused_with_what_to_use() {
        let e = MemrayReader
            .read(
                "📏 Total allocations:\n\t376\n".as_bytes(),
                Path::new("s.txt"),
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("text report") && e.contains("CSV transform"),
            "{e}"
        );
    }
}
