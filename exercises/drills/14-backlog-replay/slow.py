"""Replay a backlog of payment webhooks in arrival order and report account balances."""
import hashlib
import json
import os
import random


def load_backlog(n=160000, n_accounts=500):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 1234)))
    inbox = []
    for i in range(n):
        kind = rng.choice(["payment", "payment", "payment", "refund", "chargeback"])
        inbox.append((i, kind, f"acct-{rng.randrange(n_accounts):04d}", rng.randrange(100, 50000)))
    return inbox


def apply(balances, message):
    seq, kind, account, cents = message
    if kind == "payment":
        balances[account] = balances.get(account, 0) + cents
    elif kind == "refund":
        balances[account] = balances.get(account, 0) - cents // 2
    else:
        balances[account] = balances.get(account, 0) - cents - 1500
    return seq


def replay(inbox):
    balances = {}
    applied = 0
    last_seq = -1
    while inbox:
        message = inbox.pop(0)
        seq = apply(balances, message)
        if seq <= last_seq:
            raise RuntimeError("out of order")
        last_seq = seq
        applied += 1
    return balances, applied


def main():
    inbox = load_backlog()
    balances, applied = replay(inbox)
    digest = hashlib.sha256(json.dumps(balances, sort_keys=True).encode()).hexdigest()
    negative = sum(1 for v in balances.values() if v < 0)
    print(f"applied={applied} accounts={len(balances)} negative={negative} "
          f"total={sum(balances.values())} sha256={digest[:16]}")


if __name__ == "__main__":
    main()
