"""Attach customer attributes to orders and report revenue per country."""
import csv
import os
import random
import tempfile
from decimal import Decimal

COUNTRIES = ["DE", "FR", "NL", "PL", "SE", "ES", "IT", "US"]


def write_inputs(tmp, n_customers=4000, n_orders=20000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 7)))
    with open(os.path.join(tmp, "customers.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "name", "country", "tier"])
        for i in range(n_customers):
            w.writerow([f"C{i:06d}", f"customer {i}", rng.choice(COUNTRIES), rng.choice("ABC")])
    with open(os.path.join(tmp, "orders.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "customer_id", "amount"])
        for i in range(n_orders):
            cid = f"C{rng.randrange(n_customers):06d}"
            w.writerow([i, cid, f"{rng.uniform(5, 500):.2f}"])


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def enrich_orders(orders, customers):
    by_id = {cust["customer_id"]: cust for cust in customers}
    enriched = []
    for order in orders:
        match = by_id.get(order["customer_id"])
        if match is None:
            continue
        enriched.append({**order, "country": match["country"], "tier": match["tier"]})
    return enriched


def revenue_by_country(rows):
    totals = {}
    for row in rows:
        amount = Decimal(row["amount"])
        if row["tier"] == "A":
            amount *= Decimal("0.95")
        totals[row["country"]] = totals.get(row["country"], Decimal(0)) + amount
    return totals


def main():
    with tempfile.TemporaryDirectory() as tmp:
        write_inputs(tmp)
        customers = read_csv(os.path.join(tmp, "customers.csv"))
        orders = read_csv(os.path.join(tmp, "orders.csv"))
    rows = enrich_orders(orders, customers)
    totals = revenue_by_country(rows)
    for country in sorted(totals):
        print(f"{country} {totals[country].quantize(Decimal('0.01'))}")
    print(f"orders={len(rows)} total={sum(totals.values()).quantize(Decimal('0.01'))}")


if __name__ == "__main__":
    main()
