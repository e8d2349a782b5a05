//! `etlkit generate`: argument definitions and the adapter to `crate::generate`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::generate::{self, Compression, DirtKind, GenerateOptions, Manifest, Shard};
use crate::size::{format_size, parse_size};
use chrono::NaiveDate;

#[derive(Debug, clap::Args)]
#[command(after_long_help = DIRT_HELP)]
pub struct GenerateArgs {
    /// Output directory (created if missing; must be empty unless --force).
    #[arg(long, short, value_name = "DIR", required_unless_present = "stdout")]
    out: Option<PathBuf>,
    /// Write only the fact table's bytes to standard output (to measure generation without the disk).
    #[arg(long, conflicts_with_all = ["out", "force"])]
    stdout: bool,
    /// Approximate total size, e.g. 100MB, 10GB, 2GiB [default: 100MB].
    #[arg(long, value_parser = parse_size_arg, conflicts_with = "rows")]
    size: Option<u64>,
    /// Exact number of fact rows (instead of --size).
    #[arg(long)]
    rows: Option<u64>,
    /// Number of fact files [default: from --file-size].
    #[arg(long, conflicts_with = "file_size")]
    files: Option<u64>,
    /// Target size of one fact file, e.g. 256MB [default: 256MB].
    #[arg(long, value_parser = parse_size_arg)]
    file_size: Option<u64>,
    /// Random seed: the same seed and etlkit version give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worker threads [default: all cores]. The output does not depend on it.
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Share of dirty fact rows, from 0 (clean) to 1.
    #[arg(long, default_value_t = generate::DEFAULT_DIRTY_RATE)]
    dirty_rate: f64,
    /// Defect kinds to inject, comma-separated, or `all` (see the list below).
    #[arg(long, default_value = "all", value_parser = parse_dirt_arg)]
    dirt: DirtList,
    /// First day of order timestamps (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2024-01-01")]
    start_date: NaiveDate,
    /// Last day of order timestamps (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2024-12-31")]
    end_date: NaiveDate,
    /// Compress every CSV output (each chunk is a gzip member / zstd frame).
    #[arg(long, value_enum, default_value_t = Compression::None)]
    compress: Compression,
    /// Generate only shard K of N (fact files f with f mod N = K-1; dimension tables in shard 1).
    #[arg(long, value_name = "K/N", value_parser = parse_shard_arg)]
    shard: Option<Shard>,
    /// Replace the dataset files in a non-empty output directory.
    #[arg(long)]
    force: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
    /// Print the manifest as JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Print the plan (rows, files, dimension sizes, estimated bytes) and write nothing.
    #[arg(long)]
    dry_run: bool,
}

const DIRT_HELP: &str = "Defect kinds (--dirt):
  field_count, bad_number, bad_quantity, bad_timestamp, unknown_status, orphan_customer,
  orphan_product, invalid_utf8, duplicate, noise              per fact row (rate: --dirty-rate)
  truncated_row, unterminated_quote                          the last record of a fact file
  bom, crlf                                                  whole fact files
  country_noise                                              customers.csv rows
File-level kinds hit a file with probability min(0.5, 100 x rate). Every defect is listed in
defects.csv (file, line, byte_offset, kind, column, action, detail); see datasets/orders/SCHEMA.md.

Examples:
  etlkit generate --size 1GB --out data/1gb
  etlkit generate --size 10GB --files 40 --shard 2/4 --out /mnt/part2
  etlkit generate --rows 1000000 --stdout > /dev/null";

fn parse_size_arg(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

fn parse_shard_arg(s: &str) -> Result<Shard, String> {
    s.parse().map_err(|e: crate::Error| e.to_string())
}

/// A parsed `--dirt` list (a newtype, so clap takes it as one value).
#[derive(Debug, Clone)]
struct DirtList(Vec<DirtKind>);

fn parse_dirt_arg(s: &str) -> Result<DirtList, String> {
    DirtKind::parse_list(s)
        .map(DirtList)
        .map_err(|e| e.to_string())
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    // First Ctrl-C: stop cleanly (temp files removed, no manifest). Second: exit at once.
    let cancel = super::interrupt::cancel_flag();
    let opts = GenerateOptions {
        out: if args.stdout { None } else { args.out.clone() },
        size: args.size,
        rows: args.rows,
        files: args.files,
        file_size: args.file_size,
        seed: args.seed,
        threads: args
            .threads
            .unwrap_or_else(|| GenerateOptions::default().threads),
        dirty_rate: args.dirty_rate,
        dirt: args.dirt.0,
        start_date: args.start_date,
        end_date: args.end_date,
        compression: args.compress,
        shard: args.shard.unwrap_or_default(),
        force: args.force,
        progress: !args.quiet,
        cancel: Some(cancel),
    };
    if args.dry_run {
        let plan = generate::Plan::new(&opts)?;
        let s = &plan.scenario;
        println!(
            "{} fact rows in {} files ({} rows each), {} customers, {} products; this run writes {} files, about {}",
            s.fact_rows,
            s.fact_files(),
            s.rows_per_file,
            s.customers,
            s.products,
            plan.files.len(),
            format_size(plan.est_bytes())
        );
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let manifest = generate::generate(&opts)?;
    let elapsed = started.elapsed().as_secs_f64();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else if !args.quiet {
        let mut text = summary(&manifest, elapsed, args.stdout);
        if let Some(dir) = &opts.out {
            text.push_str(&format!("Wrote {}\n", dir.join("manifest.json").display()));
        }
        if args.stdout || !std::io::stdout().is_terminal() {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A short human summary of a manifest.
pub fn summary(m: &Manifest, elapsed: f64, stdout: bool) -> String {
    let bytes: u64 = m.files.iter().map(|f| f.uncompressed_bytes).sum();
    let on_disk: u64 = m.files.iter().map(|f| f.bytes).sum();
    let mut s = String::new();
    let d = &m.dataset;
    s.push_str(&format!(
        "Dataset 'orders' (seed {}, shard {}): {} fact rows in {} files, {} customers, {} products\n",
        m.seed, m.options.shard, d.fact_rows, d.fact_files, d.customers, d.products
    ));
    if !stdout {
        s.push_str(&format!(
            "Wrote {} files, {} of CSV ({} on disk) in {:.2} s ({:.0} MB/s)\n",
            m.files.len(),
            format_size(bytes),
            format_size(on_disk),
            elapsed,
            bytes as f64 / 1e6 / elapsed.max(1e-9)
        ));
    } else {
        s.push_str(&format!("Generated in {elapsed:.2} s\n"));
    }
    s.push_str(&format!(
        "Defects: {} recorded (dirty rate {})",
        m.defects.total, m.options.dirty_rate
    ));
    for (kind, n) in &m.defects.by_kind {
        s.push_str(&format!("\n  {kind:<20} {n:>10}"));
    }
    s.push('\n');
    s
}
