"""Apply warehouse transactions to the inventory; a transaction that fails is rolled back entirely."""
import hashlib
import os
import random


class Insufficient(Exception):
    pass


class Inventory:
    def __init__(self, n_skus=600, n_bins=4):
        self.stock = {f"SKU{s:05d}": {f"BIN-{b}": 50 for b in range(n_bins)} for s in range(n_skus)}
        self.history = []

    def move(self, sku, bin_id, delta):
        level = self.stock[sku][bin_id] + delta
        if level < 0:
            raise Insufficient(f"{sku} {bin_id}")
        self.stock[sku][bin_id] = level

    def apply(self, txn):
        undo = []  # record only what this transaction changes
        try:
            for sku, bin_id, delta in txn["lines"]:
                self.move(sku, bin_id, delta)
                undo.append((sku, bin_id, delta))
        except Insufficient:
            for sku, bin_id, delta in reversed(undo):
                self.stock[sku][bin_id] -= delta
            return False
        self.history.append(txn["id"])
        return True


def transactions(inv, n=1500):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 28)))
    skus = list(inv.stock)
    for i in range(n):
        kind = rng.choice(["receipt", "pick", "pick", "transfer"])
        sku = rng.choice(skus)
        a, b = rng.sample(sorted(inv.stock[sku]), 2)
        qty = rng.randint(1, 40)
        if kind == "receipt":
            lines = [(sku, a, qty)]
        elif kind == "pick":
            lines = [(sku, a, -qty), (rng.choice(skus), b, -rng.randint(1, 10))]
        else:
            lines = [(sku, a, -qty), (sku, b, qty)]
        yield {"id": i, "kind": kind, "lines": lines}


def main():
    inv = Inventory()
    rejected = sum(not inv.apply(txn) for txn in list(transactions(inv)))
    h = hashlib.sha256()
    for sku in sorted(inv.stock):
        h.update(f"{sku}:{sorted(inv.stock[sku].items())};".encode())
    print(f"applied={len(inv.history)} rejected={rejected} units={sum(sum(b.values()) for b in inv.stock.values())}")
    print(f"stock_sha256={h.hexdigest()[:24]}")


if __name__ == "__main__":
    main()
