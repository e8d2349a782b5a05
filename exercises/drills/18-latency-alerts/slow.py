"""Alert on requests slower than 4x their endpoint's rolling median latency."""
import io
import json
import os
import random
from collections import Counter, deque

WINDOW = 2000
ENDPOINTS = ["/api/cart", "/api/search", "/api/login", "/api/orders", "/static/app.js"]


def access_log(n=16000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 404)))
    base = {e: rng.uniform(5, 80) for e in ENDPOINTS}
    buf = io.StringIO()
    for i in range(n):
        ep = rng.choice(ENDPOINTS)
        ms = rng.lognormvariate(0, 0.5) * base[ep] * (6 if rng.random() < 0.01 else 1)
        buf.write(json.dumps({"ts": 1_700_000_000 + i // 10, "path": ep, "status": 200, "ms": round(ms, 3),
                              "ua": "curl/8.4", "bytes": rng.randrange(200, 90000)}) + "\n")
    buf.seek(0)
    return buf


def rolling_median(window):
    ordered = sorted(window)
    return ordered[len(ordered) // 2]


def scan(log):
    windows = {}
    alerts = Counter()
    for line in log:
        req = json.loads(line)
        window = windows.setdefault(req["path"], deque(maxlen=WINDOW))
        if len(window) >= 100 and req["ms"] > 4 * rolling_median(window):
            alerts[req["path"]] += 1
        window.append(req["ms"])
    return alerts


def main():
    alerts = scan(access_log())
    for ep in ENDPOINTS:
        print(f"{ep:16} alerts={alerts[ep]}")
    print(f"total_alerts={sum(alerts.values())}")


if __name__ == "__main__":
    main()
