//! Every scan for quotes in the csv engine: where quoted fields open and close, as csv-core reads RFC 4180 (a
//! quote opens a field only at a field's start; inside one, a doubled quote is a literal quote and a single one
//! closes it), and where records therefore end.
//!
//! The invariant of the cuts. The reader cuts a file into blocks that should each hold whole records. Cutting a
//! read (or decompressed) file, it knows: [`last_record_end`] walks every quote of the block. Cutting a mapped
//! file, it guesses: [`likely_record_end`] takes the last line end that is followed by a record the fast path
//! accepts whole, without walking the block (that walk cost a tenth of the run). A line break inside a quoted
//! field followed by text that reads as a good record fools the guess. The correction: every block is read from
//! a true record start except one after a wrong guess, and the block before it proves the guess, because its
//! last record is then still inside a quoted field at its end ([`ends_in_quotes`]; the worker reports it as
//! unfinished). The ordered stage then takes back what the next block counted and reads the stretch again from
//! the unfinished record's start, up to [`end_of_open_record`] (pipeline::ordered). So every byte is counted
//! once, from a true record start, whichever guesses were wrong.

use super::fast::{self, FxTable};
#[cfg(target_arch = "x86_64")]
use super::records::masks16;

/// Quoted spans of `buf` (which starts at a record boundary), read as csv-core reads RFC 4180: a quote opens a
/// quoted field only at the start of a field (elsewhere it is an ordinary character); inside, a doubled quote is
/// a literal quote and a single one closes the field. Returns the closed spans `(open, close)` and the position
/// of a quote still open at the end, if any.
pub fn quoted_spans(buf: &[u8]) -> (Vec<(usize, usize)>, Option<usize>) {
    let mut spans = Vec::new();
    let open = walk_quotes(buf, |o, c| spans.push((o, c)));
    (spans, open)
}

/// The quoted spans of `buf` in order, each given to `span(open, close)`; returns the position of a quote still
/// open at the end. Only the quotes are visited, found sixteen bytes at a time (this runs on every block).
fn walk_quotes(buf: &[u8], mut span: impl FnMut(usize, usize)) -> Option<usize> {
    let mut open: Option<usize> = None;
    // The second quote of a doubled quote (a literal quote inside a quoted field).
    let mut skip = usize::MAX;
    let mut visit = |p: usize| {
        if p == skip {
            return;
        }
        match open {
            None if opens_field(buf, p) => open = Some(p),
            None => {}
            Some(_) if buf.get(p + 1) == Some(&b'"') => skip = p + 1,
            Some(o) => {
                span(o, p);
                open = None;
            }
        }
    };
    let mut base = 0;
    #[cfg(target_arch = "x86_64")]
    while base + 16 <= buf.len() {
        let mut quotes = masks16(buf, base).quotes;
        while quotes != 0 {
            visit(base + quotes.trailing_zeros() as usize);
            quotes &= quotes - 1;
        }
        base += 16;
    }
    for p in memchr::memchr_iter(b'"', &buf[base..]) {
        visit(base + p);
    }
    open
}

/// True when position `p` starts a field: after a comma, or at the start of a record. A record starts at the
/// start of `buf` or after a newline, and blank lines and lone `\r`s before it are skipped (as the parser
/// skips them), so a quote after `\n\r\r` opens a field too.
fn opens_field(buf: &[u8], p: usize) -> bool {
    let before = &buf[..p];
    if before.last() == Some(&b',') {
        return true;
    }
    let rest = before.len() - before.iter().rev().take_while(|&&b| b == b'\r').count();
    rest == 0 || buf[rest - 1] == b'\n'
}

/// True when `buf` (starting at a record boundary) ends inside a quoted field.
pub fn ends_in_quotes(buf: &[u8]) -> bool {
    quoted_spans(buf).1.is_some()
}

/// The end of the last complete record in `buf` (just after a `\n` outside quoted fields), if any. `buf`
/// starts at a record boundary. This runs on every block, so it keeps only the last few quoted spans, not a
/// list of them all; the line end is then found backwards.
pub fn last_record_end(buf: &[u8]) -> Option<usize> {
    const RING: usize = 64;
    let mut ring = [(0usize, 0usize); RING];
    let mut spans = 0usize;
    let open = walk_quotes(buf, |o, c| {
        ring[spans % RING] = (o, c);
        spans += 1;
    });
    // The last line end before the open quote (if any) and outside every closed span.
    let mut limit = open.unwrap_or(buf.len());
    let mut k = spans;
    while let Some(nl) = memchr::memrchr(b'\n', &buf[..limit]) {
        // The newest span opening before the line end.
        while k > 0 && spans - k < RING && ring[(k - 1) % RING].0 > nl {
            k -= 1;
        }
        if k > 0 && spans - k >= RING {
            // Older spans than the ring keeps: read them all (never seen on real data).
            return last_record_end_by_spans(buf);
        }
        match k.checked_sub(1).map(|j| ring[j % RING]) {
            Some((o, c)) if nl < c => {
                limit = o;
                k -= 1;
            }
            _ => return Some(nl + 1),
        }
    }
    None
}

/// A likely end of a complete record near the end of `buf` (which starts at a record boundary), found without
/// reading the block: a line end followed by a record the fast path accepts whole. Reading every byte of every
/// block here, to know which line ends are inside quoted fields, cost a tenth of the run's CPU time.
///
/// It is a guess: a line break inside a quoted field, followed by text that reads as a good record, fools it.
/// Whoever reads the block then finds its last record unfinished (see `Output::unfinished` in the pipeline), and
/// that stretch is read again from the true record start. After 64 rejected line ends (dirty data), it falls
/// back to the exact `last_record_end`.
pub fn likely_record_end(buf: &[u8], fx: &FxTable) -> Option<usize> {
    let mut limit = buf.len();
    for _ in 0..64 {
        let Some(nl) = memchr::memrchr(b'\n', &buf[..limit]) else {
            break;
        };
        if fast::record(buf, nl + 1, fx).is_some() {
            return Some(nl + 1);
        }
        limit = nl;
    }
    last_record_end(buf)
}

/// Where the record that is open at the start of `buf` ends: `buf` starts inside one of its quoted fields (just
/// after a line break that the field holds). Returns the position just after its first line break outside
/// quotes, if `buf` has one. Reads as `walk_quotes` does: the field closes at a quote that is not doubled, and
/// after that a quote opens a field only after a comma (a record start would come after a line break, which
/// already ended the record).
pub fn end_of_open_record(buf: &[u8]) -> Option<usize> {
    let mut p = 0;
    loop {
        // Inside a quoted field: to its closing quote.
        p = closing_quote(buf, p)?.0 + 1;
        // Outside: the first line break, unless a quoted field opens before it.
        loop {
            let at = p + memchr::memchr2(b'\n', b'"', &buf[p..])?;
            p = at + 1;
            if buf[at] == b'\n' {
                return Some(p);
            }
            if buf[at - 1] == b',' {
                break;
            }
        }
    }
}

/// `last_record_end` from the list of every span (the fallback, and what the tests hold it to).
fn last_record_end_by_spans(buf: &[u8]) -> Option<usize> {
    let (spans, open) = quoted_spans(buf);
    let mut limit = open.unwrap_or(buf.len());
    while let Some(nl) = memchr::memrchr(b'\n', &buf[..limit]) {
        // Inside a closed quoted span? Spans are sorted: find the last one opening before the newline.
        let i = spans.partition_point(|s| s.0 < nl);
        match i.checked_sub(1).map(|j| spans[j]) {
            Some((o, c)) if nl < c => limit = o,
            _ => return Some(nl + 1),
        }
    }
    None
}

/// From `p` inside a quoted field: its closing quote (a quote not followed by another one: a doubled quote is a
/// literal quote), the `\n`s before it, and whether the bytes before it are ASCII; None when the data ends
/// first. Sixteen bytes at a time, then memchr for the last few.
#[inline(always)]
pub fn closing_quote(data: &[u8], mut p: usize) -> Option<(usize, usize, bool)> {
    let (mut newlines, mut ascii) = (0, true);
    #[cfg(target_arch = "x86_64")]
    while p + 16 <= data.len() {
        let m = masks16(data, p);
        let s = m.quotes.trailing_zeros();
        // Bytes before the first quote (all 16 when there is none).
        let below = if m.quotes == 0 {
            u32::MAX
        } else {
            (1 << s) - 1
        };
        newlines += (m.newlines & below).count_ones() as usize;
        ascii &= m.high & below == 0;
        if m.quotes == 0 {
            p += 16;
            continue;
        }
        let q = p + s as usize;
        if data.get(q + 1) == Some(&b'"') {
            p = q + 2;
            continue;
        }
        return Some((q, newlines, ascii));
    }
    loop {
        let q = p + memchr::memchr(b'"', data.get(p..)?)?;
        newlines += memchr::memchr_iter(b'\n', &data[p..q]).count();
        ascii &= data[p..q].is_ascii();
        if data.get(q + 1) == Some(&b'"') {
            p = q + 2;
        } else {
            return Some((q, newlines, ascii));
        }
    }
}

/// A quoted last field at `i` (a quote), then `\n` or `\r\n`.
#[inline(never)]
pub fn quoted_notes(data: &[u8], i: usize) -> Option<(usize, usize)> {
    let (close, newlines, ascii) = closing_quote(data, i + 1)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `end_of_open_record` against the list of quoted spans of the whole text (the record opened by a prefix).
    #[test]
    fn open_record_ends_where_the_spans_say() {
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"ab,\"\n\r";
        for case in 0..5000 {
            let prefix: &[u8] = if case % 2 == 0 { b"1,\"x\n" } else { b"\"\n" };
            let len = (next() % 40) as usize;
            let tail: Vec<u8> = (0..len).map(|_| alphabet[(next() % 6) as usize]).collect();
            let text = [prefix, &tail].concat();
            let (spans, open) = quoted_spans(&text);
            // The first line break after the prefix outside every closed span and before a still-open quote.
            let oracle = (prefix.len()..text.len())
                .filter(|&i| text[i] == b'\n')
                .find(|&i| {
                    !spans.iter().any(|&(o, c)| o < i && i < c) && open.is_none_or(|o| i < o)
                })
                .map(|i| i + 1 - prefix.len());
            assert_eq!(
                end_of_open_record(&tail),
                oracle,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn cuts_outside_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne"), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny\"\nc,\"open\nmore"), Some(8));
        assert_eq!(last_record_end(b"a,\"say \"\"hi\"\"\"\nb"), Some(15));
        assert_eq!(last_record_end(b"no newline"), None);
        assert_eq!(last_record_end(b"\"all\ninside"), None);
        // A quote inside an unquoted field is an ordinary character (as csv-core reads it).
        assert_eq!(last_record_end(b"a,size 3\" only\nb,\"x\ny\"\nc"), Some(23));
        assert!(!ends_in_quotes(b"3,size 3\" only\n"));
        // Lone CRs before a record are skipped by the parser, so the quote after them opens a field.
        assert_eq!(last_record_end(b"1,a\n\r\"13\n\",b\nc"), Some(13));
        assert!(ends_in_quotes(b"1,a\n\r\r\"open\nmore"));
        assert!(!ends_in_quotes(b"1,a\rb\"x\n"));
        assert!(ends_in_quotes(b"3,\"open\nmore"));
        assert!(!ends_in_quotes(b"3,\"say \"\"hi\"\"\"\n"));
    }

    /// The mask walk and the span list agree on random texts of quotes, commas, line ends and CRs, at every
    /// length (so that doubled quotes and line ends fall on both sides of every chunk boundary).
    #[test]
    fn mask_walk_agrees_with_spans() {
        let alphabet = b"\"\",\n\ra\"";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        // Over a hundred multi-line quoted fields in a row, then an open one: more spans than the ring keeps.
        let mut many = b"1,x\n".to_vec();
        for _ in 0..150 {
            many.extend_from_slice(b"\"a\nb\",");
        }
        many.extend_from_slice(b"\"open\n");
        assert_eq!(last_record_end(&many), Some(4));
        let mut texts: Vec<Vec<u8>> = vec![
            many,
            b"a,\"x\ny\"\nc,\"open\nmore".to_vec(),
            b"1,a\n\r\"13\n\",b\nc".to_vec(),
            b"0123456789abcde\"\"\"\n\",x\n".to_vec(),
        ];
        for _ in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 70) as usize;
            let text = (0..len)
                .map(|i| alphabet[((state >> (i % 60)) as usize + i * 7) % alphabet.len()])
                .collect();
            texts.push(text);
        }
        // The quote walk against the plain one it replaced (every quote found by memchr, in one list).
        let plain = |buf: &[u8]| {
            let quotes: Vec<usize> = memchr::memchr_iter(b'"', buf).collect();
            let (mut spans, mut open, mut k) = (Vec::new(), None, 0);
            while k < quotes.len() {
                let p = quotes[k];
                match open {
                    None => {
                        if opens_field(buf, p) {
                            open = Some(p);
                        }
                        k += 1;
                    }
                    Some(_) if k + 1 < quotes.len() && quotes[k + 1] == p + 1 => k += 2,
                    Some(o) => {
                        spans.push((o, p));
                        open = None;
                        k += 1;
                    }
                }
            }
            (spans, open)
        };
        for t in &texts {
            for start in 0..t.len().min(20) {
                assert_eq!(quoted_spans(&t[start..]), plain(&t[start..]));
                let b = &t[start..];
                assert_eq!(
                    last_record_end(b),
                    last_record_end_by_spans(b),
                    "{:?}",
                    String::from_utf8_lossy(b)
                );
            }
        }
    }

    /// The closing-quote scan against a byte loop, from every offset of a text whose doubled quotes, line breaks
    /// and non-ASCII bytes fall on both sides of the 16-byte steps.
    #[test]
    fn closing_quote_agrees_with_a_byte_loop() {
        let text = "a\"\"b\nc\u{e9}0123456789abc\"\"\"d\n\"\"\"\"x\"tail\n\"\"".as_bytes();
        let plain = |mut p: usize| {
            let (mut newlines, mut ascii) = (0, true);
            while p < text.len() {
                match text[p] {
                    b'"' if text.get(p + 1) == Some(&b'"') => p += 2,
                    b'"' => return Some((p, newlines, ascii)),
                    b => {
                        newlines += (b == b'\n') as usize;
                        ascii &= b.is_ascii();
                        p += 1;
                    }
                }
            }
            None
        };
        for p in 0..=text.len() {
            assert_eq!(closing_quote(text, p), plain(p), "from {p}");
        }
    }
}
