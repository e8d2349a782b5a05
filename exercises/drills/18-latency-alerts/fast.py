"""Alert on requests slower than 4x their endpoint's rolling median latency."""
import bisect
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


class RollingWindow:
    """Arrival order (to evict the oldest) plus a sorted copy maintained incrementally with bisect."""

    def __init__(self, size):
        self.size = size
        self.arrivals = deque()
        self.ordered = []

    def __len__(self):
        return len(self.arrivals)

    def append(self, value):
        if len(self.arrivals) == self.size:
            old = self.arrivals.popleft()
            del self.ordered[bisect.bisect_left(self.ordered, old)]
        self.arrivals.append(value)
        bisect.insort(self.ordered, value)

    def median(self):
        return self.ordered[len(self.ordered) // 2]


def scan(log):
    windows = {}
    alerts = Counter()
    for line in log:
        req = json.loads(line)
        window = windows.setdefault(req["path"], RollingWindow(WINDOW))
        if len(window) >= 100 and req["ms"] > 4 * window.median():
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
