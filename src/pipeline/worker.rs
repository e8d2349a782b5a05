//! The workers' stage: one block of a fact file -> its valid records (joined, priced, counted into the worker's
//! partial totals) and its rejects, with the line numbers and offsets they are reported at.

use std::path::Path;

use super::dims::Dimensions;
use super::fast::{self, Clean, Fast, FxTable};
use super::input::Block;
use super::quotes;
use super::records::{Fields, Records};
use super::rules::{self, RejectKind};
use super::totals::{Customers, Partial, Valid};
use super::RAW_LIMIT;
use crate::generate::scenario::ORDER_COLUMNS;
use crate::{Error, Result};

#[derive(Debug)]
pub(super) struct Reject {
    pub offset: u64,
    pub line: u64,
    pub kind: RejectKind,
    pub column: &'static str,
    pub raw: Vec<u8>,
}

/// What a worker makes of a block.
#[derive(Debug, Default)]
pub(super) struct Output {
    pub valid: Vec<Valid>,
    pub rejects: Vec<Reject>,
    pub newlines: u64,
    pub rows: u64,
    /// Where the block's last record starts when it is still inside a quoted field at the block's end (not the
    /// file's): the reader's guessed cut fell inside that field. Nothing from there on is counted.
    pub unfinished: Option<usize>,
}

/// Rows read by the fast path before their joins and counts: the customers' counters they will touch are
/// prefetched meanwhile, so that those cache misses overlap.
const BATCH: usize = 32;

/// Parses, validates and counts one block (see `totals`). Errors only for a file whose header is not the
/// expected one.
#[allow(clippy::too_many_arguments)]
pub(super) fn process(
    block: &Block,
    path: &Path,
    dims: &Dimensions,
    fx: &FxTable,
    out: &mut Output,
    partial: &mut Partial,
    customers: &Customers,
) -> Result<()> {
    out.valid.clear();
    out.rejects.clear();
    out.rows = 0;
    out.unfinished = None;
    let data = block.bytes();
    let base = if block.first && data.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let mut records = Records::new(data, base);
    if block.first {
        if let Some(header) = records.next_record() {
            if header
                .fields
                .iter()
                .ne(ORDER_COLUMNS.iter().map(|c| c.as_bytes()))
            {
                return Err(Error::BadInput {
                    path: path.to_path_buf(),
                    line: 1,
                    offset: base as u64,
                    message: format!("expected the header {}", ORDER_COLUMNS.join(",")),
                });
            }
        }
    }
    let mut pos = records.pos();
    // Lines are counted as the records go by (every `\n` is in a record or a skipped blank line).
    out.newlines = memchr::memchr_iter(b'\n', &data[..pos]).count() as u64;
    // A file that does not end with a newline has a last record that may be cut short.
    let unterminated_file = block.last && !data.ends_with(b"\n");
    let mut lines = LineCounter::default();
    let mut batch = [Fast::default(); BATCH];
    let mut at = [0; BATCH];
    while pos < data.len() {
        let mut n = 0;
        while n < BATCH {
            ahead(data, pos);
            let Some(f) = fast::record(data, pos, fx) else {
                break;
            };
            customers.prefetch(f.clean.customer_id);
            batch[n] = f;
            n += 1;
            pos = f.next;
            out.newlines += f.newlines as u64;
            if pos >= data.len() {
                break;
            }
        }
        // Joins and money (the customers' lines are in cache by now), then the counts (their lines asked for
        // meanwhile).
        let (first, mut m) = (out.valid.len(), 0);
        for f in &batch[..n] {
            out.rows += 1;
            match finish(&f.clean, dims, customers) {
                Ok(v) => {
                    at[m] = partial.prepare(&v);
                    m += 1;
                    out.valid.push(v);
                }
                Err((kind, column)) => {
                    lines.reject(out, data, f.start, f.end, kind, column);
                }
            }
        }
        for (v, &at) in out.valid[first..].iter().zip(&at[..m]) {
            partial.add_prepared(v, at, customers);
        }
        if n == BATCH || pos >= data.len() {
            continue;
        }
        // A record the fast path does not take: the general reader and the rules in order.
        records.seek(pos);
        let Some(rec) = records.next_record() else {
            break;
        };
        let (start, end) = (rec.start, rec.end);
        let raw = &data[start..end];
        if rec.last && !block.last && quotes::ends_in_quotes(raw) {
            out.unfinished = Some(start);
            break;
        }
        out.rows += 1;
        let tail = rec.last && block.last;
        let result = check(&rec.fields, raw, tail, tail && unterminated_file, dims)
            .and_then(|c| finish(&c, dims, customers));
        pos = records.pos();
        out.newlines += memchr::memchr_iter(b'\n', &data[start..pos]).count() as u64;
        match result {
            Ok(v) => {
                partial.add(&v, customers);
                out.valid.push(v);
            }
            Err((kind, column)) => lines.reject(out, data, start, end, kind, column),
        }
    }
    debug_assert_eq!(
        out.newlines,
        memchr::memchr_iter(b'\n', &data[..out.unfinished.unwrap_or(data.len())]).count() as u64
    );
    Ok(())
}

/// How far ahead: 1 KiB to 8 KiB all gained about 5% of the run (1 GB, 2 cores), 4 KiB the most.
const AHEAD: usize = 4096;

/// Asks for the block's bytes a little ahead of the reader: the worker is the first to read them (the reader
/// only maps them), and the hardware's own prefetching stops at every 4 KiB page.
#[inline(always)]
fn ahead(data: &[u8], pos: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = data.get(pos + AHEAD) {
        // SAFETY: a prefetch is only a hint; the pointer is to a live byte.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(b as *const u8 as *const i8);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, pos);
}

/// Line numbers of rejects within a block, counted only up to each reject (rejects are rare).
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: u64,
}

impl LineCounter {
    fn reject(
        &mut self,
        out: &mut Output,
        data: &[u8],
        start: usize,
        end: usize,
        kind: RejectKind,
        column: &'static str,
    ) {
        self.line += memchr::memchr_iter(b'\n', &data[self.pos..start]).count() as u64;
        self.pos = start;
        let raw = &data[start..end];
        let mut shown = raw.strip_suffix(b"\n").unwrap_or(raw);
        shown = shown.strip_suffix(b"\r").unwrap_or(shown);
        out.rejects.push(Reject {
            offset: start as u64,
            line: self.line,
            kind,
            column,
            raw: shown[..shown.len().min(RAW_LIMIT)].to_vec(),
        });
    }
}

/// The exercise's rules 1 to 9 for one fact record, in order; the first that fails names the reject kind.
#[inline]
pub(super) fn check(
    rec: &Fields<'_>,
    raw: &[u8],
    tail: bool,
    cut_short: bool,
    dims: &Dimensions,
) -> std::result::Result<Clean, (RejectKind, &'static str)> {
    use RejectKind::*;
    if tail {
        // End of file inside a quoted field (quotes read as csv-core reads them).
        if quotes::ends_in_quotes(raw) {
            return Err((UnterminatedQuote, ""));
        }
        if cut_short && rec.len() != 10 {
            return Err((TruncatedRow, ""));
        }
    }
    if rec.len() != 10 {
        return Err((FieldCount, ""));
    }
    // Most records are ASCII: one fast scan of the raw bytes spares a UTF-8 check per field.
    // Valid UTF-8 as a whole means every field is (they are cut at ASCII commas and quotes), so the
    // per-field check only runs to name the column of a bad record.
    if !raw.is_ascii() && std::str::from_utf8(raw).is_err() {
        if let Some(i) = rec.iter().position(|f| std::str::from_utf8(f).is_err()) {
            return Err((InvalidUtf8, ORDER_COLUMNS[i]));
        }
    }
    let num = |i: usize| rules::parse_uint(&rec[i]).ok_or((BadNumber, ORDER_COLUMNS[i]));
    let order_id = num(0)?;
    let customer_id = num(1)?;
    let product_id = num(2)?;
    let quantity = rules::parse_quantity(&rec[3]).ok_or((BadNumber, "quantity"))?;
    let price_cents = rules::parse_price_cents(&rec[4]).ok_or((BadNumber, "unit_price"))?;
    let discount_bp = rules::parse_discount_bp(&rec[5]).ok_or((BadNumber, "discount_pct"))?;
    if quantity <= 0 {
        return Err((BadQuantity, "quantity"));
    }
    let day = rules::parse_ts_utc_day(&rec[7]).ok_or((BadTimestamp, "order_ts"))?;
    let status = rules::parse_status(&rec[8]).ok_or((UnknownStatus, "status"))?;
    let usd_per_unit_micros = dims
        .fx_micros(&rec[6])
        .ok_or((UnknownCurrency, "currency"))?;
    Ok(Clean {
        order_id,
        customer_id,
        product_id,
        quantity: quantity as u64,
        price_cents,
        discount_bp,
        usd_per_unit_micros,
        day: day as i32,
        status,
    })
}

/// Rules 10 and 11 (the joins) and the money, for a record that passed the others.
#[inline(always)]
fn finish(
    c: &Clean,
    dims: &Dimensions,
    customers: &Customers,
) -> std::result::Result<Valid, (RejectKind, &'static str)> {
    use RejectKind::*;
    let (customer, country) = customers
        .lookup(c.customer_id)
        .ok_or((OrphanCustomer, "customer_id"))?;
    let (_, category) = dims
        .products
        .get(c.product_id)
        .ok_or((OrphanProduct, "product_id"))?;
    let gross = c
        .price_cents
        .checked_mul(c.quantity)
        .ok_or((BadNumber, "unit_price"))?;
    let usd_cents = rules::to_usd_cents(
        rules::apply_discount(gross, c.discount_bp),
        c.usd_per_unit_micros,
    )
    .ok_or((BadNumber, "unit_price"))?;
    Ok(Valid {
        order_id: c.order_id,
        usd_cents,
        day: c.day,
        customer,
        units: c.quantity,
        country,
        category,
        status: c.status,
    })
}

/// The error for a worker that panicked on a block (a bug): the file, where the block starts, the message.
pub(super) fn internal(path: &Path, block: &Block, panic: Box<dyn std::any::Any + Send>) -> Error {
    Error::from_panic(
        format_args!("{}: in the block at byte {}", path.display(), block.offset),
        &*panic,
    )
}
