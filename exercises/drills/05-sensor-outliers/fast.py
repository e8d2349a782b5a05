"""Flag sensor readings more than 3 standard deviations away from their sensor's mean."""
import csv
import io
import os
import random
import statistics


def make_csv(n_sensors=12, per_sensor=380):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 5)))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["sensor", "minute", "celsius"])
    for s in range(n_sensors):
        base = rng.uniform(15, 30)
        for minute in range(per_sensor):
            value = rng.gauss(base, 1.5)
            if rng.random() < 0.01:
                value += rng.choice([-12, 12])  # glitch
            w.writerow([f"S{s:02d}", minute, f"{value:.3f}"])
    return buf.getvalue()


def load(text):
    readings = {}
    for row in csv.DictReader(io.StringIO(text)):
        readings.setdefault(row["sensor"], []).append(float(row["celsius"]))
    return readings


def flag_anomalies(values):
    mean = statistics.mean(values)  # loop-invariant: compute once
    spread = statistics.stdev(values)
    flagged = []
    for i, v in enumerate(values):
        if abs(v - mean) > 3 * spread:
            flagged.append(i)
    return flagged


def main():
    readings = load(make_csv())
    total = 0
    for sensor in sorted(readings):
        flagged = flag_anomalies(readings[sensor])
        total += len(flagged)
        print(f"{sensor} n={len(readings[sensor])} flagged={len(flagged)} first={flagged[:3]}")
    print(f"total_flagged={total}")


if __name__ == "__main__":
    main()
