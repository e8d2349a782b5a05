"""Count Bollinger-band breakouts in a tick series."""
import math

import numpy as np
import os

WINDOW = 50


def make_ticks(n=400000):
    rng = np.random.default_rng(int(os.environ.get("DRILL_SEED", 2024)))
    returns = rng.normal(0, 0.0008, n) + np.where(rng.random(n) < 0.002, rng.normal(0, 0.01, n), 0)
    return (100 * np.exp(np.cumsum(returns))).round(4)


def bands(prices, window=WINDOW):
    out = []
    for i in range(window, len(prices)):
        win = prices[i - window:i]
        mean = sum(win) / window
        sd = math.sqrt(sum((x - mean) ** 2 for x in win) / window)
        out.append((mean - 2 * sd, mean + 2 * sd))
    return out


def count_signals(prices, limits, window=WINDOW):
    up = down = 0
    width = 0.0
    for price, (lo, hi) in zip(prices[window:], limits):
        if price > hi:
            up += 1
        elif price < lo:
            down += 1
        width += hi - lo
    return up, down, width / len(limits)


def main():
    prices = make_ticks().tolist()
    up, down, avg_width = count_signals(prices, bands(prices))
    print(f"ticks={len(prices)} breakouts_up={up} breakouts_down={down} avg_band_width={avg_width:.4f}")


if __name__ == "__main__":
    main()
