"""Verify backup blobs: download, decompress, check SHA-256 against the manifest, count records."""
import hashlib
import json
import os
import random
import socket
import socketserver
import threading
import time
import zlib


def make_blob(key):
    rng = random.Random(key + os.environ.get("DRILL_SEED", ""))
    records = [{"id": i, "sku": f"SKU{rng.randrange(10**5)}", "qty": rng.randint(1, 9)} for i in range(rng.randint(400, 600))]
    return zlib.compress(json.dumps(records).encode(), 6)


class BlobStore(socketserver.BaseRequestHandler):
    """Stand-in for the remote blob store: ~25 ms first-byte latency per request."""

    def handle(self):
        key = self.request.recv(64).decode().strip()
        blob = make_blob(key)
        time.sleep(0.025)
        self.request.sendall(len(blob).to_bytes(4, "big") + blob)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("short read")
        buf += chunk
    return bytes(buf)


def download(address, key, retries=3):
    for attempt in range(retries):
        try:
            with socket.create_connection(address, timeout=5) as sock:
                sock.sendall(key.encode() + b"\n")
                return recv_exact(sock, int.from_bytes(recv_exact(sock, 4), "big"))
        except OSError:
            time.sleep(0.1 * (attempt + 1))
    raise ConnectionError(key)


def verify(blob, expected_sha):
    data = zlib.decompress(blob)
    ok = hashlib.sha256(data).hexdigest() == expected_sha
    return ok, len(json.loads(data))


def main():
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.request_queue_size = 64
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), BlobStore)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    keys = [f"backup/2024-06-01/part-{i:04d}" for i in range(90)]
    manifest = {k: hashlib.sha256(zlib.decompress(make_blob(k))).hexdigest() for k in keys}
    good = records = 0
    for key in keys:
        blob = download(server.server_address, key)
        ok, n = verify(blob, manifest[key])
        good += ok
        records += n
    server.shutdown()
    print(f"blobs={len(keys)} verified={good} records={records}")


if __name__ == "__main__":
    main()
