"""Realistic takes for delay estimation: real music and speech heard by a second recorder across a room.

Material from Debian's packages, fetched with ``apt-get download`` into a
cache on first use (as ``tests/test_real_material.py`` does), never
committed: songs from ``asc-music`` (three MP3s by Michael Kievernagel,
GPL-2+), spoken phrases from ``alsa-utils`` (GPL-2+), and the recorded concert-hall impulse response (two microphones)
and a guitar cabinet from ``guitarix-common`` (GPL-2+). :func:`fetch`
returns why it could not fetch them, so that tests can skip.

:func:`take_pair` makes what two recorders of one event hold: A, the
source as a close microphone hears it (plus its own noise); B, the same
source ``delay`` seconds later through a room (the recorded hall, or a
synthetic living room with discrete early reflections), band-limiting
filters (a 100 Hz high-pass and a 4 kHz low-pass, or the cabinet) and
noise at ``snr_db``. The truth is the delay of B's strongest arrival: the
delay plus the position of the largest ``|sample|`` of the room-and-filter
response. :func:`unrelated_pair` makes the same from two different stretches
of material, where no delay exists.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..debian import fetch_files

CACHE = Path(os.environ.get("SIGCONV_TEST_DATA", Path.home() / ".cache" / "sigconv-test-data")) / "takes"
_SONGS = "usr/share/games/asc/music"
_SPEECH = "usr/share/sounds/alsa"
_GX = "usr/share/gx_head/sounds"
SONGS = ("frontiers", "machine_wars", "time_to_strike")
PHRASES = ("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right", "Side_Left",
           "Side_Right")
WANTED = {
    **{f"{name}.mp3": ("asc-music", f"{_SONGS}/{name}.mp3") for name in SONGS},
    **{f"{name}.wav": ("alsa-utils", f"{_SPEECH}/{name}.wav") for name in PHRASES},
    "greathall.wav": ("guitarix-common", f"{_GX}/greathall.wav"),
    "cabinet.wav": ("guitarix-common", f"{_GX}/amps/Marshall MG 15.wav"),
}
KINDS = ("speech", "music", "noise")
ROOMS = ("hall left", "hall right", "living room", "cabinet")


def fetch() -> str | None:
    """Fill the cache; return None on success, or the reason it failed."""
    return fetch_files(CACHE, WANTED, (
        "*.mp3: Debian package asc-music, songs by Michael Kievernagel (GPL-2+)\n"
        "Front_*.wav ... Side_Right.wav: Debian package alsa-utils, /usr/share/sounds/alsa (GPL-2+)\n"
        "greathall.wav, cabinet.wav: Debian package guitarix-common (GPL-2+)\n"
    ), timeout=600)


@lru_cache(maxsize=32)
def _load(name: str, rate: int, channel: int | None = None) -> np.ndarray:
    """A cached recording as float64 at ``rate``: mono (the channels' mean) or one channel."""
    import soundfile as sf
    from scipy.signal import resample_poly

    from sigconv.compute.resampling import resample_ratio

    data, native = sf.read(CACHE / name, dtype="float64", always_2d=True)
    mono = data.mean(axis=1) if channel is None else data[:, channel]
    up, down = resample_ratio(native, rate)
    out = resample_poly(mono, up, down) if up != down else mono
    out.setflags(write=False)
    return out


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Noise whose power falls by 3 dB per octave (1/f), from white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    spectrum[0] = 0
    return np.fft.irfft(spectrum, n)


def material(kind: str, seconds: float, rate: int, rng: np.random.Generator, part: int | None = None) -> np.ndarray:
    """``seconds`` of ``kind`` material ("speech", "music", "noise") at ``rate``, RMS 0.1.

    Music is a random stretch of a song; speech is spoken phrases in a
    random order with pauses of 0.2-1 s (a talker with gaps), repeated as
    needed; noise is synthetic pink noise. ``part`` 0 or 1 takes material
    that the other part never holds (the first or the last song, the first
    or the last four phrases), for unrelated pairs.
    """
    n = int(seconds * rate)
    if kind == "music":
        songs = SONGS if part is None else SONGS[-1:] if part else SONGS[:1]
        song = _load(f"{songs[rng.integers(len(songs))]}.mp3", rate)
        start = int(rng.integers(int(10 * rate), song.size - n - int(10 * rate)))
        out = song[start : start + n].copy()
    elif kind == "speech":
        phrases = PHRASES if part is None else PHRASES[4 * part : 4 * part + 4]
        out = np.zeros(n)
        at = int(rng.uniform(0, 0.5) * rate)
        while at < n:
            phrase = _load(f"{phrases[rng.integers(len(phrases))]}.wav", rate)
            out[at : at + phrase.size] += phrase[: n - at]
            at += phrase.size + int(rng.uniform(0.2, 1.0) * rate)
    elif kind == "noise":
        out = pink_noise(n, rng)
    else:
        raise ValueError(f"unknown material {kind!r}")
    return 0.1 * out / np.sqrt(np.mean(out**2))


def living_room(rate: int, rng: np.random.Generator) -> np.ndarray:
    """A synthetic living room: the direct sound, six early reflections within 12 ms, a 0.4 s diffuse tail."""
    n = int(0.5 * rate)
    t = np.arange(n) / rate
    h = 0.08 * rng.standard_normal(n) * np.exp(-6.91 * t / 0.4)
    h[: int(0.012 * rate)] *= 0.2
    h[0] = 1.0
    for delay_ms in rng.uniform(1.0, 12.0, 6):
        h[int(delay_ms * 1e-3 * rate)] += rng.uniform(0.3, 0.7) * rng.choice([-1.0, 1.0])
    return h


def response(room: str, rate: int, rng: np.random.Generator, filtered: bool = True) -> np.ndarray:
    """What lies between the source and B's microphone: a room (or the cabinet), with band-limiting filters."""
    import scipy.signal

    if room == "hall left":
        h = _load("greathall.wav", rate, 0).copy()
    elif room == "hall right":
        h = _load("greathall.wav", rate, 1).copy()
    elif room == "living room":
        h = living_room(rate, rng)
    elif room == "cabinet":
        h = _load("cabinet.wav", rate).copy()
    else:
        raise ValueError(f"unknown room {room!r}")
    if filtered and room != "cabinet":
        impulse = np.zeros(h.size + rate // 20)
        impulse[: h.size] = h
        low = scipy.signal.butter(4, 4000, fs=rate, output="sos") if rate > 8000 else None
        high = scipy.signal.butter(2, 100, "highpass", fs=rate, output="sos")
        h = scipy.signal.sosfilt(high, impulse)
        if low is not None:
            h = scipy.signal.sosfilt(low, h)
    return h / np.abs(h).max()


def _noisy(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    return x + rng.standard_normal(x.size) * np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10))


def take_pair(kind: str, room: str, seed: int, *, rate: int = 16000, seconds: float = 20.0, delay: float | None = None,
              snr_db: float = 20.0, polarity: float = 1.0, filtered: bool = True):
    """``(a, b, truth)``: two recordings of one event and the delay of B's strongest arrival, in samples.

    A hears ``kind`` material with independent noise 30 dB down; B hears
    it ``delay`` seconds later (default: random within +-40% of
    ``seconds``, whole samples) through :func:`response` (times
    ``polarity``), with noise at ``snr_db``. Both are ``seconds`` long.
    """
    import scipy.signal

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    if delay is None:
        delay = float(rng.uniform(-0.4, 0.4) * seconds)
    lag = int(round(delay * rate))
    h = polarity * response(room, rate, rng, filtered)
    guard = abs(lag) + h.size
    source = material(kind, seconds + 2 * guard / rate + 0.01, rate, rng)
    wet = scipy.signal.fftconvolve(source, h)[: source.size]
    a = source[guard : guard + n]
    b = wet[guard - lag : guard - lag + n]
    truth = lag + int(np.argmax(np.abs(h)))
    return _noisy(a, 30.0, rng), _noisy(b, snr_db, rng), truth


def unrelated_pair(kind_a: str, kind_b: str, room: str, seed: int, *, rate: int = 16000, seconds: float = 20.0,
                   snr_db: float = 20.0):
    """``(a, b)``: takes of material that shares nothing (:func:`material`'s two parts): no delay to find."""
    import scipy.signal

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    h = response(room, rate, rng)
    a = material(kind_a, seconds, rate, rng, part=0)
    b = scipy.signal.fftconvolve(material(kind_b, seconds + 1.0, rate, rng, part=1), h)[rate // 2 : rate // 2 + n]
    return _noisy(a, 30.0, rng), _noisy(b, snr_db, rng)
