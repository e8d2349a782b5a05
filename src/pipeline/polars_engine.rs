//! `--engine polars`: the exercise spec (`exercises/etl_10gb/README.md`) as polars lazy queries, run on polars'
//! streaming engine, plus the Parquet copies of the reports that both engines write.
//!
//! Every fact column is read as a string and each reject rule is an expression; money is integer cents (`Int128`
//! while it is computed, so no intermediate can overflow); the UTC day comes from integer arithmetic on the
//! timestamp's digits. What polars' CSV reader cannot see (record positions, field counts below 10, the end of
//! a file inside a quoted field) is described in the README's section "The polars engine"; the two file-tail
//! rules are decided by a byte pre-scan here, because polars fails on an unterminated quote.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use polars::prelude::*;

use super::dims::{self, Dimensions};
use super::output::write_temp;
use super::rules::{self, RejectKind, STATUSES};
use super::{input, PipelineOptions, Summary, RAW_LIMIT, TOP_CUSTOMERS};
use crate::generate::scenario::ORDER_COLUMNS;
use crate::{Error, Result};

/// The 11th column of the scan: a record with more than 10 fields puts its 11th field here.
const EXTRA: &str = "__extra";

/// Reject codes computed by the query, in rule order; the table gives kind and column.
const CODES: [(RejectKind, &str); 24] = [
    (RejectKind::FieldCount, ""),
    (RejectKind::InvalidUtf8, "order_id"),
    (RejectKind::InvalidUtf8, "customer_id"),
    (RejectKind::InvalidUtf8, "product_id"),
    (RejectKind::InvalidUtf8, "quantity"),
    (RejectKind::InvalidUtf8, "unit_price"),
    (RejectKind::InvalidUtf8, "discount_pct"),
    (RejectKind::InvalidUtf8, "currency"),
    (RejectKind::InvalidUtf8, "order_ts"),
    (RejectKind::InvalidUtf8, "status"),
    (RejectKind::InvalidUtf8, "notes"),
    (RejectKind::BadNumber, "order_id"),
    (RejectKind::BadNumber, "customer_id"),
    (RejectKind::BadNumber, "product_id"),
    (RejectKind::BadNumber, "quantity"),
    (RejectKind::BadNumber, "unit_price"),
    (RejectKind::BadNumber, "discount_pct"),
    (RejectKind::BadQuantity, "quantity"),
    (RejectKind::BadTimestamp, "order_ts"),
    (RejectKind::UnknownStatus, "status"),
    (RejectKind::UnknownCurrency, "currency"),
    (RejectKind::OrphanCustomer, "customer_id"),
    (RejectKind::OrphanProduct, "product_id"),
    // An amount too large for 64 bits.
    (RejectKind::BadNumber, "unit_price"),
];

fn polars_err(path: &Path) -> impl Fn(PolarsError) -> Error + '_ {
    move |e| Error::Format {
        path: path.to_path_buf(),
        message: format!("polars: {e}"),
    }
}

/// What the byte pre-scan of a fact file found.
struct FileScan {
    /// Uncompressed size.
    bytes: u64,
    /// For a file whose last record is rejected here (rules 1 and 2): a temporary copy of the (decompressed)
    /// bytes before that record, which polars reads instead of the file, and the reject.
    tail: Option<(PathBuf, Reject)>,
}

/// A rejected record, as rejects.csv shows it.
struct Reject {
    file: usize,
    /// Order inside its file (polars' row index; a tail reject comes after every row).
    row: u64,
    kind: RejectKind,
    column: &'static str,
    /// Line and byte offset, known only for the file-tail rejects.
    position: Option<(u64, u64)>,
    raw: String,
}

/// Reads a fact file once without parsing it: checks the header, counts uncompressed bytes and quotes. Files
/// whose last record needs rules 1-2 (an odd number of quotes: the file ends inside a quoted field; or no final
/// newline) are read again, whole, to cut that record off, since polars errors on an unterminated quote and pads
/// short records with empty fields.
fn prescan(file: usize, path: &Path, tmp: &Path) -> Result<FileScan> {
    let mut r = input::open(path, Arc::new(AtomicU64::new(0)))?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut bytes, mut quotes, mut last) = (0u64, 0u64, None);
    let mut head = Vec::new();
    loop {
        let n = r.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if head.len() < 1 << 16 && !head.contains(&b'\n') {
            head.extend_from_slice(&chunk[..chunk.len().min(1 << 16)]);
        }
        quotes += memchr::memchr_iter(b'"', chunk).count() as u64;
        bytes += n as u64;
        last = chunk.last().copied();
    }
    check_header(path, &head)?;
    if quotes % 2 == 0 && last.is_none_or(|b| b == b'\n') {
        return Ok(FileScan { bytes, tail: None });
    }
    let mut data = Vec::with_capacity(bytes as usize);
    input::open(path, Arc::new(AtomicU64::new(0)))?
        .read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    // The last record starts after the last newline outside quotes; the header (first record) is never it.
    let Some(cut) = super::quotes::last_record_end(&data) else {
        return Ok(FileScan { bytes, tail: None });
    };
    let record = &data[cut..];
    let fields = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(record)
        .byte_records()
        .next()
        .and_then(|r| r.ok())
        .map_or(0, |r| r.len());
    let kind = if quotes % 2 == 1 {
        RejectKind::UnterminatedQuote
    } else if fields != 10 {
        RejectKind::TruncatedRow
    } else {
        // A whole record that merely lacks its final newline: polars reads it like any other.
        return Ok(FileScan { bytes, tail: None });
    };
    let line = 1 + memchr::memchr_iter(b'\n', &data[..cut]).count() as u64;
    let mut shown = record.strip_suffix(b"\n").unwrap_or(record);
    shown = shown.strip_suffix(b"\r").unwrap_or(shown);
    let reject = Reject {
        file,
        row: u64::MAX,
        kind,
        column: "",
        position: Some((line, cut as u64)),
        raw: String::from_utf8_lossy(&shown[..shown.len().min(RAW_LIMIT)]).into_owned(),
    };
    std::fs::write(tmp, &data[..cut]).map_err(|e| Error::io(tmp, e))?;
    Ok(FileScan {
        bytes,
        tail: Some((tmp.to_path_buf(), reject)),
    })
}

/// The first record must be the expected header (after a BOM), as in the csv engine.
fn check_header(path: &Path, head: &[u8]) -> Result<()> {
    if head.is_empty() {
        return Ok(());
    }
    let base = if head.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let rec = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&head[base..])
        .byte_records()
        .next()
        .and_then(|r| r.ok());
    // No record at all (blank lines) is no header to check, as in the csv engine.
    let ok = rec.is_none_or(|rec| rec.iter().eq(ORDER_COLUMNS.iter().map(|c| c.as_bytes())));
    if ok {
        Ok(())
    } else {
        Err(Error::BadInput {
            path: path.to_path_buf(),
            line: 1,
            offset: base as u64,
            message: format!("expected the header {}", ORDER_COLUMNS.join(",")),
        })
    }
}

/// Temporary copies go to `out` (named like the other temporary outputs).
fn prescan_all(files: &[PathBuf], out: &Path, threads: usize) -> Vec<Result<FileScan>> {
    let next = AtomicU64::new(0);
    let mut slots: Vec<Option<Result<FileScan>>> = files.iter().map(|_| None).collect();
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, files.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= files.len() {
                    break;
                }
                let tmp = out.join(format!(".polars-input-{i}.csv.etlkit-tmp"));
                let r = prescan(i, &files[i], &tmp);
                if let Ok(mut slots) = results.lock() {
                    slots[i] = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .zip(files)
        .map(|(r, path)| {
            r.unwrap_or_else(|| {
                Err(Error::Format {
                    path: path.clone(),
                    message: "pre-scan did not finish".into(),
                })
            })
        })
        .collect()
}

/// One fact file as a lazy frame: 11 string columns (10 + [`EXTRA`]), `file` and `row`.
fn scan(file: usize, path: &Path) -> PolarsResult<LazyFrame> {
    let mut fields: Vec<Field> = ORDER_COLUMNS
        .iter()
        .map(|c| Field::new((*c).into(), DataType::String))
        .collect();
    fields.push(Field::new(EXTRA.into(), DataType::String));
    let schema = Arc::new(Schema::from_iter(fields));
    Ok(LazyCsvReader::new(PlRefPath::try_from_path(path)?)
        .with_glob(false)
        // The header is checked by the pre-scan; skipping it by position also skips a BOM.
        .with_has_header(false)
        .with_skip_rows(1)
        .with_schema(Some(schema))
        // More than 11 fields: the rest is dropped (the 11th already marks the record).
        .with_truncate_ragged_lines(true)
        // Empty and missing fields both read as "" (polars cannot tell them apart).
        .with_missing_is_null(false)
        // Invalid UTF-8 becomes U+FFFD, which the invalid_utf8 rule looks for.
        .with_encoding(CsvEncoding::LossyUtf8)
        .with_raise_if_empty(false)
        .with_row_index(Some(RowIndex {
            name: "row".into(),
            offset: 0,
        }))
        .finish()?
        .with_column(lit(file as u32).cast(DataType::UInt32).alias("file")))
}

fn matches(column: &str, re: &str) -> Expr {
    col(column).str().contains(lit(re), true)
}

/// `when(c1) v1 .. when(cn) vn otherwise null`, first match wins.
fn first_match(cases: Vec<(Expr, Expr)>) -> Expr {
    cases
        .into_iter()
        .rev()
        .fold(lit(NULL), |rest, (cond, value)| {
            when(cond).then(value).otherwise(rest)
        })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`rules::days_from_civil` as expressions).
fn days_from_civil(y: Expr, m: Expr, d: Expr) -> Expr {
    let y = y - when(m.clone().lt_eq(lit(2))).then(lit(1)).otherwise(lit(0));
    let era = y.clone().floor_div(lit(400));
    let yoe = y - era.clone() * lit(400);
    let mp = (m + lit(9)) % lit(12);
    let doy = (lit(153) * mp + lit(2)).floor_div(lit(5)) + d - lit(1);
    let doe =
        yoe.clone() * lit(365) + yoe.clone().floor_div(lit(4)) - yoe.floor_div(lit(100)) + doy;
    era * lit(146_097) + doe - lit(719_468)
}

/// The parsed columns the rules need (computed for every row; garbage where a field is malformed, which the
/// rules then reject before using it).
fn parsed(dims: &Dimensions) -> Vec<Expr> {
    let int = |c: &str| col(c).cast(DataType::Int64);
    let slice = |off: i64, len: u64| {
        col("order_ts")
            .str()
            .slice(lit(off), lit(len))
            .cast(DataType::Int64)
    };
    let (y, mo, d) = (slice(0, 4), slice(5, 2), slice(8, 2));
    let (h, mi, se) = (slice(11, 2), slice(14, 2), slice(17, 2));
    let zone = col("order_ts").str().tail(lit(6));
    let (oh, om) = (
        zone.clone()
            .str()
            .slice(lit(1), lit(2))
            .cast(DataType::Int64),
        zone.clone()
            .str()
            .slice(lit(4), lit(2))
            .cast(DataType::Int64),
    );
    let zulu = col("order_ts").str().ends_with(lit("Z"));
    let leap = (y.clone() % lit(4))
        .eq(lit(0))
        .and((y.clone() % lit(100)).neq(lit(0)))
        .or((y.clone() % lit(400)).eq(lit(0)));
    let month_days = when(mo.clone().eq(lit(2)))
        .then(when(leap).then(lit(29)).otherwise(lit(28)))
        .otherwise(
            when(
                mo.clone()
                    .eq(lit(4))
                    .or(mo.clone().eq(lit(6)))
                    .or(mo.clone().eq(lit(9)))
                    .or(mo.clone().eq(lit(11))),
            )
            .then(lit(30))
            .otherwise(lit(31)),
        );
    let offset_min = when(zulu.clone()).then(lit(0)).otherwise(
        when(zone.str().starts_with(lit("-")))
            .then(lit(0) - (oh.clone() * lit(60) + om.clone()))
            .otherwise(oh.clone() * lit(60) + om.clone()),
    );
    let ts_ok = matches(
        "order_ts",
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$",
    )
    .and(mo.clone().gt_eq(lit(1)))
    .and(mo.clone().lt_eq(lit(12)))
    .and(d.clone().gt_eq(lit(1)))
    .and(d.clone().lt_eq(month_days))
    .and(h.clone().lt_eq(lit(23)))
    .and(mi.clone().lt_eq(lit(59)))
    .and(se.lt_eq(lit(59)))
    .and(zulu.or(oh.lt_eq(lit(23)).and(om.lt_eq(lit(59)))));
    let local_min = days_from_civil(y, mo, d) * lit(1440) + h * lit(60) + mi;
    let day = (local_min - offset_min)
        .floor_div(lit(1440))
        .cast(DataType::Int32);

    // Discount in basis points: integer part (at most 100, else clamped to 101 so it fails without
    // overflowing) * 100 + the decimals scaled to hundredths.
    let whole = col("discount_pct")
        .str()
        .extract(lit(r"^([0-9]{1,18})(?:\.[0-9]{1,2})?$"), 1)
        .cast(DataType::UInt64);
    let frac = col("discount_pct")
        .str()
        .extract(lit(r"^[0-9]{1,18}\.([0-9]{1,2})$"), 1);
    let frac_bp = when(frac.clone().str().len_bytes().eq(lit(1)))
        .then(frac.clone().cast(DataType::UInt64) * lit(10))
        .otherwise(frac.cast(DataType::UInt64))
        .fill_null(lit(0));
    let bp = when(whole.clone().lt_eq(lit(100)))
        .then(whole)
        .otherwise(lit(101))
        * lit(100)
        + frac_bp;

    let status = col("status").str().strip_chars(lit(" \t"));
    let lower = status.clone().str().to_lowercase();
    // Comparisons, not `is_in` (which the streaming engine runs as a join-like node with extra buffering).
    let known = STATUSES
        .iter()
        .fold(lit(false), |any, s| any.or(lower.clone().eq(lit(*s))));
    // Same byte length: only ASCII letters may be lower-cased into a status (as `eq_ignore_ascii_case`).
    let status_ok = known.and(status.str().len_bytes().eq(lower.clone().str().len_bytes()));

    let currency = col("currency").str().strip_chars(lit(" \t"));
    let upper = currency.clone().str().to_uppercase();
    let rate = dims
        .fx
        .iter()
        .rev()
        .fold(lit(NULL), |rest, (code, micros)| {
            when(
                upper
                    .clone()
                    .eq(lit(String::from_utf8_lossy(code).into_owned()))
                    .and(currency.clone().str().len_bytes().eq(lit(3))),
            )
            .then(lit(*micros))
            .otherwise(rest)
        });

    vec![
        int("quantity").alias("_qty"),
        col("unit_price")
            .str()
            .replace(lit("."), lit(""), true)
            .cast(DataType::UInt64)
            .alias("_price"),
        bp.alias("_bp"),
        ts_ok.alias("_ts_ok"),
        day.alias("_day"),
        status_ok.alias("_status_ok"),
        lower.eq(lit("cancelled")).alias("_cancelled"),
        rate.cast(DataType::UInt64).alias("_rate"),
        col("order_id").cast(DataType::UInt64).alias("_oid"),
        col("customer_id").cast(DataType::UInt64).alias("_cid"),
        col("product_id").cast(DataType::UInt64).alias("_pid"),
    ]
}

/// The reject code (see [`CODES`]) and the amount in USD cents.
fn classify() -> Vec<Expr> {
    let i128 = |c: &str| col(c).cast(DataType::Int128);
    // Money in Int128: price (< 2^64) * quantity (< 10^18) fits; larger values are clamped before the next
    // step so that nothing wraps, and rejected afterwards.
    let gross = i128("_price") * i128("_qty");
    let gross_ok = gross
        .clone()
        .gt_eq(lit(0))
        .and(gross.clone().lt_eq(lit(u64::MAX)));
    let gross = when(gross_ok.clone()).then(gross).otherwise(lit(0));
    let bp = when(i128("_bp").lt_eq(lit(10_000)))
        .then(i128("_bp"))
        .otherwise(lit(10_000));
    let net = (gross * (lit(10_000) - bp) + lit(5_000)).floor_div(lit(10_000));
    let rate = i128("_rate").fill_null(lit(0));
    let limit = i128::MAX - 500_000;
    let usd_safe = rate.clone().eq(lit(0)).or(net.clone().lt_eq(
        lit(limit).floor_div(
            when(rate.clone().eq(lit(0)))
                .then(lit(1))
                .otherwise(rate.clone()),
        ),
    ));
    let net = when(usd_safe.clone()).then(net).otherwise(lit(0));
    let usd = (net * rate + lit(500_000)).floor_div(lit(1_000_000));
    let usd_ok = usd_safe.and(usd.clone().lt_eq(lit(u64::MAX)));

    let id = r"^[0-9]{1,18}$";
    let mut cases = vec![(col(EXTRA).neq(lit("")), lit(0))];
    for (i, c) in ORDER_COLUMNS.iter().enumerate() {
        cases.push((
            col(*c).str().contains_literal(lit("\u{FFFD}")),
            lit(1 + i as i32),
        ));
    }
    cases.extend([
        (matches("order_id", id).not(), lit(11)),
        (matches("customer_id", id).not(), lit(12)),
        (matches("product_id", id).not(), lit(13)),
        (matches("quantity", r"^-?[0-9]{1,18}$").not(), lit(14)),
        (
            matches("unit_price", r"^[0-9]{1,18}\.[0-9]{2}$")
                .and(col("_price").is_not_null())
                .not(),
            lit(15),
        ),
        (
            matches("discount_pct", r"^[0-9]{1,18}(\.[0-9]{1,2})?$")
                .and(col("_bp").lt_eq(lit(10_000)))
                .not(),
            lit(16),
        ),
        (col("_qty").lt_eq(lit(0)), lit(17)),
        (col("_ts_ok").not(), lit(18)),
        (col("_status_ok").not(), lit(19)),
        (col("_rate").is_null(), lit(20)),
        // The left joins found no customer / product.
        (col("country").is_null(), lit(21)),
        (col("category").is_null(), lit(22)),
        (gross_ok.and(usd_ok).not(), lit(23)),
    ]);
    vec![
        first_match(cases).cast(DataType::Int32).alias("code"),
        usd.alias("_usd"),
    ]
}

/// The record re-serialized from its fields (polars keeps no raw bytes): quoted when needed, 10 fields, plus the
/// 11th when there is one.
fn raw_expr() -> Expr {
    let quoted = |e: Expr| {
        when(e.clone().str().contains(lit("[\",\r\n]"), true))
            .then(concat_str(
                [
                    lit("\""),
                    e.clone().str().replace_all(lit("\""), lit("\"\""), true),
                    lit("\""),
                ],
                "",
                false,
            ))
            .otherwise(e)
    };
    let fields: Vec<Expr> = ORDER_COLUMNS.iter().map(|c| quoted(col(*c))).collect();
    let extra = when(col(EXTRA).neq(lit("")))
        .then(concat_str([lit(","), quoted(col(EXTRA))], "", false))
        .otherwise(lit(""));
    concat_str([concat_str(fields, ",", false), extra], "", false).alias("raw")
}

/// Customers (`_cid`, `name`, `country`) and products (`_pid`, `category`) as frames.
fn dimension_frames(dims: &Dimensions) -> PolarsResult<(LazyFrame, LazyFrame)> {
    let pairs = dims.customers.pairs();
    let customers = DataFrame::new(
        pairs.len(),
        vec![
            Column::new("_cid".into(), pairs.iter().map(|p| p.0).collect::<Vec<_>>()),
            Column::new(
                "name".into(),
                pairs
                    .iter()
                    .map(|&(_, i)| dims.customer_name(i as u32))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "country".into(),
                pairs
                    .iter()
                    .map(|&(_, i)| dims.countries.names[dims.customer_country[i] as usize].as_str())
                    .collect::<Vec<_>>(),
            ),
        ],
    )?;
    let pairs = dims.products.pairs();
    let products = DataFrame::new(
        pairs.len(),
        vec![
            Column::new("_pid".into(), pairs.iter().map(|p| p.0).collect::<Vec<_>>()),
            Column::new(
                "category".into(),
                pairs
                    .iter()
                    .map(|&(_, i)| {
                        dims.categories.names[dims.product_category[i] as usize].as_str()
                    })
                    .collect::<Vec<_>>(),
            ),
        ],
    )?;
    Ok((customers.lazy(), products.lazy()))
}

/// Sums are `Int128`; like the csv engine, they saturate at `u64::MAX` rather than wrap.
fn saturate(e: Expr) -> Expr {
    when(e.clone().gt(lit(u64::MAX)))
        .then(lit(u64::MAX))
        .otherwise(e)
        .cast(DataType::UInt64)
}

struct Results {
    rejects: DataFrame,
    counts: DataFrame,
    dedup: DataFrame,
    daily: DataFrame,
    top: DataFrame,
}

/// Builds the whole query (one scan shared by five outputs) and runs it on the streaming engine.
fn query(dims: &Dimensions, sources: &[PathBuf]) -> PolarsResult<Results> {
    let scans = sources
        .iter()
        .enumerate()
        .map(|(i, path)| scan(i, path))
        .collect::<PolarsResult<Vec<_>>>()?;
    let (customers, products) = dimension_frames(dims)?;
    // Left joins that keep the input order (first occurrence depends on it) look up country and category; a
    // null means an orphan. (`is_in` would rebuild its hash set of ids for every batch.)
    let lookup = || {
        let mut args = JoinArgs::new(JoinType::Left);
        args.maintain_order = MaintainOrderJoin::Left;
        args
    };
    let classified = concat(scans, UnionArgs::default())?
        .with_columns(parsed(dims))
        .join(
            customers.clone().select([col("_cid"), col("country")]),
            [col("_cid")],
            [col("_cid")],
            lookup(),
        )
        .join(products.clone(), [col("_pid")], [col("_pid")], lookup())
        .with_columns(classify())
        // Shared by every output: parsed and checked once.
        .cache();
    let rejects = classified
        .clone()
        .filter(col("code").is_not_null())
        .select([col("file"), col("row"), col("code"), raw_expr()]);
    let counts = classified.clone().select([
        len().alias("rows"),
        col("code").is_null().sum().alias("valid"),
    ]);
    // First occurrence wins: the scan keeps file and row order, and a stable unique keeps the first.
    let valid = classified
        .filter(col("code").is_null())
        .select([
            col("_oid"),
            col("_cid"),
            // Units as the csv engine counts them (a quantity is capped at u32::MAX).
            when(col("_qty").gt(lit(u32::MAX)))
                .then(lit(u32::MAX as i64))
                .otherwise(col("_qty"))
                .alias("_units"),
            // Valid amounts fit in 64 bits; narrow, fixed-width columns keep the de-duplication cheap.
            col("_usd").cast(DataType::UInt64),
            col("_day"),
            col("_cancelled"),
            col("_pid"),
        ])
        .unique_stable_generic(Some(vec![col("_oid")]), UniqueKeepStrategy::First)
        .cache();
    let dedup = valid.clone().select([
        len().alias("valid"),
        col("_cancelled").sum().alias("cancelled"),
    ]);
    let live = valid.filter(col("_cancelled").not());
    let inner = || JoinArgs::new(JoinType::Inner);
    let daily = live
        .clone()
        .join(
            customers.clone().select([col("_cid"), col("country")]),
            [col("_cid")],
            [col("_cid")],
            inner(),
        )
        .join(
            products.clone().select([col("_pid"), col("category")]),
            [col("_pid")],
            [col("_pid")],
            inner(),
        )
        .group_by([col("_day"), col("country"), col("category")])
        .agg([
            len().cast(DataType::UInt64).alias("orders"),
            col("_units").sum().cast(DataType::UInt64).alias("units"),
            col("_usd").cast(DataType::Int128).sum().alias("_cents"),
        ])
        .sort(
            ["_day", "country", "category"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .select([
            col("_day").cast(DataType::Date).alias("date"),
            col("country"),
            col("category"),
            col("orders"),
            col("units"),
            saturate(col("_cents")).alias("revenue_usd_cents"),
        ]);
    let by_revenue = || {
        SortMultipleOptions::default()
            .with_order_descending_multi([true, false])
            .with_maintain_order(true)
    };
    let top = live
        .group_by([col("_cid")])
        .agg([
            len().cast(DataType::UInt64).alias("orders"),
            saturate(col("_usd").cast(DataType::Int128).sum()).alias("revenue_usd_cents"),
        ])
        .sort(["revenue_usd_cents", "_cid"], by_revenue())
        .limit(TOP_CUSTOMERS as IdxSize)
        .join(
            customers.select([col("_cid"), col("name"), col("country")]),
            [col("_cid")],
            [col("_cid")],
            inner(),
        )
        .sort(["revenue_usd_cents", "_cid"], by_revenue())
        .with_row_index("rank", Some(1))
        .select([
            col("rank").cast(DataType::UInt32),
            col("_cid").alias("customer_id"),
            col("name"),
            col("country"),
            col("orders"),
            col("revenue_usd_cents"),
        ]);
    let plans = [rejects, counts, dedup, daily, top]
        .into_iter()
        .map(|lf| lf.logical_plan)
        .collect();
    let mut out = LazyFrame::collect_all_with_engine(
        plans,
        polars::prelude::Engine::Streaming,
        OptFlags::default(),
    )?
    .into_iter();
    let mut next = || {
        out.next()
            .ok_or_else(|| polars_err!(ComputeError: "missing result"))
    };
    Ok(Results {
        rejects: next()?,
        counts: next()?,
        dedup: next()?,
        daily: next()?,
        top: next()?,
    })
}

fn first_u64(df: &DataFrame, name: &str) -> PolarsResult<u64> {
    let c = df.column(name)?.cast(&DataType::UInt64)?;
    Ok(c.u64()?.get(0).unwrap_or(0))
}

fn to_csv(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .with_line_terminator("\n".into())
        .finish(df)?;
    Ok(bytes)
}

/// Runs the spec on polars; writes the same outputs as the csv engine (and the Parquet copies).
pub fn run(opts: &PipelineOptions) -> Result<Summary> {
    let started = Instant::now();
    let interrupted = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    };
    let dims = dims::load(&opts.data)?;
    let files = input::fact_files(&opts.data)?;
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let scans = prescan_all(&files, &opts.out, opts.threads);
    let mut sources = files.clone();
    let mut temps = Vec::new();
    let mut tail_rejects = Vec::new();
    let mut bytes_read = 0;
    let mut failed = None;
    for s in scans {
        match s {
            Ok(s) => {
                bytes_read += s.bytes;
                if let Some((tmp, reject)) = s.tail {
                    sources[reject.file] = tmp.clone();
                    temps.push(tmp);
                    tail_rejects.push(reject);
                }
            }
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    let results = match failed {
        Some(e) => Err(e),
        None if interrupted() => Err(Error::Interrupted),
        // Polars may panic on input it does not expect; the run must end in an error instead.
        None => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| query(&dims, &sources)))
            .unwrap_or_else(|p| {
                let message = crate::error::panic_message(&*p);
                Err(polars_err!(ComputeError: "polars panicked: {message}"))
            })
            .map_err(polars_err(&opts.data)),
    };
    for t in &temps {
        let _ = std::fs::remove_file(t);
    }
    let results = results?;
    if interrupted() {
        return Err(Error::Interrupted);
    }
    let err = polars_err(&opts.data);
    let mut rejects = tail_rejects;
    {
        let r = &results.rejects;
        let file = r.column("file").map_err(&err)?.u32().map_err(&err)?;
        let row = r
            .column("row")
            .map_err(&err)?
            .cast(&DataType::UInt64)
            .map_err(&err)?;
        let row = row.u64().map_err(&err)?;
        let code = r.column("code").map_err(&err)?.i32().map_err(&err)?;
        let raw = r.column("raw").map_err(&err)?.str().map_err(&err)?;
        for i in 0..r.height() {
            let (kind, column) = CODES[code.get(i).unwrap_or(0).clamp(0, 23) as usize];
            let raw = raw.get(i).unwrap_or("").as_bytes();
            rejects.push(Reject {
                file: file.get(i).unwrap_or(0) as usize,
                row: row.get(i).unwrap_or(0),
                kind,
                column,
                position: None,
                raw: String::from_utf8_lossy(&raw[..raw.len().min(RAW_LIMIT)]).into_owned(),
            });
        }
    }
    rejects.sort_by_key(|r| (r.file, r.row));
    let rel = |i: usize| {
        let f = &files[i];
        f.strip_prefix(&opts.data)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/")
    };
    if opts.fail_fast {
        if let Some(r) = rejects.first() {
            let message = format!("{} in column '{}': {}", r.kind.name(), r.column, r.raw);
            return Err(match r.position {
                Some((line, offset)) => Error::BadInput {
                    path: files[r.file].clone(),
                    line,
                    offset,
                    message,
                },
                None => Error::Format {
                    path: files[r.file].clone(),
                    message: format!(
                        "data record {} (polars gives no line numbers): {message}",
                        r.row + 1
                    ),
                },
            });
        }
    }
    let mut by_kind: BTreeMap<String, u64> = RejectKind::ALL
        .iter()
        .map(|k| (k.name().to_string(), 0))
        .collect();
    for r in &rejects {
        *by_kind.entry(r.kind.name().to_string()).or_default() += 1;
    }
    let rejects_path = opts.out.join("rejects.csv");
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::Format {
        path: rejects_path.clone(),
        message: e.to_string(),
    };
    w.write_record(crate::schema::REJECTS_COLUMNS)
        .map_err(csv_err)?;
    for r in &rejects {
        let (line, offset) = r.position.map_or((String::new(), String::new()), |(l, o)| {
            (l.to_string(), o.to_string())
        });
        w.write_record([
            rel(r.file).as_str(),
            &line,
            &offset,
            r.column,
            r.kind.name(),
            &r.raw,
        ])
        .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::io(&rejects_path, e.into_error()))?;
    write_temp(&rejects_path, |w| w.write_all(&bytes))?;

    let Results {
        counts,
        dedup,
        mut daily,
        mut top,
        ..
    } = results;
    let rows = first_u64(&counts, "rows").map_err(&err)?;
    let valid_rows = first_u64(&counts, "valid").map_err(&err)?;
    let valid = first_u64(&dedup, "valid").map_err(&err)?;
    let cancelled = first_u64(&dedup, "cancelled").map_err(&err)?;
    let revenue = daily
        .column("revenue_usd_cents")
        .map_err(&err)?
        .u64()
        .map_err(&err)?
        .iter()
        .fold(0u64, |a, v| a.saturating_add(v.unwrap_or(0)));
    for (name, df) in [
        ("daily_revenue.csv", &mut daily),
        ("top_customers.csv", &mut top),
    ] {
        let path = opts.out.join(name);
        let bytes = to_csv(df).map_err(polars_err(&path))?;
        write_temp(&path, |w| w.write_all(&bytes))?;
    }
    write_parquet_copies(&opts.out)?;
    let rejected = rejects.len() as u64;
    let s = Summary {
        engine: "polars".into(),
        files: files.len() as u64,
        bytes_read,
        rows_read: rows + tail_rejects_count(&rejects),
        valid,
        rejected,
        rejected_by_kind: by_kind,
        duplicates_dropped: valid_rows.saturating_sub(valid),
        cancelled,
        revenue_usd_cents: revenue,
        elapsed_seconds: 0.0,
        mb_per_s: 0.0,
        rereads: 0,
        reread_bytes: 0,
    };
    super::output::finish_summary(opts, started, s)
}

/// Tail rejects were cut off before polars read the file, so they are not in its row count.
fn tail_rejects_count(rejects: &[Reject]) -> u64 {
    rejects.iter().filter(|r| r.position.is_some()).count() as u64
}

fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| rules::parse_uint(&b[r]);
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    i32::try_from(rules::days_from_civil(y as i64, m as u32, d as u32)).ok()
}

fn daily_schema() -> Schema {
    Schema::from_iter([
        Field::new("date".into(), DataType::String),
        Field::new("country".into(), DataType::String),
        Field::new("category".into(), DataType::String),
        Field::new("orders".into(), DataType::UInt64),
        Field::new("units".into(), DataType::UInt64),
        Field::new("revenue_usd_cents".into(), DataType::UInt64),
    ])
}

fn top_schema() -> Schema {
    Schema::from_iter([
        Field::new("rank".into(), DataType::UInt32),
        Field::new("customer_id".into(), DataType::UInt64),
        Field::new("name".into(), DataType::String),
        Field::new("country".into(), DataType::String),
        Field::new("orders".into(), DataType::UInt64),
        Field::new("revenue_usd_cents".into(), DataType::UInt64),
    ])
}

/// Reads a report CSV that an engine wrote, with its column types.
fn read_report(path: &Path, schema: Schema) -> PolarsResult<DataFrame> {
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .map_parse_options(|o| o.with_missing_is_null(false))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))?
        .finish()?;
    if df.get_column_names().iter().any(|n| n.as_str() == "date") {
        // `YYYY-MM-DD` as days since the epoch (polars' own string-to-date parsing needs its `temporal`
        // feature); a malformed date is an error, not a null.
        let days = df
            .column("date")?
            .str()?
            .iter()
            .map(|d| {
                d.and_then(parse_date).ok_or_else(
                    || polars_err!(ComputeError: "not a YYYY-MM-DD date: {}", d.unwrap_or("")),
                )
            })
            .collect::<PolarsResult<Vec<i32>>>()?;
        let date = Column::new("date".into(), days).cast(&DataType::Date)?;
        df.with_column(date)?;
    }
    Ok(df)
}

/// `daily_revenue.parquet` and `top_customers.parquet` next to the CSVs in `out`: the same rows and columns,
/// counts and cents as unsigned integers, `date` as a Parquet DATE.
pub(super) fn write_parquet_copies(out: &Path) -> Result<()> {
    for (name, schema) in [
        ("daily_revenue", daily_schema()),
        ("top_customers", top_schema()),
    ] {
        let csv = out.join(format!("{name}.csv"));
        let path = out.join(format!("{name}.parquet"));
        let bytes = read_report(&csv, schema)
            .and_then(|mut df| {
                let mut bytes = Vec::new();
                ParquetWriter::new(&mut bytes).finish(&mut df)?;
                Ok(bytes)
            })
            .map_err(polars_err(&csv))?;
        write_temp(&path, |w| w.write_all(&bytes))?;
    }
    Ok(())
}
