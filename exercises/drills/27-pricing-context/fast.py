"""Price quote requests against per-customer overrides of the default pricing configuration."""
import hashlib
import os
import random

DEFAULT_CONFIG = {
    "currency": "EUR",
    "rounding": {"mode": "half_up", "step_cents": 1},
    "tax": {country: {"standard": rate, "reduced": round(rate / 2.5, 4), "exempt": 0.0}
            for country, rate in [("DE", 0.19), ("FR", 0.20), ("NL", 0.21), ("AT", 0.20), ("IT", 0.22),
                                  ("ES", 0.21), ("PL", 0.23), ("SE", 0.25), ("DK", 0.25), ("BE", 0.21)]},
    "tiers": [{"min_qty": q, "discount": d} for q, d in [(1, 0.0), (10, 0.03), (50, 0.06), (200, 0.1), (1000, 0.14)]],
    "surcharges": {"express": 990, "bulky": 2500, "island": 1500},
    "channels": {name: {"fee": fee, "enabled": True} for name, fee in [("web", 0.0), ("app", 0.0), ("market", 0.08)]},
}


def quote(cfg, qty, unit_cents, country, tax_class, extras):
    discount = max(t["discount"] for t in cfg["tiers"] if qty >= t["min_qty"])
    net = qty * unit_cents * (1 - discount)
    net += sum(cfg["surcharges"][e] for e in extras)
    gross = net * (1 + cfg["tax"][country][tax_class])
    step = cfg["rounding"]["step_cents"]
    return int(gross / step + 0.5) * step


def price_requests(requests):
    total = 0
    digest = hashlib.sha256()
    for req in requests:
        # copy only what is overridden; everything else is shared read-only with the default
        cfg = {**DEFAULT_CONFIG, "rounding": {**DEFAULT_CONFIG["rounding"], "step_cents": req["rounding_step"]}}
        if req["vip"]:
            cfg["tiers"] = [{"min_qty": 1, "discount": 0.15}]
        cents = quote(cfg, req["qty"], req["unit_cents"], req["country"], req["tax_class"], req["extras"])
        total += cents
        digest.update(cents.to_bytes(8, "big"))
    return total, digest.hexdigest()[:16]


def make_requests(n=40000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 27)))
    countries = list(DEFAULT_CONFIG["tax"])
    for _ in range(n):
        yield {"qty": rng.choice([1, 2, 5, 12, 60, 250, 1200]), "unit_cents": rng.randrange(100, 20000),
               "country": rng.choice(countries), "tax_class": rng.choice(["standard", "reduced", "exempt"]),
               "extras": rng.sample(["express", "bulky", "island"], rng.randint(0, 2)),
               "rounding_step": rng.choice([1, 5, 10]), "vip": rng.random() < 0.1}


def main():
    total, digest = price_requests(make_requests())
    print(f"quotes=40000 total_eur={total / 100:.2f} sha256={digest}")


if __name__ == "__main__":
    main()
