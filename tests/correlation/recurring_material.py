"""Recordings whose material recurs, from Debian's packages: the hard case for clock-drift estimation.

A "programme" of ``seconds`` at ``rate`` is laid out from real recordings:
sections of music loops from ``sonic-pi-samples`` (CC0, from freesound.org),
each loop played back to back for 15-60 s and the same few loops coming
back in later sections; spoken phrases from ``alsa-utils`` ("Front
center", "Rear left"... GPL-2+) that recur every few seconds; all over a
bed of looped vinyl hiss (``vinyl_hiss.flac``). Whole 10 s stretches of it
recur elsewhere, so one window's best lag is often a recurrence.

:func:`drifting_pair` records the programme twice: A as it is, B on a
clock that runs by ``up / down`` (``scipy.signal.resample_poly``, so the
drift is exact: ``(up / down - 1) * 1e6`` ppm), starting ``delay`` seconds
later, each with its own noise at ``snr_db``. The truth, on A's clock, is
``delay(t) = delay * rate + (up / down - 1) * t * rate`` samples.

The packages are fetched with ``apt-get download`` into a cache on first
use (as ``tests/test_real_material.py`` does), never committed;
:func:`fetch` returns why it could not, so that tests can skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..debian import fetch_files

CACHE = Path(os.environ.get("SIGCONV_TEST_DATA", Path.home() / ".cache" / "sigconv-test-data")) / "recurring"
_SAMPLES = "usr/share/sonic-pi/samples"
_SPEECH = "usr/share/sounds/alsa"
LOOPS = ("loop_amen", "loop_compus", "loop_garzul", "loop_tabla", "loop_mika", "loop_breakbeat")
PHRASES = ("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right", "Side_Left",
           "Side_Right")
WANTED = {
    **{f"{name}.flac": ("sonic-pi-samples", f"{_SAMPLES}/{name}.flac") for name in (*LOOPS, "vinyl_hiss")},
    **{f"{name}.wav": ("alsa-utils", f"{_SPEECH}/{name}.wav") for name in PHRASES},
}


def fetch() -> str | None:
    """Fill the cache; return None on success, or the reason it failed."""
    return fetch_files(CACHE, WANTED, (
        "loop_*.flac, vinyl_hiss.flac: Debian package sonic-pi-samples (CC0, from freesound.org)\n"
        "*.wav: Debian package alsa-utils, /usr/share/sounds/alsa (GPL-2+)\n"
    ), timeout=600)


def _load(name: str, rate: int) -> np.ndarray:
    """A cached recording as mono float64 at ``rate``, scaled to an RMS of 0.1."""
    import soundfile as sf
    from scipy.signal import resample_poly

    from sigconv.compute.resampling import resample_ratio

    data, native = sf.read(CACHE / name, dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    up, down = resample_ratio(native, rate)
    mono = resample_poly(mono, up, down)
    return 0.1 * mono / np.sqrt(np.mean(mono ** 2))


def _bar(piece: np.ndarray, frames: int) -> np.ndarray:
    """``piece`` repeated back to back and cut to ``frames``: one bar that tiles without a seam."""
    return np.tile(piece, frames // piece.size + 1)[:frames]


def programme(seconds: float = 600.0, rate: int = 16000, seed: int = 14) -> np.ndarray:
    """The recurring programme (mono, at ``rate``).

    Sections of 2-8 bars of 8 s: a music loop, a spoken announcement (the
    same phrases at the same places in every bar) or free speech (phrases
    at random places: the only material that does not recur); the same
    loops and the announcement come back section after section, and the
    hiss bed repeats every bar. So a 10 s window inside a section recurs
    8, 16... s away and in every other section of its kind, and only
    windows across a section boundary or in free speech are unique.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    bar = 8 * rate
    loops = [_bar(_load(f"{name}.flac", rate), bar) for name in LOOPS]
    phrases = [_load(f"{name}.wav", rate) for name in PHRASES]
    announcement = np.zeros(bar)
    for phrase, at in zip(phrases[:3], (0.5, 3.0, 5.5)):
        announcement[int(at * rate) : int(at * rate) + phrase.size] += phrase
    kinds = [*loops, announcement, None]  # None: free speech
    out = np.zeros(n + bar * 8)
    start = 0
    while start < n:
        bars = int(rng.integers(2, 9))
        kind = kinds[rng.choice(len(kinds), p=[0.12] * len(loops) + [0.18, 0.10])]
        if kind is None:
            at = start
            while at < start + bars * bar:
                phrase = phrases[rng.integers(len(phrases))]
                out[at : at + phrase.size] += phrase
                at += phrase.size + int(rng.uniform(0.3, 2.0) * rate)
        else:
            out[start : start + bars * bar] += np.tile(kind, bars)
        start += bars * bar
    out = out[:n]
    out += 0.2 * np.tile(_bar(_load("vinyl_hiss.flac", rate), bar), n // bar + 1)[:n]
    return out


def drifting_pair(source: np.ndarray, rate: int, delay: float, up: int, down: int, snr_db: float = 30.0,
                  seed: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """A = ``source``; B = ``source`` on a clock running ``up / down`` times as fast, ``delay`` s later.

    B's first ``delay`` seconds hold hiss of its own (what B heard before
    A's first sample); each gets independent noise ``snr_db`` below its power.
    """
    from scipy.signal import resample_poly

    rng = np.random.default_rng(seed)
    shifted = source if up == down else resample_poly(source, up, down)
    lead = 0.02 * rng.standard_normal(int(round(delay * rate)))
    b = np.concatenate([lead, shifted])
    a = source.copy()
    for x in (a, b):
        x += 10 ** (-snr_db / 20) * np.sqrt(np.mean(x ** 2)) * rng.standard_normal(x.size)
    return a, b
