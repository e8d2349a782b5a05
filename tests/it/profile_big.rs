//! Big folded files take the chunked, multi-threaded reader (from memory, and streamed from a plain or
//! gzip file by `profile::load`); they must read exactly like the small ones: same model, byte-identical
//! round trip, and errors at the same line and byte.

use std::io::Write;

use etlkit::profile::{self, folded, Format};

/// `lines` py-spy-like lines (about 4 MB for 8k): repeated frames, CRLF and blank lines here and
/// there, non-ASCII names, a thread root.
fn big_text(lines: usize) -> String {
    let mut out = String::new();
    let mut state = 42u64;
    for i in 0..lines {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut stack = vec!["<module> (app.py:1)".to_string()];
        if i % 3 == 0 {
            stack.insert(0, "thread (0x7F35F9F6F740): MainThread".into());
        }
        for d in 0..(state >> 59) as usize + 2 {
            let f = state.rotate_right(d as u32 * 5) as usize % 300;
            stack.push(format!("fünc_{f} (pkg{}/mod.py:{})", f % 7, 10 + f));
        }
        out.push_str(&format!("{} {}\n", stack.join(";"), 1 + i % 50));
    }
    out
}

#[test]
fn big_folded_files_read_like_small_ones() {
    let text = big_text(8_000);
    assert!(
        text.len() > 3 << 20,
        "{} bytes: more than a few chunks",
        text.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("big.folded");
    std::fs::write(&plain, &text).unwrap();
    let gz = dir.path().join("big.folded.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();

    let p = profile::parse(text.as_bytes(), &plain, None).unwrap();
    assert_eq!(p.stacks.len(), 8_000);
    assert_eq!(p.meta.tool, "py-spy");
    let total: f64 = (0..8_000).map(|i| (1 + i % 50) as f64).sum();
    assert_eq!(p.total(), total);
    let mut out = Vec::new();
    folded::write(&p, &mut out).unwrap();
    assert!(out == text.as_bytes(), "round trip of the big file");
    for (path, format) in [(&plain, None), (&gz, None), (&plain, Some(Format::Folded))] {
        let q = profile::load(path, format).unwrap();
        assert!(q == p, "{} ({format:?})", path.display());
    }
}

#[test]
fn errors_in_big_folded_files_name_the_right_line() {
    let text = big_text(8_000);
    let good_lines = text.matches('\n').count();
    let dir = tempfile::tempdir().unwrap();
    // A bad count after the first chunks, then invalid UTF-8 further on: a line-by-line read checks the
    // whole text is UTF-8 first, so the UTF-8 error is the one reported.
    let mut data = format!("{text}a;b twelve\n{text}").into_bytes();
    let path = dir.path().join("bad.folded");
    std::fs::write(&path, &data).unwrap();
    let e = profile::load(&path, None).unwrap_err().to_string();
    let want = format!(":{}: byte {}: sample count", good_lines + 1, text.len() + 4);
    assert!(e.contains(&want), "{e} (want {want})");
    assert_eq!(
        e,
        profile::parse(&data, &path, None).unwrap_err().to_string()
    );
    data.extend_from_slice(b"x;\xff\xfe 1\n");
    std::fs::write(&path, &data).unwrap();
    let e = profile::load(&path, None).unwrap_err().to_string();
    let want = format!(
        ":{}: byte {}: invalid UTF-8",
        2 * good_lines + 2,
        data.len() - 5
    );
    assert!(e.contains(&want), "{e} (want {want})");
}
