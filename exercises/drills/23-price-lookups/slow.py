"""Reprice a basket of SKUs through the pricing service's HTTP API."""
import json
import os
import threading
import time
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class PricingAPI(BaseHTTPRequestHandler):
    """Stand-in for the remote pricing service: ~25 ms latency per request."""

    def do_GET(self):
        sku = self.path.rsplit("/", 1)[-1]
        time.sleep(0.025)
        body = json.dumps({"sku": sku, "cents": zlib.crc32(sku.encode()) % 50000 + 99}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Service(ThreadingHTTPServer):
    request_queue_size = 128


def start_service():
    server = Service(("127.0.0.1", 0), PricingAPI)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def get_price(base_url, sku):
    with urllib.request.urlopen(f"{base_url}/price/{sku}", timeout=10) as resp:
        return json.load(resp)["cents"]


def reprice(base_url, basket):
    prices = {}
    for sku in basket:
        prices[sku] = get_price(base_url, sku)
    return prices


def main():
    server = start_service()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    first = int(os.environ.get("DRILL_SEED", 0))
    basket = {f"SKU-{i:05d}": (i % 4) + 1 for i in range(first, first + 80 * 37, 37)}
    prices = reprice(base_url, basket)
    total = sum(prices[sku] * qty for sku, qty in basket.items())
    print(f"skus={len(prices)} total_cents={total} max={max(prices.values())} min={min(prices.values())}")
    server.shutdown()


if __name__ == "__main__":
    main()
