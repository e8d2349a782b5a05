"""The `orders` fact table's columns, generated the way a Python engineer would: Faker or mimesis + csv.

A peer for scripts/bench-generate (same columns and similar value shapes as `etlkit generate`, no dirt).
Usage: python faker_orders.py --rows N [--lib faker|mimesis] > out.csv
"""

import argparse
import csv
import random
import sys

STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned"]
STATUS_WEIGHTS = [50, 100, 200, 550, 60, 40]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "INR", "BRL", "PLN", "MXN"]
DISCOUNTS = ["0", "0", "0", "0", "0", "0", "5", "10", "12.5", "15", "20", "25"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--lib", choices=["faker", "mimesis"], default="faker")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    if args.lib == "faker":
        from faker import Faker

        fake = Faker()
        Faker.seed(args.seed)

        def ts() -> str:
            return fake.date_time_between("-1y", "now", tzinfo=fake.pytimezone()).isoformat()

        def note() -> str:
            return fake.sentence() if rnd.random() < 0.45 else ""
    else:
        from mimesis import Datetime, Text
        from mimesis.locales import Locale

        dt, text = Datetime(seed=args.seed), Text(Locale.EN, seed=args.seed)

        def ts() -> str:
            return dt.datetime(start=2024, end=2024).isoformat() + "+00:00"

        def note() -> str:
            return text.sentence() if rnd.random() < 0.45 else ""

    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["order_id", "customer_id", "product_id", "quantity", "unit_price", "discount_pct",
                  "currency", "order_ts", "status", "notes"])
    for i in range(1, args.rows + 1):
        out.writerow([
            i,
            int(rnd.paretovariate(1.0)) % 100_000 + 1,
            int(rnd.paretovariate(1.0)) % 10_000 + 1,
            rnd.choice([1, 1, 1, 2, 2, 3, 4, 5, 8, 12]),
            f"{rnd.randint(200, 200_000) / 100:.2f}",
            rnd.choice(DISCOUNTS),
            rnd.choice(CURRENCIES),
            ts(),
            rnd.choices(STATUSES, STATUS_WEIGHTS)[0],
            note(),
        ])


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        pass
