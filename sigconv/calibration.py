"""Measuring what the FFT engine costs on this machine, for the planner.

The planner predicts run times from the seconds one overlap-save hop takes
at each transform length. :func:`measure_hop_seconds` times hops inside the
real engine (transforms, spectral product, the copies in and out), so the
prediction includes what the transforms alone leave out.
``python benchmarks/fit_planner.py`` runs it over :func:`fast_sizes` and
writes the table that ships in :mod:`sigconv.hop_costs`; ``sigconv tune``
runs it for the sizes it made FFTW plans for and keeps the result next to
the wisdom (:func:`load_tuned_costs`), since measured plans change which
length is fastest.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass

import numpy as np

__all__ = ["fast_sizes", "measure_hop_seconds", "measure_costs", "measure_frame_seconds", "HopCosts", "load_tuned_costs", "save_tuned_costs"]

_TUNED_COSTS_FILE = "hop-costs.json"


def fast_sizes(lo: int, hi: int) -> list[int]:
    """Transform lengths ``2^a 3^b 5^c`` (``a >= 6``, ``b, c <= 2``) from ``lo`` to ``hi``.

    FFTW and pocketfft transform these lengths at full speed, and with
    FFTW_ESTIMATE plans some of them run faster per sample than the
    neighbouring power of two.

    Examples
    --------
    >>> fast_sizes(4096, 8192)
    [4096, 4608, 4800, 5120, 5760, 6144, 6400, 7680, 8192]
    """
    sizes = set()
    for odd in (1, 3, 5, 9, 15, 25, 45, 75, 225):
        size = odd << 6
        while size <= hi:
            if size >= lo:
                sizes.add(size)
            size <<= 1
    return sorted(sizes)


def _signal_file(folder: str, frames: int, channels: int) -> str:
    """A float32 WAV of ``frames`` random frames in ``folder`` (made once)."""
    from .io.stream import open_writer

    path = os.path.join(folder, f"calibration-{channels}x{frames}.wav")
    if not os.path.exists(path):
        rng = np.random.default_rng(frames)
        with open_writer(path, 48000, channels, subtype="FLOAT") as writer:
            for start in range(0, frames, 1 << 20):
                count = min(1 << 20, frames - start)
                writer.write((0.1 * rng.standard_normal((count, channels))).astype(np.float32))
    return path


def _stream_once(source: str, engine, taps: int, folder: str) -> float:
    """Seconds to stream ``source`` through ``engine`` into a float32 WAV, as ``sigconv convolve`` does."""
    from .io.stream import open_reader, open_writer
    from .pipeline import ConvolveReport, ModeWindow, _run

    reader = open_reader(source, dtype=engine.dtype)
    try:
        started = time.perf_counter()
        with open_writer(os.path.join(folder, "calibration-out.wav"), 48000, engine.out_channels,
                         subtype="FLOAT") as writer:
            _run(reader, engine, ModeWindow("full", taps), writer, None, ConvolveReport())
        return time.perf_counter() - started
    finally:
        reader.close()


def _hop_in_this_process(size: int, dtype: str, folder: str, channels: int, taps: int) -> float:
    from .engine import OverlapSave
    from .routing import routes_for

    dtype = np.dtype(dtype)
    hop = size - taps + 1
    source = _signal_file(folder, max(1 << 21, 1 << (16 * hop - 1).bit_length()), channels)
    h = np.random.default_rng(size).standard_normal((taps, channels)).astype(dtype) / taps
    routes, out_channels = routes_for(channels, channels)
    engine = OverlapSave(h, routes, channels, out_channels, taps, size, dtype=dtype)
    engine.output_dtype = np.dtype(np.float32)
    return _stream_once(source, engine, taps, folder) / engine.hops


def measure_hop_seconds(size: int, dtype=np.float64, folder: str | None = None, channels: int = 2,
                        repeats: int = 3, taps: int | None = None) -> float:
    """Seconds per hop of a streamed file convolution with ``size``-point transforms.

    A float32 WAV of ``channels`` channels (at least 2^21 frames and 16
    hops) streams through the overlap-save engine with a ``size // 2``-tap
    IR (or ``taps``), one IR channel per input channel, into a float32 WAV,
    as ``sigconv convolve`` runs it: reader and writer threads included.
    Each run is a fresh Python process, as each ``sigconv`` command is:
    long transforms run markedly faster in a process that has run them
    before (memory already mapped), which would favour lengths that lose in
    real use. The fastest of ``repeats`` runs counts.

    Parameters
    ----------
    size : int
        Transform length.
    dtype : numpy dtype
        Computation precision.
    folder : str, optional
        Where the test signal is kept (and reused between calls); a
        temporary folder by default.
    """
    import subprocess
    import sys
    import tempfile

    if folder is None:
        with tempfile.TemporaryDirectory(prefix="sigconv-calibration-") as scratch:
            return measure_hop_seconds(size, dtype, scratch, channels, repeats, taps)
    taps = taps or size // 2
    hop = size - taps + 1
    _signal_file(folder, max(1 << 21, 1 << (16 * hop - 1).bit_length()), channels)  # made once, outside the runs
    code = ("import sys; from sigconv.calibration import _hop_in_this_process as run; "
            "print(run(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))")
    runs = [
        float(subprocess.run([sys.executable, "-c", code, str(size), np.dtype(dtype).name, folder, str(channels),
                              str(taps)], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeats)
    ]
    return min(runs)


@dataclass
class HopCosts:
    """What the streamed engine costs at one precision, for the planner.

    Attributes
    ----------
    hop_seconds : dict
        Seconds per hop by transform length ``N``, measured with an IR of
        ``N // 2`` taps (a hop of ``N - N // 2 + 1`` frames), 2 channels.
    frame_seconds : float
        Seconds each further frame of hop adds (2 channels): reading,
        converting, copying out and writing it.
    """

    hop_seconds: dict[int, float]
    frame_seconds: float

    def to_json(self) -> dict:
        return {"hop_seconds": {str(k): v for k, v in sorted(self.hop_seconds.items())},
                "frame_seconds": self.frame_seconds}

    @classmethod
    def from_json(cls, raw: dict) -> HopCosts:
        return cls({int(k): float(v) for k, v in raw["hop_seconds"].items()}, float(raw["frame_seconds"]))


class _PassThrough:
    """An engine that only converts each block to the computation dtype and back, as the FFT engine's copies do."""

    def __init__(self, channels: int, dtype):
        self.out_channels, self.dtype = channels, np.dtype(dtype)

    def push(self, block: np.ndarray) -> np.ndarray:
        frame = np.empty(block.shape[::-1], dtype=self.dtype)
        frame[...] = block.T
        out = np.empty(block.shape, dtype=np.float32)
        out[...] = frame.T
        return out

    def finish(self) -> np.ndarray:
        return np.empty((0, self.out_channels), dtype=np.float32)


def measure_frame_seconds(dtype=np.float64, folder: str | None = None, channels: int = 2, repeats: int = 3) -> float:
    """Seconds per frame of streaming a file through sigconv's reader, copies and writer, with no transform.

    A float32 WAV of 2^23 frames is read, converted to ``dtype`` and back
    channel-major as the engine does, and written; fastest of ``repeats``.
    """
    import tempfile

    if folder is None:
        with tempfile.TemporaryDirectory(prefix="sigconv-calibration-") as scratch:
            return measure_frame_seconds(dtype, scratch, channels, repeats)
    frames = 1 << 23
    source = _signal_file(folder, frames, channels)
    return min(_stream_once(source, _PassThrough(channels, dtype), 1, folder) for _ in range(repeats)) / frames


def measure_costs(sizes, dtype=np.float64, folder: str | None = None, progress=None) -> HopCosts:
    """:func:`measure_hop_seconds` for each of ``sizes``, and :func:`measure_frame_seconds`.

    ``progress(done, total, text)`` is called if given (``len(sizes) + 1`` steps).
    """
    import tempfile

    sizes = sorted(int(size) for size in sizes)
    table = {}
    with tempfile.TemporaryDirectory(prefix="sigconv-calibration-", dir=folder) as scratch:
        for done, size in enumerate(sizes):
            if progress:
                progress(done, len(sizes) + 1, f"{np.dtype(dtype).name} hop at {size}")
            table[size] = measure_hop_seconds(size, dtype, scratch)
        if progress:
            progress(len(sizes), len(sizes) + 1, f"{np.dtype(dtype).name} cost per frame")
        frame = measure_frame_seconds(dtype, scratch)
    return HopCosts(table, frame)


def _tuned_costs_path() -> str:
    from .fftlib import wisdom_folder

    return os.path.join(wisdom_folder(), _TUNED_COSTS_FILE)


def save_tuned_costs(costs: dict[str, HopCosts]) -> str:
    """Store costs measured with tuned plans, by dtype name, next to FFTW's wisdom."""
    path = _tuned_costs_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    merged = {**load_tuned_costs(), **costs}
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({dtype: c.to_json() for dtype, c in merged.items()}, f, indent=1)
    os.replace(tmp, path)
    return path


def load_tuned_costs() -> dict[str, HopCosts]:
    """Costs stored by ``sigconv tune``, by dtype name; empty when there are none (or they are unreadable)."""
    try:
        with open(_tuned_costs_path(), encoding="utf-8") as f:
            raw = json.load(f)
        return {dtype: HopCosts.from_json(c) for dtype, c in raw.items()}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return {}
