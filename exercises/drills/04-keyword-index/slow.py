"""Build a keyword index of support tickets restricted to a curated vocabulary."""
import hashlib
import os
import random
import re

TOKEN_RE = re.compile(r"[a-z][a-z0-9_]+")
STOPWORDS = {"the", "and", "for", "with", "this", "that", "was", "are", "not", "but", "have", "from"}


def synthetic_words(rng, n):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(n)]


def make_tickets(rng, words, n=1600):
    common = list(STOPWORDS) * 20
    tickets = []
    for i in range(n):
        body = [rng.choice(words) if rng.random() < 0.7 else rng.choice(common) for _ in range(rng.randint(20, 60))]
        tickets.append(f"Ticket #{i}: " + " ".join(body).capitalize() + ". Thanks, Support_Team")
    return tickets


def build_vocabulary(words, size):
    # curated list: frequent product terms, kept sorted so that the index is reproducible
    return sorted(set(words[:size]))


def index_tickets(tickets, vocabulary):
    index = {}
    for ticket_no, text in enumerate(tickets):
        tokens = TOKEN_RE.findall(text.lower())
        for tok in tokens:
            if tok in STOPWORDS:
                continue
            if tok in vocabulary:
                index.setdefault(tok, []).append(ticket_no)
    return index


def main():
    rng = random.Random(int(os.environ.get("DRILL_SEED", 42)))
    words = synthetic_words(rng, 9000)
    tickets = make_tickets(rng, words)
    vocabulary = build_vocabulary(words, 6000)
    index = index_tickets(tickets, vocabulary)
    top = sorted(index.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:5]
    for word, postings in top:
        print(f"{word:10} {len(postings)}")
    h = hashlib.sha256()
    for word in sorted(index):
        h.update(word.encode() + b":" + ",".join(map(str, index[word])).encode() + b";")
    print(f"keywords={len(index)} postings={sum(map(len, index.values()))} sha={h.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
