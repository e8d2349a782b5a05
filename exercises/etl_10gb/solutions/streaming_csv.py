#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise in plain Python, streaming: one process, the standard library, bounded memory.

Usage: python streaming_csv.py INPUT_DIR OUTPUT_DIR

Approach
- Dimension tables are small: read with the `csv` module into dicts (id -> row index, currency -> rate).
- Fact files are read as *bytes*, 4 MiB at a time, and cut into records by a small RFC 4180 reader written
  here. The `csv` module cannot do this job: it works on decoded text, so it can give neither the byte offset
  of a record (rejects.csv needs it) nor reject one row whose bytes are not UTF-8 without failing the file.
  The reader reads quotes the way the reference's csv-core does: a quote opens a quoted field only at the
  start of a field (elsewhere it is a literal character), `""` is a quote inside a quoted field, `,` `\\n`
  and `\\r\\n` end fields and records outside quotes (a lone `\\r` is data), blank lines are not records.
  Lines without any quote (nearly all of them) take a fast path: split on `,`.
- A record that is plainly well formed is checked with one precompiled regex and a few lookups
  (`fast_check`); any other goes through the spec's eleven rules in order (`check`), where the first failing
  rule raises `Rejected(kind, column)`.
- Valid records update the aggregates as they stream by: a bitmap of seen order ids (ids are dense: 15 MB
  for 122 M orders) for "first occurrence wins", a dict (day, country, category) -> [orders, units, cents]
  and a dict customer -> [orders, cents]. Money is integer cents all the way (Python ints never overflow;
  the reference's 64-bit limits are checked explicitly).
- Outputs are written under temporary names and renamed, summary.json last.

Speed and memory: about 6-7 µs of CPU per record on one core (1 M records in ~7 s, so ~15 minutes for
10 GB); memory is the dimension tables plus a few MiB of buffer plus the bitmap: well under 1 GB at 10 GB.

Where it breaks: only on time; it uses one core. multiprocessing_chunks.py runs the same reader and rules on
all cores.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import sys
import time
from pathlib import Path

ORDER_COLUMNS = ("order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct",
                 "currency", "order_ts", "status", "notes")
ORDER_HEADER = [c.encode() for c in ORDER_COLUMNS]
REJECT_KINDS = ("field_count", "truncated_row", "unterminated_quote", "invalid_utf8", "bad_number",
                "bad_quantity", "bad_timestamp", "unknown_status", "unknown_currency", "orphan_customer",
                "orphan_product")
STATUSES = {b"placed": False, b"paid": False, b"shipped": False, b"delivered": False, b"cancelled": True,
            b"returned": False}  # status -> is it `cancelled`
U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1
RAW_LIMIT = 200
TOP_CUSTOMERS = 100
BOM = b"\xef\xbb\xbf"
BLOCK_SIZE = 4 << 20
FACT_NAME = re.compile(r"part-.*\.csv(\.gz|\.zst)?")
# Rust's `str::trim` (Unicode White_Space), used on the dimension tables like the reference does.
UNICODE_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
             "\u200a\u2028\u2029\u202f\u205f\u3000"


class InputError(Exception):
    """A problem that makes the whole run fail (a bad header, a malformed dimension table)."""


class Rejected(Exception):
    """A fact record fails a rule: `kind` and `column` as written to rejects.csv."""

    def __init__(self, kind: str, column: str = ""):
        super().__init__(kind)
        self.kind = kind
        self.column = column


# ---------------------------------------------------------------------------------------------------------
# Input files


def open_bytes(path: Path):
    """A binary stream of the uncompressed bytes (.gz: every member; .zst: every frame)."""
    name = path.name
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".zst"):
        try:
            import zstandard
        except ImportError:  # pragma: no cover - depends on the environment
            raise InputError(f"{path}: reading .zst needs the `zstandard` package (pip install zstandard)")
        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True,
                                                           closefd=True)
    return open(path, "rb")


def fact_files(data: Path) -> list[Path]:
    orders = data / "orders"
    if not orders.is_dir():
        raise InputError(f"{orders}: not a directory")
    files = sorted((p for p in orders.iterdir() if FACT_NAME.fullmatch(p.name)), key=lambda p: p.name.encode())
    if not files:
        raise InputError(f"{orders}: no part-*.csv files")
    return files


def find_table(data: Path, name: str) -> Path:
    for ext in ("csv", "csv.gz", "csv.zst"):
        p = data / f"{name}.{ext}"
        if p.is_file():
            return p
    raise InputError(f"{data / (name + '.csv')}: dimension table not found (.csv, .csv.gz or .csv.zst)")


# ---------------------------------------------------------------------------------------------------------
# Dimension tables


def ascii_upper(s: str) -> str:
    """Upper-cases ASCII letters only (like Rust's to_ascii_uppercase; str.upper() maps more)."""
    return s.encode("utf-8", "surrogateescape").upper().decode("utf-8", "surrogateescape")


class Dimensions:
    """customers, products and fx_rates, as the lookups the rules need."""

    def __init__(self, data: Path):
        # customer_id -> (row index); per row: id, name, country
        self.customer_index: dict[int, int] = {}
        self.customer_ids: list[int] = []
        self.customer_names: list[str] = []
        self.customer_country: list[str] = []
        for rec in self._rows(data, "customers", ["customer_id", "name", "email", "country", "segment",
                                                   "signup_date"]):
            cid = self._id(rec, 0)
            if cid in self.customer_index:
                raise InputError("customers: customer_id is not unique")
            self.customer_index[cid] = len(self.customer_ids)
            self.customer_ids.append(cid)
            self.customer_names.append(self._text(rec, 1))
            country = ascii_upper(self._text(rec, 3).strip(UNICODE_WS))
            if not re.fullmatch(r"[A-Z]{2}", country):
                raise InputError(f"customers: country {country!r} is not an ISO 3166 alpha-2 code")
            self.customer_country.append(country)
        # product_id -> category (a later duplicate row wins, like the reference's index)
        self.product_category: dict[int, str] = {}
        for rec in self._rows(data, "products", ["product_id", "name", "category", "unit_price"]):
            self.product_category[self._id(rec, 0)] = self._text(rec, 2).strip(UNICODE_WS)
        # currency (upper-case bytes) -> micro-dollars per unit (the first row of a code wins)
        self.fx_micros: dict[bytes, int] = {}
        for rec in self._rows(data, "fx_rates", ["currency", "usd_per_unit"]):
            code = ascii_upper(self._text(rec, 0).strip(UNICODE_WS)).encode()
            m = re.fullmatch(r"([0-9]{1,18})\.([0-9]{1,6})", rec[1])
            if not m:
                raise InputError(f"fx_rates: usd_per_unit {rec[1]!r} is not a decimal with 1 to 6 places")
            if len(code) != 3:
                raise InputError(f"fx_rates: currency {code!r} is not 3 letters")
            self.fx_micros.setdefault(code, int(m[1]) * 1_000_000 + int(m[2].ljust(6, "0")))
        # What the hot loop needs: customer_id -> (row, country) and product_id -> category; the currency codes
        # as they appear in clean rows (others are trimmed and upper-cased first).
        self.customers = {cid: (i, self.customer_country[i]) for cid, i in self.customer_index.items()}
        self.fx_fast = dict(self.fx_micros)

    @staticmethod
    def _rows(data: Path, name: str, header: list[str]):
        path = find_table(data, name)
        with open_bytes(path) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
            rows = csv.reader(text)
            got = next(rows, None)
            if got is None or [f.removeprefix("\ufeff") for f in got] != header:
                raise InputError(f"{path}: expected the header {','.join(header)}")
            for rec in rows:
                if not rec:
                    continue  # a blank line is not a record
                if len(rec) != len(header):
                    raise InputError(f"{path}:{rows.line_num}: expected {len(header)} fields, found {len(rec)}")
                yield rec

    @staticmethod
    def _id(rec: list[str], i: int) -> int:
        if not re.fullmatch(r"[0-9]{1,18}", rec[i]):
            raise InputError(f"field {i + 1} is not an id: {rec[i]!r}")
        return int(rec[i])

    @staticmethod
    def _text(rec: list[str], i: int) -> str:
        try:
            rec[i].encode("utf-8")  # surrogates stand for bytes that were not UTF-8
        except UnicodeEncodeError:
            raise InputError(f"field {i + 1} is not UTF-8: {rec[i]!r}") from None
        return rec[i]


# ---------------------------------------------------------------------------------------------------------
# Reading records


# Records end with `\n` only (the spec): a lone `\r` is data, as in the reference.
_FIELD_END = re.compile(rb"[,\n]")


def parse_quoted(buf: bytes, pos: int, n: int):
    """One record from `pos` that holds a quote, read like csv-core reads it. Returns (fields, end), where
    `end` is just past the record's line break; `end == n` when the data ran out first (end of file, or an
    incomplete record if more data is to come)."""
    fields = []
    find = buf.find
    search = _FIELD_END.search
    while True:
        if pos < n and buf[pos] == 34:  # a quoted field: up to the closing quote, `""` is one quote
            pos += 1
            parts = []
            while True:
                q = find(b'"', pos)
                if q < 0:  # the data ends inside the quotes
                    parts.append(buf[pos:n])
                    fields.append(b"".join(parts))
                    return fields, n
                parts.append(buf[pos:q])
                pos = q + 1
                if pos < n and buf[pos] == 34:
                    parts.append(b'"')
                    pos += 1
                else:
                    break
            # Anything between the closing quote and the next delimiter is kept, quotes included.
            m = search(buf, pos)
            k = m.start() if m else n
            parts.append(buf[pos:k])
            field = b"".join(parts)
        else:  # an unquoted field: a quote in it is an ordinary character
            m = search(buf, pos)
            k = m.start() if m else n
            field = buf[pos:k]
        fields.append(field)
        if k >= n:
            return fields, n
        if buf[k] == 44:  # ,
            pos = k + 1
            continue
        # \n ends the record; the \r of a \r\n is not part of the last field
        if k > 0 and buf[k - 1] == 13 and fields[-1].endswith(b"\r"):
            fields[-1] = fields[-1][:-1]
        return fields, k + 1


def next_record(buf: bytes, pos: int, n: int):
    """The record at `pos` (a record start, not a blank line): (fields, end)."""
    nl = buf.find(b"\n", pos)
    stop = n if nl < 0 else nl
    if buf.find(b'"', pos, stop) >= 0:
        return parse_quoted(buf, pos, n)
    line = buf[pos:stop]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line.split(b","), (n if nl < 0 else nl + 1)


def ends_in_quotes(raw: bytes) -> bool:
    """True when the record `raw` ends inside a quoted field. Quotes are read as csv-core reads them: one opens a
    quoted field only at the start of a field (elsewhere it is an ordinary character, as in `an 8" pipe`);
    inside, `""` is a quote and a single one closes the field."""
    inside = False
    q = raw.find(b'"')
    while q >= 0:
        if inside:
            if raw[q + 1:q + 2] == b'"':
                q = raw.find(b'"', q + 2)
                continue
            inside = False
        elif q == 0 or raw[q - 1] == 44:
            inside = True
        q = raw.find(b'"', q + 1)
    return inside


def skip_blank(buf: bytes, pos: int, n: int) -> int:
    while pos < n and buf[pos] in (10, 13):
        pos += 1
    return pos


def shown_raw(raw: bytes) -> str:
    """The record as rejects.csv shows it: without its line break, cut to 200 bytes, lossily decoded."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw[:RAW_LIMIT].decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------------------
# The rules


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (works for year 0 too, unlike datetime)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def format_day(day: int) -> str:
    y, m, d = civil_from_days(day)
    return f"{y:04}-{m:02}-{d:02}"


_TS = re.compile(rb"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})")
_DATE_CACHE: dict[bytes, int | None] = {}
_ZONE_CACHE: dict[bytes, int | None] = {}


def _date_days(s: bytes) -> int | None:
    y, m, d = int(s[0:4]), int(s[5:7]), int(s[8:10])
    if not 1 <= m <= 12 or d == 0:
        return None
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    dim = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[m - 1]
    return days_from_civil(y, m, d) if d <= dim else None


def _zone_minutes(z: bytes) -> int | None:
    if z == b"Z":
        return 0
    oh, om = int(z[1:3]), int(z[4:6])
    if oh > 23 or om > 59:
        return None
    return -(oh * 60 + om) if z[0] == 45 else oh * 60 + om


def utc_day(ts: bytes) -> int | None:
    """The UTC day (days since 1970-01-01) of `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`, or None."""
    m = _TS.fullmatch(ts)
    if m is None:
        return None
    date, hh, mi, ss, zone = m.groups()
    days = _DATE_CACHE.get(date, -1)
    if days == -1:
        days = _DATE_CACHE[date] = _date_days(date)
    off = _ZONE_CACHE.get(zone, -1)
    if off == -1:
        off = _ZONE_CACHE[zone] = _zone_minutes(zone)
    h, mi = int(hh), int(mi)
    if days is None or off is None or h > 23 or mi > 59 or int(ss) > 59:
        return None
    return (days * 1440 + h * 60 + mi - off) // 1440


def uint(s: bytes) -> bool:
    """`[0-9]{1,18}` (bytes.isdigit is ASCII-only and false for b"")."""
    return s.isdigit() and len(s) <= 18


def check(f: list[bytes], raw: bytes, tail: bool, cut_short: bool, dims: Dimensions):
    """The spec's rules, in order. Returns (order_id, usd_cents, day, customer_row, units, country, category,
    cancelled) for a valid record; raises Rejected otherwise."""
    if tail:
        if ends_in_quotes(raw):
            raise Rejected("unterminated_quote")
        if cut_short and len(f) != 10:
            raise Rejected("truncated_row")
    if len(f) != 10:
        raise Rejected("field_count")
    if not raw.isascii():
        for i, x in enumerate(f):
            try:
                x.decode("utf-8")
            except UnicodeDecodeError:
                raise Rejected("invalid_utf8", ORDER_COLUMNS[i]) from None
    oid, cid, pid, qty, price, disc, cur, ts, status, _notes = f
    if not uint(oid):
        raise Rejected("bad_number", "order_id")
    if not uint(cid):
        raise Rejected("bad_number", "customer_id")
    if not uint(pid):
        raise Rejected("bad_number", "product_id")
    if not uint(qty[1:] if qty[:1] == b"-" else qty):
        raise Rejected("bad_number", "quantity")
    n = len(price)
    if n < 4 or price[n - 3] != 46 or not uint(price[:n - 3]) or not price[n - 2:].isdigit():
        raise Rejected("bad_number", "unit_price")
    price_cents = int(price[:n - 3]) * 100
    if price_cents > U64_MAX or price_cents + int(price[n - 2:]) > U64_MAX:  # the reference's checked_mul/add
        raise Rejected("bad_number", "unit_price")
    price_cents += int(price[n - 2:])
    dot = disc.find(b".")
    if dot < 0:
        whole, frac = disc, b""
    else:
        whole, frac = disc[:dot], disc[dot + 1:]
        if not 1 <= len(frac) <= 2 or not uint(frac):
            raise Rejected("bad_number", "discount_pct")
    if not uint(whole) or int(whole) * 100 > U64_MAX:
        raise Rejected("bad_number", "discount_pct")
    bp = int(whole) * 100 + (int(frac) * (10 if len(frac) == 1 else 1) if frac else 0)
    if bp > 10_000:
        raise Rejected("bad_number", "discount_pct")
    quantity = int(qty)
    if quantity <= 0:
        raise Rejected("bad_quantity", "quantity")
    day = utc_day(ts)
    if day is None:
        raise Rejected("bad_timestamp", "order_ts")
    cancelled = STATUSES.get(status.strip(b" \t").lower())
    if cancelled is None:
        raise Rejected("unknown_status", "status")
    code = cur.strip(b" \t")
    rate = dims.fx_micros.get(code.upper()) if len(code) == 3 else None
    if rate is None:
        raise Rejected("unknown_currency", "currency")
    customer = dims.customers.get(int(cid))
    if customer is None:
        raise Rejected("orphan_customer", "customer_id")
    category = dims.product_category.get(int(pid))
    if category is None:
        raise Rejected("orphan_product", "product_id")
    gross = price_cents * quantity
    if gross > U64_MAX:
        raise Rejected("bad_number", "unit_price")
    net = (gross * (10_000 - bp) + 5_000) // 10_000
    usd = (net * rate + 500_000) // 1_000_000
    if usd > U64_MAX:
        raise Rejected("bad_number", "unit_price")
    # The reference keeps units as u32 (saturating); see the README of the solutions.
    units = quantity if quantity <= U32_MAX else U32_MAX
    return int(oid), usd, day, customer[0], units, customer[1], category, cancelled


# ---------------------------------------------------------------------------------------------------------
# Outputs


def csv_field(s: str) -> str:
    """Minimal RFC 4180 quoting, as the csv crate writes: quote a field holding `,` `"` CR or LF. (Python's
    csv module does not quote a lone CR when the line terminator is LF, so it is not used for writing.)"""
    if "," in s or '"' in s or "\n" in s or "\r" in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


class Totals:
    """Counts and aggregates, with "first occurrence wins" on order_id."""

    def __init__(self, files: int):
        self.files = files
        self.bytes_read = 0
        self.rows_read = 0
        self.valid = 0
        self.rejected = 0
        self.by_kind = dict.fromkeys(REJECT_KINDS, 0)
        self.duplicates = 0
        self.cancelled = 0
        self.daily: dict[tuple[int, str, str], list[int]] = {}  # (day, country, category) -> orders, units, cents
        self.per_customer: dict[int, list[int]] = {}  # customer row -> orders, cents
        self.seen = bytearray()  # bitmap of order ids (ids are dense from 1)
        self.seen_far: set[int] = set()  # ids too large for the bitmap

    BITMAP_LIMIT = 1 << 33  # as the reference: beyond, a set

    def first_time(self, oid: int) -> bool:
        """Marks `oid` as seen; False when it already was."""
        if oid >= self.BITMAP_LIMIT:
            if oid in self.seen_far:
                return False
            self.seen_far.add(oid)
            return True
        i, bit = oid >> 3, 1 << (oid & 7)
        seen = self.seen
        if i >= len(seen):
            seen.extend(bytes(max(i + 1 - len(seen), len(seen))))
        b = seen[i]
        if b & bit:
            return False
        seen[i] = b | bit
        return True

    def add(self, v) -> None:
        """A valid record (check()'s tuple)."""
        oid, usd, day, cust, units, country, category, cancelled = v
        if not self.first_time(oid):
            self.duplicates += 1
            return
        self.valid += 1
        if cancelled:
            self.cancelled += 1
            return
        a = self.daily.get((day, country, category))
        if a is None:
            self.daily[(day, country, category)] = [1, units, usd]
        else:
            a[0] += 1
            a[1] += units
            a[2] += usd
        c = self.per_customer.get(cust)
        if c is None:
            self.per_customer[cust] = [1, usd]
        else:
            c[0] += 1
            c[1] += usd

    def write(self, out: Path, dims: Dimensions, engine: str, started: float) -> dict:
        """daily_revenue.csv, top_customers.csv, then summary.json (last). Returns the summary."""
        sat = lambda x: min(x, U64_MAX)  # noqa: E731 - the reference's sums saturate at 2^64 - 1
        daily = sorted((format_day(day), country, category, a) for (day, country, category), a in self.daily.items()
                       if a[0] > 0)
        lines = ["date,country,category,orders,units,revenue_usd_cents\n"]
        lines += [f"{d},{c},{k},{a[0]},{a[1]},{sat(a[2])}\n" for d, c, k, a in daily]
        write_atomic(out / "daily_revenue.csv", "".join(lines))
        ranked = sorted(((-sat(c[1]), dims.customer_ids[i], i, c) for i, c in self.per_customer.items() if c[0] > 0))
        lines = ["rank,customer_id,name,country,orders,revenue_usd_cents\n"]
        for rank, (_, cid, i, c) in enumerate(ranked[:TOP_CUSTOMERS], 1):
            lines.append(f"{rank},{cid},{csv_field(dims.customer_names[i])},{dims.customer_country[i]},"
                         f"{c[0]},{sat(c[1])}\n")
        write_atomic(out / "top_customers.csv", "".join(lines))
        elapsed = time.perf_counter() - started
        summary = {
            "engine": engine,
            "files": self.files,
            "bytes_read": self.bytes_read,
            "rows_read": self.rows_read,
            "valid": self.valid,
            "rejected": self.rejected,
            "rejected_by_kind": dict(sorted(self.by_kind.items())),
            "duplicates_dropped": self.duplicates,
            "cancelled": self.cancelled,
            "revenue_usd_cents": sat(sum(sat(a[2]) for a in self.daily.values())),
            "elapsed_seconds": round(elapsed, 3),
            "mb_per_s": round(self.bytes_read / 1e6 / max(elapsed, 1e-9), 3),
        }
        write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
        return summary


class RejectsWriter:
    """rejects.csv, streamed to a temporary file and renamed when the run succeeds."""

    def __init__(self, out: Path):
        self.path = out / "rejects.csv"
        self.tmp = out / ".rejects.csv.tmp"
        self.f = open(self.tmp, "w", encoding="utf-8", newline="")
        self.f.write("file,line,byte_offset,column,kind,raw\n")

    def write(self, file: str, line: int, offset: int, column: str, kind: str, raw: str) -> None:
        self.f.write(f"{csv_field(file)},{line},{offset},{column},{kind},{csv_field(raw)}\n")

    def commit(self) -> None:
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.f.close()
        self.tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------
# The record loop (shared with multiprocessing_chunks.py)

# A record whose fields 1-9 are plainly well formed and whose notes are plain or properly quoted, up to its
# line break: nearly every record. It is read with one regex match; the few that do not match (or fail a
# value check) go through the reader and check(), which give the reject kind.
_FAST = re.compile(
    rb'([0-9]{1,18}),([0-9]{1,18}),([0-9]{1,18}),([0-9]{1,18}),([0-9]{1,16})\.([0-9]{2}),'
    rb'([0-9]{1,18})(?:\.([0-9]{1,2}))?,([^,"\r\n]*),'
    rb'([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}),'
    rb'([^,"\r\n]*),(?:[^,"\r\n]*|"(?:[^"]|"")*")\r?\n')
_STATUS_CACHE: dict[bytes, object] = dict(STATUSES)
_CACHE_LIMIT = 100_000


def _cached(cache: dict, key, compute):
    v = cache.get(key, cache)
    if v is cache:
        v = compute(key)
        if len(cache) < _CACHE_LIMIT:
            cache[key] = v
    return v


def fast_check(g: tuple, dims: Dimensions):
    """check() for a record _FAST matched (so rules 1-3 and 5's syntax hold): the valid tuple, or None when
    some rule may fail (then check() decides)."""
    oid, cid, pid, qty, units, cents, whole, frac, cur, date, hh, mi, ss, zone, status = g
    quantity = int(qty)
    bp = int(whole) * 100 + ((int(frac) * 10 if len(frac) == 1 else int(frac)) if frac else 0)
    if quantity == 0 or bp > 10_000:
        return None
    days = _DATE_CACHE.get(date, False)
    if days is False:
        days = _cached(_DATE_CACHE, date, _date_days)
    off = _ZONE_CACHE.get(zone, False)
    if off is False:
        off = _cached(_ZONE_CACHE, zone, _zone_minutes)
    h, m = int(hh), int(mi)
    if days is None or off is None or h > 23 or m > 59 or int(ss) > 59:
        return None
    cancelled = _STATUS_CACHE.get(status, False)
    if cancelled is False and status not in _STATUS_CACHE:
        cancelled = _cached(_STATUS_CACHE, status, lambda s: STATUSES.get(s.strip(b" \t").lower()))
    rate = dims.fx_fast.get(cur)
    if rate is None:
        code = cur.strip(b" \t")
        rate = dims.fx_micros.get(code.upper()) if len(code) == 3 else None
    customer = dims.customers.get(int(cid))
    category = dims.product_category.get(int(pid))
    if cancelled is None or rate is None or customer is None or category is None:
        return None
    gross = (int(units) * 100 + int(cents)) * quantity
    usd = ((gross * (10_000 - bp) + 5_000) // 10_000 * rate + 500_000) // 1_000_000
    if gross > U64_MAX or usd > U64_MAX:
        return None
    return (int(oid), usd, (days * 1440 + h * 60 + m - off) // 1440, customer[0],
            quantity if quantity <= U32_MAX else U32_MAX, customer[1], category, cancelled)


def scan_records(buf: bytes, pos: int, final: bool, file_end: bool, dims: Dimensions, on_valid, on_reject):
    """Runs every record of buf[pos:] through the rules: on_valid(tuple) or on_reject(start, end, Rejected).

    `final`: buf ends where the input (file or chunk) ends; otherwise the loop stops before a record that
    reaches the end of buf (it may be incomplete). `file_end`: the end of buf is the end of the file (the
    last record gets the tail rules). Returns (position of the first unprocessed byte, records processed)."""
    n = len(buf)
    cut_short = file_end and not buf.endswith(b"\n")
    fast = _FAST.match
    all_ascii = buf.isascii()
    rows = 0
    pos = skip_blank(buf, pos, n)
    while pos < n:
        m = fast(buf, pos)
        if m is not None:
            end = m.end()
            after = end if end < n and buf[end] not in (10, 13) else skip_blank(buf, end, n)
            if after < n:
                raw_ok = True
                if not all_ascii and not buf[pos:end].isascii():
                    try:
                        buf[pos:end].decode("utf-8")
                    except UnicodeDecodeError:
                        raw_ok = False
                v = fast_check(m.groups(), dims) if raw_ok else None
                if v is not None:
                    rows += 1
                    on_valid(v)
                    pos = after
                    continue
        fields, end = next_record(buf, pos, n)
        after = skip_blank(buf, end, n)
        if after >= n and not final:
            break  # the record may be incomplete, or the file's last: decide with more data
        rows += 1
        raw = buf[pos:end]
        tail = file_end and after >= n
        try:
            on_valid(check(fields, raw, tail, tail and cut_short, dims))
        except Rejected as r:
            on_reject(pos, end, r)
        pos = after
    return pos, rows


def read_header(buf: bytes, final: bool, path) -> int | None:
    """Position just past the header record (after a BOM), None if buf is too short to tell. Raises
    InputError for a wrong header. A file with no record at all has no header and no rows."""
    n = len(buf)
    if not final and len(buf) < 3 and BOM.startswith(buf):
        return None
    pos = skip_blank(buf, 3 if buf.startswith(BOM) else 0, n)
    if pos >= n:
        return n if final else None
    fields, end = next_record(buf, pos, n)
    after = skip_blank(buf, end, n)
    if after >= n and not final:
        return None
    if fields != ORDER_HEADER:
        raise InputError(f"{path}:1: expected the header {','.join(ORDER_COLUMNS)}")
    return after


# ---------------------------------------------------------------------------------------------------------
# The streaming run


def stream_file(path: Path, rel: str, dims: Dimensions, totals: Totals, rejects: RejectsWriter) -> None:
    """Reads one fact file in blocks and feeds every record through the rules into the totals."""
    by_kind = totals.by_kind
    with open_bytes(path) as fh:
        buf = b""
        base = 0  # file offset of buf[0]
        pos = None  # next record (or blank line) in buf; None until the header is read
        lines = 0  # newlines in the file before buf[line_pos]
        line_pos = 0

        def on_reject(start: int, end: int, r: Rejected) -> None:
            nonlocal lines, line_pos
            lines += buf.count(b"\n", line_pos, start)
            line_pos = start
            totals.rejected += 1
            by_kind[r.kind] += 1
            rejects.write(rel, lines + 1, base + start, r.column, r.kind, shown_raw(buf[start:end]))

        eof = False
        while not eof:
            chunk = fh.read(BLOCK_SIZE)
            totals.bytes_read += len(chunk)
            eof = not chunk
            if pos:  # drop what was consumed
                lines += buf.count(b"\n", line_pos, pos)
                base += pos
                buf, pos, line_pos = buf[pos:], 0, 0
            buf += chunk
            if pos is None:
                pos = read_header(buf, eof, path)
                if pos is None:
                    continue
            pos, rows = scan_records(buf, pos, eof, eof, dims, totals.add, on_reject)
            totals.rows_read += rows


def run(data: Path, out: Path) -> dict:
    started = time.perf_counter()
    dims = Dimensions(data)
    files = fact_files(data)
    out.mkdir(parents=True, exist_ok=True)
    totals = Totals(len(files))
    rejects = RejectsWriter(out)
    try:
        for path in files:
            stream_file(path, f"orders/{path.name}", dims, totals, rejects)
    except BaseException:
        rejects.abort()
        raise
    rejects.commit()
    return totals.write(out, dims, "python-streaming-csv", started)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} INPUT_DIR OUTPUT_DIR", file=sys.stderr)
        return 2
    try:
        s = run(Path(argv[1]), Path(argv[2]))
    except InputError as e:
        print(f"streaming_csv: {e}", file=sys.stderr)
        return 1
    print(f"{s['rows_read']} rows: {s['valid']} valid, {s['rejected']} rejected, "
          f"{s['duplicates_dropped']} duplicates, in {s['elapsed_seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
