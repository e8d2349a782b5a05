"""Daily revenue and distinct customers per country from an orders CSV."""
import csv
import os
import random
import resource
import sys
import tempfile
from collections import defaultdict

FIELDS = ["order_id", "customer_id", "country", "order_date", "sku", "quantity", "unit_price", "status"]


def write_orders(path, n=220000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 2)))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for i in range(n):
            w.writerow([i, f"C{rng.randrange(40000):05d}", rng.choice(["DE", "FR", "NL", "PL"]),
                        f"2024-06-{1 + i * 30 // n:02d}", f"SKU{rng.randrange(5000):04d}", rng.randint(1, 5),
                        f"{rng.uniform(2, 300):.2f}", rng.choice(["paid", "paid", "paid", "cancelled"])])


def read_table(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def daily_report(rows):
    revenue = defaultdict(float)
    customers = defaultdict(set)
    for row in rows:
        if row["status"] != "paid":
            continue
        key = (row["order_date"], row["country"])
        revenue[key] += int(row["quantity"]) * float(row["unit_price"])
        customers[key].add(row["customer_id"])
    return revenue, customers


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "orders.csv")
        write_orders(path)
        revenue, customers = daily_report(read_table(path))
    days = sorted({d for d, _ in revenue})
    for day in days[:3] + days[-2:]:
        print(day, " ".join(f"{c}:{revenue[(day, c)]:.2f}/{len(customers[(day, c)])}" for c in ["DE", "FR", "NL", "PL"]))
    print(f"days={len(days)} revenue={sum(revenue.values()):.2f}")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", file=sys.stderr)


if __name__ == "__main__":
    main()
