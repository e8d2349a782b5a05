"""Load partner sales uploads whose delimiter differs per partner, and total them per partner."""
import csv
import os
import random
import tempfile
from decimal import Decimal

PARTNERS = {"acme": ",", "globex": ";", "initech": "|", "umbrella": "\t"}


def write_uploads(tmp, rows_per_file=5000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 9)))
    for partner, delim in PARTNERS.items():
        with open(os.path.join(tmp, f"{partner}.txt"), "w", newline="") as f:
            w = csv.writer(f, delimiter=delim)
            w.writerow(["date", "sku", "qty", "amount"])
            for _ in range(rows_per_file):
                w.writerow([f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", f"SKU{rng.randrange(10**5):05d}",
                            rng.randint(1, 40), f"{rng.uniform(1, 900):.2f}"])


def parse_upload(path):
    records = []
    with open(path, newline="") as f:
        header = None
        for line in f:
            dialect = csv.Sniffer().sniff(line, delimiters=",;|\t")
            fields = next(csv.reader([line], dialect))
            if header is None:
                header = fields
                continue
            records.append(dict(zip(header, fields)))
    return records


def total(records):
    amount = Decimal(0)
    units = 0
    for rec in records:
        amount += Decimal(rec["amount"]) * int(rec["qty"])
        units += int(rec["qty"])
    return amount, units


def main():
    with tempfile.TemporaryDirectory() as tmp:
        write_uploads(tmp)
        for partner in sorted(PARTNERS):
            records = parse_upload(os.path.join(tmp, f"{partner}.txt"))
            amount, units = total(records)
            print(f"{partner:9} rows={len(records)} units={units} amount={amount}")


if __name__ == "__main__":
    main()
