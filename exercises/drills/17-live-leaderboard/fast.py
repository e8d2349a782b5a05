"""Replay scoring events and record every change of the overall leader."""
import os
import random


def scoring_events(n_events=10000, n_players=800):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 2025)))
    players = [f"player{i:04d}" for i in range(n_players)]
    skill = {p: rng.paretovariate(2.0) for p in players}
    for t in range(n_events):
        p = rng.choice(players)
        yield t, p, int(rng.randint(1, 10) * skill[p])


def ranking(scores):
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def replay(events):
    scores = {}
    leader = None
    changes = []
    for t, player, points in events:
        scores[player] = scores.get(player, 0) + points
        # scores only grow, so only the player who just scored can overtake the leader
        if leader is None or (-scores[player], player) < (-scores[leader], leader):
            current = player
        else:
            current = leader
        if current != leader:
            changes.append((t, current))
            leader = current
    return scores, changes


def main():
    scores, changes = replay(scoring_events())
    podium = ranking(scores)[:3]
    print(f"lead_changes={len(changes)} last_change_at={changes[-1][0]} final_leader={changes[-1][1]}")
    for rank, (player, score) in enumerate(podium, 1):
        print(f"{rank}. {player} {score}")


if __name__ == "__main__":
    main()
