//! The shipped solutions of the ETL exercise, checked by the harness on small clean and dirty datasets, and the
//! deliberately bad ones getting the right verdicts with no process left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use etlkit::generate::{generate, GenerateOptions};
use etlkit::harness::{self, runner, CheckOptions, Limit, Profiler, Verdict};

fn solutions() -> PathBuf {
    crate::common::root().join("exercises/etl_10gb/solutions")
}

fn dataset(dir: &Path, rate: f64, py: PathBuf) -> CheckOptions {
    let data = dir.join("data");
    generate(&GenerateOptions {
        out: Some(data.clone()),
        rows: Some(30_000),
        files: Some(3),
        dirty_rate: rate,
        seed: 5,
        ..Default::default()
    })
    .unwrap();
    harness::reference(&data, &dir.join("reference")).unwrap();
    let mut o = CheckOptions::new(&data);
    o.python = py;
    o.profiler = Profiler::None;
    o.reference = Some(dir.join("reference"));
    o.limits.wall = Duration::from_secs(300);
    o
}

fn check(o: &CheckOptions, name: &str, work: &Path) -> harness::CheckResult {
    let r = harness::check_with_reference(
        &solutions().join(name),
        o,
        o.reference.as_ref().unwrap(),
        &work.join(name.replace('/', "-")),
    )
    .unwrap();
    assert!(
        !runner::group_alive(r.run.pgid),
        "{name} left processes behind"
    );
    r
}

/// Solutions exact on every dataset, and those exact on clean data only (their limits are their lesson).
const EXACT: [&str; 3] = [
    "streaming_csv.py",
    "multiprocessing_chunks.py",
    "dask_distributed.py",
];
const CLEAN_ONLY: [&str; 4] = [
    "polars_lazy.py",
    "duckdb_sql.py",
    "naive_pandas.py",
    "nested_loop.py",
];

#[test]
fn shipped_solutions_are_right_on_clean_data() {
    let py = python_or_skip!(
        "solutions::shipped_solutions_are_right_on_clean_data",
        "zstandard",
        "pandas",
        "polars",
        "duckdb",
        "dask.distributed"
    );
    let t = tempfile::tempdir().unwrap();
    let o = dataset(t.path(), 0.0, py);
    for name in EXACT.iter().chain(CLEAN_ONLY.iter()) {
        let r = check(&o, name, t.path());
        assert_eq!(r.verdict, Verdict::Correct, "{}", r.render());
    }
}

#[test]
fn exact_solutions_are_right_on_dirty_data_and_the_others_run() {
    let py = python_or_skip!(
        "solutions::exact_solutions_are_right_on_dirty_data_and_the_others_run",
        "zstandard",
        "pandas",
        "polars",
        "duckdb",
        "dask.distributed"
    );
    let t = tempfile::tempdir().unwrap();
    let o = dataset(t.path(), 0.03, py);
    for name in EXACT {
        let r = check(&o, name, t.path());
        assert_eq!(r.verdict, Verdict::Correct, "{}", r.render());
    }
    for name in CLEAN_ONLY {
        let r = check(&o, name, t.path());
        // Documented to differ on dirty data (rejects they cannot express), but they finish and write outputs.
        assert!(
            matches!(r.verdict, Verdict::Correct | Verdict::Wrong),
            "{}",
            r.render()
        );
        assert!(r.output_dir.join("daily_revenue.csv").is_file(), "{name}");
    }
}

#[test]
fn bad_solutions_get_the_right_verdicts() {
    let py = python_or_skip!("solutions::bad_solutions_get_the_right_verdicts");
    let t = tempfile::tempdir().unwrap();
    let mut o = dataset(t.path(), 0.0, py);
    let wrong = check(&o, "bad/wrong_cents.py", t.path());
    assert_eq!(wrong.verdict, Verdict::Wrong);
    assert!(wrong.render().contains("cents"), "{}", wrong.render());
    let crash = check(&o, "bad/crashes.py", t.path());
    assert_eq!(crash.verdict, Verdict::Crashed);
    assert!(crash.render().contains("KeyError"), "{}", crash.render());
    let forks = check(&o, "bad/forks_hanging_child.py", t.path());
    assert_eq!(forks.run.killed_leftovers, 1, "{}", forks.render());
    o.limits.memory = Some(400 << 20);
    let hog = check(&o, "bad/memory_hog.py", t.path());
    assert_eq!(
        (hog.verdict, hog.run.limit),
        (Verdict::OverLimit, Some(Limit::Memory))
    );
    o.limits.wall = Duration::from_secs(3);
    let hang = check(&o, "bad/hangs.py", t.path());
    assert_eq!(
        (hang.verdict, hang.run.limit),
        (Verdict::OverLimit, Some(Limit::Wall))
    );
}

/// Fact records for the chunk cutter: every field after `order_id`, then the notes.
const FIELDS: &[u8] = b",285,1,18,18.29,0,CHF,2024-12-13T04:02:41-05:00,delivered,";
const HEADER: &[u8] =
    b"order_id,customer_id,product_id,quantity,unit_price,discount_pct,currency,order_ts,status,notes";

fn record(order_id: u32, notes: &[u8]) -> Vec<u8> {
    [order_id.to_string().as_bytes(), FIELDS, notes].concat()
}

/// A small hand-made dirty dataset (the committed sample's dimension tables) whose records are hard to cut
/// into chunks: bare quotes inside unquoted fields (ordinary characters, an odd number of them on a line),
/// quoted fields holding line breaks, doubled quotes and a line that looks like a record, a quote opening the
/// first field of a record (also after a lone `\r` that is skipped before it), text after a closing quote,
/// CRLF, blank lines, a BOM, a gzip file, repeated order ids, and a file that ends inside a quoted field.
fn quotes_dataset(dir: &Path) -> PathBuf {
    let data = dir.join("quotes");
    std::fs::create_dir_all(data.join("orders")).unwrap();
    let sample = crate::common::root().join("datasets/orders/sample");
    for t in ["customers.csv", "products.csv", "fx_rates.csv"] {
        std::fs::copy(sample.join(t), data.join(t)).unwrap();
    }
    let lines = |records: Vec<Vec<u8>>| -> Vec<u8> {
        records
            .into_iter()
            .flat_map(|mut r| {
                r.push(b'\n');
                r
            })
            .collect()
    };
    let part0 = lines(vec![
        [b"\xef\xbb\xbf", HEADER].concat(),
        record(1, b"size 3\" only"),
        record(2, b"\"two\nlines, and a comma\""),
        record(3, b"\"he said \"\"hi\"\"\nthen \"\"bye\"\"\""),
        record(4, b"one bare \" quote"),
        record(5, b"\"quoted\nline break after the bare quote\""),
        [&b"6"[..], FIELDS, b"\"fake record inside:\n7", FIELDS, b"not a record\nend\""].concat(),
        b"8,285,1,18,18.29,0,CHF,2024-12-13T04:02:41-05:00,pai\"d,\"a bare quote in status\n(rejected)\"".to_vec(),
        [&b"\"9\""[..], FIELDS, b"quoted order id"].concat(),
        record(10, b"\"abc\"def\" tail"),
        record(11, b"\"x\ny\"z"),
        Vec::new(),
        b"12,2\"85,1,18,18.29,0,CHF,2024-12-13T04:02:41-05:00,delivered,\"bad number\nquoted\"".to_vec(),
        [&b"\r\"13\n\""[..], FIELDS, b"a record start after a lone CR"].concat(),
        [record(14, b"\"crlf inside\r\nand a \"\" quote\""), b"\r".to_vec()].concat(),
        record(15, b"plain \" and \"\" and \"\"\""),
        record(2, b"\"a repeat of 2\nwith its own line break\""),
    ]);
    let part1 = lines(vec![
        HEADER.to_vec(),
        record(16, b"\"multi\n\n\nline\""),
        record(17, b"x\"y"),
        [record(18, b"\"quoted, then CRLF\""), b"\r".to_vec()].concat(),
        record(19, b"an 8\" pipe"),
        record(3, b"\"a repeat of 3 in another file\""),
        // A lone CR is data, also in a record that holds a quote: unknown_status, not a record break.
        b"30,285,1,18,18.29,0,CHF,2024-12-13T04:02:41-05:00,deliv\rered,\"x\"".to_vec(),
        // The file's last record: its quote is an ordinary character, so no quoted field is left open.
        record(31, b"an 8\" pipe"),
    ]);
    let part2 = lines(vec![
        [HEADER, b"\r"].concat(),
        [record(20, b"2\" tape"), b"\r".to_vec()].concat(),
        [record(21, b"\"ok\""), b"\r".to_vec()].concat(),
        // The file ends inside this quoted field: rule 1 for the last record.
        [
            &b"22"[..],
            FIELDS,
            b"\"never closed\n23",
            FIELDS,
            b"looks like a record",
        ]
        .concat(),
    ]);
    std::fs::write(data.join("orders/part-00000.csv"), part0).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &part1).unwrap();
    std::fs::write(data.join("orders/part-00001.csv.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(data.join("orders/part-00002.csv"), part2).unwrap();
    data
}

/// Bytes per chunk: from one record per chunk to one chunk per file.
const CHUNK_SIZES: [usize; 15] = [
    1,
    2,
    3,
    5,
    8,
    13,
    21,
    34,
    55,
    89,
    144,
    233,
    377,
    610,
    1 << 20,
];

/// multiprocessing_chunks.py cuts the files into chunks at record boundaries with the reader's quote rule (a
/// quote opens a quoted field only at the start of a field), so its outputs are the reference's, byte for
/// byte, whatever the chunk size.
#[test]
fn multiprocessing_chunks_matches_the_reference_at_every_chunk_size() {
    let py = python_or_skip!(
        "solutions::multiprocessing_chunks_matches_the_reference_at_every_chunk_size"
    );
    let t = tempfile::tempdir().unwrap();
    let data = quotes_dataset(t.path());
    let reference = t.path().join("reference");
    let s = harness::reference(&data, &reference).unwrap();
    // The dataset holds what it is meant to: every record read, the tricky ones valid, a few rejects.
    let kinds: Vec<_> = s.rejected_by_kind.iter().filter(|(_, &n)| n > 0).collect();
    assert_eq!(
        (s.rows_read, s.valid, s.duplicates_dropped, s.rejected),
        (25, 18, 2, 5),
        "{s:?}"
    );
    assert_eq!(
        format!("{kinds:?}"),
        r#"[("bad_number", 2), ("unknown_status", 2), ("unterminated_quote", 1)]"#
    );
    let mut o = CheckOptions::new(&data);
    o.python = py;
    o.profiler = Profiler::None;
    o.reference = Some(reference.clone());
    o.limits.wall = Duration::from_secs(120);
    // The harness runs `python SCRIPT INPUT OUTPUT`: a wrapper adds the chunk size.
    for chunk in CHUNK_SIZES {
        let wrapper = t.path().join(format!("multiprocessing_chunks_{chunk}.py"));
        std::fs::write(
            &wrapper,
            format!(
                "import sys\nsys.path.insert(0, {:?})\nimport multiprocessing_chunks as m\n\
                 sys.argv = [m.__file__, sys.argv[1], sys.argv[2], '--chunk-size', '{chunk}', '--workers', '2']\n\
                 sys.exit(m.main())\n",
                solutions().to_str().unwrap()
            ),
        )
        .unwrap();
        let r = harness::check_with_reference(
            &wrapper,
            &o,
            &reference,
            &t.path().join(format!("run-{chunk}")),
        )
        .unwrap();
        assert!(
            !runner::group_alive(r.run.pgid),
            "chunk size {chunk}: processes left behind"
        );
        assert_eq!(
            r.verdict,
            Verdict::Correct,
            "chunk size {chunk}:\n{}",
            r.render()
        );
        for name in ["rejects.csv", "daily_revenue.csv", "top_customers.csv"] {
            assert_eq!(
                String::from_utf8_lossy(&std::fs::read(r.output_dir.join(name)).unwrap()),
                String::from_utf8_lossy(&std::fs::read(reference.join(name)).unwrap()),
                "chunk size {chunk}: {name}"
            );
        }
    }
}
