"""Delays over a wide lag range of long recordings in bounded memory: a coarse search, then full-rate refinement.

One transform of two 1-hour 48 kHz files takes gigabytes; this search
holds a bounded amount whatever their length:

1. **Coarse.** A and B are read once, low-passed and decimated by a
   factor ``D`` (:class:`~sigconv.correlation.decimation.Decimator`),
   ``D`` the smallest 5-smooth factor that brings them together under
   :data:`COARSE_POINTS` samples (float32, 4 bytes per coarse sample and
   channel), then transformed once each. Their
   GCC-PHAT correlation over the whole window gives the best
   :data:`CANDIDATES` peaks (at least a cluster apart) per channel of B,
   and the confidence of each: it is measured here, where every lag is
   seen (:mod:`sigconv.correlation.estimates`).
2. **Fine.** A and B are read again, at the full rate: every candidate's
   correlation with the chosen method over its :func:`canonical_window`
   (the echoes' 100 ms and two clusters either side of it, on a fixed
   grid), all candidates in one pass over A, block by block
   (:func:`~sigconv.correlation.spectra.window_rows_spectra`), each from
   a stream of B of its own. Each channel's delay is that of the
   candidate whose correlation is strongest, found and refined as any
   windowed search finds it (direct path, polarity, band-limited
   refinement), with the coarse confidence of that event. Where the
   strongest arrival lies in another canonical window, :func:`settle`
   reads once more around it.

:func:`settle` is also how the other searches end: whatever found the
strongest arrival, the delay is taken from the same window by the same
computation, so a whole-range search and a lag window agree.

The coarse correlation sees A and B below ``0.78 * rate / (2 D)`` only
(208 Hz for two 1-hour files at 48 kHz, ``D = 90``), where speech, music
and most noise hold much of their energy; the fine stage uses the whole
band. Memory: about 40 bytes per coarse sample (under 120 MB above the
interpreter's 65 MB), then blocks.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..compute.frames import FrameWindow, array_blocks
from .decimation import Decimator, smooth_factor
from .estimates import cluster_sizes, estimate_peak
from .peaks import GUARD_SAMPLES, arrival_cluster, peak_confidence
from .results import Correlation
from .spectra import CurveMaker, constant_check, plan_transform, window_rows_spectra

__all__ = ["COARSE_POINTS", "CANDIDATES", "WHOLE_POINTS", "BLOCK_POINTS", "Sources", "needs_coarse",
           "coarse_factor", "coarse_to_fine", "array_sources", "canonical_window", "settle"]

#: Coarse samples of A and B together (each a float32 of the in-place coarse transform, per channel of B).
COARSE_POINTS = 1 << 22
#: Candidates per channel of B refined at the full rate (at most) ...
CANDIDATES = 3
#: ... those whose coarse peak reaches this fraction of the best one.
CANDIDATE_FRACTION = 0.5
#: Longest single transform of the whole signals (float64; about 40 bytes per point are held).
WHOLE_POINTS = 1 << 21
#: Longest transform of the block-by-block form before a wide window is searched coarse to fine.
BLOCK_POINTS = 1 << 20
_MIN_BLOCK = 1 << 17  # frames of A per block of the fine stage (fewer, longer hops: less overhead per frame)
#: Streamed transforms shorter than this run on one thread: two threads on 2^16-point transforms ran 10x slower
#: on a busy 2-core machine (3.2 ms against 0.3 ms a transform).
THREADED_FROM = 1 << 18
_PHAT_FLOOR = 1e-9
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Sources:
    """A and B, to be read more than once: each ``open_*()`` gives a fresh iterator of ``(frames, channels)`` blocks.

    Attributes
    ----------
    open_a, open_b : callable
    frames_a, frames_b, channels_a, channels_b : int
    """

    open_a: Callable[[], Iterator[np.ndarray]]
    open_b: Callable[[], Iterator[np.ndarray]]
    frames_a: int
    frames_b: int
    channels_a: int
    channels_b: int


def array_sources(a: np.ndarray, b: np.ndarray) -> Sources:
    """:class:`Sources` over two ``(frames, channels)`` arrays in memory."""
    return Sources(lambda: array_blocks(a), lambda: array_blocks(b), a.shape[0], b.shape[0], a.shape[1],
                   b.shape[1])


def needs_coarse(ops, na: int, nb: int, lo: int, hi: int, block: int | None, keep_function: bool) -> bool:
    """Whether searching ``lo..hi`` directly would hold more than the bound, so it goes coarse to fine.

    Not when the whole correlation function is asked for (``keep_function``).

    Examples
    --------
    >>> from sigconv.compute.ops import ArrayOps
    >>> needs_coarse(ArrayOps(), 3600 * 48000, 3600 * 48000, -10**8, 10**8, None, False)
    True
    >>> needs_coarse(ArrayOps(), 3600 * 48000, 3600 * 48000, -48000, 48000, None, False)
    False
    """
    if keep_function:
        return False
    size, length = plan_transform(ops, na, nb, lo, hi, block)
    return size > (WHOLE_POINTS if length is None else BLOCK_POINTS)


def coarse_factor(ops, na: int, nb: int) -> int:
    """The smallest 5-smooth decimation factor whose coarse transform holds at most :data:`COARSE_POINTS` points.

    Examples
    --------
    >>> from sigconv.compute.ops import ArrayOps
    >>> coarse_factor(ArrayOps(), 3600 * 48000, 3600 * 48000), coarse_factor(ArrayOps(), 10**6, 10**6)
    (90, 1)
    """
    factor = smooth_factor(max(1, math.ceil((na + nb) / COARSE_POINTS)))
    while ops.next_fast_len(_coarse_frames(na, factor) + _coarse_frames(nb, factor)) > COARSE_POINTS:
        factor = smooth_factor(factor + 1)
    return factor


def _coarse_frames(frames: int, factor: int) -> int:
    return frames if factor == 1 else -(-(frames + Decimator.overlap_of(factor)) // factor)


class _Watched:
    """Passes blocks through, counting frames and each column's extremes (for the silence check and progress)."""

    def __init__(self, blocks, channels, progress=None, done=0, total=None, rate=1.0):
        self.blocks, self.progress, self.done, self.total, self.rate = blocks, progress, done, total, rate
        self.frames = 0
        self.low = np.full(channels, np.inf)
        self.high = np.full(channels, -np.inf)

    def __iter__(self):
        for block in self.blocks:
            block = np.asarray(block).reshape(block.shape[0], -1)
            if block.shape[0]:
                np.minimum(self.low, block.min(axis=0), out=self.low)
                np.maximum(self.high, block.max(axis=0), out=self.high)
                self.frames += block.shape[0]
                if self.progress:
                    self.progress(self.done + self.frames, self.total, self.rate)
            yield block

    def check(self, column: int, name: str) -> None:
        constant_check(self.frames, name, float(self.low[column]), float(self.high[column]))


def _decimated(ops, decimator: Decimator, watched, frames: int) -> np.ndarray:
    """The decimated stream as one host float32 array of ``frames`` frames (zeros past its end)."""
    out = np.zeros((frames, len(decimator.columns)), np.float32)
    position = 0
    for block in decimator.run(iter(watched)):
        count = min(block.shape[0], frames - position)
        out[position : position + count] = block[:count]
        position += count
    return out


def _phat_in_place(ops, cross) -> None:
    """Weight the cross spectrum ``cross`` by PHAT (``G / |G|``, floored), in place and in chunks."""
    xp = ops.xp
    bins = cross.shape[0]
    largest = max(float(xp.abs(cross[i : i + _CHUNK]).max()) for i in range(0, bins, _CHUNK))
    floor = _PHAT_FLOOR * largest if largest > 0 else 1.0
    for i in range(0, bins, _CHUNK):
        part = cross[i : i + _CHUNK]
        part /= xp.maximum(xp.abs(part), floor)


def _window(ops, circular, size: int, lo: int, hi: int) -> np.ndarray:
    """Lags ``lo..hi`` of a circular correlation of ``size`` points (lag k at k mod size), as a new host array."""
    out = np.empty(hi - lo + 1, np.float32)
    if lo < 0:
        out[: min(hi + 1, 0) - lo] = ops.to_host(circular[size + lo : size + min(hi + 1, 0)])
    if hi >= 0:
        out[max(lo, 0) - lo :] = ops.to_host(circular[max(lo, 0) : hi + 1])
    return out


def _candidates(values: np.ndarray, allowed, count: int, separation: int) -> list[int]:
    """Positions of the ``count`` largest ``|values|`` peaks at least ``separation`` apart, down to
    :data:`CANDIDATE_FRACTION` of the largest."""
    magnitude = np.abs(values)
    if allowed is not None:
        magnitude[~allowed] = -1.0
    found, level = [], 0.0
    for _ in range(count):
        top = int(np.argmax(magnitude))
        if magnitude[top] < level or magnitude[top] < 0:
            break
        level = level or CANDIDATE_FRACTION * float(magnitude[top])
        found.append(top)
        magnitude[max(0, top - separation) : top + separation + 1] = -1.0
    return found


def _coarse_stage(sources: Sources, ops, factor, ref, lo_c, hi_c, min_abs, rate, progress, total, names):
    """The coarse GCC-PHAT correlation over ``lo_c..hi_c`` per channel of B (host float32) and its candidates.

    Returns ``(values, allowed, candidates, frames read)``: ``candidates[channel]``
    are positions in ``values[channel]``, best first, at least a cluster and
    its echoes apart.
    """
    na_c, nb_c = _coarse_frames(sources.frames_a, factor), _coarse_frames(sources.frames_b, factor)
    size = ops.next_fast_len(na_c + nb_c)
    channels = sources.channels_b
    streaming = ops.with_threads(1)
    watch_a = _Watched(sources.open_a(), sources.channels_a, progress, 0, total, rate)
    coarse_a = _decimated(ops, Decimator(streaming, factor, [ref], sources.channels_a), watch_a, na_c)
    watch_a.check(ref, f"{names[0]} (channel {ref})")
    watch_b = _Watched(sources.open_b(), channels, progress, watch_a.frames, total, rate)
    coarse_b = _decimated(ops, Decimator(streaming, factor, range(channels), channels), watch_b, nb_c)
    for channel in range(channels):
        watch_b.check(channel, f"{names[1]} (channel {channel})")
    # one-off transforms: FFTW's plans of this length would keep scratch space as large as a spectrum
    spectrum_a = ops.rfft(ops.to_device(coarse_a[:, 0]), size)
    del coarse_a
    ops.xp.conjugate(spectrum_a, out=spectrum_a)
    values = []
    for channel in range(channels):
        cross = ops.rfft(ops.to_device(coarse_b[:, channel]), size)
        cross *= spectrum_a
        _phat_in_place(ops, cross)
        circular = ops.irfft(cross, size)
        del cross
        values.append(_window(ops, circular, size, lo_c, hi_c))
        del circular
    del spectrum_a, coarse_b
    lags = np.arange(lo_c, hi_c + 1)
    allowed = np.abs(lags) * factor >= min_abs - factor if min_abs else None
    cluster, echoes = cluster_sizes(rate / factor, hi_c - lo_c + 1)
    candidates = [_candidates(v, allowed, CANDIDATES, cluster + echoes) for v in values]
    return values, allowed, candidates, watch_a.frames + watch_b.frames


def _event_confidence(values, allowed, candidate: int, found: int, cluster: int, echoes: int):
    """The coarse confidence of the event that holds the coarse ``candidate`` and the fine result at ``found``.

    Both lie in one event (the fine window around a candidate covers its
    cluster and echoes): its strongest coarse arrival between them (and a
    cluster either side) is rated, with its cluster, its echoes and the
    lags between the two left out of the rivals.
    """
    n = values.shape[0]
    first, last = max(0, min(candidate, found) - cluster), min(n - 1, max(candidate, found) + cluster)
    part = np.abs(values[first : last + 1])
    if allowed is not None:
        part = np.where(allowed[first : last + 1], part, -1.0)
    top = first + int(np.argmax(part))
    event = arrival_cluster(values, allowed, cluster=cluster, echoes=echoes, earliest=False, strongest=top)
    leave_out = [*event.leave_out, (first, last)]
    return peak_confidence(values, top, allowed, leave_out=leave_out, polarity=event.polarity)


def coarse_to_fine(sources: Sources, rate: float, *, ops, ref: int, method: str, normalize: bool, lo: int, hi: int,
                   min_abs: int, refine: str, block: int | None = None, progress=None,
                   names=("A", "B")) -> Correlation:
    """Search ``lo..hi`` coarse to fine (the module notes); the same result fields as a direct search.

    Parameters
    ----------
    sources : Sources
        A and B, read twice (the fine stage reads B once per candidate).
    rate : float
    ops : ArrayOps
    ref, method, normalize, lo, hi, min_abs, refine
        As for :func:`sigconv.correlation.delays.correlate_sources`.
    block : int, optional
        Unused: the fine stage's blocks are those of :func:`settle`, the same for every search.
    progress : callable, optional
        ``progress(done, total, rate)`` over both passes.
    names : (str, str)
        What the messages call A and B.
    """
    na, nb = sources.frames_a, sources.frames_b
    factor = coarse_factor(ops, na, nb)
    total = 2 * na + nb  # A and B read for the coarse stage, A again for the fine one
    lo_c = max(-(_coarse_frames(na, factor) - 1), math.floor(lo / factor) - 2)
    hi_c = min(_coarse_frames(nb, factor) - 1, math.ceil(hi / factor) + 2)
    values_c, allowed_c, candidates, done = _coarse_stage(sources, ops, factor, ref, lo_c, hi_c, min_abs, rate,
                                                          progress, total, names)
    width = canonical_window(0, lo, hi, rate)[1]
    rows = []
    for channel, found in enumerate(candidates):
        for index in found:
            rows.append((channel, index, canonical_window((lo_c + index) * factor, lo, hi, rate)[0]))
    size = ops.next_fast_len(max(_MIN_BLOCK, 4 * width) + width - 1)  # the blocks settle() uses
    length = size - width + 1
    a = FrameWindow(sources.open_a(), sources.channels_a)
    streams = [(FrameWindow(sources.open_b(), sources.channels_b), channel, start) for channel, _, start in rows]
    streaming = ops if size >= THREADED_FROM else ops.with_threads(1)
    cross, auto_a, auto_b = window_rows_spectra(streaming, a, streams, ref, width, size, length, method, progress,
                                                done, total, rate)
    if normalize:
        for stream, _, _ in streams:
            stream.drain()
    energy_a = float(a.energy[ref])
    cluster_c, echoes_c = cluster_sizes(rate / factor, hi_c - lo_c + 1)
    pairs, windows = [], {}
    for channel, found in enumerate(candidates):
        best = None
        for r, (row_channel, index, start) in enumerate(rows):
            if row_channel != channel:
                continue
            estimate, strength = _row_estimate(ops, method, normalize, refine, rate, ref, channel, na, nb, min_abs,
                                               start, width, size, cross[r],
                                               auto_a, None if auto_b is None else auto_b[r], energy_a,
                                               float(streams[r][0].energy[channel]))
            if estimate is not None and (best is None or strength > best[0]):
                best = (strength, estimate, index)
        _, estimate, index = best
        windows[channel] = next(start for c, i, start in rows if c == channel and i == index)
        found_c = min(max(round(estimate.delay_samples / factor) - lo_c, 0), values_c[channel].shape[0] - 1)
        rated = _event_confidence(values_c[channel], allowed_c, index, found_c, cluster_c, echoes_c)
        runner_up = None if rated.runner_up is None else (lo_c + rated.runner_up) * factor
        at_edge = estimate.at_edge and estimate.lag in (lo, hi)
        pairs.append(dataclasses.replace(estimate, confidence=rated.confidence, at_edge=at_edge,
                                         runner_up_lag=runner_up))
    search = {"form": "coarse to fine", "decimation": factor, "coarse_rate": rate / factor,
              "candidate_lags_samples": {str(c): [(lo_c + i) * factor for i in found]
                                         for c, found in enumerate(candidates)}}
    result = Correlation(method, rate, tuple(pairs), lo, hi, min_abs, None, None, bool(normalize), refine, na, nb,
                         search=search)
    return settle(sources, rate, result, ops=ops, ref=ref, normalize=normalize, block=block, settled=windows)


def _row_estimate(ops, method, normalize, refine, rate, ref, channel, na, nb, min_abs, start, width, size, cross,
                  auto_a, auto_b, energy_a, energy_b, polarity=None):
    """One candidate's fine estimate and its strength (the largest ``|value|`` of its window).

    ``polarity``, where known, is the one the wide search found (kept, so that the strongest arrival is the
    largest value of that sign).
    """
    maker = CurveMaker(ops, method, size, start, start + width - 1)
    reference = maker.phat_reference(cross)
    scale = math.sqrt(energy_a * energy_b) if normalize and energy_a * energy_b > 0 else 1.0
    maker.weight(cross, auto_a, auto_b, scale)
    values, spectrum = maker.values(cross, keep_spectrum=refine == "bandlimited")
    allowed = np.abs(np.arange(start, start + width)) >= min_abs if min_abs else None
    if allowed is not None and not allowed.any():
        return None, -math.inf
    estimate = estimate_peak(values, spectrum, maker, allowed, refine, rate, ref, channel, -(na - 1), nb - 1,
                             reference=reference, polarity=polarity)
    strength = float(np.max(np.abs(values if allowed is None else values[allowed])))
    return estimate, strength


def canonical_window(strongest: int, lo: int, hi: int, rate: float) -> tuple[int, int]:
    """``(start, width)``: the lags around ``strongest`` in which every search settles its delay.

    ``2 * half + 1`` lags, ``half`` being the echoes, two clusters and the
    guard (:func:`~sigconv.correlation.estimates.cluster_sizes`), centred
    on the multiple of ``half // 2`` nearest ``strongest`` and kept inside
    ``lo..hi``: two searches whose strongest arrivals lie a few lags apart
    get the same window, so the same values.

    Examples
    --------
    >>> canonical_window(1000, -10**6, 10**6, 16000.0), canonical_window(1010, -10**6, 10**6, 16000.0)
    ((-884, 3537), (-884, 3537))
    """
    cluster, echoes = cluster_sizes(rate, 1 << 62)
    half = echoes + 2 * cluster + GUARD_SAMPLES
    step = max(1, half // 2)
    width = min(2 * half + 1, hi - lo + 1)
    start = round(strongest / step) * step - half
    return min(max(start, lo), hi - width + 1), width


def settle(sources: Sources, rate: float, result: Correlation, *, ops, ref: int, normalize: bool,
           block: int | None = None, progress=None, settled: dict | None = None) -> Correlation:
    """Each pair's delay found again in its :func:`canonical_window`, by the block form at the full rate.

    The whole range (one transform or coarse to fine) and a lag window
    estimate the correlation differently, and an early arrival near half
    the strongest may count as strong in one and not in the other. Settled
    in the same window by the same computation, both give the same delay.
    The confidence (and its rival) stay those of the wide search, which
    saw every lag. Where the window's strongest arrival is more than a
    cluster from the wide search's (it shows another event), the wide
    search's answer stands. A window no wider than the canonical one is left as it is,
    and so is a pair whose delay was found in the canonical window of its
    strongest arrival already (``settled``: channel to window start).
    """
    lo, hi = result.lo, result.hi
    cluster, _ = cluster_sizes(rate, 1 << 62)
    pairs = list(result.pairs)
    todo = {}
    for p in pairs:
        strongest = p.lag if p.strongest_lag is None else p.strongest_lag
        start, width = canonical_window(strongest, lo, hi, rate)
        if width < hi - lo + 1 and (settled or {}).get(p.channel) != start:
            todo[p.channel] = start
    for _ in range(2):  # again where the settled strongest arrival falls in another window
        if not todo:
            break
        width = canonical_window(0, lo, hi, rate)[1]
        found = _fine_rows(sources, ops, rate, result, ref, normalize, width, list(todo.items()), progress)
        again = {}
        for (channel, start), estimate in zip(todo.items(), found):
            old = pairs[channel]
            before = old.lag if old.strongest_lag is None else old.strongest_lag
            if estimate is None or abs(_strongest(estimate) - before) > cluster:
                continue  # the window shows another event as the strongest: the wide search's answer stands
            pairs[channel] = dataclasses.replace(estimate, confidence=old.confidence, runner_up_lag=old.runner_up_lag,
                                                 at_edge=estimate.at_edge and estimate.lag in (lo, hi))
            strongest = _strongest(estimate)
            if canonical_window(strongest, lo, hi, rate)[0] != start:
                again[channel] = canonical_window(strongest, lo, hi, rate)[0]
        todo = again
    return dataclasses.replace(result, pairs=tuple(pairs), notes=result.notes)


def _strongest(estimate) -> int:
    return estimate.lag if estimate.strongest_lag is None else estimate.strongest_lag


def _fine_rows(sources, ops, rate, result, ref, normalize, width, rows, progress):
    """One full-rate pass: the estimate of each ``(channel, start)`` row over lags ``start..start + width - 1``."""
    size = ops.next_fast_len(max(_MIN_BLOCK, 4 * width) + width - 1)  # the same blocks for every search
    length = size - width + 1
    streaming = ops if size >= THREADED_FROM else ops.with_threads(1)
    a = FrameWindow(sources.open_a(), sources.channels_a)
    streams = [(FrameWindow(sources.open_b(), sources.channels_b), channel, start) for channel, start in rows]
    cross, auto_a, auto_b = window_rows_spectra(streaming, a, streams, ref, width, size, length, result.method,
                                                progress, 0, sources.frames_a, rate)
    if normalize:
        for stream, _, _ in streams:
            stream.drain()
    found = []
    for r, (channel, start) in enumerate(rows):
        estimate, _ = _row_estimate(ops, result.method, normalize, result.refine, rate, ref, channel,
                                    sources.frames_a, sources.frames_b, result.min_lag, start, width, size, cross[r],
                                    auto_a, None if auto_b is None else auto_b[r], float(a.energy[ref]),
                                    float(streams[r][0].energy[channel]),
                                    # the wide search's polarity: a window's own GCC-PHAT may point the other way
                                    polarity=result.pairs[channel].polarity)
        found.append(estimate)
    return found
