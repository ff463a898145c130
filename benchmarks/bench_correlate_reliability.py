"""How often ``sigconv correlate`` refuses a real delay, and how often it accepts a wrong one.

Run:  python benchmarks/bench_correlate_reliability.py [--seeds 3] [--seconds 20] [--rate 16000]

Realistic pairs (``tests/correlation/takes.py``): music (three songs of
Debian's asc-music), speech (alsa-utils' spoken phrases) or pink noise,
heard by A close up (30 dB SNR) and by B a random delay later (within
+-40% of the length) through a room (the recorded concert hall of
guitarix, either microphone; a synthetic living room with six early
reflections in 12 ms; or a recorded guitar cabinet), a 100 Hz high-pass
and a 4 kHz low-pass, at 20, 10 and 0 dB SNR. Unrelated pairs: the same
processing on material the two sides never share (other songs, other
phrases, other noise).

For each method at the default ``--min-confidence`` (1.5), it counts:

* false refusals: realistic pairs refused (confidence below the threshold)
  although their delay was right (within a cluster, 5 ms, of the truth);
* right refusals: realistic pairs refused whose delay was wrong (``cc``'s
  broad peak in a reverberant room often is);
* wrong accepts: realistic pairs accepted with a delay more than a cluster
  (5 ms) away from the truth (the delay put in plus the response's
  strongest arrival);
* false accepts: unrelated pairs accepted;
* disagreements: realistic pairs where the whole-range search and a
  +-0.3 s window around the truth give delays more than one sample apart.

The material is fetched from Debian's archive on first use (apt-get), as the tests do.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import time
from pathlib import Path

import numpy as np

import sigconv
from sigconv.correlation.delays import DEFAULT_MIN_CONFIDENCE
from sigconv.correlation.estimates import cluster_sizes

REPO = Path(__file__).resolve().parents[1]
METHODS = ("gcc-phat", "scot", "cc")
SNRS = (20, 10, 0)


def _takes():
    spec = importlib.util.spec_from_file_location("takes", REPO / "tests" / "correlation" / "takes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="pairs per kind, room and SNR")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=16000)
    args = parser.parse_args()
    takes = _takes()
    reason = takes.fetch()
    if reason:
        raise SystemExit(f"cannot fetch the material: {reason}")
    rate, threshold = args.rate, DEFAULT_MIN_CONFIDENCE
    cluster, _ = cluster_sizes(rate, 1 << 62)
    counts = {m: {"refused": 0, "right refusal": 0, "wrong": 0, "false": 0, "disagree": 0} for m in METHODS}
    confidences = {m: {"related": [], "unrelated": []} for m in METHODS}
    related = list(itertools.product(takes.KINDS, takes.ROOMS, SNRS, range(args.seeds)))
    started = time.perf_counter()
    for i, (kind, room, snr, seed) in enumerate(related):
        a, b, truth = takes.take_pair(kind, room, 10_000 + i, rate=rate, seconds=args.seconds, snr_db=snr)
        window = ((truth - 0.3 * rate) / rate, (truth + 0.3 * rate) / rate)
        for method in METHODS:
            whole = sigconv.correlate(a, b, rate, method=method, keep_function=False).pairs[0]
            near = sigconv.correlate(a, b, rate, method=method, keep_function=False, lag_range=window).pairs[0]
            confidences[method]["related"].append(whole.confidence)
            right = abs(whole.lag - truth) <= cluster
            if whole.confidence < threshold:
                counts[method]["refused" if right else "right refusal"] += 1
            elif not right:
                counts[method]["wrong"] += 1
            if abs(whole.delay_samples - near.delay_samples) > 1.0:
                counts[method]["disagree"] += 1
    combos = [("music", "music"), ("speech", "speech"), ("noise", "noise"), ("music", "speech")]
    unrelated = list(itertools.product(combos, takes.ROOMS, range(args.seeds)))
    for i, ((kind_a, kind_b), room, seed) in enumerate(unrelated):
        a, b = takes.unrelated_pair(kind_a, kind_b, room, 20_000 + i, rate=rate, seconds=args.seconds)
        for method in METHODS:
            confidence = sigconv.correlate(a, b, rate, method=method, keep_function=False).pairs[0].confidence
            confidences[method]["unrelated"].append(confidence)
            if confidence >= threshold:
                counts[method]["false"] += 1
    elapsed = time.perf_counter() - started
    print(f"{len(related)} realistic pairs and {len(unrelated)} unrelated pairs of {args.seconds:g} s at {rate} Hz, "
          f"--min-confidence {threshold:g} ({elapsed:.0f} s)\n")
    print("| method | false refusals | wrong delays refused | wrong delays accepted | false accepts (unrelated) | "
          "whole vs window > 1 sample | confidence, realistic (median) | confidence, unrelated (max) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method in METHODS:
        c, n, u = counts[method], len(related), len(unrelated)
        print(f"| {method} | {c['refused']}/{n} ({100 * c['refused'] / n:.0f}%) | {c['right refusal']}/{n} | "
              f"{c['wrong']}/{n} | "
              f"{c['false']}/{u} ({100 * c['false'] / u:.0f}%) | {c['disagree']}/{n} | "
              f"{np.median(confidences[method]['related']):.2f} | {max(confidences[method]['unrelated']):.2f} |")
    print()
    for method in METHODS:  # the refusals by room and SNR, where they are
        refused = {}
        for (kind, room, snr, _), confidence in zip(related, confidences[method]["related"]):
            refused.setdefault((room, snr), []).append(confidence < threshold)
        cells = [f"{room} {snr} dB: {sum(v)}/{len(v)}" for (room, snr), v in sorted(refused.items()) if any(v)]
        print(f"{method} refusals (right or wrong delay): {', '.join(cells) or 'none'}")


if __name__ == "__main__":
    main()
