"""Hop distance from known-fraud seed accounts over the shared-attribute link graph."""
import os
import random
from collections import Counter


def build_graph(n_accounts=130000, n_links=220000, seed=int(os.environ.get("DRILL_SEED", 31))):
    rng = random.Random(seed)
    adjacency = [[] for _ in range(n_accounts)]
    ends = rng.choices(range(n_accounts), k=2 * n_links)
    for a, b in zip(ends[::2], ends[1::2]):
        if a != b:
            adjacency[a].append(b)
            adjacency[b].append(a)
    return adjacency


def hop_distances(adjacency, seeds):
    dist = {}
    frontier = [(s, 0) for s in seeds]
    while frontier:
        node, hops = frontier.pop(0)
        if node in dist:
            continue
        dist[node] = hops
        for nxt in adjacency[node]:
            if nxt not in dist:
                frontier.append((nxt, hops + 1))
    return dist


def main():
    adjacency = build_graph()
    seeds = [17, 31337, 77777]
    best = hop_distances(adjacency, seeds)
    by_hops = Counter(best.values())
    for hops in sorted(by_hops):
        print(f"within {hops:2d} hops: {by_hops[hops]}")
    print(f"reachable={len(best)} of {len(adjacency)}")


if __name__ == "__main__":
    main()
