"""Find near-duplicate product titles (edit distance <= 2 within a brand) with a pool of workers."""
import hashlib
import os
import random
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations

BRANDS = ["acme", "globex", "initech", "umbrella", "hooli", "stark"]


def make_feed(n=600):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 12)))
    words = ["steel", "kettle", "lamp", "desk", "chair", "cable", "drill", "mug", "fan", "plug", "bag", "pen"]
    feed = []
    for i in range(n):
        brand = rng.choice(BRANDS)
        title = f"{brand} {rng.choice(words)} {rng.choice(words)} {rng.randint(10, 99)}"
        if feed and rng.random() < 0.1:  # a supplier typo of an earlier title
            brand, rest = rng.choice(feed)[1].split(" ", 1)
            title = f"{brand} {rest.replace('e', 'a', 1)}"
        feed.append((i, title))
    return feed


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def duplicates_in(group):
    found = []
    for (i, a), (j, b) in combinations(group, 2):
        if abs(len(a) - len(b)) <= 2 and edit_distance(a, b) <= 2:
            found.append((i, j))
    return found


def find_duplicates(feed, workers=8):
    groups = {}
    for item in feed:
        groups.setdefault(item[1].split()[0], []).append(item)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(duplicates_in, [groups[b] for b in sorted(groups)]))
    return sorted(pair for found in results for pair in found)


def main():
    pairs = find_duplicates(make_feed())
    digest = hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]
    print(f"duplicate_pairs={len(pairs)} first={pairs[:3]} sha256={digest}")


if __name__ == "__main__":
    main()
