//! line_profiler's `.lprof` files (`kernprof -l`, `LineProfiler.dump_stats`): a pickled `LineStats` whose
//! state is `{"timings": {(file, first_line, name): [(line, hits, time), ...]}, "unit": seconds_per_time}`.
//!
//! Read natively, as the pstats reader reads marshal: a small pickle machine that knows only the opcodes and
//! shapes line_profiler 4.x and 5.x write (protocols 2 to 5; see `tests/fixtures/profile/lprof/README.md`),
//! and refuses every other byte with its offset. Nothing is executed: the class reference is checked by name.

use std::path::Path;

use rustc_hash::FxHashMap;

use super::{format_error, Format, Frame, FrameId, LineKind, Meta, Profile, Reader, Stack, Unit};
use crate::Result;

/// Reads line_profiler dumps.
pub struct LprofReader;

impl Reader for LprofReader {
    fn format(&self) -> Format {
        Format::Lprof
    }

    /// A pickle (protocol >= 2) naming line_profiler's `LineStats` near its start, or line_profiler's text
    /// report (`python -m line_profiler FILE.lprof`), which starts with its timer unit.
    fn sniff(&self, data: &[u8]) -> bool {
        (data.first() == Some(&0x80)
            && data[..data.len().min(256)]
                .windows(b"LineStats".len())
                .any(|w| w == b"LineStats"))
            || data.starts_with(b"Timer unit: ")
    }

    fn read(&self, data: &[u8], path: &Path) -> Result<Profile> {
        if data.starts_with(b"Timer unit: ") {
            let text = std::str::from_utf8(data).map_err(|e| {
                format_error(
                    path,
                    format!("byte {}: the report is not UTF-8", e.valid_up_to()),
                )
            })?;
            let stats =
                parse_text(text).map_err(|e| super::bad_input(path, data, e.offset, e.message))?;
            return Ok(to_profile(&stats));
        }
        let stats = parse(data)
            .map_err(|e| format_error(path, format!("byte {}: {}", e.offset, e.message)))?;
        Ok(to_profile(&stats))
    }
}

/// One profiled function: where it is and its lines as (line, hits, time in `unit`s).
#[derive(Debug, Clone, PartialEq)]
pub struct LineFunction {
    pub file: String,
    pub first_line: u32,
    pub name: String,
    pub lines: Vec<(u32, u64, u64)>,
}

/// What a `.lprof` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct LineStats {
    /// Seconds per time unit (1e-9 from line_profiler 4.1 on, 1e-6 before).
    pub unit: f64,
    pub functions: Vec<LineFunction>,
}

/// A decoding error at a byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct PickleError {
    pub offset: usize,
    pub message: String,
}

type R<T> = std::result::Result<T, PickleError>;

/// The objects a pickle builds, in an arena (lists and dicts are filled after they are memoised, so the memo
/// and the stack hold indexes into it).
#[derive(Debug, Clone)]
enum Obj {
    None,
    Bool,
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<usize>),
    /// The common 3-tuple (every key and every line row), kept inline: one allocation fewer per line.
    Tuple3([usize; 3]),
    List(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    /// line_profiler's `LineStats` class (checked by name, never imported).
    Class,
    /// An instance of it, with its `__dict__` state once `BUILD` gives it.
    Instance(Option<usize>),
}

enum Item {
    Mark,
    Obj(usize),
}

/// A value is an index into the arena, or (top bit set) an integer kept inline: a file of millions of line rows
/// holds three integers per row, and an arena entry each would triple the memory and the writes.
const INLINE: usize = 1 << (usize::BITS - 1);

/// The value of an integer kept inline, if `v` is one.
fn inline_int(v: usize) -> Option<i64> {
    // Sign-extend from the bit below the tag.
    (v & INLINE != 0).then_some(((v << 1) as i64) >> 1)
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    arena: Vec<Obj>,
    stack: Vec<Item>,
    memo: Vec<usize>,
    /// Values made so far, inline integers included (memo slots are numbered by them).
    made: usize,
}

impl<'a> Machine<'a> {
    fn err<T>(&self, at: usize, message: impl Into<String>) -> R<T> {
        Err(PickleError {
            offset: at,
            message: message.into(),
        })
    }

    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let at = self.pos;
        if self.data.len() - self.pos < n {
            return self.err(
                at,
                format!(
                    "truncated: {n} bytes expected, {} left",
                    self.data.len() - at
                ),
            );
        }
        self.pos += n;
        Ok(&self.data[at..at + n])
    }

    fn uint(&mut self, n: usize) -> R<u64> {
        let b = self.take(n)?;
        Ok(b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
    }

    fn push(&mut self, o: Obj) {
        self.made += 1;
        self.arena.push(o);
        self.stack.push(Item::Obj(self.arena.len() - 1));
    }

    fn push_int(&mut self, v: i64) {
        // Integers of 63 bits fit beside the tag.
        let bits = (INLINE >> 1) as i64;
        if (-bits..bits).contains(&v) {
            self.made += 1;
            self.stack.push(Item::Obj(INLINE | (v as usize & !INLINE)));
        } else {
            self.push(Obj::Int(v));
        }
    }

    fn pop(&mut self, at: usize) -> R<usize> {
        match self.stack.pop() {
            Some(Item::Obj(i)) => Ok(i),
            Some(Item::Mark) => self.err(at, "a value expected on the stack, found a mark"),
            None => self.err(at, "a value expected, the stack is empty"),
        }
    }

    /// The values above the topmost mark, which is removed.
    fn pop_mark(&mut self, at: usize) -> R<Vec<usize>> {
        let Some(m) = self.stack.iter().rposition(|x| matches!(x, Item::Mark)) else {
            return self.err(at, "no mark on the stack");
        };
        let items = self
            .stack
            .drain(m..)
            .skip(1)
            .map(|x| match x {
                Item::Obj(i) => i,
                Item::Mark => unreachable!("rposition found the topmost mark"),
            })
            .collect();
        Ok(items)
    }

    fn text(&mut self, n: usize, at: usize) -> R<String> {
        let b = self.take(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.err(at, "string is not valid UTF-8"),
        }
    }

    fn run(&mut self) -> R<usize> {
        loop {
            let at = self.pos;
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    let proto = self.take(1)?[0];
                    if !(2..=5).contains(&proto) {
                        return self.err(
                            at,
                            format!("pickle protocol {proto} (line_profiler writes 2 to 5)"),
                        );
                    }
                }
                // FRAME: a length hint for buffered readers.
                0x95 => {
                    self.take(8)?;
                }
                b'.' => return self.pop(at),
                b'(' => self.stack.push(Item::Mark),
                b'N' => self.push(Obj::None),
                0x88 => self.push(Obj::Bool),
                0x89 => self.push(Obj::Bool),
                b'K' => {
                    let v = self.uint(1)? as i64;
                    self.push_int(v);
                }
                b'M' => {
                    let v = self.uint(2)? as i64;
                    self.push_int(v);
                }
                b'J' => {
                    let v = self.uint(4)? as u32 as i32 as i64;
                    self.push_int(v);
                }
                0x8a => {
                    let n = self.take(1)?[0] as usize;
                    if n > 8 {
                        return self
                            .err(at, format!("an integer of {n} bytes (at most 8 expected)"));
                    }
                    let b = self.take(n)?;
                    let mut v: i64 = 0;
                    for (i, &x) in b.iter().enumerate() {
                        v |= i64::from(x) << (8 * i);
                    }
                    // Two's complement: sign-extend from the top byte.
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.push_int(v);
                }
                b'G' => {
                    let v = f64::from_bits(u64::from_be_bytes(
                        self.take(8)?.try_into().unwrap_or([0; 8]),
                    ));
                    self.push(Obj::Float(v));
                }
                0x8c => {
                    let n = self.take(1)?[0] as usize;
                    let s = self.text(n, at)?;
                    self.push(Obj::Str(s));
                }
                b'X' => {
                    let n = self.uint(4)? as usize;
                    let s = self.text(n, at)?;
                    self.push(Obj::Str(s));
                }
                0x8d => {
                    let n = self.uint(8)?;
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    let s = self.text(n, at)?;
                    self.push(Obj::Str(s));
                }
                b')' => self.push(Obj::Tuple(Vec::new())),
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = [0usize; 3];
                    for k in (0..n).rev() {
                        items[k] = self.pop(at)?;
                    }
                    if n == 3 {
                        self.push(Obj::Tuple3(items));
                    } else {
                        self.push(Obj::Tuple(items[..n].to_vec()));
                    }
                }
                b't' => {
                    let items = self.pop_mark(at)?;
                    self.push(Obj::Tuple(items));
                }
                b']' => self.push(Obj::List(Vec::new())),
                b'}' => self.push(Obj::Dict(Vec::new())),
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop(at)?]
                    } else {
                        self.pop_mark(at)?
                    };
                    let list = self.pop(at)?;
                    match self.arena.get_mut(list) {
                        Some(Obj::List(v)) => v.extend(items),
                        _ => return self.err(at, "append to something that is not a list"),
                    }
                    self.stack.push(Item::Obj(list));
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        let v = self.pop(at)?;
                        let k = self.pop(at)?;
                        vec![k, v]
                    } else {
                        self.pop_mark(at)?
                    };
                    if items.len() % 2 != 0 {
                        return self.err(at, "an odd number of items for a dict");
                    }
                    let dict = self.pop(at)?;
                    match self.arena.get_mut(dict) {
                        Some(Obj::Dict(v)) => v.extend(items.chunks(2).map(|p| (p[0], p[1]))),
                        _ => return self.err(at, "set items of something that is not a dict"),
                    }
                    self.stack.push(Item::Obj(dict));
                }
                0x94 => {
                    let Some(Item::Obj(top)) = self.stack.last() else {
                        return self.err(at, "memoize with no value on the stack");
                    };
                    let top = *top;
                    self.memo.push(top);
                }
                b'q' | b'r' => {
                    let i = self.uint(if op == b'q' { 1 } else { 4 })? as usize;
                    let Some(Item::Obj(top)) = self.stack.last() else {
                        return self.err(at, "put with no value on the stack");
                    };
                    let top = *top;
                    // Memo slots are numbered from 0 as objects are made: a far-off slot is a damaged file
                    // (and would ask for a huge table).
                    if i > self.made {
                        return self.err(
                            at,
                            format!("memo slot {i} is beyond the objects made so far"),
                        );
                    }
                    if i >= self.memo.len() {
                        self.memo.resize(i + 1, usize::MAX);
                    }
                    self.memo[i] = top;
                }
                b'h' | b'j' => {
                    let i = self.uint(if op == b'h' { 1 } else { 4 })? as usize;
                    match self.memo.get(i) {
                        Some(&o) if o != usize::MAX => self.stack.push(Item::Obj(o)),
                        _ => return self.err(at, format!("memo entry {i} does not exist")),
                    }
                }
                // STACK_GLOBAL (module and name on the stack) and GLOBAL (`module\nname\n` inline).
                0x93 | b'c' => {
                    let (module, name) = if op == 0x93 {
                        let n = self.pop(at)?;
                        let m = self.pop(at)?;
                        match (self.arena.get(m), self.arena.get(n)) {
                            (Some(Obj::Str(m)), Some(Obj::Str(n))) => (m.clone(), n.clone()),
                            _ => {
                                return self
                                    .err(at, "a global named by something other than strings")
                            }
                        }
                    } else {
                        let line = |m: &mut Self| -> R<String> {
                            let rest = &m.data[m.pos..];
                            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                                return m.err(at, "unterminated global name");
                            };
                            let s = m.text(end, at)?;
                            m.pos += 1;
                            Ok(s)
                        };
                        (line(self)?, line(self)?)
                    };
                    if !(module.starts_with("line_profiler") && name == "LineStats") {
                        return self.err(
                            at,
                            format!("refers to {module}.{name} (only line_profiler's LineStats is read)"),
                        );
                    }
                    self.push(Obj::Class);
                }
                // NEWOBJ (class, args) and REDUCE (callable, args): a LineStats instance.
                0x81 | b'R' => {
                    let _args = self.pop(at)?;
                    let class = self.pop(at)?;
                    if !matches!(self.arena.get(class), Some(Obj::Class)) {
                        return self.err(at, "an object made from something that is not a class");
                    }
                    self.push(Obj::Instance(None));
                }
                b'b' => {
                    let state = self.pop(at)?;
                    let inst = self.pop(at)?;
                    match self.arena.get_mut(inst) {
                        Some(Obj::Instance(s)) => *s = Some(state),
                        _ => return self.err(at, "state given to something that is not an object"),
                    }
                    self.stack.push(Item::Obj(inst));
                }
                _ => {
                    return self.err(
                        at,
                        format!("pickle opcode 0x{op:02x} is not one line_profiler writes"),
                    )
                }
            }
        }
    }
}

/// The items of a tuple.
fn tuple(o: &Obj) -> Option<&[usize]> {
    match o {
        Obj::Tuple(v) => Some(v),
        Obj::Tuple3(a) => Some(a),
        _ => None,
    }
}

/// Decodes a `.lprof` file.
pub fn parse(data: &[u8]) -> R<LineStats> {
    let mut m = Machine {
        data,
        pos: 0,
        // About one arena value per 20 bytes (a line row is a tuple of three inline ints in ~23 bytes): growing
        // the arena step by step would copy it over and over.
        arena: Vec::with_capacity(data.len() / 20),
        stack: Vec::new(),
        memo: Vec::new(),
        made: 0,
    };
    let top = m.run()?;
    let end = m.pos;
    if end != data.len() {
        return m.err(
            end,
            format!(
                "{} bytes of trailing data after the pickle",
                data.len() - end
            ),
        );
    }
    let shape = |message: &str| PickleError {
        offset: end,
        message: format!("not line_profiler stats: {message}"),
    };
    // Inline integers are no arena entry: `None` here.
    let obj = |i: usize| m.arena.get(i);
    let Some(Obj::Instance(Some(state))) = obj(top) else {
        return Err(shape("the pickle is not a LineStats object with its state"));
    };
    let Some(Obj::Dict(fields)) = obj(*state) else {
        return Err(shape("LineStats' state is not a dict"));
    };
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| matches!(obj(*k), Some(Obj::Str(s)) if s == key))
            .map(|(_, v)| *v)
    };
    let unit = match field("unit").map(|u| (inline_int(u), obj(u))) {
        Some((_, Some(Obj::Float(u)))) if u.is_finite() && *u > 0.0 => *u,
        Some((Some(u), _) | (_, Some(&Obj::Int(u)))) if u > 0 => u as f64,
        _ => return Err(shape("`unit` is missing or not a positive number")),
    };
    let Some(Some(Obj::Dict(timings))) = field("timings").map(obj) else {
        return Err(shape("`timings` is missing or not a dict"));
    };
    let int = |i: usize, what: &str| -> R<i64> {
        if let Some(v) = inline_int(i) {
            return Ok(v);
        }
        match obj(i) {
            Some(Obj::Int(v)) => Ok(*v),
            Some(Obj::Float(v)) if v.fract() == 0.0 && v.is_finite() => Ok(*v as i64),
            _ => Err(shape(&format!("{what} is not an integer"))),
        }
    };
    let mut functions = Vec::with_capacity(timings.len());
    for (k, v) in timings {
        let Some(key) = obj(*k).and_then(tuple) else {
            return Err(shape("a timings key is not a (file, line, name) tuple"));
        };
        let (file, first_line, name) = match key {
            [f, l, n] => match (obj(*f), obj(*n)) {
                (Some(Obj::Str(f)), Some(Obj::Str(n))) => {
                    (f.clone(), int(*l, "a first line")?, n.clone())
                }
                _ => return Err(shape("a timings key is not a (file, line, name) tuple")),
            },
            _ => return Err(shape("a timings key is not a (file, line, name) tuple")),
        };
        let Some(Obj::List(rows)) = obj(*v) else {
            return Err(shape(&format!("the timings of {name} are not a list")));
        };
        let mut lines = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(t) = obj(*r).and_then(tuple) else {
                return Err(shape(&format!(
                    "a line of {name} is not a (line, hits, time) tuple"
                )));
            };
            let [l, h, t] = t else {
                return Err(shape(&format!(
                    "a line of {name} is not a (line, hits, time) tuple"
                )));
            };
            let (l, h, t) = (
                int(*l, "a line number")?,
                int(*h, "a hit count")?,
                int(*t, "a time")?,
            );
            let (Ok(l), Ok(h), Ok(t)) = (u32::try_from(l), u64::try_from(h), u64::try_from(t))
            else {
                return Err(shape(&format!(
                    "a line of {name} has a negative or huge number"
                )));
            };
            lines.push((l, h, t));
        }
        functions.push(LineFunction {
            file,
            first_line: u32::try_from(first_line)
                .map_err(|_| shape("a first line is out of range"))?,
            name,
            lines,
        });
    }
    Ok(LineStats { unit, functions })
}

/// Reads line_profiler's text report (`python -m line_profiler [-rmt] FILE.lprof`, `kernprof -lv`): per
/// function a `Total time:` header, `File:` and `Function: NAME at line N` (left out when line_profiler could
/// not find the source, then the `-m` summary at the end names the function by its first line), and a table of
/// `line hits time per-hit %time source`. Times are printed with one decimal in the timer unit: they are kept
/// in tenths of it.
pub fn parse_text(text: &str) -> R<LineStats> {
    let err = |offset: usize, message: String| PickleError { offset, message };
    let mut lines = text.split_inclusive('\n').scan(0usize, |at, l| {
        let start = *at;
        *at += l.len();
        Some((start, l.trim_end_matches(['\n', '\r'])))
    });
    let Some((_, first)) = lines.next() else {
        return Err(err(0, "empty report".into()));
    };
    let unit: f64 = first
        .strip_prefix("Timer unit: ")
        .and_then(|u| u.strip_suffix(" s"))
        .and_then(|u| u.trim().parse().ok())
        .filter(|u: &f64| u.is_finite() && *u > 0.0)
        .ok_or_else(|| {
            err(
                0,
                format!("expected `Timer unit: <seconds> s`, found `{first}`"),
            )
        })?;
    let mut functions: Vec<LineFunction> = Vec::new();
    // Functions whose header named no file: their first table line, to match with the summary.
    let mut unnamed: Vec<usize> = Vec::new();
    let mut summary: Vec<(String, u32, String)> = Vec::new();
    let mut current: Option<LineFunction> = None;
    let mut in_table = false;
    let finish = |current: &mut Option<LineFunction>, functions: &mut Vec<LineFunction>| {
        if let Some(f) = current.take() {
            functions.push(f);
        }
    };
    for (at, line) in lines {
        if line.starts_with("Total time:") {
            finish(&mut current, &mut functions);
            current = Some(LineFunction {
                file: String::new(),
                first_line: 0,
                name: String::new(),
                lines: Vec::new(),
            });
            in_table = false;
        } else if let (Some(f), Some(file)) = (current.as_mut(), line.strip_prefix("File: ")) {
            f.file = file.to_string();
        } else if let (Some(f), Some(rest)) = (current.as_mut(), line.strip_prefix("Function: ")) {
            let (name, first) = rest
                .rsplit_once(" at line ")
                .and_then(|(n, l)| Some((n, l.trim().parse::<u32>().ok()?)))
                .ok_or_else(|| {
                    err(
                        at,
                        format!("expected `Function: NAME at line N`, found `{line}`"),
                    )
                })?;
            f.name = name.to_string();
            f.first_line = first;
        } else if line.starts_with("====") {
            in_table = current.is_some();
        } else if in_table && !line.trim().is_empty() {
            let f = current.as_mut().expect("a table belongs to a function");
            // `  17    200000     261729.9      1.3     33.8      source`: the first four columns, when timed.
            let mut cols = line.split_whitespace();
            let lineno = cols
                .next()
                .and_then(|c| c.parse::<u32>().ok())
                .ok_or_else(|| err(at, format!("expected a line number, found `{line}`")))?;
            if f.lines.is_empty() && f.first_line == 0 {
                f.first_line = lineno;
            }
            // An untimed line shows only its source after the number (or nothing).
            let (Some(h), Some(t)) = (cols.next(), cols.next()) else {
                continue;
            };
            let (Ok(hits), Ok(time)) = (h.parse::<u64>(), t.parse::<f64>()) else {
                continue;
            };
            if !(time.is_finite() && time >= 0.0) {
                return Err(err(at, format!("a time that is not a number: `{t}`")));
            }
            f.lines.push((lineno, hits, (time * 10.0).round() as u64));
        } else if line.trim().is_empty() {
            in_table = false;
        } else if let Some((secs, rest)) = line.trim().split_once(" seconds - ") {
            // The `-m` summary: `0.83 seconds - lines_deco.py:15 - normalize`.
            if secs.trim().parse::<f64>().is_ok() {
                if let Some((loc, name)) = rest.split_once(" - ") {
                    if let Some((file, l)) = loc.rsplit_once(':') {
                        if let Ok(l) = l.parse() {
                            summary.push((file.to_string(), l, name.to_string()));
                        }
                    }
                }
            }
        }
    }
    finish(&mut current, &mut functions);
    for (i, f) in functions.iter_mut().enumerate() {
        if f.name.is_empty() {
            match summary.iter().find(|s| s.1 == f.first_line) {
                Some((file, _, name)) => {
                    f.file = file.clone();
                    f.name = name.clone();
                }
                None => unnamed.push(i),
            }
        }
    }
    // Without the summary a function is known only by where it starts.
    for i in unnamed {
        let f = &mut functions[i];
        f.name = format!("<function at line {}>", f.first_line);
    }
    if functions.is_empty() {
        return Err(err(
            text.len(),
            "no `Total time:` block: not a line_profiler report".into(),
        ));
    }
    Ok(LineStats {
        unit: unit / 10.0,
        functions,
    })
}

/// The profile model: one single-frame stack per profiled line (the function's name, its file and the line),
/// weighing its time in seconds; the hits go alongside.
pub fn to_profile(stats: &LineStats) -> Profile {
    // Lines are told apart by (function, line) with integer keys, the names hashed once per function: a file
    // of millions of lines stays fast.
    let mut functions: FxHashMap<(&str, &str), u32> = FxHashMap::default();
    let mut ids: FxHashMap<(u32, u32), FrameId> = FxHashMap::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut stacks = Vec::new();
    let mut hits = Vec::new();
    let n_lines = stats.functions.iter().map(|f| f.lines.len()).sum();
    let parallel = n_lines >= PARALLEL_LINES;
    if !parallel {
        frames.reserve(n_lines);
        stacks.reserve(n_lines);
        hits.reserve(n_lines);
    }
    // Each function once, with its lines in order (what line_profiler writes): every line is a new frame and
    // no lookups are needed. Otherwise frames are shared by (function, line).
    let keys: Vec<u32> = stats
        .functions
        .iter()
        .map(|f| {
            let n = functions.len() as u32;
            *functions.entry((&f.name, &f.file)).or_insert(n)
        })
        .collect();
    let plain = functions.len() == stats.functions.len()
        && stats
            .functions
            .iter()
            .all(|f| f.lines.windows(2).all(|w| w[0].0 < w[1].0));
    let parallel = parallel && plain;
    if parallel {
        // Every line a new frame, numbered in order: two halves are built at once and joined (the work is
        // mostly allocating each frame's names).
        let mut split = 0;
        let mut before = 0;
        while split < stats.functions.len() && 2 * before < n_lines {
            before += stats.functions[split].lines.len();
            split += 1;
        }
        let (a, b) = stats.functions.split_at(split);
        let (first, second) = std::thread::scope(|s| {
            let second = s.spawn(|| plain_lines(b, stats.unit, before as FrameId, 0));
            (plain_lines(a, stats.unit, 0, n_lines), second.join())
        });
        // (A panic in the thread is a bug: passed on as it is.)
        let second = second.unwrap_or_else(|p| std::panic::resume_unwind(p));
        // The first half was made big enough for both: the second is moved in once.
        (frames, stacks, hits) = first;
        frames.extend(second.0);
        stacks.extend(second.1);
        hits.extend(second.2);
    }
    for (f, &k) in stats.functions.iter().zip(&keys).filter(|_| !parallel) {
        for &(line, h, t) in &f.lines {
            let mut new_frame = || {
                frames.push(Frame::new(f.name.clone(), f.file.clone(), Some(line)));
                frames.len() as FrameId - 1
            };
            let id = if plain {
                new_frame()
            } else {
                *ids.entry((k, line)).or_insert_with(new_frame)
            };
            stacks.push(Stack {
                frames: vec![id],
                weight: t as f64 * stats.unit,
            });
            hits.push((id, h));
        }
    }
    Profile {
        meta: Meta {
            format: Format::Lprof,
            tool: "line_profiler".into(),
            unit: Unit::Seconds,
            line_kind: LineKind::Executing,
            notes: vec![LPROF_NOTE.into()],
        },
        frames,
        stacks,
        timings: Vec::new(),
        line_hits: hits,
        memory: None,
    }
}

/// From this many lines on, a profile's frames are built by two threads.
const PARALLEL_LINES: usize = 200_000;

type Built = (Vec<Frame>, Vec<Stack>, Vec<(FrameId, u64)>);

/// The frames, stacks and hits of functions whose lines are all distinct, numbered from `first`, in vectors
/// with room for at least `room` lines.
fn plain_lines(functions: &[LineFunction], unit: f64, first: FrameId, room: usize) -> Built {
    let n: usize = functions
        .iter()
        .map(|f| f.lines.len())
        .sum::<usize>()
        .max(room);
    let (mut frames, mut stacks, mut hits) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for f in functions {
        for &(line, h, t) in &f.lines {
            let id = first + frames.len() as FrameId;
            frames.push(Frame::new(f.name.clone(), f.file.clone(), Some(line)));
            stacks.push(Stack {
                frames: vec![id],
                weight: t as f64 * unit,
            });
            hits.push((id, h));
        }
    }
    (frames, stacks, hits)
}

/// What a reader of a line_profiler report should know.
pub const LPROF_NOTE: &str = "line_profiler times only the functions it was told to profile, each line by \
     itself (a call's line includes its callee): self and total are the same per line, and the timer adds a \
     fixed cost to every line run";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_line_profiler_never_writes() {
        // A pickle of `os.system`: refused by name, nothing run.
        let evil = b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93.";
        let e = parse(evil).unwrap_err();
        assert!(e.message.contains("os.system"), "{e:?}");
        assert_eq!(e.offset, 23);
        assert!(parse(b"\x80\x05")
            .unwrap_err()
            .message
            .contains("truncated"));
        assert!(parse(b"\x80\x01.")
            .unwrap_err()
            .message
            .contains("protocol 1"));
        assert!(parse(b"\x80\x04N.")
            .unwrap_err()
            .message
            .contains("not a LineStats"));
        assert!(parse(b"\x80\x04Nz")
            .unwrap_err()
            .message
            .contains("opcode 0x7a"));
    }

    /// A big profile's frames are built by two threads: the same frames, stacks and hits, in the same order, as
    /// one thread builds; functions met twice (not plain) share their lines' frames.
    #[test]
    fn big_profiles_build_in_two_halves_alike() {
        let functions: Vec<LineFunction> = (0..(PARALLEL_LINES / 10 + 7))
            .map(|i| LineFunction {
                file: format!("/srv/m{}.py", i % 13),
                first_line: 1 + i as u32,
                name: format!("f{i}"),
                lines: (0..10)
                    .map(|k| (2 + i as u32 + k, u64::from(k) + 1, 1000 * u64::from(k)))
                    .collect(),
            })
            .collect();
        let n = functions.len() * 10;
        assert!(n >= PARALLEL_LINES);
        let stats = LineStats {
            unit: 1e-9,
            functions,
        };
        let p = to_profile(&stats);
        assert_eq!(
            (p.frames.len(), p.stacks.len(), p.line_hits.len()),
            (n, n, n)
        );
        let mut i = 0;
        for f in &stats.functions {
            for &(line, h, t) in &f.lines {
                let fr = &p.frames[i];
                assert_eq!(
                    (fr.function.as_str(), fr.file.as_str(), fr.line),
                    (f.name.as_str(), f.file.as_str(), Some(line))
                );
                assert_eq!(p.stacks[i].frames, vec![i as FrameId]);
                assert_eq!(p.stacks[i].weight, t as f64 * 1e-9);
                assert_eq!(p.line_hits[i], (i as FrameId, h));
                i += 1;
            }
        }
        // Near miss: a function listed twice is not plain; its lines' frames are shared, one thread.
        let mut twice = stats.clone();
        twice.functions.push(twice.functions[0].clone());
        let p = to_profile(&twice);
        assert_eq!(p.frames.len(), n);
        assert_eq!(p.stacks.len(), n + 10);
        assert_eq!(p.stacks[n].frames, vec![0]);
    }

    #[test]
    fn long1_is_twos_complement() {
        let mut m = Machine {
            data: b"\x8a\x02\xff\x7f\x8a\x01\xff.",
            pos: 0,
            arena: Vec::new(),
            stack: Vec::new(),
            memo: Vec::new(),
            made: 0,
        };
        let top = m.run().unwrap();
        assert_eq!(inline_int(top), Some(-1));
        assert!(m.arena.is_empty(), "small integers are kept inline");
        let Some(Item::Obj(first)) = m.stack.first() else {
            panic!("the first integer stays on the stack");
        };
        assert_eq!(inline_int(*first), Some(0x7fff));
        // The largest integers (eight bytes) do not fit beside the tag: arena entries.
        let mut m = Machine {
            data: b"\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f.",
            pos: 0,
            arena: Vec::new(),
            stack: Vec::new(),
            memo: Vec::new(),
            made: 0,
        };
        let top = m.run().unwrap();
        assert_eq!(inline_int(top), None);
        assert!(matches!(m.arena[top], Obj::Int(i64::MAX)));
    }
}
