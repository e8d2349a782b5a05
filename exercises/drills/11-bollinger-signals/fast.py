"""Count Bollinger-band breakouts in a tick series."""
import numpy as np
import os
from numpy.lib.stride_tricks import sliding_window_view

WINDOW = 50


def make_ticks(n=400000):
    rng = np.random.default_rng(int(os.environ.get("DRILL_SEED", 2024)))
    returns = rng.normal(0, 0.0008, n) + np.where(rng.random(n) < 0.002, rng.normal(0, 0.01, n), 0)
    return (100 * np.exp(np.cumsum(returns))).round(4)


def bands(prices, window=WINDOW):
    win = sliding_window_view(prices, window)[:-1]  # windows ending just before each tick, no copy
    mean = win.mean(axis=1)
    sd = win.std(axis=1)  # population sd, like the loop
    return mean - 2 * sd, mean + 2 * sd


def count_signals(prices, limits, window=WINDOW):
    lo, hi = limits
    p = prices[window:]
    return int((p > hi).sum()), int((p < lo).sum()), float((hi - lo).mean())


def main():
    prices = make_ticks()
    up, down, avg_width = count_signals(prices, bands(prices))
    print(f"ticks={len(prices)} breakouts_up={up} breakouts_down={down} avg_band_width={avg_width:.4f}")


if __name__ == "__main__":
    main()
