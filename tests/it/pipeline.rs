//! Integration tests of `etlkit pipeline`: scored against the generator's ground truth, independent of
//! threads, block size and compression, checked against a plain sequential oracle, golden outputs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use etlkit::generate::{generate, Compression, GenerateOptions};
use etlkit::pipeline::{run, PipelineOptions, Summary};

fn dataset(dir: &Path, rows: u64, files: u64, rate: f64, compression: Compression) {
    generate(&GenerateOptions {
        out: Some(dir.to_path_buf()),
        rows: Some(rows),
        files: Some(files),
        dirty_rate: rate,
        seed: 11,
        compression,
        ..Default::default()
    })
    .unwrap();
}

fn pipeline(data: &Path, out: &Path, threads: usize, block: usize) -> Summary {
    let mut o = PipelineOptions::new(data, out);
    o.threads = threads;
    o.block_size = block;
    run(&o).unwrap()
}

type Key = (String, u64, u64, String);

fn read_keys(path: &Path, kind_col: &str, only_reject: bool) -> BTreeSet<Key> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (f, l, o, k) = (col("file"), col("line"), col("byte_offset"), col(kind_col));
    let a = h.iter().position(|c| c == "action");
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| !only_reject || a.is_some_and(|a| &x[a] == "reject"))
        .map(|x| {
            (
                x[f].to_string(),
                x[l].parse().unwrap(),
                x[o].parse().unwrap(),
                x[k].to_string(),
            )
        })
        .collect()
}

/// Precision and recall of rejects.csv against defects.csv, per kind: both 100%.
#[test]
fn rejects_match_the_ground_truth_exactly() {
    let t = tempfile::tempdir().unwrap();
    let (data, out) = (t.path().join("d"), t.path().join("o"));
    dataset(&data, 60_000, 16, 0.03, Compression::None);
    let s = pipeline(&data, &out, 2, 64 << 10);
    let truth = read_keys(&data.join("defects.csv"), "kind", true);
    let got = read_keys(&out.join("rejects.csv"), "kind", false);
    let kinds: BTreeSet<&str> = truth.iter().map(|k| k.3.as_str()).collect();
    assert_eq!(
        kinds.len(),
        10,
        "every reject kind of the generator is present: {kinds:?}"
    );
    for kind in kinds {
        let t: BTreeSet<_> = truth.iter().filter(|k| k.3 == kind).collect();
        let g: BTreeSet<_> = got.iter().filter(|k| k.3 == kind).collect();
        let hit = t.intersection(&g).count();
        let (precision, recall) = (hit as f64 / g.len() as f64, hit as f64 / t.len() as f64);
        assert_eq!(
            (precision, recall),
            (1.0, 1.0),
            "{kind}: missed {:?}, extra {:?}",
            t.difference(&g).take(3).collect::<Vec<_>>(),
            g.difference(&t).take(3).collect::<Vec<_>>()
        );
    }
    assert_eq!(truth, got);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("manifest.json")).unwrap()).unwrap();
    let dups = manifest["defects"]["by_kind"]["duplicate"]
        .as_u64()
        .unwrap();
    assert!(dups > 100);
    assert_eq!(s.duplicates_dropped, dups);
    assert_eq!(s.rows_read, 60_000);
    assert_eq!(s.valid + s.rejected + s.duplicates_dropped, s.rows_read);
    assert_eq!(s.rejected, truth.len() as u64);
}

fn outputs(dir: &Path) -> BTreeMap<String, String> {
    ["daily_revenue.csv", "top_customers.csv", "rejects.csv"]
        .iter()
        .map(|n| (n.to_string(), std::fs::read_to_string(dir.join(n)).unwrap()))
        .collect()
}

#[test]
fn same_outputs_for_any_threads_block_size_and_compression() {
    let t = tempfile::tempdir().unwrap();
    let plain = t.path().join("plain");
    dataset(&plain, 30_000, 3, 0.02, Compression::None);
    let reference = {
        let out = t.path().join("ref");
        pipeline(&plain, &out, 2, 8 << 20);
        outputs(&out)
    };
    // Tiny blocks cut through quoted multi-line notes and CRLF files many times.
    for (threads, block) in [(1, 8 << 20), (2, 4096), (3, 777)] {
        let out = t.path().join(format!("o{threads}-{block}"));
        pipeline(&plain, &out, threads, block);
        assert_eq!(outputs(&out), reference, "threads {threads}, block {block}");
    }
    // Plain files are memory-mapped by default; read(2) gives the same.
    let mut o = PipelineOptions::new(&plain, t.path().join("read"));
    (o.mmap, o.block_size) = (false, 5000);
    run(&o).unwrap();
    assert_eq!(outputs(&t.path().join("read")), reference, "--no-mmap");
    for c in [Compression::Gzip, Compression::Zstd] {
        let data = t.path().join(c.name());
        dataset(&data, 30_000, 3, 0.02, c);
        let out = t.path().join(format!("o-{}", c.name()));
        pipeline(&data, &out, 2, 100_000);
        let mut got = outputs(&out);
        let rejects = got.get_mut("rejects.csv").unwrap();
        *rejects = rejects.replace(&format!(".csv{},", c.extension()), ".csv,");
        assert_eq!(got, reference, "{}", c.name());
    }
}

/// An independent, sequential implementation of the spec (chrono for time zones, i128 arithmetic) on a clean
/// dataset: the engine's aggregates equal it to the cent.
#[test]
fn aggregates_equal_a_plain_sequential_oracle() {
    let t = tempfile::tempdir().unwrap();
    let (data, out) = (t.path().join("d"), t.path().join("o"));
    dataset(&data, 50_000, 3, 0.0, Compression::None);
    let s = pipeline(&data, &out, 2, 100_000);
    let mut country = HashMap::new();
    let mut name = HashMap::new();
    for r in csv::Reader::from_path(data.join("customers.csv"))
        .unwrap()
        .records()
    {
        let r = r.unwrap();
        country.insert(r[0].to_string(), r[3].trim().to_uppercase());
        name.insert(r[0].to_string(), r[1].to_string());
    }
    let category: HashMap<String, String> = csv::Reader::from_path(data.join("products.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_string(), r[2].to_string()))
        .collect();
    let fx: HashMap<String, i128> = csv::Reader::from_path(data.join("fx_rates.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_string(), r[1].replace('.', "").parse().unwrap()))
        .collect();
    let mut daily: BTreeMap<(String, String, String), (u64, u64, i128)> = BTreeMap::new();
    let mut per_customer: HashMap<String, (u64, i128)> = HashMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("orders"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut total = 0i128;
    for f in files {
        for r in csv::Reader::from_path(f).unwrap().records() {
            let r = r.unwrap();
            if &r[8] == "cancelled" {
                continue;
            }
            let ts = chrono::DateTime::parse_from_rfc3339(&r[7])
                .unwrap()
                .with_timezone(&chrono::Utc);
            let (units, price): (i128, i128) = (
                r[3].parse().unwrap(),
                r[4].replace('.', "").parse().unwrap(),
            );
            // discount in hundredths of a percent
            let d: f64 = r[5].parse().unwrap();
            let bp = (d * 100.0).round() as i128;
            let gross = units * price;
            let net = (gross * (10_000 - bp) + 5_000).div_euclid(10_000);
            let usd = (net * fx[&r[6]] + 500_000).div_euclid(1_000_000);
            let key = (
                ts.format("%Y-%m-%d").to_string(),
                country[&r[1]].clone(),
                category[&r[2]].clone(),
            );
            let e = daily.entry(key).or_default();
            e.0 += 1;
            e.1 += units as u64;
            e.2 += usd;
            let c = per_customer.entry(r[1].to_string()).or_default();
            c.0 += 1;
            c.1 += usd;
            total += usd;
        }
    }
    let mut expected = String::from("date,country,category,orders,units,revenue_usd_cents\n");
    for ((d, c, k), (o, u, cents)) in &daily {
        expected.push_str(&format!("{d},{c},{k},{o},{u},{cents}\n"));
    }
    assert_eq!(
        std::fs::read_to_string(out.join("daily_revenue.csv")).unwrap(),
        expected
    );
    assert_eq!(s.revenue_usd_cents as i128, total);
    let mut top: Vec<_> = per_customer.into_iter().collect();
    top.sort_by(|a, b| {
        b.1 .1
            .cmp(&a.1 .1)
            .then(a.0.parse::<u64>().unwrap().cmp(&b.0.parse().unwrap()))
    });
    let mut r = csv::Reader::from_path(out.join("top_customers.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 100);
    for (i, row) in rows.iter().enumerate() {
        let (id, (orders, cents)) = &top[i];
        assert_eq!(&row[0], (i + 1).to_string());
        assert_eq!(
            (&row[1], &row[2], &row[3]),
            (id.as_str(), name[id].as_str(), country[id].as_str())
        );
        assert_eq!(
            (
                row[4].parse::<u64>().unwrap(),
                row[5].parse::<i128>().unwrap()
            ),
            (*orders, *cents)
        );
    }
}

/// Golden outputs for the committed sample dataset; `ETLKIT_BLESS=1` rewrites them.
#[test]
fn golden_outputs_for_the_committed_sample() {
    let root = crate::common::root();
    let golden = root.join("tests/fixtures/pipeline/sample-expected");
    let t = tempfile::tempdir().unwrap();
    let s = pipeline(&root.join("datasets/orders/sample"), t.path(), 2, 8 << 20);
    assert!(s.rejected > 0 && s.duplicates_dropped > 0);
    if std::env::var_os("ETLKIT_BLESS").is_some() {
        std::fs::create_dir_all(&golden).unwrap();
        for n in ["daily_revenue.csv", "top_customers.csv", "rejects.csv"] {
            std::fs::copy(t.path().join(n), golden.join(n)).unwrap();
        }
    }
    for n in ["daily_revenue.csv", "top_customers.csv", "rejects.csv"] {
        assert_eq!(
            std::fs::read_to_string(t.path().join(n)).unwrap(),
            std::fs::read_to_string(golden.join(n)).unwrap(),
            "{n} differs from the golden copy (ETLKIT_BLESS=1 to accept)"
        );
    }
}

fn bin(args: &[&str]) -> (i32, String) {
    let o = crate::common::etlkit().args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A malformed dimension row stops the run with the table's name, the row's line (counting line breaks inside
/// quoted fields) and its byte offset, however the table is read; padded lower-case countries are cleaned.
#[test]
fn bad_dimension_rows_are_named_by_line_and_byte() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("d");
    dataset(&data, 50, 1, 0.0, Compression::None);
    let path = data.join("customers.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Row 2: a quoted name over two lines and a padded lower-case country (cleaned, not an error).
    let f: Vec<&str> = lines[2].split(',').collect();
    lines[2] = format!("{},\"Ann\nLee\",{}, fr ,{},{}", f[0], f[2], f[4], f[5]);
    let good = lines.join("\n") + "\n";
    std::fs::write(&path, &good).unwrap();
    let o = t.path().join("o");
    let run = || {
        bin(&[
            "pipeline",
            data.to_str().unwrap(),
            "--out",
            o.to_str().unwrap(),
            "-q",
        ])
    };
    let (code, err) = run();
    assert_eq!(code, 0, "{err}");
    // Row 4: a country that is no code.
    let f: Vec<&str> = lines[4].split(',').collect();
    lines[4] = format!("{},{},{},XYZ,{},{}", f[0], f[1], f[2], f[4], f[5]);
    let bad = lines.join("\n") + "\n";
    std::fs::write(&path, &bad).unwrap();
    let offset = bad.find(&lines[4]).unwrap();
    let (code, err) = run();
    assert_eq!(code, 1);
    // Line 6: the header, rows 1-3 (row 2 takes two lines), then row 4.
    assert!(
        err.contains(&format!("customers.csv:6: byte {offset}: country \"XYZ\"")),
        "{err}"
    );
}

#[test]
fn bad_inputs_get_errors_with_positions_and_never_a_panic() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("d");
    dataset(&data, 2_000, 2, 0.05, Compression::None);
    let d = data.to_str().unwrap();
    let out = t.path().join("o");
    let o = out.to_str().unwrap();
    // --fail-fast names the first rejected row.
    let (code, err) = bin(&["pipeline", d, "--out", o, "--fail-fast", "-q"]);
    assert_eq!(code, 1, "{err}");
    let first = read_keys(&data.join("defects.csv"), "kind", true)
        .into_iter()
        .next()
        .unwrap();
    assert!(
        err.contains(&format!(
            "{}:{}: byte {}: {}",
            first.0, first.1, first.2, first.3
        )),
        "{err}\n{first:?}"
    );
    // A wrong header names the file and line 1.
    let part = data.join("orders/part-00001.csv");
    let text = std::fs::read(&part).unwrap();
    std::fs::write(
        &part,
        [
            &b"id,customer"[..],
            &text[text.iter().position(|&b| b == b'\n').unwrap()..],
        ]
        .concat(),
    )
    .unwrap();
    let (code, err) = bin(&["pipeline", d, "--out", o, "-q"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("part-00001.csv:1:") && err.contains("expected the header order_id,"),
        "{err}"
    );
    // Garbage bytes after a good header: rows are rejected, the run completes.
    let mut garbage = HEADER.as_bytes().to_vec();
    let mut x: u64 = 0x1234_5678;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        garbage.push([b'"', b',', b'\n', b'\r', b'1', b'a', 0xff, b' '][(x % 8) as usize]);
    }
    std::fs::write(&part, &garbage).unwrap();
    let (code, err) = bin(&["pipeline", d, "--out", o, "-q"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("panicked"));
    // A missing dimension table names the path.
    std::fs::remove_file(data.join("products.csv")).unwrap();
    let (code, err) = bin(&["pipeline", d, "--out", o, "-q"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("products.csv") && err.contains("not found"),
        "{err}"
    );
    // A missing dataset directory names it.
    let (code, err) = bin(&["pipeline", "/nonexistent/etlkit", "--out", o, "-q"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/etlkit"), "{err}");
}

#[test]
fn rerun_replaces_outputs_atomically() {
    let t = tempfile::tempdir().unwrap();
    let (data, out) = (t.path().join("d"), t.path().join("o"));
    dataset(&data, 5_000, 1, 0.01, Compression::None);
    pipeline(&data, &out, 2, 8 << 20);
    let before = outputs(&out);
    std::fs::write(out.join("daily_revenue.csv"), "stale").unwrap();
    pipeline(&data, &out, 2, 8 << 20);
    assert_eq!(outputs(&out), before);
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("etlkit-tmp")), "{names:?}");
    assert!(names.contains(&"summary.json".to_string()));
}

/// The orders files' header line, as the spec writes it.
const HEADER: &str =
    "order_id,customer_id,product_id,quantity,unit_price,discount_pct,currency,order_ts,status,notes\n";

/// `DIR/d` with the committed sample's dimension tables and an empty `orders/`: for hand-made order files.
fn sample_dims(dir: &Path) -> PathBuf {
    let data = dir.join("d");
    let sample = crate::common::root().join("datasets/orders/sample");
    std::fs::create_dir_all(data.join("orders")).unwrap();
    for dim in ["customers.csv", "products.csv", "fx_rates.csv"] {
        std::fs::copy(sample.join(dim), data.join(dim)).unwrap();
    }
    data
}

/// Hand-made edge cases: a quote inside an unquoted field is an ordinary character (as csv-core reads it), a lone
/// CR is data, and none of it depends on where blocks are cut.
#[test]
fn bare_quotes_and_lone_cr_read_the_same_whatever_the_block_size() {
    let t = tempfile::tempdir().unwrap();
    let data = sample_dims(t.path());
    let mut text = String::from(HEADER);
    for i in 1..=60 {
        text.push_str(&format!(
            "{},5,7,2,10.00,0,USD,2024-03-01T10:00:00Z,placed,size 3\" only\n",
            3 * i
        ));
        text.push_str(&format!(
            "{},5,7,2,10.00,0,USD,2024-03-01T10:00:00Z,paid,\"two\nlines, \"\"quoted\"\"\"\n",
            3 * i + 1
        ));
        text.push_str(&format!(
            "{},5,7,1,10.00,0,USD,2024-03-01T10:00:00Z,paid,x\rmore\n",
            3 * i + 2
        ));
    }
    text.push_str("999,5,7,2,10.00,0,USD,2024-03-01T10:00:00Z,placed,size 3\" only\n");
    std::fs::write(data.join("orders/part-00000.csv"), &text).unwrap();
    let mut results = Vec::new();
    for block in [8 << 20, 301, 97] {
        let out = t.path().join(format!("o{block}"));
        let s = pipeline(&data, &out, 2, block);
        assert_eq!(
            (s.rows_read, s.rejected, s.valid),
            (181, 0, 181),
            "block {block}: {s:?}"
        );
        results.push(outputs(&out));
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    // 60 x (2 + 2 + 1) units + the last row's 2.
    assert!(
        results[0]["daily_revenue.csv"].contains("2024-03-01,"),
        "{}",
        results[0]["daily_revenue.csv"]
    );
    let units: u64 = results[0]["daily_revenue.csv"]
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(units, 302);
}

/// Notes whose quoted lines read as good records fool the reader's guessed block cuts: the blocks after a
/// wrong cut must be read again from the true record start, with the same outputs (counts, customers, reject
/// lines and offsets) as one block holding the whole file. Long notes span several blocks (wrong cuts in a
/// row), and CRLF lines and rejects sit among them.
#[test]
fn wrong_guessed_cuts_are_read_again() {
    let t = tempfile::tempdir().unwrap();
    let data = sample_dims(t.path());
    // A line inside a note that the guess takes for a record (customer 9, nine units: counted, it would show).
    let fake = |id: usize| format!("{id},9,7,9,99.00,0,USD,2024-03-02T10:00:00Z,paid,");
    let mut text = String::from(HEADER);
    let mut id = 1;
    let mut records = 0u64;
    for i in 0..150 {
        let fakes = if i % 10 == 0 { 12 } else { 1 + i % 3 };
        let mut note = String::from("\"x");
        for _ in 0..fakes {
            note.push('\n');
            note.push_str(&fake(100_000 + id));
            id += 1;
        }
        note.push('"');
        let eol = if i % 4 == 0 { "\r\n" } else { "\n" };
        text.push_str(&format!(
            "{id},5,7,2,10.00,0,USD,2024-03-01T10:00:00Z,paid,{note}{eol}"
        ));
        id += 1;
        text.push_str(&format!(
            "{id},5,7,1,10.00,0,USD,2024-03-01T10:00:00Z,paid,\n"
        ));
        id += 1;
        records += 2;
        if i % 7 == 0 {
            text.push_str(&format!(
                "{id},5,7,abc,10.00,0,USD,2024-03-01T10:00:00Z,paid,\n"
            ));
            id += 1;
            records += 1;
        }
    }
    std::fs::write(data.join("orders/part-00000.csv"), &text).unwrap();
    let whole = t.path().join("whole");
    let s = pipeline(&data, &whole, 2, 8 << 20);
    assert_eq!((s.rows_read, s.rejected, s.rereads), (records, 22, 0));
    let expected = outputs(&whole);
    assert!(!expected["top_customers.csv"].contains("\n9,"));
    for block in [120, 200, 333, 700, 2000] {
        for mmap in [true, false] {
            let out = t.path().join(format!("o{block}{mmap}"));
            let mut o = PipelineOptions::new(&data, &out);
            (o.threads, o.block_size, o.mmap) = (2, block, mmap);
            let s = run(&o).unwrap();
            // Only mapped files are cut by guesses; read ones are cut exactly.
            assert_eq!(s.rereads > 0, mmap, "block {block}, mmap {mmap}");
            assert!(s.reread_bytes <= text.len() as u64, "{}", s.reread_bytes);
            assert_eq!((s.rows_read, s.rejected), (records, 22), "block {block}");
            assert_eq!(outputs(&out), expected, "block {block}, mmap {mmap}");
        }
    }
}

/// A quote that never closes, early in a file, makes every guessed cut after it wrong: the open record is kept
/// and read once when the file ends (reading it again at every block was quadratic), with the same outputs as
/// exact cuts.
#[test]
fn a_quote_that_never_closes_is_read_once() {
    let t = tempfile::tempdir().unwrap();
    let data = sample_dims(t.path());
    let mut text = String::from(HEADER);
    for id in 1..=20 {
        text.push_str(&format!(
            "{id},5,7,2,10.00,0,USD,2024-03-01T10:00:00Z,paid,\n"
        ));
    }
    text.push_str("21,5,7,2,10.00,0,USD,2024-03-01T10:00:00Z,paid,\"stray\n");
    for id in 22..=3000 {
        text.push_str(&format!(
            "{id},5,7,2,10.00,0,USD,2024-03-01T10:00:00Z,paid,\n"
        ));
    }
    std::fs::write(data.join("orders/part-00000.csv"), &text).unwrap();
    let whole = t.path().join("whole");
    let s = pipeline(&data, &whole, 2, 8 << 20);
    assert_eq!((s.rows_read, s.valid, s.rejected), (21, 20, 1));
    let out = t.path().join("blocks");
    let s = pipeline(&data, &out, 2, 1000);
    assert!(s.rereads > 100, "{}", s.rereads);
    assert!(
        s.reread_bytes <= text.len() as u64,
        "{} of {}",
        s.reread_bytes,
        text.len()
    );
    assert_eq!((s.rows_read, s.valid, s.rejected), (21, 20, 1));
    assert_eq!(outputs(&out), outputs(&whole));
}

/// Errors come in input order: with `--fail-fast`, a bad row late in the first file is reported, not the bad
/// header of the second file that a worker may have reached first.
#[test]
fn the_first_error_in_input_order_is_reported() {
    let t = tempfile::tempdir().unwrap();
    let data = sample_dims(t.path());
    let mut first = String::from(HEADER);
    for id in 1..=30_000 {
        let qty = if id == 29_990 { "x" } else { "2" };
        first.push_str(&format!(
            "{id},5,7,{qty},10.00,0,USD,2024-03-01T10:00:00Z,paid,\n"
        ));
    }
    std::fs::write(data.join("orders/part-00000.csv"), &first).unwrap();
    std::fs::write(data.join("orders/part-00001.csv"), "wrong,header\n1,2\n").unwrap();
    for _ in 0..20 {
        let mut o = PipelineOptions::new(&data, t.path().join("o"));
        (o.threads, o.block_size, o.fail_fast) = (3, 256 << 10, true);
        let e = run(&o).unwrap_err().to_string();
        assert!(e.contains("part-00000.csv") && e.contains("29991"), "{e}");
    }
}

/// A block size of 0 through the library reads as 1 byte (it once looped forever when reading with `read(2)`).
#[test]
fn a_zero_block_size_still_reads() {
    let t = tempfile::tempdir().unwrap();
    let sample = crate::common::root().join("datasets/orders/sample");
    let whole = pipeline(&sample, &t.path().join("whole"), 2, 8 << 20);
    for mmap in [true, false] {
        let mut o = PipelineOptions::new(&sample, t.path().join("zero"));
        (o.block_size, o.mmap) = (0, mmap);
        let s = run(&o).unwrap();
        assert_eq!((s.rows_read, s.valid), (whole.rows_read, whole.valid));
    }
}
