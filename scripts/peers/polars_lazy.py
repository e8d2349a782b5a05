#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise (exercises/etl_10gb/README.md) as Python polars lazy queries on the streaming
engine, in bounded memory. A benchmark peer of `etlkit pipeline` (scripts/bench-pipeline): what a data engineer
writes with a data-frame library when the data does not fit in memory.

Usage: polars_lazy.py INPUT_DIR OUTPUT_DIR [--temp-dir DIR]

Writes daily_revenue.csv and top_customers.csv (byte for byte the reference's on clean data) and summary.json
(revenue and the number of valid orders only). It checks the value rules 5 to 11 of the spec (a record that
fails one is dropped, not classified) and keeps the first occurrence of an order id in file name, then row,
order (a row index over the files in name order). Arithmetic is exact in Int128 integer cents.

How memory stays bounded: "first occurrence wins" needs every order id seen so far, which grows with the input
(a sort or an order-keeping `unique` over all rows took ~8 GB per GB of CSV). So it runs in two stages:
  1. one streaming query parses, checks, cleans and joins every record and writes the valid ones, a few
     compact columns each, to Parquet files partitioned by `order_id % N` (a `sink_parquet` with
     `pl.PartitionBy`; N grows with the input so that each partition holds ~PARTITION_INPUT_BYTES of it);
  2. each partition is then small enough to de-duplicate in memory (keep the row whose row index is the
     smallest for its order id: all copies of an id are in the same partition) and to aggregate; the partial
     aggregates are summed. The partition files live in a temporary directory, removed at the end.

Not implemented: rejects.csv and the reject counts; records polars cannot parse (wrong field count, invalid
UTF-8, an unterminated quote) make the run fail, so it is for clean data (BOM, CRLF and noise are fine).
Reads .csv and .csv.gz/.csv.zst as polars does (compressed files are decompressed whole, not streamed).
"""

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import polars as pl

COLS = ["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct", "currency",
        "order_ts", "status", "notes"]
STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned"]
TS = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:Z|([+-])([0-9]{2}):([0-9]{2}))$"
I = pl.Int128
# Input bytes per partition: stage 2 holds one partition in memory (~3 M records at 256 MB, ~0.5 GB), stage 1
# writes all of them at once (a buffer each: more partitions cost memory there).
PARTITION_INPUT_BYTES = 256 * 10**6
# pl.PartitionBy is marked unstable in polars 1.x/2.x; its warning would only clutter the output.
warnings.filterwarnings("ignore", message=".*PartitionBy.*")


def table(data: Path, name: str, cols) -> pl.LazyFrame:
    for ext in ("csv", "csv.gz", "csv.zst"):
        p = data / f"{name}.{ext}"
        if p.is_file():
            return pl.scan_csv(p, schema={c: pl.String for c in cols}, quote_char='"')
    sys.exit(f"polars_lazy: {data / name}.csv: not found")


def digits(col: str, pattern: str = r"^[0-9]{1,18}$") -> pl.Expr:
    return pl.col(col).str.contains(pattern).fill_null(False)


def checked_orders(files, customers: pl.LazyFrame, products: pl.LazyFrame, fx: pl.LazyFrame) -> pl.LazyFrame:
    """Every record that passes the rules, with its row index (`idx`: input order) and what the reports need."""
    orders = pl.scan_csv(files, schema={c: pl.String for c in COLS}, quote_char='"', row_index_name="idx")
    ts = pl.col("order_ts").str.extract_groups(TS)
    return (
        orders
        .filter(digits("order_id") & digits("customer_id") & digits("product_id")
                & digits("quantity", r"^-?[0-9]{1,18}$") & digits("unit_price", r"^[0-9]{1,18}\.[0-9]{2}$")
                & digits("discount_pct", r"^[0-9]{1,18}(\.[0-9]{1,2})?$"))
        .with_columns(
            pl.col("order_id").cast(pl.UInt64).alias("oid"),
            pl.col("customer_id").cast(pl.UInt64).alias("cust"),
            pl.col("product_id").cast(pl.UInt64).alias("prod"),
            pl.col("quantity").cast(I).alias("qty"),
            pl.col("unit_price").str.replace(".", "", literal=True).cast(I).alias("price"),
            (pl.col("discount_pct").str.split_exact(".", 1).struct.field("field_0").cast(I) * 100
             + pl.col("discount_pct").str.split_exact(".", 1).struct.field("field_1").fill_null("")
             .str.pad_end(2, "0").cast(I)).alias("bp"),
            ts.struct.field("1").str.to_date("%Y-%m-%d", strict=False).alias("local_date"),
            ts.struct.field("2").cast(pl.Int64).alias("hh"),
            ts.struct.field("3").cast(pl.Int64).alias("mi"),
            ts.struct.field("4").cast(pl.Int64).alias("ss"),
            pl.when(ts.struct.field("5") == "-").then(-1).otherwise(1).alias("sign"),
            ts.struct.field("6").cast(pl.Int64).fill_null(0).alias("oh"),
            ts.struct.field("7").cast(pl.Int64).fill_null(0).alias("om"),
            pl.col("status").str.strip_chars(" \t").str.to_lowercase().alias("status"),
            pl.col("currency").str.strip_chars(" \t").str.to_uppercase().alias("cur"),
        )
        .filter((pl.col("bp") <= 10_000) & (pl.col("qty") > 0)
                & pl.col("local_date").is_not_null() & (pl.col("hh") <= 23) & (pl.col("mi") <= 59)
                & (pl.col("ss") <= 59) & (pl.col("oh") <= 23) & (pl.col("om") <= 59)
                & pl.col("status").is_in(STATUSES))
        # The dimension tables are the small sides: build the hash tables on them. (With "auto", polars first
        # samples both sides, holding a few million order rows in memory meanwhile.)
        .join(fx, on="cur", how="inner", build_side="force_right")
        .join(customers.select("cust", "country"), on="cust", how="inner", build_side="force_right")
        .join(products, on="prod", how="inner", build_side="force_right")
        .with_columns((pl.col("price") * pl.col("qty")).alias("gross"))
        .with_columns(((((pl.col("gross") * (10_000 - pl.col("bp")) + 5_000) // 10_000) * pl.col("micros")
                        + 500_000) // 1_000_000).alias("usd"),
                      ((pl.col("local_date").cast(pl.Int64) * 1440 + pl.col("hh") * 60 + pl.col("mi")
                        - pl.col("sign") * (pl.col("oh") * 60 + pl.col("om"))) // 1440)
                      .cast(pl.Int32).cast(pl.Date).alias("day"))
        .filter(pl.col("gross") < 2**64, pl.col("usd") < 2**64)
        .select("idx", "oid", "day", "country", "category", "cust", pl.col("qty").cast(pl.UInt64),
                pl.col("usd").cast(pl.UInt64), (pl.col("status") == "cancelled").alias("cancelled"))
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--temp-dir", type=Path, default=None, help="where the partition files go (default: the "
                    "system temp dir); they take ~0.1-0.2 GB per GB of input")
    args = ap.parse_args()
    started = time.perf_counter()
    data, out = args.input, args.output
    files = sorted((p for p in (data / "orders").iterdir()
                    if p.name.startswith("part-") and p.name.endswith((".csv", ".csv.gz", ".csv.zst"))),
                   key=lambda p: p.name.encode())
    customers = table(data, "customers", ["customer_id", "name", "email", "country", "segment", "signup_date"]) \
        .select(pl.col("customer_id").cast(pl.UInt64).alias("cust"), pl.col("name").fill_null(""),
                pl.col("country").str.strip_chars().str.to_uppercase())
    products = table(data, "products", ["product_id", "name", "category", "unit_price"]) \
        .select(pl.col("product_id").cast(pl.UInt64).alias("prod"), pl.col("category").str.strip_chars())
    fx = table(data, "fx_rates", ["currency", "usd_per_unit"]).select(
        pl.col("currency").str.strip_chars().str.to_uppercase().alias("cur"),
        (pl.col("usd_per_unit").str.split_exact(".", 1).struct.field("field_0").cast(I) * 1_000_000
         + pl.col("usd_per_unit").str.split_exact(".", 1).struct.field("field_1").str.pad_end(6, "0").cast(I))
        .alias("micros"))
    partitions = max(1, -(-sum(p.stat().st_size for p in files) // PARTITION_INPUT_BYTES))

    with tempfile.TemporaryDirectory(prefix="polars-lazy-", dir=args.temp_dir) as tmp:
        # Stage 1: one streaming pass over the CSV files. Row order does not matter (`idx` keeps it).
        checked_orders(files, customers, products, fx).sink_parquet(
            pl.PartitionBy(tmp, key=(pl.col("oid") % partitions).alias("part"), include_key=False),
            maintain_order=False, engine="streaming")
        # Stage 2: per partition (all copies of an order id are in the same one, and it fits in memory), first
        # occurrence wins: the row whose row index is the smallest for its order id; then partial aggregates,
        # summed over the partitions (one query per partition: `kept` is computed once).
        daily_parts, per_customer = [], None
        valid = 0
        for part in sorted(Path(tmp).iterdir()):
            kept = (pl.scan_parquet(part)
                    .filter(pl.col("idx") == pl.col("idx").min().over("oid"))
                    .drop("idx", "oid"))
            daily, cust, count = pl.collect_all([
                kept.group_by("day", "country", "category", "cancelled").agg(
                    pl.len().alias("orders"), pl.col("qty").cast(I).sum().alias("units"),
                    pl.col("usd").cast(I).sum().alias("revenue_usd_cents")),
                kept.filter(~pl.col("cancelled")).group_by("cust").agg(
                    pl.len().alias("orders"), pl.col("usd").cast(I).sum().alias("revenue_usd_cents")),
                kept.select(pl.len()),
            ])
            valid += count.item()
            daily_parts.append(daily)
            per_customer = cust if per_customer is None else pl.concat([per_customer, cust]).group_by("cust").agg(
                pl.col("orders").sum(), pl.col("revenue_usd_cents").sum())

    schema = {"day": pl.Date, "country": pl.String, "category": pl.String, "cancelled": pl.Boolean,
              "orders": pl.UInt32, "units": I, "revenue_usd_cents": I}
    groups = (pl.concat(daily_parts) if daily_parts else pl.DataFrame(schema=schema)) \
        .group_by("day", "country", "category", "cancelled").agg(pl.col("orders", "units", "revenue_usd_cents").sum())
    cancelled = int(groups.filter(pl.col("cancelled"))["orders"].sum())
    daily_df = (groups.filter(~pl.col("cancelled"))
                .with_columns(pl.col("day").dt.strftime("%Y-%m-%d").alias("date"))
                .sort("date", "country", "category")
                .select("date", "country", "category", "orders", "units", "revenue_usd_cents"))
    if per_customer is None:
        per_customer = pl.DataFrame(schema={"cust": pl.UInt64, "orders": pl.UInt32, "revenue_usd_cents": I})
    top_df = (per_customer.lazy()
              .sort(["revenue_usd_cents", "cust"], descending=[True, False])
              .head(100)
              .join(customers, on="cust", how="left")
              .sort(["revenue_usd_cents", "cust"], descending=[True, False])
              .with_row_index("rank", offset=1)
              .select("rank", pl.col("cust").alias("customer_id"), "name", "country", "orders", "revenue_usd_cents")
              .collect())
    out.mkdir(parents=True, exist_ok=True)
    daily_df.write_csv(out / "daily_revenue.csv", line_terminator="\n")
    top_df.write_csv(out / "top_customers.csv", line_terminator="\n")
    summary = {"engine": "polars-lazy", "files": len(files), "valid": valid, "cancelled": cancelled,
               "revenue_usd_cents": int(daily_df["revenue_usd_cents"].sum()),
               "elapsed_seconds": round(time.perf_counter() - started, 3)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
