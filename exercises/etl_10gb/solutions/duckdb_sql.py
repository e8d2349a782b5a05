#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise in DuckDB SQL: the rules as one query plan, out of core, on all cores.

Usage: python duckdb_sql.py INPUT_DIR OUTPUT_DIR [--memory-limit 4GB]

Approach: `read_csv` every fact file (an explicit all-VARCHAR schema: nothing is sniffed; compressed files are
read by DuckDB itself) into a table in file-name order, so `rowid` is the input order. One SQL statement then
names each record's first failing rule (a CASE over the value rules, in the spec's order), prices valid
records in HUGEINT integer cents, keeps the first occurrence of each order id (`arg_min` by rowid), joins the
dimension tables and aggregates. Python only lists files, checks headers and writes the result lines.
DuckDB spills to disk past its memory limit, so 10 GB runs on a laptop.

Speed and memory: about as fast as polars; memory bounded by `memory_limit` (default: 80% of RAM).

Limits on dirty data (exact on clean data):
- rejects.csv has no `line`/`byte_offset` (empty) and `raw` is re-assembled from the fields.
- Records the CSV reader cannot parse (wrong field count, invalid UTF-8, an unterminated quote) are skipped
  with `ignore_errors` and counted as rejected under the kind `field_count` (their real kind is not known).
  DuckDB reports them in `reject_errors`, but may resynchronise differently after a broken quote.
- Timestamps outside DuckDB's DATE range are rejected.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ORDER_COLUMNS = ["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct", "currency",
                 "order_ts", "status", "notes"]
KINDS = ["field_count", "truncated_row", "unterminated_quote", "invalid_utf8", "bad_number", "bad_quantity",
         "bad_timestamp", "unknown_status", "unknown_currency", "orphan_customer", "orphan_product"]


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def read_csv(paths: list[Path], columns: list[str], extra: str = "") -> str:
    cols = ", ".join(f"{lit(c)}: 'VARCHAR'" for c in columns)
    return (f"read_csv([{', '.join(lit(str(p)) for p in paths)}], columns = {{{cols}}}, header = true, "
            f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', compression = 'auto'{extra})")


def table(data: Path, name: str) -> Path:
    for ext in ("csv", "csv.gz", "csv.zst"):
        if (data / f"{name}.{ext}").exists():
            return data / f"{name}.{ext}"
    sys.exit(f"duckdb_sql: {name}.csv not found in {data}")


def open_bytes(path: Path):
    """The uncompressed bytes of a .csv, .csv.gz (every member) or .csv.zst (every frame)."""
    if path.name.endswith(".zst"):
        import zstandard
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(
            open(path, "rb"), read_across_frames=True, closefd=True))
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def uncompressed_size(path: Path) -> int:
    """bytes_read counts uncompressed bytes: for a compressed file that takes one more pass over it."""
    if not path.name.endswith((".gz", ".zst")):
        return path.stat().st_size
    with open_bytes(path) as f:
        return sum(len(b) for b in iter(lambda: f.read(1 << 20), b""))


def first_line(path: Path) -> bytes:
    with open_bytes(path) as f:
        return f.readline().removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")


def write(path: Path, lines: list[str], header: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(header + "\n")
        f.writelines(line + "\n" for line in lines)
    os.replace(tmp, path)


QUOTE = """CASE WHEN regexp_matches({0}, '[",\\r\\n]') THEN '"' || replace({0}, '"', '""') || '"' ELSE {0} END"""

CHECK = r"""
CREATE TEMP TABLE checked AS
WITH parsed AS (
    SELECT o.rowid AS pos, o.*,
        regexp_full_match(coalesce(order_id, ''), '[0-9]{1,18}') AS ok_order,
        regexp_full_match(coalesce(customer_id, ''), '[0-9]{1,18}') AS ok_cust,
        regexp_full_match(coalesce(product_id, ''), '[0-9]{1,18}') AS ok_prod,
        regexp_full_match(coalesce(quantity, ''), '-?[0-9]{1,18}') AS ok_qty,
        regexp_full_match(coalesce(unit_price, ''), '[0-9]{1,18}\.[0-9]{2}') AS ok_price,
        regexp_full_match(coalesce(discount_pct, ''), '[0-9]{1,18}(\.[0-9]{1,2})?') AS ok_disc,
        regexp_extract(order_ts, '^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|([+-])([0-9]{2}):([0-9]{2}))$',
                       ['d', 'h', 'mi', 's', 'frac', 'zone', 'sign', 'oh', 'om']) AS ts,
        -- ASCII case folding only (strlen counts bytes, length characters)
        CASE WHEN strlen(status) = length(status) THEN lower(trim(status, ' ' || chr(9))) END AS status_clean,
        CASE WHEN strlen(currency) = length(currency) THEN upper(trim(currency, ' ' || chr(9))) END AS code
    FROM orders o
), valued AS (
    SELECT *,
        CASE WHEN ok_qty THEN try_cast(quantity AS HUGEINT) END AS qty,
        CASE WHEN ok_price THEN try_cast(replace(unit_price, '.', '') AS HUGEINT) END AS price_cents,
        CASE WHEN ok_disc THEN try_cast(split_part(discount_pct, '.', 1) AS HUGEINT) * 100
                               + try_cast(rpad(split_part(discount_pct, '.', 2), 2, '0') AS HUGEINT) END AS bp,
        try_cast(ts.d AS DATE) AS local_date,
        try_cast(ts.h AS INT) AS h, try_cast(ts.mi AS INT) AS mi, try_cast(ts.s AS INT) AS s,
        coalesce(try_cast(ts.oh AS INT), 0) AS oh, coalesce(try_cast(ts.om AS INT), 0) AS om
    FROM parsed
), joined AS (
    SELECT v.*, fx.micros, c.customer_id AS cust, c.country, p.product_id AS prod, p.category,
        CASE WHEN price_cents <= 18446744073709551615 THEN price_cents * qty END AS gross,
        CASE WHEN ts.zone <> '' AND local_date IS NOT NULL AND h <= 23 AND mi <= 59 AND s <= 59 AND oh <= 23
                  AND om <= 59
             THEN (local_date - DATE '1970-01-01') * 1440 + h * 60 + mi
                  - CASE WHEN ts.sign = '-' THEN -1 ELSE 1 END * (oh * 60 + om) END AS utc_minute
    FROM valued v
    LEFT JOIN fx ON fx.code = v.code
    LEFT JOIN customers c ON ok_cust AND c.customer_id = try_cast(v.customer_id AS UBIGINT)
    LEFT JOIN products p ON ok_prod AND p.product_id = try_cast(v.product_id AS UBIGINT)
)
SELECT pos, file, order_id, customer_id, product_id, quantity, unit_price, discount_pct, currency, order_ts,
    status, notes, cust, country, category,
    CASE
        WHEN NOT ok_order OR NOT ok_cust OR NOT ok_prod OR NOT ok_qty OR NOT ok_price
             OR price_cents > 18446744073709551615 OR NOT ok_disc OR bp > 10000 THEN 'bad_number'
        WHEN qty <= 0 THEN 'bad_quantity'
        WHEN utc_minute IS NULL THEN 'bad_timestamp'
        WHEN status_clean IS NULL OR status_clean NOT IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled',
                                                         'returned') THEN 'unknown_status'
        WHEN micros IS NULL THEN 'unknown_currency'
        WHEN cust IS NULL THEN 'orphan_customer'
        WHEN prod IS NULL THEN 'orphan_product'
        WHEN gross > 18446744073709551615 OR usd > 18446744073709551615 THEN 'bad_number'
    END AS kind,
    CASE
        WHEN NOT ok_order THEN 'order_id' WHEN NOT ok_cust THEN 'customer_id' WHEN NOT ok_prod THEN 'product_id'
        WHEN NOT ok_qty THEN 'quantity' WHEN NOT ok_price OR price_cents > 18446744073709551615 THEN 'unit_price'
        WHEN NOT ok_disc OR bp > 10000 THEN 'discount_pct' WHEN qty <= 0 THEN 'quantity'
        WHEN utc_minute IS NULL THEN 'order_ts' WHEN status_clean IS NULL OR status_clean NOT IN
            ('placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned') THEN 'status'
        WHEN micros IS NULL THEN 'currency' WHEN cust IS NULL THEN 'customer_id'
        WHEN prod IS NULL THEN 'product_id' ELSE 'unit_price'
    END AS kind_column,
    try_cast(order_id AS UBIGINT) AS oid,
    qty,
    usd,
    CAST(floor(utc_minute / 1440) AS INTEGER) AS utc_day,
    status_clean = 'cancelled' AS cancelled
FROM (SELECT *, CASE WHEN gross <= 18446744073709551615
                     THEN ((gross * (10000 - bp) + 5000) // 10000 * micros + 500000) // 1000000 END AS usd
      FROM joined)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--memory-limit", default=None)
    args = ap.parse_args()
    started = time.perf_counter()
    data, out = args.input, args.output
    files = sorted((p for p in (data / "orders").iterdir() if p.name.startswith("part-") and ".csv" in p.name),
                   key=lambda p: p.name)
    for p in files:
        if first_line(p) not in (b"", ",".join(ORDER_COLUMNS).encode()):
            sys.exit(f"duckdb_sql: {p}: expected the header {','.join(ORDER_COLUMNS)}")
    out.mkdir(parents=True, exist_ok=True)

    con = duckdb.connect()
    con.execute(f"SET temp_directory = {lit(tempfile.mkdtemp(prefix='duckdb-etl-'))}")
    con.execute("SET preserve_insertion_order = true")
    if args.memory_limit:
        con.execute(f"SET memory_limit = {lit(args.memory_limit)}")
    con.execute(f"""CREATE TEMP TABLE customers AS
        SELECT customer_id::UBIGINT AS customer_id, name, upper(trim(country)) AS country
        FROM {read_csv([table(data, 'customers')], ['customer_id', 'name', 'email', 'country', 'segment',
                                                    'signup_date'])}""")
    con.execute(f"""CREATE TEMP TABLE products AS
        SELECT product_id::UBIGINT AS product_id, trim(category) AS category
        FROM {read_csv([table(data, 'products')], ['product_id', 'name', 'category', 'unit_price'])}""")
    con.execute(f"""CREATE TEMP TABLE fx AS
        SELECT upper(trim(currency)) AS code,
               split_part(usd_per_unit, '.', 1)::HUGEINT * 1000000
               + rpad(split_part(usd_per_unit, '.', 2), 6, '0')::HUGEINT AS micros
        FROM {read_csv([table(data, 'fx_rates')], ['currency', 'usd_per_unit'])}""")

    # The facts, in file-name order: rowid is then the input order ("first occurrence wins" needs it).
    con.execute("CREATE TEMP TABLE orders (" + ", ".join(f"{c} VARCHAR" for c in ORDER_COLUMNS)
                + ", file VARCHAR)")
    unparsed = 0
    for p in files:
        if p.stat().st_size == 0:
            continue
        con.execute(f"INSERT INTO orders SELECT *, {lit('orders/' + p.name)} FROM "
                    + read_csv([p], ORDER_COLUMNS, ", ignore_errors = true, store_rejects = true"))
        unparsed += con.execute("SELECT count(DISTINCT line) FROM reject_errors").fetchone()[0]
        con.execute("DELETE FROM reject_errors; DELETE FROM reject_scans")
    con.execute(CHECK)
    con.execute("""CREATE TEMP TABLE kept AS
        SELECT oid, arg_min({'cust': cust, 'country': country, 'category': category, 'qty': qty, 'usd': usd,
                             'day': utc_day, 'cancelled': cancelled}, pos) AS r, count(*) AS copies
        FROM checked WHERE kind IS NULL GROUP BY oid""")

    q = QUOTE.format
    rejects = con.execute(f"""
        SELECT file || ',,,' || kind_column || ',' || kind || ',' || {q("left(concat_ws(',', " + ", ".join(
            q(f"coalesce({c}, '')") for c in ORDER_COLUMNS) + "), 200)")}, kind
        FROM checked WHERE kind IS NOT NULL ORDER BY pos""").fetchall()
    daily = con.execute("""
        SELECT strftime(DATE '1970-01-01' + r.day, '%Y-%m-%d') || ',' || r.country || ',' || r.category || ','
               || count(*) || ',' || sum(r.qty) || ',' || sum(r.usd)
        FROM kept WHERE NOT r.cancelled
        GROUP BY r.day, r.country, r.category
        ORDER BY strftime(DATE '1970-01-01' + r.day, '%Y-%m-%d'), r.country, r.category""").fetchall()
    top = con.execute(f"""
        WITH per AS (SELECT r.cust AS cust, count(*) AS orders, sum(r.usd) AS cents
                     FROM kept WHERE NOT r.cancelled GROUP BY r.cust)
        SELECT row_number() OVER (ORDER BY cents DESC, cust) || ',' || cust || ',' || {q('c.name')} || ','
               || c.country || ',' || orders || ',' || cents
        FROM per JOIN customers c ON c.customer_id = per.cust
        ORDER BY cents DESC, cust LIMIT 100""").fetchall()
    rows, = con.execute("SELECT count(*) FROM orders").fetchone()
    valid, copies, cancelled, revenue = con.execute("""
        SELECT count(*), coalesce(sum(copies), 0), count(*) FILTER (WHERE r.cancelled),
               coalesce(sum(r.usd) FILTER (WHERE NOT r.cancelled), 0) FROM kept""").fetchone()

    write(out / "rejects.csv", [r[0] for r in rejects], "file,line,byte_offset,column,kind,raw")
    write(out / "daily_revenue.csv", [r[0] for r in daily], "date,country,category,orders,units,revenue_usd_cents")
    write(out / "top_customers.csv", [r[0] for r in top], "rank,customer_id,name,country,orders,revenue_usd_cents")
    by_kind = dict.fromkeys(KINDS, 0)
    for _, kind in rejects:
        by_kind[kind] += 1
    by_kind["field_count"] += unparsed
    bytes_read = sum(uncompressed_size(p) for p in files)
    elapsed = time.perf_counter() - started
    summary = {
        "engine": "python-duckdb", "files": len(files), "bytes_read": bytes_read, "rows_read": rows + unparsed,
        "valid": valid, "rejected": len(rejects) + unparsed, "rejected_by_kind": dict(sorted(by_kind.items())),
        "duplicates_dropped": int(copies) - valid, "cancelled": cancelled, "revenue_usd_cents": int(revenue),
        "elapsed_seconds": round(elapsed, 3), "mb_per_s": round(bytes_read / 1e6 / elapsed, 3),
    }
    tmp = out / ".summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(tmp, out / "summary.json")


if __name__ == "__main__":
    main()
