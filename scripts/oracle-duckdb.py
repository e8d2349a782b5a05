#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise (exercises/etl_10gb/README.md) in DuckDB SQL: an independent oracle of
`etlkit pipeline` for clean datasets.

Usage: oracle-duckdb.py INPUT_DIR OUTPUT_DIR [--threads N] [--memory-limit 1GB] [--temp-dir DIR]

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
  position in the file) wins. The position is the `rowid` of the table the records are loaded into: the load
  is a single-table SELECT over read_csv, which DuckDB runs in parallel while keeping the insertion order
  (`preserve_insertion_order`, on by default). Then the ids that valid records repeat (a GROUP BY over every
  order id, HAVING count > 1) keep only the row at their smallest position.
- Aggregate and load: cancelled orders counted, not summed; daily revenue sorted by date, country, category
  (byte order); the top 100 customers by revenue, ties by smaller `customer_id`; `name` quoted only when it
  holds `,`, `"`, CR or LF (the csv crate's and Python's csv module's minimal quoting).

Memory: bounded by `--memory-limit` (DuckDB's memory_limit, default 1GB; the process peaks a little above
it). The loaded records go to a DuckDB database file in a temporary directory (`--temp-dir`, default the
system's), and DuckDB spills what does not fit (the GROUP BY over every order id, at 10 GB) to files next to it;
the directory, about 0.3-0.6 GB per GB of input at its peak, is removed at the end. Only the operators whose
output order matters (the load) keep the insertion order; the rest run with `preserve_insertion_order = false`.

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
# Enough for the dimension tables and the hash joins at 10 GB; beyond it DuckDB spills to disk (the GROUP BY
# over every order id does).
DEFAULT_MEMORY_LIMIT = "1GB"


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
    ap.add_argument("--memory-limit", default=DEFAULT_MEMORY_LIMIT,
                    help=f"DuckDB memory_limit: beyond it, DuckDB spills to disk (default {DEFAULT_MEMORY_LIMIT})")
    ap.add_argument("--temp-dir", type=Path, default=None,
                    help="where the working database and the spill files go (default: the system temp dir)")
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

    work = Path(tempfile.mkdtemp(prefix="oracle-duckdb-", dir=args.temp_dir))
    try:
        # A database file, not an in-memory one: the loaded table lives on disk and DuckDB's buffer manager
        # keeps only what it works on in memory (within memory_limit), spilling the rest to temp_directory.
        con = duckdb.connect(str(work / "work.duckdb"))
        try:
            con.execute(f"SET threads = {int(args.threads)}")
            con.execute(f"SET memory_limit = {sql_str(args.memory_limit)}")
            con.execute(f"SET temp_directory = {sql_str(str(work / 'spill'))}")
            run(con, work, data, out, files, started)
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(con, work: Path, data: Path, out: Path, files, started: float) -> None:
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
        CREATE TABLE customers AS
        SELECT CAST(customer_id AS UBIGINT) AS customer_id, coalesce(name, '') AS name,
               upper(regexp_replace(coalesce(country, ''), '^\\s+|\\s+$', '', 'g')) AS country
        FROM {dims['customers']}""")
    con.execute(f"""
        CREATE TABLE products AS
        SELECT CAST(product_id AS UBIGINT) AS product_id,
               regexp_replace(coalesce(category, ''), '^\\s+|\\s+$', '', 'g') AS category
        FROM {dims['products']}""")
    con.execute(f"""
        CREATE TABLE fx AS
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

    scan = read_csv(files, ORDER_COLUMNS, ", header = true, ignore_errors = true, store_rejects = true")
    # The loaded records go to a database file of their own, deleted once `checked` is built from them: a
    # database file does not shrink when a table is dropped, and the disk it holds would add to the spill files.
    stage = work / "load.duckdb"
    con.execute(f"ATTACH {sql_str(str(stage))} AS load")
    # 1. Load: one row per fact record, in input order (file name order, then line order), with what the rules
    # that need no dimension table decide (`kind0`: the first failing rule among 4-8, or NULL) and the typed
    # values. Only a single-table FROM, SELECT and CTEs of those: DuckDB keeps the insertion order there
    # (preserve_insertion_order, on by default) while it reads the files in parallel, so the table's `rowid`
    # is the record's position in the input, which "first occurrence wins" needs.
    con.execute(f"""
        CREATE TABLE load.facts AS
        WITH parsed AS (
            SELECT order_id, customer_id, product_id, quantity, unit_price, discount_pct, order_ts, notes,
                   -- ASCII case folding only, like the reference (strlen counts bytes, length characters)
                   CASE WHEN strlen(status) = length(status) THEN lower(trim(status, {TRIM})) END AS status_clean,
                   CASE WHEN strlen(currency) = length(currency) THEN upper(trim(currency, {TRIM})) END
                       AS currency_clean,
                   -- the shape of the timestamp; its fields are then at fixed places (the zone: the last 6
                   -- characters, or `Z`)
                   regexp_full_match(coalesce(order_ts, ''),
                       '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\\.[0-9]+)?(Z|[+-][0-9]{{2}}:[0-9]{{2}})')
                       AS ok_ts,
                   right(order_ts, 6) AS zone
            FROM {scan}
        ),
        typed AS (
            SELECT *,
                regexp_full_match(coalesce(order_id, ''), {DIGITS18}) AS ok_order_id,
                regexp_full_match(coalesce(customer_id, ''), {DIGITS18}) AS ok_customer_id,
                regexp_full_match(coalesce(product_id, ''), {DIGITS18}) AS ok_product_id,
                regexp_full_match(coalesce(quantity, ''), '-?[0-9]{{1,18}}') AS ok_quantity,
                regexp_full_match(coalesce(unit_price, ''), '[0-9]{{1,18}}\\.[0-9]{{2}}') AS ok_price,
                regexp_full_match(coalesce(discount_pct, ''), '[0-9]{{1,18}}(\\.[0-9]{{1,2}})?') AS ok_discount,
                CASE WHEN ok_ts THEN try_cast(substr(order_ts, 1, 10) AS DATE) END AS local_date,
                CASE WHEN ok_ts THEN CAST(substr(order_ts, 12, 2) AS BIGINT) END AS hh,
                CASE WHEN ok_ts THEN CAST(substr(order_ts, 15, 2) AS BIGINT) END AS mi,
                CASE WHEN ok_ts THEN CAST(substr(order_ts, 18, 2) AS BIGINT) END AS ss,
                CASE WHEN ok_ts AND NOT ends_with(order_ts, 'Z') THEN CAST(substr(zone, 2, 2) AS BIGINT) ELSE 0 END
                    AS oh,
                CASE WHEN ok_ts AND NOT ends_with(order_ts, 'Z') THEN CAST(substr(zone, 5, 2) AS BIGINT) ELSE 0 END
                    AS om
            FROM parsed
        ),
        valued AS (
            SELECT *,
                CASE WHEN ok_price THEN CAST(replace(unit_price, '.', '') AS HUGEINT) END AS price_cents,
                CASE WHEN ok_quantity THEN CAST(quantity AS BIGINT) END AS qty,
                CASE WHEN ok_discount THEN CAST(split_part(discount_pct, '.', 1) AS HUGEINT) * 100
                     + CAST(rpad(split_part(discount_pct, '.', 2), 2, '0') AS HUGEINT) END AS bp,
                CASE WHEN local_date IS NOT NULL AND hh <= 23 AND mi <= 59 AND ss <= 59 AND oh <= 23 AND om <= 59
                THEN (local_date - DATE '1970-01-01') * 1440 + hh * 60 + mi
                     - (CASE WHEN left(zone, 1) = '-' THEN -1 ELSE 1 END) * (oh * 60 + om)
                END AS utc_minute
            FROM typed
        ),
        ruled AS (
            SELECT *,
                CASE
                    -- Never true; it makes DuckDB read `notes`, and so check its UTF-8 (an unread column is not
                    -- decoded): such records are then skipped as unparsed, like rule 4 rejects them.
                    WHEN strlen(notes) < 0 THEN 'invalid_utf8'
                    WHEN NOT ok_order_id OR NOT ok_customer_id OR NOT ok_product_id OR NOT ok_quantity
                         OR NOT ok_price OR price_cents > {U64_MAX} OR NOT ok_discount OR bp > 10000
                         THEN 'bad_number'
                    WHEN qty <= 0 THEN 'bad_quantity'
                    WHEN utc_minute IS NULL THEN 'bad_timestamp'
                    WHEN status_clean IS NULL
                         OR status_clean NOT IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned')
                         THEN 'unknown_status'
                END AS kind0
            FROM valued
        )
        SELECT kind0,
            -- the values only for records that passed rules 4-8 (NULL otherwise: the table stays small)
            CASE WHEN kind0 IS NULL THEN CAST(order_id AS UBIGINT) END AS oid,
            CASE WHEN kind0 IS NULL THEN CAST(customer_id AS UBIGINT) END AS customer_key,
            CASE WHEN kind0 IS NULL THEN CAST(product_id AS UBIGINT) END AS product_key,
            CASE WHEN kind0 IS NULL THEN currency_clean END AS currency,
            CASE WHEN kind0 IS NULL THEN CAST(qty AS UBIGINT) END AS qty,
            CASE WHEN kind0 IS NULL THEN CAST(price_cents AS UBIGINT) END AS price_cents,
            CASE WHEN kind0 IS NULL THEN CAST(bp AS USMALLINT) END AS bp,
            -- floor division: the UTC day of the UTC minute
            CASE WHEN kind0 IS NULL
                 THEN CAST((utc_minute - ((utc_minute % 1440) + 1440) % 1440) // 1440 AS INTEGER) END AS day,
            CASE WHEN kind0 IS NULL THEN status_clean = 'cancelled' END AS cancelled
        FROM ruled""")
    unparsed = con.execute("SELECT count(DISTINCT (file_id, line)) FROM reject_errors").fetchone()[0]

    # From here on no result depends on row order: let DuckDB run every operator in parallel and spill.
    con.execute("SET preserve_insertion_order = false")
    # 2. Every record with its final kind (rules 9-11 need the dimension tables, then the 64-bit overflow rule),
    # its position in the input (`pos`, the load's rowid) and, if valid, what the reports need.
    con.execute(f"""
        CREATE TABLE checked AS
        WITH joined AS (
            SELECT f.rowid AS pos, f.*, x.micros, c.customer_id AS cust, c.country, p.product_id AS prod,
                   p.category, CAST(f.price_cents AS HUGEINT) * f.qty AS gross
            FROM load.facts f
            LEFT JOIN fx x ON x.currency = f.currency
            LEFT JOIN customers c ON c.customer_id = f.customer_key
            LEFT JOIN products p ON p.product_id = f.product_key
        ),
        priced AS (
            SELECT *,
                CASE WHEN gross <= {U64_MAX}
                     THEN ((gross * (10000 - bp) + 5000) // 10000 * micros + 500000) // 1000000 END AS usd
            FROM joined
        ),
        ruled AS (
            SELECT *, coalesce(kind0, CASE
                WHEN micros IS NULL THEN 'unknown_currency'
                WHEN cust IS NULL THEN 'orphan_customer'
                WHEN prod IS NULL THEN 'orphan_product'
                WHEN gross > {U64_MAX} OR usd IS NULL OR usd > {U64_MAX} THEN 'bad_number'
            END) AS kind
            FROM priced
        )
        SELECT pos, kind, oid, cust, country, category, qty, CAST(usd AS UBIGINT) AS usd, day, cancelled
        FROM ruled""")
    con.execute("DETACH load")
    for f in work.glob("load.duckdb*"):
        f.unlink()
    # 3. First occurrence wins: the order ids that valid records repeat (few), with the position of the first.
    # This GROUP BY over every order id is the one big state of the run; DuckDB spills it beyond memory_limit.
    con.execute("""
        CREATE TABLE repeated AS
        SELECT oid, min(pos) AS first_pos, count(*) - 1 AS dropped
        FROM checked WHERE kind IS NULL
        GROUP BY oid HAVING count(*) > 1""")
    con.execute("""
        CREATE VIEW kept AS
        SELECT c.* FROM checked c LEFT JOIN repeated r ON r.oid = c.oid
        WHERE c.kind IS NULL AND (r.oid IS NULL OR r.first_pos = c.pos)""")

    by_kind = dict(con.execute("SELECT coalesce(kind, ''), count(*) FROM checked GROUP BY kind").fetchall())
    records = by_kind.pop("", 0)
    duplicates = con.execute("SELECT coalesce(sum(dropped), 0) FROM repeated").fetchone()[0]
    rejected = sum(by_kind.values())
    rows_read = records + rejected
    valid = records - duplicates

    # 4. The reports: one aggregation each over the kept records (cancelled ones are counted in `daily` too,
    # as their own groups, then left out of the file).
    daily = con.execute("""
        SELECT strftime(DATE '1970-01-01' + day, '%Y-%m-%d') AS date, country, category, cancelled,
               count(*) AS orders, sum(qty) AS units, sum(usd) AS cents
        FROM kept GROUP BY ALL""").fetchall()
    cancelled = sum(r[4] for r in daily if r[3])
    daily = sorted((r for r in daily if not r[3]), key=lambda r: (r[0].encode(), r[1].encode(), r[2].encode()))
    revenue = sum(r[6] for r in daily)
    top = con.execute("""
        WITH per AS (
            SELECT cust, count(*) AS orders, sum(usd) AS cents FROM kept WHERE NOT cancelled GROUP BY cust
            ORDER BY cents DESC, cust LIMIT 100
        )
        SELECT row_number() OVER (ORDER BY r.cents DESC, r.cust) || ',' || r.cust || ','
               || CASE WHEN regexp_matches(c.name, '[",\\r\\n]') THEN '"' || replace(c.name, '"', '""') || '"'
                       ELSE c.name END
               || ',' || c.country || ',' || r.orders || ',' || r.cents AS line
        FROM per r JOIN customers c ON c.customer_id = r.cust
        ORDER BY r.cents DESC, r.cust""").fetchall()

    write_atomic(out / "daily_revenue.csv",
                 "date,country,category,orders,units,revenue_usd_cents\n"
                 + "".join(f"{d},{co},{ca},{o},{u},{c}\n" for d, co, ca, _, o, u, c in daily))
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
        "duplicates_dropped": duplicates,
        "cancelled": cancelled,
        "revenue_usd_cents": int(revenue),
        "elapsed_seconds": round(time.perf_counter() - started, 3),
    }
    write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
