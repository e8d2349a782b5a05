"""Infer column types of a CSV export by classifying every cell."""
import csv
import io
import os
import random
from collections import Counter
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

BOOLS = {"true": True, "false": False, "yes": True, "no": False}


def make_export(n=60000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 4)))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["customer", "city", "signup", "last_seen", "score", "active", "segment", "channel", "note"])
    distinct = [[f"cust-{i}", rng.choice(["Berlin", "Paris", "Oslo", "Graz", "Lyon"]),
                 f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                 f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2024", f"{rng.uniform(0, 100):.2f}",
                 rng.choice(["true", "false"]), rng.choice(["A", "B", "C", "n/a"]),
                 rng.choice(["web", "app", "store"]), rng.choice(["", "vip", "call back", "moved"])]
                for i in range(3000)]
    w.writerows(distinct[i % 3000] for i in range(n - rng.randrange(1000)))  # exports repeat a lot
    return buf.getvalue()


def classify(cell):
    try:
        int(cell)
        return "int"
    except ValueError:
        pass
    try:
        Decimal(cell)
        return "decimal"
    except InvalidOperation:
        pass
    try:
        date.fromisoformat(cell)
        return "date"
    except ValueError:
        pass
    try:
        datetime.strptime(cell, "%d.%m.%Y")
        return "date"
    except ValueError:
        pass
    try:
        BOOLS[cell.lower()]
        return "bool"
    except KeyError:
        return "text"


def infer_schema(text):
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    counts = [Counter() for _ in header]
    for row in reader:
        for i, cell in enumerate(row):
            counts[i][classify(cell)] += 1
    return header, counts


def main():
    header, counts = infer_schema(make_export())
    for name, c in zip(header, counts):
        kind = max(c, key=lambda k: (c[k], k))
        print(f"{name:9} {kind:8} " + " ".join(f"{k}={c[k]}" for k in sorted(c)))


if __name__ == "__main__":
    main()
