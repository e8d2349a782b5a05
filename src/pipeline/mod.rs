//! `etlkit pipeline`: the streaming reference ETL for the `orders` scenario (the answer key of the
//! "10 GB CSV" exercise, `exercises/etl_10gb/README.md`).
//!
//! One reader thread cuts each fact file into ~8 MiB blocks at record boundaries (quote-aware); worker threads
//! parse, validate, clean and price the records of a block; the calling thread takes the blocks' results back in
//! file order, drops duplicate order ids (a bitmap: ids are dense), aggregates, and streams rejects. Buffers are
//! recycled and only as many blocks as there are buffers exist at once, so memory stays bounded.

mod dims;
mod input;
#[cfg(feature = "polars")]
mod polars_engine;
mod records;
pub mod rules;
#[cfg(feature = "pprof")]
pub mod selfprof;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::bounded;
use indicatif::{ProgressBar, ProgressStyle};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::generate::scenario::ORDER_COLUMNS;
use crate::{Error, Result};
use dims::Dimensions;
use input::Block;
use records::{Fields, Records};
use rules::{RejectKind, CANCELLED};

/// How many customers `top_customers.csv` lists.
pub const TOP_CUSTOMERS: usize = 100;
/// Raw lines in `rejects.csv` are cut to this many bytes.
pub const RAW_LIMIT: usize = 200;

/// Which engine runs the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Engine {
    /// The streaming Rust reference (csv crate, all cores, bounded memory).
    #[default]
    Csv,
    /// The same spec on polars (lazy + streaming); needs the `polars` cargo feature.
    Polars,
}

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
            block_size: 8 << 20,
            fail_fast: false,
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
}

/// A valid record, reduced to what aggregation needs.
#[derive(Debug, Clone, Copy)]
struct Valid {
    order_id: u64,
    usd_cents: u64,
    day: i32,
    customer: u32,
    units: u64,
    country: u16,
    category: u16,
    status: u8,
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
}

/// Parses and validates one block. Errors only for a file whose header is not the expected one.
fn process(block: &Block, path: &Path, dims: &Dimensions, out: &mut Output) -> Result<()> {
    out.valid.clear();
    out.rejects.clear();
    out.rows = 0;
    let data = &block.data[..];
    out.newlines = memchr::memchr_iter(b'\n', data).count() as u64;
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
    // A file that does not end with a newline has a last record that may be cut short.
    let unterminated_file = block.last && !data.ends_with(b"\n");
    let (mut line_pos, mut line) = (0usize, 0u64);
    while let Some(rec) = records.next_record() {
        out.rows += 1;
        let raw = &data[rec.start..rec.end];
        let tail = rec.last && block.last;
        match check(&rec.fields, raw, tail, tail && unterminated_file, dims) {
            Ok(v) => out.valid.push(v),
            Err((kind, column)) => {
                line += memchr::memchr_iter(b'\n', &data[line_pos..rec.start]).count() as u64;
                line_pos = rec.start;
                let mut shown = raw.strip_suffix(b"\n").unwrap_or(raw);
                shown = shown.strip_suffix(b"\r").unwrap_or(shown);
                out.rejects.push(Reject {
                    offset: rec.start as u64,
                    line,
                    kind,
                    column,
                    raw: shown[..shown.len().min(RAW_LIMIT)].to_vec(),
                });
            }
        }
    }
    Ok(())
}

/// The exercise's rules for one fact record, in order; the first that fails names the reject kind.
#[inline]
fn check(
    rec: &Fields<'_>,
    raw: &[u8],
    tail: bool,
    cut_short: bool,
    dims: &Dimensions,
) -> std::result::Result<Valid, (RejectKind, &'static str)> {
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
    if !raw.is_ascii() {
        if let Some(i) = rec.iter().position(|f| std::str::from_utf8(f).is_err()) {
            return Err((InvalidUtf8, ORDER_COLUMNS[i]));
        }
    }
    let num = |i: usize| rules::parse_uint(&rec[i]).ok_or((BadNumber, ORDER_COLUMNS[i]));
    let order_id = num(0)?;
    let customer_id = num(1)?;
    let product_id = num(2)?;
    let quantity = rules::parse_quantity(&rec[3]).ok_or((BadNumber, "quantity"))?;
    let price = rules::parse_price_cents(&rec[4]).ok_or((BadNumber, "unit_price"))?;
    let discount = rules::parse_discount_bp(&rec[5]).ok_or((BadNumber, "discount_pct"))?;
    if quantity <= 0 {
        return Err((BadQuantity, "quantity"));
    }
    let day = rules::parse_ts_utc_day(&rec[7]).ok_or((BadTimestamp, "order_ts"))?;
    let status = rules::parse_status(&rec[8]).ok_or((UnknownStatus, "status"))?;
    let rate = dims
        .fx_micros(&rec[6])
        .ok_or((UnknownCurrency, "currency"))?;
    let customer = dims
        .customers
        .get(customer_id)
        .ok_or((OrphanCustomer, "customer_id"))?;
    let product = dims
        .products
        .get(product_id)
        .ok_or((OrphanProduct, "product_id"))?;
    let gross = price
        .checked_mul(quantity as u64)
        .ok_or((BadNumber, "unit_price"))?;
    let usd_cents = rules::to_usd_cents(rules::apply_discount(gross, discount), rate)
        .ok_or((BadNumber, "unit_price"))?;
    Ok(Valid {
        order_id,
        usd_cents,
        day: day as i32,
        customer,
        units: quantity as u64,
        country: dims.customer_country[customer as usize],
        category: dims.product_category[product as usize],
        status,
    })
}

/// Order ids seen so far: a bitmap (ids are dense), with a hash set for ids too large for it.
#[derive(Default)]
struct Seen {
    bits: Vec<u64>,
    far: rustc_hash::FxHashSet<u64>,
}

impl Seen {
    const BITMAP_LIMIT: u64 = 1 << 33;

    /// Marks `id`; true when it was already marked.
    fn test_and_set(&mut self, id: u64) -> bool {
        if id >= Self::BITMAP_LIMIT {
            return !self.far.insert(id);
        }
        let (w, b) = ((id / 64) as usize, id % 64);
        if w >= self.bits.len() {
            self.bits.resize((w + 1).max(self.bits.len() * 2), 0);
        }
        let seen = self.bits[w] >> b & 1 == 1;
        self.bits[w] |= 1 << b;
        seen
    }
}

#[derive(Default, Clone, Copy)]
struct Agg {
    orders: u64,
    units: u64,
    cents: u64,
}

/// Everything the ordered stage accumulates.
struct Totals {
    seen: Seen,
    daily: FxHashMap<(i32, u16, u16), Agg>,
    customer_cents: Vec<u64>,
    customer_orders: Vec<u32>,
    summary: Summary,
}

fn write_temp(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.etlkit-tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut w = BufWriter::new(file);
    write(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| Error::io(&tmp, e))?;
    drop(w);
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
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
            expected: "csv (this build has no `polars` feature)".into(),
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
    let mut totals = Totals {
        seen: Seen::default(),
        daily: FxHashMap::default(),
        customer_cents: vec![0; dims.customer_ids.len()],
        customer_orders: vec![0; dims.customer_ids.len()],
        summary: Summary {
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
        },
    };
    let result = stream(
        opts,
        &dims,
        &files,
        &bar,
        &mut totals,
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
    if let Err(e) = result {
        drop(rejects);
        let _ = fs::remove_file(&rejects_tmp);
        bar.abandon();
        return Err(e);
    }
    bar.finish_and_clear();
    rejects.flush().map_err(|e| Error::io(&rejects_tmp, e))?;
    drop(rejects);
    fs::rename(&rejects_tmp, &rejects_path).map_err(|e| Error::io(&rejects_path, e))?;
    write_outputs(opts, &dims, &mut totals)?;
    #[cfg(feature = "polars")]
    polars_engine::write_parquet_copies(&opts.out)?;
    finish_summary(opts, started, totals.summary)
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

/// Reader thread -> workers -> ordered aggregation in this thread.
fn stream(
    opts: &PipelineOptions,
    dims: &Dimensions,
    files: &[PathBuf],
    bar: &ProgressBar,
    totals: &mut Totals,
    on_reject: &mut RejectSink<'_>,
) -> Result<()> {
    let threads = opts.threads.max(1);
    let buffers = threads * 2 + 2;
    let (pool_tx, pool_rx) = bounded::<Vec<u8>>(buffers);
    for _ in 0..buffers {
        pool_tx
            .send(Vec::with_capacity(opts.block_size + (1 << 16)))
            .expect("room");
    }
    let (block_tx, block_rx) = bounded::<(usize, Block)>(buffers);
    let (done_tx, done_rx) = bounded::<(usize, Block, Result<Output>)>(buffers);
    let stop = AtomicBool::new(false);
    let read_bytes = Arc::new(AtomicU64::new(0));
    std::thread::scope(|scope| {
        let reader = {
            let (pool_rx, stop, read_bytes) = (pool_rx.clone(), &stop, read_bytes.clone());
            scope.spawn(move || -> Result<()> {
                let mut seq = 0;
                for (i, path) in files.iter().enumerate() {
                    let r = input::open(path, read_bytes.clone())?;
                    input::split(
                        i,
                        path,
                        r,
                        opts.block_size,
                        || pool_rx.recv().unwrap_or_default(),
                        |b| {
                            if stop.load(Ordering::Relaxed) {
                                return Err(Error::Interrupted);
                            }
                            block_tx.send((seq, b)).map_err(|_| Error::Interrupted)?;
                            seq += 1;
                            Ok(())
                        },
                    )?;
                }
                Ok(())
            })
        };
        for _ in 0..threads {
            let (block_rx, done_tx) = (block_rx.clone(), done_tx.clone());
            scope.spawn(move || {
                let mut spare = Output::default();
                while let Ok((seq, block)) = block_rx.recv() {
                    let mut out = std::mem::take(&mut spare);
                    let r = process(&block, &files[block.file], dims, &mut out).map(|()| out);
                    if done_tx.send((seq, block, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        drop(block_rx);
        let result = aggregate(
            opts,
            files,
            bar,
            totals,
            on_reject,
            done_rx,
            &pool_tx,
            &read_bytes,
        );
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(pool_tx);
        drop(pool_rx);
        let reader_result = reader.join().expect("reader thread does not panic");
        result.and(reader_result.or_else(|e| {
            if matches!(e, Error::Interrupted) {
                Ok(())
            } else {
                Err(e)
            }
        }))
    })
}

#[allow(clippy::too_many_arguments)]
fn aggregate(
    opts: &PipelineOptions,
    files: &[PathBuf],
    bar: &ProgressBar,
    t: &mut Totals,
    on_reject: &mut RejectSink<'_>,
    done_rx: crossbeam_channel::Receiver<(usize, Block, Result<Output>)>,
    pool_tx: &crossbeam_channel::Sender<Vec<u8>>,
    read_bytes: &AtomicU64,
) -> Result<()> {
    let mut pending = BTreeMap::new();
    let mut want = 0;
    let mut line_base = 0u64;
    let mut current_file = usize::MAX;
    while let Ok((seq, block, out)) = done_rx.recv() {
        if opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(Error::Interrupted);
        }
        pending.insert(seq, (block, out?));
        while let Some((block, out)) = pending.remove(&want) {
            want += 1;
            if block.file != current_file {
                current_file = block.file;
                line_base = 0;
            }
            let s = &mut t.summary;
            s.rows_read += out.rows;
            s.bytes_read += block.data.len() as u64;
            for r in &out.rejects {
                let (line, offset) = (line_base + r.line + 1, block.offset + r.offset);
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
                if t.seen.test_and_set(v.order_id) {
                    s.duplicates_dropped += 1;
                    continue;
                }
                s.valid += 1;
                if v.status == CANCELLED {
                    s.cancelled += 1;
                    continue;
                }
                s.revenue_usd_cents = s.revenue_usd_cents.saturating_add(v.usd_cents);
                let a = t.daily.entry((v.day, v.country, v.category)).or_default();
                a.orders += 1;
                a.units = a.units.saturating_add(v.units);
                a.cents = a.cents.saturating_add(v.usd_cents);
                let c = &mut t.customer_cents[v.customer as usize];
                // Sums saturate rather than wrap: absurd inputs must not panic or silently wrap.
                *c = c.saturating_add(v.usd_cents);
                t.customer_orders[v.customer as usize] += 1;
            }
            bar.set_position(read_bytes.load(Ordering::Relaxed));
            let _ = pool_tx.send(block.data);
        }
    }
    Ok(())
}

fn write_outputs(opts: &PipelineOptions, dims: &Dimensions, t: &mut Totals) -> Result<()> {
    let mut daily: Vec<_> = t
        .daily
        .iter()
        .map(|(&(day, country, category), a)| {
            (
                rules::format_day(day as i64),
                &dims.countries.names[country as usize],
                &dims.categories.names[category as usize],
                *a,
            )
        })
        .collect();
    daily.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
    let path = opts.out.join("daily_revenue.csv");
    write_temp(&path, |w| {
        writeln!(w, "date,country,category,orders,units,revenue_usd_cents")?;
        for (date, country, category, a) in &daily {
            writeln!(
                w,
                "{date},{country},{category},{},{},{}",
                a.orders, a.units, a.cents
            )?;
        }
        Ok(())
    })?;
    let mut top: Vec<u32> = (0..dims.customer_ids.len() as u32)
        .filter(|&i| t.customer_orders[i as usize] > 0)
        .collect();
    top.sort_by(|&a, &b| {
        t.customer_cents[b as usize]
            .cmp(&t.customer_cents[a as usize])
            .then(dims.customer_ids[a as usize].cmp(&dims.customer_ids[b as usize]))
    });
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
