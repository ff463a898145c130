"""Recovered SNR and time of each ``sigconv.deconvolve`` method, against plain spectral division and scipy.

Run:  python benchmarks/bench_deconvolve.py [--seconds 10] [--trials 3] [--real] [--long] [--long-minutes 60]

Accuracy and speed: a broadband signal (white noise, 16 kHz, ``--seconds``
long, seeded) is convolved with two kernels: "room", exponentially
decaying noise with RT60 0.25 s after a direct sound (4000 taps), and
"short", 32 taps of random noise decaying by 1/e every 8 (no direct sound). "clean" keeps the full product; "20 dB" adds white
noise at 20 dB below the product's power (a 5 s noise-only sample of the
same noise goes to ``--noise``). For each case the recovered SNR (the
true signal's power over the error's) and the median wall time of
``--trials`` runs are printed for: wiener (``snr_db`` 100 clean / 20
noisy), wiener with the noise sample, tikhonov (``reg`` 1e-10 / 1e-2),
exact (clean only), plain spectral division (``Y / H`` on one FFT of the
whole signal, the textbook baseline), and ``scipy.signal.deconvolve``
(clean only; "unstable" when its result is not finite or off by more than
the signal itself). Lucy is measured on its own kind of data: non-negative
spikes blurred by a Gaussian line shape (sigma 4 samples).

``--long``: the streaming case of the issue, a ``--long-minutes`` (60)
stereo float WAV at 48 kHz deconvolved by a 3 s room kernel with
``sigconv deconvolve`` in a subprocess; prints wall time and the child's
peak RSS (``resource.getrusage``). Needs about 2.8 GB of free disk in the
temporary folder (input and output).
"""

from __future__ import annotations

import argparse
import functools
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

import sigconv

RATE = 16000


def room_kernel(rng, rt60, rate, seconds):
    n = int(seconds * rate)
    h = rng.standard_normal(n) * np.exp(-6.91 * np.arange(n) / (rt60 * rate))
    h[0] = 4.0  # the direct sound
    return h / np.sqrt(np.sum(h**2))


def snr_db(estimate, truth):
    if not np.all(np.isfinite(estimate)) or np.max(np.abs(estimate)) > 1e6 * np.max(np.abs(truth)):
        return None
    error = np.sum(np.square(estimate - truth))
    return 10 * np.log10(np.sum(np.square(truth)) / error)


def spectral_division(y, h, n):
    size = scipy.fft.next_fast_len(len(y), real=True)
    spectrum = scipy.fft.rfft(h, size)
    with np.errstate(all="ignore"):
        return scipy.fft.irfft(scipy.fft.rfft(y, size) / spectrum, size)[:n]


def scipy_deconvolve(y, h, n):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scipy.signal.deconvolve(y, h)[0][:n]


def timed(fn, trials):
    times, result = [], None
    for _ in range(trials):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def accuracy(seconds, trials):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(int(seconds * RATE))
    short = rng.standard_normal(32) * np.exp(-np.arange(32) / 8)
    kernels = {"room": room_kernel(rng, 0.25, RATE, 0.25), "short": short / np.sqrt(np.sum(short**2))}
    print(f"{'kernel':6s} {'noise':6s} {'method':24s} {'SNR dB':>8s} {'time s':>8s}")
    for name, h in kernels.items():
        clean = scipy.signal.fftconvolve(x, h)
        level = np.sqrt(np.mean(clean**2) / 100)
        for noisy in (False, True):
            y = clean + level * rng.standard_normal(len(clean)) if noisy else clean
            noise = level * rng.standard_normal(5 * RATE)
            runs = {
                "wiener": functools.partial(sigconv.deconvolve, y, h, snr_db=20 if noisy else 100),
                "tikhonov": functools.partial(sigconv.deconvolve, y, h, "tikhonov", reg=1e-2 if noisy else 1e-10),
                "spectral division": functools.partial(spectral_division, y, h, len(x)),
            }
            if noisy:
                runs["wiener --noise"] = functools.partial(sigconv.deconvolve, y, h, noise=noise)
            else:
                runs["exact"] = functools.partial(sigconv.deconvolve, y, h, "exact")
                runs["scipy.signal.deconvolve"] = functools.partial(scipy_deconvolve, y, h, len(x))
            for method, run in runs.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    estimate, seconds_taken = timed(run, trials)
                value = snr_db(estimate, x)
                shown = "unstable" if value is None else f"{value:8.1f}"
                print(f"{name:6s} {'20 dB' if noisy else 'clean':6s} {method:24s} {shown:>8s} {seconds_taken:8.3f}")
    spikes = np.zeros(int(seconds * RATE))
    where = rng.choice(len(spikes), len(spikes) // 200, replace=False)
    spikes[where] = rng.uniform(1, 10, where.size)
    shape = np.exp(-0.5 * (np.arange(-16, 17) / 4.0) ** 2)
    blurred = np.convolve(spikes, shape)
    for iterations in (50, 500):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a Gaussian's far skirt is a deep null, as the warning says
            run = functools.partial(sigconv.deconvolve, blurred, shape, "lucy", iterations=iterations)
            estimate, taken = timed(run, trials)
        residual = np.linalg.norm(np.convolve(estimate, shape) - blurred) / np.linalg.norm(blurred)
        print(f"{'gauss':6s} {'clean':6s} {f'lucy {iterations} it.':24s} {snr_db(estimate, spikes):8.1f} {taken:8.3f}"
              f"   (data residual {20 * np.log10(residual):.1f} dB, min {estimate.min():.3g})")


def long_case(minutes):
    rate = 48000
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        kernel = room_kernel(rng, 2.5, rate, 3.0)
        sf.write(folder / "ir.wav", kernel, rate, subtype="FLOAT")
        with sf.SoundFile(folder / "long.wav", "w", rate, 2, subtype="FLOAT") as f:
            for _ in range(minutes):
                f.write(0.1 * rng.standard_normal((60 * rate, 2)).astype(np.float32))
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "sigconv", "deconvolve", "long.wav", "ir.wav", "-o", "out.wav"],
                              cwd=folder, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        frames = sf.info(str(folder / "out.wav")).frames if proc.returncode == 0 else 0
        print(f"\n{minutes} min stereo 48 kHz x 3 s kernel (wiener, default --snr): exit {proc.returncode}, "
              f"{frames} frames out, wall {wall:.1f} s ({minutes * 60 / wall:.0f}x real time), peak RSS {peak:.0f} MiB")
        if proc.stderr:
            print(proc.stderr.strip())


def real_case():
    """Issue 15's rows: recorded speech through a recorded street IR, white/pink/low-pass noise at 0/10/20 dB.

    Material from ``tests/deconvolution/material.py`` (Debian's alsa-utils and
    jconvolver-config-files, fetched into the test cache on first use).
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.deconvolution.material import fetch, load

    reason = fetch()
    if reason:
        print(f"real material unavailable: {reason}")
        return
    x, h = load("Front_Left.wav")[:, 0], load("street2-L.wav")[:, 0]
    clean = scipy.signal.fftconvolve(x, h)
    print(f"\n{'noise':8s} {'level':>5s} {'--noise':>8s} {'best --snr':>11s} {'division':>9s}")
    for kind in ("white", "pink", "lowpass"):
        for level in (0, 10, 20):
            rng = np.random.default_rng(level + len(kind))
            w = rng.standard_normal(clean.size + 48000 + 4800)
            if kind == "lowpass":
                w = scipy.signal.lfilter(*scipy.signal.butter(4, 2000 / 24000), w)
            elif kind == "pink":
                spectrum = np.fft.rfft(w)
                spectrum[1:] /= np.sqrt(np.fft.rfftfreq(w.size)[1:])
                spectrum[0] = 0
                w = np.fft.irfft(spectrum, w.size)
            w = w[4800:]
            w *= np.sqrt(np.mean(clean**2) / np.mean(w[: clean.size] ** 2) / 10 ** (level / 10))
            y = clean + w[: clean.size]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                measured = snr_db(sigconv.deconvolve(y, h, noise=w[clean.size :]), x)
                best = max((snr_db(sigconv.deconvolve(y, h, snr_db=s), x), s) for s in (-10, 0, 10, 20, 30, 40))
            division = snr_db(spectral_division(y, h, x.size), x)
            shown = "unstable" if division is None else f"{division:9.1f}"
            print(f"{kind:8s} {level:5d} {measured:8.1f} {best[0]:6.1f} ({best[1]:3d}) {shown:>9s}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--long", action="store_true", help="also run the 1 h x 3 s streaming case")
    parser.add_argument("--long-minutes", type=int, default=60)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--real", action="store_true", help="issue 15's rows on recorded speech and a recorded IR")
    args = parser.parse_args()
    if not args.skip_accuracy:
        accuracy(args.seconds, args.trials)
    if args.real:
        real_case()
    if args.long:
        long_case(args.long_minutes)


if __name__ == "__main__":
    main()
