"""Render the invoice register as an HTML table."""
import hashlib
import html
import os
import random
from functools import lru_cache


@lru_cache(maxsize=4096)
def cell(value):
    return "<td>" + html.escape(str(value)) + "</td>"


class HtmlReport:
    def __init__(self, title, columns):
        self.html = f"<html><head><title>{html.escape(title)}</title></head><body><table>\n"
        self.html += "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>\n"
        self.rows = 0

    def add_row(self, values):
        self.html += "<tr>" + "".join(cell(v) for v in values) + "</tr>\n"
        self.rows += 1

    def finish(self):
        self.html += f"</table><p>{self.rows} rows</p></body></html>\n"
        return self.html


def invoice_lines(n=11000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 13)))
    customers = [f"Müller & Söhne {i}" if i % 7 == 0 else f"Customer <{i}>" for i in range(300)]
    for i in range(n):
        qty = rng.randint(1, 20)
        price = rng.randrange(100, 20000) / 100
        yield (f"INV-{i // 4:06d}", rng.choice(customers), f"item {rng.randrange(900)}", qty, f"{qty * price:.2f}")


def main():
    report = HtmlReport("Invoice register 2024-05", ["invoice", "customer", "item", "qty", "amount"])
    for line in invoice_lines():
        report.add_row(line)
    doc = report.finish()
    print(f"rows={report.rows} chars={len(doc)} sha256={hashlib.sha256(doc.encode()).hexdigest()[:24]}")


if __name__ == "__main__":
    main()
