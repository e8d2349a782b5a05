#!/usr/bin/env python3
"""Deliberately wrong (a harness test case): crashes part way through with a traceback, writes no outputs.

Usage: python crashes.py INPUT_DIR OUTPUT_DIR

A plausible bug: the FX rates are hard-coded instead of read from fx_rates.csv, and the table misses a
currency. The first order in that currency (a few dozen rows in) raises KeyError: 'MXN'; the process exits
with status 1 and a traceback, having written nothing (outputs are only written at the end).
"""

import csv
import sys
from pathlib import Path

FX_MICROS = {"USD": 1_000_000, "EUR": 1_085_000, "GBP": 1_265_000, "JPY": 6_700, "CAD": 735_000,
             "AUD": 655_000, "CHF": 1_120_000, "SEK": 95_000, "INR": 12_000, "BRL": 200_000, "PLN": 250_000}
# (no "MXN": the bug)


def main(data: Path, out: Path) -> None:
    revenue = 0
    rows = 0
    for path in sorted((data / "orders").glob("part-*.csv")):
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.DictReader(f)
            for row in reader:
                rows += 1
                cents = int(row["unit_price"].replace(".", "")) * int(row["quantity"] or 0)
                revenue += cents * FX_MICROS[row["currency"].strip().upper()] // 1_000_000
    print(f"{rows} rows, revenue {revenue}", file=sys.stderr)
    raise SystemExit("outputs would be written here")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
