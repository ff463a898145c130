"""Measure the built-in backends and fit the constants of sigconv's cost model.

Run:  python benchmarks/fit_cost_model.py

Times DirectBackend and FFTBackend (float64, one channel) on a grid of
signal and kernel lengths, fits

    direct:  t = a * n * m + b * (n + m) + c
    fft:     t = d * fft_ops(n, m) + e * (n + m) + f

by non-negative least squares on relative error, and prints the constants
to paste into sigconv/backends/costmodel.py.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sigconv.backends.costmodel import direct_features, fft_features  # noqa: E402
from sigconv.backends.direct import DirectBackend  # noqa: E402
from sigconv.backends.fft import FFTBackend  # noqa: E402


def best_time(fn, budget=0.3, repeat=7):
    times = []
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget:
            break
    return float(np.median(times))


def main():
    rng = np.random.default_rng(0)
    lengths = [10, 30, 100, 300, 1000, 3000, 10_000, 30_000, 100_000, 300_000, 1_000_000]
    kernels = [1, 3, 10, 30, 100, 300, 1000, 3000, 10_000]
    rows = {"direct": [], "fft": []}
    for n, m in itertools.product(lengths, kernels):
        x = rng.standard_normal((n, 1))
        h = rng.standard_normal((m, 1))
        if n * m <= 3e8:
            rows["direct"].append((n, m, best_time(lambda: DirectBackend().convolve_full(x, h))))
        rows["fft"].append((n, m, best_time(lambda: FFTBackend().convolve_full(x, h))))
    fitted = {}
    for name, feats in (("direct", direct_features), ("fft", fft_features)):
        a = np.array([feats(n, m) for n, m, _ in rows[name]])
        t = np.array([t for *_, t in rows[name]])
        coef, _ = nnls(a / t[:, None], np.ones_like(t))
        pred = a @ coef
        err = np.median(np.abs(pred / t - 1))
        fitted[name] = coef
        print(f"{name.upper()}_COEFFICIENTS = {tuple(float(f'{c:.4g}') for c in coef)}  # median rel. error {err:.0%}")
    measured = {(n, m): {"fft": t} for n, m, t in rows["fft"]}
    for n, m, t in rows["direct"]:
        measured[(n, m)]["direct"] = t
    print("\nchoice with the fitted constants (regret = chosen / best measured):")
    worst = 1.0
    for (n, m), times in sorted(measured.items()):
        pred = {k: float(np.dot((direct_features if k == "direct" else fft_features)(n, m), fitted[k])) for k in times}
        chosen = min(pred, key=pred.get)
        regret = times[chosen] / min(times.values())
        worst = max(worst, regret)
        flag = "  <-- over 1.2x" if regret > 1.2 else ""
        print(f"  n={n:>8} m={m:>6}  " + "  ".join(f"{k}={v * 1e3:8.3f}ms" for k, v in sorted(times.items()))
              + f"  chose {chosen:6}  regret {regret:.2f}{flag}")
    print(f"worst regret {worst:.2f}")


if __name__ == "__main__":
    main()
