#!/usr/bin/env python3
"""Deliberately wrong (a harness test case): money in floats, rounded with round(). Some cents are off.

Usage: python wrong_cents.py INPUT_DIR OUTPUT_DIR

Everything but the money is right (it is streaming_csv.py with a different pricing step), so the bug shows
only in the amounts: `net = round(gross * (1 - discount / 100))` and `usd = round(net * rate)` in binary
floating point, with Python's round(), which rounds half to *even*. The spec says integer cents, half *up*.
A 12.5 % discount lands exactly on half a cent for one gross amount in eight, and half of those round the
other way; a float like 0.875 * 1197 = 1047.375 is fine, but 1.085 is not representable, so the FX step is
off by a cent now and then too. Expect daily_revenue.csv and top_customers.csv to differ by a few cents per
line (and summary.json's revenue), rejects.csv to be right.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import streaming_csv as sc  # noqa: E402

exact_check, exact_fast_check = sc.check, sc.fast_check


def float_usd(fields, v, dims):
    """Re-prices a valid record the float way (the bug)."""
    qty, price, disc, cur = int(fields[3]), float(fields[4]), float(fields[5]), fields[6]
    rate = dims.fx_micros[cur.strip(b" \t").upper()] / 1_000_000
    net = round(price * 100 * qty * (1 - disc / 100))
    return v[:1] + (round(net * rate),) + v[2:]


def check(f, raw, tail, cut_short, dims):
    return float_usd(f, exact_check(f, raw, tail, cut_short, dims), dims)


def fast_check(g, dims):
    v = exact_fast_check(g, dims)
    if v is None:
        return None
    qty, units, cents, whole, frac, cur = g[3], g[4], g[5], g[6], g[7], g[8]
    disc = whole + (b"." + frac if frac else b"")
    return float_usd([None, None, None, qty, units + b"." + cents, disc, cur], v, dims)


sc.check, sc.fast_check = check, fast_check

if __name__ == "__main__":
    sys.exit(sc.main(sys.argv))
