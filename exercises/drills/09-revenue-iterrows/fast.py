"""Revenue per product category in EUR cents, from a CSV of order lines."""
import io
import os
import random

import pandas as pd

FX_TO_EUR = {"EUR": 1.0, "USD": 0.9215, "GBP": 1.1632, "PLN": 0.2311, "SEK": 0.0874}
CATEGORIES = ["garden", "kitchen", "tools", "toys", "books", "outdoor", "audio"]


def make_csv(n=70000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 17)))
    lines = ["order_id,category,quantity,unit_price_cents,discount_pct,currency"]
    for i in range(n):
        lines.append(f"{i},{rng.choice(CATEGORIES)},{rng.randint(1, 12)},{rng.randrange(99, 50000)},"
                     f"{rng.choice([0, 0, 0, 5, 10, 15])},{rng.choice(list(FX_TO_EUR))}")
    return "\n".join(lines) + "\n"


def revenue_by_category(df):
    # whole-column arithmetic; same integer cents per line as the row loop, so the sums are identical
    net = df["quantity"] * df["unit_price_cents"] * (100 - df["discount_pct"]) // 100
    eur_cents = (net * df["currency"].map(FX_TO_EUR)).round().astype("int64")
    return eur_cents.groupby(df["category"]).sum().to_dict()


def main():
    df = pd.read_csv(io.StringIO(make_csv()))
    totals = revenue_by_category(df)
    for category in sorted(totals):
        print(f"{category:8} {int(totals[category]) / 100:14.2f}")
    print(f"lines={len(df)} total_eur={sum(int(v) for v in totals.values()) / 100:.2f}")


if __name__ == "__main__":
    main()
