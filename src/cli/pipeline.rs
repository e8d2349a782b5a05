//! `etlkit pipeline`: argument definitions and the adapter to `crate::pipeline`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::pipeline::{self, Engine, PipelineOptions};
use crate::size::{format_size, parse_size};

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Outputs (in --out): daily_revenue.csv, top_customers.csv, rejects.csv, summary.json \
(written last). The rules are in exercises/etl_10gb/README.md.\n\nExample:\n  etlkit generate --size 1GB --out data/1gb\n  etlkit pipeline data/1gb --out results/1gb"
)]
pub struct PipelineArgs {
    /// The dataset directory (orders/part-*.csv[.gz|.zst], customers.csv, products.csv, fx_rates.csv).
    data: PathBuf,
    /// Output directory (created; existing outputs are replaced atomically).
    #[arg(long, short)]
    out: PathBuf,
    /// The engine: the Rust reference (`csv`) or the same spec on polars.
    #[arg(long, value_enum, default_value_t = Engine::Csv)]
    engine: Engine,
    /// Worker threads [default: all cores].
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Bytes per block handed to a worker.
    #[arg(long, default_value = "4MiB", value_parser = |s: &str| parse_size(s).map_err(|e| e.to_string()))]
    block_size: u64,
    /// Stop at the first rejected row, with an error naming its file, line and byte offset.
    #[arg(long)]
    fail_fast: bool,
    /// Read plain files with read(2) instead of memory maps (a file truncated while it is mapped can end
    /// the run with SIGBUS).
    #[arg(long)]
    no_mmap: bool,
    /// Profile the pipeline itself with pprof-rs: a flamegraph (FILE.svg) or a pprof protobuf (FILE.pb).
    #[arg(long, value_name = "FILE")]
    pprof: Option<PathBuf>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
    /// Print summary.json instead of the human summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PipelineArgs) -> anyhow::Result<ExitCode> {
    let cancel = super::interrupt::cancel_flag();
    let mut opts = PipelineOptions::new(&args.data, &args.out);
    opts.engine = args.engine;
    if let Some(t) = args.threads {
        opts.threads = t;
    }
    opts.block_size = args.block_size.max(4096) as usize;
    opts.fail_fast = args.fail_fast;
    opts.mmap = !args.no_mmap;
    opts.progress = !args.quiet;
    opts.cancel = Some(cancel);
    let s = match &args.pprof {
        #[cfg(feature = "pprof")]
        Some(path) => pipeline::selfprof::with_profiler(path, || pipeline::run(&opts))?,
        #[cfg(not(feature = "pprof"))]
        Some(_) => anyhow::bail!("--pprof needs a build with the `pprof` feature"),
        None => pipeline::run(&opts)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else if !args.quiet {
        let mut text = format!(
            "Read {} rows ({}) from {} files in {:.2} s ({:.0} MB/s)\n  valid {}  rejected {}  duplicates dropped {}  cancelled {}\n  revenue {}.{:02} USD\n",
            s.rows_read,
            format_size(s.bytes_read),
            s.files,
            s.elapsed_seconds,
            s.mb_per_s,
            s.valid,
            s.rejected,
            s.duplicates_dropped,
            s.cancelled,
            s.revenue_usd_cents / 100,
            s.revenue_usd_cents % 100
        );
        for (kind, n) in s.rejected_by_kind.iter().filter(|(_, n)| **n > 0) {
            text.push_str(&format!("  {kind:<20} {n:>10}\n"));
        }
        text.push_str(&format!("Wrote {}\n", args.out.display()));
        if !pipeline::HAS_POLARS {
            text.push_str(
                "(no Parquet copies: this build has no polars engine; `cargo build --release` builds one with it)\n",
            );
        }
        if let Some(p) = &args.pprof {
            text.push_str(&format!("Profile: {}\n", p.display()));
        }
        if std::io::stdout().is_terminal() {
            print!("{text}");
        } else {
            eprint!("{text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
