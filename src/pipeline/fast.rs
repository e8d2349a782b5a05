//! The fast path: one pass over the bytes of a common, clean record that parses and checks its fields as it
//! goes (no field slices, no second look at a byte).
//!
//! It only ever answers "this record passes rules 1 to 9, and these are its values" or "not sure": anything
//! unusual (a quote inside a field, padding, lower case, a fraction of a second, a number with many digits, the
//! end of the block) is "not sure", and the record goes through the general reader and `check`, which apply
//! the rules in order and name the reject. So the fast path must never accept what `check` would reject, and
//! must compute the same values: the tests run both on every record of dirty datasets and compare.

use super::rules::{self, days_from_civil_0_9999};

/// What the fast path reads of a record that passes rules 1-9 (the joins and the money come after).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clean {
    pub order_id: u64,
    pub customer_id: u64,
    pub product_id: u64,
    pub quantity: u64,
    pub price_cents: u64,
    pub discount_bp: u64,
    pub usd_per_unit_micros: u64,
    pub day: i32,
    pub status: u8,
}

/// A record read by the fast path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fast {
    pub clean: Clean,
    pub start: usize,
    /// Just after the record's `\n`.
    pub end: usize,
    /// Where the next record starts (blank lines skipped).
    pub next: usize,
    /// `\n` bytes from `start` to `next`.
    pub newlines: usize,
}

/// FX rates by their three-byte code: open addressing in a small table (a lookup is a hash and a compare).
pub struct FxTable {
    slots: Vec<(u32, u64)>,
}

impl FxTable {
    pub fn new(fx: &[([u8; 3], u64)]) -> Self {
        let size = (fx.len() * 2).next_power_of_two().max(16);
        let mut slots = vec![(0u32, 0u64); size];
        for (code, rate) in fx {
            let key = key(code[0], code[1], code[2]);
            // Key 0 marks an empty slot; a code of three NUL bytes just takes the general path.
            if key == 0 {
                continue;
            }
            let mut h = hash(key, size);
            while slots[h].0 != 0 {
                h = (h + 1) & (size - 1);
            }
            slots[h] = (key, *rate);
        }
        FxTable { slots }
    }

    #[inline(always)]
    fn get(&self, key: u32) -> Option<u64> {
        let mask = self.slots.len() - 1;
        let mut h = hash(key, self.slots.len());
        loop {
            let (k, rate) = self.slots[h];
            if k == key {
                return Some(rate);
            }
            if k == 0 {
                return None;
            }
            h = (h + 1) & mask;
        }
    }
}

#[inline(always)]
fn key(a: u8, b: u8, c: u8) -> u32 {
    u32::from_le_bytes([a, b, c, 0])
}

#[inline(always)]
fn hash(key: u32, size: usize) -> usize {
    (key.wrapping_mul(0x9e37_79b1) >> 16) as usize & (size - 1)
}

/// `[0-9]{1,max}` then `stop`; moves `i` past the stop byte. Eight bytes at a time (SWAR): the digits are
/// found and converted without a branch per byte (a byte loop mispredicted once per field).
#[inline(always)]
fn digits_then(data: &[u8], i: &mut usize, stop: u8, max: usize) -> Option<u64> {
    let s = *i;
    let mut j = s;
    let mut v = 0u64;
    while let Some(word) = data.get(j..j + 8) {
        let t = u64::from_le_bytes(word.try_into().expect("8 bytes")).wrapping_sub(ZEROS);
        let n = digit_run(t);
        if n == 8 {
            v = v.wrapping_mul(100_000_000).wrapping_add(eight_digits(t));
            j += 8;
            if j - s > max {
                return None;
            }
            continue;
        }
        j += n;
        if data[j] != stop || j == s || j - s > max {
            return None;
        }
        if n > 0 {
            // Keep the run's bytes, moved to the top: the bytes below are leading zeros.
            let shifted = t << (64 - 8 * n);
            v = v.wrapping_mul(POW10[n]).wrapping_add(eight_digits(shifted));
        }
        *i = j + 1;
        return Some(v);
    }
    // The last bytes of the block: one at a time.
    loop {
        let b = *data.get(j)?;
        let d = b.wrapping_sub(b'0');
        if d >= 10 {
            if b == stop && j > s && j - s <= max {
                *i = j + 1;
                return Some(v);
            }
            return None;
        }
        v = v.wrapping_mul(10).wrapping_add(d as u64);
        j += 1;
    }
}

const ZEROS: u64 = 0x3030_3030_3030_3030;
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// How many of the eight bytes (little-endian, `'0'` already subtracted) are digits before the first other byte.
#[inline(always)]
fn digit_run(t: u64) -> usize {
    // A byte is a digit when it is below 10 now. Adding 0x76 sets its top bit when it is not; bytes that were
    // below '0' borrowed from the bytes after them, and bytes above 0x89 carry into the bytes after them, but
    // only bytes after the first non-digit are disturbed, and only the first one matters.
    let high = (t.wrapping_add(0x7676_7676_7676_7676) | t) & 0x8080_8080_8080_8080;
    (high.trailing_zeros() / 8) as usize
}

/// The number written by eight digit bytes (values 0-9, the first byte the most significant).
#[inline(always)]
fn eight_digits(t: u64) -> u64 {
    // Pairs of digits, then pairs of pairs, then the two halves: each lane holds its number without carrying.
    let t = ((t & 0x0f00_0f00_0f00_0f00) >> 8) + (t & 0x000f_000f_000f_000f) * 10;
    let t = ((t & 0x00ff_0000_00ff_0000) >> 16) + (t & 0x0000_00ff_0000_00ff) * 100;
    ((t & 0x0000_ffff_0000_0000) >> 32) + (t & 0x0000_0000_0000_ffff) * 10_000
}

/// Two ASCII digits at `at` as a number, or None.
#[inline(always)]
fn two(b: &[u8], at: usize) -> Option<u32> {
    let (h, l) = (b[at].wrapping_sub(b'0'), b[at + 1].wrapping_sub(b'0'));
    (h < 10 && l < 10).then_some(h as u32 * 10 + l as u32)
}

/// `YYYY-MM-DDTHH:MM:SS` then `Z` or `+HH:MM`/`-HH:MM`, then a comma (no fraction: the general path takes
/// those). Returns the UTC day (days since 1970-01-01) and moves `i` past the comma.
#[inline(always)]
fn timestamp(data: &[u8], i: &mut usize) -> Option<i32> {
    let s: &[u8; 21] = data.get(*i..*i + 21)?.try_into().ok()?;
    if s[4] != b'-' || s[7] != b'-' || s[10] != b'T' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (y, mo, d) = (two(s, 0)? * 100 + two(s, 2)?, two(s, 5)?, two(s, 8)?);
    let (h, mi, se) = (two(s, 11)?, two(s, 14)?, two(s, 17)?);
    let offset = match s[19] {
        b'Z' if s[20] == b',' => {
            *i += 21;
            0
        }
        sign @ (b'+' | b'-') => {
            let t: &[u8; 7] = data.get(*i + 19..*i + 26)?.try_into().ok()?;
            if t[3] != b':' || t[6] != b',' {
                return None;
            }
            let (oh, om) = (two(t, 1)?, two(t, 4)?);
            if oh > 23 || om > 59 {
                return None;
            }
            *i += 26;
            let v = (oh * 60 + om) as i32;
            if sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    // The same checks as `rules::parse_ts_utc_day`, in the same arithmetic.
    if y == 0
        || !(1..=12).contains(&mo)
        || d == 0
        || (d > 28 && d > rules::days_in_month(y as i64, mo))
        || h > 23
        || mi > 59
        || se > 59
    {
        return None;
    }
    let day = days_from_civil_0_9999(y, mo, d) as i32;
    // Minutes into the local day less the offset: -1439..=2878, so the UTC day is day - 1, day or day + 1.
    let t = (h * 60 + mi) as i32 - offset;
    Some(day + ((t + 1440) as u32 / 1440) as i32 - 1)
}

/// An exact, clean status then a comma (padding and other cases take the general path).
#[inline(always)]
fn status(data: &[u8], i: &mut usize) -> Option<u8> {
    let s = *i;
    let w: &[u8; 10] = data.get(s..s + 10)?.try_into().ok()?;
    let (st, len) = match w[0] {
        b'd' if w[..10] == *b"delivered," => (3, 9),
        b's' if w[..8] == *b"shipped," => (2, 7),
        b'p' if w[..5] == *b"paid," => (1, 4),
        b'p' if w[..7] == *b"placed," => (0, 6),
        b'c' if w[..10] == *b"cancelled," => (rules::CANCELLED, 9),
        b'r' if w[..9] == *b"returned," => (5, 8),
        _ => return None,
    };
    debug_assert_eq!(rules::STATUSES[st as usize].len(), len);
    *i = s + len + 1;
    Some(st)
}

/// The last field (`notes`) and the record's end: an unquoted field with no comma or quote, or a quoted one
/// followed by the line end; valid UTF-8 either way. Returns (just after the `\n`, `\n`s inside the field).
#[inline(always)]
fn notes(data: &[u8], i: usize) -> Option<(usize, usize)> {
    if *data.get(i)? == b'"' {
        quoted_notes(data, i)
    } else {
        let (nl, ascii) = unquoted_end(data, i)?;
        if !ascii && std::str::from_utf8(&data[i..nl]).is_err() {
            return None;
        }
        Some((nl + 1, 0))
    }
}

/// From `i`, the first `\n` when no comma or quote comes before it, and whether the bytes before it are ASCII.
#[inline(always)]
fn unquoted_end(data: &[u8], i: usize) -> Option<(usize, bool)> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut base = i;
        let mut high = 0u32;
        while base + 16 <= data.len() {
            let (stops, newlines, h) = sse2::masks(data, base, b',');
            if stops != 0 {
                let s = stops.trailing_zeros();
                if newlines >> s & 1 == 0 {
                    return None;
                }
                high |= h & ((1 << s) - 1);
                return Some((base + s as usize, high == 0));
            }
            high |= h;
            base += 16;
        }
        None
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let nl = i + memchr::memchr3(b'\n', b',', b'"', &data[i..])?;
        (data[nl] == b'\n').then(|| (nl, data[i..nl].is_ascii()))
    }
}

/// A quoted last field at `i` (a quote), then `\n` or `\r\n`.
#[inline(never)]
fn quoted_notes(data: &[u8], i: usize) -> Option<(usize, usize)> {
    let mut p = i + 1;
    let mut newlines = 0;
    let mut ascii = true;
    let close = loop {
        let q = p + memchr::memchr(b'"', data.get(p..)?)?;
        newlines += memchr::memchr_iter(b'\n', &data[p..q]).count();
        ascii &= data[p..q].is_ascii();
        // A doubled quote is a literal quote; a single one closes the field.
        if data.get(q + 1) == Some(&b'"') {
            p = q + 2;
        } else {
            break q;
        }
    };
    let end = match data.get(close + 1..close + 3)? {
        [b'\n', _] => close + 2,
        b"\r\n" => close + 3,
        _ => return None,
    };
    if !ascii && std::str::from_utf8(&data[i + 1..close]).is_err() {
        return None;
    }
    Some((end, newlines))
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    /// For the 16 bytes at `at`: (bytes equal to `\n`, `"` or `extra`; bytes equal to `\n`; bytes >= 0x80).
    #[inline(always)]
    pub fn masks(data: &[u8], at: usize, extra: u8) -> (u32, u32, u32) {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        assert!(at + 16 <= data.len());
        // SAFETY: SSE2 is part of x86_64, and the 16 bytes at `at` are inside `data` (asserted).
        unsafe {
            let v = _mm_loadu_si128(data.as_ptr().add(at) as *const __m128i);
            let hit = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
            let nl = hit(b'\n');
            let stops = _mm_or_si128(_mm_or_si128(nl, hit(b'"')), hit(extra));
            (
                _mm_movemask_epi8(stops) as u32,
                _mm_movemask_epi8(nl) as u32,
                _mm_movemask_epi8(v) as u32,
            )
        }
    }
}

/// Reads the record at `start` if it is a common clean one (see the module doc); None otherwise.
#[inline(always)]
pub fn record(data: &[u8], start: usize, fx: &FxTable) -> Option<Fast> {
    let mut i = start;
    let order_id = digits_then(data, &mut i, b',', 18)?;
    let customer_id = digits_then(data, &mut i, b',', 18)?;
    let product_id = digits_then(data, &mut i, b',', 18)?;
    let quantity = digits_then(data, &mut i, b',', 18)?;
    if quantity == 0 {
        return None;
    }
    // unit_price: units (16 digits at most, so that cents fit), a dot, two digits.
    let units = digits_then(data, &mut i, b'.', 16)?;
    let price_cents = units * 100 + two(data.get(i..i + 3)?, 0)? as u64;
    if data[i + 2] != b',' {
        return None;
    }
    i += 3;
    // discount_pct: up to three digits, then a comma, or a dot and one or two digits and a comma.
    let whole = {
        let s = i;
        let v = digits_then(data, &mut i, b',', 3);
        match v {
            Some(v) => v * 100,
            None => {
                i = s;
                let v = digits_then(data, &mut i, b'.', 3)? * 100;
                let f = data.get(i..i + 3)?;
                let d0 = f[0].wrapping_sub(b'0');
                if d0 >= 10 {
                    return None;
                }
                if f[1] == b',' {
                    i += 2;
                    v + d0 as u64 * 10
                } else {
                    let d1 = f[1].wrapping_sub(b'0');
                    if d1 >= 10 || f[2] != b',' {
                        return None;
                    }
                    i += 3;
                    v + d0 as u64 * 10 + d1 as u64
                }
            }
        }
    };
    if whole > 10_000 {
        return None;
    }
    let c = data.get(i..i + 4)?;
    if c[3] != b',' {
        return None;
    }
    let usd_per_unit_micros = fx.get(key(c[0], c[1], c[2]))?;
    i += 4;
    let day = timestamp(data, &mut i)?;
    let status = status(data, &mut i)?;
    let (end, mut newlines) = notes(data, i)?;
    newlines += 1;
    // Blank lines (and lone CRs) between records are skipped, as the general reader skips them.
    let mut next = end;
    while let Some(&b) = data.get(next) {
        match b {
            b'\n' => newlines += 1,
            b'\r' => {}
            _ => break,
        }
        next += 1;
    }
    Some(Fast {
        clean: Clean {
            order_id,
            customer_id,
            product_id,
            quantity,
            price_cents,
            discount_bp: whole,
            usd_per_unit_micros,
            day,
            status,
        },
        start,
        end,
        next,
        newlines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::records::Records;
    use crate::pipeline::{check, dims};

    /// Runs the fast path and the general reader + `check` on the record at `start`: whenever the fast path
    /// takes a record, the general path must accept it with the same values, end and line count. Returns
    /// whether the fast path took it.
    fn agree(data: &[u8], start: usize, d: &dims::Dimensions, fx: &FxTable) -> bool {
        let Some(f) = record(data, start, fx) else {
            return false;
        };
        let mut r = Records::new(data, start);
        let rec = r.next_record().expect("a record");
        let raw = &data[rec.start..rec.end];
        let tail = rec.last;
        let slow = check(&rec.fields, raw, tail, tail && !data.ends_with(b"\n"), d);
        let text = String::from_utf8_lossy(raw);
        assert_eq!(slow, Ok(f.clean), "{text:?}");
        assert_eq!(
            (f.start, f.end, f.next),
            (rec.start, rec.end, r.pos()),
            "{text:?}"
        );
        let nl = memchr::memchr_iter(b'\n', &data[start..f.next]).count();
        assert_eq!(f.newlines, nl, "{text:?}");
        true
    }

    fn dataset(rows: u64, rate: f64) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("etlkit-fast-{}-{rows}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crate::generate::generate(&crate::generate::GenerateOptions {
            out: Some(dir.clone()),
            rows: Some(rows),
            files: Some(1),
            dirty_rate: rate,
            seed: 5,
            ..Default::default()
        })
        .unwrap();
        dir
    }

    /// Every record of a dirty dataset, and every one-byte change of its first records: the fast path never
    /// accepts what the rules reject, and reads what it accepts as they do.
    #[test]
    fn agrees_with_the_rules_on_dirty_data_and_mutations() {
        let dir = dataset(20_000, 0.2);
        let d = dims::load(&dir).unwrap();
        let fx = FxTable::new(&d.fx);
        let data = std::fs::read(dir.join("orders/part-00000.csv")).unwrap();
        let mut r = Records::new(&data, 0);
        r.next_record(); // the header
        let (mut starts, mut taken) = (Vec::new(), 0);
        while r.pos() < data.len() {
            let start = r.pos();
            starts.push(start);
            taken += agree(&data, start, &d, &fx) as usize;
            r.next_record();
        }
        // Most records are clean and common: the fast path must take them (or this test proves nothing).
        assert!(taken > starts.len() / 2, "{taken} of {}", starts.len());
        assert!(taken < starts.len());

        let bytes: &[u8] = b",\"\n\r.-+:Z 0123456789xA\xc3\xff\x00";
        let mut taken = 0;
        for w in starts.windows(2).take(200) {
            let (s, e) = (w[0], w[1]);
            for at in s..e {
                for &b in bytes {
                    let mut m = data[s..e].to_vec();
                    m[at - s] = b;
                    // A following record gives the fast path room to read ahead.
                    m.extend_from_slice(&data[e..(e + 200).min(data.len())]);
                    taken += agree(&m, 0, &d, &fx) as usize;
                }
            }
        }
        assert!(taken > 1000, "{taken}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn edge_cases() {
        let dir = dataset(50, 0.0);
        let d = dims::load(&dir).unwrap();
        let fx = FxTable::new(&d.fx);
        let next = b"\n2,1,1,1,1.00,0,USD,2024-01-01T00:00:00Z,paid,padding for the read-ahead\n";
        let cases: &[(&[u8], bool)] = &[
            (
                b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56+01:00,delivered,",
                true,
            ),
            (
                b"1,1,1,2,3.00,12.5,EUR,2024-02-29T23:59:59-01:30,paid,\"say \"\"hi\"\"\nthere\"",
                true,
            ),
            (
                b"1,1,1,2,3.00,100,USD,2024-12-31T23:00:00-05:00,cancelled,caf\xc3\xa9",
                true,
            ),
            (
                b"1,1,1,2,3.00,100.00,USD,2000-01-01T00:30:00+01:00,returned,x\r",
                true,
            ),
            // Not the fast path's: valid but unusual, or invalid.
            (b"1,1,1,2,3.00,100.01,USD,2024-06-20T10:29:56Z,paid,", false),
            (b"1,1,1,2,3.00,0,USD,2023-02-29T10:29:56Z,paid,", false),
            (b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56.5Z,paid,", false),
            (b"1,1,1,2,3.00,0,usd,2024-06-20T10:29:56Z,paid,", false),
            (b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56Z, paid,", false),
            (b"1,1,1,0,3.00,0,USD,2024-06-20T10:29:56Z,paid,", false),
            (b"1,1,1,-2,3.00,0,USD,2024-06-20T10:29:56Z,paid,", false),
            (b"1,1,1,2,3.0,0,USD,2024-06-20T10:29:56Z,paid,", false),
            (b"1,1,1,2,3.00,0,USD,0000-06-20T10:29:56Z,paid,", false),
            (b"1,1,1,2,3.00,0,USD,2024-06-20T24:00:00Z,paid,", false),
            (b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56+24:00,paid,", false),
            (b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56Z,paid,a,b", false),
            (
                b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56Z,paid,size 3\" only",
                false,
            ),
            (
                b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56Z,paid,\"x\"y",
                false,
            ),
            (b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56Z,paid,\xff", false),
            (
                b"1234567890123456789,1,1,2,3.00,0,USD,2024-06-20T10:29:56Z,paid,",
                false,
            ),
            (
                b"1,1,1,2,12345678901234567.00,0,USD,2024-06-20T10:29:56Z,paid,",
                false,
            ),
        ];
        for &(line, fast) in cases {
            let mut data = line.to_vec();
            data.extend_from_slice(next);
            assert_eq!(
                agree(&data, 0, &d, &fx),
                fast,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        // The last bytes of a block: no room to read ahead, so the general path reads the record.
        assert!(!agree(
            b"1,1,1,2,3.00,0,USD,2024-06-20T10:29:56Z,paid,\n",
            0,
            &d,
            &fx
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The eight-at-a-time digit reader against a plain one, for every length and stop, at every alignment.
    #[test]
    fn digits_then_agrees_with_a_byte_loop() {
        let plain = |f: &[u8], stop: u8, max: usize| -> Option<(u64, usize)> {
            let n = f.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 || n > max || f.get(n) != Some(&stop) {
                return None;
            }
            Some((rules::parse_uint(&f[..n]).unwrap_or(0), n + 1))
        };
        let fields: [&[u8]; 14] = [
            b"0,",
            b"7,",
            b"12,",
            b"00012,",
            b"1234567,",
            b"12345678,",
            b"123456789,",
            b"123456789012345678,",
            b"1234567890123456789,",
            b",",
            b"12a,",
            b"12.5,",
            b"9/",
            b"99999999999999999,",
        ];
        for f in fields {
            for pad in 0..12 {
                for stop in [b',', b'.'] {
                    for max in [3, 16, 18] {
                        let mut data = vec![b'x'; pad];
                        data.extend_from_slice(f);
                        data.extend_from_slice(b"tail bytes");
                        let mut i = pad;
                        let got = digits_then(&data, &mut i, stop, max).map(|v| (v, i - pad));
                        assert_eq!(got, plain(f, stop, max), "{f:?} {pad} {max}");
                        // At the very end of the data too (the byte-at-a-time tail).
                        let mut i = 0;
                        let got = digits_then(f, &mut i, stop, max).map(|v| (v, i));
                        assert_eq!(got, plain(f, stop, max), "{f:?} end {max}");
                    }
                }
            }
        }
    }

    #[test]
    fn utc_days() {
        let fx = FxTable::new(&[(*b"USD", 1_000_000)]);
        let day = |ts: &str| {
            let line = format!("1,1,1,1,1.00,0,USD,{ts},paid,\n2,1,1,1,1.00,0,USD,{ts},paid,\n");
            record(line.as_bytes(), 0, &fx).map(|f| f.clean.day)
        };
        for ts in [
            "1970-01-01T00:00:00Z",
            "1970-01-01T00:30:00+01:00",
            "1969-12-31T23:59:59-23:59",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+00:01",
            "2024-02-29T12:00:00+12:00",
        ] {
            let want = rules::parse_ts_utc_day(ts.as_bytes()).map(|d| d as i32);
            assert_eq!(day(ts), want, "{ts}");
            assert!(want.is_some());
        }
    }
}
