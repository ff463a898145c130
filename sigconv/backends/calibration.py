"""Measuring what the FFT engine costs on this machine, for the planner.

The planner predicts run times from the seconds one overlap-save hop takes
at each transform length. :func:`measure_hop_seconds` times hops inside the
real engine (transforms, spectral product, the copies in and out), so the
prediction includes what the transforms alone leave out.
``python benchmarks/fit_planner.py`` runs it over :func:`fast_sizes` and
writes the table that ships in :mod:`sigconv.backends.hop_costs`; ``sigconv tune``
runs it with the FFTW plans it made and keeps the result next to the
wisdom (:func:`load_tuned_costs`), since measured plans change which
length is fastest.

Warm, in-memory timings leave out what whole runs add for long
transforms (a fresh process's first touch of large buffers, reader and
writer threads competing for the caches): the planner caps streamed
transforms where whole runs measured that (see ``sigconv/backends/planner.py``).
"""

from __future__ import annotations

import functools
import json
import os
import time

import numpy as np

__all__ = ["fast_sizes", "measure_hop_seconds", "measure_hop_table", "load_tuned_costs", "save_tuned_costs"]

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


def measure_hop_seconds(size: int, dtype=np.float64, channels: int = 2, budget: float = 0.2) -> float:
    """Seconds per hop of the overlap-save engine with ``size``-point transforms.

    A ``channels``-channel input runs through a ``size // 2``-tap IR with
    one IR channel per input channel (a hop of ``size - size // 2 + 1``
    frames), in float32 blocks as the file readers deliver them, to float32
    output blocks as a FLOAT file takes them. One block is pushed again and
    again, in three batches filling ``budget`` seconds; the fastest batch
    counts (interference only slows a batch down).
    """
    from ..compute.engine import OverlapSave
    from ..compute.routing import routes_for

    rng = np.random.default_rng(size)
    taps = size // 2
    h = rng.standard_normal((taps, channels)).astype(dtype)
    routes, out_channels = routes_for(channels, channels)
    from .fft import FFTBackend

    engine = OverlapSave(h, routes, channels, out_channels, taps, size, dtype=dtype, ops=FFTBackend().ops())
    engine.output_dtype = np.dtype(np.float32)
    block = rng.standard_normal((engine.hop, channels)).astype(np.float32)
    engine.push(block)  # first touch of every buffer
    started = time.perf_counter()
    engine.push(block)
    best = time.perf_counter() - started
    reps = max(1, min(1000, int(budget / 3 / max(best, 1e-6))))
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(reps):
            engine.push(block)
        best = min(best, (time.perf_counter() - started) / reps)
    return best


def measure_hop_table(sizes, dtype=np.float64, progress=None, passes: int = 1) -> dict[int, float]:
    """:func:`measure_hop_seconds` for each of ``sizes``; ``progress(done, total, text)`` if given.

    With ``passes`` above one, every size is timed once per pass over all of
    them and its fastest pass counts: a slow spell of the machine then
    slows one timing of many sizes instead of every timing of a few
    neighbouring ones, which would move the planner's choice between them.
    """
    table: dict[int, float] = {}
    sizes = sorted(int(size) for size in sizes)
    total = len(sizes) * passes
    for sweep in range(passes):
        for index, size in enumerate(sizes):
            if progress:
                progress(sweep * len(sizes) + index, total, f"{np.dtype(dtype).name} hop at {size}")
            seconds = measure_hop_seconds(size, dtype)
            table[size] = min(seconds, table.get(size, seconds))
    return table


def _tuned_costs_path() -> str:
    from ..compute.fftw import wisdom_folder

    return os.path.join(wisdom_folder(), _TUNED_COSTS_FILE)


def save_tuned_costs(tables: dict[str, dict[int, float]]) -> str:
    """Store hop costs measured with tuned plans, by dtype name, next to FFTW's wisdom."""
    path = _tuned_costs_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    merged = {**load_tuned_costs(), **tables}
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({dtype: {str(k): v for k, v in sorted(t.items())} for dtype, t in merged.items()}, f, indent=1)
    os.replace(tmp, path)
    return path


def load_tuned_costs() -> dict[str, dict[int, float]]:
    """Hop costs stored by ``sigconv tune``, by dtype name; empty when there are none (or they are unreadable).

    The planner asks on every plan, so the file is parsed again only when
    it changed.
    """
    path = _tuned_costs_path()
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    return _parse_tuned_costs(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _parse_tuned_costs(path: str, _mtime_ns: int, _size: int) -> dict[str, dict[int, float]]:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        return {dtype: {int(k): float(v) for k, v in table.items()} for dtype, table in raw.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}
