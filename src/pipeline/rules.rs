//! The exercise's validation and money rules, as small pure functions (each unit-tested). The exercise spec
//! (`exercises/etl_10gb/README.md`) states the same rules in prose; every engine must agree with these.

/// Why a fact record is rejected. The names match the generator's defect kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectKind {
    FieldCount,
    TruncatedRow,
    UnterminatedQuote,
    InvalidUtf8,
    BadNumber,
    BadQuantity,
    BadTimestamp,
    UnknownStatus,
    UnknownCurrency,
    OrphanCustomer,
    OrphanProduct,
}

impl RejectKind {
    pub const ALL: [RejectKind; 11] = [
        RejectKind::FieldCount,
        RejectKind::TruncatedRow,
        RejectKind::UnterminatedQuote,
        RejectKind::InvalidUtf8,
        RejectKind::BadNumber,
        RejectKind::BadQuantity,
        RejectKind::BadTimestamp,
        RejectKind::UnknownStatus,
        RejectKind::UnknownCurrency,
        RejectKind::OrphanCustomer,
        RejectKind::OrphanProduct,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RejectKind::FieldCount => "field_count",
            RejectKind::TruncatedRow => "truncated_row",
            RejectKind::UnterminatedQuote => "unterminated_quote",
            RejectKind::InvalidUtf8 => "invalid_utf8",
            RejectKind::BadNumber => "bad_number",
            RejectKind::BadQuantity => "bad_quantity",
            RejectKind::BadTimestamp => "bad_timestamp",
            RejectKind::UnknownStatus => "unknown_status",
            RejectKind::UnknownCurrency => "unknown_currency",
            RejectKind::OrphanCustomer => "orphan_customer",
            RejectKind::OrphanProduct => "orphan_product",
        }
    }
}

pub use crate::schema::STATUSES;
pub const CANCELLED: u8 = 4;

/// An unsigned decimal integer: one or more ASCII digits, nothing else, at most 18 digits.
pub fn parse_uint(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    let mut v = 0u64;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (b - b'0') as u64;
    }
    Some(v)
}

/// A quantity: an optional `-` then digits (so `0` and `-3` parse, and are then rejected as bad_quantity).
pub fn parse_quantity(s: &[u8]) -> Option<i64> {
    match s.split_first() {
        Some((b'-', rest)) => parse_uint(rest).map(|v| -(v as i64)),
        _ => parse_uint(s).map(|v| v as i64),
    }
}

/// A price: digits, a dot, exactly two digits. Returns cents.
pub fn parse_price_cents(s: &[u8]) -> Option<u64> {
    let n = s.len();
    if n < 4 || s[n - 3] != b'.' {
        return None;
    }
    let units = parse_uint(&s[..n - 3])?;
    let cents = parse_uint(&s[n - 2..])?;
    units.checked_mul(100)?.checked_add(cents)
}

/// A discount: digits with an optional dot and one or two decimals, at most 100. Returns basis points
/// (hundredths of a percent): `12.5` -> 1250.
pub fn parse_discount_bp(s: &[u8]) -> Option<u64> {
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if s.contains(&b'.') && !(1..=2).contains(&frac.len()) {
        return None;
    }
    let mut bp = parse_uint(int)?.checked_mul(100)?;
    if !frac.is_empty() {
        let f = parse_uint(frac)?;
        bp += if frac.len() == 1 { f * 10 } else { f };
    }
    (bp <= 10_000).then_some(bp)
}

/// Net amount after the discount, in the same unit: `round_half_up(gross * (10000 - bp) / 10000)`.
pub fn apply_discount(gross_cents: u64, discount_bp: u64) -> u64 {
    // In 64 bits when it fits (every sane amount): a 128-bit division is a library call, per row.
    match (gross_cents.checked_mul(10_000 - discount_bp)).and_then(|v| v.checked_add(5_000)) {
        Some(v) => v / 10_000,
        None => ((gross_cents as u128 * (10_000 - discount_bp) as u128 + 5_000) / 10_000) as u64,
    }
}

/// Local cents to USD cents at a fixed rate in micro-dollars per unit, rounded half up. None when the result
/// does not fit in 64 bits (an absurd amount: the row is rejected).
pub fn to_usd_cents(local_cents: u64, usd_per_unit_micros: u64) -> Option<u64> {
    if let Some(v) = local_cents
        .checked_mul(usd_per_unit_micros)
        .and_then(|v| v.checked_add(500_000))
    {
        return Some(v / 1_000_000);
    }
    u64::try_from((local_cents as u128 * usd_per_unit_micros as u128 + 500_000) / 1_000_000).ok()
}

/// A fixed-point rate `D.DDDDDD` (1 to 6 decimals) as micro-units.
pub fn parse_rate_micros(s: &[u8]) -> Option<u64> {
    let i = s.iter().position(|&b| b == b'.')?;
    let (int, frac) = (&s[..i], &s[i + 1..]);
    if frac.is_empty() || frac.len() > 6 {
        return None;
    }
    let scale = 10u64.pow(6 - frac.len() as u32);
    Some(parse_uint(int)? * 1_000_000 + parse_uint(frac)? * scale)
}

fn digits<const N: usize>(s: &[u8]) -> Option<u32> {
    if s.len() != N {
        return None;
    }
    parse_uint(s).map(|v| v as u32)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// An order timestamp: `YYYY-MM-DDTHH:MM:SS` with optional `.fraction`, then `Z` or `+HH:MM` / `-HH:MM`, a real
/// calendar date and time (no leap seconds). Returns the UTC date as days since 1970-01-01.
pub fn parse_ts_utc_day(s: &[u8]) -> Option<i64> {
    let head: &[u8; 19] = s.get(..19)?.try_into().ok()?;
    if s.len() < 20
        || head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b'T'
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    // All fourteen digit checks at once (this runs for every row): a byte minus '0' is a digit when below 10.
    let dg = |i: usize| head[i].wrapping_sub(b'0') as u32;
    let is = |i: usize| dg(i) < 10;
    #[rustfmt::skip]
    let all = is(0) & is(1) & is(2) & is(3) & is(5) & is(6) & is(8) & is(9)
        & is(11) & is(12) & is(14) & is(15) & is(17) & is(18);
    if !all {
        return None;
    }
    let two = |i: usize| dg(i) * 10 + dg(i + 1);
    let y = (two(0) * 100 + two(2)) as i64;
    let (mo, d, h, mi, se) = (two(5), two(8), two(11), two(14), two(17));
    // Year 0000 does not exist in the spec's calendar (0001-9999), as in Python's `datetime`.
    if y == 0
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || se > 59
    {
        return None;
    }
    let mut rest = &s[19..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &rest[1 + n..];
    }
    let offset_min: i64 = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits::<2>(&[*h1, *h2])? as i64;
            let om = digits::<2>(&[*m1, *m2])? as i64;
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 60 + om;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    // Shifted so the division is of a non-negative number (a signed floor division costs several times more,
    // and this runs once per row); years are 0..=9999 here, so days are above -800,000.
    const SHIFT: i64 = 800_000 * 1440;
    let local_min = days_from_civil_0_9999(y as u32, mo, d) * 1440 + h as i64 * 60 + mi as i64;
    Some(((local_min - offset_min + SHIFT) as u64 / 1440) as i64 - 800_000)
}

/// `days_from_civil` for years 0..=9999 (what four digits can write), in unsigned arithmetic.
#[inline(always)]
pub(super) fn days_from_civil_0_9999(y: u32, m: u32, d: u32) -> i64 {
    // 400 years (146,097 days) later, so that January and February of year 0 stay non-negative.
    let y = y + 400 - (m <= 2) as u32;
    let (era, yoe) = (y / 400, y % 400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe) as i64 - 719_468 - 146_097
}

/// `YYYY-MM-DD` of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Trims ASCII spaces and tabs (the only padding the rules clean).
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Status after trimming and lower-casing, as an index into [`STATUSES`].
pub fn parse_status(s: &[u8]) -> Option<u8> {
    // Clean values first: an exact match is one comparison, no trimming or case folding.
    if let Some(i) = STATUSES.iter().position(|st| st.as_bytes() == s) {
        return Some(i as u8);
    }
    let t = trim(s);
    STATUSES
        .iter()
        .position(|st| st.as_bytes().eq_ignore_ascii_case(t))
        .map(|i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_uint(b"0042"), Some(42));
        for bad in [
            &b""[..],
            b"+1",
            b"1 ",
            b"-1",
            b"1.0",
            b"1234567890123456789",
        ] {
            assert_eq!(parse_uint(bad), None, "{bad:?}");
        }
        assert_eq!(parse_quantity(b"-3"), Some(-3));
        assert_eq!(parse_quantity(b"0"), Some(0));
        assert_eq!(parse_quantity(b"+-2"), None);
        assert_eq!(parse_quantity(b"1.5"), None);
        assert_eq!(parse_price_cents(b"19.99"), Some(1999));
        assert_eq!(parse_price_cents(b"0.05"), Some(5));
        for bad in [
            &b"19.9"[..],
            b"$19.99",
            b"12.5.0",
            b".99",
            b"1O.50",
            b"19,99",
            b"",
        ] {
            assert_eq!(parse_price_cents(bad), None, "{bad:?}");
        }
        assert_eq!(parse_discount_bp(b"12.5"), Some(1250));
        assert_eq!(parse_discount_bp(b"12.05"), Some(1205));
        assert_eq!(parse_discount_bp(b"0"), Some(0));
        assert_eq!(parse_discount_bp(b"100"), Some(10_000));
        for bad in [
            &b"100.01"[..],
            b"5..0",
            b"%5",
            b"5.",
            b"5.123",
            b"",
            b"-",
            b"ten",
        ] {
            assert_eq!(parse_discount_bp(bad), None, "{bad:?}");
        }
        assert_eq!(parse_rate_micros(b"1.085000"), Some(1_085_000));
        assert_eq!(parse_rate_micros(b"0.0067"), Some(6_700));
        assert_eq!(parse_rate_micros(b"1"), None);
    }

    #[test]
    fn rounding_rules() {
        // 12.5% off 3 x 3.99 = 11.97 -> 10.47375 -> 10.47; half up: 0.5 cent goes up.
        assert_eq!(apply_discount(1197, 1250), 1047);
        assert_eq!(apply_discount(1, 5_000), 1, "0.5 cent rounds up");
        assert_eq!(apply_discount(3, 5_000), 2, "1.5 cents round up");
        assert_eq!(apply_discount(999, 0), 999);
        assert_eq!(apply_discount(999, 10_000), 0);
        // 10.47 EUR at 1.085 = 11.35995 USD -> 11.36.
        assert_eq!(to_usd_cents(1047, 1_085_000), Some(1136));
        // 50 JPY-cents at 0.0067 = 0.335 USD-cents -> 0; 75 -> 0.5025 -> 1.
        assert_eq!(to_usd_cents(50, 6_700), Some(0));
        assert_eq!(to_usd_cents(75, 6_700), Some(1));
        assert_eq!(
            to_usd_cents(u64::MAX, 1_265_000),
            None,
            "too large for 64 bits"
        );
        // Around the point where the 64-bit shortcut stops applying, both ways agree.
        let wide_discount =
            |g: u64, bp: u64| ((g as u128 * (10_000 - bp) as u128 + 5_000) / 10_000) as u64;
        let wide_usd =
            |c: u64, r: u64| u64::try_from((c as u128 * r as u128 + 500_000) / 1_000_000).ok();
        let edge = u64::MAX / 10_000;
        for g in [
            0,
            1,
            12_345,
            edge - 1,
            edge,
            edge + 1,
            u64::MAX / 2,
            u64::MAX,
        ] {
            for bp in [0, 1, 1_250, 5_000, 9_999, 10_000] {
                assert_eq!(apply_discount(g, bp), wide_discount(g, bp), "{g} {bp}");
            }
            for r in [1, 6_700, 1_000_000, 1_085_000, 300_000_000] {
                assert_eq!(to_usd_cents(g, r), wide_usd(g, r), "{g} {r}");
                let e = (u64::MAX - 500_000) / r;
                for c in [e - 1, e, e + 1] {
                    assert_eq!(to_usd_cents(c, r), wide_usd(c, r), "{c} {r}");
                }
            }
        }
    }

    #[test]
    fn timestamps() {
        let day = |s: &str| parse_ts_utc_day(s.as_bytes());
        let d2024_06_20 = days_from_civil(2024, 6, 20);
        assert_eq!(day("2024-06-20T10:29:56+01:00"), Some(d2024_06_20));
        assert_eq!(
            day("2024-06-20T00:30:00+01:00"),
            Some(d2024_06_20 - 1),
            "local midnight+30 is UTC day before"
        );
        assert_eq!(day("2024-06-20T23:30:00-05:00"), Some(d2024_06_20 + 1));
        assert_eq!(day("2024-06-20T10:29:56Z"), Some(d2024_06_20));
        assert_eq!(day("2024-06-20T10:29:56.123Z"), Some(d2024_06_20));
        assert_eq!(
            day("2024-02-29T12:00:00+05:45"),
            Some(days_from_civil(2024, 2, 29))
        );
        for bad in [
            "2024/06/20 10:29:56",
            "20/06/2024",
            "2024-06-20 10:29:56",
            "2024-06-20T10:29:56",
            "2023-02-29T10:00:00+00:00",
            "2024-02-30T10:00:00+00:00",
            "2024-06-20T25:00:00+01:00",
            "2024-06-20T10:29:56+1:00",
            "",
        ] {
            assert_eq!(day(bad), None, "{bad}");
        }
        assert_eq!(format_day(days_from_civil(2024, 12, 31)), "2024-12-31");
        assert_eq!(format_day(0), "1970-01-01");
        for z in [-1000, 0, 19_000, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn fast_days_from_civil_agrees() {
        for y in 0..=9999 {
            for m in 1..=12 {
                for d in [1, 15, days_in_month(y, m)] {
                    assert_eq!(
                        days_from_civil_0_9999(y as u32, m, d),
                        days_from_civil(y, m, d),
                        "{y}-{m}-{d}"
                    );
                }
            }
        }
        // Floor division across the epoch and back into year 0; year 0000 itself is not a date.
        assert_eq!(parse_ts_utc_day(b"1970-01-01T00:30:00+01:00"), Some(-1));
        assert_eq!(
            parse_ts_utc_day(b"0001-01-01T00:00:00+00:01"),
            Some(-719_163)
        );
        assert_eq!(parse_ts_utc_day(b"0000-06-01T00:00:00Z"), None);
        assert_eq!(
            parse_ts_utc_day(b"9999-12-31T23:59:59-23:59"),
            Some(2_932_897)
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status(b"  SHIPPED "), Some(2));
        assert_eq!(parse_status(b"Cancelled"), Some(CANCELLED));
        for bad in [&b"on_hold"[..], b"", b"?", b"shipped?", b"ship ped"] {
            assert_eq!(parse_status(bad), None);
        }
    }
}
