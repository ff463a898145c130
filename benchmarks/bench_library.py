"""`sigconv.convolve` as a Python loop calls it, against `scipy.signal.convolve`, idle, busy and in a pool.

Run:  python benchmarks/bench_library.py                 (idle machine, ~1 min)
      python benchmarks/bench_library.py --busy 2        (two other CPU-bound processes running)
      python benchmarks/bench_library.py --pool 2        (inside a 2-worker multiprocessing.Pool)

For each size (float64, mono) the two calls alternate (A B A B ...) and
each is timed per call, planning, dispatch and validation included, as a
loop pays them; printed: the median of each, the ratio, and the bound of
issue 12 (scipy × 1.2 + 20 µs, and scipy × 0.5 where n·m ≥ 10^10 on an idle
machine; busy or in a pool, scipy × 1.2 + 20 µs) with whether it holds. Results are checked against scipy to 1e-9 of the peak first.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time

import numpy as np

SIZES = [(100, 100), (1_000, 64), (16_000, 512), (16_000, 4_000), (16_000, 16_000), (160_000, 16_000),
         (1_000_000, 16), (1_000_000, 1_024), (1_000_000, 100_000), (4_000_000, 200_000)]


def _time_pair(n: int, m: int, budget: float) -> tuple[float, float]:
    import scipy.signal

    import sigconv

    rng = np.random.default_rng(n + m)
    x, h = rng.standard_normal(n), rng.standard_normal(m)
    ours, theirs = sigconv.convolve(x, h), scipy.signal.convolve(x, h)
    assert np.max(np.abs(ours - theirs)) <= 1e-9 * np.max(np.abs(theirs)), (n, m)
    samples = {"sigconv": [], "scipy": []}
    calls = {"sigconv": lambda: sigconv.convolve(x, h), "scipy": lambda: scipy.signal.convolve(x, h)}
    started = time.perf_counter()
    while time.perf_counter() - started < budget or len(samples["scipy"]) < 5:
        for name, call in calls.items():
            t = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - t)
    return statistics.median(samples["sigconv"]), statistics.median(samples["scipy"])


def _busy(stop_at: float) -> None:
    x = 0.0
    while time.time() < stop_at:
        x += 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes to run alongside")
    parser.add_argument("--pool", type=int, default=0, help="time inside a Pool of this many workers")
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per size")
    args = parser.parse_args()
    hogs = [multiprocessing.Process(target=_busy, args=(time.time() + 3600,), daemon=True) for _ in range(args.busy)]
    for hog in hogs:
        hog.start()
    try:
        setting = f"{args.busy} busy processes" if args.busy else f"a {args.pool}-worker pool" if args.pool else "idle"
        print(f"# sigconv.convolve against scipy.signal.convolve, {setting}, {os.cpu_count()} CPUs; medians")
        print(f"{'n x m':>18} {'sigconv':>10} {'scipy':>10} {'ratio':>6} {'bound':>10}  ok")
        for n, m in SIZES:
            if args.pool:
                with multiprocessing.Pool(args.pool) as pool:
                    results = pool.starmap(_time_pair, [(n, m, args.seconds)] * args.pool)
                ours = statistics.median(r[0] for r in results)
                theirs = statistics.median(r[1] for r in results)
            else:
                ours, theirs = _time_pair(n, m, args.seconds)
            # issue 12: idle, 1.2x scipy + 20 us, and 0.5x where n*m >= 1e10; busy or pooled, 1.2x everywhere
            bound = 0.5 * theirs if n * m >= 1e10 and not (args.busy or args.pool) else 1.2 * theirs + 20e-6
            print(f"{f'{n:,} x {m:,}':>18} {ours * 1e3:>8.3f}ms {theirs * 1e3:>8.3f}ms {ours / theirs:>6.2f} "
                  f"{bound * 1e3:>8.3f}ms  {'yes' if ours <= bound else 'NO'}", flush=True)
    finally:
        for hog in hogs:
            hog.terminate()


if __name__ == "__main__":
    main()
