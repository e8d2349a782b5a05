"""Assign customers to their nearest depot (great-circle distance) and report depot loads."""
import csv
import io
import math
import os
import random

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


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(a))


def assign_depots(customers, depots):
    assignment = []
    for cid, lat, lon, parcels in customers:
        best, best_km = None, float("inf")
        for d, (dlat, dlon) in enumerate(depots):
            km = haversine_km(lat, lon, dlat, dlon)
            if km < best_km:
                best, best_km = d, km
        assignment.append((cid, best, best_km, parcels))
    return assignment


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
