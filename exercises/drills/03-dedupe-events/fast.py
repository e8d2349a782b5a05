"""Drop redelivered events (same event id) from a batch and count what remains per type."""
import os
import random
import zlib

TYPES = ["view", "click", "add_to_cart", "purchase", "refund"]


def make_batch(n=17000, dup_rate=0.15):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 3)))
    batch = []
    for i in range(n):
        event = {"event_id": f"evt-{rng.getrandbits(48):012x}", "type": rng.choice(TYPES),
                 "value": rng.randint(1, 500)}
        batch.append(event)
        if rng.random() < dup_rate:
            batch.append(dict(event))  # redelivery
    rng.shuffle(batch)
    return batch


def dedupe(batch):
    seen_ids = set()
    unique = []
    for event in batch:
        if event["event_id"] not in seen_ids:
            seen_ids.add(event["event_id"])
            unique.append(event)
    return unique


def summarize(events):
    counts = {t: 0 for t in TYPES}
    values = {t: 0 for t in TYPES}
    crc = 0
    for e in events:
        counts[e["type"]] += 1
        values[e["type"]] += e["value"]
        crc = zlib.crc32(e["event_id"].encode(), crc)
    return counts, values, crc


def main():
    batch = make_batch()
    unique = dedupe(batch)
    counts, values, crc = summarize(unique)
    for t in TYPES:
        print(f"{t:12} {counts[t]:6d} {values[t]:9d}")
    print(f"received={len(batch)} unique={len(unique)} crc={crc:08x}")


if __name__ == "__main__":
    main()
