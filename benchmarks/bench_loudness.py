"""Speed and agreement of sigconv's loudness and true-peak meters against pyloudnorm.

Run:  python benchmarks/bench_loudness.py [--seconds 60] [--rounds 5]

A stereo 48 kHz signal (pink-ish noise with a quiet first second) is
measured in interleaved rounds (A B A B...): sigconv's streaming
``LoudnessMeter`` fed in 65,536-frame blocks (as ``convolve --loudness``
feeds it), pyloudnorm's whole-array ``Meter.integrated_loudness`` (the
peer a user would reach for) with its default and its "DeMan" filter, and
sigconv's ``TruePeakMeter``. Prints the median wall time of each, the
ratio to pyloudnorm, and the loudness each reports.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.signal

from sigconv.loudness import LoudnessMeter, TruePeakMeter

BLOCK = 1 << 16


def _signal(seconds: float, rate: int = 48000) -> np.ndarray:
    rng = np.random.default_rng(1)
    x = scipy.signal.lfilter([1.0], [1.0, -0.95], rng.standard_normal((int(seconds * rate), 2)), axis=0) * 0.02
    x[:rate] *= 1e-3
    return x


def _stream(meter, x):
    for start in range(0, x.shape[0], BLOCK):
        meter.push(x[start:start + BLOCK])
    return meter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rate, x = 48000, _signal(args.seconds)
    try:
        import pyloudnorm
    except ImportError:
        pyloudnorm = None
        print("pyloudnorm is not installed (pip install pyloudnorm): sigconv's meters only")
    cases = {"sigconv LoudnessMeter (streamed)": lambda: _stream(LoudnessMeter(rate, 2), x).loudness(),
             "sigconv TruePeakMeter (streamed)": lambda: 20 * np.log10(_stream(TruePeakMeter(2), x).finish())}
    if pyloudnorm is not None:
        cases["pyloudnorm Meter (K-weighting)"] = lambda: pyloudnorm.Meter(rate).integrated_loudness(x)
        cases["pyloudnorm Meter (DeMan)"] = lambda: pyloudnorm.Meter(rate, filter_class="DeMan").integrated_loudness(x)
    times = {name: [] for name in cases}
    values = {}
    for _ in range(args.rounds):  # interleaved: every case once per round
        for name, run in cases.items():
            started = time.perf_counter()
            values[name] = run()
            times[name].append(time.perf_counter() - started)
    reference = statistics.median(times["pyloudnorm Meter (DeMan)"]) if pyloudnorm is not None else None
    print(f"{args.seconds:g} s of stereo at {rate} Hz, median of {args.rounds} interleaved rounds")
    for name in cases:
        median = statistics.median(times[name])
        ratio = f"{median / reference:5.2f}x pyloudnorm (DeMan)" if reference else ""
        unit = "dBTP" if "TruePeak" in name else "LUFS"
        print(f"  {name:36s} {median:7.3f} s  {ratio:26s} {values[name]:9.4f} {unit}")


if __name__ == "__main__":
    main()
