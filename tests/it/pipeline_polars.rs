//! `etlkit pipeline --engine polars` against the csv engine: identical reports on clean data, the documented
//! differences on dirty data (exercises/etl_10gb/README.md, "The polars engine"), and the Parquet copies.

use std::collections::BTreeMap;
use std::path::Path;

use etlkit::generate::{generate, Compression, GenerateOptions};
use etlkit::pipeline::{run, Engine, PipelineOptions, Summary};
use polars::prelude::{CsvWriter, DataType, ParquetReader, SerReader, SerWriter};

fn dataset(dir: &Path, rows: u64, files: u64, rate: f64, compression: Compression) {
    generate(&GenerateOptions {
        out: Some(dir.to_path_buf()),
        rows: Some(rows),
        files: Some(files),
        dirty_rate: rate,
        seed: 7,
        compression,
        ..Default::default()
    })
    .unwrap();
}

fn pipeline(data: &Path, out: &Path, engine: Engine) -> Summary {
    let mut o = PipelineOptions::new(data, out);
    o.engine = engine;
    o.threads = 2;
    run(&o).unwrap()
}

/// The summary without its run-specific fields.
fn counts(s: &Summary) -> Summary {
    Summary {
        engine: String::new(),
        elapsed_seconds: 0.0,
        mb_per_s: 0.0,
        ..s.clone()
    }
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    file: String,
    line: String,
    offset: String,
    column: String,
    kind: String,
    raw: String,
}

fn rejects(dir: &Path) -> Vec<Row> {
    csv::Reader::from_path(dir.join("rejects.csv"))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            Row {
                file: r[0].into(),
                line: r[1].into(),
                offset: r[2].into(),
                column: r[3].into(),
                kind: r[4].into(),
                raw: r[5].into(),
            }
        })
        .collect()
}

#[test]
fn clean_data_gives_the_csv_engines_reports_byte_for_byte() {
    let t = tempfile::tempdir().unwrap();
    for c in [Compression::None, Compression::Gzip] {
        let data = t.path().join(c.name());
        dataset(&data, 20_000, 3, 0.0, c);
        let (a, b) = (
            t.path().join(format!("csv-{}", c.name())),
            t.path().join(format!("polars-{}", c.name())),
        );
        let sa = pipeline(&data, &a, Engine::Csv);
        let sb = pipeline(&data, &b, Engine::Polars);
        assert_eq!(sb.engine, "polars");
        assert_eq!(counts(&sa), counts(&sb), "{}", c.name());
        assert!(sa.valid > 0 && sa.cancelled > 0);
        for n in ["daily_revenue.csv", "top_customers.csv", "rejects.csv"] {
            assert!(read(&a, n) == read(&b, n), "{n} differs ({})", c.name());
        }
        let names: Vec<String> = std::fs::read_dir(&b)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains("etlkit-tmp")), "{names:?}");
    }
}

/// On dirty data every kind but `field_count` is found exactly (same records, kinds, columns, raw text); the
/// file-tail kinds also with their line and byte offset. A `field_count` record is found only when its 11th
/// field is not empty; the others are rejected under another kind or, when their shifted fields happen to pass
/// every rule, kept as valid.
#[test]
fn dirty_data_matches_the_csv_engine_except_where_documented() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("d");
    dataset(&data, 40_000, 12, 0.03, Compression::None);
    let (a, b) = (t.path().join("csv"), t.path().join("polars"));
    let sa = pipeline(&data, &a, Engine::Csv);
    let sb = pipeline(&data, &b, Engine::Polars);
    let (ra, rb) = (rejects(&a), rejects(&b));
    for s in [&sa, &sb] {
        assert_eq!(s.valid + s.rejected + s.duplicates_dropped, s.rows_read);
    }
    assert_eq!(
        (sa.rows_read, sa.bytes_read, sa.files, sa.duplicates_dropped),
        (sb.rows_read, sb.bytes_read, sb.files, sb.duplicates_dropped)
    );
    let kind = |s: &Summary, k: &str| s.rejected_by_kind[k];
    for k in [
        "unterminated_quote",
        "truncated_row",
        "invalid_utf8",
        "bad_quantity",
        "unknown_currency",
        "orphan_customer",
        "orphan_product",
    ] {
        assert_eq!(kind(&sa, k), kind(&sb, k), "{k}");
    }
    for k in ["unterminated_quote", "truncated_row", "field_count"] {
        assert!(kind(&sa, k) > 0, "the dataset has {k}");
    }
    // Each reference reject that is not a field_count is in the polars rejects, with the same kind, column and
    // raw text; positions only for the tail kinds.
    let mut left: Vec<Row> = rb.clone();
    for r in ra.iter().filter(|r| r.kind != "field_count") {
        let tail = matches!(r.kind.as_str(), "truncated_row" | "unterminated_quote");
        let want = Row {
            line: if tail { r.line.clone() } else { String::new() },
            offset: if tail {
                r.offset.clone()
            } else {
                String::new()
            },
            ..r.clone()
        };
        let i = left.iter().position(|x| *x == want);
        assert!(i.is_some(), "polars missed {want:?}");
        left.swap_remove(i.unwrap());
    }
    // What is left are the reference's field_count records: the ones polars saw as field_count have the same raw
    // text; the rest got another kind or were kept.
    let fc: Vec<&Row> = ra.iter().filter(|r| r.kind == "field_count").collect();
    for r in &left {
        assert!(r.line.is_empty() && r.offset.is_empty());
        if r.kind == "field_count" {
            assert!(
                fc.iter().any(|x| x.file == r.file && x.raw == r.raw),
                "{r:?} is not a field_count of the csv engine"
            );
        }
    }
    let kept = sb.valid - sa.valid;
    assert_eq!(left.len() as u64 + kept, fc.len() as u64);
    assert!(kind(&sb, "field_count") > 0 && kind(&sb, "field_count") < fc.len() as u64);
    assert_eq!(sb.rejected + kept, sa.rejected);
    // Rejects are in input order: by file, and each file's tail reject last.
    let order: Vec<&String> = rb.iter().map(|r| &r.file).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]));
}

/// Rows of a Parquet copy, written back as CSV by polars, equal the CSV report.
fn parquet_as_csv(dir: &Path, name: &str) -> (Vec<u8>, BTreeMap<String, DataType>) {
    let file = std::fs::File::open(dir.join(format!("{name}.parquet"))).unwrap();
    let mut df = ParquetReader::new(file).finish().unwrap();
    let types = df
        .schema()
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes).finish(&mut df).unwrap();
    (bytes, types)
}

#[test]
fn both_engines_write_parquet_copies_with_the_same_rows() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("d");
    dataset(&data, 10_000, 2, 0.01, Compression::None);
    for engine in [Engine::Csv, Engine::Polars] {
        let out = t.path().join(format!("{engine:?}"));
        pipeline(&data, &out, engine);
        for name in ["daily_revenue", "top_customers"] {
            let (csv, types) = parquet_as_csv(&out, name);
            assert!(
                csv == read(&out, &format!("{name}.csv")),
                "{engine:?} {name}"
            );
            if name == "daily_revenue" {
                assert_eq!(types["date"], DataType::Date);
                for c in ["orders", "units", "revenue_usd_cents"] {
                    assert_eq!(types[c], DataType::UInt64, "{c}");
                }
            } else {
                assert_eq!(types["rank"], DataType::UInt32);
                for c in ["customer_id", "orders", "revenue_usd_cents"] {
                    assert_eq!(types[c], DataType::UInt64, "{c}");
                }
            }
        }
    }
}

/// Input polars cannot read (a quoted field with text after its closing quote) is an error naming the dataset,
/// not a panic, and leaves no finished-looking or temporary outputs.
#[test]
fn unreadable_input_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("d");
    dataset(&data, 2_000, 2, 0.0, Compression::None);
    let part = data.join("orders/part-00001.csv");
    let mut text = std::fs::read(&part).unwrap();
    text.extend_from_slice(b"1,2,3,1,\"1.00\"x,0,USD,2024-01-01T00:00:00Z,paid,\n");
    std::fs::write(&part, text).unwrap();
    let out = t.path().join("o");
    let mut o = PipelineOptions::new(&data, &out);
    o.engine = Engine::Polars;
    let e = run(&o).unwrap_err();
    assert!(
        matches!(e, etlkit::Error::Format { .. }),
        "{e}: a polars error"
    );
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.is_empty(), "{names:?}");
}
