"""Categorise card transactions with an ordered table of merchant regex rules (first match wins)."""
import os
import random
import re
import unicodedata
from collections import defaultdict

CATEGORIES = ["groceries", "travel", "software", "restaurants", "fuel", "office", "utilities", "media"]
SYLLABLES = ["ka", "lo", "mi", "ter", "von", "ex", "ra", "plu", "zen", "do", "qua", "bri", "sto", "nix"]


class Rule:
    def __init__(self, category, pattern):
        self.category = category
        self.pattern = pattern

    def matches(self, text):
        return re.search(self.pattern, text, re.IGNORECASE) is not None


def merchant_names(rng, n):
    names = set()
    while len(names) < n:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).upper())
    return sorted(names)


def load_rules(rng, merchants):
    rules = []
    for i, name in enumerate(merchants):
        suffix = rng.choice([r"(?:\s+(?:GMBH|LTD|INC|SA))?", r"(?:\*\w+)?", r"\s*#?\d*"])
        rules.append(Rule(CATEGORIES[i % len(CATEGORIES)], rf"\b{name}{suffix}\b"))
    return rules


def normalize(description):
    text = unicodedata.normalize("NFKD", description)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.replace("/", " ").split())


def categorize(transactions, rules):
    spend = defaultdict(int)
    for description, cents in transactions:
        text = normalize(description)
        category = next((rule.category for rule in rules if rule.matches(text)), "uncategorized")
        spend[category] += cents
    return spend


def main():
    rng = random.Random(int(os.environ.get("DRILL_SEED", 606)))
    merchants = merchant_names(rng, 640)
    rules = load_rules(rng, merchants)
    transactions = []
    for _ in range(300):
        name = rng.choice(merchants) if rng.random() < 0.9 else "Café Zürich"
        transactions.append((f"CARD PAYMENT {name} Gmbh / {rng.randrange(10**6):06d}", rng.randrange(100, 90000)))
    spend = categorize(transactions, rules)
    for category in sorted(spend):
        print(f"{category:14} {spend[category] / 100:12.2f}")


if __name__ == "__main__":
    main()
