//! The Rust engine against an independent oracle in DuckDB SQL (`scripts/oracle-duckdb.py`): on clean datasets
//! (plain, gzip, zstd, and one with fixable noise, BOMs, CRLF, duplicates and conflicting repeats of an
//! order id) both write the same `daily_revenue.csv` and `top_customers.csv`, byte for byte, and the same counts.
//!
//! Needs the venv of `scripts/setup` with `duckdb` (the policy of `common::python`).

use std::path::Path;
use std::process::Command;

use etlkit::generate::{generate, Compression, DirtKind, GenerateOptions};
use etlkit::pipeline::{run, PipelineOptions, Summary};

fn dataset(dir: &Path, compression: Compression, dirty_rate: f64, dirt: &str) {
    generate(&GenerateOptions {
        out: Some(dir.to_path_buf()),
        rows: Some(50_000),
        files: Some(3),
        dirty_rate,
        dirt: DirtKind::parse_list(dirt).unwrap(),
        seed: 23,
        compression,
        ..Default::default()
    })
    .unwrap();
}

/// Runs both engines on `data` and asserts they agree; returns the Rust engine's summary.
fn agree(py: &Path, data: &Path, work: &Path) -> Summary {
    let (rust_out, duck_out) = (work.join("rust"), work.join("duckdb"));
    let mut o = PipelineOptions::new(data, &rust_out);
    o.threads = 2;
    o.block_size = 256 << 10;
    let s = run(&o).unwrap();
    let script = crate::common::root().join("scripts/oracle-duckdb.py");
    let r = Command::new(py)
        .arg(&script)
        .arg(data)
        .arg(&duck_out)
        .args(["--threads", "2"])
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "oracle-duckdb.py failed on {}:\n{}",
        data.display(),
        String::from_utf8_lossy(&r.stderr)
    );
    for name in ["daily_revenue.csv", "top_customers.csv"] {
        let (a, b) = (
            std::fs::read_to_string(rust_out.join(name)).unwrap(),
            std::fs::read_to_string(duck_out.join(name)).unwrap(),
        );
        if a != b {
            let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
            let i = la
                .iter()
                .zip(&lb)
                .position(|(x, y)| x != y)
                .unwrap_or(la.len().min(lb.len()));
            panic!(
                "{name} differs for {} ({} vs {} lines); first difference at line {}:\n  rust:   {:?}\n  duckdb: {:?}",
                data.display(),
                la.len(),
                lb.len(),
                i + 1,
                la.get(i),
                lb.get(i)
            );
        }
    }
    let duck: serde_json::Value =
        serde_json::from_slice(&std::fs::read(duck_out.join("summary.json")).unwrap()).unwrap();
    let counts = |s: &Summary| {
        [
            s.rows_read,
            s.valid,
            s.rejected,
            s.duplicates_dropped,
            s.cancelled,
            s.revenue_usd_cents,
        ]
    };
    let duck_counts = [
        "rows_read",
        "valid",
        "rejected",
        "duplicates_dropped",
        "cancelled",
        "revenue_usd_cents",
    ]
    .map(|k| duck[k].as_u64().unwrap_or_else(|| panic!("{k} in {duck}")));
    assert_eq!(
        counts(&s),
        duck_counts,
        "[rows_read, valid, rejected, duplicates_dropped, cancelled, revenue_usd_cents]: rust vs duckdb"
    );
    // The outputs are not trivially equal: both engines found real work to do.
    assert_eq!(s.rejected, 0);
    assert!(s.valid > 45_000 && s.cancelled > 1_000 && s.revenue_usd_cents > 0);
    let daily = std::fs::read_to_string(rust_out.join("daily_revenue.csv")).unwrap();
    assert!(daily.lines().count() > 10_000, "{}", daily.lines().count());
    let top = std::fs::read_to_string(rust_out.join("top_customers.csv")).unwrap();
    assert_eq!(top.lines().count(), 101);
    s
}

#[test]
fn duckdb_agrees_on_clean_plain_gzip_and_zstd_datasets() {
    let py = python_or_skip!("pipeline_oracle", "duckdb");
    let t = tempfile::tempdir().unwrap();
    for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let data = t.path().join(format!("data-{}", c.name()));
        dataset(&data, c, 0.0, "all");
        let s = agree(&py, &data, &t.path().join(format!("out-{}", c.name())));
        assert_eq!((s.rows_read, s.duplicates_dropped), (50_000, 0));
    }
}

/// Replaces the quantity of a data line (no quotes, 10 fields) with `quantity + 7`.
fn altered(line: &str) -> String {
    let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
    assert_eq!(f.len(), 10, "{line}");
    f[3] = (f[3].parse::<u64>().unwrap() + 7).to_string();
    f.join(",")
}

/// The `n`-th data line of a plain CSV file that has no quotes and is not cancelled (and its order id).
fn plain_line(text: &str, n: usize) -> String {
    text.lines()
        .skip(1)
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.contains('"') && !l.to_ascii_lowercase().contains("cancelled"))
        .nth(n)
        .unwrap()
        .to_string()
}

/// Fixable dirt only (no rejects): padded/odd-case status and currency, country noise, BOM, CRLF, exact
/// duplicates; plus three repeats of an order id with a different quantity, where the first occurrence (file
/// name order, then line order) must win: a later file repeating an earlier one, an earlier file repeating a
/// later one, and a repeat inserted before its original in the same file.
#[test]
fn duckdb_agrees_on_fixable_dirt_and_first_occurrence_wins() {
    let py = python_or_skip!("pipeline_oracle", "duckdb");
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    dataset(
        &data,
        Compression::None,
        0.05,
        "noise,bom,crlf,country_noise,duplicate",
    );
    let part = |i: usize| data.join(format!("orders/part-{i:05}.csv"));
    let read = |p: &Path| String::from_utf8(std::fs::read(p).unwrap()).unwrap();
    let (p0, p1, p2) = (read(&part(0)), read(&part(1)), read(&part(2)));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("manifest.json")).unwrap()).unwrap();
    let by_kind = &manifest["defects"]["by_kind"];
    for k in ["noise", "bom", "crlf", "country_noise", "duplicate"] {
        assert!(by_kind[k].as_u64().unwrap_or(0) > 0, "{k}: {by_kind}");
    }
    // part 2 repeats a line of part 0 (dropped); part 0 repeats a line of part 2 (kept: the original in part 2
    // is dropped); part 1 gets, right after its header, a repeat of its own 100th line (kept, the original
    // dropped).
    let (a, b, c) = (
        plain_line(&p0, 10),
        plain_line(&p2, 20),
        plain_line(&p1, 100),
    );
    let append = |text: &str, line: String| format!("{text}{line}\n");
    std::fs::write(part(2), append(&p2, altered(&a))).unwrap();
    std::fs::write(part(0), append(&p0, altered(&b))).unwrap();
    let nl = p1.find('\n').unwrap() + 1;
    std::fs::write(
        part(1),
        format!("{}{}\n{}", &p1[..nl], altered(&c), &p1[nl..]),
    )
    .unwrap();
    let s = agree(&py, &data, &t.path().join("out"));
    assert_eq!(s.rows_read, 50_003);
    assert_eq!(
        s.duplicates_dropped,
        by_kind["duplicate"].as_u64().unwrap() + 3
    );
}
