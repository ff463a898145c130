"""Accuracy and speed of ``sigconv.correlate`` against plain ``scipy.signal.correlate`` + argmax.

Run:  python benchmarks/bench_correlate.py [--trials 20] [--speed-seconds 1 10 60 600] [--skip-speed]
                                            [--skip-files] [--pair-minutes 60] [--locate-minutes 120] [--rounds 1]

Accuracy: for each SNR and kind of delay, ``--trials`` random cases of 1 s
at 16 kHz. A is broadband noise ("integer", "fractional"), noise low-passed
at 3 kHz ("reverberant noise") or a phrase of plucked-string notes
("reverberant music", as samples/dry.wav); B is A delayed by a random
amount within +-2000 samples (fractional except for "integer"), and for the
reverberant kinds also convolved with a synthetic room: the direct sound,
exponentially decaying noise from 3 ms on with RT60 0.5 s and 6 dB more
energy than the direct sound, and for "music" four early reflections as in
samples/room-ir.wav. Independent white noise at the SNR (relative to each
signal's power) is added to both. Delays are made by a linear phase shift
of the spectrum (band-limited, exact).
Prints the RMS error in samples over the cases where the estimate is
within 2 samples of the truth, and the share of gross errors (more than 2
samples off), for scipy's FFT correlation + argmax (whole samples only)
and sigconv's three methods with band-limited refinement.

Speed: median wall time of scipy.signal.correlate(b, a, method="fft") +
argmax against sigconv.correlate(a, b) (whole lag range, GCC-PHAT with
band-limited refinement) and sigconv.correlate(..., max_lag=1 s) on mono
float64 noise at 48 kHz, equal lengths.

Files: ``python -m sigconv correlate`` in a subprocess on generated 48 kHz
PCM_16 files, wall time and the child's own peak RSS (VmHWM): the hour
pair (A noise, B = A through a 4 kHz low-pass, 1.2 s later, with noise at
20 dB SNR) searched over the whole lag range (coarse to fine) and with
``--max-lag 2`` (block by block), and ``--locate`` of a 10 s clip in a
2-hour recording (the clip at 720 s, the middle and 20 s before the end),
interleaved over ``--rounds`` rounds (medians).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import scipy.signal

import sigconv

RATE = 16000
REPO = Path(__file__).resolve().parents[1]
SNRS = (40, 20, 10, 0, -5)
KINDS = ("integer", "fractional", "reverberant noise", "reverberant music")


def shifted(x, d):
    spectrum = np.fft.rfft(x)
    spectrum *= np.exp(-2j * np.pi * np.arange(spectrum.size) * d / x.size)
    if x.size % 2 == 0:
        spectrum[-1] = 0
    return np.fft.irfft(spectrum, x.size)


def room(rng, rt60=0.5, length=0.6, direct_to_reverb_db=-6.0, reflections=False):
    n = int(length * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)
    tail[: int(0.003 * RATE)] = 0
    tail *= np.sqrt(10 ** (-direct_to_reverb_db / 10) / np.sum(tail**2))
    tail[0] = 1.0
    if reflections:  # early reflections as in samples/room-ir.wav (walls, floor, ceiling)
        for delay_ms, gain in [(2.3, 0.5), (6.9, -0.4), (12.2, 0.3), (18.5, -0.25)]:
            tail[int(delay_ms * 1e-3 * RATE)] += gain
    return tail


def pluck(freq, seconds, rng):
    """A Karplus-Strong plucked string, made as scripts/make_samples.py makes samples/dry.wav."""
    return _make_samples().pluck(freq, seconds, rng, rate=RATE)


@functools.lru_cache(maxsize=1)
def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "scripts" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def phrase(rng, n):
    """Plucked notes from a pentatonic scale, a new one every 0.3-0.6 s: music-like, strongly harmonic."""
    y = np.zeros(n)
    start = 0
    while start < n:
        note = pluck(196.0 * 2 ** (rng.choice([0, 2, 4, 7, 9, 12]) / 12), 0.9, rng)
        y[start : start + note.size] += note[: n - start]
        start += int(rng.uniform(0.3, 0.6) * RATE)
    return y


def case(rng, kind, snr_db, n=RATE, guard=4096):
    d = float(rng.integers(-2000, 2000)) if kind == "integer" else float(rng.uniform(-2000, 2000))
    source = rng.standard_normal(n + 2 * guard)
    if kind == "reverberant noise":
        source = scipy.signal.sosfilt(scipy.signal.butter(4, 3000, fs=RATE, output="sos"), source)
        b_full = scipy.signal.fftconvolve(source, room(rng))[: source.size]
    elif kind == "reverberant music":
        source = phrase(rng, n + 2 * guard)
        b_full = scipy.signal.fftconvolve(source, room(rng, reflections=True))[: source.size]
    else:
        b_full = source
    a = source[guard : guard + n]
    b = shifted(b_full, d)[guard : guard + n]
    noise = lambda x: x + rng.standard_normal(n) * np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10))  # noqa: E731
    return noise(a), noise(b), d


def scipy_argmax(a, b):
    r = scipy.signal.correlate(b, a, method="fft")
    return float(scipy.signal.correlation_lags(b.size, a.size)[np.argmax(r)])


ESTIMATORS = {
    "scipy fft + argmax": scipy_argmax,
    "sigconv cc": lambda a, b: sigconv.correlate(a, b, method="cc", keep_function=False).pairs[0].delay_samples,
    "sigconv scot": lambda a, b: sigconv.correlate(a, b, method="scot", keep_function=False).pairs[0].delay_samples,
    "sigconv gcc-phat": lambda a, b: sigconv.correlate(a, b, keep_function=False).pairs[0].delay_samples,
}


def accuracy(trials):
    print(f"Accuracy: {trials} cases of 1 s at {RATE} Hz per row; RMS error in samples over the cases within "
          "2 samples of the truth / share of gross errors (> 2 samples off)\n")
    names = list(ESTIMATORS)
    print("| delay | SNR dB | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for kind in KINDS:
        for snr in SNRS:
            rng = np.random.default_rng(zlib.crc32(f"{kind} {snr}".encode()))
            errors = {name: [] for name in names}
            for _ in range(trials):
                a, b, d = case(rng, kind, snr)
                for name, estimate in ESTIMATORS.items():
                    errors[name].append(estimate(a, b) - d)
            cells = []
            for name in names:
                e = np.array(errors[name])
                good = e[np.abs(e) <= 2]
                rms = f"{np.sqrt(np.mean(good**2)):.3f}" if good.size else "-"
                cells.append(f"{rms} / {100 * (1 - good.size / e.size):.0f}%")
            print(f"| {kind} | {snr} | " + " | ".join(cells) + " |")
    print()


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def speed(seconds_list, rate=48000):
    print(f"Speed: mono float64 noise at {rate} Hz, equal lengths, B = A delayed by 0.25 s; median seconds\n")
    print("| length | scipy fft + argmax | sigconv (whole range) | sigconv --max-lag 1 | delay found (whole, windowed) |")
    print("|---:|---:|---:|---:|---|")
    for seconds in seconds_list:
        n = int(seconds * rate)
        rng = np.random.default_rng(0)
        source = rng.standard_normal(n + rate)
        a, b = source[rate // 4 : rate // 4 + n], source[:n]  # b[k] = a[k - rate / 4]: B lags A by 0.25 s
        repeat = 3 if seconds <= 60 else 1
        t_scipy = median_time(lambda: scipy_argmax(a, b), repeat)
        found = {}
        t_whole = median_time(lambda: found.__setitem__("whole", sigconv.correlate(
            a, b, rate, keep_function=False).pairs[0].delay_seconds), repeat)
        t_window = median_time(lambda: found.__setitem__("window", sigconv.correlate(
            a, b, rate, max_lag=1.0, keep_function=False).pairs[0].delay_seconds), repeat)
        print(f"| {seconds:g} s | {t_scipy:.2f} | {t_whole:.2f} | {t_window:.2f} | "
              f"{found['whole']:+.6f} s, {found['window']:+.6f} s |")
    print()


# run in the child: `python -m sigconv` (the CLI's process settings), then its own peak RSS on stderr
MEASURE = """
import sys
from sigconv.cli import run
try:
    run(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")), file=sys.stderr)
sys.exit(code)
"""


def _write_pair(folder, minutes, rate=48000):
    """A (noise) and B (A low-passed at 4 kHz, 1.2 s later, noise 20 dB down) as PCM_16, block by block."""
    import soundfile as sf

    rng = np.random.default_rng(11)
    frames, delay = int(minutes * 60 * rate), int(1.2 * rate)
    sos = scipy.signal.butter(4, 4000, fs=rate, output="sos")
    state = np.zeros((sos.shape[0], 2))
    a, b = folder / f"a-{minutes:g}min.wav", folder / f"b-{minutes:g}min.wav"
    with sf.SoundFile(a, "w", rate, 1, "PCM_16") as fa, sf.SoundFile(b, "w", rate, 1, "PCM_16") as fb:
        pending = np.zeros(delay)
        for start in range(0, frames, 1 << 21):
            x = 0.1 * rng.standard_normal(min(1 << 21, frames - start))
            fa.write(x)
            y, state = scipy.signal.sosfilt(sos, x, zi=state)
            stream = np.concatenate([pending, y])
            fb.write(stream[: x.size] + 0.01 * rng.standard_normal(x.size))
            pending = stream[x.size :]
    return a, b


def _write_recording(folder, minutes, rate=48000):
    """A 10 s clip and a recording of noise holding it at 720 s, the middle and 20 s before the end."""
    import soundfile as sf

    rng = np.random.default_rng(7)
    clip = rng.standard_normal(10 * rate)
    clip_path, recording = folder / "clip.wav", folder / f"recording-{minutes:g}min.wav"
    sf.write(clip_path, 0.2 * clip, rate, subtype="PCM_16")
    frames = int(minutes * 60 * rate)
    starts = [720 * rate, frames // 2 + 777, frames - 20 * rate]
    with sf.SoundFile(recording, "w", rate, 1, "PCM_16") as f:
        for start in range(0, frames, 1 << 21):
            block = 0.1 * rng.standard_normal(min(1 << 21, frames - start))
            for s in starts:
                lo, hi = max(s, start), min(s + clip.size, start + block.size)
                if hi > lo:
                    block[lo - start : hi - start] += 0.2 * clip[lo - s : hi - s]
            f.write(block)
    return clip_path, recording


def _run_measured(args):
    """``(seconds, peak RSS in MB, stdout)`` of one ``python -m sigconv`` run."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MEASURE, *map(str, args)], capture_output=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 7):
        raise SystemExit(f"sigconv {' '.join(map(str, args))} failed: {proc.stderr.decode()[-500:]}")
    return seconds, int(proc.stderr.decode().strip().splitlines()[-1]) / 1024, proc.stdout.decode()


def files(pair_minutes, locate_minutes, rounds):
    with tempfile.TemporaryDirectory(prefix="bench-correlate-") as tmp:
        folder = Path(tmp)
        a, b = _write_pair(folder, pair_minutes)
        clip, recording = _write_recording(folder, locate_minutes)
        jobs = {
            f"2 x {pair_minutes:g} min, whole range": ["correlate", a, b, "--json"],
            f"2 x {pair_minutes:g} min, --max-lag 2": ["correlate", a, b, "--max-lag", "2", "--json"],
            f"--locate 10 s in {locate_minutes:g} min": ["correlate", "--locate", clip, recording, "--json"],
        }
        measured = {name: [] for name in jobs}
        for _ in range(rounds):  # interleaved: each round runs every job once
            for name, args in jobs.items():
                measured[name].append(_run_measured(args))
    print(f"Files: `python -m sigconv correlate` on 48 kHz PCM_16 files, {rounds} round(s), medians; peak RSS is "
          "the child's VmHWM\n")
    print("| job | time s | peak RSS MB (max) | result |")
    print("|---|---:|---:|---|")
    for name, runs in measured.items():
        document = json.loads(runs[-1][2])
        if "matches" in document:
            found = ", ".join(f"{m['start_clock']} ({m['score']:.2f})" for m in document["matches"])
        else:
            pair = document["pairs"][0]
            found = (f"{pair['delay_samples']:+.2f} samples, confidence {pair['confidence']:.1f}, "
                     f"{document['search']['form']}")
        print(f"| {name} | {statistics.median(r[0] for r in runs):.1f} | {max(r[1] for r in runs):.0f} | {found} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--speed-seconds", type=float, nargs="*", default=[1, 10, 60, 600])
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-files", action="store_true")
    parser.add_argument("--pair-minutes", type=float, default=60)
    parser.add_argument("--locate-minutes", type=float, default=120)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not args.skip_accuracy:
        accuracy(args.trials)
    if not args.skip_speed:
        speed(args.speed_seconds)
    if not args.skip_files:
        files(args.pair_minutes, args.locate_minutes, args.rounds)


if __name__ == "__main__":
    main()
