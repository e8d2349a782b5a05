//! `etlkit generate`: deterministic synthetic datasets with recorded dirt.
//!
//! The flow: [`GenerateOptions`] -> [`Plan`] (row counts, files, calibrated from a sample of real rows) ->
//! units of work (row ranges of one file) rendered in parallel into recycled buffers -> one ordered writer
//! (temp file, SHA-256, rename) -> `defects.csv` -> `manifest.json` last.

pub mod dirt;
mod engine;
pub mod manifest;
pub mod scenario;
pub mod text;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

pub use dirt::{Action, DirtKind};
pub use manifest::Manifest;
use scenario::{Chunk, DirtConfig, Scenario, Table};

use crate::{Error, Result};

/// Default size when neither `size` nor `rows` is given.
pub const DEFAULT_SIZE: u64 = 100_000_000;
/// Default target size of one fact file.
pub const DEFAULT_FILE_SIZE: u64 = 256_000_000;
/// Default share of dirty fact rows.
pub const DEFAULT_DIRTY_RATE: f64 = 0.001;

/// Compression of the CSV outputs. Each chunk is its own gzip member / zstd frame, so chunks compress in
/// parallel and the files are still ordinary `.gz` / `.zst` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

named_values!(Compression, "compression", {
    None => "none",
    Gzip => "gzip",
    Zstd => "zstd",
});

impl Compression {
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

/// `--shard K/N`: this run writes fact files `f` with `f % N == K - 1` (and the dimension tables when K = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 1, count: 1 }
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let err = || Error::InvalidArgument {
            what: "shard",
            value: s.to_string(),
            expected: "K/N with 1 <= K <= N, e.g. 2/4".to_string(),
        };
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let (index, count): (u64, u64) = (
            k.trim().parse().map_err(|_| err())?,
            n.trim().parse().map_err(|_| err())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Everything `generate` needs. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Output directory; `None` writes the fact table to standard output (and nothing else).
    pub out: Option<PathBuf>,
    /// Approximate total bytes (uncompressed). Ignored when `rows` is set.
    pub size: Option<u64>,
    /// Exact number of fact rows.
    pub rows: Option<u64>,
    /// Number of fact files (default: from `file_size`).
    pub files: Option<u64>,
    /// Target size of one fact file.
    pub file_size: Option<u64>,
    pub seed: u64,
    /// Worker threads; the output does not depend on it.
    pub threads: usize,
    pub dirty_rate: f64,
    pub dirt: Vec<DirtKind>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub compression: Compression,
    pub shard: Shard,
    /// Replace the dataset files of a non-empty output directory.
    pub force: bool,
    /// Show a progress bar on standard error (only when it is a terminal).
    pub progress: bool,
    /// Set to stop the run early (Ctrl-C); the run then fails with [`Error::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            out: None,
            size: None,
            rows: None,
            files: None,
            file_size: None,
            seed: 42,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            dirty_rate: DEFAULT_DIRTY_RATE,
            dirt: DirtKind::ALL.to_vec(),
            start_date: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
            compression: Compression::None,
            shard: Shard::default(),
            force: false,
            progress: false,
            cancel: None,
        }
    }
}

/// One output file of the plan.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Path relative to the dataset directory.
    pub path: String,
    pub table: Table,
    /// Rows (0-based; for orders, global fact row indices).
    pub rows: Range<u64>,
    /// Fact file number (0 for dimension tables).
    pub fact_index: u64,
    /// Estimated uncompressed bytes (for the progress bar).
    pub est_bytes: u64,
}

/// What a run will write: the scenario and the files of this shard, in writing order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenario: Scenario,
    pub files: Vec<FileSpec>,
}

fn invalid(what: &'static str, value: impl ToString, expected: &str) -> Error {
    Error::InvalidArgument {
        what,
        value: value.to_string(),
        expected: expected.to_string(),
    }
}

/// Average bytes per row of a table, measured on real rendered rows (so `--size` lands close).
fn sample_bytes(s: &Scenario, table: Table, n: u64) -> f64 {
    let mut c = Chunk::default();
    match table {
        Table::Orders => s.render_orders(0, 0..n.min(s.fact_rows), false, &mut c),
        _ => s.render_customers(0..n, false, &mut c),
    }
    c.data.len() as f64 / c.rows.max(1) as f64
}

impl Plan {
    pub fn new(opts: &GenerateOptions) -> Result<Plan> {
        if !(0.0..=1.0).contains(&opts.dirty_rate) || opts.dirty_rate.is_nan() {
            return Err(invalid(
                "dirty rate",
                opts.dirty_rate,
                "a number from 0 to 1",
            ));
        }
        if opts.end_date < opts.start_date {
            return Err(invalid(
                "date range",
                format!("{}..{}", opts.start_date, opts.end_date),
                "an end date on or after the start date",
            ));
        }
        if opts.threads == 0 {
            return Err(invalid("threads", 0, "1 or more"));
        }
        if opts.rows == Some(0) || opts.files == Some(0) || opts.file_size == Some(0) {
            return Err(invalid(
                "count",
                0,
                "rows, files and file size must be positive",
            ));
        }
        let dirt = DirtConfig::new(opts.dirty_rate, &opts.dirt);
        let make = |rows: u64, per_file: u64| {
            Scenario::new(
                opts.seed,
                rows,
                per_file,
                opts.start_date,
                opts.end_date,
                dirt.clone(),
            )
        };
        // Calibrate on a provisional scenario; row sizes barely depend on the final key ranges.
        let size = opts.size.unwrap_or(DEFAULT_SIZE);
        let guess = make((size / 100).max(1), u64::MAX / 4);
        let fact_avg = sample_bytes(&guess, Table::Orders, 4096);
        let cust_avg = sample_bytes(&guess, Table::Customers, 1024);
        let rows = match opts.rows {
            Some(r) => r,
            None => ((size as f64 / (fact_avg + cust_avg / 50.0)) as u64).max(1),
        };
        let files = match opts.files {
            Some(f) => f,
            None => {
                let target = opts.file_size.unwrap_or(DEFAULT_FILE_SIZE) as f64;
                ((rows as f64 * fact_avg / target).ceil() as u64).max(1)
            }
        }
        .min(rows);
        let per_file = rows.div_ceil(files);
        let scenario = make(rows, per_file);
        let ext = opts.compression.extension();
        let mut specs = Vec::new();
        if opts.shard.index == 1 {
            let dims = [
                (Table::Customers, scenario.customers, cust_avg),
                (Table::Products, scenario.products, 45.0),
                (Table::FxRates, text::FX_RATES.len() as u64, 16.0),
            ];
            for (table, n, avg) in dims {
                specs.push(FileSpec {
                    path: format!("{}.csv{ext}", table.name()),
                    table,
                    rows: 0..n,
                    fact_index: 0,
                    est_bytes: (n as f64 * avg) as u64,
                });
            }
        }
        for f in (opts.shard.index - 1..scenario.fact_files()).step_by(opts.shard.count as usize) {
            let rows = scenario.file_rows(f);
            specs.push(FileSpec {
                path: format!("orders/part-{f:05}.csv{ext}"),
                table: Table::Orders,
                est_bytes: ((rows.end - rows.start) as f64 * fact_avg) as u64,
                rows,
                fact_index: f,
            });
        }
        Ok(Plan {
            scenario,
            files: specs,
        })
    }

    /// Estimated uncompressed bytes of this plan.
    pub fn est_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.est_bytes).sum()
    }
}

/// Generates a dataset (or writes the fact table to stdout) and returns its manifest.
pub fn generate(opts: &GenerateOptions) -> Result<Manifest> {
    let plan = Plan::new(opts)?;
    engine::run(opts, &plan)
}
