//! Opening inputs (plain, gzip, zstd) and cutting a file into blocks at record boundaries.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::fast::{self, FxTable};
use crate::{Error, Result};

/// Counts bytes read from the file on disk (for the progress bar, compressed or not).
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens a CSV input, decompressing by extension (`.gz`: every member; `.zst`: every frame).
pub fn open(path: &Path, counter: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let raw = Counting {
        inner: file,
        counter,
    };
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            raw,
        )))
    } else if name.ends_with(".zst") {
        Box::new(zstd::Decoder::new(raw).map_err(|e| Error::io(path, e))?)
    } else {
        Box::new(raw)
    })
}

/// Finds `DIR/NAME.csv`, `.csv.gz` or `.csv.zst`.
pub fn find_table(dir: &Path, name: &str) -> Result<PathBuf> {
    for ext in ["csv", "csv.gz", "csv.zst"] {
        let p = dir.join(format!("{name}.{ext}"));
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::io(
        dir.join(format!("{name}.csv")),
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "dimension table not found (.csv, .csv.gz or .csv.zst)",
        ),
    ))
}

/// The fact files: `DIR/orders/part-*.csv[.gz|.zst]`, sorted by name (the order that "first wins" follows).
pub fn fact_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let orders = dir.join("orders");
    let entries = std::fs::read_dir(&orders).map_err(|e| Error::io(&orders, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with("part-")
                && (n.ends_with(".csv") || n.ends_with(".csv.gz") || n.ends_with(".csv.zst"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::io(
            &orders,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no part-*.csv files"),
        ));
    }
    Ok(files)
}

/// Quoted spans of `buf` (which starts at a record boundary), read as csv-core reads RFC 4180: a quote opens a
/// quoted field only at the start of a field (elsewhere it is an ordinary character); inside, a doubled quote is
/// a literal quote and a single one closes the field. Returns the closed spans `(open, close)` and the position
/// of a quote still open at the end, if any.
pub fn quoted_spans(buf: &[u8]) -> (Vec<(usize, usize)>, Option<usize>) {
    let mut spans = Vec::new();
    let open = walk_quotes(buf, |o, c| spans.push((o, c)));
    (spans, open)
}

/// The quoted spans of `buf` in order, each given to `span(open, close)`; returns the position of a quote still
/// open at the end. Only the quotes are visited, found sixteen bytes at a time (this runs on every block).
fn walk_quotes(buf: &[u8], mut span: impl FnMut(usize, usize)) -> Option<usize> {
    let mut open: Option<usize> = None;
    // The second quote of a doubled quote (a literal quote inside a quoted field).
    let mut skip = usize::MAX;
    let mut visit = |p: usize| {
        if p == skip {
            return;
        }
        match open {
            None if opens_field(buf, p) => open = Some(p),
            None => {}
            Some(_) if buf.get(p + 1) == Some(&b'"') => skip = p + 1,
            Some(o) => {
                span(o, p);
                open = None;
            }
        }
    };
    let mut base = 0;
    #[cfg(target_arch = "x86_64")]
    while base + 16 <= buf.len() {
        let mut quotes = super::records::masks16(buf, base).quotes;
        while quotes != 0 {
            visit(base + quotes.trailing_zeros() as usize);
            quotes &= quotes - 1;
        }
        base += 16;
    }
    for p in memchr::memchr_iter(b'"', &buf[base..]) {
        visit(base + p);
    }
    open
}

/// True when position `p` starts a field: after a comma, or at the start of a record. A record starts at the
/// start of `buf` or after a newline, and blank lines and lone `\r`s before it are skipped (as the parser
/// skips them), so a quote after `\n\r\r` opens a field too.
fn opens_field(buf: &[u8], p: usize) -> bool {
    let before = &buf[..p];
    if before.last() == Some(&b',') {
        return true;
    }
    let rest = before.len() - before.iter().rev().take_while(|&&b| b == b'\r').count();
    rest == 0 || buf[rest - 1] == b'\n'
}

/// True when `buf` (starting at a record boundary) ends inside a quoted field.
pub fn ends_in_quotes(buf: &[u8]) -> bool {
    quoted_spans(buf).1.is_some()
}

/// The end of the last complete record in `buf` (just after a `\n` outside quoted fields), if any. `buf`
/// starts at a record boundary. This runs on every block, so it keeps only the last few quoted spans, not a
/// list of them all; the line end is then found backwards.
pub fn last_record_end(buf: &[u8]) -> Option<usize> {
    const RING: usize = 64;
    let mut ring = [(0usize, 0usize); RING];
    let mut spans = 0usize;
    let open = walk_quotes(buf, |o, c| {
        ring[spans % RING] = (o, c);
        spans += 1;
    });
    // The last line end before the open quote (if any) and outside every closed span.
    let mut limit = open.unwrap_or(buf.len());
    let mut k = spans;
    while let Some(nl) = memchr::memrchr(b'\n', &buf[..limit]) {
        // The newest span opening before the line end.
        while k > 0 && spans - k < RING && ring[(k - 1) % RING].0 > nl {
            k -= 1;
        }
        if k > 0 && spans - k >= RING {
            // Older spans than the ring keeps: read them all (never seen on real data).
            return last_record_end_by_spans(buf);
        }
        match k.checked_sub(1).map(|j| ring[j % RING]) {
            Some((o, c)) if nl < c => {
                limit = o;
                k -= 1;
            }
            _ => return Some(nl + 1),
        }
    }
    None
}

/// A likely end of a complete record near the end of `buf` (which starts at a record boundary), found without
/// reading the block: a line end followed by a record the fast path accepts whole. Reading every byte of every
/// block here, to know which line ends are inside quoted fields, cost a tenth of the run's CPU time.
///
/// It is a guess: a line break inside a quoted field, followed by text that reads as a good record, fools it.
/// Whoever reads the block then finds its last record unfinished (see `Output::unfinished` in the pipeline), and
/// that stretch is read again from the true record start. After 64 rejected line ends (dirty data), it falls
/// back to the exact `last_record_end`.
pub fn likely_record_end(buf: &[u8], fx: &FxTable) -> Option<usize> {
    let mut limit = buf.len();
    for _ in 0..64 {
        let Some(nl) = memchr::memrchr(b'\n', &buf[..limit]) else {
            break;
        };
        if fast::record(buf, nl + 1, fx).is_some() {
            return Some(nl + 1);
        }
        limit = nl;
    }
    last_record_end(buf)
}

/// Where the record that is open at the start of `buf` ends: `buf` starts inside one of its quoted fields (just
/// after a line break that the field holds). Returns the position just after its first line break outside
/// quotes, if `buf` has one. Reads as `walk_quotes` does: the field closes at a quote that is not doubled, and
/// after that a quote opens a field only after a comma (a record start would come after a line break, which
/// already ended the record).
pub fn end_of_open_record(buf: &[u8]) -> Option<usize> {
    let mut p = 0;
    loop {
        // Inside a quoted field: to its closing quote.
        p = super::records::closing_quote(buf, p)?.0 + 1;
        // Outside: the first line break, unless a quoted field opens before it.
        loop {
            let at = p + memchr::memchr2(b'\n', b'"', &buf[p..])?;
            p = at + 1;
            if buf[at] == b'\n' {
                return Some(p);
            }
            if buf[at - 1] == b',' {
                break;
            }
        }
    }
}

/// `last_record_end` from the list of every span (the fallback, and what the tests hold it to).
fn last_record_end_by_spans(buf: &[u8]) -> Option<usize> {
    let (spans, open) = quoted_spans(buf);
    let mut limit = open.unwrap_or(buf.len());
    while let Some(nl) = memchr::memrchr(b'\n', &buf[..limit]) {
        // Inside a closed quoted span? Spans are sorted: find the last one opening before the newline.
        let i = spans.partition_point(|s| s.0 < nl);
        match i.checked_sub(1).map(|j| spans[j]) {
            Some((o, c)) if nl < c => limit = o,
            _ => return Some(nl + 1),
        }
    }
    None
}

/// Nothing but line breaks (blank lines and lone CRs, which are not records).
fn blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b'\n' || b == b'\r')
}

/// A block of whole records of one file.
#[derive(Debug, Default)]
pub struct Block {
    pub file: usize,
    /// Offset of the block's first byte in the (uncompressed) file.
    pub offset: u64,
    /// The buffer: `data[..len]` is the block, the rest is spare (kept for reuse). For a mapped block it only
    /// stands for one of the pool's places (so that as many blocks exist at once either way).
    pub data: Vec<u8>,
    /// A mapped block: the map and where the block starts in it.
    pub map: Option<(memmap2::Mmap, usize)>,
    pub len: usize,
    pub first: bool,
    pub last: bool,
}

impl Block {
    pub fn bytes(&self) -> &[u8] {
        match &self.map {
            Some((map, start)) => &map[*start..*start + self.len],
            None => &self.data[..self.len],
        }
    }
}

/// Whether `path` can be read through memory maps: a plain (uncompressed) regular file.
pub fn mappable(path: &Path) -> bool {
    let name = path.to_string_lossy();
    !name.ends_with(".gz") && !name.ends_with(".zst") && path.metadata().is_ok_and(|m| m.is_file())
}

/// `split` for a plain file, without copying it: each block is a read-only map of the file's pages (mapped
/// and cut here, unmapped when the block is done, so only the blocks in flight are resident). Reading the
/// bytes through `read` copied every one of them once more: a tenth of the whole run's CPU time. Blocks end
/// where `cut` says: `last_record_end`, or the guess of `likely_record_end`.
///
/// Like every memory-mapped reader, a file truncated by another process while it is read can end the run
/// with SIGBUS; `--no-mmap` reads with `read` instead.
pub fn split_mapped(
    file: usize,
    path: &Path,
    counter: &AtomicU64,
    block_size: usize,
    cut: impl Fn(&[u8]) -> Option<usize>,
    mut take_buf: impl FnMut() -> Vec<u8>,
    mut emit: impl FnMut(Block) -> Result<()>,
) -> Result<()> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let size = f.metadata().map_err(|e| Error::io(path, e))?.len();
    // SAFETY: sysconf has no preconditions.
    let page = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(4096) as u64;
    let (mut offset, mut first) = (0u64, true);
    loop {
        let mut target = block_size.max(1) as u64;
        let (map, skip, len, last) = loop {
            let end = (offset + target).min(size);
            if end == offset {
                // An empty file: one empty block, as `split` gives.
                break (None, 0, 0, true);
            }
            let aligned = offset / page * page;
            // SAFETY: the map is read-only and private to this block; see the doc comment for truncation.
            let map = unsafe {
                memmap2::MmapOptions::new()
                    .offset(aligned)
                    .len((end - aligned) as usize)
                    .populate()
                    .map(&f)
            }
            .map_err(|e| Error::io(path, e))?;
            let skip = (offset - aligned) as usize;
            if end == size {
                break (Some(map), skip, (end - offset) as usize, true);
            }
            match cut(&map[skip..]) {
                Some(cut) if !blank(&map[skip + cut..]) => break (Some(map), skip, cut, false),
                // As in `split`: a record longer than the block, or only line breaks after the cut.
                _ => target *= 2,
            }
        };
        counter.fetch_add(len as u64, Ordering::Relaxed);
        emit(Block {
            file,
            offset,
            data: take_buf(),
            map: map.map(|m| (m, skip)),
            len,
            first,
            last,
        })?;
        if last {
            return Ok(());
        }
        offset += len as u64;
        first = false;
    }
}

/// Reads `reader` and calls `emit` with blocks of about `block_size` bytes that end at record boundaries (found
/// by `last_record_end`: these bytes were just copied, so scanning them is cheap). `take_buf` supplies recycled
/// buffers (so memory stays bounded).
pub fn split(
    file: usize,
    path: &Path,
    mut reader: Box<dyn Read + Send>,
    block_size: usize,
    mut take_buf: impl FnMut() -> Vec<u8>,
    mut emit: impl FnMut(Block) -> Result<()>,
) -> Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut offset = 0u64;
    let mut first = true;
    loop {
        // Recycled buffers stay initialized to their full length (`Block::len` says how much is data), so
        // only new memory is ever zeroed: clearing and regrowing would write every byte twice.
        let mut buf = take_buf();
        let mut filled = carry.len();
        if buf.len() < filled {
            buf.resize(filled, 0);
        }
        buf[..filled].copy_from_slice(&carry);
        carry.clear();
        let mut target = block_size.max(1);
        let mut eof = false;
        loop {
            if buf.len() < target {
                buf.resize(target, 0);
            }
            while filled < target {
                let n = match reader.read(&mut buf[filled..target]) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(path, e)),
                };
                if n == 0 {
                    eof = true;
                    break;
                }
                filled += n;
            }
            if eof {
                break;
            }
            match last_record_end(&buf[..filled]) {
                Some(cut) if !blank(&buf[cut..filled]) => {
                    carry.extend_from_slice(&buf[cut..filled]);
                    filled = cut;
                    break;
                }
                // One record longer than the block, or nothing but line breaks after the cut (which may be the
                // file's end: then this block holds its last record and must say so): read more.
                _ => target *= 2,
            }
        }
        let len = filled as u64;
        emit(Block {
            file,
            offset,
            data: buf,
            map: None,
            len: filled,
            first,
            last: eof,
        })?;
        if eof {
            return Ok(());
        }
        offset += len;
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `end_of_open_record` against the list of quoted spans of the whole text (the record opened by a prefix).
    #[test]
    fn open_record_ends_where_the_spans_say() {
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"ab,\"\n\r";
        for case in 0..5000 {
            let prefix: &[u8] = if case % 2 == 0 { b"1,\"x\n" } else { b"\"\n" };
            let len = (next() % 40) as usize;
            let tail: Vec<u8> = (0..len).map(|_| alphabet[(next() % 6) as usize]).collect();
            let text = [prefix, &tail].concat();
            let (spans, open) = quoted_spans(&text);
            // The first line break after the prefix outside every closed span and before a still-open quote.
            let oracle = (prefix.len()..text.len())
                .filter(|&i| text[i] == b'\n')
                .find(|&i| {
                    !spans.iter().any(|&(o, c)| o < i && i < c) && open.is_none_or(|o| i < o)
                })
                .map(|i| i + 1 - prefix.len());
            assert_eq!(
                end_of_open_record(&tail),
                oracle,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn cuts_outside_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne"), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny\"\nc,\"open\nmore"), Some(8));
        assert_eq!(last_record_end(b"a,\"say \"\"hi\"\"\"\nb"), Some(15));
        assert_eq!(last_record_end(b"no newline"), None);
        assert_eq!(last_record_end(b"\"all\ninside"), None);
        // A quote inside an unquoted field is an ordinary character (as csv-core reads it).
        assert_eq!(last_record_end(b"a,size 3\" only\nb,\"x\ny\"\nc"), Some(23));
        assert!(!ends_in_quotes(b"3,size 3\" only\n"));
        // Lone CRs before a record are skipped by the parser, so the quote after them opens a field.
        assert_eq!(last_record_end(b"1,a\n\r\"13\n\",b\nc"), Some(13));
        assert!(ends_in_quotes(b"1,a\n\r\r\"open\nmore"));
        assert!(!ends_in_quotes(b"1,a\rb\"x\n"));
        assert!(ends_in_quotes(b"3,\"open\nmore"));
        assert!(!ends_in_quotes(b"3,\"say \"\"hi\"\"\"\n"));
    }

    /// The mask walk and the span list agree on random texts of quotes, commas, line ends and CRs, at every
    /// length (so that doubled quotes and line ends fall on both sides of every chunk boundary).
    #[test]
    fn mask_walk_agrees_with_spans() {
        let alphabet = b"\"\",\n\ra\"";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        // Over a hundred multi-line quoted fields in a row, then an open one: more spans than the ring keeps.
        let mut many = b"1,x\n".to_vec();
        for _ in 0..150 {
            many.extend_from_slice(b"\"a\nb\",");
        }
        many.extend_from_slice(b"\"open\n");
        assert_eq!(last_record_end(&many), Some(4));
        let mut texts: Vec<Vec<u8>> = vec![
            many,
            b"a,\"x\ny\"\nc,\"open\nmore".to_vec(),
            b"1,a\n\r\"13\n\",b\nc".to_vec(),
            b"0123456789abcde\"\"\"\n\",x\n".to_vec(),
        ];
        for _ in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 70) as usize;
            let text = (0..len)
                .map(|i| alphabet[((state >> (i % 60)) as usize + i * 7) % alphabet.len()])
                .collect();
            texts.push(text);
        }
        // The quote walk against the plain one it replaced (every quote found by memchr, in one list).
        let plain = |buf: &[u8]| {
            let quotes: Vec<usize> = memchr::memchr_iter(b'"', buf).collect();
            let (mut spans, mut open, mut k) = (Vec::new(), None, 0);
            while k < quotes.len() {
                let p = quotes[k];
                match open {
                    None => {
                        if opens_field(buf, p) {
                            open = Some(p);
                        }
                        k += 1;
                    }
                    Some(_) if k + 1 < quotes.len() && quotes[k + 1] == p + 1 => k += 2,
                    Some(o) => {
                        spans.push((o, p));
                        open = None;
                        k += 1;
                    }
                }
            }
            (spans, open)
        };
        for t in &texts {
            for start in 0..t.len().min(20) {
                assert_eq!(quoted_spans(&t[start..]), plain(&t[start..]));
                let b = &t[start..];
                assert_eq!(
                    last_record_end(b),
                    last_record_end_by_spans(b),
                    "{:?}",
                    String::from_utf8_lossy(b)
                );
            }
        }
    }

    /// Mapped blocks are the blocks `split` reads, byte for byte, for a file with long quoted records and
    /// several block sizes (some smaller than a record), and for an empty file.
    #[test]
    fn mapped_blocks_equal_read_blocks() {
        let dir = std::env::temp_dir().join(format!("etlkit-map-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = Vec::new();
        for i in 0..3000 {
            text.extend_from_slice(format!("{i},\"note\nwith, newline {i}\",x\n").as_bytes());
            if i % 500 == 0 {
                text.extend_from_slice(format!("{i},\"{}\"\n", "long ".repeat(3000)).as_bytes());
            }
        }
        text.extend_from_slice(b"last,no newline");
        // A file whose last record is followed only by line breaks, at every block size around its length: the
        // block with that record is the last one, whichever way the file is read (found by review: `split`
        // gave an extra block of only "\r", so the record was not treated as the file's last).
        let tail = b"h\n1,2\n3,4,5\n\r".to_vec();
        for block in 1..tail.len() + 3 {
            let path = dir.join("tail.csv");
            std::fs::write(&path, &tail).unwrap();
            let mut read = Vec::new();
            let reader = Box::new(std::io::Cursor::new(tail.clone()));
            split(0, &path, reader, block, Vec::new, |b| {
                read.push((b.offset, b.bytes().to_vec(), b.last));
                Ok(())
            })
            .unwrap();
            let mut mapped = Vec::new();
            split_mapped(
                0,
                &path,
                &AtomicU64::new(0),
                block,
                last_record_end,
                Vec::new,
                |b| {
                    mapped.push((b.offset, b.bytes().to_vec(), b.last));
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(mapped, read, "block {block}");
            let last = read.last().unwrap();
            assert!(
                last.2 && last.1.ends_with(b"3,4,5\n\r"),
                "block {block}: {read:?}"
            );
        }
        for (name, bytes) in [("t.csv", &text[..]), ("empty.csv", &b""[..])] {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            for block in [100, 4096, 5000, 1 << 20] {
                let (mut read, mut mapped) = (Vec::new(), Vec::new());
                let reader = Box::new(std::io::Cursor::new(bytes.to_vec()));
                split(0, &path, reader, block, Vec::new, |b| {
                    read.push((b.offset, b.bytes().to_vec(), b.first, b.last));
                    Ok(())
                })
                .unwrap();
                let counter = AtomicU64::new(0);
                split_mapped(0, &path, &counter, block, last_record_end, Vec::new, |b| {
                    mapped.push((b.offset, b.bytes().to_vec(), b.first, b.last));
                    Ok(())
                })
                .unwrap();
                assert_eq!(mapped, read, "{name} {block}");
                assert_eq!(counter.into_inner(), bytes.len() as u64);
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn blocks_hold_whole_records_and_cover_the_input() {
        let mut text = Vec::new();
        for i in 0..500 {
            text.extend_from_slice(format!("{i},\"note\nwith, newline {i}\",x\n").as_bytes());
        }
        text.extend_from_slice(b"last,\"unterminated");
        let mut blocks = Vec::new();
        split(
            0,
            Path::new("t"),
            Box::new(std::io::Cursor::new(text.clone())),
            100,
            // Recycled buffers hold old bytes past `len`: they must never leak into a block.
            || vec![b'#'; 300],
            |b| {
                blocks.push(b);
                Ok(())
            },
        )
        .unwrap();
        let joined: Vec<u8> = blocks.iter().flat_map(|b| b.bytes().to_vec()).collect();
        assert_eq!(joined, text);
        assert!(blocks.len() > 10);
        assert!(blocks[0].first && blocks.last().unwrap().last);
        let mut offset = 0;
        for b in &blocks[..blocks.len() - 1] {
            assert_eq!(b.offset, offset);
            offset += b.len as u64;
            assert!(
                b.bytes().ends_with(b",x\n"),
                "{:?}",
                String::from_utf8_lossy(b.bytes())
            );
        }
    }
}
