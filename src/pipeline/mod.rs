//! `etlkit pipeline`: the streaming reference ETL for the `orders` scenario (the answer key of the
//! "10 GB CSV" exercise, `exercises/etl_10gb/README.md`).
//!
//! One reader thread cuts each fact file into ~4 MiB blocks at record boundaries (quote-aware); worker threads
//! parse, validate, clean, price and count the records of a block (see `totals`); the calling thread takes the
//! blocks' results back in file order, streams rejects, and drops duplicate order ids (a bitmap: ids are dense),
//! taking out what each repeat had added. Buffers are recycled and only as many blocks as there are buffers
//! exist at once, so memory stays bounded.

mod dims;
mod fast;
mod input;
#[cfg(feature = "polars")]
mod polars_engine;
mod records;
pub mod rules;
#[cfg(feature = "pprof")]
pub mod selfprof;
mod totals;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::bounded;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::generate::scenario::ORDER_COLUMNS;
use crate::{Error, Result};
use dims::Dimensions;
use fast::{Clean, Fast, FxTable};
use input::Block;
use records::{Fields, Records};
use rules::RejectKind;
use totals::{Corrections, Customers, Partial, Seen, Totals, Valid};

/// How many customers `top_customers.csv` lists.
pub const TOP_CUSTOMERS: usize = 100;
/// Raw lines in `rejects.csv` are cut to this many bytes.
pub const RAW_LIMIT: usize = 200;

/// Which engine runs the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Engine {
    /// The streaming Rust reference (csv crate, all cores, bounded memory).
    #[default]
    Csv,
    /// The same spec on polars (lazy + streaming); needs the `polars` cargo feature.
    Polars,
}

named_values!(Engine, "engine", {
    Csv => "csv",
    Polars => "polars",
});

/// Options of a pipeline run.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub engine: Engine,
    /// The dataset directory (`orders/part-*.csv` and the dimension tables).
    pub data: PathBuf,
    /// Where the outputs go (created; existing outputs are replaced atomically).
    pub out: PathBuf,
    pub threads: usize,
    /// Bytes per block handed to a worker.
    pub block_size: usize,
    /// Stop at the first rejected record with an error naming it.
    pub fail_fast: bool,
    /// Read plain files through memory maps (no copy); `false` reads them with `read`.
    pub mmap: bool,
    pub progress: bool,
    pub cancel: Option<Arc<AtomicBool>>,
}

impl PipelineOptions {
    pub fn new(data: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        PipelineOptions {
            engine: Engine::Csv,
            data: data.into(),
            out: out.into(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            block_size: 4 << 20,
            fail_fast: false,
            mmap: true,
            progress: false,
            cancel: None,
        }
    }
}

/// `summary.json`. The counts are the same for every correct engine; `elapsed_seconds` and `mb_per_s` are not.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub engine: String,
    pub files: u64,
    pub bytes_read: u64,
    pub rows_read: u64,
    /// Rows that passed validation and were not duplicates (cancelled ones included).
    pub valid: u64,
    pub rejected: u64,
    pub rejected_by_kind: BTreeMap<String, u64>,
    pub duplicates_dropped: u64,
    /// Valid rows with status `cancelled` (left out of revenue).
    pub cancelled: u64,
    pub revenue_usd_cents: u64,
    pub elapsed_seconds: f64,
    pub mb_per_s: f64,
    /// Blocks read a second time because the reader's guessed cut before them fell inside a quoted field (not
    /// part of `summary.json`: it says how the work was split, not what the data holds).
    #[serde(skip)]
    pub rereads: u64,
    /// Bytes those reads went through. A byte is read again at most twice (in the stretch after the wrong cut
    /// before it, and after the next one when that stretch ends unfinished past it), so this stays within twice
    /// the input; a quote that never closed once made it quadratic.
    #[serde(skip)]
    pub reread_bytes: u64,
}

#[derive(Debug)]
struct Reject {
    offset: u64,
    line: u64,
    kind: RejectKind,
    column: &'static str,
    raw: Vec<u8>,
}

/// What a worker makes of a block.
#[derive(Debug, Default)]
struct Output {
    valid: Vec<Valid>,
    rejects: Vec<Reject>,
    newlines: u64,
    rows: u64,
    /// Where the block's last record starts when it is still inside a quoted field at the block's end (not the
    /// file's): the reader's guessed cut fell inside that field. Nothing from there on is counted.
    unfinished: Option<usize>,
}

/// Rows read by the fast path before their joins and counts: the customers' counters they will touch are
/// prefetched meanwhile, so that those cache misses overlap.
const BATCH: usize = 32;

/// Parses, validates and counts one block (see `totals`). Errors only for a file whose header is not the
/// expected one.
#[allow(clippy::too_many_arguments)]
fn process(
    block: &Block,
    path: &Path,
    dims: &Dimensions,
    fx: &FxTable,
    out: &mut Output,
    partial: &mut Partial,
    customers: &Customers,
) -> Result<()> {
    out.valid.clear();
    out.rejects.clear();
    out.rows = 0;
    out.unfinished = None;
    let data = block.bytes();
    let base = if block.first && data.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let mut records = Records::new(data, base);
    if block.first {
        if let Some(header) = records.next_record() {
            if header
                .fields
                .iter()
                .ne(ORDER_COLUMNS.iter().map(|c| c.as_bytes()))
            {
                return Err(Error::BadInput {
                    path: path.to_path_buf(),
                    line: 1,
                    offset: base as u64,
                    message: format!("expected the header {}", ORDER_COLUMNS.join(",")),
                });
            }
        }
    }
    let mut pos = records.pos();
    // Lines are counted as the records go by (every `\n` is in a record or a skipped blank line).
    out.newlines = memchr::memchr_iter(b'\n', &data[..pos]).count() as u64;
    // A file that does not end with a newline has a last record that may be cut short.
    let unterminated_file = block.last && !data.ends_with(b"\n");
    let mut lines = LineCounter::default();
    let mut batch = [Fast::default(); BATCH];
    let mut at = [0; BATCH];
    while pos < data.len() {
        let mut n = 0;
        while n < BATCH {
            ahead(data, pos);
            let Some(f) = fast::record(data, pos, fx) else {
                break;
            };
            customers.prefetch(f.clean.customer_id);
            batch[n] = f;
            n += 1;
            pos = f.next;
            out.newlines += f.newlines as u64;
            if pos >= data.len() {
                break;
            }
        }
        // Joins and money (the customers' lines are in cache by now), then the counts (their lines asked for
        // meanwhile).
        let (first, mut m) = (out.valid.len(), 0);
        for f in &batch[..n] {
            out.rows += 1;
            match finish(&f.clean, dims, customers) {
                Ok(v) => {
                    at[m] = partial.prepare(&v);
                    m += 1;
                    out.valid.push(v);
                }
                Err((kind, column)) => {
                    lines.reject(out, data, f.start, f.end, kind, column);
                }
            }
        }
        for (v, &at) in out.valid[first..].iter().zip(&at[..m]) {
            partial.add_prepared(v, at, customers);
        }
        if n == BATCH || pos >= data.len() {
            continue;
        }
        // A record the fast path does not take: the general reader and the rules in order.
        records.seek(pos);
        let Some(rec) = records.next_record() else {
            break;
        };
        let (start, end) = (rec.start, rec.end);
        let raw = &data[start..end];
        if rec.last && !block.last && input::ends_in_quotes(raw) {
            out.unfinished = Some(start);
            break;
        }
        out.rows += 1;
        let tail = rec.last && block.last;
        let result = check(&rec.fields, raw, tail, tail && unterminated_file, dims)
            .and_then(|c| finish(&c, dims, customers));
        pos = records.pos();
        out.newlines += memchr::memchr_iter(b'\n', &data[start..pos]).count() as u64;
        match result {
            Ok(v) => {
                partial.add(&v, customers);
                out.valid.push(v);
            }
            Err((kind, column)) => lines.reject(out, data, start, end, kind, column),
        }
    }
    debug_assert_eq!(
        out.newlines,
        memchr::memchr_iter(b'\n', &data[..out.unfinished.unwrap_or(data.len())]).count() as u64
    );
    Ok(())
}

/// How far ahead: 1 KiB to 8 KiB all gained about 5% of the run (1 GB, 2 cores), 4 KiB the most.
const AHEAD: usize = 4096;

/// Asks for the block's bytes a little ahead of the reader: the worker is the first to read them (the reader
/// only maps them), and the hardware's own prefetching stops at every 4 KiB page.
#[inline(always)]
fn ahead(data: &[u8], pos: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = data.get(pos + AHEAD) {
        // SAFETY: a prefetch is only a hint; the pointer is to a live byte.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(b as *const u8 as *const i8);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, pos);
}

/// Line numbers of rejects within a block, counted only up to each reject (rejects are rare).
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: u64,
}

impl LineCounter {
    fn reject(
        &mut self,
        out: &mut Output,
        data: &[u8],
        start: usize,
        end: usize,
        kind: RejectKind,
        column: &'static str,
    ) {
        self.line += memchr::memchr_iter(b'\n', &data[self.pos..start]).count() as u64;
        self.pos = start;
        let raw = &data[start..end];
        let mut shown = raw.strip_suffix(b"\n").unwrap_or(raw);
        shown = shown.strip_suffix(b"\r").unwrap_or(shown);
        out.rejects.push(Reject {
            offset: start as u64,
            line: self.line,
            kind,
            column,
            raw: shown[..shown.len().min(RAW_LIMIT)].to_vec(),
        });
    }
}

/// The exercise's rules 1 to 9 for one fact record, in order; the first that fails names the reject kind.
#[inline]
pub(super) fn check(
    rec: &Fields<'_>,
    raw: &[u8],
    tail: bool,
    cut_short: bool,
    dims: &Dimensions,
) -> std::result::Result<Clean, (RejectKind, &'static str)> {
    use RejectKind::*;
    if tail {
        // End of file inside a quoted field (quotes read as csv-core reads them).
        if input::ends_in_quotes(raw) {
            return Err((UnterminatedQuote, ""));
        }
        if cut_short && rec.len() != 10 {
            return Err((TruncatedRow, ""));
        }
    }
    if rec.len() != 10 {
        return Err((FieldCount, ""));
    }
    // Most records are ASCII: one fast scan of the raw bytes spares a UTF-8 check per field.
    // Valid UTF-8 as a whole means every field is (they are cut at ASCII commas and quotes), so the
    // per-field check only runs to name the column of a bad record.
    if !raw.is_ascii() && std::str::from_utf8(raw).is_err() {
        if let Some(i) = rec.iter().position(|f| std::str::from_utf8(f).is_err()) {
            return Err((InvalidUtf8, ORDER_COLUMNS[i]));
        }
    }
    let num = |i: usize| rules::parse_uint(&rec[i]).ok_or((BadNumber, ORDER_COLUMNS[i]));
    let order_id = num(0)?;
    let customer_id = num(1)?;
    let product_id = num(2)?;
    let quantity = rules::parse_quantity(&rec[3]).ok_or((BadNumber, "quantity"))?;
    let price_cents = rules::parse_price_cents(&rec[4]).ok_or((BadNumber, "unit_price"))?;
    let discount_bp = rules::parse_discount_bp(&rec[5]).ok_or((BadNumber, "discount_pct"))?;
    if quantity <= 0 {
        return Err((BadQuantity, "quantity"));
    }
    let day = rules::parse_ts_utc_day(&rec[7]).ok_or((BadTimestamp, "order_ts"))?;
    let status = rules::parse_status(&rec[8]).ok_or((UnknownStatus, "status"))?;
    let usd_per_unit_micros = dims
        .fx_micros(&rec[6])
        .ok_or((UnknownCurrency, "currency"))?;
    Ok(Clean {
        order_id,
        customer_id,
        product_id,
        quantity: quantity as u64,
        price_cents,
        discount_bp,
        usd_per_unit_micros,
        day: day as i32,
        status,
    })
}

/// Rules 10 and 11 (the joins) and the money, for a record that passed the others.
#[inline(always)]
fn finish(
    c: &Clean,
    dims: &Dimensions,
    customers: &Customers,
) -> std::result::Result<Valid, (RejectKind, &'static str)> {
    use RejectKind::*;
    let (customer, country) = customers
        .lookup(c.customer_id)
        .ok_or((OrphanCustomer, "customer_id"))?;
    let (_, category) = dims
        .products
        .get(c.product_id)
        .ok_or((OrphanProduct, "product_id"))?;
    let gross = c
        .price_cents
        .checked_mul(c.quantity)
        .ok_or((BadNumber, "unit_price"))?;
    let usd_cents = rules::to_usd_cents(
        rules::apply_discount(gross, c.discount_bp),
        c.usd_per_unit_micros,
    )
    .ok_or((BadNumber, "unit_price"))?;
    Ok(Valid {
        order_id: c.order_id,
        usd_cents,
        day: c.day,
        customer,
        units: c.quantity,
        country,
        category,
        status: c.status,
    })
}

fn write_temp(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    crate::atomic::write_with(path, |w| write(w).map_err(|e| Error::io(path, e)))
}

fn io_csv(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::Format {
            path: path.to_path_buf(),
            message: format!("{other:?}"),
        },
    }
}

/// Whether this build has the polars engine and writes Parquet copies of the outputs (the `polars` feature).
pub const HAS_POLARS: bool = cfg!(feature = "polars");

/// Runs the pipeline and writes its outputs; returns the summary (also written as `summary.json`, last).
pub fn run(opts: &PipelineOptions) -> Result<Summary> {
    match opts.engine {
        Engine::Csv => run_csv(opts),
        #[cfg(feature = "polars")]
        Engine::Polars => polars_engine::run(opts),
        #[cfg(not(feature = "polars"))]
        Engine::Polars => Err(Error::InvalidArgument {
            what: "engine",
            value: "polars".into(),
            expected:
                "csv: this build has no `polars` feature (`cargo build --release` in the etlkit \
                       repository builds it with the default features)"
                    .into(),
        }),
    }
}

fn run_csv(opts: &PipelineOptions) -> Result<Summary> {
    let started = Instant::now();
    let dims = dims::load(&opts.data)?;
    let files = input::fact_files(&opts.data)?;
    fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let total_bytes: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let bar = if opts.progress {
        let bar = ProgressBar::new(total_bytes);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}")
                .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let rejects_path = opts.out.join("rejects.csv");
    let rejects_tmp = opts.out.join(".rejects.csv.etlkit-tmp");
    let rejects_file = File::create(&rejects_tmp).map_err(|e| Error::io(&rejects_tmp, e))?;
    let mut rejects = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, rejects_file));
    rejects
        .write_record(["file", "line", "byte_offset", "column", "kind", "raw"])
        .map_err(io_csv(&rejects_tmp))?;
    let mut summary = Summary {
        engine: "csv".into(),
        files: files.len() as u64,
        bytes_read: 0,
        rows_read: 0,
        valid: 0,
        rejected: 0,
        rejected_by_kind: RejectKind::ALL
            .iter()
            .map(|k| (k.name().to_string(), 0))
            .collect(),
        duplicates_dropped: 0,
        cancelled: 0,
        revenue_usd_cents: 0,
        elapsed_seconds: 0.0,
        mb_per_s: 0.0,
        rereads: 0,
        reread_bytes: 0,
    };
    let result = stream(
        opts,
        &dims,
        &files,
        &bar,
        &mut summary,
        &mut |file, line, offset, r: &Reject| {
            let rel = file
                .strip_prefix(&opts.data)
                .unwrap_or(file)
                .to_string_lossy()
                .replace('\\', "/");
            rejects
                .write_record([
                    rel.as_bytes(),
                    itoa::Buffer::new().format(line).as_bytes(),
                    itoa::Buffer::new().format(offset).as_bytes(),
                    r.column.as_bytes(),
                    r.kind.name().as_bytes(),
                    String::from_utf8_lossy(&r.raw).as_bytes(),
                ])
                .map_err(io_csv(&rejects_tmp))
        },
    );
    let totals = match result {
        Ok(t) => t,
        Err(e) => {
            drop(rejects);
            let _ = fs::remove_file(&rejects_tmp);
            bar.abandon();
            return Err(e);
        }
    };
    bar.finish_and_clear();
    rejects.flush().map_err(|e| Error::io(&rejects_tmp, e))?;
    drop(rejects);
    fs::rename(&rejects_tmp, &rejects_path).map_err(|e| Error::io(&rejects_path, e))?;
    summary.valid = totals.valid;
    summary.cancelled = totals.cancelled;
    summary.revenue_usd_cents = totals.revenue;
    write_outputs(opts, &dims, &totals)?;
    #[cfg(feature = "polars")]
    polars_engine::write_parquet_copies(&opts.out)?;
    finish_summary(opts, started, summary)
}

/// Stamps the run's timing on the summary and writes `summary.json`, last (every engine ends here).
fn finish_summary(opts: &PipelineOptions, started: Instant, mut s: Summary) -> Result<Summary> {
    s.elapsed_seconds = started.elapsed().as_secs_f64();
    s.mb_per_s = s.bytes_read as f64 / 1e6 / s.elapsed_seconds.max(1e-9);
    let path = opts.out.join("summary.json");
    write_temp(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &s)?;
        w.write_all(b"\n")
    })?;
    Ok(s)
}

type RejectSink<'a> = dyn FnMut(&Path, u64, u64, &Reject) -> Result<()> + 'a;

/// Reader thread -> workers (parse, validate, count) -> the ordered stage in this thread (duplicates, rejects).
fn stream(
    opts: &PipelineOptions,
    dims: &Dimensions,
    files: &[PathBuf],
    bar: &ProgressBar,
    summary: &mut Summary,
    on_reject: &mut RejectSink<'_>,
) -> Result<Totals> {
    let threads = opts.threads.max(1);
    let buffers = threads * 2 + 2;
    let (pool_tx, pool_rx) = bounded::<Vec<u8>>(buffers);
    for _ in 0..buffers {
        pool_tx
            .send(Vec::with_capacity(opts.block_size + (1 << 16)))
            .expect("room");
    }
    // Outputs go back to the workers too: fresh vectors would page-fault on every block.
    let (spare_tx, spare_rx) = bounded::<Output>(buffers);
    let (block_tx, block_rx) = bounded::<(usize, Block)>(buffers);
    let (done_tx, done_rx) = bounded::<(usize, Block, Result<Output>)>(buffers);
    let stop = AtomicBool::new(false);
    let read_bytes = Arc::new(AtomicU64::new(0));
    let customers = Customers::new(&dims.customer_ids, &dims.customer_country, &dims.customers);
    let fx = FxTable::new(&dims.fx);
    let mut corrections = Corrections::default();
    std::thread::scope(|scope| {
        let reader = {
            let (pool_rx, stop, read_bytes, fx) = (pool_rx.clone(), &stop, read_bytes.clone(), &fx);
            scope.spawn(move || -> Result<()> {
                let mut seq = 0;
                for (i, path) in files.iter().enumerate() {
                    let take = || pool_rx.recv().unwrap_or_default();
                    let send = |b| {
                        if stop.load(Ordering::Relaxed) {
                            return Err(Error::Interrupted);
                        }
                        block_tx.send((seq, b)).map_err(|_| Error::Interrupted)?;
                        seq += 1;
                        Ok(())
                    };
                    // Mapped files: guessed cuts (the workers find out when one was wrong, see `ordered`), as
                    // nothing else reads the bytes before the workers. Read or decompressed ones are cut
                    // exactly by `split`.
                    if opts.mmap && input::mappable(path) {
                        let cut = |b: &[u8]| input::likely_record_end(b, fx);
                        input::split_mapped(
                            i,
                            path,
                            &read_bytes,
                            opts.block_size,
                            cut,
                            take,
                            send,
                        )?;
                    } else {
                        let r = input::open(path, read_bytes.clone())?;
                        input::split(i, path, r, opts.block_size, take, send)?;
                    }
                }
                Ok(())
            })
        };
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (block_rx, done_tx, spare_rx) =
                    (block_rx.clone(), done_tx.clone(), spare_rx.clone());
                let (customers, fx) = (&customers, &fx);
                scope.spawn(move || {
                    let mut partial =
                        Partial::new(dims.countries.names.len(), dims.categories.names.len());
                    while let Ok((seq, block)) = block_rx.recv() {
                        let mut out = spare_rx.try_recv().unwrap_or_default();
                        let path = &files[block.file];
                        // A panic here is a bug, but it must end the run with an error: a worker that just
                        // stopped would leave the ordered stage waiting for its block forever.
                        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            // The test of this path needs a bug: it names its file so (tests only).
                            #[cfg(test)]
                            if path.to_string_lossy().contains("panic-in-worker") {
                                panic!("as the test asked");
                            }
                            process(&block, path, dims, fx, &mut out, &mut partial, customers)
                        }))
                        .unwrap_or_else(|panic| Err(internal(path, &block, panic)))
                        .map(|()| out);
                        if done_tx.send((seq, block, r)).is_err() {
                            break;
                        }
                    }
                    partial
                })
            })
            .collect();
        drop(done_tx);
        drop(block_rx);
        // Blocks read again after a wrong guessed cut are counted here.
        let mut again = Partial::new(dims.countries.names.len(), dims.categories.names.len());
        let result = ordered(
            opts,
            files,
            bar,
            summary,
            &mut corrections,
            on_reject,
            done_rx,
            &pool_tx,
            &spare_tx,
            &read_bytes,
            (dims, &fx, &customers, &mut again),
        );
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(pool_tx);
        drop(pool_rx);
        drop(spare_rx);
        let mut partials: Vec<Partial> = workers
            .into_iter()
            .map(|w| w.join().expect("worker threads do not panic"))
            .collect();
        partials.push(again);
        let reader_result = reader.join().expect("reader thread does not panic");
        result.and(reader_result.or_else(|e| {
            if matches!(e, Error::Interrupted) {
                Ok(())
            } else {
                Err(e)
            }
        }))?;
        Ok(partials)
    })
    .map(|partials| {
        summary.duplicates_dropped = corrections.duplicates;
        Totals::merge(partials, customers, corrections)
    })
}

/// The error for a worker that panicked on a block (a bug): the file, where the block starts, the message.
fn internal(path: &Path, block: &Block, panic: Box<dyn std::any::Any + Send>) -> Error {
    Error::from_panic(
        format_args!("{}: in the block at byte {}", path.display(), block.offset),
        &*panic,
    )
}

/// The ordered stage: blocks in file order; numbers reject lines, drops repeated order ids.
///
/// The reader guesses where blocks end (`input::likely_record_end`). A block read from a true record start
/// proves its guess right or wrong: wrong when its last record is still inside a quoted field at its end
/// (`Output::unfinished`). Then the next block was read from inside that field: its counts are taken back
/// (as a duplicate's are), and the stretch from the unfinished record to that block's end is read again here,
/// from the true start (rare: the guess wants a good record after the cut).
#[allow(clippy::too_many_arguments)]
fn ordered(
    opts: &PipelineOptions,
    files: &[PathBuf],
    bar: &ProgressBar,
    s: &mut Summary,
    corrections: &mut Corrections,
    on_reject: &mut RejectSink<'_>,
    done_rx: crossbeam_channel::Receiver<(usize, Block, Result<Output>)>,
    pool_tx: &crossbeam_channel::Sender<Vec<u8>>,
    spare_tx: &crossbeam_channel::Sender<Output>,
    read_bytes: &AtomicU64,
    (dims, fx, customers, again): (&Dimensions, &FxTable, &Customers, &mut Partial),
) -> Result<()> {
    let mut pending = BTreeMap::new();
    let mut want = 0;
    let mut line_base = 0u64;
    let mut current_file = usize::MAX;
    let mut seen = Seen::default();
    // The unfinished record of the previous block: where it starts in the file, and its bytes.
    let mut carry: Option<(u64, Vec<u8>)> = None;
    while let Ok((seq, block, out)) = done_rx.recv() {
        if opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(Error::Interrupted);
        }
        // An error (a bad header) waits for its turn too: with several files, the one reported must not depend
        // on which worker finished first.
        pending.insert(seq, (block, out));
        while let Some((block, out)) = pending.remove(&want) {
            let out = out?;
            want += 1;
            if block.file != current_file {
                current_file = block.file;
                line_base = 0;
            }
            s.bytes_read += block.len as u64;
            // The previous block's cut was wrong, so this block was read from inside a quoted field: its counts
            // are taken back, and it is read again from the unfinished record on. (A file's last block is never
            // cut by a guess, so a carry never crosses files.)
            let (joined, out) = match carry.take() {
                None => (None, out),
                Some((offset, mut bytes)) => {
                    for v in &out.valid {
                        corrections.take_back(v);
                    }
                    let _ = spare_tx.try_send(out);
                    s.rereads += 1;
                    bytes.extend_from_slice(block.bytes());
                    if !block.last && input::end_of_open_record(block.bytes()).is_none() {
                        // The unfinished record goes on past this block too (a quote that never closes, or a
                        // long quoted field): keep its bytes and read it once its end has come, not once per
                        // block (that was quadratic).
                        carry = Some((offset, bytes));
                        let _ = pool_tx.send(block.data);
                        continue;
                    }
                    let joined = Block {
                        file: block.file,
                        offset,
                        len: bytes.len(),
                        data: bytes,
                        map: None,
                        first: false,
                        last: block.last,
                    };
                    let mut o = Output::default();
                    s.reread_bytes += joined.len as u64;
                    process(
                        &joined,
                        &files[block.file],
                        dims,
                        fx,
                        &mut o,
                        again,
                        customers,
                    )?;
                    (Some(joined), o)
                }
            };
            let counted = joined.as_ref().unwrap_or(&block);
            s.rows_read += out.rows;
            for r in &out.rejects {
                let (line, offset) = (line_base + r.line + 1, counted.offset + r.offset);
                s.rejected += 1;
                *s.rejected_by_kind
                    .entry(r.kind.name().to_string())
                    .or_default() += 1;
                if opts.fail_fast {
                    return Err(Error::BadInput {
                        path: files[block.file].clone(),
                        line,
                        offset,
                        message: format!(
                            "{} in column '{}': {}",
                            r.kind.name(),
                            r.column,
                            String::from_utf8_lossy(&r.raw)
                        ),
                    });
                }
                on_reject(&files[block.file], line, offset, r)?;
            }
            line_base += out.newlines;
            for v in &out.valid {
                if seen.test_and_set(v.order_id) {
                    corrections.add(v);
                }
            }
            if let Some(u) = out.unfinished {
                carry = Some((counted.offset + u as u64, counted.bytes()[u..].to_vec()));
            }
            bar.set_position(read_bytes.load(Ordering::Relaxed));
            if !bar.is_hidden() {
                bar.set_message(format!("{} rows", s.rows_read));
            }
            let _ = pool_tx.send(block.data);
            let _ = spare_tx.try_send(out);
        }
    }
    Ok(())
}

/// The rank of each name in text order (`names[i]` ranks `ranks[i]`-th).
fn text_ranks(names: &[String]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..names.len() as u32).collect();
    order.sort_by_key(|&i| names[i as usize].as_str());
    let mut ranks = vec![0; names.len()];
    for (rank, &i) in order.iter().enumerate() {
        ranks[i as usize] = rank as u32;
    }
    ranks
}

fn write_outputs(opts: &PipelineOptions, dims: &Dimensions, t: &Totals) -> Result<()> {
    // Few distinct days, many groups: format each day once.
    let mut days: Vec<i32> = t
        .daily
        .iter()
        .map(|&(key, ..)| totals::ungroup(key).0)
        .collect();
    days.sort_unstable();
    days.dedup();
    let day_names: Vec<String> = days.iter().map(|&d| rules::format_day(d as i64)).collect();
    // Sorted as text, as the spec says (a date string, then names). Comparing the strings of each pair cost
    // about 100 million instructions for the 50,000 groups of a year, so each part's text order is found
    // once among its few values, and the groups sort by three numbers.
    let (day_rank, country_rank, category_rank) = (
        text_ranks(&day_names),
        text_ranks(&dims.countries.names),
        text_ranks(&dims.categories.names),
    );
    let mut daily: Vec<_> = t
        .daily
        .iter()
        .map(|&(key, orders, units, cents)| {
            let (day, country, category) = totals::ungroup(key);
            let d = days.binary_search(&day).expect("a day of the groups");
            let rank = (day_rank[d] as u64) << 32
                | (country_rank[country as usize] as u64) << 16
                | category_rank[category as usize] as u64;
            (
                rank,
                day_names[d].as_str(),
                dims.countries.names[country as usize].as_str(),
                dims.categories.names[category as usize].as_str(),
                (orders, units, cents),
            )
        })
        .collect();
    // The keys are unique, so unstable is fine.
    daily.sort_unstable_by_key(|g| g.0);
    let path = opts.out.join("daily_revenue.csv");
    write_temp(&path, |w| {
        writeln!(w, "date,country,category,orders,units,revenue_usd_cents")?;
        for (_, date, country, category, (orders, units, cents)) in &daily {
            writeln!(w, "{date},{country},{category},{orders},{units},{cents}")?;
        }
        Ok(())
    })?;
    let mut top: Vec<u32> = (0..dims.customer_ids.len() as u32)
        .filter(|&i| t.customer_orders[i as usize] > 0)
        .collect();
    let rank = |&a: &u32, &b: &u32| {
        t.customer_cents[b as usize]
            .cmp(&t.customer_cents[a as usize])
            .then(dims.customer_ids[a as usize].cmp(&dims.customer_ids[b as usize]))
    };
    // Millions of customers, a hundred wanted: select them first, then sort only those.
    if top.len() > TOP_CUSTOMERS {
        top.select_nth_unstable_by(TOP_CUSTOMERS, rank);
    }
    top.truncate(TOP_CUSTOMERS);
    top.sort_unstable_by(rank);
    top.truncate(TOP_CUSTOMERS);
    let path = opts.out.join("top_customers.csv");
    let mut buf = csv::Writer::from_writer(Vec::new());
    let err = io_csv(&path);
    buf.write_record([
        "rank",
        "customer_id",
        "name",
        "country",
        "orders",
        "revenue_usd_cents",
    ])
    .map_err(&err)?;
    for (rank, &i) in top.iter().enumerate() {
        let i = i as usize;
        buf.write_record([
            (rank + 1).to_string(),
            dims.customer_ids[i].to_string(),
            dims.customer_name(i as u32).to_string(),
            dims.countries.names[dims.customer_country[i] as usize].clone(),
            t.customer_orders[i].to_string(),
            t.customer_cents[i].to_string(),
        ])
        .map_err(&err)?;
    }
    let bytes = buf
        .into_inner()
        .map_err(|e| Error::io(&path, e.into_error()))?;
    write_temp(&path, |w| w.write_all(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker that panics (a bug) ends the run with an error naming the file, instead of leaving the
    /// ordered stage waiting for its block forever (it did: the run hung).
    #[test]
    fn a_panicking_worker_ends_the_run_with_an_error() {
        let t = tempfile::tempdir().unwrap();
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/orders/sample");
        let data = t.path().join("d");
        fs::create_dir_all(data.join("orders")).unwrap();
        for dim in ["customers.csv", "products.csv", "fx_rates.csv"] {
            fs::copy(sample.join(dim), data.join(dim)).unwrap();
        }
        let part = sample.join("orders/part-00000.csv");
        fs::copy(&part, data.join("orders/part-00000.csv")).unwrap();
        fs::copy(&part, data.join("orders/part-00001-panic-in-worker.csv")).unwrap();
        let mut opts = PipelineOptions::new(&data, t.path().join("out"));
        // Small blocks and two workers: the other worker and the reader are still busy when one panics.
        (opts.threads, opts.block_size) = (2, 4096);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(run(&opts).map(|_| ())));
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the run ends");
        let e = r.as_ref().expect_err("a worker panicked").to_string();
        assert!(e.contains("part-00001-panic-in-worker.csv"), "{e}");
        assert!(
            e.contains("internal error (a bug in etlkit, please report it)")
                && e.contains("in the block at byte 0"),
            "{e}"
        );
        assert!(matches!(r, Err(Error::Internal { .. })));
        assert!(!t.path().join("out/summary.json").exists());
    }
}
