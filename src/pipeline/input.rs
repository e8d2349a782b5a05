//! Opening inputs (plain, gzip, zstd) and cutting a file into blocks at record boundaries.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::quotes::last_record_end;
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
