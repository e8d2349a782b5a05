#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise (exercises/etl_10gb/README.md) as one Python polars lazy query, run on the
streaming engine. A benchmark peer of `etlkit pipeline` (scripts/bench-pipeline): what a data engineer writes
with a data-frame library.

Usage: polars_lazy.py INPUT_DIR OUTPUT_DIR

Writes daily_revenue.csv and top_customers.csv (byte for byte the reference's on clean data) and summary.json
(revenue and the number of valid orders only). It checks the value rules 5 to 11 of the spec (a record that
fails one is dropped, not classified) and keeps the first occurrence of an order id in file name, then row,
order (a row index over the files in name order). Arithmetic is exact in Int128 integer cents.

Not implemented: rejects.csv and the reject counts; records polars cannot parse (wrong field count, invalid
UTF-8, an unterminated quote) make the run fail, so it is for clean data (BOM, CRLF and noise are fine).
Reads .csv and .csv.gz/.csv.zst as polars does (compressed files are decompressed whole, not streamed).
"""

import json
import sys
import time
from pathlib import Path

import polars as pl

COLS = ["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct", "currency",
        "order_ts", "status", "notes"]
STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned"]
TS = r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|([+-])(\d{2}):(\d{2}))$"
I = pl.Int128


def table(data: Path, name: str, cols) -> pl.LazyFrame:
    for ext in ("csv", "csv.gz", "csv.zst"):
        p = data / f"{name}.{ext}"
        if p.is_file():
            return pl.scan_csv(p, schema={c: pl.String for c in cols}, quote_char='"')
    sys.exit(f"polars_lazy: {data / name}.csv: not found")


def digits(col: str, pattern: str = r"^\d{1,18}$") -> pl.Expr:
    return pl.col(col).str.contains(pattern).fill_null(False)


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    started = time.perf_counter()
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
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

    orders = pl.scan_csv(files, schema={c: pl.String for c in COLS}, quote_char='"', row_index_name="idx")
    ts = pl.col("order_ts").str.extract_groups(TS)
    valid = (
        orders
        .filter(digits("order_id") & digits("customer_id") & digits("product_id")
                & digits("quantity", r"^-?\d{1,18}$") & digits("unit_price", r"^\d{1,18}\.\d{2}$")
                & digits("discount_pct", r"^\d{1,18}(\.\d{1,2})?$"))
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
        .join(fx, on="cur", how="inner")
        .join(customers.select("cust", "country"), on="cust", how="inner")
        .join(products, on="prod", how="inner")
        .with_columns((pl.col("price") * pl.col("qty")).alias("gross"))
        .with_columns(((((pl.col("gross") * (10_000 - pl.col("bp")) + 5_000) // 10_000) * pl.col("micros")
                        + 500_000) // 1_000_000).alias("usd"),
                      ((pl.col("local_date").cast(pl.Int64) * 1440 + pl.col("hh") * 60 + pl.col("mi")
                        - pl.col("sign") * (pl.col("oh") * 60 + pl.col("om"))) // 1440)
                      .cast(pl.Int32).cast(pl.Date).alias("day"))
        .filter(pl.col("gross") < 2**64, pl.col("usd") < 2**64)
        .sort("idx")
        .unique(subset=["oid"], keep="first", maintain_order=True)
        .select("day", "country", "category", "cust", "qty", "usd", (pl.col("status") == "cancelled").alias("cancelled"))
    )
    paid = valid.filter(~pl.col("cancelled"))
    daily = (paid.group_by("day", "country", "category")
             .agg(pl.len().alias("orders"), pl.col("qty").sum().alias("units"), pl.col("usd").sum().alias("revenue_usd_cents"))
             .with_columns(pl.col("day").dt.strftime("%Y-%m-%d").alias("date"))
             .sort("date", "country", "category")
             .select("date", "country", "category", "orders", "units", "revenue_usd_cents"))
    top = (paid.group_by("cust").agg(pl.len().alias("orders"), pl.col("usd").sum().alias("revenue_usd_cents"))
           .sort(["revenue_usd_cents", "cust"], descending=[True, False])
           .head(100)
           .join(customers, on="cust", how="left")
           .sort(["revenue_usd_cents", "cust"], descending=[True, False])
           .with_row_index("rank", offset=1)
           .select("rank", pl.col("cust").alias("customer_id"), "name", "country", "orders", "revenue_usd_cents"))
    counts = valid.select(pl.len().alias("valid"), pl.col("cancelled").sum().alias("cancelled"))
    daily_df, top_df, counts_df = pl.collect_all([daily, top, counts], engine="streaming")
    out.mkdir(parents=True, exist_ok=True)
    daily_df.write_csv(out / "daily_revenue.csv", line_terminator="\n")
    top_df.write_csv(out / "top_customers.csv", line_terminator="\n")
    summary = {"engine": "polars-lazy", "files": len(files), "valid": int(counts_df["valid"][0]),
               "cancelled": int(counts_df["cancelled"][0]),
               "revenue_usd_cents": int(daily_df["revenue_usd_cents"].sum()),
               "elapsed_seconds": round(time.perf_counter() - started, 3)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
