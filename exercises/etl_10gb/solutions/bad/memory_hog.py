#!/usr/bin/env python3
"""Deliberately wrong (a harness test case): allocates memory without bound and never finishes.

Usage: python memory_hog.py INPUT_DIR OUTPUT_DIR

A plausible bug: it keeps every record it reads (as a dict, the most expensive form), and the loop meant to
read each file once re-reads the file list forever because its stop condition compares a count that never
reaches the target. Resident memory grows by roughly ten times the input size per pass, until a memory
limit (or the OOM killer) ends it. Run it only under a harness with a memory limit.
"""

import csv
import sys
from pathlib import Path

COLUMNS = ["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct", "currency",
           "order_ts", "status", "notes"]


def main(data: Path) -> None:
    files = sorted((data / "orders").glob("part-*.csv"))
    records = []
    done = 0
    while done != len(files) + 1:  # the bug: off by one, so it never stops
        for path in files:
            with open(path, newline="", encoding="utf-8", errors="replace") as f:
                records.extend(dict(zip(COLUMNS, row)) for row in csv.reader(f))
        done = len(files)
        print(f"{len(records)} records held", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
