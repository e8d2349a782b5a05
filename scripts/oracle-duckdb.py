#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise (exercises/etl_10gb/README.md) in DuckDB SQL: an independent oracle of
`etlkit pipeline` for clean datasets.

Usage: oracle-duckdb.py INPUT_DIR OUTPUT_DIR [--threads N] [--memory-limit 8GB]

Writes OUTPUT_DIR/daily_revenue.csv and OUTPUT_DIR/top_customers.csv, byte for byte what `etlkit pipeline`
writes for the same input, and OUTPUT_DIR/summary.json with the counts `rows_read`, `valid`, `rejected`,
`duplicates_dropped`, `cancelled`, `revenue_usd_cents` (plus `files`, `unparsed`, `engine`, `elapsed_seconds`).
Each output is written under a temporary name and renamed, summary.json last.

What is implemented, all in SQL (the Python around it only lists files, checks headers and writes lines):
- Extract: `INPUT/orders/part-*.csv`, `.csv.gz` (multi-member) and `.csv.zst` (multi-frame), in name order;
  every column read as VARCHAR with an explicit schema (no sniffing): `,` delimiter, `"` quote and escape,
  `\\n` or `\\r\\n` records, quoted line breaks, a UTF-8 BOM skipped. The header of every fact file is checked
  (a different header is an error for the whole run, like the reference).
- Validate: the value rules 5 to 11 of the spec (`bad_number` with the reference's 18-digit limit,
  `bad_quantity`, `bad_timestamp` with a real calendar date and time, `unknown_status`, `unknown_currency`,
  `orphan_customer`, `orphan_product`, and the 64-bit overflow `bad_number`), in the spec's order.
- Clean: status and currency trimmed of spaces/tabs and case-folded; customer country trimmed, upper-cased.
- Money in integer cents with HUGEINT, never a float: `gross = price_cents * quantity`,
  `net = (gross * (10000 - bp) + 5000) // 10000`, `usd = (net * micros + 500000) // 1000000`.
- Date: the UTC calendar date of the local time minus its offset (floor division by 1440 minutes).
- De-duplicate: among records that pass validation, the first occurrence of an `order_id` by (file name,
  position in the file) wins; the position is `WITH ORDINALITY` over the scan, which DuckDB numbers in scan
  order (insertion order is preserved, `preserve_insertion_order` is on by default).
- Aggregate and load: cancelled orders counted, not summed; daily revenue sorted by date, country, category
  (byte order); the top 100 customers by revenue, ties by smaller `customer_id`; `name` quoted only when it
  holds `,`, `"`, CR or LF (the csv crate's and Python's csv module's minimal quoting).

What it does NOT implement (dirty data runs without a crash, but its rejects are not exact):
- No `rejects.csv`: no line numbers, byte offsets or raw text of rejected records.
- Records DuckDB's CSV reader cannot parse are skipped (`ignore_errors`) and counted in `unparsed` (and in
  `rejected`/`rows_read`), without a kind: these are the spec's `field_count`, `truncated_row`,
  `unterminated_quote` and `invalid_utf8` (rules 1 to 4). DuckDB may also resynchronise differently after an
  unterminated quote, so `rows_read` can differ from the reference on such files.
- Empty fields are NULL in DuckDB; they fail the same rules as the empty string does in the reference.
- Timestamps before year 0001 or after 9999 are rejected (DuckDB's DATE range), the reference takes them.
- `summary.json` has no `rejected_by_kind` for the unparsed rows and no `bytes_read`.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ORDER_COLUMNS = ["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct", "currency",
                 "order_ts", "status", "notes"]
TABLES = {
    "customers": ["customer_id", "name", "email", "country", "segment", "signup_date"],
    "products": ["product_id", "name", "category", "unit_price"],
    "fx_rates": ["currency", "usd_per_unit"],
}
FACT_NAME = re.compile(r"^part-.*\.csv(\.gz|\.zst)?$")
U64_MAX = 2**64 - 1


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def read_csv(paths, columns, extra: str = "") -> str:
    """A read_csv call with a fixed schema of VARCHAR columns and the RFC 4180 dialect; no sniffing."""
    files = "[" + ", ".join(sql_str(str(p)) for p in paths) + "]"
    cols = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
    return (f"read_csv({files}, columns = {cols}, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            f"compression = 'auto', encoding = 'utf-8', max_line_size = 1048576{extra})")


def find_table(data: Path, name: str) -> Path:
    for ext in ("csv", "csv.gz", "csv.zst"):
        p = data / f"{name}.{ext}"
        if p.is_file():
            return p
    sys.exit(f"oracle-duckdb: {data / (name + '.csv')}: dimension table not found (.csv, .csv.gz or .csv.zst)")


def check_header(con, path: Path, columns) -> None:
    row = con.execute(f"SELECT * FROM {read_csv([path], columns, ', header = false, ignore_errors = true')} LIMIT 1").fetchone()
    got = [(v or "") for v in row] if row else []
    if got and got[0].startswith("\ufeff"):
        got[0] = got[0][1:]
    if got != columns:
        sys.exit(f"oracle-duckdb: {path}:1: expected the header {','.join(columns)}, found {got}")


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.oracle-tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


# Spaces and tabs, the only padding the rules clean off status and currency.
TRIM = "' ' || chr(9)"
DIGITS18 = "'[0-9]{1,18}'"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit (default: DuckDB's, 80%% of RAM)")
    args = ap.parse_args()
    started = time.perf_counter()
    data, out = args.input, args.output
    if not data.is_dir():
        sys.exit(f"oracle-duckdb: {data}: not a directory")
    orders = data / "orders"
    files = sorted((p for p in orders.iterdir() if FACT_NAME.match(p.name)), key=lambda p: p.name.encode()) \
        if orders.is_dir() else []
    if not files:
        sys.exit(f"oracle-duckdb: {orders}: no part-*.csv files")
    out.mkdir(parents=True, exist_ok=True)

    con = duckdb.connect()
    con.execute(f"SET threads = {int(args.threads)}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = {sql_str(args.memory_limit)}")
    spill = tempfile.mkdtemp(prefix="oracle-duckdb-")
    try:
        con.execute(f"SET temp_directory = {sql_str(spill)}")
        con.execute("SET preserve_insertion_order = true")
        run(con, data, out, files, started)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def run(con, data: Path, out: Path, files, started: float) -> None:

    for p in files:
        check_header(con, p, ORDER_COLUMNS)
    dims = {}
    for name, cols in TABLES.items():
        p = find_table(data, name)
        check_header(con, p, cols)
        dims[name] = read_csv([p], cols, ", header = true")

    # Dimensions, cleaned like the reference cleans them (ids as integers, country trimmed and upper-cased,
    # category trimmed, the rate as integer micro-dollars).
    con.execute(f"""
        CREATE TEMP TABLE customers AS
        SELECT CAST(customer_id AS UBIGINT) AS customer_id, coalesce(name, '') AS name,
               upper(regexp_replace(coalesce(country, ''), '^\\s+|\\s+$', '', 'g')) AS country
        FROM {dims['customers']}""")
    con.execute(f"""
        CREATE TEMP TABLE products AS
        SELECT CAST(product_id AS UBIGINT) AS product_id,
               regexp_replace(coalesce(category, ''), '^\\s+|\\s+$', '', 'g') AS category
        FROM {dims['products']}""")
    con.execute(f"""
        CREATE TEMP TABLE fx AS
        SELECT upper(trim(currency)) AS currency,
               CAST(split_part(usd_per_unit, '.', 1) AS HUGEINT) * 1000000
                 + CAST(rpad(split_part(usd_per_unit, '.', 2), 6, '0') AS HUGEINT) AS micros
        FROM {dims['fx_rates']}""")
    bad = con.execute("SELECT count(*) FROM customers WHERE NOT regexp_full_match(country, '[A-Z]{2}')").fetchone()[0]
    if bad:
        sys.exit(f"oracle-duckdb: customers: {bad} rows with a country that is not an ISO 3166 alpha-2 code")
    dup = con.execute("SELECT count(*) - count(DISTINCT customer_id) FROM customers").fetchone()[0]
    if dup:
        sys.exit("oracle-duckdb: customers: customer_id is not unique")

    file_list = "[" + ", ".join(sql_str(str(p)) for p in files) + "]"
    scan = read_csv(files, ORDER_COLUMNS,
                    ", header = true, filename = true, ignore_errors = true, store_rejects = true")
    # `checked`: one row per record, its validation outcome (the first failing rule's kind, or NULL: CASE
    # tests in order) and, for a valid record, what aggregation needs. Then the first occurrence wins among
    # the valid records: per order id, the values at the smallest (file, position in the scan). Rejected
    # records collapse into one row per kind, so one table holds every count.
    con.execute(f"""
        CREATE TEMP TABLE firsts AS
        WITH raw AS (
            SELECT list_position({file_list}, filename) AS file_idx, ordinality AS ord, *
            FROM {scan} WITH ORDINALITY
        ),
        parsed AS (
            SELECT file_idx, ord, order_id, customer_id, product_id, quantity, unit_price, discount_pct, order_ts, notes,
                   -- ASCII case folding only, like the reference (strlen counts bytes, length characters)
                   CASE WHEN strlen(status) = length(status) THEN lower(trim(status, {TRIM})) END AS status_clean,
                   CASE WHEN strlen(currency) = length(currency) THEN upper(trim(currency, {TRIM})) END
                       AS currency_clean,
                   regexp_extract(order_ts,
                       '^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})T([0-9]{{2}}):([0-9]{{2}}):([0-9]{{2}})(\\.[0-9]+)?(Z|([+-])([0-9]{{2}}):([0-9]{{2}}))$',
                       ['date', 'hh', 'mi', 'ss', 'frac', 'zone', 'sign', 'oh', 'om']) AS ts
            FROM raw
        ),
        typed AS (
            SELECT *,
                regexp_full_match(coalesce(order_id, ''), {DIGITS18}) AS ok_order_id,
                regexp_full_match(coalesce(customer_id, ''), {DIGITS18}) AS ok_customer_id,
                regexp_full_match(coalesce(product_id, ''), {DIGITS18}) AS ok_product_id,
                regexp_full_match(coalesce(quantity, ''), '-?[0-9]{{1,18}}') AS ok_quantity,
                regexp_full_match(coalesce(unit_price, ''), '[0-9]{{1,18}}\\.[0-9]{{2}}') AS ok_price,
                regexp_full_match(coalesce(discount_pct, ''), '[0-9]{{1,18}}(\\.[0-9]{{1,2}})?') AS ok_discount,
                try_cast(ts.date AS DATE) AS local_date,
                try_cast(ts.hh AS BIGINT) AS hh, try_cast(ts.mi AS BIGINT) AS mi, try_cast(ts.ss AS BIGINT) AS ss,
                coalesce(try_cast(ts.oh AS BIGINT), 0) AS oh, coalesce(try_cast(ts.om AS BIGINT), 0) AS om
            FROM parsed
        ),
        valued AS (
            SELECT *,
                CASE WHEN ok_price THEN CAST(replace(unit_price, '.', '') AS HUGEINT) END AS price_cents,
                CASE WHEN ok_quantity THEN CAST(quantity AS HUGEINT) END AS qty,
                CASE WHEN ok_discount THEN CAST(split_part(discount_pct, '.', 1) AS HUGEINT) * 100
                     + CAST(rpad(split_part(discount_pct, '.', 2), 2, '0') AS HUGEINT) END AS bp,
                CASE WHEN ts.zone <> '' AND local_date IS NOT NULL AND hh <= 23 AND mi <= 59 AND ss <= 59
                          AND oh <= 23 AND om <= 59
                THEN (local_date - DATE '1970-01-01') * 1440 + hh * 60 + mi
                     - (CASE WHEN ts.sign = '-' THEN -1 ELSE 1 END) * (oh * 60 + om)
                END AS utc_minute,
                CASE WHEN ok_customer_id THEN CAST(customer_id AS UBIGINT) END AS customer_key,
                CASE WHEN ok_product_id THEN CAST(product_id AS UBIGINT) END AS product_key
            FROM typed
        ),
        joined AS (
            SELECT v.*, f.micros, c.customer_id AS cust, p.product_id AS prod,
                   CASE WHEN price_cents <= {U64_MAX} THEN price_cents * qty END AS gross
            FROM valued v
            LEFT JOIN fx f ON f.currency = v.currency_clean
            LEFT JOIN customers c ON c.customer_id = v.customer_key
            LEFT JOIN products p ON p.product_id = v.product_key
        ),
        priced AS (
            SELECT *,
                CASE WHEN gross <= {U64_MAX}
                     THEN ((gross * (10000 - bp) + 5000) // 10000 * micros + 500000) // 1000000 END AS usd
            FROM joined
        ),
        checked AS (
        SELECT file_idx, ord,
            CASE
                -- Never true; it makes DuckDB read `notes`, and so check its UTF-8 (an unread column is not
                -- decoded): such records are then skipped as unparsed, like rule 4 rejects them.
                WHEN strlen(notes) < 0 THEN 'invalid_utf8'
                WHEN NOT ok_order_id OR NOT ok_customer_id OR NOT ok_product_id OR NOT ok_quantity
                     OR NOT ok_price OR price_cents > {U64_MAX} OR NOT ok_discount OR bp > 10000 THEN 'bad_number'
                WHEN qty <= 0 THEN 'bad_quantity'
                WHEN utc_minute IS NULL THEN 'bad_timestamp'
                WHEN status_clean IS NULL
                     OR status_clean NOT IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned')
                     THEN 'unknown_status'
                WHEN micros IS NULL THEN 'unknown_currency'
                WHEN cust IS NULL THEN 'orphan_customer'
                WHEN prod IS NULL THEN 'orphan_product'
                WHEN gross IS NULL OR usd IS NULL OR usd > {U64_MAX} THEN 'bad_number'
            END AS kind,
            CASE WHEN ok_order_id THEN CAST(order_id AS UBIGINT) END AS oid,
            cust, prod,
            CAST(CASE WHEN ok_quantity AND qty > 0 THEN qty END AS UBIGINT) AS qty,
            CAST(CASE WHEN usd BETWEEN 0 AND {U64_MAX} THEN usd END AS UBIGINT) AS usd,
            -- floor division: the UTC day of the UTC minute
            CAST((utc_minute - ((utc_minute % 1440) + 1440) % 1440) // 1440 AS INTEGER) AS utc_day,
            status_clean = 'cancelled' AS cancelled
        FROM priced
        )
        SELECT CASE WHEN kind IS NULL THEN oid END AS oid, kind, count(*) AS copies,
               -- one arg_min per column: fixed-size states (a STRUCT argument costs ~10x the memory)
               {', '.join(f"arg_min({c}, file_idx::BIGINT * 1099511627776 + ord) FILTER (WHERE kind IS NULL) AS {c}"
                          for c in ('cust', 'prod', 'qty', 'usd', 'utc_day', 'cancelled'))}
        FROM checked
        GROUP BY CASE WHEN kind IS NULL THEN oid END, kind""")
    con.execute("""
        CREATE TEMP VIEW kept AS
        SELECT cust, prod, qty, usd, utc_day AS day, cancelled FROM firsts WHERE kind IS NULL""")

    rows_read, rejected, valid, copies = con.execute("""
        SELECT sum(copies), coalesce(sum(copies) FILTER (WHERE kind IS NOT NULL), 0),
               count(*) FILTER (WHERE kind IS NULL), coalesce(sum(copies) FILTER (WHERE kind IS NULL), 0)
        FROM firsts""").fetchone()
    by_kind = dict(con.execute("SELECT kind, copies FROM firsts WHERE kind IS NOT NULL").fetchall())
    unparsed = con.execute("SELECT count(DISTINCT (file_id, line)) FROM reject_errors").fetchone()[0]
    cancelled, revenue = con.execute(
        "SELECT count(*) FILTER (WHERE cancelled), coalesce(sum(usd) FILTER (WHERE NOT cancelled), 0) FROM kept"
    ).fetchone()

    daily = con.execute("""
        SELECT strftime(DATE '1970-01-01' + k.day, '%Y-%m-%d') || ',' || c.country || ',' || p.category || ','
               || count(*) || ',' || sum(k.qty) || ',' || sum(k.usd) AS line
        FROM kept k JOIN customers c ON c.customer_id = k.cust JOIN products p ON p.product_id = k.prod
        WHERE NOT k.cancelled
        GROUP BY k.day, c.country, p.category
        ORDER BY strftime(DATE '1970-01-01' + k.day, '%Y-%m-%d'), c.country, p.category""").fetchall()
    top = con.execute("""
        WITH per AS (
            SELECT cust, count(*) AS orders, sum(usd) AS cents FROM kept WHERE NOT cancelled GROUP BY cust
        ),
        ranked AS (
            SELECT row_number() OVER (ORDER BY cents DESC, cust) AS rank, * FROM per
            ORDER BY cents DESC, cust LIMIT 100
        )
        SELECT rank || ',' || r.cust || ','
               || CASE WHEN regexp_matches(c.name, '[",\\r\\n]') THEN '"' || replace(c.name, '"', '""') || '"'
                       ELSE c.name END
               || ',' || c.country || ',' || r.orders || ',' || r.cents AS line
        FROM ranked r JOIN customers c ON c.customer_id = r.cust
        ORDER BY rank""").fetchall()

    write_atomic(out / "daily_revenue.csv",
                 "date,country,category,orders,units,revenue_usd_cents\n" + "".join(r[0] + "\n" for r in daily))
    write_atomic(out / "top_customers.csv",
                 "rank,customer_id,name,country,orders,revenue_usd_cents\n" + "".join(r[0] + "\n" for r in top))
    summary = {
        "engine": "duckdb",
        "files": len(files),
        "rows_read": rows_read + unparsed,
        "valid": valid,
        "rejected": rejected + unparsed,
        "rejected_by_kind": dict(sorted(by_kind.items())),
        "unparsed": unparsed,
        "duplicates_dropped": copies - valid,
        "cancelled": cancelled,
        "revenue_usd_cents": int(revenue),
        "elapsed_seconds": round(time.perf_counter() - started, 3),
    }
    write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
