//! Folded stacks: `frame;frame;... COUNT` per line, root first (py-spy `--format raw`, inferno and
//! flamegraph.pl collapsed output). py-spy frames look like `func (file:line)`; other tools' frames are
//! kept as opaque names.
//!
//! Big files are cut into chunks at line ends and parsed on several threads; each thread interns the
//! frame names it sees, and the chunks are merged in file order so frame ids, stacks and errors are the
//! same as a line-by-line read.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crossbeam_channel::{Receiver, Sender};
use rustc_hash::FxHashMap;

use super::{Format, Frame, FrameId, FrameTable, LineKind, Meta, Profile, Reader, Stack, Unit};
use crate::{Error, Result};

/// Reads folded stacks.
pub struct FoldedReader;

impl Reader for FoldedReader {
    fn format(&self) -> Format {
        Format::Folded
    }

    /// Text whose first non-empty line ends in a space and a number.
    fn sniff(&self, data: &[u8]) -> bool {
        let head = &data[..data.len().min(64 * 1024)];
        let text = match std::str::from_utf8(head) {
            Ok(t) => t,
            // The 64 KiB cut may split a character.
            Err(e) if e.valid_up_to() > 0 && head.len() == 64 * 1024 => {
                std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => return false,
        };
        text.lines()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim_end().rsplit_once([' ', '\t']))
            .is_some_and(|(_, n)| parse_count(n).is_some())
    }

    fn read(&self, data: &[u8], path: &Path) -> Result<Profile> {
        read_chunked(data, path, CHUNK, threads())
    }
}

/// [`FoldedReader::read`] with chunks of about `chunk` bytes on `threads` threads.
fn read_chunked(data: &[u8], path: &Path, chunk: usize, threads: usize) -> Result<Profile> {
    if data.len() <= chunk {
        // Small inputs (and every fuzz input): no threads.
        let mut names = Names::default();
        let parsed = parse_chunk(data, &mut names);
        return finish(vec![(0, 0, parsed)], vec![names], path);
    }
    let (produced, results, names) = parse_parallel(threads.max(1), |work, _| {
        let mut start = 0;
        let mut index = 0;
        while start < data.len() {
            let mut end = (start + chunk).min(data.len());
            if end < data.len() {
                end = memchr::memchr(b'\n', &data[end..]).map_or(data.len(), |i| end + i + 1);
            }
            if work
                .send((index, start as u64, Chunk::Borrowed(&data[start..end])))
                .is_err()
            {
                break;
            }
            index += 1;
            start = end;
        }
        Ok(())
    });
    produced.map_err(|e| Error::io(path, e))?;
    finish(results, names, path)
}

/// For the fuzz targets (not an API): reading `data` in small chunks on two threads, from memory and
/// streamed, must give what one pass gives. Panics when it does not.
#[doc(hidden)]
pub fn check_chunks(data: &[u8]) {
    let path = Path::new("fuzz");
    // Debug output compares NaN weights as equal, `==` would not; errors compare by their text.
    let show = |r: Result<Profile>| match r {
        Ok(p) => format!("{p:?}"),
        Err(e) => e.to_string(),
    };
    let one = show(read_chunked(data, path, usize::MAX, 1));
    assert_eq!(one, show(read_chunked(data, path, 64, 2)), "in memory");
    let split = data.len().min(100);
    let streamed = read_stream_chunked(
        &mut &data[split..],
        data[..split].to_vec(),
        path,
        &|e| Error::io(path, e),
        64,
        2,
    );
    assert_eq!(one, show(streamed), "streamed");
}

/// Lines are parsed in chunks of about this many bytes (a chunk always ends at a line end).
const CHUNK: usize = 1 << 20;

/// Parser threads for big inputs.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// Reads a folded file from `reader` without holding it all in memory: `head` is what was already read
/// from it (to sniff the format). Read errors are reported through `read_error`.
pub(crate) fn read_stream(
    reader: &mut dyn Read,
    head: Vec<u8>,
    path: &Path,
    read_error: &dyn Fn(std::io::Error) -> Error,
) -> Result<Profile> {
    read_stream_chunked(reader, head, path, read_error, CHUNK, threads())
}

/// [`read_stream`] with buffers of `chunk` bytes and `threads` parsers.
fn read_stream_chunked(
    reader: &mut dyn Read,
    head: Vec<u8>,
    path: &Path,
    read_error: &dyn Fn(std::io::Error) -> Error,
    chunk: usize,
    threads: usize,
) -> Result<Profile> {
    let threads = threads.max(1);
    let (produced, results, names) = parse_parallel(threads, |work, free| {
        // A few buffers circulate between this reader and the parsers: fresh pages cost more than the
        // parsing itself.
        let mut spare = threads + 2;
        let mut next_buffer = || -> Option<Vec<u8>> {
            if spare > 0 {
                spare -= 1;
                Some(vec![0; chunk])
            } else {
                free.recv().ok()
            }
        };
        let mut buf = head;
        let mut filled = buf.len();
        if buf.len() < chunk {
            buf.resize(chunk, 0);
        }
        let (mut index, mut offset, mut eof) = (0, 0u64, false);
        loop {
            while filled < buf.len() && !eof {
                match reader.read(&mut buf[filled..]) {
                    Ok(0) => eof = true,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if eof {
                if filled > 0 {
                    let _ = work.send((index, offset, Chunk::Owned(buf, filled)));
                }
                return Ok(());
            }
            let Some(nl) = memchr::memrchr(b'\n', &buf[..filled]) else {
                // One line longer than the buffer: grow it.
                buf.resize(buf.len() * 2, 0);
                continue;
            };
            let Some(mut next) = next_buffer() else {
                // Every parser is gone (only after a panic there); stop reading.
                return Ok(());
            };
            let tail = filled - (nl + 1);
            if next.len() < (2 * tail).max(chunk) {
                next.resize((2 * tail).max(chunk), 0);
            }
            next[..tail].copy_from_slice(&buf[nl + 1..filled]);
            if work
                .send((index, offset, Chunk::Owned(buf, nl + 1)))
                .is_err()
            {
                return Ok(());
            }
            index += 1;
            offset += (nl + 1) as u64;
            buf = next;
            filled = tail;
        }
    });
    produced.map_err(read_error)?;
    finish(results, names, path)
}

/// A piece of the input ending at a line end: borrowed from an in-memory file, or a reused buffer with
/// its filled length.
enum Chunk<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>, usize),
}

/// Work for the parsers: chunk index, byte offset of the chunk in the file, the chunk.
type Work<'a> = (usize, u64, Chunk<'a>);
/// What a parser sends back: chunk index, parser index, the parsed chunk.
type Done = (usize, usize, Parsed);

/// Runs `produce` (which sends chunks in file order) on this thread and parses the chunks on `threads`
/// threads; returns the producer's result, the parsed chunks (any order) and each parser's names.
fn parse_parallel<'a>(
    threads: usize,
    produce: impl FnOnce(&Sender<Work<'a>>, &Receiver<Vec<u8>>) -> std::io::Result<()>,
) -> (std::io::Result<()>, Vec<Done>, Vec<Names>) {
    std::thread::scope(|s| {
        let (work_tx, work_rx) = crossbeam_channel::bounded::<Work<'a>>(threads * 2);
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
        let (free_tx, free_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                let (work_rx, done_tx, free_tx) =
                    (work_rx.clone(), done_tx.clone(), free_tx.clone());
                s.spawn(move || {
                    let mut names = Names::default();
                    for (index, offset, chunk) in work_rx {
                        let mut parsed = match &chunk {
                            Chunk::Borrowed(b) => parse_chunk(b, &mut names),
                            Chunk::Owned(b, n) => parse_chunk(&b[..*n], &mut names),
                        };
                        parsed.offset = offset;
                        let _ = done_tx.send((index, w, parsed));
                        if let Chunk::Owned(b, _) = chunk {
                            let _ = free_tx.send(b);
                        }
                    }
                    names
                })
            })
            .collect();
        // Only the parsers hold these now, so the channels close when they are all gone.
        drop((work_rx, done_tx, free_tx));
        let produced = produce(&work_tx, &free_rx);
        drop(work_tx);
        let names = workers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        (produced, done_rx.into_iter().collect(), names)
    })
}

/// One parser's interned frame names. Keys are owned because streamed chunk buffers are reused.
#[derive(Default)]
struct Names {
    ids: FxHashMap<Box<str>, FrameId>,
    frames: Vec<Frame>,
}

impl Names {
    fn id(&mut self, name: &str) -> FrameId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        // Big files repeat the same few thousand frames millions of times: parse each once.
        let id = self.frames.len() as FrameId;
        self.frames.push(parse_frame(name));
        self.ids.insert(name.into(), id);
        id
    }
}

/// Why a chunk stopped: invalid UTF-8, or a malformed line (with the message).
enum Problem {
    Utf8,
    Line(String),
}

/// A parsed chunk: stacks with the parser's local frame ids, the number of line ends it holds, its byte
/// offset in the file, and the first problem.
struct Parsed {
    stacks: Vec<Stack>,
    newlines: u64,
    offset: u64,
    problem: Option<ProblemAt>,
}

/// A problem `at` bytes into a chunk, after `lines` line ends of that chunk.
struct ProblemAt {
    at: usize,
    lines: u64,
    problem: Problem,
}

impl ProblemAt {
    fn new(chunk: &[u8], at: usize, problem: Problem) -> Self {
        let lines = memchr::memchr_iter(b'\n', &chunk[..at.min(chunk.len())]).count() as u64;
        ProblemAt { at, lines, problem }
    }
}

fn parse_chunk(chunk: &[u8], names: &mut Names) -> Parsed {
    let mut parsed = Parsed {
        stacks: Vec::new(),
        newlines: 0,
        offset: 0,
        problem: None,
    };
    let text = match std::str::from_utf8(chunk) {
        Ok(t) => t,
        Err(e) => {
            parsed.newlines = memchr::memchr_iter(b'\n', chunk).count() as u64;
            parsed.problem = Some(ProblemAt::new(chunk, e.valid_up_to(), Problem::Utf8));
            return parsed;
        }
    };
    let mut ids: Vec<FrameId> = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = match memchr::memchr(b'\n', &chunk[start..]) {
            Some(i) => {
                parsed.newlines += 1;
                start + i + 1
            }
            None => text.len(),
        };
        let line = text[start..end].trim_end_matches(['\n', '\r']);
        let line_start = start;
        start = end;
        if line.trim().is_empty() {
            continue;
        }
        // Split on the LAST space: frame names may contain spaces, the count never does.
        let Some(sep) = memchr::memrchr2(b' ', b'\t', line.as_bytes()) else {
            parsed.problem = Some(ProblemAt::new(
                chunk,
                line_start,
                Problem::Line(
                    "expected `frame;frame;... COUNT` (no space before a sample count)".into(),
                ),
            ));
            break;
        };
        let (stack, count) = (&line[..sep], &line[sep + 1..]);
        let Some(weight) = parse_count(count) else {
            parsed.problem = Some(ProblemAt::new(
                chunk,
                line_start + sep + 1,
                Problem::Line(format!(
                    "sample count {count:?} is not a non-negative number"
                )),
            ));
            break;
        };
        ids.clear();
        if !stack.is_empty() {
            let mut from = 0;
            for semi in memchr::memchr_iter(b';', stack.as_bytes()) {
                ids.push(names.id(&stack[from..semi]));
                from = semi + 1;
            }
            ids.push(names.id(&stack[from..]));
        }
        parsed.stacks.push(Stack {
            frames: ids.as_slice().to_vec(),
            weight,
        });
    }
    if parsed.problem.is_some() {
        parsed.newlines = memchr::memchr_iter(b'\n', chunk).count() as u64;
    }
    parsed
}

/// Merges parsed chunks in file order. Errors are those of a line-by-line read: invalid UTF-8 anywhere
/// first (the whole text is checked before any line), then the first malformed line.
fn finish(mut results: Vec<Done>, mut names: Vec<Names>, path: &Path) -> Result<Profile> {
    results.sort_unstable_by_key(|r| r.0);
    let mut lines_before = 0;
    let mut first_line_error = None;
    for (_, _, p) in &results {
        if let Some(q) = &p.problem {
            let error = || Error::BadInput {
                path: PathBuf::from(path),
                line: lines_before + q.lines + 1,
                offset: p.offset + q.at as u64,
                message: match &q.problem {
                    Problem::Utf8 => "invalid UTF-8 in a folded-stacks file".into(),
                    Problem::Line(m) => m.clone(),
                },
            };
            match q.problem {
                Problem::Utf8 => return Err(error()),
                Problem::Line(_) if first_line_error.is_none() => first_line_error = Some(error()),
                Problem::Line(_) => {}
            }
        }
        lines_before += p.newlines;
    }
    if let Some(e) = first_line_error {
        return Err(e);
    }
    let (frames, stacks) = if names.len() == 1 {
        // One parser saw every chunk in order: its ids are already in order of first appearance.
        let stacks = results.into_iter().flat_map(|r| r.2.stacks).collect();
        (names.pop().map(|n| n.frames).unwrap_or_default(), stacks)
    } else {
        // Renumber each parser's ids in order of first appearance in the file.
        let mut table = FrameTable::default();
        let mut remap: Vec<Vec<FrameId>> = names
            .iter()
            .map(|n| vec![FrameId::MAX; n.frames.len()])
            .collect();
        let mut stacks = Vec::with_capacity(results.iter().map(|r| r.2.stacks.len()).sum());
        for (_, w, p) in results {
            for mut s in p.stacks {
                for f in &mut s.frames {
                    let g = &mut remap[w][*f as usize];
                    if *g == FrameId::MAX {
                        let frame = std::mem::replace(
                            &mut names[w].frames[*f as usize],
                            Frame::new("", "", None),
                        );
                        *g = table.intern(frame);
                    }
                    *f = *g;
                }
                stacks.push(s);
            }
        }
        (table.into_frames(), stacks)
    };
    let any_line = frames.iter().any(|f| f.line.is_some());
    let all_py_spy = frames
        .iter()
        .all(|f| !f.file.is_empty() || f.kind != super::FrameKind::Python);
    let tool = if all_py_spy && !frames.is_empty() {
        "py-spy"
    } else {
        "folded stacks"
    };
    Ok(Profile {
        meta: Meta {
            format: Format::Folded,
            tool: tool.into(),
            unit: Unit::Samples,
            line_kind: if any_line {
                LineKind::Executing
            } else {
                LineKind::None
            },
            notes: Vec::new(),
        },
        frames,
        stacks,
        timings: Vec::new(),
        line_hits: Vec::new(),
        memory: None,
    })
}

/// A count: an integer, or a finite non-negative decimal (some tools write fractional weights).
fn parse_count(s: &str) -> Option<f64> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(n as f64);
    }
    let f: f64 = s.parse().ok()?;
    // `parse` accepts "inf" and "NaN"; those are not counts.
    (f.is_finite() && f >= 0.0 && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')).then_some(f)
}

/// Parses py-spy's `func (file:line)` / `func (file)`; anything whose re-rendering would differ is kept
/// whole as the function name, so writing the profile back gives the same text.
pub fn parse_frame(name: &str) -> Frame {
    // Thread and process roots (`thread (0x7F…)`) look like `func (file)` but are names.
    if super::classify(name) != super::FrameKind::Python {
        return Frame::new(name, "", None);
    }
    if let Some(inner) = name.strip_suffix(')') {
        if let Some(open) = inner.find(" (") {
            let func = &inner[..open];
            let loc = &inner[open + 2..];
            let (file, line) = match loc.rsplit_once(':') {
                Some((f, l)) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
                    (f, l.parse::<u32>().ok())
                }
                _ => (loc, None),
            };
            let frame = Frame::new(func, file, line);
            if !func.is_empty() && !file.is_empty() && frame.label() == name {
                return frame;
            }
        }
    }
    Frame::new(name, "", None)
}

/// Writes stacks as folded lines (integers when the weights are whole numbers). Stacks are written in the
/// profile's order, so a folded file read and written back is byte-identical (line endings normalised to
/// `\n`).
pub fn write(profile: &Profile, out: &mut dyn Write) -> std::io::Result<()> {
    let labels: Vec<String> = profile.frames.iter().map(Frame::label).collect();
    let mut line = String::new();
    for stack in &profile.stacks {
        line.clear();
        for (i, &f) in stack.frames.iter().enumerate() {
            if i > 0 {
                line.push(';');
            }
            line.push_str(&labels[f as usize]);
        }
        line.push(' ');
        line.push_str(&format_weight(stack.weight));
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Whole numbers without a fraction, others with the shortest exact representation.
pub fn format_weight(w: f64) -> String {
    if w.fract() == 0.0 && w.abs() < 1e15 {
        format!("{}", w as i64)
    } else {
        format!("{w}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_render_back() {
        for s in [
            "inner (nested.py:6)",
            "<module> (<frozen importlib._bootstrap>:1176)",
            "func (file.py)",
            "thread (0x7F35F9F6F740): MainThread",
            "thread (9049)",
            "process 123:\"python x.py\"",
            "0x7f3a (libc.so.6)",
            "main",
            "perl`foo (bar",
            "a (b:c:12)",
            " (x:1)",
        ] {
            assert_eq!(parse_frame(s).label(), s);
        }
        let f = parse_frame("inner (dir (x)/nested.py:6)");
        assert_eq!(
            (f.function.as_str(), f.file.as_str(), f.line),
            ("inner", "dir (x)/nested.py", Some(6))
        );
        assert_eq!(
            parse_frame("thread (0x7F): Main").kind,
            super::super::FrameKind::Thread
        );
        assert_eq!(
            parse_frame("thread (9049)").kind,
            super::super::FrameKind::Thread
        );
        assert_eq!(
            parse_frame("process 12:\"py\"").kind,
            super::super::FrameKind::Process
        );
    }

    /// The line-by-line read: the whole input as one chunk.
    fn sequential(data: &[u8]) -> Result<Profile> {
        let mut names = Names::default();
        let parsed = parse_chunk(data, &mut names);
        finish(vec![(0, 0, parsed)], vec![names], Path::new("t"))
    }

    /// Hands out at most `step` bytes per read, to cut lines and characters at every place.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn text(lines: usize, seed: u64) -> String {
        let names = [
            "main (app.py:3)",
            "parse (lib/p.py:10)",
            "thread (0x7F): MainThread",
            "a b (c.py:1)",
            "x",
            "größe (módulo.py:7)",
            "",
        ];
        let mut state = seed;
        let mut out = String::new();
        for i in 0..lines {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let depth = (state >> 40) as usize % 5;
            let stack: Vec<&str> = (0..depth)
                .map(|d| names[(state >> (d * 3)) as usize % names.len()])
                .collect();
            let sep = if i % 7 == 0 { "\t" } else { " " };
            let end = if i % 5 == 0 { "\r\n" } else { "\n" };
            out.push_str(&format!("{}{sep}{}{end}", stack.join(";"), 1 + i % 9));
            if i % 11 == 0 {
                out.push_str(if i % 2 == 0 { "\n" } else { "  \n" });
            }
        }
        out
    }

    fn same(a: Result<Profile>, b: &Result<Profile>, what: &str) {
        match (&a, b) {
            (Ok(x), Ok(y)) => assert!(x == y, "{what}"),
            (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string(), "{what}"),
            _ => panic!("{what}: {:?} vs {:?}", a.is_ok(), b.is_ok()),
        }
    }

    #[test]
    fn chunks_and_threads_read_like_one_pass() {
        let long = format!("{} 4\n", vec!["deep (d.py:1)"; 200].join(";"));
        let mut inputs = vec![text(400, 1), text(300, 2) + &long + "last 1"];
        // Errors: a bad count, a line without a count, invalid UTF-8 after a bad line (UTF-8 wins).
        let good = text(200, 3);
        inputs.push(format!("{good}a;b x\n{good}"));
        inputs.push(format!("{good}no_count_here\n{good}"));
        let mut bad = format!("{good}a;b x\n{good}").into_bytes();
        bad.extend_from_slice(b"a;\xff 1\n");
        for data in inputs.iter().map(|s| s.as_bytes().to_vec()).chain([bad]) {
            let want = sequential(&data);
            for chunk in [1, 7, 64, 1000] {
                for threads in [1, 2, 3] {
                    let what = format!("chunk {chunk}, {threads} threads");
                    same(
                        read_chunked(&data, Path::new("t"), chunk, threads),
                        &want,
                        &what,
                    );
                    let split = (chunk * 3).min(data.len());
                    let mut r = Trickle(&data[split..], chunk / 3 + 1);
                    let got = read_stream_chunked(
                        &mut r,
                        data[..split].to_vec(),
                        Path::new("t"),
                        &|e| Error::io("t", e),
                        chunk,
                        threads,
                    );
                    same(got, &want, &format!("stream, {what}"));
                }
            }
        }
        let e = sequential(inputs[2].as_bytes()).unwrap_err().to_string();
        let at = format!(
            ":{}: byte {}:",
            good.matches('\n').count() + 1,
            good.len() + 4
        );
        assert!(e.contains(&at), "{e}");
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("12"), Some(12.0));
        assert_eq!(parse_count("0.5"), Some(0.5));
        assert_eq!(parse_count("-1"), None);
        assert_eq!(parse_count("inf"), None);
        assert_eq!(parse_count("x"), None);
    }
}
