//! Thousands of deterministic mutations and truncations of every fixture, fed to every reader (guessed
//! and forced) and then to the views and exporters: each must give a value or an `etlkit::Error`, never
//! a panic, a hang or an unbounded allocation. (The cargo-fuzz targets in fuzz/ explore further.)

use std::path::{Path, PathBuf};

use etlkit::profile::{self, export, Format};

/// xorshift64*: a tiny deterministic generator, so failures reproduce from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fixtures() -> Vec<PathBuf> {
    let root = crate::common::root().join("tests/fixtures/profile");
    let mut v = Vec::new();
    for sub in ["pstats", "pyspy", "other"] {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if !p.to_string_lossy().ends_with(".oracle.json") {
                v.push(p);
            }
        }
    }
    v.sort();
    // Keep the run short: one file per Python version is enough variety for pstats.
    v.retain(|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        !(n.starts_with("workload-3.")
            && !n.starts_with("workload-3.11")
            && !n.starts_with("workload-3.13"))
    });
    v
}

/// Interesting bytes for the formats: marshal codes (with and without the ref flag), JSON and folded syntax.
const SPICE: &[u8] = b"{}()[]0NTFilgzZaAutr\xfb\xa9\xe9\xfa\xda\xf2\x80\xff\x00 ;\n\":,.-9e";

fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = d.len().max(1);
        match rng.below(7) {
            0 => d.truncate(rng.below(len)),
            1 => {
                if !d.is_empty() {
                    let i = rng.below(d.len());
                    d[i] ^= 1 << rng.below(8);
                }
            }
            2 => {
                let i = rng.below(d.len() + 1);
                d.insert(i, SPICE[rng.below(SPICE.len())]);
            }
            3 => {
                if !d.is_empty() {
                    let i = rng.below(d.len());
                    d.remove(i);
                }
            }
            4 => {
                // Overwrite 4 bytes with an extreme little-endian count (lengths, ref indexes).
                if d.len() > 4 {
                    let i = rng.below(d.len() - 4);
                    let v: [u32; 4] = [u32::MAX, 0x7fff_ffff, 0x8000_0000, rng.next() as u32 % 300];
                    d[i..i + 4].copy_from_slice(&v[rng.below(4)].to_le_bytes());
                }
            }
            5 => {
                // Duplicate a chunk (repeated keys, stacks, events).
                if !d.is_empty() {
                    let a = rng.below(d.len());
                    let b = (a + 1 + rng.below(64)).min(d.len());
                    let chunk = d[a..b].to_vec();
                    let at = rng.below(d.len() + 1);
                    d.splice(at..at, chunk);
                }
            }
            _ => {
                if !d.is_empty() {
                    let i = rng.below(d.len());
                    d[i] = SPICE[rng.below(SPICE.len())];
                }
            }
        }
    }
    d
}

fn exercise(data: &[u8], format: Option<Format>) {
    let path = Path::new("mutant");
    if let Ok(p) = profile::parse(data, path, format) {
        let r = profile::analyze(
            &p,
            &profile::Filters {
                idle: true,
                imports: true,
                stdlib: true,
                site_packages: true,
            },
            5,
            Some("a"),
        );
        let _ = profile::view::render_text(&r);
        let r = profile::analyze(&p, &Default::default(), 5, Some("main"));
        let _ = serde_json::to_string(&r).unwrap();
        let mut sink = Vec::new();
        let _ = export::write_folded(&p, &mut sink, path);
        sink.clear();
        let _ = export::write_speedscope(&p, "m", &mut sink, path);
        let _ = profile::diff(&p, &p);
    }
}

#[test]
fn mutated_and_truncated_fixtures_never_panic() {
    let files = fixtures();
    assert!(files.len() >= 10);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut runs = 0;
    let mut parsed = 0;
    for path in &files {
        let data = std::fs::read(path).unwrap();
        // Every truncation point of the first bytes, then a spread of them.
        for cut in (0..data.len().min(200)).chain((0..64).map(|i| i * data.len() / 64)) {
            exercise(&data[..cut], None);
            runs += 1;
        }
        for i in 0..200 {
            let seed = rng.0;
            let m = mutate(&data, &mut rng);
            let format = [
                None,
                Some(Format::Pstats),
                Some(Format::Folded),
                Some(Format::Speedscope),
            ][i % 4];
            let ok = std::panic::catch_unwind(|| exercise(&m, format));
            assert!(
                ok.is_ok(),
                "panic on a mutation of {} (rng state {seed:#x}, format {format:?})",
                path.display()
            );
            parsed += profile::parse(&m, Path::new("m"), format).is_ok() as usize;
            runs += 1;
        }
    }
    assert!(runs > 5000, "{runs} runs");
    // Some mutants must still parse, or the views and exporters were never exercised.
    assert!(parsed > 100, "only {parsed} mutants parsed");
}

#[test]
fn hostile_marshal_inputs_fail_cleanly() {
    let p = Path::new("h.pstats");
    for (data, want) in [
        (&b"{)\x03"[..], "truncated"),
        (b"\xfb)\x03r\x00\x00\x00\x00", "still being read"),
        (b"{(\xff\xff\xff\x7f", "exceeds"),
        (b"{)\x03\xfa\x01a\xe9\x01\x00\x00\x00\xfa\x01f)\x05i\x01\x00\x00\x00i\x01\x00\x00\x00g\x00\x00\x00\x00\x00\x00\x00\x00g\x00\x00\x00\x00\x00\x00\x00\x00{00X", "trailing"),
        (b"{)\x03\xfa\x01a\xe9\x01\x00\x00\x00\xfa\x01f)\x04i\x01\x00\x00\x00i\x01\x00\x00\x00i\x01\x00\x00\x00i\x01\x00\x00\x000", "5-tuple"),
        (b"{)\x03\xfa\x01al\x10\x00\x00\x00", "truncated long"),
    ] {
        let e = profile::parse(data, p, Some(Format::Pstats)).unwrap_err().to_string();
        assert!(e.contains(want), "{data:?}: {e}");
    }
    // Deep nesting is refused, not a stack overflow.
    let mut deep = b"{".to_vec();
    deep.extend(b"\xa9\x01".repeat(100_000));
    assert!(profile::parse(&deep, p, None)
        .unwrap_err()
        .to_string()
        .contains("nesting"));
}
