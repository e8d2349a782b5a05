#!/usr/bin/env python3
"""The "10 GB CSV ETL" exercise on all cores: byte-range chunks, one process per core, merged partial aggregates.

Usage: python multiprocessing_chunks.py INPUT_DIR OUTPUT_DIR [--workers N] [--chunk-size BYTES]

Approach
- The parent cuts every fact file into chunks of about 32 MiB that end at record boundaries: a `\\n` ends a
  record unless it is inside a quoted field, and quotes are read as the reader (and the reference's reader
  thread) reads them: a quote opens a quoted field only at the start of a field; elsewhere (`size 3" only`)
  it is an ordinary character, so counting quotes is not enough (`quoted_spans`). The cuts, and so the
  results, do not depend on the chunk size. To place them the parent reads each plain file once, sequentially,
  visiting only its quotes (bytes.find); it sends the workers only (file, start, end). Compressed files cannot
  be entered in the middle, so for `.gz`/`.zst` the parent decompresses and sends the chunk's bytes instead.
- A worker reads its byte range and runs the same reader and rules as streaming_csv.py (imported from it), then
  returns: its rejects (with line numbers relative to the chunk and the chunk's newline count, so the parent
  can make them absolute), its counts, its partial aggregates (daily and per customer) over the records that
  are first *within the chunk*, and, for exactly those records, compact arrays (order id, key, customer,
  units, cents) in record order.
- The parent takes the results back in chunk order (a bounded window of tasks in flight, so memory stays
  bounded) and merges: "first occurrence wins" across chunks is decided on a global bitmap of order ids; an
  id that an earlier chunk already kept is a duplicate, and its contribution is subtracted from the merged
  aggregates again (the arrays above hold it). Rejects are written in input order.

Speed and memory: the per-record work of streaming_csv.py divided by the cores, plus ~1 µs per record in the
parent (unpickling and merging: about a fifth of a worker's work, so the parent keeps up with ~5 workers;
beyond that, merge in a tree); memory is one chunk (plus its result arrays) per worker plus the dimension
tables per worker. In CPU it costs ~1.3x streaming_csv.py (per-chunk results, pickling, the merge), so on 2
idle cores expect ~1.5x its speed; on a machine whose cores are busy with something else it is no faster.

Where it breaks: the parent reads every plain file once more to find the cut points (cheap next to parsing:
~0.07 s per 32 MiB chunk of the generated data, whose notes are often quoted, against ~3 s for a worker to parse
it; but it is I/O); compressed inputs are decompressed by the parent alone, which then bounds the speed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from array import array
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import streaming_csv as sc  # noqa: E402 - the shared reader, rules and outputs

DEFAULT_CHUNK = 32 << 20
_DIMS: sc.Dimensions | None = None


# ---------------------------------------------------------------------------------------------------------
# Cutting files into chunks (parent)


def quoted_spans(buf: bytes, start: int = 0) -> tuple[list[tuple[int, int]], int | None]:
    """The quoted fields of `buf` (a record starts at buf[start]), read as the reader reads quotes (and the
    reference's csv-core): a quote opens a quoted field only at the start of a field, i.e. after `,`, after a
    line break, or at a record start (blank lines, `\\r` included, are skipped before a record); elsewhere it
    is an ordinary character (`size 3" only`). Inside, `""` is a quote and a single `"` closes the field.
    Returns the closed fields as (opening quote, closing quote) and the opening quote of a field still open at
    the end of buf, if any. Only the quotes are visited (bytes.find: C speed between them)."""
    spans = []
    find = buf.find
    n = len(buf)
    q = find(b'"', start)
    while q >= 0:
        prev = buf[q - 1] if q > start else 10
        if prev == 13:  # after `\r`s: a record start (they are skipped) if they follow a line break, else data
            k = q - 1
            while k > start and buf[k - 1] == 13:
                k -= 1
            if k > start and buf[k - 1] != 10:
                prev = 13
            else:
                prev = 10
        if prev == 44 or prev == 10:  # after `,` or `\n`: a field starts here, and the quote opens it
            o = q
            while True:
                q = find(b'"', q + 1)
                if q < 0:
                    return spans, o
                if q + 1 < n and buf[q + 1] == 34:  # `""`: a quote inside the field
                    q += 1
                    continue
                break
            spans.append((o, q))
        q = find(b'"', q + 1)
    return spans, None


def last_record_end(buf: bytes, start: int = 0) -> int | None:
    """The end of the last complete record in `buf` (just past a `\\n` outside quoted fields), or None. A
    record starts at buf[start] (0, or 3 after the BOM at the start of a file)."""
    spans, open_at = quoted_spans(buf, start)
    limit = len(buf) if open_at is None else open_at
    i = len(spans)
    while True:
        nl = buf.rfind(b"\n", start, limit)
        if nl < 0:
            return None
        while i and spans[i - 1][0] > nl:  # the last field opening before the newline...
            i -= 1
        if i and nl < spans[i - 1][1]:  # ...holds it: look before that field
            limit = spans[i - 1][0]
        else:
            return nl + 1


def records_start(buf: bytes, first: bool) -> int:
    """Where records start in a chunk: after the BOM of a file's first chunk, else at 0."""
    return 3 if first and buf.startswith(sc.BOM) else 0


def holds_record(buf: bytes) -> bool:
    """Whether buf (a file's first chunk) holds a record, not just a BOM and blank lines: the first chunk must
    hold the header, which only its worker checks."""
    return bool(buf.removeprefix(sc.BOM).strip(b"\r\n"))


def plain_chunks(path: Path, chunk_size: int):
    """(start, end, last) byte ranges of a plain file, each ending at a record boundary."""
    size = path.stat().st_size
    start = 0
    with open(path, "rb") as f:
        while start < size:
            want = chunk_size
            while True:
                f.seek(start)
                buf = f.read(want)
                if start + len(buf) >= size:
                    cut = len(buf)
                    break
                cut = last_record_end(buf, records_start(buf, start == 0))
                if cut is not None and (start > 0 or holds_record(buf[:cut])):
                    break
                want *= 2  # one record longer than the chunk
            yield start, start + cut, start + cut >= size
            start += cut


def stream_chunks(path: Path, chunk_size: int):
    """(start, data, last) chunks of a compressed file, decompressed here."""
    with sc.open_bytes(path) as f:
        buf, start, want, eof = b"", 0, chunk_size, False
        while True:
            while len(buf) < want and not eof:
                more = f.read(want - len(buf))
                eof = not more
                buf += more
            if eof:
                yield start, buf, True
                return
            cut = last_record_end(buf, records_start(buf, start == 0))
            if cut is None or (start == 0 and not holds_record(buf[:cut])):
                want *= 2  # one record longer than the chunk
                continue
            yield start, buf[:cut], False
            start, buf, want = start + cut, buf[cut:], chunk_size


# ---------------------------------------------------------------------------------------------------------
# One chunk (worker)


def _init_worker(data: str) -> None:
    global _DIMS
    if _DIMS is None:  # not inherited through fork
        _DIMS = sc.Dimensions(Path(data))


def process_chunk(task):
    """Reads and checks one chunk; returns its partial result (see the module docstring)."""
    file_idx, path, start, end, data, first, last = task
    dims = _DIMS
    if data is None:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
    pos = 0
    if first:
        pos = sc.read_header(data, True, path)
    rejects = []
    line_pos = 0
    lines = 0

    def on_reject(s: int, e: int, r: sc.Rejected) -> None:
        nonlocal lines, line_pos
        lines += data.count(b"\n", line_pos, s)
        line_pos = s
        rejects.append((lines, start + s, r.column, r.kind, sc.shown_raw(data[s:e])))

    seen: set[int] = set()
    daily: dict[tuple, list[int]] = {}
    key_index: dict[tuple, int] = {}
    per_customer: dict[int, list[int]] = {}
    ids, keys, custs, units_a, cents_a = array("Q"), array("l"), array("l"), array("Q"), array("Q")
    counts = {"local_duplicates": 0, "cancelled": 0}

    def on_valid(v) -> None:
        oid, usd, day, cust, units, country, category, cancelled = v
        if oid in seen:
            counts["local_duplicates"] += 1
            return
        seen.add(oid)
        ids.append(oid)
        custs.append(cust)
        units_a.append(units)
        cents_a.append(usd)
        if cancelled:
            counts["cancelled"] += 1
            keys.append(-1)
            return
        key = (day, country, category)
        a = daily.get(key)
        if a is None:
            key_index[key] = len(key_index)
            daily[key] = [1, units, usd]
        else:
            a[0] += 1
            a[1] += units
            a[2] += usd
        keys.append(key_index[key])
        c = per_customer.get(cust)
        if c is None:
            per_customer[cust] = [1, usd]
        else:
            c[0] += 1
            c[1] += usd

    _, rows = sc.scan_records(data, pos, True, last, dims, on_valid, on_reject)
    return {
        "file": file_idx, "bytes": len(data), "newlines": data.count(b"\n"), "rows": rows,
        "rejects": rejects, "daily": daily, "key_list": list(key_index), "per_customer": per_customer,
        "ids": ids, "keys": keys, "custs": custs, "units": units_a, "cents": cents_a, **counts,
    }


# ---------------------------------------------------------------------------------------------------------
# The run (parent)


def tasks(files: list[Path], chunk_size: int):
    for i, path in enumerate(files):
        if path.name.endswith(".csv"):
            for start, end, last in plain_chunks(path, chunk_size):
                yield i, str(path), start, end, None, start == 0, last
        else:
            for start, data, last in stream_chunks(path, chunk_size):
                yield i, str(path), start, start + len(data), data, start == 0, last


def merge(totals: sc.Totals, r: dict) -> None:
    """Adds one chunk's partial result; drops the records an earlier chunk already kept."""
    totals.bytes_read += r["bytes"]
    totals.rows_read += r["rows"]
    ids = r["ids"]
    first_time = totals.first_time
    dups = [i for i, oid in enumerate(ids) if not first_time(oid)]
    totals.valid += len(ids) - len(dups)
    totals.duplicates += r["local_duplicates"] + len(dups)
    totals.cancelled += r["cancelled"]
    daily, per_customer = totals.daily, totals.per_customer
    for key, (o, u, c) in r["daily"].items():
        a = daily.get(key)
        if a is None:
            daily[key] = [o, u, c]
        else:
            a[0] += o
            a[1] += u
            a[2] += c
    for cust, (o, c) in r["per_customer"].items():
        a = per_customer.get(cust)
        if a is None:
            per_customer[cust] = [o, c]
        else:
            a[0] += o
            a[1] += c
    key_list = r["key_list"]
    for i in dups:  # an earlier chunk has this order id: take the record back out
        k = r["keys"][i]
        if k < 0:
            totals.cancelled -= 1
            continue
        a = daily[key_list[k]]
        a[0] -= 1
        a[1] -= r["units"][i]
        a[2] -= r["cents"][i]
        c = per_customer[r["custs"][i]]
        c[0] -= 1
        c[1] -= r["cents"][i]


def run(data: Path, out: Path, workers: int, chunk_size: int | None) -> dict:
    global _DIMS
    started = time.perf_counter()
    _DIMS = sc.Dimensions(data)
    files = sc.fact_files(data)
    if chunk_size is None:  # enough chunks to keep every worker busy on small inputs too
        total = sum(p.stat().st_size for p in files)
        chunk_size = max(1 << 20, min(DEFAULT_CHUNK, total // (4 * workers) + 1))
    out.mkdir(parents=True, exist_ok=True)
    totals = sc.Totals(len(files))
    rejects = sc.RejectsWriter(out)
    rel = [f"orders/{p.name}" for p in files]
    file_lines = [0] * len(files)
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else None)
    try:
        with ctx.Pool(workers, initializer=_init_worker, initargs=(str(data),)) as pool:
            pending: deque = deque()
            todo = tasks(files, chunk_size)
            window = 2 * workers + 1
            while True:
                while len(pending) < window:
                    t = next(todo, None)
                    if t is None:
                        break
                    pending.append(pool.apply_async(process_chunk, (t,)))
                if not pending:
                    break
                r = pending.popleft().get()
                f = r["file"]
                for line, offset, column, kind, raw in r["rejects"]:
                    totals.rejected += 1
                    totals.by_kind[kind] += 1
                    rejects.write(rel[f], file_lines[f] + line + 1, offset, column, kind, raw)
                file_lines[f] += r["newlines"]
                merge(totals, r)
    except BaseException:
        rejects.abort()
        raise
    rejects.commit()
    return totals.write(out, _DIMS, "python-multiprocessing", started)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--chunk-size", type=int, default=None, help="bytes per chunk (default: up to 32 MiB)")
    args = ap.parse_args()
    try:
        s = run(args.input, args.output, max(1, args.workers), args.chunk_size)
    except sc.InputError as e:
        print(f"multiprocessing_chunks: {e}", file=sys.stderr)
        return 1
    print(f"{s['rows_read']} rows: {s['valid']} valid, {s['rejected']} rejected, "
          f"{s['duplicates_dropped']} duplicates, in {s['elapsed_seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
