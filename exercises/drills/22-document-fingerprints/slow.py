"""Fetch documents with worker threads and compute 64-bit SimHash fingerprints to find near-duplicates."""
import hashlib
import os
import queue
import random
import threading
import time

WORDS = [f"w{i}" for i in range(3000)]


def fetch(doc_id):
    time.sleep(0.002)  # simulated object-store latency
    rng = random.Random(int(os.environ.get("DRILL_SEED", 0)) * 1000 + doc_id % 180)  # some documents share a source text
    words = [rng.choice(WORDS) for _ in range(500)]
    words[doc_id % 500] = f"edit{doc_id}"
    return " ".join(words)


def simhash(text, bits=64):
    weights = [0] * bits
    tokens = text.split()
    for shingle in zip(tokens, tokens[1:], tokens[2:]):
        h = int.from_bytes(hashlib.blake2b(" ".join(shingle).encode(), digest_size=8).digest(), "big")
        for bit in range(bits):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(bits) if weights[bit] > 0)


def worker(jobs, results):
    while True:
        doc_id = jobs.get()
        if doc_id is None:
            return
        results[doc_id] = simhash(fetch(doc_id))


def fingerprint_all(doc_ids, n_threads=6):
    jobs, results = queue.Queue(), {}
    threads = [threading.Thread(target=worker, args=(jobs, results)) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for doc_id in doc_ids:
        jobs.put(doc_id)
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    return results


def main():
    prints = fingerprint_all(range(560))
    ids = sorted(prints)
    near = sum(1 for i in ids for j in ids if i < j and bin(prints[i] ^ prints[j]).count("1") <= 3)
    print(f"documents={len(prints)} near_duplicate_pairs={near} xor={sum(prints.values()) % (1 << 64):016x}")


if __name__ == "__main__":
    main()
