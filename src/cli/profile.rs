//! `etlkit profile`: argument definitions and the adapter to `crate::profile`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::profile::{self, export::ExportFormat, view, Filters, Format, Profile};
use anyhow::Context;

/// Read a profile and report hot spots, or compare/merge profiles.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ProfileArgs {
    #[command(subcommand)]
    command: Option<ProfileCommand>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ProfileCommand {
    /// Compare two profiles: what got faster or slower, per function and line.
    Diff(DiffArgs),
    /// Merge several profiles (e.g. one per worker process) into one file.
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
struct Input {
    /// Read the files as this format instead of guessing from their content.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Hide frames: idle (waiting), imports (import-time), stdlib, site (site-packages), lib (stdlib+site).
    #[arg(long, value_delimiter = ',', value_parser = ["idle", "imports", "stdlib", "site", "lib"])]
    hide: Vec<String>,
}

impl Input {
    fn filters(&self) -> Filters {
        let has = |s: &str| self.hide.iter().any(|h| h == s);
        Filters {
            idle: has("idle"),
            imports: has("imports"),
            stdlib: has("stdlib") || has("lib"),
            site_packages: has("site") || has("lib"),
        }
    }
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// The profile: a cProfile/pstats dump, py-spy raw or other folded stacks, speedscope JSON, a
    /// line_profiler .lprof, Scalene JSON, or memray's JSON stats or CSV transform.
    #[arg(required = true)]
    file: Option<PathBuf>,
    #[command(flatten)]
    input: Input,
    /// Rows per table.
    #[arg(long, short = 'n', default_value_t = 15)]
    top: usize,
    /// Show the callers and callees of functions whose name contains this (or NAME@FILE for one function).
    #[arg(long, short = 'f')]
    function: Option<String>,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Write an export; the format follows the extension (.svg flamegraph, .json speedscope, .pb/.pb.gz
    /// pprof, anything else folded stacks). May be repeated.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Vec<PathBuf>,
    /// Force the export format of every --output.
    #[arg(long, value_enum)]
    export_format: Option<ExportFormat>,
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The baseline profile.
    before: PathBuf,
    /// The profile to compare with it.
    after: PathBuf,
    #[command(flatten)]
    input: Input,
    /// Rows per table.
    #[arg(long, short = 'n', default_value_t = 15)]
    top: usize,
    /// Exit with code 1 when the total, or a function holding at least --min-share percent of either
    /// profile, got slower by more than PCT percent.
    #[arg(long, value_name = "PCT")]
    fail_if_slower: Option<f64>,
    /// The share (percent of the total) below which a function cannot fail --fail-if-slower.
    #[arg(long, default_value_t = 5.0, value_name = "PCT")]
    min_share: f64,
    /// Write a differential flamegraph SVG (the after profile, red where it spends more, blue less).
    #[arg(long, value_name = "SVG")]
    flamegraph: Option<PathBuf>,
    /// Scale the before profile to the after profile's total in the flamegraph (compare shapes only).
    #[arg(long)]
    normalize: bool,
    /// Print the diff as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// The profiles to merge (all pstats, or all sampled with the same unit).
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// The merged profile; the format follows the extension as for `etlkit profile -o`.
    #[arg(long, short = 'o')]
    output: PathBuf,
    /// Give each input's stacks a root frame named after its file.
    #[arg(long)]
    label: bool,
    /// Read the files as this format instead of guessing from their content.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Force the output format.
    #[arg(long, value_enum)]
    export_format: Option<ExportFormat>,
}

pub fn run(args: ProfileArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ProfileCommand::Diff(d)) => run_diff(d),
        Some(ProfileCommand::Merge(m)) => run_merge(m),
        None => run_report(args.report),
    }
}

fn title_of(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Writes an export to `path` (`-` is standard output) through a temporary file, so a failed export
/// leaves no half-written file behind.
fn write_export(
    profile: &Profile,
    path: &Path,
    forced: Option<ExportFormat>,
    title: &str,
) -> anyhow::Result<()> {
    let format = forced.unwrap_or_else(|| ExportFormat::from_path(path));
    if path == Path::new("-") {
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        profile::export::export(profile, format, title, &mut out, path)?;
        out.flush().map_err(|e| crate::Error::io(path, e))?;
        return Ok(());
    }
    crate::atomic::write_with(path, |out| {
        profile::export::export(profile, format, title, out, path)
    })?;
    Ok(())
}

fn run_report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let file = a.file.context("a profile file is required")?;
    let p = profile::load(&file, a.input.format)?;
    let filters = a.input.filters();
    let report = profile::analyze(&p, &filters, a.top, a.function.as_deref());
    let filtered = (!a.output.is_empty()).then(|| view::apply_filters(&p, &filters));
    for out in &a.output {
        write_export(
            filtered.as_ref().unwrap_or(&p),
            out,
            a.export_format,
            &title_of(&file),
        )?;
    }
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let text = if a.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        view::render_text(&report)
    };
    // Exports to stdout replace the report there.
    if !a.output.iter().any(|o| o == Path::new("-")) {
        w.write_all(text.as_bytes())
            .map_err(|e| crate::Error::io("<stdout>", e))?;
    }
    // The process ends here: freeing millions of frames one by one would cost a tenth of a big file's run.
    std::mem::forget(p);
    std::mem::forget(filtered);
    Ok(ExitCode::SUCCESS)
}

fn run_diff(d: DiffArgs) -> anyhow::Result<ExitCode> {
    let filters = d.input.filters();
    let before = view::apply_filters(&profile::load(&d.before, d.input.format)?, &filters);
    let after = view::apply_filters(&profile::load(&d.after, d.input.format)?, &filters);
    let diff = profile::diff(&before, &after)?;
    if let Some(svg) = &d.flamegraph {
        let title = format!("{} -> {}", title_of(&d.before), title_of(&d.after));
        crate::atomic::write_with(svg, |out| {
            profile::export::differential_flamegraph(&before, &after, &title, d.normalize, out, svg)
        })?;
    }
    let regressions = d
        .fail_if_slower
        .map(|pct| diff.regressions(pct, d.min_share))
        .unwrap_or_default();
    let text = if d.json {
        let mut v = serde_json::to_value(&diff)?;
        v["regressions"] = serde_json::json!(regressions);
        serde_json::to_string_pretty(&v)? + "\n"
    } else {
        diff.render(d.top, &regressions, d.fail_if_slower)
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| crate::Error::io("<stdout>", e))?;
    Ok(if regressions.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run_merge(m: MergeArgs) -> anyhow::Result<ExitCode> {
    let mut profiles = Vec::new();
    for f in &m.files {
        profiles.push((title_of(f), profile::load(f, m.format)?));
    }
    let merged = profile::merge(&profiles, m.label)?;
    write_export(&merged, &m.output, m.export_format, &title_of(&m.output))?;
    Ok(ExitCode::SUCCESS)
}
