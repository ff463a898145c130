"""Repeated calls with one IR: sigconv.Convolver against scipy.signal.convolve and sigconv.convolve.

Run:  python benchmarks/bench_prepared.py              (about 15 s)
      python benchmarks/bench_prepared.py --seconds 0.5   (a quick look)
      python benchmarks/bench_prepared.py --fit      (refit the direct/transform costs in prepared.py)

Every case is mono float64, computed on one thread (``context=1``; scipy's
transforms use one worker by default), in full mode. The three tools take
turns call by call, so that a slow spell of the machine falls on all
alike (each goes first in turn); each row gives the median seconds per call and the ratios of
scipy's and sigconv.convolve's medians to Convolver's (above 1: Convolver
is faster). The ``varying`` row convolves clips of random length between
16,000 and 48,000 samples (the same sequence for each tool) with a
4,000-tap IR, as a loop over a speech corpus does.

``--fit`` times Convolver's two in-memory methods, forced, on a grid of
signal and kernel lengths and fits the constants of
``sigconv.convolution.prepared._direct_cheaper`` by least squares.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sigconv  # noqa: E402
from sigconv.convolution.prepared import Convolver, _grid_length, _layout  # noqa: E402

CASES = [(100, 100), (1_000, 64), (16_000, 4_000), (160_000, 16_000)]


def _timed(function, argument) -> float:
    start = time.perf_counter()
    function(argument)
    return time.perf_counter() - start


def compare(n: int | None, m: int, seconds: float, rng) -> dict[str, float]:
    """Median seconds per call of each tool, calls interleaved; ``n=None`` draws varying lengths."""
    h = rng.standard_normal(m)
    lengths = [n] if n else [int(length) for length in rng.integers(16_000, 48_001, 16)]
    clips = [rng.standard_normal(length) for length in lengths]
    prepared = Convolver(h, context=1)
    tools = {
        "Convolver": prepared,
        "scipy": lambda x: scipy.signal.convolve(x, h),
        "sigconv.convolve": lambda x: sigconv.convolve(x, h, context=1),
    }
    for clip in clips:  # first calls plan and fill caches: not what a loop of thousands pays
        for tool in tools.values():
            tool(clip)
    times: dict[str, list[float]] = {name: [] for name in tools}
    deadline = time.perf_counter() + seconds
    rounds = 0
    while rounds < 5 or time.perf_counter() < deadline:
        clip = clips[rounds % len(clips)]
        turn = list(tools.items())
        for name, tool in turn[rounds % 3:] + turn[: rounds % 3]:  # each tool goes first in turn
            times[name].append(_timed(tool, clip))
        rounds += 1
    return {name: statistics.median(values) for name, values in times.items()}


def report(seconds: float) -> None:
    rng = np.random.default_rng(1)
    print(f"{'case':>18}  {'Convolver':>11}  {'scipy':>11}  {'sigconv.convolve':>16}  {'scipy/C':>8}  "
          f"{'convolve/C':>10}")
    for n, m in [*CASES, (None, 4_000)]:
        medians = compare(n, m, seconds, rng)
        base = medians["Convolver"]
        label = f"{n:,} x {m:,}" if n else f"varying x {m:,}"
        print(f"{label:>18}  {base * 1e3:9.3f}ms  {medians['scipy'] * 1e3:9.3f}ms  "
              f"{medians['sigconv.convolve'] * 1e3:14.3f}ms  {medians['scipy'] / base:7.2f}x  "
              f"{medians['sigconv.convolve'] / base:9.2f}x")


def fit(seconds: float) -> None:
    """Time the direct and the transform methods, forced, and fit the cost model's constants."""
    rng = np.random.default_rng(2)
    direct_rows, transform_rows = [], []
    for n in (300, 1_000, 4_000, 16_000, 64_000):
        for m in (16, 32, 64, 128, 256, 512):
            x = rng.standard_normal((n, 1))
            prepared = Convolver(rng.standard_normal(m), context=1)
            layout = _layout(1, 1)
            size = _grid_length(n + m - 1)
            window = slice(0, n + m - 1)
            direct = lambda: prepared._direct(x, layout, window)  # noqa: E731
            transform = lambda: prepared._transformed(x, layout, window, size)  # noqa: E731
            transform()
            d, t = [], []
            deadline = time.perf_counter() + seconds / 10
            while len(d) < 5 or time.perf_counter() < deadline:
                d.append(_timed(lambda _: direct(), None))
                t.append(_timed(lambda _: transform(), None))
            direct_rows.append((n, m, statistics.median(d)))
            transform_rows.append((size, statistics.median(t)))
            print(f"n={n:>6} m={m:>4} N={size:>6}  direct {statistics.median(d) * 1e6:8.1f} us  "
                  f"transform {statistics.median(t) * 1e6:8.1f} us")
    n, m, times = (np.array(column, float) for column in zip(*direct_rows))
    coef = _relative_fit(np.stack([np.ones_like(n), n + m, n * m], axis=1), times)
    print(f"direct: {coef[0]:.3g} s per call, {coef[1]:.3g} s per output sample, "
          f"{coef[2]:.3g} s per multiply-add")
    sizes, times = (np.array(column, float) for column in zip(*transform_rows))
    coef = _relative_fit(np.stack([np.ones_like(sizes), 2 * sizes * np.log2(sizes)], axis=1), times)
    print(f"transform: {coef[0]:.3g} s per call, {coef[1]:.3g} s per point log2(point) of each transform")


def _relative_fit(design: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Least-squares coefficients with relative errors (short and long calls count alike)."""
    coef, *_ = np.linalg.lstsq(design / times[:, None], np.ones_like(times), rcond=None)
    return coef


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per case (default 2)")
    parser.add_argument("--fit", action="store_true", help="fit the direct/transform cost constants")
    args = parser.parse_args()
    fit(args.seconds) if args.fit else report(args.seconds)


if __name__ == "__main__":
    main()
