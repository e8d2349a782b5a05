"""Status-code counts, error rate and bytes served from an access log."""
import os
import random
import resource
import sys
import tempfile
from collections import Counter

PATHS = ["/", "/api/cart", "/api/search?q=shoes", "/static/app.js", "/img/logo.png", "/api/orders/42"]
STATUSES = [200] * 40 + [204, 301, 304, 304, 404, 404, 500, 503]


def write_log(path, n_lines=650000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 1)))
    templates = [f'10.0.{rng.randrange(256)}.{rng.randrange(256)} - - [12/Mar/2024:10:{m:02d}:{s:02d} +0000] '
                 f'"GET {rng.choice(PATHS)} HTTP/1.1" {{status}} {{size}} "-" "Mozilla/5.0 (X11; Linux x86_64)"\n'
                 for m in range(60) for s in range(0, 60, 3)]
    with open(path, "w") as f:
        for i in range(0, n_lines, 1000):
            f.write("".join(rng.choice(templates).format(status=rng.choice(STATUSES), size=rng.randrange(90000))
                            for _ in range(1000)))


def log_stats(path):
    statuses = Counter()
    served = n = 0
    with open(path) as f:
        for line in f:  # one line in memory at a time
            _, _, tail = line.partition('" ')
            status, size, _ = tail.split(" ", 2)
            statuses[status] += 1
            served += int(size)
            n += 1
    return statuses, served, n


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "access.log")
        write_log(path)
        statuses, served, n = log_stats(path)
    errors = sum(v for k, v in statuses.items() if k.startswith("5"))
    print(" ".join(f"{k}={statuses[k]}" for k in sorted(statuses)))
    print(f"requests={n} error_rate={errors / n:.4%} served_mb={served / 1e6:.1f}")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", file=sys.stderr)


if __name__ == "__main__":
    main()
