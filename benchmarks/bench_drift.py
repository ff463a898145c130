"""Speed and accuracy of ``sigconv.estimate_drift`` on recurring material (issue 14's drift case).

Run:  python benchmarks/bench_drift.py [--trials 3] [--seconds 600] [--window 10]

The material is ``tests/correlation/recurring_material.py``'s programme:
music loops (Debian's sonic-pi-samples) in sections of 8 s bars, spoken
phrases (alsa-utils) and a looped vinyl-hiss bed, so that whole windows
recur every bar and in later sections (the packages are fetched with
``apt-get download`` on first use). B is the programme on a recorder
50 ppm slow (``scipy.signal.resample_poly(x, 19999, 20000)``), starting
0.25 s later; each gets its own noise 30 dB down. A and B are mono 16 kHz.

Prints, per trial, the wall time of ``estimate_drift(a, b, 16000,
window=10)`` (the signals already in memory) and the errors of the offset
(samples) and drift (ppm) against the truth, then the median time.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import sigconv

REPO = Path(__file__).resolve().parents[1]
RATE = 16000


def _material():
    spec = importlib.util.spec_from_file_location("recurring_material",
                                                  REPO / "tests" / "correlation" / "recurring_material.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args(argv)
    material = _material()
    reason = material.fetch()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 1
    programme = material.programme(args.seconds, RATE)
    a, b = material.drifting_pair(programme, RATE, 0.25, 19999, 20000, snr_db=30)
    print(f"{args.seconds:g} s at {RATE} Hz, B 0.25 s later and 50 ppm slow, 30 dB SNR, --window {args.window:g}")
    times = []
    for trial in range(args.trials):
        start = time.perf_counter()
        fit = sigconv.estimate_drift(a, b, RATE, window=args.window).pairs[0]
        times.append(time.perf_counter() - start)
        print(f"trial {trial + 1}: {times[-1]:6.2f} s  offset error {fit.offset_samples - 4000:+.4f} samples  "
              f"drift error {fit.drift_ppm + 50:+.4f} ppm  ({fit.windows_used} of {len(fit.windows)} windows)")
    print(f"median: {statistics.median(times):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
