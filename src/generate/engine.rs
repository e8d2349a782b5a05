//! Parallel rendering with one ordered writer.
//!
//! Workers take a recycled buffer from a bounded pool *before* claiming the next unit, so at most `pool`
//! chunks exist at once (bounded memory) and the unit the writer waits for always belongs to a worker that
//! holds a buffer (no deadlock). The writer puts chunks back in unit order, so the bytes do not depend on the
//! thread count.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_channel::{bounded, Receiver, Sender};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::dirt::DirtKind;
use super::manifest::{
    orders_schema, DatasetShape, DefectSummary, FileEntry, Manifest, ManifestOptions,
};
use super::scenario::{Chunk, Table};
use super::{Compression, GenerateOptions, Plan};
use crate::{Error, Result};

const ORDER_CHUNK_ROWS: u64 = 16_384;
const CUSTOMER_CHUNK_ROWS: u64 = 32_768;
/// Chunks in flight per worker thread.
const BUFFERS_PER_THREAD: usize = 4;

/// One unit of work: a row range of one file.
#[derive(Debug, Clone)]
struct Unit {
    file: usize,
    rows: Range<u64>,
    first: bool,
    last: bool,
}

fn units(plan: &Plan) -> Vec<Unit> {
    let mut out = Vec::new();
    for (i, spec) in plan.files.iter().enumerate() {
        let step = match spec.table {
            Table::Orders => ORDER_CHUNK_ROWS,
            Table::Customers => CUSTOMER_CHUNK_ROWS,
            _ => u64::MAX,
        };
        let mut start = spec.rows.start;
        loop {
            let end = start.saturating_add(step).min(spec.rows.end);
            out.push(Unit {
                file: i,
                rows: start..end,
                first: start == spec.rows.start,
                last: end == spec.rows.end,
            });
            if end == spec.rows.end {
                break;
            }
            start = end;
        }
    }
    out
}

fn render(plan: &Plan, unit: &Unit, compression: Compression, c: &mut Chunk) -> Result<()> {
    c.clear();
    let spec = &plan.files[unit.file];
    let s = &plan.scenario;
    let rows = unit.rows.clone();
    match spec.table {
        Table::Orders => s.render_orders(spec.fact_index, rows, unit.first, c),
        Table::Customers => s.render_customers(rows, unit.first, c),
        Table::Products => s.render_products(rows, unit.first, c),
        Table::FxRates => s.render_fx(rows, unit.first, c),
    }
    let packed = std::mem::take(&mut c.packed);
    let io = |e| Error::io(&spec.path, e);
    c.packed = match compression {
        Compression::None => packed,
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(packed, flate2::Compression::default());
            enc.write_all(&c.data).map_err(io)?;
            enc.finish().map_err(io)?
        }
        Compression::Zstd => {
            let mut enc = zstd::Encoder::new(packed, 3).map_err(io)?;
            enc.write_all(&c.data).map_err(io)?;
            enc.finish().map_err(io)?
        }
    };
    Ok(())
}

/// Where chunks go, in order.
trait Sink {
    fn write(&mut self, plan: &Plan, unit: &Unit, chunk: &Chunk) -> Result<()>;
}

/// Runs the workers and feeds the sink in unit order.
fn pump(opts: &GenerateOptions, plan: &Plan, sink: &mut dyn Sink, bar: &ProgressBar) -> Result<()> {
    let units = units(plan);
    let threads = opts.threads.max(1);
    let pool_size = threads * BUFFERS_PER_THREAD;
    let (pool_tx, pool_rx) = bounded::<Chunk>(pool_size);
    for _ in 0..pool_size {
        pool_tx.send(Chunk::default()).expect("pool has room");
    }
    let (done_tx, done_rx) = bounded::<(usize, Result<Chunk>)>(pool_size);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let cancelled = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    };
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (pool_rx, done_tx) = (pool_rx.clone(), done_tx.clone());
            let (next, stop, units) = (&next, &stop, &units);
            scope.spawn(move || {
                while let Ok(mut chunk) = pool_rx.recv() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i) else { break };
                    let result = render(plan, unit, opts.compression, &mut chunk).map(|()| chunk);
                    if done_tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let result = write_in_order(&units, plan, sink, bar, pool_tx, done_rx, &cancelled);
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(pool_rx);
        result
    })
}

fn write_in_order(
    units: &[Unit],
    plan: &Plan,
    sink: &mut dyn Sink,
    bar: &ProgressBar,
    pool_tx: Sender<Chunk>,
    done_rx: Receiver<(usize, Result<Chunk>)>,
    cancelled: &dyn Fn() -> bool,
) -> Result<()> {
    let mut pending = BTreeMap::new();
    let mut want = 0;
    let mut rows = 0u64;
    while want < units.len() {
        if cancelled() {
            return Err(Error::Interrupted);
        }
        let Ok((i, chunk)) = done_rx.recv() else {
            return Err(Error::Interrupted);
        };
        pending.insert(i, chunk?);
        while let Some(chunk) = pending.remove(&want) {
            sink.write(plan, &units[want], &chunk)?;
            rows += chunk.rows;
            bar.inc(chunk.data.len() as u64);
            if want % 16 == 0 {
                bar.set_message(format!("{rows} rows"));
            }
            // Workers may have stopped; a failed send just drops the buffer.
            let _ = pool_tx.send(chunk);
            want += 1;
        }
    }
    bar.set_message(format!("{rows} rows"));
    Ok(())
}

/// Temp name beside the final file: hidden, and matched by `.gitignore` (`*.etlkit-tmp`).
use crate::atomic::temp_path;

struct OpenFile {
    tmp: PathBuf,
    path: PathBuf,
    w: BufWriter<File>,
    sha: Sha256,
    bytes: u64,
    raw_bytes: u64,
    lines: u64,
    rows: u64,
}

struct DirSink {
    dir: PathBuf,
    current: Option<OpenFile>,
    entries: Vec<FileEntry>,
    defects_tmp: PathBuf,
    defects: csv::Writer<BufWriter<File>>,
    summary: DefectSummary,
    compressed: bool,
}

impl DirSink {
    fn new(dir: &Path, compressed: bool) -> Result<Self> {
        let defects_tmp = temp_path(&dir.join("defects.csv"));
        let file = File::create(&defects_tmp).map_err(|e| Error::io(&defects_tmp, e))?;
        let mut defects = csv::Writer::from_writer(BufWriter::new(file));
        defects
            .write_record([
                "file",
                "line",
                "byte_offset",
                "kind",
                "column",
                "action",
                "detail",
            ])
            .map_err(|e| csv_err(&defects_tmp, e))?;
        Ok(DirSink {
            dir: dir.to_path_buf(),
            current: None,
            entries: Vec::new(),
            defects_tmp,
            defects,
            summary: DefectSummary {
                file: "defects.csv".to_string(),
                ..Default::default()
            },
            compressed,
        })
    }

    /// Removes temp files after a failure, so nothing half-written is left under a final name.
    fn abandon(&mut self) {
        if let Some(f) = self.current.take() {
            drop(f.w);
            let _ = fs::remove_file(&f.tmp);
        }
        let _ = fs::remove_file(&self.defects_tmp);
    }

    fn finish(mut self) -> Result<(Vec<FileEntry>, DefectSummary)> {
        let tmp = self.defects_tmp.clone();
        self.defects.flush().map_err(|e| Error::io(&tmp, e))?;
        drop(self.defects);
        fs::rename(&tmp, self.dir.join("defects.csv")).map_err(|e| Error::io(&tmp, e))?;
        Ok((self.entries, self.summary))
    }
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::Format {
            path: path.to_path_buf(),
            message: format!("{other:?}"),
        },
    }
}

impl Sink for DirSink {
    fn write(&mut self, plan: &Plan, unit: &Unit, chunk: &Chunk) -> Result<()> {
        let spec = &plan.files[unit.file];
        if unit.first {
            let path = self.dir.join(&spec.path);
            let tmp = temp_path(&path);
            let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            self.current = Some(OpenFile {
                tmp,
                path,
                w: BufWriter::with_capacity(1 << 20, file),
                sha: Sha256::new(),
                bytes: 0,
                raw_bytes: 0,
                lines: 0,
                rows: 0,
            });
        }
        let f = self.current.as_mut().expect("a unit's file is open");
        let bytes = if self.compressed {
            &chunk.packed
        } else {
            &chunk.data
        };
        f.w.write_all(bytes).map_err(|e| Error::io(&f.tmp, e))?;
        f.sha.update(bytes);
        for d in &chunk.defects {
            self.summary.add(d.kind);
            let (line, offset) = (f.lines + d.line + 1, f.raw_bytes + d.offset);
            self.defects
                .write_record([
                    spec.path.as_str(),
                    itoa::Buffer::new().format(line),
                    itoa::Buffer::new().format(offset),
                    d.kind.name(),
                    d.column,
                    d.kind.action().as_str(),
                    d.detail.as_str(),
                ])
                .map_err(|e| csv_err(&self.defects_tmp, e))?;
        }
        f.bytes += bytes.len() as u64;
        f.raw_bytes += chunk.data.len() as u64;
        f.lines += chunk.lines;
        f.rows += chunk.rows;
        if unit.last {
            let mut f = self.current.take().expect("open");
            f.w.flush().map_err(|e| Error::io(&f.tmp, e))?;
            drop(f.w);
            let (bom, crlf) = match spec.table {
                Table::Orders => (
                    plan.scenario.file_bom(spec.fact_index),
                    plan.scenario.file_crlf(spec.fact_index),
                ),
                _ => (false, false),
            };
            for (kind, on) in [(DirtKind::Bom, bom), (DirtKind::Crlf, crlf)] {
                if on {
                    self.summary.add(kind);
                    self.defects
                        .write_record([
                            &spec.path,
                            "1",
                            "0",
                            kind.name(),
                            "",
                            "clean",
                            "whole file",
                        ])
                        .map_err(|e| csv_err(&self.defects_tmp, e))?;
                }
            }
            fs::rename(&f.tmp, &f.path).map_err(|e| Error::io(&f.path, e))?;
            self.entries.push(FileEntry {
                path: spec.path.clone(),
                table: spec.table.name().to_string(),
                rows: f.rows,
                bytes: f.bytes,
                uncompressed_bytes: f.raw_bytes,
                sha256: format!("{:x}", f.sha.finalize()),
                bom,
                crlf,
            });
        }
        Ok(())
    }
}

struct StdoutSink<W: Write> {
    out: W,
    compressed: bool,
    summary: DefectSummary,
}

impl<W: Write> Sink for StdoutSink<W> {
    fn write(&mut self, _plan: &Plan, _unit: &Unit, chunk: &Chunk) -> Result<()> {
        let bytes = if self.compressed {
            &chunk.packed
        } else {
            &chunk.data
        };
        for d in &chunk.defects {
            self.summary.add(d.kind);
        }
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io("<stdout>", e))
    }
}

/// Refuses a non-empty directory without `force`; with it, removes the manifest first (so the directory no
/// longer looks complete) and then the files a dataset consists of, and nothing else.
fn prepare_dir(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists and is not a directory",
            ),
        ));
    }
    if dir.is_dir() {
        let non_empty = fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some();
        if non_empty && !force {
            return Err(Error::OutputNotEmpty {
                path: dir.to_path_buf(),
            });
        }
        let manifest = dir.join("manifest.json");
        if manifest.exists() {
            fs::remove_file(&manifest).map_err(|e| Error::io(&manifest, e))?;
        }
        let is_ours = |name: &str| {
            name == "defects.csv"
                || name.ends_with(".etlkit-tmp")
                || ["customers.csv", "products.csv", "fx_rates.csv"]
                    .iter()
                    .any(|t| name.starts_with(t))
        };
        for sub in [dir.to_path_buf(), dir.join("orders")] {
            let Ok(entries) = fs::read_dir(&sub) else {
                continue;
            };
            let in_orders = sub != dir;
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let ours = is_ours(&name)
                    || (in_orders && (name.starts_with("part-") || name.starts_with(".part-")));
                if ours && e.path().is_file() {
                    fs::remove_file(e.path()).map_err(|err| Error::io(e.path(), err))?;
                }
            }
        }
    }
    let orders = dir.join("orders");
    fs::create_dir_all(&orders).map_err(|e| Error::io(&orders, e))?;
    Ok(())
}

fn progress_bar(opts: &GenerateOptions, total: u64) -> ProgressBar {
    if !opts.progress {
        return ProgressBar::hidden();
    }
    // indicatif's stderr target draws nothing when stderr is not a terminal.
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("valid template"),
    );
    bar
}

fn manifest(
    opts: &GenerateOptions,
    plan: &Plan,
    files: Vec<FileEntry>,
    defects: DefectSummary,
) -> Manifest {
    let s = &plan.scenario;
    Manifest {
        tool: "etlkit".to_string(),
        version: crate::VERSION.to_string(),
        scenario: "orders".to_string(),
        seed: opts.seed,
        options: ManifestOptions {
            size: if opts.rows.is_some() {
                None
            } else {
                Some(opts.size.unwrap_or(super::DEFAULT_SIZE))
            },
            rows: opts.rows,
            files: opts.files,
            file_size: opts.file_size,
            dirty_rate: opts.dirty_rate,
            dirt: opts.dirt.iter().map(|k| k.name().to_string()).collect(),
            start_date: opts.start_date.to_string(),
            end_date: opts.end_date.to_string(),
            compression: opts.compression.name().to_string(),
            shard: opts.shard.to_string(),
        },
        dataset: DatasetShape {
            fact_rows: s.fact_rows,
            fact_files: s.fact_files(),
            rows_per_file: s.rows_per_file,
            customers: s.customers,
            products: s.products,
            currencies: super::text::FX_RATES.len() as u64,
        },
        files,
        defects,
        schema: orders_schema(),
    }
}

pub(super) fn run(opts: &GenerateOptions, plan: &Plan) -> Result<Manifest> {
    let compressed = opts.compression != Compression::None;
    let Some(dir) = &opts.out else {
        // Standard output: the fact files back to back, nothing else.
        let mut fact_plan = plan.clone();
        fact_plan.files.retain(|f| f.table == Table::Orders);
        let bar = progress_bar(opts, fact_plan.est_bytes());
        let stdout = std::io::stdout();
        let mut sink = StdoutSink {
            out: BufWriter::with_capacity(1 << 20, stdout.lock()),
            compressed,
            summary: DefectSummary::default(),
        };
        pump(opts, &fact_plan, &mut sink, &bar)?;
        sink.out.flush().map_err(|e| Error::io("<stdout>", e))?;
        bar.finish_and_clear();
        return Ok(manifest(opts, &fact_plan, Vec::new(), sink.summary));
    };
    prepare_dir(dir, opts.force)?;
    let bar = progress_bar(opts, plan.est_bytes());
    let mut sink = DirSink::new(dir, compressed)?;
    if let Err(e) = pump(opts, plan, &mut sink, &bar) {
        sink.abandon();
        bar.abandon();
        return Err(e);
    }
    bar.finish_and_clear();
    let (files, defects) = sink.finish()?;
    let m = manifest(opts, plan, files, defects);
    let path = dir.join("manifest.json");
    let mut text = serde_json::to_string_pretty(&m).expect("manifest serialises");
    text.push('\n');
    crate::atomic::write_bytes(&path, text.as_bytes())?;
    Ok(m)
}
