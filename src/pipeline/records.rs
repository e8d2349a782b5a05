//! Records of a block. Most lines hold no quote: they are split on commas directly (the hot path). A line with a
//! quote goes through csv-core, which handles quoted commas, doubled quotes and line breaks inside quotes. Both
//! read RFC 4180 the same way; the tests run every dirty dataset through both paths.

use std::ops::Index;

use super::quotes::closing_quote;

/// Fields kept per record: a valid record has 10; more than this is a field-count error anyway.
const MAX_FIELDS: usize = 12;

/// The fields of one record (slices into the block or into the reader's unquoting buffer).
pub struct Fields<'r> {
    items: [&'r [u8]; MAX_FIELDS],
    n: usize,
}

impl<'r> Fields<'r> {
    /// The number of fields in the record (may exceed what is kept).
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn iter(&self) -> impl Iterator<Item = &'r [u8]> + '_ {
        self.items[..self.n.min(MAX_FIELDS)].iter().copied()
    }
}

impl<'r> Index<usize> for Fields<'r> {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.items[i]
    }
}

/// One record: its byte range in the block (`end` is where the next record may start) and its fields.
pub struct Record<'r> {
    pub start: usize,
    pub end: usize,
    /// True when no record follows in the block.
    pub last: bool,
    pub fields: Fields<'r>,
}

pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl<'a> Records<'a> {
    pub fn new(data: &'a [u8], start: usize) -> Self {
        let mut r = Records {
            data,
            pos: start,
            // Records end with `\n` only (the spec): a lone `\r` is data, as on the unquoted path.
            core: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            out: vec![0; 4096],
            ends: vec![0; 64],
        };
        r.skip_blank();
        r
    }

    /// Where the next record starts.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Continues at `pos`, which must be a record's start (blank lines already skipped).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Blank lines are not records (as csv-core reads them).
    fn skip_blank(&mut self) {
        while self.pos < self.data.len() && matches!(self.data[self.pos], b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    // Inlined into the caller's loop so that the record is built in place (it is 200+ bytes: returning it
    // by value cost a memcpy per row); the rarer quoted paths stay out of line.
    #[inline(always)]
    pub fn next_record(&mut self) -> Option<Record<'_>> {
        if self.pos >= self.data.len() {
            return None;
        }
        let data = self.data;
        let start = self.pos;
        let mut items: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
        let n;
        let end;
        match unquoted_line(data, start, &mut items) {
            Err(quote) => {
                let Some((end, items, n)) = quoted_last_field(data, start, quote) else {
                    return self.quoted(start);
                };
                self.pos = end;
                self.skip_blank();
                return Some(Record {
                    start,
                    end,
                    last: self.pos >= data.len(),
                    fields: Fields { items, n },
                });
            }
            Ok((line_end, count)) => {
                n = count;
                end = (line_end + 1).min(data.len());
            }
        }
        self.pos = end;
        self.skip_blank();
        Some(Record {
            start,
            end,
            last: self.pos >= data.len(),
            fields: Fields { items, n },
        })
    }

    /// A record with quotes: csv-core reads exactly one record from `start`.
    #[inline(never)]
    fn quoted(&mut self, start: usize) -> Option<Record<'_>> {
        use csv_core::ReadRecordResult as R;
        self.core.reset();
        let mut input = &self.data[start..];
        let (mut nout, mut nend) = (0, 0);
        loop {
            let (res, nin, o, e) =
                self.core
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            input = &input[nin..];
            nout += o;
            nend += e;
            match res {
                // An empty input tells csv-core the data ended (the block ends at a record boundary).
                R::InputEmpty => {}
                R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record | R::End => break,
            }
        }
        let end = self.data.len() - input.len();
        self.pos = end;
        self.skip_blank();
        // With `\n` as the terminator, the `\r` of a CRLF ends up at the end of the last field: drop it.
        let crlf = end >= 2 && &self.data[end - 2..end] == b"\r\n";
        let mut items: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
        let mut prev = 0;
        for (i, &e) in self.ends[..nend].iter().enumerate() {
            let e2 = if crlf && i + 1 == nend && e > prev && self.out[e - 1] == b'\r' {
                e - 1
            } else {
                e
            };
            if i < MAX_FIELDS {
                items[i] = &self.out[prev..e2];
            }
            prev = e;
        }
        Some(Record {
            start,
            end,
            last: self.pos >= self.data.len(),
            fields: Fields { items, n: nend },
        })
    }
}

/// Splits the line at `start` on commas into `items`, in one pass that also finds its end: Ok((index of its
/// `\n` or the data's end, field count)), a trailing `\r` left out of the last field. Err(position) when a quote
/// comes before the line's end (the caller reads that record another way).
#[inline(always)]
fn unquoted_line<'a>(
    data: &'a [u8],
    start: usize,
    items: &mut [&'a [u8]; MAX_FIELDS],
) -> std::result::Result<(usize, usize), usize> {
    #[cfg(target_arch = "x86_64")]
    {
        sse2_line(data, start, items)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        scalar_line(data, start, items)
    }
}

/// `unquoted_line` for any target: memchr for the end, then the word-at-a-time split.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn scalar_line<'a>(
    data: &'a [u8],
    start: usize,
    items: &mut [&'a [u8]; MAX_FIELDS],
) -> std::result::Result<(usize, usize), usize> {
    let found = memchr::memchr2(b'\n', b'"', &data[start..]).map(|i| start + i);
    if let Some(q) = found.filter(|&q| data[q] == b'"') {
        return Err(q);
    }
    let line_end = found.unwrap_or(data.len());
    let line = &data[start..line_end];
    Ok((
        line_end,
        split_fields(line.strip_suffix(b"\r").unwrap_or(line), items),
    ))
}

/// `unquoted_line` sixteen bytes at a time: one compare each for comma, newline and quote, then the bits.
/// This was the pipeline's hottest loop (a memchr for the line's end, then a split, cost twice as much).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unused_assignments)] // `push!` moves `field` on even after the last field
fn sse2_line<'a>(
    data: &'a [u8],
    start: usize,
    items: &mut [&'a [u8]; MAX_FIELDS],
) -> std::result::Result<(usize, usize), usize> {
    let (mut n, mut field) = (0usize, start);
    macro_rules! push {
        ($end:expr) => {{
            let end = $end;
            if n < MAX_FIELDS {
                items[n] = &data[field..end];
            }
            n += 1;
            field = end + 1;
        }};
    }
    // The last field ends at the line's end, less the `\r` of a CRLF (as on the csv-core path).
    macro_rules! finish {
        ($line_end:expr) => {{
            let line_end = $line_end;
            if line_end > field && data[line_end - 1] == b'\r' {
                push!(line_end - 1);
            } else {
                push!(line_end);
            }
            return Ok((line_end, n));
        }};
    }
    let mut base = start;
    while base + 16 <= data.len() {
        let m = masks16(data, base);
        let (mut commas, stops) = (m.commas, m.newlines | m.quotes);
        if stops != 0 {
            let s = stops.trailing_zeros();
            let at = base + s as usize;
            if data[at] == b'"' {
                return Err(at);
            }
            commas &= (1 << s) - 1;
            while commas != 0 {
                push!(base + commas.trailing_zeros() as usize);
                commas &= commas - 1;
            }
            finish!(at);
        }
        while commas != 0 {
            push!(base + commas.trailing_zeros() as usize);
            commas &= commas - 1;
        }
        base += 16;
    }
    for (i, &b) in data.iter().enumerate().skip(base) {
        match b {
            b',' => push!(i),
            b'"' => return Err(i),
            b'\n' => finish!(i),
            _ => {}
        }
    }
    finish!(data.len())
}

/// Bit masks of the 16 bytes of `data` at some offset (one SSE2 compare each; what a caller does not use is
/// not computed once inlined). The line splitter here, the fast path and the block cutter all read bytes so.
#[cfg(target_arch = "x86_64")]
pub(super) struct Masks {
    pub commas: u32,
    pub quotes: u32,
    pub newlines: u32,
    /// Bytes >= 0x80 (not ASCII).
    pub high: u32,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn masks16(data: &[u8], at: usize) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    assert!(at + 16 <= data.len());
    // SAFETY: SSE2 is part of x86_64, and the 16 bytes at `at` are inside `data` (asserted).
    unsafe {
        let v = _mm_loadu_si128(data.as_ptr().add(at) as *const __m128i);
        let hit = |b: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8))) as u32;
        Masks {
            commas: hit(b','),
            quotes: hit(b'"'),
            newlines: hit(b'\n'),
            high: _mm_movemask_epi8(v) as u32,
        }
    }
}

/// Splits an unquoted line on commas into `items` (the first `MAX_FIELDS` fields); returns the field count.
/// Eight bytes at a time (SWAR): a byte-at-a-time split was a fifth of the whole pipeline's time.
#[inline]
fn split_fields<'a>(line: &'a [u8], items: &mut [&'a [u8]; MAX_FIELDS]) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const COMMAS: u64 = 0x2c2c_2c2c_2c2c_2c2c;
    let (mut n, mut field) = (0, 0);
    let mut push = |end: usize, n: &mut usize| {
        if *n < MAX_FIELDS {
            items[*n] = &line[field..end];
        }
        *n += 1;
        field = end + 1;
    };
    let mut base = 0;
    while base + 8 <= line.len() {
        let word: [u8; 8] = line[base..base + 8].try_into().expect("8 bytes");
        // A byte equal to ',' becomes 0 after the xor; this sets the top bit of exactly those bytes (no
        // false positives, unlike the shorter `(x - 0x01..) & !x` trick).
        let x = u64::from_le_bytes(word) ^ COMMAS;
        let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
        while hits != 0 {
            push(base + (hits.trailing_zeros() / 8) as usize, &mut n);
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in line.iter().enumerate().skip(base) {
        if b == b',' {
            push(i, &mut n);
        }
    }
    push(line.len(), &mut n);
    n
}

/// The common quoted record: only its last field is quoted (`...,"a, ""b""\nc"` then the line end). The
/// fields before the quote are split on commas and the quoted field is returned as it is written, quotes
/// doubled (the checks need its bytes, not its unescaped text). Anything else: None, and csv-core reads it.
#[inline(never)]
fn quoted_last_field(
    data: &[u8],
    start: usize,
    quote: usize,
) -> Option<(usize, [&[u8]; MAX_FIELDS], usize)> {
    if quote == start || data[quote - 1] != b',' {
        return None;
    }
    let (close, _, _) = closing_quote(data, quote + 1)?;
    let after = &data[close + 1..];
    let end = if after.starts_with(b"\n") {
        close + 2
    } else if after.starts_with(b"\r\n") {
        close + 3
    } else if after.is_empty() {
        close + 1
    } else {
        return None;
    };
    let mut items: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
    let mut n = split_fields(&data[start..quote - 1], &mut items);
    if n < MAX_FIELDS {
        items[n] = &data[quote + 1..close];
    }
    n += 1;
    Some((end, items, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of a messy text, read by this reader and by the csv crate alone: the same fields.
    #[test]
    fn agrees_with_the_csv_crate() {
        let text = b"a,b,c\r\n1,\"x, y\",3\n\n\"multi\nline\",\"say \"\"hi\"\"\",\n4,5\r\n,,,\nlast,\"open";
        let mut mine = Vec::new();
        let mut r = Records::new(text, 0);
        while let Some(rec) = r.next_record() {
            mine.push(rec.fields.iter().map(|f| f.to_vec()).collect::<Vec<_>>());
        }
        let theirs: Vec<Vec<Vec<u8>>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&text[..])
            .byte_records()
            .map(|r| r.unwrap().iter().map(|f| f.to_vec()).collect())
            .collect();
        assert_eq!(mine, theirs);
        assert_eq!(mine.len(), 6);
    }

    /// A quoted last field takes the fast path: split before it, the field as written (quotes still doubled).
    #[test]
    fn one_pass_line_scan_agrees_with_memchr_and_split() {
        // Every start offset of a mix of short and long lines, quotes, CRLFs and no final newline, so that
        // both the 16-byte loop and the byte-at-a-time tail see every case.
        let data: &[u8] = b"1,22,333,4444,55555,666666,7777777,88888888,999999999,\r\n,,\n\
            a,b\"c,d\nlong line without any comma at all in it here\r\n\"q\",x\n\r\r\n\
            x,y,z,0123456789abcdef0123456789abcdef,,,,,,,,,,,,,,,,tail";
        for start in 0..data.len() {
            let (mut a, mut b) = ([&b""[..]; MAX_FIELDS], [&b""[..]; MAX_FIELDS]);
            let got = unquoted_line(data, start, &mut a);
            let want = scalar_line(data, start, &mut b);
            assert_eq!(got, want, "start {start}");
            if let Ok((_, n)) = got {
                assert_eq!(
                    a[..n.min(MAX_FIELDS)],
                    b[..n.min(MAX_FIELDS)],
                    "start {start}"
                );
            }
        }
    }

    #[test]
    fn split_fields_matches_a_plain_split() {
        let lines: [&[u8]; 9] = [
            b"",
            b",",
            b"a,b,c",
            b"1,60029,715,4,3.00,0,USD,2024-06-20T10:29:56+01:00,delivered,",
            b",,,,,,,,,,,,,,,,,,",
            b"abcdefgh,ijklmnop,",
            b"-,\x01,\x2d,\xac,\x2c\x2c",
            b"no commas here at all, one",
            b"\xff\xfe,\x00,\x7f\x80",
        ];
        for line in lines {
            let mut items = [&b""[..]; MAX_FIELDS];
            let n = split_fields(line, &mut items);
            let want: Vec<&[u8]> = line.split(|&b| b == b',').collect();
            assert_eq!(n, want.len(), "{line:?}");
            assert_eq!(
                &items[..n.min(MAX_FIELDS)],
                &want[..n.min(MAX_FIELDS)],
                "{line:?}"
            );
        }
    }

    #[test]
    fn quoted_last_field_fast_path() {
        let text = b"1,2,\"a, \"\"b\"\"\nc\"\r\n3,\"x\"y\",z\n";
        let mut r = Records::new(text, 0);
        let rec = r.next_record().unwrap();
        let fields: Vec<&[u8]> = rec.fields.iter().collect();
        assert_eq!(fields, vec![&b"1"[..], b"2", b"a, \"\"b\"\"\nc"]);
        assert_eq!((rec.start, rec.end), (0, 18));
        // A quoted field followed by more text is not the fast case: csv-core reads it.
        let rec = r.next_record().unwrap();
        let fields: Vec<&[u8]> = rec.fields.iter().collect();
        assert_eq!(fields, vec![&b"3"[..], b"xy\"", b"z"]);
        assert!(rec.last);
    }

    #[test]
    fn positions_and_last() {
        let text = b"h\n1,2\r\n\"a\nb\",c\n3";
        let mut r = Records::new(text, 0);
        let mut got = Vec::new();
        while let Some(rec) = r.next_record() {
            got.push((rec.start, rec.last, rec.fields.len()));
        }
        assert_eq!(
            got,
            vec![(0, false, 1), (2, false, 2), (7, false, 2), (15, true, 1)]
        );
    }
}
