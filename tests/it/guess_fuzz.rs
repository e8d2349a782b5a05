//! Differential fuzzer of the pipeline's block cuts (written by a review of the guessed cuts): random order
//! files mixing clean and dirty rows, quoted notes whose lines read as records (so guesses go wrong), doubled
//! quotes, CRLF, lone CRs, blank lines, quotes that never close, truncated ends, gzip and zstd, run with many
//! small block sizes, 1-3 threads, maps or `read(2)`, `--fail-fast` or not; every run must give the same
//! summary, reports and errors as one block per file. FUZZ_CASES (default 60), FUZZ_SEED (default 1),
//! FUZZ_VARIANTS (default 6) run more.

use std::io::Write;
use std::path::Path;

use etlkit::pipeline::{run, PipelineOptions, Summary};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, a: u64, b: u64) -> u64 {
        a + self.below(b - a + 1)
    }
    fn p(&mut self, x: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - x
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

const HEADER: &str =
    "order_id,customer_id,product_id,quantity,unit_price,discount_pct,currency,order_ts,status,notes";
const CUR: [&str; 12] = [
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "INR", "BRL", "PLN", "MXN",
];
const ST: [&str; 6] = etlkit::pipeline::rules::STATUSES;

fn ts(r: &mut Rng, rare: bool) -> String {
    let y = if rare { r.range(2030, 2035) } else { 2024 };
    let (mo, d, h, mi, s) = (
        r.range(1, 12),
        r.range(1, 28),
        r.range(0, 23),
        r.range(0, 59),
        r.range(0, 59),
    );
    match r.below(4) {
        0 | 1 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        2 => format!(
            "{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+0{}:30",
            r.below(9)
        ),
        _ => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}-05:00"),
    }
}

/// A record the fast path accepts (when `rare`, a customer and a day used only by bait lines).
fn good(r: &mut Rng, id: u64, rare: bool) -> String {
    let cust = if rare {
        r.range(950, 1000)
    } else {
        r.range(1, 900)
    };
    let disc = r.pick::<&str>(&["0", "10", "12.5", "5.25", "100"]);
    format!(
        "{id},{cust},{},{},{}.{:02},{disc},{},{},{},{}",
        r.range(1, 100),
        r.range(1, 20),
        r.range(0, 999),
        r.below(100),
        r.pick(&CUR),
        ts(r, rare),
        r.pick(&ST),
        r.pick::<&str>(&["", "gift wrap", "caf\u{e9} note", "leave at door"]),
    )
}

fn dirty(r: &mut Rng, id: u64) -> String {
    let g = good(r, id, false);
    let mut f: Vec<String> = g.split(',').map(String::from).collect();
    match r.below(14) {
        0 => f[3] = "abc".into(),
        1 => f[6] = "XXX".into(),
        2 => f[1] = "5000".into(),
        3 => f[2] = "999".into(),
        4 => f[3] = "0".into(),
        5 => f[7] = "2024-13-01T00:00:00Z".into(),
        6 => f[8] = " Paid ".into(),
        7 => {
            f.pop();
        }
        8 => f.push("extra".into()),
        9 => f[9] = "size 3\" only".into(),
        10 => f[9] = "\"quoted, with comma\"".into(),
        11 => f[8] = "\"paid\"".into(),
        12 => f[0] = format!("\"{id}\""),
        _ => f[9] = "bad\u{1}".into(),
    }
    let mut s = f.join(",");
    if r.p(0.05) {
        // invalid utf-8 marker, replaced later
        s.push('\u{fffe}');
    }
    s
}

fn eol(r: &mut Rng) -> &'static str {
    r.pick::<&str>(&["\n", "\n", "\n", "\r\n", "\r\n", "\r\r\n"])
}

fn gen_file(r: &mut Rng, ids: &mut u64) -> Vec<u8> {
    let mut s = String::new();
    if r.p(0.2) {
        s.push('\u{feff}');
    }
    s.push_str(HEADER);
    s.push_str(if r.p(0.2) { "\r\n" } else { "\n" });
    let n = r.range(0, 80);
    let mut next_id = |r: &mut Rng| {
        *ids += 1;
        if r.p(0.08) && *ids > 3 {
            r.range(1, *ids - 1)
        } else {
            *ids
        }
    };
    let heavy = r.p(0.25);
    for _ in 0..n {
        let k = r.below(100);
        let id = next_id(r);
        if heavy && r.p(0.05) {
            // a long dirty stretch (more than 64 line ends the guess rejects), maybe inside a quoted note
            let quoted = r.p(0.5);
            if quoted {
                let mut rec = good(r, id, false);
                let cut = rec.rfind(',').unwrap();
                rec.truncate(cut + 1);
                rec.push_str("\"big");
                s.push_str(&rec);
                s.push('\n');
            }
            for _ in 0..r.range(60, 150) {
                let did = next_id(r);
                if quoted && r.p(0.3) {
                    let bid = 100_000 + r.below(1000);
                    s.push_str(&good(r, bid, true));
                } else {
                    s.push_str(&dirty(r, did).replace('"', "'"));
                }
                s.push_str(eol(r));
            }
            if quoted {
                s.push_str("end\"\n");
            }
            continue;
        }
        if k < 45 {
            s.push_str(&good(r, id, false));
            s.push_str(eol(r));
        } else if k < 70 {
            // quoted note holding bait lines (records the guess accepts)
            let mut rec = good(r, id, false);
            // drop the notes field, replace by a quoted one
            let cut = rec.rfind(',').unwrap();
            rec.truncate(cut + 1);
            rec.push('"');
            rec.push_str(r.pick::<&str>(&["x", "", "say \"\"hi\"\"", "a,b"]));
            for _ in 0..r.range(1, 6) {
                rec.push_str(r.pick::<&str>(&["\n", "\r\n", "\n\n", "\n\r"]));
                let bid = 100_000 + r.below(1000);
                rec.push_str(&good(r, bid, true));
                if r.p(0.3) {
                    rec.push_str("\"\"");
                }
            }
            if r.p(0.5) {
                rec.push('\n');
            }
            rec.push('"');
            if r.p(0.05) {
                rec.push_str("tail");
            }
            s.push_str(&rec);
            s.push_str(eol(r));
        } else if k < 85 {
            s.push_str(&dirty(r, id));
            s.push_str(eol(r));
        } else if k < 92 {
            s.push_str(r.pick::<&str>(&["\n", "\r\n", "\r", "\n\n\n", "\r\r\n", " \n", ",,,\n"]));
        } else if k < 95 {
            // quoted field in the middle, with a bait line inside
            let g = good(r, id, false);
            let mut f: Vec<String> = g.split(',').map(String::from).collect();
            let bid = 100_000 + r.below(1000);
            let bait = good(r, bid, true);
            f[8] = format!("\"paid\n{bait}\n\"");
            s.push_str(&f.join(","));
            s.push_str(eol(r));
        } else if k < 97 {
            // a stray open quote: the field closes at the next quote of the file (maybe never)
            let mut rec = good(r, id, false);
            let cut = rec.rfind(',').unwrap();
            rec.truncate(cut + 1);
            rec.push_str("\"stray");
            s.push_str(&rec);
            s.push_str(eol(r));
        } else {
            // a record with a lone CR in a field
            let g = good(r, id, false);
            s.push_str(&g.replacen(",", "\r,", 1));
            s.push_str(eol(r));
        }
    }
    let mut b = s.into_bytes();
    // invalid utf-8
    let marker = "\u{fffe}".as_bytes();
    while let Some(p) = b.windows(3).position(|w| w == marker) {
        b.splice(p..p + 3, [0xff, 0xc3].iter().copied());
    }
    match r.below(10) {
        // Random truncation.
        0 | 1 if !b.is_empty() => {
            let keep = r.range(0, b.len() as u64) as usize;
            let keep = keep.max(b.len() / 2);
            b.truncate(keep);
        }
        2 => {
            while b.last() == Some(&b'\n') || b.last() == Some(&b'\r') {
                b.pop();
            }
        }
        3 => b.extend_from_slice(b"\n\r\n"),
        _ => {}
    }
    b
}

type Outcome = Result<(Vec<u64>, String, Vec<String>), String>;

fn key(s: &Summary) -> Vec<u64> {
    let mut v = vec![
        s.files,
        s.bytes_read,
        s.rows_read,
        s.valid,
        s.rejected,
        s.duplicates_dropped,
        s.cancelled,
        s.revenue_usd_cents,
    ];
    v.extend(s.rejected_by_kind.values());
    v
}

fn one(
    data: &Path,
    out: &Path,
    block: usize,
    threads: usize,
    mmap: bool,
    ff: bool,
) -> (Outcome, u64) {
    let _ = std::fs::remove_dir_all(out);
    let mut o = PipelineOptions::new(data, out);
    (o.threads, o.block_size, o.mmap, o.fail_fast) = (threads, block, mmap, ff);
    match run(&o) {
        Ok(s) => {
            let files = ["daily_revenue.csv", "top_customers.csv", "rejects.csv"]
                .iter()
                .map(|n| std::fs::read_to_string(out.join(n)).unwrap())
                .collect();
            assert!(
                s.reread_bytes <= 2 * s.bytes_read,
                "read again {} of {} bytes",
                s.reread_bytes,
                s.bytes_read
            );
            (
                Ok((key(&s), format!("{:?}", s.rejected_by_kind), files)),
                s.rereads,
            )
        }
        Err(e) => (Err(e.to_string()), 0),
    }
}

#[test]
fn guess_fuzz() {
    let cases: u64 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let variants: u64 = std::env::var("FUZZ_VARIANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let t = tempfile::tempdir().unwrap();
    let sample = crate::common::root().join("datasets/orders/sample");
    let (mut runs, mut rereads, mut errs, mut with_rereads) = (0u64, 0u64, 0u64, 0u64);
    for case in 0..cases {
        let mut r = Rng(seed.wrapping_mul(1_000_003).wrapping_add(case));
        let data = t.path().join("d");
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(data.join("orders")).unwrap();
        for dim in ["customers.csv", "products.csv", "fx_rates.csv"] {
            std::fs::copy(sample.join(dim), data.join(dim)).unwrap();
        }
        let nfiles = r.range(1, 3);
        let mut ids = 0;
        let mut total = 0;
        for f in 0..nfiles {
            let mut bytes = gen_file(&mut r, &mut ids);
            if nfiles == 1 && r.p(0.02) {
                bytes = b"order_id,\"customer_id\nx\",y\n1,2\n".to_vec();
            }
            total += bytes.len();
            let comp = r.below(10);
            let name = data.join(format!("orders/part-{f:05}.csv"));
            if comp == 0 {
                let mut e = flate2::write::GzEncoder::new(
                    std::fs::File::create(name.with_extension("csv.gz")).unwrap(),
                    flate2::Compression::fast(),
                );
                e.write_all(&bytes).unwrap();
                e.finish().unwrap();
            } else if comp == 1 {
                let z = zstd::encode_all(&bytes[..], 1).unwrap();
                std::fs::write(name.with_extension("csv.zst"), z).unwrap();
            } else {
                std::fs::write(&name, &bytes).unwrap();
            }
        }
        let ff = r.p(0.15);
        let (want, _) = one(&data, &t.path().join("ref"), total + 1, 1, true, ff);
        if want.is_err() {
            errs += 1;
        }
        for _ in 0..variants {
            let block = if r.p(0.2) {
                r.range(1, 64)
            } else {
                r.range(64, 3000)
            } as usize;
            let threads = r.range(1, 3) as usize;
            let mmap = r.p(0.6);
            let (got, rr) = one(&data, &t.path().join("o"), block, threads, mmap, ff);
            runs += 1;
            rereads += rr;
            with_rereads += (rr > 0) as u64;
            if got != want {
                let keep = Path::new("/tmp/guess-fail");
                let _ = std::fs::remove_dir_all(keep);
                std::fs::create_dir_all(keep).unwrap();
                std::process::Command::new("cp")
                    .arg("-r")
                    .arg(&data)
                    .arg(keep)
                    .status()
                    .unwrap();
                panic!(
                    "case {case} seed {seed}: block {block} threads {threads} mmap {mmap} ff {ff}\nwant {want:#?}\ngot {got:#?}"
                );
            }
        }
    }
    eprintln!("cases {cases} runs {runs} runs-with-rereads {with_rereads} rereads {rereads} error-refs {errs}");
    // The cases must exercise what they are for.
    assert!(
        with_rereads * 4 > runs,
        "{with_rereads} of {runs} runs had wrong guesses"
    );
}
