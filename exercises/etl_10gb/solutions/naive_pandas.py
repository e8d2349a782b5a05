#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise the way a first notebook does it: read everything into one pandas DataFrame.

Usage: python naive_pandas.py INPUT_DIR OUTPUT_DIR

Approach: `pd.read_csv` every fact file (all columns as strings, so nothing is guessed), concatenate them,
then validate, clean, de-duplicate, join and aggregate with vectorised column operations; money in int64
cents (never floats: `round()` on float dollars is the classic off-by-a-cent bug).

The lesson: this is fine at 100 MB (a few seconds) and dies at 10 GB. pandas holds every row as Python string
objects: 122 million rows x 10 columns x ~60 bytes is ~70 GB of RAM before the first join, on a machine that
has 16-32. The process is killed by the OOM killer (or swaps for hours). streaming_csv.py does the same work
in constant memory; polars_lazy.py and duckdb_sql.py do it out of core.

Limits on dirty data (exact on clean data only):
- rejects.csv has the right kinds for the value rules (5-11) but no line numbers or byte offsets (pandas does
  not keep them): `line` and `byte_offset` are written empty, so the file is not byte-exact.
- Records with too many fields are skipped by the parser (`on_bad_lines="skip"`) and not counted at all;
  records with too few are padded with empty fields and then fail a value rule instead of `field_count`;
  invalid UTF-8 is decoded with U+FFFD replacements and then passes as text (rule 4 is not applied); the file
  tail rules (unterminated quote, truncated row) are not applied.
- Timestamps outside pandas' datetime range (years before 1677 or after 2262) are rejected.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ORDER_COLUMNS = ["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct", "currency",
                 "order_ts", "status", "notes"]
KINDS = ["field_count", "truncated_row", "unterminated_quote", "invalid_utf8", "bad_number", "bad_quantity",
         "bad_timestamp", "unknown_status", "unknown_currency", "orphan_customer", "orphan_product"]
STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned"]
TS = (r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.\d+)?"
      r"(?P<zone>Z|(?P<sign>[+-])(?P<oh>\d{2}):(?P<om>\d{2}))$")


def table(data: Path, name: str) -> pd.DataFrame:
    for ext in ("csv", "csv.gz", "csv.zst"):
        p = data / f"{name}.{ext}"
        if p.exists():
            return pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    sys.exit(f"naive_pandas: {name}.csv not found in {data}")


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


def quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\r\n') else s


def write(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def main(data: Path, out: Path) -> None:
    started = time.perf_counter()
    customers = table(data, "customers")
    customers["customer_id"] = customers["customer_id"].astype("int64")
    customers["country"] = customers["country"].str.strip().str.upper()
    products = table(data, "products")
    products["product_id"] = products["product_id"].astype("int64")
    products["category"] = products["category"].str.strip()
    fx = table(data, "fx_rates")
    whole_frac = fx["usd_per_unit"].str.split(".", expand=True)
    fx_micros = dict(zip(fx["currency"].str.strip().str.upper(),
                         whole_frac[0].astype("int64") * 1_000_000 + whole_frac[1].str.ljust(6, "0").astype("int64")))

    files = sorted((p for p in (data / "orders").iterdir() if p.name.startswith("part-")), key=lambda p: p.name)
    frames = []
    for p in files:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig", encoding_errors="replace",
                         on_bad_lines="skip")
        if list(df.columns) != ORDER_COLUMNS:
            sys.exit(f"naive_pandas: {p}: expected the header {','.join(ORDER_COLUMNS)}")
        df["file"] = f"orders/{p.name}"
        frames.append(df)
    orders = pd.concat(frames, ignore_index=True)  # <- everything in memory, as Python strings
    out.mkdir(parents=True, exist_ok=True)
    bytes_read = sum(uncompressed_size(p) for p in files)

    # Validate: the rules in order; `kind` keeps the first that fails.
    kind = pd.Series(None, index=orders.index, dtype="object")
    column = pd.Series("", index=orders.index, dtype="object")

    def fail(mask: pd.Series, k: str, col: str) -> None:
        m = mask & kind.isna()
        kind[m] = k
        column[m] = col

    orders[ORDER_COLUMNS] = orders[ORDER_COLUMNS].fillna("")
    for col in ("order_id", "customer_id", "product_id"):
        fail(~orders[col].str.fullmatch(r"[0-9]{1,18}"), "bad_number", col)
    fail(~orders["quantity"].str.fullmatch(r"-?[0-9]{1,18}"), "bad_number", "quantity")
    fail(~orders["unit_price"].str.fullmatch(r"[0-9]{1,16}\.[0-9]{2}"), "bad_number", "unit_price")
    disc_ok = orders["discount_pct"].str.fullmatch(r"[0-9]{1,18}(\.[0-9]{1,2})?")
    disc = orders["discount_pct"].where(disc_ok, "0").str.split(".", expand=True).reindex(columns=[0, 1])
    disc_ok &= disc[0].str.lstrip("0").str.len() <= 3  # more is above 100 anyway (and overflows int64)
    disc[0] = disc[0].where(disc_ok, "0")
    bp = disc[0].astype("int64") * 100 + disc[1].fillna("").str.ljust(2, "0").replace("", "0").astype("int64")
    fail(~disc_ok | (bp > 10_000), "bad_number", "discount_pct")
    qty = pd.to_numeric(orders["quantity"].where(kind.isna(), "0")).astype("int64")
    fail(qty <= 0, "bad_quantity", "quantity")

    ts = orders["order_ts"].str.extract(TS)
    local_date = pd.to_datetime(ts["date"], format="%Y-%m-%d", errors="coerce")
    h, mi, s = (pd.to_numeric(ts[c], errors="coerce") for c in ("h", "mi", "s"))
    oh, om = (pd.to_numeric(ts[c], errors="coerce").fillna(0) for c in ("oh", "om"))
    ts_ok = local_date.notna() & (h <= 23) & (mi <= 59) & (s <= 59) & (oh <= 23) & (om <= 59)
    fail(~ts_ok, "bad_timestamp", "order_ts")
    offset = (oh * 60 + om) * np.where(ts["sign"] == "-", -1, 1)
    days = (local_date - pd.Timestamp("1970-01-01")).dt.days
    utc_minute = days * 1440 + h * 60 + mi - offset
    utc_day = (utc_minute // 1440).where(kind.isna())

    status = orders["status"].str.strip(" \t").str.lower()
    fail(~status.isin(STATUSES) | ~orders["status"].str.fullmatch(r"[\x00-\x7f]*"), "unknown_status", "status")
    currency = orders["currency"].str.strip(" \t").str.upper()
    fail(~currency.isin(list(fx_micros)) | ~orders["currency"].str.fullmatch(r"[\x00-\x7f]*"), "unknown_currency", "currency")
    cid = pd.to_numeric(orders["customer_id"].where(kind.isna(), "0")).astype("int64")
    fail(~cid.isin(customers["customer_id"]), "orphan_customer", "customer_id")
    pid = pd.to_numeric(orders["product_id"].where(kind.isna(), "0")).astype("int64")
    fail(~pid.isin(products["product_id"]), "orphan_product", "product_id")

    rejected = orders[kind.notna()]
    raw = rejected[ORDER_COLUMNS].apply(lambda r: ",".join(quote(v) for v in r), axis=1) if len(rejected) else []
    lines = ["file,line,byte_offset,column,kind,raw\n"]
    lines += [f"{f},,,{c},{k},{quote(r.encode()[:200].decode('utf-8', 'replace'))}\n"
              for f, c, k, r in zip(rejected["file"], column[kind.notna()], kind[kind.notna()], raw)]
    write(out / "rejects.csv", "".join(lines))

    # Clean, price (integer cents), de-duplicate (first occurrence wins), join.
    ok = orders[kind.isna()].copy()
    ok["qty"] = qty[kind.isna()]
    ok["bp"] = bp[kind.isna()]
    ok["day"] = utc_day[kind.isna()].astype("int64")
    ok["cancelled"] = status[kind.isna()] == "cancelled"
    ok["micros"] = currency[kind.isna()].map(fx_micros).astype("int64")
    units, cents = ok["unit_price"].str.split(".", expand=True)[0], ok["unit_price"].str[-2:]
    gross = (units.astype("int64") * 100 + cents.astype("int64")) * ok["qty"]
    if len(ok) and int(gross.max()) >= 2**63 // max(10_000, int(ok["micros"].max())):  # would overflow int64 below
        sys.exit("naive_pandas: amounts too large for int64 arithmetic")
    net = (gross * (10_000 - ok["bp"]) + 5_000) // 10_000
    ok["usd"] = (net * ok["micros"] + 500_000) // 1_000_000
    ok["order_id"] = ok["order_id"].astype("int64")
    ok["customer_id"] = cid[kind.isna()]
    ok["product_id"] = pid[kind.isna()]
    first = ~ok["order_id"].duplicated(keep="first")
    duplicates = int((~first).sum())
    ok = ok[first]
    ok = ok.merge(customers[["customer_id", "name", "country"]], on="customer_id", how="left")
    ok = ok.merge(products[["product_id", "category"]], on="product_id", how="left")

    # Aggregate and load.
    paid = ok[~ok["cancelled"]]
    daily = paid.groupby(["day", "country", "category"]).agg(orders=("order_id", "size"), units=("qty", "sum"),
                                                             cents=("usd", "sum")).reset_index()
    daily["date"] = (pd.Timestamp("1970-01-01") + pd.to_timedelta(daily["day"], unit="D")).dt.strftime("%Y-%m-%d")
    daily = daily.sort_values(["date", "country", "category"])
    write(out / "daily_revenue.csv", "date,country,category,orders,units,revenue_usd_cents\n" + "".join(
        f"{r.date},{r.country},{r.category},{r.orders},{r.units},{r.cents}\n" for r in daily.itertuples()))
    top = paid.groupby("customer_id").agg(name=("name", "first"), country=("country", "first"),
                                          orders=("order_id", "size"), cents=("usd", "sum")).reset_index()
    top = top.sort_values(["cents", "customer_id"], ascending=[False, True]).head(100)
    write(out / "top_customers.csv", "rank,customer_id,name,country,orders,revenue_usd_cents\n" + "".join(
        f"{i},{r.customer_id},{quote(r.name)},{r.country},{r.orders},{r.cents}\n"
        for i, r in enumerate(top.itertuples(), 1)))
    by_kind = dict.fromkeys(KINDS, 0) | kind.value_counts().to_dict()
    elapsed = time.perf_counter() - started
    summary = {
        "engine": "python-pandas", "files": len(files), "bytes_read": bytes_read, "rows_read": len(orders),
        "valid": len(ok), "rejected": len(rejected), "rejected_by_kind": dict(sorted(by_kind.items())),
        "duplicates_dropped": duplicates, "cancelled": int(ok["cancelled"].sum()),
        "revenue_usd_cents": int(daily["cents"].sum()), "elapsed_seconds": round(elapsed, 3),
        "mb_per_s": round(bytes_read / 1e6 / elapsed, 3),
    }
    write(out / "summary.json", json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} INPUT_DIR OUTPUT_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
