//! The `orders` scenario: every value is a pure function of (seed, table, row index), so any range of rows can
//! be rendered alone, in any order, on any thread, and the bytes never depend on the thread count.
//!
//! Randomness: each row gets its own PCG stream seeded from a hash of (seed, stream id, row index); skipping
//! to row `r` costs one hash. Foreign keys and derived values (a customer's country, a product's price) are
//! pure functions of the key, so no row looks anything up.

use std::ops::Range;

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::dirt::DirtKind;
use super::text::*;

pub use crate::schema::{CUSTOMER_COLUMNS, FX_COLUMNS, ORDER_COLUMNS, PRODUCT_COLUMNS};

/// Days of sign-up history before the order date range.
const SIGNUP_HISTORY_DAYS: i64 = 1095;

// Stream ids: each kind of decision draws from its own stream so that changing one never shifts another.
const S_ORDER: u64 = 1;
const S_DIRT: u64 = 2;
const S_DIRT_KIND: u64 = 3;
const S_DIRT_DETAIL: u64 = 4;
const S_CUSTOMER: u64 = 5;
const S_PRODUCT: u64 = 6;
const S_COUNTRY: u64 = 7;
const S_FILE_BOM: u64 = 8;
const S_FILE_CRLF: u64 = 9;
const S_FILE_TAIL: u64 = 10;
const S_CUSTOMER_DIRT: u64 = 11;
const S_DUP: u64 = 12;
const S_PRICE: u64 = 13;

/// The dimension tables and the fact table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Orders,
    Customers,
    Products,
    FxRates,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Orders => "orders",
            Table::Customers => "customers",
            Table::Products => "products",
            Table::FxRates => "fx_rates",
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Orders => &ORDER_COLUMNS,
            Table::Customers => &CUSTOMER_COLUMNS,
            Table::Products => &PRODUCT_COLUMNS,
            Table::FxRates => &FX_COLUMNS,
        }
    }
}

/// A defect found in a chunk, with its position relative to the chunk's start.
#[derive(Debug, Clone)]
pub struct ChunkDefect {
    /// Byte offset of the record's first byte, from the chunk's start (uncompressed).
    pub offset: u64,
    /// Newlines in the chunk before the record.
    pub line: u64,
    pub kind: DirtKind,
    pub column: &'static str,
    pub detail: String,
}

/// A rendered chunk of one file. Buffers are recycled between chunks.
#[derive(Debug, Default)]
pub struct Chunk {
    pub data: Vec<u8>,
    pub lines: u64,
    pub rows: u64,
    pub defects: Vec<ChunkDefect>,
    /// The compressed form of `data` when the output is compressed.
    pub packed: Vec<u8>,
}

impl Chunk {
    pub fn clear(&mut self) {
        self.data.clear();
        self.packed.clear();
        self.defects.clear();
        self.lines = 0;
        self.rows = 0;
    }

    /// A dimension table's header line.
    fn header(&mut self, columns: &[&str]) {
        self.data.extend_from_slice(columns.join(",").as_bytes());
        self.data.push(b'\n');
        self.lines += 1;
    }

    fn defect(&mut self, kind: DirtKind, column: &'static str, detail: String) {
        self.defects.push(ChunkDefect {
            offset: self.data.len() as u64,
            line: self.lines,
            kind,
            column,
            detail,
        });
    }
}

/// Which kinds are on and how often.
#[derive(Debug, Clone)]
pub struct DirtConfig {
    /// A row is dirty when its hash is below this.
    row_threshold: u64,
    /// A file gets a file-level kind when its hash is below this.
    file_threshold: u64,
    row_kinds: Vec<DirtKind>,
    tail_kinds: Vec<DirtKind>,
    bom: bool,
    crlf: bool,
    country_noise: bool,
}

impl DirtConfig {
    /// Rows are dirty with probability `rate`; each file-level kind hits a file with probability
    /// `min(0.5, 100 * rate)`, so that a small dataset at the default rate still shows some.
    pub fn new(rate: f64, kinds: &[DirtKind]) -> Self {
        let threshold = |p: f64| {
            if p <= 0.0 {
                0
            } else if p >= 1.0 {
                u64::MAX
            } else {
                (p * 18_446_744_073_709_551_616.0) as u64
            }
        };
        let of_scope = |scope| {
            kinds
                .iter()
                .copied()
                .filter(|k| k.scope() == scope)
                .collect::<Vec<_>>()
        };
        use super::dirt::Scope;
        DirtConfig {
            row_threshold: threshold(rate),
            file_threshold: threshold((rate * 100.0).min(0.5)),
            row_kinds: of_scope(Scope::Row),
            tail_kinds: of_scope(Scope::FileTail),
            bom: kinds.contains(&DirtKind::Bom),
            crlf: kinds.contains(&DirtKind::Crlf),
            country_noise: kinds.contains(&DirtKind::CountryNoise),
        }
    }
}

/// Everything needed to render any row of any table.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub fact_rows: u64,
    pub customers: u64,
    pub products: u64,
    pub rows_per_file: u64,
    pub dirt: DirtConfig,
    /// Formatted `YYYY-MM-DD` for every day from the sign-up history start to one day past the end.
    dates: Vec<[u8; 10]>,
    /// Index in `dates` of the first order day.
    first_order_day: i64,
    order_days: i64,
    country_cdf: Vec<u32>,
    status_cdf: Vec<u32>,
    customer_mul: u64,
    product_mul: u64,
}

/// The fields of one order before rendering.
#[derive(Debug, Clone)]
struct Order {
    id: u64,
    customer: u64,
    product: u64,
    quantity: u32,
    price_cents: u64,
    discount: &'static str,
    currency: &'static str,
    /// Local date index into `dates`, and seconds into that local day.
    day: i64,
    secs: u32,
    offset: &'static str,
    status: &'static str,
    notes: &'static str,
}

fn mix64(mut z: u64) -> u64 {
    // splitmix64's finaliser: a bijection with good avalanche, enough to decorrelate (seed, stream, row).
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash3(seed: u64, stream: u64, i: u64) -> u64 {
    mix64(
        seed ^ mix64(
            stream.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ mix64(i.wrapping_add(0x632b_e59b_d9b4_e019)),
        ),
    )
}

fn rng_for(seed: u64, stream: u64, i: u64) -> Pcg64Mcg {
    let hi = hash3(seed, stream, i);
    let lo = hash3(seed ^ 0x5851_f42d_4c95_7f2d, stream, i);
    Pcg64Mcg::new(((hi as u128) << 64) | lo as u128)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A multiplier coprime with `n`, so that `x -> x * m mod n` permutes `0..n` (it scatters the popular keys).
fn coprime_multiplier(n: u64) -> u64 {
    if n <= 2 {
        return 1;
    }
    let mut m = (n as f64 * 0.618_033_988_75) as u64 | 1;
    while gcd(m, n) != 1 {
        m += 2;
    }
    m
}

fn cdf(weights: impl Iterator<Item = u32>) -> Vec<u32> {
    weights
        .scan(0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

fn pick(cdf: &[u32], rng: &mut Pcg64Mcg) -> usize {
    let x = rng.random_range(0..*cdf.last().unwrap());
    cdf.partition_point(|&c| c <= x)
}

/// Zipf-like (exponent about 1) draw in `1..=n`: a uniform power-of-two bucket, then uniform inside it, so key
/// `k` is drawn with probability roughly proportional to `1/k`. Integer-only, hence identical on every platform.
fn zipf(rng: &mut Pcg64Mcg, n: u64) -> u64 {
    let bits = 63 - n.leading_zeros() as u64;
    let k = rng.random_range(0..=bits);
    let lo = 1u64 << k;
    let hi = ((lo << 1) - 1).min(n);
    rng.random_range(lo..=hi)
}

fn push_int(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn push_cents(out: &mut Vec<u8>, cents: u64) {
    push_int(out, cents / 100);
    let c = (cents % 100) as u8;
    out.extend_from_slice(&[b'.', b'0' + c / 10, b'0' + c % 10]);
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
}

/// Writes a CSV field, quoting it when it holds a delimiter, a quote or a line break.
fn push_field(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

impl Scenario {
    pub fn new(
        seed: u64,
        fact_rows: u64,
        rows_per_file: u64,
        start: NaiveDate,
        end: NaiveDate,
        dirt: DirtConfig,
    ) -> Self {
        let (customers, products) = Self::dimension_sizes(fact_rows);
        let first = start - chrono::Duration::days(SIGNUP_HISTORY_DAYS);
        let order_days = (end - start).num_days() + 1;
        let total_days = SIGNUP_HISTORY_DAYS + order_days + 1;
        let dates = (0..total_days)
            .map(|d| {
                let day = first + chrono::Duration::days(d);
                let mut b = [0u8; 10];
                let text = format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
                b.copy_from_slice(text.as_bytes());
                b
            })
            .collect();
        Scenario {
            seed,
            fact_rows,
            customers,
            products,
            rows_per_file: rows_per_file.max(1),
            dirt,
            dates,
            first_order_day: SIGNUP_HISTORY_DAYS,
            order_days,
            country_cdf: cdf(COUNTRIES.iter().map(|c| c.2)),
            status_cdf: cdf(STATUSES.iter().map(|s| s.1)),
            customer_mul: coprime_multiplier(customers),
            product_mul: coprime_multiplier(products),
        }
    }

    /// Dimension sizes grow with the fact table: one customer per 50 orders (at least 1,000) and one product
    /// per 5,000 orders (between 100 and 100,000).
    pub fn dimension_sizes(fact_rows: u64) -> (u64, u64) {
        (
            (fact_rows / 50).max(1_000),
            (fact_rows / 5_000).clamp(100, 100_000),
        )
    }

    /// Number of fact files.
    pub fn fact_files(&self) -> u64 {
        self.fact_rows.div_ceil(self.rows_per_file).max(1)
    }

    /// Rows of fact file `f`.
    pub fn file_rows(&self, f: u64) -> Range<u64> {
        let start = f * self.rows_per_file;
        start..(start + self.rows_per_file).min(self.fact_rows)
    }

    fn file_hit(&self, stream: u64, f: u64) -> bool {
        hash3(self.seed, stream, f) < self.dirt.file_threshold
    }

    pub fn file_bom(&self, f: u64) -> bool {
        self.dirt.bom && self.file_hit(S_FILE_BOM, f)
    }

    pub fn file_crlf(&self, f: u64) -> bool {
        self.dirt.crlf && self.file_hit(S_FILE_CRLF, f)
    }

    /// The defect of fact file `f`'s last record, if any.
    pub fn file_tail(&self, f: u64) -> Option<DirtKind> {
        if self.dirt.tail_kinds.is_empty() || !self.file_hit(S_FILE_TAIL, f) {
            return None;
        }
        let h = hash3(self.seed, S_FILE_TAIL ^ 0xff, f);
        Some(self.dirt.tail_kinds[(h % self.dirt.tail_kinds.len() as u64) as usize])
    }

    fn is_tail_row(&self, r: u64) -> bool {
        let f = r / self.rows_per_file;
        r + 1 == self.file_rows(f).end && self.file_tail(f).is_some()
    }

    /// The row-level defect of fact row `r`, if any.
    pub fn row_dirt(&self, r: u64) -> Option<DirtKind> {
        let kinds = &self.dirt.row_kinds;
        if kinds.is_empty() || hash3(self.seed, S_DIRT, r) >= self.dirt.row_threshold {
            return None;
        }
        Some(kinds[(hash3(self.seed, S_DIRT_KIND, r) % kinds.len() as u64) as usize])
    }

    /// The earlier row a duplicate at row `r` copies: a clean row, usually nearby, sometimes anywhere earlier
    /// (so duplicates cross files). None when no clean row is found within a short walk back.
    fn dup_source(&self, r: u64) -> Option<u64> {
        if r == 0 {
            return None;
        }
        let h = hash3(self.seed, S_DUP, r);
        let window = if h % 4 == 0 { r } else { r.min(100_000) };
        let mut j = r - 1 - (h >> 8) % window;
        for _ in 0..64 {
            if self.row_dirt(j).is_none() && !self.is_tail_row(j) {
                return Some(j);
            }
            if j == 0 {
                break;
            }
            j -= 1;
        }
        None
    }

    pub fn country_of(&self, customer: u64) -> usize {
        let mut rng = rng_for(self.seed, S_COUNTRY, customer);
        pick(&self.country_cdf, &mut rng)
    }

    /// A product's list price in USD cents: log-uniform from $2 to $2,000, ending in .99, .49 or .00.
    pub fn product_price_cents(&self, product: u64) -> u64 {
        let mut rng = rng_for(self.seed, S_PRICE, product);
        let dollars = zipf(&mut rng, 1999) + 1;
        let cents = [99, 49, 0][rng.random_range(0..3usize)];
        if cents == 0 {
            dollars * 100
        } else {
            (dollars - 1) * 100 + cents
        }
    }

    fn order(&self, r: u64) -> Order {
        let mut rng = rng_for(self.seed, S_ORDER, r);
        let customer =
            (zipf(&mut rng, self.customers) - 1) * self.customer_mul % self.customers + 1;
        let product = (zipf(&mut rng, self.products) - 1) * self.product_mul % self.products + 1;
        let quantity = match rng.random_range(0..100u32) {
            0..40 => 1,
            40..60 => 2,
            60..72 => 3,
            72..85 => rng.random_range(4..=5),
            85..95 => rng.random_range(6..=10),
            _ => rng.random_range(11..=20),
        };
        let currency = if rng.random_range(0..10u32) == 0 {
            "USD"
        } else {
            COUNTRIES[self.country_of(customer)].1
        };
        let rate = FX_RATES.iter().find(|f| f.0 == currency).unwrap().1;
        // Local list price: USD price converted at the fixed rate, rounded half up to the cent.
        let price_cents = (self.product_price_cents(product) * 1_000_000 + rate / 2) / rate;
        let discount = DISCOUNTS[rng.random_range(0..DISCOUNTS.len())];
        let utc = rng.random_range(0..self.order_days as u64 * 86_400) as i64;
        let (offset_min, offset) = OFFSETS[rng.random_range(0..OFFSETS.len())];
        let local = utc + offset_min * 60;
        let status = STATUSES[pick(&self.status_cdf, &mut rng)].0;
        let notes = if rng.random_range(0..100u32) < 55 {
            ""
        } else {
            NOTES[rng.random_range(0..NOTES.len())]
        };
        Order {
            id: r + 1,
            customer,
            product,
            quantity,
            price_cents,
            discount,
            currency,
            day: self.first_order_day + local.div_euclid(86_400),
            secs: local.rem_euclid(86_400) as u32,
            offset,
            status,
            notes,
        }
    }

    fn push_ts(&self, out: &mut Vec<u8>, o: &Order) {
        out.extend_from_slice(&self.dates[o.day as usize]);
        out.push(b'T');
        push2(out, o.secs / 3600);
        out.push(b':');
        push2(out, o.secs / 60 % 60);
        out.push(b':');
        push2(out, o.secs % 60);
        out.extend_from_slice(o.offset.as_bytes());
    }

    /// The clean record, written straight into the buffer (the hot path: no allocation).
    fn push_order(&self, out: &mut Vec<u8>, o: &Order, eol: &[u8]) {
        push_int(out, o.id);
        out.push(b',');
        push_int(out, o.customer);
        out.push(b',');
        push_int(out, o.product);
        out.push(b',');
        push_int(out, o.quantity as u64);
        out.push(b',');
        push_cents(out, o.price_cents);
        out.push(b',');
        out.extend_from_slice(o.discount.as_bytes());
        out.push(b',');
        out.extend_from_slice(o.currency.as_bytes());
        out.push(b',');
        self.push_ts(out, o);
        out.push(b',');
        out.extend_from_slice(o.status.as_bytes());
        out.push(b',');
        out.extend_from_slice(o.notes.as_bytes());
        out.extend_from_slice(eol);
    }

    /// The record's fields as separate byte strings, for the (rare) rows that get a defect.
    fn order_fields(&self, o: &Order) -> Vec<Vec<u8>> {
        let mut buf = Vec::with_capacity(128);
        self.push_order(&mut buf, o, b"");
        // The notes field is last and may hold commas inside quotes: split the first nine fields only.
        let mut fields: Vec<Vec<u8>> = buf.splitn(10, |&b| b == b',').map(|f| f.to_vec()).collect();
        debug_assert_eq!(fields.len(), 10);
        fields.truncate(9);
        fields.push(o.notes.as_bytes().to_vec());
        fields
    }

    /// Renders fact rows `rows` of file `f` into `out`. `first` adds the BOM and header.
    pub fn render_orders(&self, f: u64, rows: Range<u64>, first: bool, out: &mut Chunk) {
        let eol: &[u8] = if self.file_crlf(f) { b"\r\n" } else { b"\n" };
        if first {
            if self.file_bom(f) {
                out.data.extend_from_slice("\u{feff}".as_bytes());
            }
            out.data
                .extend_from_slice(ORDER_COLUMNS.join(",").as_bytes());
            out.data.extend_from_slice(eol);
            out.lines += 1;
        }
        let file_end = self.file_rows(f).end;
        let tail = self.file_tail(f);
        for r in rows {
            out.rows += 1;
            if r + 1 == file_end {
                if let Some(kind) = tail {
                    self.render_tail(out, r, kind, eol);
                    continue;
                }
            }
            match self.row_dirt(r) {
                None => {
                    let o = self.order(r);
                    self.push_order(&mut out.data, &o, eol);
                    out.lines += 1 + o.notes.bytes().filter(|&b| b == b'\n').count() as u64;
                }
                Some(kind) => self.render_dirty(out, r, kind, eol),
            }
        }
    }

    fn finish_fields(out: &mut Chunk, fields: &[Vec<u8>], eol: &[u8]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.data.push(b',');
            }
            out.data.extend_from_slice(f);
            out.lines += f.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        out.data.extend_from_slice(eol);
        out.lines += eol.contains(&b'\n') as u64;
    }

    fn render_tail(&self, out: &mut Chunk, r: u64, kind: DirtKind, eol: &[u8]) {
        let o = self.order(r);
        let mut fields = self.order_fields(&o);
        let mut rng = rng_for(self.seed, S_DIRT_DETAIL, r);
        match kind {
            DirtKind::TruncatedRow => {
                // Cut inside the first four fields: the record ends early with no newline.
                let head = fields[..4].join(&b',');
                let keep = rng.random_range(1..head.len());
                out.defect(
                    kind,
                    "",
                    format!("order_id {}: record cut after {keep} bytes", o.id),
                );
                out.data.extend_from_slice(&head[..keep]);
            }
            _ => {
                out.defect(
                    kind,
                    "notes",
                    format!("order_id {}: quote opened in notes never closes", o.id),
                );
                fields[9] = b"\"unfinished note, the export stopped here".to_vec();
                Self::finish_fields(out, &fields, eol);
            }
        }
    }

    fn render_dirty(&self, out: &mut Chunk, r: u64, kind: DirtKind, eol: &[u8]) {
        let mut rng = rng_for(self.seed, S_DIRT_DETAIL, r);
        let mut o = self.order(r);
        if kind == DirtKind::Duplicate {
            let Some(j) = self.dup_source(r) else {
                // No clean earlier row to copy: the row stays clean and is not recorded.
                self.push_order(&mut out.data, &o, eol);
                out.lines += 1 + o.notes.bytes().filter(|&b| b == b'\n').count() as u64;
                return;
            };
            let src = self.order(j);
            out.defect(
                kind,
                "order_id",
                format!("repeats order_id {} (row {} of the dataset)", src.id, j + 1),
            );
            self.push_order(&mut out.data, &src, eol);
            out.lines += 1 + src.notes.bytes().filter(|&b| b == b'\n').count() as u64;
            return;
        }
        match kind {
            DirtKind::OrphanCustomer => o.customer = self.customers + 1 + rng.random_range(0..1000),
            DirtKind::OrphanProduct => o.product = self.products + 1 + rng.random_range(0..1000),
            _ => {}
        }
        let mut fields = self.order_fields(&o);
        let (column, detail): (&'static str, String) = match kind {
            DirtKind::FieldCount => {
                if rng.random_bool(0.5) {
                    // Missing delimiter: fields k-1 and k run together (never touching notes).
                    let k = rng.random_range(1..=8usize);
                    let merged = fields.remove(k);
                    fields[k - 1].extend_from_slice(&merged);
                    (
                        ORDER_COLUMNS[k],
                        format!("missing delimiter before {}: 9 fields", ORDER_COLUMNS[k]),
                    )
                } else {
                    let k = rng.random_range(0..=8usize);
                    let extra = ["", "x", "0", "n/a"][rng.random_range(0..4usize)];
                    fields.insert(k + 1, extra.as_bytes().to_vec());
                    (
                        ORDER_COLUMNS[k],
                        format!("extra delimiter after {}: 11 fields", ORDER_COLUMNS[k]),
                    )
                }
            }
            DirtKind::BadNumber => {
                let (i, choices): (usize, &[&str]) = match rng.random_range(0..3u32) {
                    0 => (3, &["", "N/A", "3x", "two", "1.5", "+-2"]),
                    1 => (4, &["12.5.0", "twelve", "N/A", "", "$19.99", "1O.50"]),
                    _ => (5, &["ten", "%5", "", "5..0", "-"]),
                };
                let bad = choices[rng.random_range(0..choices.len())];
                fields[i] = bad.as_bytes().to_vec();
                (ORDER_COLUMNS[i], format!("'{bad}' is not a number"))
            }
            DirtKind::BadQuantity => {
                let bad = if rng.random_bool(0.5) {
                    "0".to_string()
                } else {
                    format!("-{}", o.quantity)
                };
                fields[3] = bad.clone().into_bytes();
                ("quantity", format!("quantity {bad} is not positive"))
            }
            DirtKind::BadTimestamp => {
                let date = std::str::from_utf8(&self.dates[o.day as usize]).unwrap();
                let (y, m, d) = (&date[0..4], &date[5..7], &date[8..10]);
                let hms = format!(
                    "{:02}:{:02}:{:02}",
                    o.secs / 3600,
                    o.secs / 60 % 60,
                    o.secs % 60
                );
                let bad = match rng.random_range(0..6u32) {
                    0 => format!("{y}/{m}/{d} {hms}"),
                    1 => format!("{d}/{m}/{y}"),
                    2 => format!("{y}-{m}-{d} {hms}"),
                    3 => format!("{y}-02-30T{hms}+00:00"),
                    4 => format!("{y}-{m}-{d}T25:{}+01:00", &hms[3..]),
                    _ => String::new(),
                };
                fields[7] = bad.clone().into_bytes();
                (
                    "order_ts",
                    format!("'{bad}' is not ISO-8601 with an offset"),
                )
            }
            DirtKind::UnknownStatus => {
                let bad = ["on_hold", "backordered", "unknown", "?", "", "shipped?"]
                    [rng.random_range(0..6usize)];
                fields[8] = bad.as_bytes().to_vec();
                ("status", format!("unknown status '{bad}'"))
            }
            DirtKind::OrphanCustomer => (
                "customer_id",
                format!("customer_id {} is not in customers.csv", o.customer),
            ),
            DirtKind::OrphanProduct => (
                "product_id",
                format!("product_id {} is not in products.csv", o.product),
            ),
            DirtKind::InvalidUtf8 => {
                let bad: &[u8] = [
                    &b"caf\xe9 au lait"[..],
                    b"\xff\xfe broken export",
                    b"lone \x80 continuation byte",
                    b"cut \xe2\x82 euro sign",
                    b"latin-1 Stra\xdfe",
                ][rng.random_range(0..5usize)];
                fields[9] = bad.to_vec();
                ("notes", "notes hold bytes that are not UTF-8".to_string())
            }
            DirtKind::Noise => {
                if rng.random_bool(0.5) {
                    let s = o.status;
                    let noisy = match rng.random_range(0..4u32) {
                        0 => s.to_ascii_uppercase(),
                        1 => format!(" {s}"),
                        2 => format!("{}{} ", s[..1].to_ascii_uppercase(), &s[1..]),
                        _ => format!("  {} ", s.to_ascii_uppercase()),
                    };
                    fields[8] = noisy.clone().into_bytes();
                    ("status", format!("status '{noisy}' means '{s}'"))
                } else {
                    let c = o.currency;
                    let noisy = match rng.random_range(0..3u32) {
                        0 => c.to_ascii_lowercase(),
                        1 => format!(" {c}"),
                        _ => format!("{} ", c.to_ascii_lowercase()),
                    };
                    fields[6] = noisy.clone().into_bytes();
                    ("currency", format!("currency '{noisy}' means '{c}'"))
                }
            }
            _ => unreachable!("not a row kind: {kind}"),
        };
        out.defect(kind, column, detail);
        Self::finish_fields(out, &fields, eol);
    }

    /// Renders customers (0-based rows; ids are row + 1).
    pub fn render_customers(&self, rows: Range<u64>, first: bool, out: &mut Chunk) {
        if first {
            out.header(&CUSTOMER_COLUMNS);
        }
        for r in rows {
            out.rows += 1;
            let id = r + 1;
            let mut rng = rng_for(self.seed, S_CUSTOMER, id);
            let (first_name, first_ascii) = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
            let (last_name, last_ascii) = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
            let domain = EMAIL_DOMAINS[rng.random_range(0..EMAIL_DOMAINS.len())];
            let segment = SEGMENTS[rng.random_range(0..SEGMENTS.len())];
            let signup = self.first_order_day - 1 - rng.random_range(0..SIGNUP_HISTORY_DAYS);
            let country = COUNTRIES[self.country_of(id)].0;
            let noisy = self.dirt.country_noise
                && hash3(self.seed, S_CUSTOMER_DIRT, id) < self.dirt.row_threshold;
            if noisy {
                let variant = match rng.random_range(0..4u32) {
                    0 => country.to_ascii_lowercase(),
                    1 => format!(" {country}"),
                    2 => format!("{} ", country.to_ascii_lowercase()),
                    _ => format!("{}{}", &country[..1], country[1..].to_ascii_lowercase()),
                };
                out.defect(
                    DirtKind::CountryNoise,
                    "country",
                    format!("country '{variant}' means '{country}'"),
                );
                self.push_customer(
                    out,
                    id,
                    first_name,
                    last_name,
                    first_ascii,
                    last_ascii,
                    domain,
                    &variant,
                    segment,
                    signup,
                );
            } else {
                self.push_customer(
                    out,
                    id,
                    first_name,
                    last_name,
                    first_ascii,
                    last_ascii,
                    domain,
                    country,
                    segment,
                    signup,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_customer(
        &self,
        out: &mut Chunk,
        id: u64,
        first: &str,
        last: &str,
        first_ascii: &str,
        last_ascii: &str,
        domain: &str,
        country: &str,
        segment: &str,
        signup: i64,
    ) {
        let d = &mut out.data;
        push_int(d, id);
        d.push(b',');
        let name = format!("{first} {last}");
        push_field(d, &name);
        d.push(b',');
        d.extend_from_slice(first_ascii.as_bytes());
        d.push(b'.');
        d.extend_from_slice(last_ascii.as_bytes());
        push_int(d, id);
        d.push(b'@');
        d.extend_from_slice(domain.as_bytes());
        d.push(b',');
        d.extend_from_slice(country.as_bytes());
        d.push(b',');
        d.extend_from_slice(segment.as_bytes());
        d.push(b',');
        d.extend_from_slice(&self.dates[signup as usize]);
        d.push(b'\n');
        out.lines += 1;
    }

    /// Renders products (ids are row + 1).
    pub fn render_products(&self, rows: Range<u64>, first: bool, out: &mut Chunk) {
        if first {
            out.header(&PRODUCT_COLUMNS);
        }
        for r in rows {
            out.rows += 1;
            let id = r + 1;
            let mut rng = rng_for(self.seed, S_PRODUCT, id);
            let adj = PRODUCT_ADJECTIVES[rng.random_range(0..PRODUCT_ADJECTIVES.len())];
            let noun = PRODUCT_NOUNS[rng.random_range(0..PRODUCT_NOUNS.len())];
            let model = rng.random_range(100..1000u32);
            let category = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
            let d = &mut out.data;
            push_int(d, id);
            d.push(b',');
            d.extend_from_slice(format!("{adj} {noun} X-{model}").as_bytes());
            d.push(b',');
            d.extend_from_slice(category.as_bytes());
            d.push(b',');
            push_cents(d, self.product_price_cents(id));
            d.push(b'\n');
            out.lines += 1;
        }
    }

    /// Renders the FX table (fixed: one row per currency, six decimals).
    pub fn render_fx(&self, rows: Range<u64>, first: bool, out: &mut Chunk) {
        if first {
            out.header(&FX_COLUMNS);
        }
        for r in rows {
            out.rows += 1;
            let (cur, micros) = FX_RATES[r as usize];
            out.data.extend_from_slice(
                format!("{cur},{}.{:06}\n", micros / 1_000_000, micros % 1_000_000).as_bytes(),
            );
            out.lines += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(rate: f64) -> Scenario {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        Scenario::new(
            7,
            10_000,
            2_500,
            d("2024-01-01"),
            d("2024-12-31"),
            DirtConfig::new(rate, DirtKind::ALL),
        )
    }

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let mut rng = rng_for(1, 1, 1);
        let mut low = 0;
        for _ in 0..10_000 {
            let v = zipf(&mut rng, 1000);
            assert!((1..=1000).contains(&v));
            low += (v <= 10) as u32;
        }
        // Keys 1..=10 are 1% of the keys but get about 4/10 of the draws (buckets 0..=3 of 10).
        assert!(low > 3000, "{low}");
    }

    #[test]
    fn permutation_multiplier_is_coprime() {
        for n in [1000u64, 1024, 3 * 5 * 7 * 11 * 13, 100_000] {
            let m = coprime_multiplier(n);
            assert_eq!(gcd(m, n), 1);
        }
    }

    #[test]
    fn clean_rows_are_clean_and_rows_are_pure() {
        let s = scenario(0.0);
        let mut a = Chunk::default();
        s.render_orders(0, 0..100, true, &mut a);
        assert!(a.defects.is_empty());
        let mut b = Chunk::default();
        s.render_orders(0, 50..100, false, &mut b);
        assert!(a.data.ends_with(&b.data), "a row range renders alone");
        let text = String::from_utf8(a.data).unwrap();
        assert!(text.starts_with("order_id,customer_id,"));
    }

    #[test]
    fn fx_is_fixed_point() {
        let s = scenario(0.0);
        let mut c = Chunk::default();
        s.render_fx(0..FX_RATES.len() as u64, true, &mut c);
        let text = String::from_utf8(c.data).unwrap();
        assert!(
            text.contains("\nEUR,1.085000\n") && text.contains("\nJPY,0.006700\n"),
            "{text}"
        );
    }

    #[test]
    fn dirty_rows_record_their_kind() {
        let s = scenario(0.2);
        let mut c = Chunk::default();
        s.render_orders(0, 0..2_500, true, &mut c);
        let kinds: std::collections::BTreeSet<_> = c.defects.iter().map(|d| d.kind).collect();
        for k in [
            DirtKind::FieldCount,
            DirtKind::BadNumber,
            DirtKind::Duplicate,
            DirtKind::InvalidUtf8,
            DirtKind::Noise,
        ] {
            assert!(kinds.contains(&k), "{k} missing");
        }
    }
}
