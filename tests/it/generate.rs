//! Integration tests of `etlkit generate`: determinism, sharding, ground truth, compression, errors.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use etlkit::generate::{generate, Compression, DirtKind, GenerateOptions, Manifest, Shard};

fn bin() -> Command {
    crate::common::etlkit()
}

fn opts(out: &Path, rows: u64, files: u64, rate: f64, threads: usize) -> GenerateOptions {
    GenerateOptions {
        out: Some(out.to_path_buf()),
        rows: Some(rows),
        files: Some(files),
        dirty_rate: rate,
        threads,
        seed: 7,
        ..Default::default()
    }
}

/// Every file below `dir`, relative path -> bytes.
fn tree(dir: &Path) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn same_bytes_for_any_thread_count() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    // 50,000 rows in 3 files: several 16 Ki-row chunks per file, so the workers interleave.
    generate(&opts(&a, 50_000, 3, 0.02, 1)).unwrap();
    generate(&opts(&b, 50_000, 3, 0.02, 2)).unwrap();
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.len(), 8, "{:?}", ta.keys());
    for (k, v) in &ta {
        assert!(tb.get(k) == Some(v), "{k} differs between 1 and 2 threads");
    }
    // A different seed gives different bytes.
    let c = t.path().join("c");
    generate(&GenerateOptions {
        seed: 8,
        ..opts(&c, 50_000, 3, 0.02, 2)
    })
    .unwrap();
    assert_ne!(
        tree(&c)["orders/part-00000.csv"],
        ta["orders/part-00000.csv"]
    );
}

#[test]
fn shards_are_byte_identical_to_the_full_run() {
    let t = tempfile::tempdir().unwrap();
    let full = t.path().join("full");
    generate(&opts(&full, 30_000, 5, 0.02, 2)).unwrap();
    let full_tree = tree(&full);
    let mut seen = HashSet::new();
    for k in 1..=3 {
        let dir = t.path().join(format!("s{k}"));
        let m = generate(&GenerateOptions {
            shard: Shard { index: k, count: 3 },
            ..opts(&dir, 30_000, 5, 0.02, 2)
        })
        .unwrap();
        assert_eq!(m.options.shard, format!("{k}/3"));
        for (name, bytes) in tree(&dir) {
            if name.ends_with(".csv") && name != "defects.csv" {
                assert_eq!(&full_tree[&name], &bytes, "{name} of shard {k}/3");
                assert!(seen.insert(name.clone()), "{name} in two shards");
            }
        }
    }
    let expected: HashSet<_> = full_tree
        .keys()
        .filter(|n| n.ends_with(".csv") && *n != "defects.csv")
        .cloned()
        .collect();
    assert_eq!(seen, expected, "the shards together hold every file");
}

fn read_manifest(dir: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[derive(Debug)]
struct Defect {
    line: u64,
    kind: String,
    column: String,
    action: String,
}

/// defects.csv as (file, byte_offset) -> defect.
/// File-level kinds (bom, crlf) share offset 0 and are keyed by their kind too.
fn read_defects(dir: &Path) -> HashMap<(String, u64, String), Defect> {
    let mut r = csv::Reader::from_path(dir.join("defects.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec![
            "file",
            "line",
            "byte_offset",
            "kind",
            "column",
            "action",
            "detail"
        ]
    );
    let mut out = HashMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let d = Defect {
            line: rec[1].parse().unwrap(),
            kind: rec[3].to_string(),
            column: rec[4].to_string(),
            action: rec[5].to_string(),
        };
        let file_level = if matches!(&rec[3], "bom" | "crlf") {
            &rec[3]
        } else {
            ""
        };
        let key = (
            rec[0].to_string(),
            rec[2].parse().unwrap(),
            file_level.to_string(),
        );
        assert!(
            out.insert(key.clone(), d).is_none(),
            "two defects at {key:?}"
        );
    }
    out
}

use etlkit::schema::STATUSES;
const CURRENCIES: [&str; 12] = [
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "INR", "BRL", "PLN", "MXN",
];

fn is_decimal(s: &[u8], max_frac: usize, exact_frac: bool) -> bool {
    let s = match std::str::from_utf8(s) {
        Ok(s) => s,
        Err(_) => return false,
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac_ok = if exact_frac {
        frac.len() == max_frac
    } else {
        frac.len() <= max_frac && (s.contains('.') != frac.is_empty())
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && frac_ok
}

/// An independent oracle: the defect kind a record shows, judged from its bytes alone (duplicates aside).
fn judge(rec: &csv::ByteRecord, customers: u64, products: u64) -> Option<&'static str> {
    if rec.len() != 10 {
        return Some("field_count");
    }
    if rec.iter().any(|f| std::str::from_utf8(f).is_err()) {
        return Some("invalid_utf8");
    }
    let f = |i: usize| std::str::from_utf8(&rec[i]).unwrap();
    let quantity = f(3);
    let q: i64 = match quantity.parse() {
        Ok(q) if !quantity.starts_with('+') => q,
        _ => return Some("bad_number"),
    };
    if !is_decimal(&rec[4], 2, true) || !is_decimal(&rec[5], 2, false) {
        return Some("bad_number");
    }
    if q <= 0 {
        return Some("bad_quantity");
    }
    if chrono::DateTime::parse_from_rfc3339(f(7)).is_err() || !f(7).contains('T') {
        return Some("bad_timestamp");
    }
    let status = f(8).trim().to_ascii_lowercase();
    if !STATUSES.contains(&status.as_str()) {
        return Some("unknown_status");
    }
    let currency = f(6).trim().to_ascii_uppercase();
    assert!(
        CURRENCIES.contains(&currency.as_str()),
        "currency {:?}",
        f(6)
    );
    if f(1).parse::<u64>().unwrap() > customers {
        return Some("orphan_customer");
    }
    if f(2).parse::<u64>().unwrap() > products {
        return Some("orphan_product");
    }
    if status != f(8) || currency != f(6) {
        return Some("noise");
    }
    None
}

/// Reads a CSV file's records with their byte offsets and lines (the BOM, if any, skipped by hand).
fn records(data: &[u8]) -> Vec<(u64, u64, csv::ByteRecord)> {
    let base = if data.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&data[base..]);
    let mut out = Vec::new();
    let mut rec = csv::ByteRecord::new();
    while r.read_byte_record(&mut rec).unwrap() {
        // csv's position of a record after a CRLF points at the '\n'; the record starts after it.
        let mut at = base + rec.position().unwrap().byte() as usize;
        while data.get(at) == Some(&b'\n') {
            at += 1;
        }
        out.push((at as u64, 0, rec.clone()));
    }
    // Lines counted from the bytes: 1 + newlines before the record (quoted line breaks included).
    let mut line = 1;
    let mut last = 0;
    for r in out.iter_mut() {
        line += data[last..r.0 as usize]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        last = r.0 as usize;
        r.1 = line;
    }
    out
}

/// The ground truth is exact: every record the oracle finds defective is in defects.csv with the same kind,
/// line and offset, and every entry of defects.csv is such a record. So a pipeline can be scored against it.
#[test]
fn defects_csv_is_complete_and_exact() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("d");
    generate(&opts(&dir, 40_000, 8, 0.03, 2)).unwrap();
    let m = read_manifest(&dir);
    let mut defects = read_defects(&dir);
    let mut kinds_seen = HashSet::new();
    let mut first_seen: HashMap<Vec<u8>, Vec<Vec<u8>>> = HashMap::new();
    let mut check = |file: &str, offset: u64, line: u64, expected: Option<&str>, data: &[u8]| {
        let file_level = expected
            .filter(|k| matches!(*k, "bom" | "crlf"))
            .unwrap_or("");
        let got = defects.remove(&(file.to_string(), offset, file_level.to_string()));
        match (expected, got) {
            (None, None) => String::new(),
            (Some(kind), Some(d)) => {
                assert_eq!(d.kind, kind, "{file} line {line}");
                assert_eq!(d.line, line, "{file} {kind} at byte {offset}");
                // The line and offset agree with the bytes: the offset starts a line, after line-1 newlines.
                let before = &data[..offset as usize];
                assert_eq!(
                    before.iter().filter(|&&b| b == b'\n').count() as u64 + 1,
                    line
                );
                assert!(before.is_empty() || before.ends_with(b"\n"));
                let k = DirtKind::parse(kind).unwrap();
                assert_eq!(d.action, k.action().as_str());
                kinds_seen.insert(kind.to_string());
                d.column
            }
            (e, g) => panic!(
                "{file} line {line} byte {offset}: oracle says {e:?}, defects.csv says {g:?}"
            ),
        }
    };
    for entry in &m.files {
        let data = std::fs::read(dir.join(&entry.path)).unwrap();
        let recs = records(&data);
        assert_eq!(
            recs.len() as u64,
            entry.rows + 1,
            "{}: records + header",
            entry.path
        );
        match entry.table.as_str() {
            "orders" => {
                for (i, (offset, line, rec)) in recs.iter().enumerate().skip(1) {
                    let last = i + 1 == recs.len();
                    let raw = &data[*offset as usize..];
                    let expected = if last && !data.ends_with(b"\n") {
                        assert!(rec.len() < 10);
                        Some("truncated_row")
                    } else if last && raw.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
                        Some("unterminated_quote")
                    } else {
                        match judge(rec, m.dataset.customers, m.dataset.products) {
                            None => {
                                let fields: Vec<Vec<u8>> = rec.iter().map(|f| f.to_vec()).collect();
                                match first_seen.get(&fields[0]) {
                                    Some(first) => {
                                        assert_eq!(first, &fields, "a duplicate is an exact copy");
                                        Some("duplicate")
                                    }
                                    None => {
                                        first_seen.insert(fields[0].clone(), fields);
                                        None
                                    }
                                }
                            }
                            kind => kind,
                        }
                    };
                    let column = check(&entry.path, *offset, *line, expected, &data);
                    // The recorded column is a real column name (empty only for a truncated record).
                    if expected.is_some() {
                        assert!(
                            etlkit::generate::scenario::ORDER_COLUMNS.contains(&column.as_str())
                                || (column.is_empty() && expected == Some("truncated_row")),
                            "{column:?}"
                        );
                    }
                }
                if entry.bom {
                    assert!(data.starts_with("\u{feff}order_id,".as_bytes()));
                    check(&entry.path, 0, 1, Some("bom"), b"");
                }
                if entry.crlf {
                    check(&entry.path, 0, 1, Some("crlf"), b"");
                }
                assert_eq!(entry.crlf, data.windows(7).any(|w| w == b"notes\r\n"));
            }
            "customers" => {
                for (offset, line, rec) in recs.iter().skip(1) {
                    let country = std::str::from_utf8(&rec[3]).unwrap();
                    let noisy = country != country.trim().to_ascii_uppercase();
                    let column = check(
                        &entry.path,
                        *offset,
                        *line,
                        noisy.then_some("country_noise"),
                        &data,
                    );
                    assert_eq!(column, if noisy { "country" } else { "" });
                }
            }
            _ => {
                for (offset, line, _) in recs.iter().skip(1) {
                    check(&entry.path, *offset, *line, None, &data);
                }
            }
        }
    }
    assert!(
        defects.is_empty(),
        "defects.csv lists records that are not defective: {defects:?}"
    );
    for k in DirtKind::ALL {
        assert!(kinds_seen.contains(k.name()), "kind {k} never injected");
    }
}

#[test]
fn clean_dataset_parses_and_keys_resolve() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("clean");
    let m = generate(&opts(&dir, 20_000, 2, 0.0, 2)).unwrap();
    assert_eq!(m.defects.total, 0);
    assert_eq!(
        std::fs::read_to_string(dir.join("defects.csv"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    let customers = records(&std::fs::read(dir.join("customers.csv")).unwrap());
    let products = records(&std::fs::read(dir.join("products.csv")).unwrap());
    assert_eq!(customers.len() as u64 - 1, m.dataset.customers);
    assert_eq!(products.len() as u64 - 1, m.dataset.products);
    let mut ids = Vec::new();
    let mut quoted_notes = 0;
    for f in 0..2 {
        // The plain csv crate reader, with headers and strict field counts: zero errors.
        let path = dir.join(format!("orders/part-{f:05}.csv"));
        let mut r = csv::Reader::from_path(&path).unwrap();
        for rec in r.records() {
            let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                judge(
                    &rec.as_byte_record().clone(),
                    m.dataset.customers,
                    m.dataset.products
                ),
                None
            );
            ids.push(rec[0].parse::<u64>().unwrap());
            quoted_notes += (rec[9].contains('\n') || rec[9].contains(',')) as u32;
        }
    }
    assert_eq!(
        ids,
        (1..=20_000).collect::<Vec<_>>(),
        "dense, unique, in order"
    );
    assert!(
        quoted_notes > 100,
        "notes that need quoting appear: {quoted_notes}"
    );
    // Every file's sha256 and size in the manifest is right.
    for e in &m.files {
        let data = std::fs::read(dir.join(&e.path)).unwrap();
        assert_eq!(data.len() as u64, e.bytes);
        assert_eq!(
            format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&data)),
            e.sha256
        );
    }
}

#[test]
fn size_option_lands_near_the_target_and_shards_files() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("sz");
    let m = generate(&GenerateOptions {
        out: Some(dir.clone()),
        size: Some(20_000_000),
        file_size: Some(5_000_000),
        ..Default::default()
    })
    .unwrap();
    let total: u64 = m.files.iter().map(|f| f.bytes).sum();
    assert!((19_000_000..21_000_000).contains(&total), "{total}");
    assert_eq!(m.dataset.fact_files, 4);
    assert!(m.dataset.customers > 1_000 && m.dataset.products >= 100);
}

#[test]
fn compressed_outputs_hold_the_same_csv() {
    let t = tempfile::tempdir().unwrap();
    let plain = t.path().join("plain");
    generate(&opts(&plain, 40_000, 2, 0.01, 2)).unwrap();
    for (c, ext) in [(Compression::Gzip, "gz"), (Compression::Zstd, "zst")] {
        let dir = t.path().join(ext);
        let m = generate(&GenerateOptions {
            compression: c,
            ..opts(&dir, 40_000, 2, 0.01, 2)
        })
        .unwrap();
        for e in &m.files {
            assert!(e.path.ends_with(&format!(".csv.{ext}")), "{}", e.path);
            let packed = std::fs::read(dir.join(&e.path)).unwrap();
            let mut text = Vec::new();
            match c {
                Compression::Gzip => {
                    flate2::read::MultiGzDecoder::new(&packed[..])
                        .read_to_end(&mut text)
                        .unwrap();
                }
                _ => {
                    text = zstd::decode_all(&packed[..]).unwrap();
                }
            }
            let plain_path = e.path.trim_end_matches(&format!(".{ext}"));
            assert_eq!(
                text,
                std::fs::read(plain.join(plain_path)).unwrap(),
                "{}",
                e.path
            );
            assert_eq!(text.len() as u64, e.uncompressed_bytes);
            assert!(e.bytes < e.uncompressed_bytes);
        }
        // Offsets in defects.csv refer to the uncompressed text, so they equal the plain run's.
        let strip = |s: String| s.replace(&format!(".csv.{ext},"), ".csv,");
        assert_eq!(
            strip(std::fs::read_to_string(dir.join("defects.csv")).unwrap()),
            std::fs::read_to_string(plain.join("defects.csv")).unwrap()
        );
    }
}

#[test]
fn stdout_equals_the_fact_files() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("d");
    generate(&opts(&dir, 30_000, 2, 0.01, 2)).unwrap();
    let out = bin()
        .args([
            "generate",
            "--rows",
            "30000",
            "--files",
            "2",
            "--dirty-rate",
            "0.01",
            "--seed",
            "7",
            "--stdout",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = std::fs::read(dir.join("orders/part-00000.csv")).unwrap();
    expected.extend(std::fs::read(dir.join("orders/part-00001.csv")).unwrap());
    assert!(out.stdout == expected, "stdout differs from the files");
}

fn run_err(args: &[&str]) -> (i32, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_get_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("o");
    let o = out.to_str().unwrap();
    let (code, err) = run_err(&["generate", "--size", "10XB", "--out", o]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid size '10XB'") && err.contains("10GB"),
        "{err}"
    );
    let (code, err) = run_err(&["generate", "--shard", "3/2", "--out", o]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid shard '3/2'") && err.contains("1 <= K <= N"),
        "{err}"
    );
    let (code, err) = run_err(&["generate", "--dirt", "bom,bogus", "--out", o]);
    assert_eq!(code, 2);
    assert!(
        err.contains("'bogus'") && err.contains("truncated_row"),
        "{err}"
    );
    let (code, err) = run_err(&[
        "generate",
        "--dirty-rate",
        "1.5",
        "--rows",
        "10",
        "--out",
        o,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid dirty rate '1.5'"), "{err}");
    // A file where the directory should be: an I/O error naming the path, exit 1.
    let file = t.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let under = file.join("sub");
    let (code, err) = run_err(&["generate", "--rows", "10", "--out", under.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains(under.to_str().unwrap()), "{err}");
    // Non-empty output directory: refused without --force, replaced with it.
    let (code, _) = run_err(&["generate", "--rows", "100", "--out", o, "-q"]);
    assert_eq!(code, 0);
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    std::fs::write(out.join("orders/part-00009.csv"), "stale").unwrap();
    let (code, err) = run_err(&["generate", "--rows", "100", "--out", o]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    let (code, err) = run_err(&["generate", "--rows", "100", "--out", o, "--force", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.join("keep.txt").exists(),
        "files that are not the dataset's stay"
    );
    assert!(
        !out.join("orders/part-00009.csv").exists(),
        "stale parts go"
    );
    // A full disk: writing to /dev/full fails with a message and exit 1, not a panic.
    if Path::new("/dev/full").exists() {
        let full = std::fs::File::create("/dev/full").unwrap();
        let o = bin()
            .args(["generate", "--rows", "100000", "--stdout"])
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("<stdout>") && err.contains("No space left"),
            "{err}"
        );
    }
}

#[test]
fn broken_pipe_exits_quietly() {
    let mut child = bin()
        .args(["generate", "--rows", "5000000", "--stdout"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Ctrl-C in the middle of a run leaves no manifest (so the dataset does not look complete) and no temp file.
#[test]
fn interrupted_run_never_looks_complete() {
    let t = tempfile::tempdir().unwrap();
    let dir: PathBuf = t.path().join("big");
    let mut child = bin()
        .args([
            "generate",
            "--size",
            "20GB",
            "--threads",
            "1",
            "-q",
            "--out",
            dir.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    // Wait until it is writing a fact file, then interrupt it.
    let tmp = dir.join("orders/.part-00000.csv.etlkit-tmp");
    for _ in 0..600 {
        if tmp.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(tmp.exists(), "the run started writing");
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "interrupted runs exit as a shell reports Ctrl-C"
    );
    assert!(!dir.join("manifest.json").exists());
    assert!(!dir.join("defects.csv").exists());
    let leftovers: Vec<_> = tree(&dir)
        .into_keys()
        .filter(|k| k.contains("etlkit-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn completions_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("generate") && text.contains("dirty-rate"),
            "{shell}"
        );
    }
}

/// The committed sample (`datasets/orders/sample`) is what this version generates for its options, byte for
/// byte: any change to the generator's output shows up here and must be deliberate.
/// `ETLKIT_BLESS=1 cargo test --test generate committed_sample` rewrites it.
#[test]
fn committed_sample_is_reproduced() {
    let sample = crate::common::root().join("datasets/orders/sample");
    let t = tempfile::tempdir().unwrap();
    let fresh = t.path().join("sample");
    let sample_opts = |out: &Path| GenerateOptions {
        seed: 1,
        dirty_rate: 0.05,
        ..opts(out, 300, 2, 0.05, 2)
    };
    generate(&sample_opts(&fresh)).unwrap();
    if std::env::var_os("ETLKIT_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&sample);
        generate(&sample_opts(&sample)).unwrap();
    }
    let (want, got) = (tree(&sample), tree(&fresh));
    let mut names: Vec<_> = want.keys().collect();
    names.sort();
    assert_eq!(names.len(), got.len(), "{names:?}");
    for name in names {
        assert!(
            got.get(name) == Some(&want[name]),
            "{name} differs from the committed sample (ETLKIT_BLESS=1 to accept)"
        );
    }
}
