#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise with the join written as a nested loop: correct, and quadratic.

Usage: python nested_loop.py INPUT_DIR OUTPUT_DIR

Approach: read the dimension tables into *lists* of rows, stream the fact files with the `csv` module, and
for every order find its customer and its product by scanning those lists from the top. Everything else is
sensible (integer cents, a set for "first occurrence wins", dict aggregates).

The lesson: the join costs O(orders x customers). With the generator's sizes (customers = rows / 50) that is
O(rows^2 / 100): 20 k orders take a second, 200 k orders a couple of minutes, 10 GB (122 M orders x 2.4 M
customers, ~10^14 comparisons) would take years. Putting the customers in a dict (a hash join, as
streaming_csv.py does) makes each lookup O(1); that one line is the whole difference.

Limits on dirty data (exact on clean data): it reads text with the `csv` module, so it has no byte offsets
(`byte_offset` is empty in rejects.csv), counts lines from the reader, replaces invalid UTF-8 with U+FFFD
(rule 4 is reported when a field holds U+FFFD), and applies no tail rules (truncated row, unterminated quote).
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
from datetime import datetime, timedelta, timezone
from pathlib import Path

ORDER_COLUMNS = ["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct", "currency",
                 "order_ts", "status", "notes"]
KINDS = ["field_count", "truncated_row", "unterminated_quote", "invalid_utf8", "bad_number", "bad_quantity",
         "bad_timestamp", "unknown_status", "unknown_currency", "orphan_customer", "orphan_product"]
STATUSES = {"placed", "paid", "shipped", "delivered", "cancelled", "returned"}
TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def open_text(path: Path):
    if path.name.endswith(".zst"):
        import zstandard
        raw = zstandard.open(path, "rb")
    else:
        raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def rows(data: Path, name: str):
    for ext in ("csv", "csv.gz", "csv.zst"):
        if (data / f"{name}.{ext}").exists():
            with open_text(data / f"{name}.{ext}") as f:
                r = csv.reader(f)
                next(r)
                yield from (row for row in r if row)
            return
    sys.exit(f"nested_loop: {name}.csv not found in {data}")


def quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\r\n') else s


def write(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def check(row: list[str], customers: list, products: list, fx: list):
    """The rules in order; returns (kind, column) or the cleaned values."""
    if len(row) != 10:
        return ("field_count", "")
    for name, value in zip(ORDER_COLUMNS, row):
        if "\ufffd" in value:
            return ("invalid_utf8", name)
    oid, cid, pid, qty, price, disc, cur, ts, status, _ = row
    for name, value in (("order_id", oid), ("customer_id", cid), ("product_id", pid)):
        if not re.fullmatch(r"[0-9]{1,18}", value):
            return ("bad_number", name)
    if not re.fullmatch(r"-?[0-9]{1,18}", qty):
        return ("bad_number", "quantity")
    if not re.fullmatch(r"[0-9]{1,18}\.[0-9]{2}", price):
        return ("bad_number", "unit_price")
    m = re.fullmatch(r"([0-9]{1,18})(?:\.([0-9]{1,2}))?", disc)
    if not m or int(m[1]) * 100 + int((m[2] or "0").ljust(2, "0")) > 10_000:
        return ("bad_number", "discount_pct")
    bp = int(m[1]) * 100 + int((m[2] or "0").ljust(2, "0"))
    if int(qty) <= 0:
        return ("bad_quantity", "quantity")
    try:
        if not TS.fullmatch(ts):
            raise ValueError(ts)
        day = (datetime.fromisoformat(ts.replace("Z", "+00:00")) - EPOCH).days
    except ValueError:
        return ("bad_timestamp", "order_ts")
    status = status.strip(" \t").lower()
    if status not in STATUSES or not status.isascii():
        return ("unknown_status", "status")
    code = cur.strip(" \t").upper()
    rate = next((micros for c, micros in fx if c == code), None) if cur.isascii() else None
    if rate is None:
        return ("unknown_currency", "currency")
    customer = None
    for c in customers:  # <- the nested loop: O(customers) per order
        if c[0] == int(cid):
            customer = c
            break
    if customer is None:
        return ("orphan_customer", "customer_id")
    product = None
    for p in products:  # <- and O(products) per order
        if p[0] == int(pid):
            product = p
            break
    if product is None:
        return ("orphan_product", "product_id")
    gross = int(price.replace(".", "")) * int(qty)
    usd = ((gross * (10_000 - bp) + 5_000) // 10_000 * rate + 500_000) // 1_000_000
    return int(oid), usd, day, customer, product[1], int(qty), status == "cancelled"


def main(data: Path, out: Path) -> None:
    started = time.perf_counter()
    customers = [(int(r[0]), r[1], r[3].strip().upper()) for r in rows(data, "customers")]
    products = [(int(r[0]), r[2].strip()) for r in rows(data, "products")]
    fx = [(r[0].strip().upper(), int(r[1].split(".")[0]) * 1_000_000 + int(r[1].split(".")[1].ljust(6, "0")))
          for r in rows(data, "fx_rates")]
    files = sorted((p for p in (data / "orders").iterdir() if p.name.startswith("part-")), key=lambda p: p.name)
    out.mkdir(parents=True, exist_ok=True)
    seen: set[int] = set()
    daily: dict[tuple, list[int]] = {}
    per_customer: dict[int, list] = {}
    counts = dict.fromkeys(["rows", "valid", "duplicates", "cancelled"], 0)
    by_kind = dict.fromkeys(KINDS, 0)
    rejects = ["file,line,byte_offset,column,kind,raw\n"]
    bytes_read = 0
    for path in files:
        with open_text(path) as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header not in (None, ORDER_COLUMNS):
                sys.exit(f"nested_loop: {path}: expected the header {','.join(ORDER_COLUMNS)}")
            line = reader.line_num + 1
            for row in reader:
                if not row:
                    line = reader.line_num + 1
                    continue
                counts["rows"] += 1
                v = check(row, customers, products, fx)
                if len(v) == 2:
                    by_kind[v[0]] += 1
                    raw = ",".join(quote(x) for x in row).encode()[:200].decode("utf-8", "replace")
                    rejects.append(f"orders/{path.name},{line},,{v[1]},{v[0]},{quote(raw)}\n")
                else:
                    oid, usd, day, customer, category, qty, cancelled = v
                    if oid in seen:
                        counts["duplicates"] += 1
                    else:
                        seen.add(oid)
                        counts["valid"] += 1
                        counts["cancelled"] += cancelled
                        if not cancelled:
                            a = daily.setdefault((day, customer[2], category), [0, 0, 0])
                            a[0], a[1], a[2] = a[0] + 1, a[1] + qty, a[2] + usd
                            c = per_customer.setdefault(customer[0], [customer, 0, 0])
                            c[1], c[2] = c[1] + 1, c[2] + usd
                line = reader.line_num + 1
    bytes_read = sum(uncompressed_size(p) for p in files)
    write(out / "rejects.csv", "".join(rejects))
    lines = ["date,country,category,orders,units,revenue_usd_cents\n"]
    for (day, country, category), (n, units, cents) in sorted(daily.items()):  # day order = date order
        date = (EPOCH + timedelta(days=day)).date().isoformat()
        lines.append(f"{date},{country},{category},{n},{units},{cents}\n")
    write(out / "daily_revenue.csv", "".join(lines))
    top = sorted(per_customer.values(), key=lambda c: (-c[2], c[0][0]))[:100]
    write(out / "top_customers.csv", "rank,customer_id,name,country,orders,revenue_usd_cents\n" + "".join(
        f"{i},{c[0][0]},{quote(c[0][1])},{c[0][2]},{c[1]},{c[2]}\n" for i, c in enumerate(top, 1)))
    elapsed = time.perf_counter() - started
    summary = {
        "engine": "python-nested-loop", "files": len(files), "bytes_read": bytes_read,
        "rows_read": counts["rows"], "valid": counts["valid"], "rejected": sum(by_kind.values()),
        "rejected_by_kind": dict(sorted(by_kind.items())), "duplicates_dropped": counts["duplicates"],
        "cancelled": counts["cancelled"], "revenue_usd_cents": sum(a[2] for a in daily.values()),
        "elapsed_seconds": round(elapsed, 3), "mb_per_s": round(bytes_read / 1e6 / elapsed, 3),
    }
    write(out / "summary.json", json.dumps(summary, indent=2) + "\n")


def uncompressed_size(path: Path) -> int:
    with open_text(path) as f:
        return sum(len(b) for b in iter(lambda: f.buffer.read(1 << 20), b""))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} INPUT_DIR OUTPUT_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
