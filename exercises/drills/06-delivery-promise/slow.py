"""Promise delivery dates: N business days after the order, skipping weekends and regional holidays."""
import os
import random
from collections import Counter
from datetime import date, datetime, timedelta

FIXED = {"DE": "01-01 05-01 10-03 12-25 12-26",
         "FR": "01-01 05-01 05-08 07-14 08-15 11-01 11-11 12-25",
         "NL": "01-01 04-27 12-25 12-26"}
EASTER_OFFSETS = {"DE": [-2, 1, 39, 50], "FR": [1, 39, 50], "NL": [-2, 1, 39, 49, 50]}


def easter(year):
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def holidays_for(year, region):
    days = {datetime.strptime(f"{year}-{md}", "%Y-%m-%d").date() for md in FIXED[region].split()}
    sunday = easter(year)
    days.update(sunday + timedelta(days=off) for off in EASTER_OFFSETS[region])
    return frozenset(days)


def is_business_day(day, region):
    return day.weekday() < 5 and day not in holidays_for(day.year, region)


def add_business_days(start, n, region):
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_business_day(day, region):
            n -= 1
    return day


def make_orders(n=12000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 8)))
    t0 = datetime(2024, 1, 1)
    for i in range(n):
        ts = t0 + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        yield {"id": i, "ordered_at": ts.strftime("%Y-%m-%d %H:%M:%S"),
               "region": rng.choice(list(FIXED)), "sla_days": rng.choice([1, 2, 3, 5, 7])}


def main():
    lengths = Counter()
    latest = date.min
    for order in make_orders():
        ordered = datetime.strptime(order["ordered_at"], "%Y-%m-%d %H:%M:%S")
        promised = add_business_days(ordered.date(), order["sla_days"], order["region"])
        lengths[(promised - ordered.date()).days] += 1
        latest = max(latest, promised)
    for days in sorted(lengths):
        print(f"{days:2d} calendar days: {lengths[days]}")
    print(f"latest promise {latest.isoformat()}")


if __name__ == "__main__":
    main()
