"""RFM-style customer segmentation with pandas."""
import numpy as np
import os
import pandas as pd

AS_OF = pd.Timestamp("2025-01-01")


def make_orders(n_orders=600000, n_customers=160000):
    rng = np.random.default_rng(int(os.environ.get("DRILL_SEED", 99)))
    regulars = rng.random(n_orders) < 0.4
    customer = np.where(regulars, rng.integers(0, 2000, n_orders), rng.integers(0, n_customers, n_orders))
    ts = AS_OF - pd.to_timedelta(rng.integers(0, 365 * 24 * 3600, n_orders), unit="s")
    amount = np.round(rng.lognormal(3.5, 0.9, n_orders), 2)
    return pd.DataFrame({"customer_id": customer, "ts": ts, "amount": amount})


def customer_features(orders):
    g = orders.groupby("customer_id")
    feats = g.agg(orders=("amount", "size"), spend=("amount", "sum"), last=("ts", "max"))
    feats["recency_days"] = (AS_OF - feats["last"]).dt.days
    return feats


def segment(row):
    if row["orders"] >= 20 and row["recency_days"] <= 30:
        return "champion"
    if row["spend"] >= 1000 or row["spend"] / row["orders"] >= 150:
        return "big_spender"
    if row["recency_days"] > 180:
        return "lapsed" if row["orders"] > 1 else "one_off"
    if row["orders"] >= 3:
        return "loyal"
    return "casual"


def assign_segments(feats):
    feats = feats.copy()
    feats["segment"] = feats.apply(segment, axis=1)
    return feats


def main():
    feats = assign_segments(customer_features(make_orders()))
    summary = feats.groupby("segment").agg(customers=("spend", "size"), spend=("spend", "sum"))
    for name, row in summary.sort_index().iterrows():
        print(f"{name:12} {int(row['customers']):6d} {row['spend']:14.2f}")
    print(f"customers={len(feats)}")


if __name__ == "__main__":
    main()
