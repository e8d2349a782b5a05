"""Serialise the product catalogue into one NDJSON bulk-index request body."""
import hashlib
import json
import os
import random

CATEGORIES = ["garden", "kitchen", "tools", "toys", "books", "outdoor", "audio"]


def catalogue(n=7000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 21)))
    for i in range(n):
        yield {
            "sku": f"SKU-{i:07d}",
            "title": f"{rng.choice(['Deluxe', 'Basic', 'Pro', 'Mini'])} item {rng.randrange(10**6)}",
            "category": rng.choice(CATEGORIES),
            "price_cents": rng.randrange(199, 99999),
            "in_stock": rng.random() < 0.8,
        }


def to_document(product):
    doc = dict(product)
    doc["price"] = round(product["price_cents"] / 100, 2)
    del doc["price_cents"]
    return doc


def build_bulk_body(products, index="catalogue"):
    parts = []
    count = 0
    for product in products:
        action = {"index": {"_index": index, "_id": product["sku"]}}
        line = json.dumps(action) + "\n" + json.dumps(to_document(product), sort_keys=True) + "\n"
        parts.append(line.encode("utf-8"))
        count += 1
    return b"".join(parts), count  # one copy at the end


def main():
    body, count = build_bulk_body(catalogue())
    print(f"documents={count} bytes={len(body)} sha256={hashlib.sha256(body).hexdigest()[:24]}")
    print(body[:120].decode())


if __name__ == "__main__":
    main()
