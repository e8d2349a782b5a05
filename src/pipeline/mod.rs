//! `etlkit pipeline`: the streaming reference ETL for the `orders` scenario (the answer key of the
//! "10 GB CSV" exercise, `exercises/etl_10gb/README.md`).
//!
//! One reader thread cuts each fact file into ~4 MiB blocks at record boundaries (quote-aware); worker threads
//! parse, validate, clean, price and count the records of a block (see `totals`); the calling thread takes the
//! blocks' results back in file order, streams rejects, and drops duplicate order ids (a bitmap: ids are dense),
//! taking out what each repeat had added. Buffers are recycled and only as many blocks as there are buffers
//! exist at once, so memory stays bounded.
//!
//! Where each part lives: the thread layout is `stream` here; cutting files into blocks, `input`; a worker's
//! block, `worker` (over `records` and the `fast` path, checked by `rules`, counted by `totals`); the ordered
//! stage (reordering, de-duplication, the re-read after a wrong guessed cut), `ordered`; the reports,
//! `output`; dimension tables, `dims`.

mod dims;
mod fast;
mod input;
mod ordered;
mod output;
#[cfg(feature = "polars")]
mod polars_engine;
mod quotes;
mod records;
pub mod rules;
#[cfg(feature = "pprof")]
pub mod selfprof;
mod totals;
mod worker;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::bounded;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};
use dims::Dimensions;
use fast::FxTable;
use input::Block;
use ordered::Ordered;
use output::{finish_summary, io_csv, write_outputs};
use rules::RejectKind;
use totals::{Corrections, Customers, Partial, Totals};
use worker::{internal, process, Output, Reject};

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
        .write_record(crate::schema::REJECTS_COLUMNS)
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
                        let cut = |b: &[u8]| quotes::likely_record_end(b, fx);
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
        let result = Ordered {
            opts,
            files,
            bar,
            done_rx,
            pool_tx: &pool_tx,
            spare_tx: &spare_tx,
            read_bytes: &read_bytes,
            dims,
            fx: &fx,
            customers: &customers,
        }
        .run(summary, &mut corrections, &mut again, on_reject);
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
