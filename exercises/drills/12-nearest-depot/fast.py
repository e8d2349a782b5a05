"""Assign customers to their nearest depot (great-circle distance) and report depot loads."""
import csv
import io
import os
import random

import numpy as np

EARTH_KM = 6371.0088


def make_inputs(n_customers=20000, n_depots=200):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 77)))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["customer_id", "lat", "lon", "parcels"])
    for i in range(n_customers):
        w.writerow([i, f"{rng.uniform(47.0, 55.0):.5f}", f"{rng.uniform(5.5, 15.0):.5f}", rng.randint(1, 9)])
    depots = [(rng.uniform(47.5, 54.5), rng.uniform(6.0, 14.5)) for _ in range(n_depots)]
    return buf.getvalue(), depots


def read_customers(text):
    rows = []
    for rec in csv.DictReader(io.StringIO(text)):
        rows.append((int(rec["customer_id"]), float(rec["lat"]), float(rec["lon"]), int(rec["parcels"])))
    return rows


def assign_depots(customers, depots):
    # one (customers x depots) distance matrix with array arithmetic instead of 4 million Python calls
    cust = np.array([(lat, lon) for _, lat, lon, _ in customers])
    dep = np.asarray(depots)
    p1, p2 = np.radians(cust[:, :1]), np.radians(dep[:, 0])
    dp, dl = p2 - p1, np.radians(dep[:, 1] - cust[:, 1:2])
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    km = 2 * EARTH_KM * np.arcsin(np.sqrt(a))
    best = km.argmin(axis=1)
    best_km = km[np.arange(len(cust)), best]
    return [(c[0], int(b), float(k), c[3]) for c, b, k in zip(customers, best, best_km)]


def main():
    text, depots = make_inputs()
    assignment = assign_depots(read_customers(text), depots)
    load = [0] * len(depots)
    total_km = 0.0
    for _, depot, km, parcels in assignment:
        load[depot] += parcels
        total_km += km
    busiest = sorted(range(len(depots)), key=lambda d: (-load[d], d))[:5]
    print("busiest depots:", ", ".join(f"#{d}={load[d]}" for d in busiest))
    print(f"customers={len(assignment)} unused_depots={load.count(0)} total_km={total_km:.1f}")


if __name__ == "__main__":
    main()
