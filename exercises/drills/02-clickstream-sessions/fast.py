"""Sessionize a JSON-lines clickstream: 30 minutes of inactivity closes a session."""
import hashlib
import json
import os
import random
import tempfile

TIMEOUT = 30 * 60


def write_events(path, n_events=20000, n_users=1500):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 11)))
    ts = 1_700_000_000
    pages = ["/", "/search", "/product", "/cart", "/checkout", "/help"]
    with open(path, "w") as f:
        for i in range(n_events):
            ts += rng.randint(0, 2)
            event = {"id": i, "user": f"u{rng.randrange(n_users):05d}", "ts": ts,
                     "page": rng.choice(pages), "ua": "Mozilla/5.0 (X11; Linux x86_64)",
                     "props": {"ref": rng.choice(["ad", "seo", "mail", None]), "ab": rng.randint(0, 3)}}
            f.write(json.dumps(event) + "\n")


def load_events(path):
    events = []
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            ev["props"] = {k: v for k, v in ev["props"].items() if v is not None}
            events.append(ev)
    return events


def sessionize(events):
    sessions = []
    open_by_user = {}  # each user has at most one open session: index it instead of scanning
    for ev in events:
        current = open_by_user.get(ev["user"])
        if current is not None and ev["ts"] - current["last"] > TIMEOUT:
            current["closed"] = True
            current = None
        if current is None:
            current = {"user": ev["user"], "start": ev["ts"], "last": ev["ts"], "pages": [], "closed": False}
            sessions.append(current)
            open_by_user[ev["user"]] = current
        current["last"] = ev["ts"]
        current["pages"].append(ev["page"])
    return sessions


def summarize(sessions):
    n = len(sessions)
    total_events = sum(len(s["pages"]) for s in sessions)
    durations = sorted(s["last"] - s["start"] for s in sessions)
    converted = sum(1 for s in sessions if "/checkout" in s["pages"])
    digest = hashlib.sha256()
    for s in sessions:
        digest.update(f"{s['user']}:{s['start']}:{len(s['pages'])};".encode())
    return (f"sessions={n} events={total_events} avg_len={total_events / n:.3f} "
            f"median_duration={durations[n // 2]} converted={converted} digest={digest.hexdigest()[:16]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clicks.jsonl")
        write_events(path)
        events = load_events(path)
    print(summarize(sessionize(events)))


if __name__ == "__main__":
    main()
