"""Accuracy and speed of ``sigconv impulse``: sweep measurement round trips and decay times per band.

Run:  python benchmarks/bench_impulse.py [--seeds 5]

Measurement: a 10 s exponential sweep, 20 Hz - 20 kHz at 48 kHz with 4 s of
silence, is convolved with a synthetic room (direct sound at 10 ms, then
exponentially decaying noise with RT60 0.3, 1 or 3 s, band-limited to
50 Hz - 16 kHz so that it lies inside the sweep's band); white noise at 40
or 60 dB SNR (re the recording's power) is added; ``sigconv.measure_ir``
recovers the IR. Prints the normalized error over the first 0.5 s (dB) and
the median wall time of ``measure_ir``. A last row passes the sweep through
tanh(1.5 x) before the room: the error of the linear IR against 1.011 x the
room (tanh's fundamental gain), and the level of the 3rd-harmonic response.

Decay times: synthetic IRs of 3 s at 48 kHz made of decaying modes (20 per
octave band at random phases, each band with its own RT60 from 1.8 s at
125 Hz to 0.5 s at 8 kHz), clean and with white noise 50 dB under the
start of the decay. Prints, per band, the mean absolute error (percent of
the truth, over --seeds IRs) of sigconv's T20 and T30 and of
pyroomacoustics' ``experimental.measure_rt60`` (decay_db=30, on the same
band-filtered IR), when pyroomacoustics is installed.

STI: decaying noise with one RT60 in every band; sigconv's STI (indirect
method, level-independent) against the STI of the closed-form modulation
transfer function of an exponential decay, and the time per IR.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import math
import statistics
import time
import timeit
from pathlib import Path

import numpy as np
import scipy.signal

import sigconv
from sigconv.impulse.bands import OCTAVE_BANDS, octave_filter

RATE = 48000
REPO = Path(__file__).resolve().parents[1]
BAND_RT60 = (1.8, 1.6, 1.4, 1.2, 1.0, 0.75, 0.5)


def room(rt60: float, rng: np.random.Generator, seconds: float) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    h = 0.05 * rng.standard_normal(n) * 10 ** (-3 * t / rt60)
    h[: int(0.01 * RATE)] = 0.0
    h[int(0.01 * RATE)] = 1.0
    sos = scipy.signal.butter(4, [50, 16000], "bandpass", fs=RATE, output="sos")
    return scipy.signal.sosfiltfilt(sos, np.pad(h, RATE), padtype=None)[RATE:-RATE]


def error_db(estimate: np.ndarray, truth: np.ndarray) -> float:
    return 10 * math.log10(np.sum((estimate - truth) ** 2) / np.sum(truth ** 2))


def timed(fn, repeats: int = 3):
    """``fn()`` and the median of ``repeats`` more timed runs."""
    return fn(), statistics.median(timeit.repeat(fn, number=1, repeat=repeats))


def bench_measure(rng: np.random.Generator) -> None:
    sweep = sigconv.exponential_sweep(RATE, 10.0, 20, 20000, silence=4.0)
    print("Sweep measurement round trip (10 s sweep, 20 Hz - 20 kHz, 48 kHz; error over the first 0.5 s)")
    print(f"{'system':<28}{'SNR':>6}{'error':>10}{'time':>9}")
    half = RATE // 2
    for rt60 in (0.3, 1.0, 3.0):
        h = room(rt60, rng, min(3 * rt60, 4.0))
        clean = scipy.signal.fftconvolve(sweep, h)
        for snr in (40, 60):
            noisy = clean + rng.standard_normal(clean.size) * np.sqrt(np.mean(clean ** 2)) * 10 ** (-snr / 20)
            result, seconds = timed(functools.partial(sigconv.measure_ir, noisy, sweep, RATE, trim_start=False,
                                                      trim_end=False, length=0.5))
            print(f"{f'room RT60 {rt60:g} s':<28}{snr:>4} dB{error_db(result.ir[:, 0], h[:half]):>7.1f} dB"
                  f"{seconds:>8.2f}s")
    h = room(0.5, rng, 1.5)
    recording = scipy.signal.fftconvolve(np.tanh(1.5 * sweep / np.max(np.abs(sweep))), h)
    theta = 2 * np.pi * np.arange(4096) / 4096
    c = np.abs(np.fft.rfft(np.tanh(1.5 * np.sin(theta)))) / 2048
    result = sigconv.measure_ir(recording, sweep / np.max(np.abs(sweep)), RATE, trim_start=False, trim_end=False,
                                length=0.5)
    third = 10 * math.log10(np.sum(result.harmonics[3] ** 2) / np.sum(result.ir ** 2))
    print(f"{'tanh(1.5x) + room RT60 0.5 s':<28}{'-':>6}{error_db(result.ir[:, 0], c[1] * h[:half]):>7.1f} dB"
          f"{'':>9}  3rd harmonic response {third:.1f} dB re linear (tanh: {20 * math.log10(c[3] / c[1]):.1f} dB "
          "at equal bandwidth)")


def modal(rng: np.random.Generator) -> np.ndarray:
    """3 s of decaying modes per octave band, as tests/impulse/test_info.py makes them."""
    spec = importlib.util.spec_from_file_location("impulse_tests", REPO / "tests" / "impulse" / "test_info.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.modal_room(rng, seconds=3.0, rate=RATE, band_rt60=BAND_RT60)


def _cell(values: list) -> str:
    """Mean error in percent; a count of the IRs where the value was null (not measurable), if any."""
    missing = sum(math.isnan(v) for v in values)
    text = "null" if missing == len(values) else f"{100 * np.nanmean(values):.1f}%"
    return f"{text + (f' ({missing} null)' if missing and missing < len(values) else ''):>10}"


def bench_decay(seeds: int) -> None:
    pra = None
    if importlib.util.find_spec("pyroomacoustics"):
        from pyroomacoustics.experimental import measure_rt60 as pra
    errors: dict = {}
    spent = {"sigconv": 0.0, "pyroomacoustics": 0.0}
    for seed in range(seeds):
        rng = np.random.default_rng(100 + seed)
        clean = modal(rng)
        for label, h in (("clean", clean), ("noise -50 dB", clean + 10 ** (-50 / 20) * rng.standard_normal(clean.size)
                                            * np.sqrt(np.mean(clean[: RATE // 100] ** 2)))):
            start = time.perf_counter()
            info = sigconv.impulse_info(h, RATE, bands=OCTAVE_BANDS).channels[0]
            spent["sigconv"] += time.perf_counter() - start
            for centre, truth in zip(OCTAVE_BANDS, BAND_RT60):
                values = info.bands[str(centre)].values
                for name in ("T20", "T30"):
                    value = values[name]
                    errors.setdefault((label, centre, name), []).append(
                        math.nan if value is None else abs(value / truth - 1))
                if pra is not None:
                    band = octave_filter(h, RATE, centre)
                    start = time.perf_counter()
                    estimate = pra(band, fs=RATE, decay_db=30)
                    spent["pyroomacoustics"] += time.perf_counter() - start
                    errors.setdefault((label, centre, "pra"), []).append(abs(estimate / truth - 1))
    print(f"\nDecay times per octave band: mean absolute error over {seeds} modal IRs (3 s, 48 kHz)")
    columns = ["T20", "T30"] + (["pra"] if pra is not None else [])
    names = {"T20": "T20", "T30": "T30", "pra": "pra RT30"}
    width = 10 * len(columns)
    print(f"{'':13}{'clean':^{width}}{'noise 50 dB under the decay':^{width}}")
    print(f"{'band':>6}{'truth':>7}" + "".join(f"{names[c]:>10}" for c in columns) * 2)
    for centre, truth in zip(OCTAVE_BANDS, BAND_RT60):
        cells = "".join(_cell(errors[(label, centre, c)]) for label in ("clean", "noise -50 dB") for c in columns)
        print(f"{centre:>6}{truth:>6.2f}s" + cells)
    if pra is not None:
        print("(pra: pyroomacoustics.experimental.measure_rt60(band, decay_db=30), no noise compensation)")
    analysed = 2 * seeds
    print(f"time per IR: sigconv impulse_info (all bands, all parameters) "
          f"{spent['sigconv'] / analysed:.2f} s" + (f"; pyroomacoustics measure_rt60 (7 bands) "
                                                    f"{spent['pyroomacoustics'] / analysed:.2f} s" if pra else
                                                    "; pyroomacoustics not installed"))


def bench_sti(seeds: int) -> None:
    """STI of decaying noise (one RT60 in every band) against the closed form of an exponential decay."""
    from sigconv.impulse.sti import MODULATION_FREQUENCIES, sti_from_mtf

    f = np.asarray(MODULATION_FREQUENCIES)
    print(f"\nSTI of decaying noise (48 kHz, {seeds} seeds) against the closed form "
          "m(F) = 1/sqrt(1 + (2 pi F T/13.8)^2)")
    print(f"{'RT60':>6}{'closed form':>13}{'sigconv median':>16}{'max |error|':>13}{'time':>8}")
    for rt60 in (0.3, 0.6, 1.2, 2.4):
        expected = sti_from_mtf(np.tile(1 / np.sqrt(1 + (2 * np.pi * f * rt60 / 13.8) ** 2), (7, 1)))[0]
        values, spent = [], []
        for seed in range(seeds):
            rng = np.random.default_rng(300 + seed)
            t = np.arange(int(2.5 * rt60 * RATE)) / RATE
            h = rng.standard_normal(t.size) * 10 ** (-3 * t / rt60)
            start = time.perf_counter()
            values.append(sigconv.impulse_info(h, RATE, bands=(1000,)).channels[0].sti.sti)
            spent.append(time.perf_counter() - start)
        error = max(abs(v - expected) for v in values)
        print(f"{rt60:>5.1f}s{expected:>13.3f}{statistics.median(values):>16.3f}{error:>13.3f}"
              f"{statistics.median(spent):>7.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="modal IRs per decay-time row (default 5)")
    args = parser.parse_args()
    bench_measure(np.random.default_rng(2026))
    bench_decay(args.seeds)
    bench_sti(args.seeds)


if __name__ == "__main__":
    main()
