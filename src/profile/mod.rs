//! Profile ingestion, views, exports and diffs (cProfile/pstats, py-spy raw and speedscope, folded stacks,
//! line_profiler, Scalene, memray).
//!
//! Every reader turns a file into one normalised [`Profile`]: interned [`Frame`]s plus either weighted
//! stacks (sampling profilers: py-spy, folded files, speedscope) or per-function timings with one level of
//! caller edges (cProfile's pstats). Memory profilers (Scalene, memray) also fill [`Profile::memory`], a
//! side-table of per-line figures. Views ([`view`]), exports ([`export`]) and [`diff`]/[`merge`] work on
//! that model and never look at the file format again.

pub mod diff;
pub mod export;
pub mod folded;
pub mod lprof;
mod marshal;
pub mod memray;
pub mod pstats;
pub mod scalene;
pub mod speedscope;
mod stdlib;
pub mod view;

use std::io::Read;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::{Error, Result};

pub use diff::{diff, merge, Diff, DiffRow};
pub use view::{analyze, Filters, Report};

/// Index of a frame in [`Profile::frames`].
pub type FrameId = u32;

/// What a frame stands for. Thread and process frames are roots that py-spy adds with `--threads` and
/// `--subprocesses`; views skip them when ranking functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameKind {
    Python,
    Thread,
    Process,
}

/// One code location: function name, file and line. What `line` means depends on
/// [`Meta::line_kind`] (the executing line for samplers, the function's first line for pstats).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    pub function: String,
    /// Empty when the format gives no file (plain folded stacks from non-Python tools, thread roots).
    pub file: String,
    pub line: Option<u32>,
    pub kind: FrameKind,
}

impl Frame {
    /// A frame with a file and optional line.
    pub fn new(function: impl Into<String>, file: impl Into<String>, line: Option<u32>) -> Self {
        let function = function.into();
        let kind = classify(&function);
        Frame {
            function,
            file: file.into(),
            line,
            kind,
        }
    }

    /// py-spy's rendering, `func (file:line)`, `func (file)` or `func`; [`folded`] parses it back exactly.
    pub fn label(&self) -> String {
        match (self.file.is_empty(), self.line) {
            (true, _) => self.function.clone(),
            (false, Some(l)) => format!("{} ({}:{})", self.function, self.file, l),
            (false, None) => format!("{} ({})", self.function, self.file),
        }
    }
}

/// Recognises the root frames py-spy (raw: `thread (0x7F…): MainThread`, `process 123:"python x.py"`) and
/// speedscope (`Thread 123 "MainThread"`, `Process 9 Thread 9 ""`) use for threads and processes.
fn classify(name: &str) -> FrameKind {
    if name.starts_with("Process ") && name.contains(" Thread ") {
        FrameKind::Process
    } else if name.starts_with("thread (") || name.starts_with("Thread ") {
        FrameKind::Thread
    } else if name.starts_with("process ")
        && name[8..]
            .split(':')
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        FrameKind::Process
    } else {
        FrameKind::Python
    }
}

/// A weighted call stack, root first.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub frames: Vec<FrameId>,
    pub weight: f64,
}

/// pstats' numbers for one function: `cc` primitive (non-recursive) calls, `nc` all calls, `tt` time in
/// the function itself, `ct` cumulative time, in seconds. `cc` is `None` when the tool wrote -1
/// (yappi, pyinstrument).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTiming {
    pub frame: FrameId,
    pub cc: Option<i64>,
    pub nc: i64,
    pub tt: f64,
    pub ct: f64,
    pub callers: Vec<CallerEdge>,
}

/// One caller edge from pstats: the numbers of calls from `caller` into the function, and the time spent
/// in the function on behalf of that caller.
#[derive(Debug, Clone, PartialEq)]
pub struct CallerEdge {
    pub caller: FrameId,
    pub nc: i64,
    pub cc: Option<i64>,
    pub tt: f64,
    pub ct: f64,
}

/// The unit of stack weights and timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Sample counts (py-spy raw, folded files).
    Samples,
    /// Seconds (pstats, py-spy speedscope weights).
    Seconds,
    /// Milliseconds (some speedscope files).
    Milliseconds,
    /// Bytes of memory (memray's CSV transform, speedscope files in `bytes`).
    Bytes,
    /// Any other unit a speedscope file names (`none`, `bytes`, …): weights are shown as plain numbers.
    Other,
}

impl Unit {
    /// Seconds per unit, when the unit is a time.
    pub fn seconds(self) -> Option<f64> {
        match self {
            Unit::Seconds => Some(1.0),
            Unit::Milliseconds => Some(1e-3),
            Unit::Samples | Unit::Bytes | Unit::Other => None,
        }
    }

    /// What the unit measures: weights of two profiles compare only within one kind.
    pub fn kind(self) -> &'static str {
        match self {
            Unit::Seconds | Unit::Milliseconds => "time",
            Unit::Bytes => "memory",
            Unit::Samples | Unit::Other => "counts",
        }
    }
}

/// What the `line` of a frame means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// No line numbers (py-spy `--nolineno`, most folded files).
    None,
    /// The line executing when the sample was taken: hot lines can be shown.
    Executing,
    /// The function's first line (pstats' `firstlineno`): part of the function's identity, not a hot line.
    Definition,
}

/// The file formats etlkit reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// cProfile / pstats marshal dump (`.pstats`, `.prof`).
    Pstats,
    /// Folded stacks (`py-spy --format raw`, inferno/flamegraph.pl collapsed output).
    Folded,
    /// speedscope JSON (sampled and evented profiles).
    Speedscope,
    /// line_profiler's pickled `LineStats` (`kernprof -l`, `.lprof`).
    Lprof,
    /// Scalene's JSON profile (`scalene --json`, `scalene run -o FILE.json`).
    Scalene,
    /// memray's exports: `memray stats --json` and `memray transform csv`.
    Memray,
}

named_values!(Format, "profile format", {
    Pstats => "pstats",
    Folded => "folded",
    Speedscope => "speedscope",
    Lprof => "lprof",
    Scalene => "scalene",
    Memray => "memray",
});

/// Where a profile came from and how to read its numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meta {
    pub format: Format,
    /// The tool that wrote the file as far as can be told (`cProfile`, `py-spy`, `yappi/pyinstrument`, …).
    pub tool: String,
    pub unit: Unit,
    pub line_kind: LineKind,
    /// Caveats a reader of the report should know (e.g. cProfile's overhead on call-heavy code).
    pub notes: Vec<String>,
}

/// A normalised profile. A sampled profile fills `stacks`; a pstats profile fills `timings` (the full call
/// tree cannot be rebuilt from pstats, only one level of caller edges).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub meta: Meta,
    pub frames: Vec<Frame>,
    pub stacks: Vec<Stack>,
    pub timings: Vec<FunctionTiming>,
    /// Exact hits per line (line_profiler): the frame of each line and how many times it ran.
    pub line_hits: Vec<(FrameId, u64)>,
    /// Memory figures (Scalene, memray); `None` for CPU-only formats.
    pub memory: Option<Memory>,
}

/// The memory side of a profile: run-wide figures and per-line (or per-allocation-site) rows. Bytes are
/// plain bytes whatever the tool printed (Scalene's MB are MiB, memray's MB are 10^6 bytes: see `mb`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    /// What the per-line bytes measure (e.g. memory allocated over the run, or live at the peak).
    pub measure: String,
    /// Bytes per "MB" in the tool's own reports (2^20 for Scalene, 10^6 for memray), so reports print the
    /// figures the tool prints.
    pub mb: f64,
    /// The process's peak memory (Scalene's `max_footprint_mb`, memray's `peak_memory`).
    pub peak_bytes: Option<f64>,
    /// The line at the peak (Scalene's `max_footprint_fname`/`max_footprint_lineno`).
    pub peak_at: Option<FrameId>,
    /// Bytes allocated over the run (memray's `total_bytes_allocated`; Scalene: the sum of its lines).
    pub allocated_bytes: Option<f64>,
    /// Number of allocations over the run (memray's `total_num_allocations`).
    pub allocations: Option<u64>,
    /// Allocations per allocator (memray: `MALLOC`, `REALLOC`, …), most used first.
    pub allocators: Vec<(String, u64)>,
    /// Per line (Scalene, memray CSV) or per allocation site, largest first by size (memray stats).
    pub lines: Vec<LineMemory>,
    /// Per function (Scalene's function records; the frame's line is the function's first line).
    pub functions: Vec<LineMemory>,
    /// memray stats' top allocation sites by number of allocations, in memray's order.
    pub by_count: Vec<LineMemory>,
}

/// One line's (or function's, or allocation site's) memory figures; what a tool does not give is `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineMemory {
    pub frame: FrameId,
    /// Bytes allocated (Scalene `n_malloc_mb`, memray `size`).
    pub allocated_bytes: Option<f64>,
    /// Allocations (Scalene `n_mallocs`, sampled; memray counts).
    pub allocations: Option<u64>,
    /// The line's peak (Scalene `n_peak_mb`).
    pub peak_bytes: Option<f64>,
    /// The line's average footprint per allocation (Scalene `n_avg_mb`).
    pub average_bytes: Option<f64>,
    /// Bytes copied per second of the run (Scalene `n_copy_mb_s`).
    pub copy_bytes_per_s: Option<f64>,
    /// Share of all allocated bytes, 0-1 (Scalene `n_usage_fraction`; memray: size over the total).
    pub share: Option<f64>,
    /// Share of the line's allocations made by Python rather than native code, 0-1 (Scalene).
    pub python_fraction: Option<f64>,
    /// CPU split of the line (Scalene).
    pub cpu: Option<CpuSplit>,
    /// The source line as the tool recorded it (Scalene keeps the program's text).
    pub source: Option<String>,
}

/// Scalene's CPU split for a line: percentages of all CPU samples of the run spent in Python, in native
/// code (C extensions, builtins) and in the system (time the process was not on a CPU: I/O, waits).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuSplit {
    pub python_pct: f64,
    pub native_pct: f64,
    pub system_pct: f64,
}

impl CpuSplit {
    /// Python + native + system.
    pub fn total_pct(&self) -> f64 {
        self.python_pct + self.native_pct + self.system_pct
    }
}

/// The note every pstats report carries: deterministic profilers distort call-heavy code.
pub const CPROFILE_NOTE: &str = "cProfile adds a fixed cost to every call, so call-heavy code (many small \
     functions, builtins in loops) looks slower than it is; compare with a sampling profiler (py-spy) before \
     optimising";

impl Profile {
    /// An empty profile.
    pub fn new(meta: Meta) -> Self {
        Profile {
            meta,
            frames: Vec::new(),
            stacks: Vec::new(),
            timings: Vec::new(),
            line_hits: Vec::new(),
            memory: None,
        }
    }

    /// True when the profile holds pstats timings rather than stacks.
    pub fn is_timed(&self) -> bool {
        !self.timings.is_empty() || (self.stacks.is_empty() && self.meta.format == Format::Pstats)
    }

    /// Total weight: the sum of stack weights, or of pstats' `tt` (what pstats prints as the total time).
    pub fn total(&self) -> f64 {
        if self.is_timed() {
            self.timings.iter().map(|t| t.tt).sum()
        } else {
            self.stacks.iter().map(|s| s.weight).sum()
        }
    }
}

/// Interns frames while a reader builds a profile.
///
/// The index maps a frame's hash to the first frame with that hash, and `next` chains the rest, so the
/// strings of a frame are stored once (a line_profiler file can hold millions of frames).
#[derive(Debug, Default)]
pub struct FrameTable {
    frames: Vec<Frame>,
    heads: FxHashMap<u64, FrameId>,
    next: Vec<FrameId>,
}

/// No next frame in a hash chain.
const END: FrameId = FrameId::MAX;

fn frame_hash(frame: &Frame) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    frame.hash(&mut h);
    h.finish()
}

impl FrameTable {
    /// Returns the id of `frame`, adding it when new.
    pub fn intern(&mut self, frame: Frame) -> FrameId {
        let hash = frame_hash(&frame);
        if let Some(&head) = self.heads.get(&hash) {
            let mut cur = head;
            loop {
                if self.frames[cur as usize] == frame {
                    return cur;
                }
                match self.next[cur as usize] {
                    END => break,
                    n => cur = n,
                }
            }
        }
        self.push(hash, frame)
    }

    /// Adds `frame` under a new id at the end of its hash chain.
    fn push(&mut self, hash: u64, frame: Frame) -> FrameId {
        let id = self.frames.len() as FrameId;
        match self.heads.entry(hash) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let mut cur = *e.get();
                while self.next[cur as usize] != END {
                    cur = self.next[cur as usize];
                }
                self.next[cur as usize] = id;
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
            }
        }
        self.frames.push(frame);
        self.next.push(END);
        id
    }

    /// The interned frames, in id order.
    pub fn into_frames(self) -> Vec<Frame> {
        self.frames
    }

    /// Starts from an existing frame list (ids are kept; a repeated frame keeps its first id for lookups).
    pub fn from_frames(frames: Vec<Frame>) -> Self {
        let mut t = FrameTable {
            frames: Vec::with_capacity(frames.len()),
            heads: FxHashMap::default(),
            next: Vec::with_capacity(frames.len()),
        };
        for f in frames {
            t.push(frame_hash(&f), f);
        }
        t
    }
}

/// A profile reader: one per format.
pub trait Reader {
    /// The format this reader handles.
    fn format(&self) -> Format;
    /// True when `data` looks like this format (used to guess the format of a file).
    fn sniff(&self, data: &[u8]) -> bool;
    /// Parses `data` (the content of `path`, which is only used in error messages).
    fn read(&self, data: &[u8], path: &Path) -> Result<Profile>;
}

/// The readers, in the order their sniffers are tried (most specific first).
pub fn readers() -> [&'static dyn Reader; 6] {
    [
        &pstats::PstatsReader,
        &lprof::LprofReader,
        // Both JSON formats before speedscope, memray's CSV before folded (its header is no folded line,
        // but its rows could be).
        &scalene::ScaleneReader,
        &memray::MemrayReader,
        &speedscope::SpeedscopeReader,
        &folded::FoldedReader,
    ]
}

/// Guesses the format of `data` from its content.
pub fn sniff(data: &[u8]) -> Option<Format> {
    readers()
        .into_iter()
        .find(|r| r.sniff(data))
        .map(|r| r.format())
}

/// Parses profile bytes; `format` forces a reader, otherwise the format is guessed. Gzip-compressed
/// input (`.gz`) is decompressed first.
pub fn parse(data: &[u8], path: &Path, format: Option<Format>) -> Result<Profile> {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|e| Error::Format {
                path: path.to_path_buf(),
                message: format!("cannot decompress gzip data: {e}"),
            })?;
        return parse(&out, path, format);
    }
    let format = match format {
        Some(f) => f,
        None => sniff(data).ok_or_else(|| Error::Format {
            path: path.to_path_buf(),
            message:
                "not a profile etlkit can read (expected a cProfile/pstats dump, py-spy raw or \
                      folded stacks, speedscope JSON, a line_profiler .lprof, Scalene JSON, or memray's \
                      JSON stats or CSV transform; name the format to force one)"
                    .into(),
        })?,
    };
    let reader = readers()
        .into_iter()
        .find(|r| r.format() == format)
        .expect("every format has a reader");
    reader.read(data, path)
}

/// What [`load`] reads first to tell the format (the folded sniffer looks at this much).
const HEAD: usize = 64 * 1024;

/// Reads and parses a profile file. Folded stacks are parsed while the file is read (in chunks, on
/// several threads), so a big file is never held whole in memory; other formats are read whole.
pub fn load(path: &Path, format: Option<Format>) -> Result<Profile> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = Vec::new();
    (&mut file)
        .take(HEAD as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let gzip_error = |e: std::io::Error| Error::Format {
        path: path.to_path_buf(),
        message: format!("cannot decompress gzip data: {e}"),
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut gz = flate2::read::MultiGzDecoder::new(std::io::Cursor::new(head).chain(file));
        let mut text_head = Vec::new();
        (&mut gz)
            .take(HEAD as u64)
            .read_to_end(&mut text_head)
            .map_err(gzip_error)?;
        return load_rest(&mut gz, text_head, None, path, format, &gzip_error);
    }
    let size = file.metadata().ok().map(|m| m.len());
    load_rest(&mut file, head, size, path, format, &|e| Error::io(path, e))
}

/// Finishes [`load`] once the first bytes (`head`, decompressed) are known; `size` is the file size
/// when known.
fn load_rest(
    reader: &mut dyn Read,
    mut head: Vec<u8>,
    size: Option<u64>,
    path: &Path,
    format: Option<Format>,
    read_error: &dyn Fn(std::io::Error) -> Error,
) -> Result<Profile> {
    let big = head.len() == HEAD;
    // Streaming needs the format known from the head alone: a `{` could be speedscope JSON whose
    // `"shared"` key comes later, and gzip inside gzip is unpacked by `parse`.
    let folded = big
        && !head.starts_with(&[0x1f, 0x8b])
        && match format {
            Some(f) => f == Format::Folded,
            None => {
                !head.trim_ascii_start().starts_with(b"{") && sniff(&head) == Some(Format::Folded)
            }
        };
    if folded {
        return folded::read_stream(reader, head, path, read_error);
    }
    // Reading into a buffer of the right size saves growing (copying) it step by step.
    if let Some(size) = size {
        head.reserve(
            usize::try_from(size)
                .unwrap_or(0)
                .saturating_sub(head.len()),
        );
    }
    reader.read_to_end(&mut head).map_err(read_error)?;
    parse(&head, path, format)
}

/// A `BadInput` error at a byte offset of a text file (the line number is computed from the offset).
pub(crate) fn bad_input(
    path: &Path,
    data: &[u8],
    offset: usize,
    message: impl Into<String>,
) -> Error {
    let offset = offset.min(data.len());
    let line = 1 + memchr::memchr_iter(b'\n', &data[..offset]).count() as u64;
    Error::BadInput {
        path: PathBuf::from(path),
        line,
        offset: offset as u64,
        message: message.into(),
    }
}

/// The byte offset of serde_json's (1-based) line and column in `data`.
pub(crate) fn json_offset(data: &[u8], line: usize, column: usize) -> usize {
    if line <= 1 {
        return column.saturating_sub(1).min(data.len());
    }
    let start = memchr::memchr_iter(b'\n', data)
        .nth(line - 2)
        .map_or(data.len(), |p| p + 1);
    (start + column.saturating_sub(1)).min(data.len())
}

/// A JSON reader's error: the byte offset of a syntax error, or for a value of the wrong type the field
/// that holds it, which `explain` finds by walking the document (valid JSON then).
pub(crate) fn json_error(
    path: &Path,
    data: &[u8],
    e: &serde_json::Error,
    what: &str,
    explain: fn(&serde_json::Value) -> Option<String>,
) -> Error {
    // serde_json puts an end-of-input error on the last byte read; the data ends one further.
    let offset = if e.is_eof() {
        data.len()
    } else {
        json_offset(data, e.line(), e.column())
    };
    let text = e.to_string();
    // serde_json appends the position, which the error names already.
    let text = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    let message = match e.classify() {
        serde_json::error::Category::Data => serde_json::from_slice(data)
            .ok()
            .and_then(|v| explain(&v))
            .unwrap_or_else(|| text.to_string()),
        serde_json::error::Category::Eof => format!("truncated JSON ({text})"),
        _ => format!("not valid JSON ({text})"),
    };
    bad_input(path, data, offset, format!("{what}: {message}"))
}

/// The JSON type of a value, for error messages.
pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A `Format` error with a message.
pub(crate) fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}
