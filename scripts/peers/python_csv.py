#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise (exercises/etl_10gb/README.md) as a plain, single-process Python program: the
standard library's csv module, one record at a time, exact integer arithmetic. A benchmark peer of
`etlkit pipeline` (scripts/bench-pipeline): what a careful engineer writes without a data-frame library.

Usage: python_csv.py INPUT_DIR OUTPUT_DIR

Writes daily_revenue.csv, top_customers.csv (byte for byte the reference's on any dataset) and summary.json
(counts; rejected_by_kind for every kind). Implements every validation rule; what it leaves out is
rejects.csv (the reject rules' line numbers, byte offsets and raw text). Reads .csv and .csv.gz; .csv.zst
only when the `zstandard` package is installed.
"""

import csv
import gzip
import io
import json
import os
import sys
import time
from pathlib import Path

HEADER = ["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct", "currency",
          "order_ts", "status", "notes"]
STATUSES = {"placed", "paid", "shipped", "delivered", "cancelled", "returned"}
KINDS = ["bad_number", "bad_quantity", "bad_timestamp", "field_count", "invalid_utf8", "orphan_customer",
         "orphan_product", "truncated_row", "unknown_currency", "unknown_status", "unterminated_quote"]
U64 = 2**64 - 1
csv.field_size_limit(1 << 30)


def open_text(path: Path):
    """Text of a CSV file: BOM dropped; invalid UTF-8 kept as surrogate escapes (and rejected per record)."""
    name = path.name
    if name.endswith(".gz"):
        raw = gzip.open(path, "rb")
    elif name.endswith(".zst"):
        import zstandard  # optional: not in the standard library
        raw = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True)
    else:
        raw = open(path, "rb")
    return io.TextIOWrapper(io.BufferedReader(raw, 1 << 20) if name.endswith(".zst") else raw,
                            encoding="utf-8-sig", errors="surrogateescape", newline="")


def find_table(data: Path, name: str) -> Path:
    for ext in ("csv", "csv.gz", "csv.zst"):
        if (data / f"{name}.{ext}").is_file():
            return data / f"{name}.{ext}"
    sys.exit(f"python_csv: {data / name}.csv: not found")


def uint(s: str):
    """`[0-9]{1,18}` as an int, else None."""
    return int(s) if 0 < len(s) <= 18 and s.isascii() and s.isdigit() else None


def days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def civil(z: int) -> str:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return f"{yoe + era * 400 + (m <= 2):04d}-{m:02d}-{d:02d}"


MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
_date_cache: dict = {}


def local_day(s: str):
    """Days since 1970-01-01 of `YYYY-MM-DD`, or None when it is not a real date."""
    v = _date_cache.get(s, -1)
    if v != -1:
        return v
    v = None
    if s[4] == "-" and s[7] == "-":
        y, m, d = uint(s[0:4]) if len(s[0:4]) == 4 else None, uint(s[5:7]), uint(s[8:10])
        if y is not None and m is not None and d is not None and 1 <= m <= 12:
            leap = m == 2 and (y % 4 == 0 and y % 100 != 0 or y % 400 == 0)
            if 1 <= d <= MONTH_DAYS[m - 1] + leap:
                v = days_from_civil(y, m, d)
    _date_cache[s] = v
    return v


def utc_day(ts: str):
    """The UTC day of `YYYY-MM-DDTHH:MM:SS[.f](Z|+HH:MM|-HH:MM)`, or None."""
    if len(ts) < 20 or ts[10] != "T" or ts[13] != ":" or ts[16] != ":":
        return None
    day = local_day(ts[:10])
    if day is None:
        return None
    hh, mi, ss = ts[11:13], ts[14:16], ts[17:19]
    if not (len(hh + mi + ss) == 6 and (hh + mi + ss).isascii() and (hh + mi + ss).isdigit()):
        return None
    h, m = int(hh), int(mi)
    if h > 23 or m > 59 or int(ss) > 59:
        return None
    rest = ts[19:]
    if rest[:1] == ".":
        n = 1
        while n < len(rest) and rest[n].isascii() and rest[n].isdigit():
            n += 1
        if n == 1:
            return None
        rest = rest[n:]
    if rest == "Z":
        off = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
        oh, om = uint(rest[1:3]), uint(rest[4:6])
        if oh is None or om is None or len(rest[1:3]) != 2 or oh > 23 or om > 59:
            return None
        off = (oh * 60 + om) * (-1 if rest[0] == "-" else 1)
    else:
        return None
    return (day * 1440 + h * 60 + m - off) // 1440


def read_dim(data: Path, name: str, header):
    with open_text(find_table(data, name)) as f:
        r = csv.reader(f)
        if next(r) != header:
            sys.exit(f"python_csv: {name}: expected the header {','.join(header)}")
        yield from r


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    started = time.perf_counter()
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    customers = {}  # id -> (name, country)
    for rec in read_dim(data, "customers", ["customer_id", "name", "email", "country", "segment", "signup_date"]):
        customers[int(rec[0])] = (rec[1], rec[3].strip().upper())
    category = {int(rec[0]): rec[2].strip()
                for rec in read_dim(data, "products", ["product_id", "name", "category", "unit_price"])}
    fx = {}
    for code, rate in read_dim(data, "fx_rates", ["currency", "usd_per_unit"]):
        whole, frac = rate.split(".")
        fx[code.strip().upper()] = int(whole) * 1_000_000 + int(frac.ljust(6, "0"))

    files = sorted((p for p in (data / "orders").iterdir()
                    if p.name.startswith("part-") and p.name.endswith((".csv", ".csv.gz", ".csv.zst"))),
                   key=lambda p: p.name.encode())
    seen = bytearray()
    seen_far = set()
    daily: dict = {}
    per_customer: dict = {}
    rejected = dict.fromkeys(KINDS, 0)
    rows = dups = valid = cancelled = 0
    for path in files:
        with open_text(path) as f:
            raw_tail = None
            r = csv.reader(f, strict=False)
            try:
                if next(r) != HEADER:
                    sys.exit(f"python_csv: {path}:1: expected the header {','.join(HEADER)}")
            except StopIteration:
                continue
            records = iter(r)
            rec = next(records, None)
            while rec is not None:
                nxt = next(records, None)
                rows += 1
                kind = None
                if nxt is None:
                    # The file's last record: an unterminated quote or a cut record (rules 1 and 2); the csv
                    # module does not say where a record's raw text ends, so look at the file's end instead.
                    raw_tail = raw_tail if raw_tail is not None else tail_state(path)
                    if raw_tail == "open_quote":
                        kind = "unterminated_quote"
                    elif raw_tail == "no_newline" and len(rec) != 10:
                        kind = "truncated_row"
                if kind is None:
                    kind, v = check(rec, customers, category, fx)
                if kind is not None:
                    rejected[kind] += 1
                else:
                    oid, cust, day, cat, qty, usd, status = v
                    if oid < 1 << 33:
                        w = oid >> 3
                        if w >= len(seen):
                            seen.extend(bytes(max(w + 1 - len(seen), len(seen))))
                        bit = 1 << (oid & 7)
                        dup = seen[w] & bit
                        seen[w] |= bit
                    else:
                        dup = oid in seen_far
                        seen_far.add(oid)
                    if dup:
                        dups += 1
                    else:
                        valid += 1
                        if status == "cancelled":
                            cancelled += 1
                        else:
                            key = (day, customers[cust][1], cat)
                            a = daily.get(key)
                            if a is None:
                                daily[key] = [1, qty, usd]
                            else:
                                a[0] += 1
                                a[1] += qty
                                a[2] += usd
                            c = per_customer.get(cust)
                            if c is None:
                                per_customer[cust] = [1, usd]
                            else:
                                c[0] += 1
                                c[1] += usd
                rec = nxt

    out.mkdir(parents=True, exist_ok=True)
    lines = ["date,country,category,orders,units,revenue_usd_cents\n"]
    total = 0
    for (day, country, cat), (o, u, cents) in sorted(daily.items(), key=lambda kv: (kv[0][0], kv[0][1].encode(), kv[0][2].encode())):
        lines.append(f"{civil(day)},{country},{cat},{o},{u},{cents}\n")
        total += cents
    write(out / "daily_revenue.csv", "".join(lines))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", "customer_id", "name", "country", "orders", "revenue_usd_cents"])
    top = sorted(per_customer.items(), key=lambda kv: (-kv[1][1], kv[0]))[:100]
    for rank, (cust, (o, cents)) in enumerate(top, 1):
        name, country = customers[cust]
        w.writerow([rank, cust, name, country, o, cents])
    write(out / "top_customers.csv", buf.getvalue())
    summary = {"engine": "python-csv", "files": len(files), "rows_read": rows, "valid": valid,
               "rejected": sum(rejected.values()), "rejected_by_kind": rejected, "duplicates_dropped": dups,
               "cancelled": cancelled, "revenue_usd_cents": total,
               "elapsed_seconds": round(time.perf_counter() - started, 3)}
    write(out / "summary.json", json.dumps(summary, indent=2) + "\n")


def tail_state(path: Path) -> str:
    """How a file ends: inside a quoted field (an odd number of quotes in all), without a newline, or fine."""
    quotes = 0
    last = b"\n"
    opener = gzip.open if path.name.endswith(".gz") else open
    if path.name.endswith(".zst"):
        import zstandard
        f = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True)
    else:
        f = opener(path, "rb")
    with f:
        while chunk := f.read(1 << 24):
            quotes += chunk.count(b'"')
            last = chunk[-1:]
    if quotes % 2:
        return "open_quote"
    return "ok" if last == b"\n" else "no_newline"


def check(rec, customers, category, fx):
    """(kind, None) for a rejected record, (None, values) for a valid one; rules 3 to 11 in order."""
    if len(rec) != 10:
        return "field_count", None
    for f in rec:
        if not f.isascii():
            try:
                f.encode("utf-8")
            except UnicodeEncodeError:
                return "invalid_utf8", None
    oid, cust, prod = uint(rec[0]), uint(rec[1]), uint(rec[2])
    if oid is None or cust is None or prod is None:
        return "bad_number", None
    q = rec[3]
    qty = uint(q[1:]) if q[:1] == "-" else uint(q)
    if qty is None:
        return "bad_number", None
    if q[:1] == "-":
        qty = -qty
    p = rec[4]
    price = uint(p[:-3]) if len(p) >= 4 and p[-3] == "." else None
    cents = uint(p[-2:]) if price is not None and len(p[-2:]) == 2 else None
    if cents is None or price * 100 + cents > U64:
        return "bad_number", None
    price = price * 100 + cents
    d = rec[5]
    whole, dot, frac = d.partition(".")
    w, fr = uint(whole), (uint(frac) if dot else 0)
    if w is None or fr is None or (dot and not 1 <= len(frac) <= 2):
        return "bad_number", None
    bp = w * 100 + (fr * 10 if len(frac) == 1 else fr)
    if bp > 10_000:
        return "bad_number", None
    if qty <= 0:
        return "bad_quantity", None
    day = utc_day(rec[7])
    if day is None:
        return "bad_timestamp", None
    status = rec[8].strip(" \t")
    status = status.lower() if status.isascii() else status
    if status not in STATUSES:
        return "unknown_status", None
    cur = rec[6].strip(" \t")
    rate = fx.get(cur.upper()) if cur.isascii() else None
    if rate is None:
        return "unknown_currency", None
    if cust not in customers:
        return "orphan_customer", None
    cat = category.get(prod)
    if cat is None:
        return "orphan_product", None
    gross = price * qty
    usd = ((gross * (10_000 - bp) + 5_000) // 10_000 * rate + 500_000) // 1_000_000
    if gross > U64 or usd > U64:
        return "bad_number", None
    return None, (oid, cust, day, cat, qty, usd, status)


def write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
