"""Delays of windows of A in B for the drift fit: whole-range proposals at a coarse rate, peaks near a line.

Three operations; the transforms run on the backend's array operations (``ops``):

:func:`decimate`
    Signals brought to a rate ``factor`` times lower (a polyphase low-pass
    on the host), so that a window can be searched against the whole of B
    cheaply.
:func:`proposals`
    Each window's best few lags over a whole lag range: the ``count``
    highest peaks of its correlation with B, at least ``radius`` lags apart
    (a peak smeared by drift, or a direct path and its early reflections,
    is one proposal, not several).
:func:`band_peaks`
    One window's peak in a narrow band of lags per *row* (a channel of B
    and where its band starts), with the window's drift removed: the window
    is cut into blocks over which the delay moves by at most a quarter
    sample, and each block's cross spectrum is shifted back by its expected
    extra delay before they are summed (without that, a drift of ``s``
    smears the peak over ``s * frames`` lags). Its confidence leaves out
    ``guard`` lags either side of the peak, so what is left of a smear is
    not its own rival.

Signals arrive and results leave as host NumPy arrays; the correlation
values come back with ``ops.to_host`` to find their peaks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..compute.frames import zero_padded_slice
from .peaks import bandlimited_peak, bandlimited_value, parabolic_offset, peak_confidence
from .spectra import CurveMaker, constant_check

__all__ = ["BandRow", "BandPeak", "decimation_factor", "decimate", "proposals", "band_peaks", "top_peaks",
           "window_lags"]

_SMOOTH = (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 18, 20, 24, 25, 27, 30, 32, 36, 40, 45, 48, 50, 54, 60, 64, 72,
           75, 80, 81, 90, 96, 100, 108, 120, 125, 128)


def decimation_factor(frames: int, window: int, rate: float, target: int, min_window: int = 512,
                      lowest_rate: float = 800.0) -> int:
    """The 5-smooth factor that brings ``frames`` (A and B together) near ``target`` samples.

    It keeps at least ``min_window`` samples in a window of ``window``
    frames and, where ``rate`` is in Hz (above 1), a rate of at least
    ``lowest_rate``.

    Examples
    --------
    >>> decimation_factor(19_200_000, 160_000, 16000.0, 1 << 21)
    10
    >>> decimation_factor(640_000, 16_000, 8000.0, 1 << 21)
    1
    """
    wanted = frames / target
    largest = window / min_window
    if rate > 1:
        largest = min(largest, rate / lowest_rate)
    best = 1
    for factor in _SMOOTH:
        if factor > largest:
            break
        best = factor
        if factor >= wanted:
            break
    return best


def decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """``(frames, channels)`` host array brought to a ``factor`` times lower rate.

    A short polyphase low-pass (``scipy.signal.upfirdn``, Kaiser-windowed,
    ``16 * factor + 1`` taps, cut off at 0.8 of the new Nyquist frequency)
    on the host: it costs 17 multiplications per output sample, far less
    than one transform of the signal, and the search it serves needs no
    more. The result has ``ceil(frames / factor)`` frames; sample ``k`` is
    at ``x``'s frame ``k * factor``.

    Examples
    --------
    >>> t = np.arange(4000)
    >>> x = np.sin(2 * np.pi * t / 400)[:, None]
    >>> y = decimate(x, 4)
    >>> y.shape, bool(np.abs(y[100:-100, 0] - x[400:-400:4, 0]).max() < 1e-2)
    ((1000, 1), True)
    """
    if factor == 1:
        return x
    from scipy.signal import firwin, upfirdn

    half = 8 * factor
    h = firwin(2 * half + 1, 0.8 / factor, window=("kaiser", 6.0))
    frames = -(-x.shape[0] // factor)
    return upfirdn(h, x, 1, factor, axis=0)[half // factor : half // factor + frames]


def top_peaks(values: np.ndarray, count: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and heights of the ``count`` highest peaks of ``values``, each ``radius`` or more from a higher one.

    Examples
    --------
    >>> r = np.array([0.0, 5, 4.9, 0, 0, 3, 0, 0, 0, 4])
    >>> top_peaks(r, 2, 2)[0].tolist()
    [1, 9]
    """
    work = np.array(values, dtype=np.float64)
    indices, heights = [], []
    for _ in range(count):
        k = int(np.argmax(work))
        if not np.isfinite(work[k]):
            break
        indices.append(k)
        heights.append(float(values[k]))
        work[max(0, k - radius) : k + radius + 1] = -np.inf
    return np.array(indices, dtype=np.int64), np.array(heights)


def _refined(values: np.ndarray, k: int) -> float:
    if 0 < k < values.shape[0] - 1:
        return k + parabolic_offset(values[k - 1], values[k], values[k + 1])
    return float(k)


def _chunk_frames(frames: int) -> int:
    """Frames of B per chunk of :func:`proposals`: a few windows long (the transform is a few times ``frames``)."""
    return max(4 * frames, 1 << 14)


def proposals(ops, a: np.ndarray, b: np.ndarray, starts, frames: int, lo: int, hi: int, method: str, count: int,
              radius: int):
    """Each window's best lags over ``lo..hi``: a list, per start, of ``(lags, heights)`` or None.

    ``a`` and ``b`` are host 1-D arrays; window ``i`` is
    ``a[starts[i] : starts[i] + frames]``; a lag is a delay (``b[n + lag]``
    pairs with ``a[n]``), refined by a parabola. A window that is silent
    or constant proposes nothing (None).

    B is cut into chunks of ``L`` frames (plus ``frames - 1`` of overlap)
    whose spectra are computed once; a window's correlation with chunk
    ``c`` gives its delays ``c L - start ... c L - start + L - 1``. So each
    window costs one transform of its own and one inverse per chunk its
    lags reach, however long B is.
    """
    length = _chunk_frames(frames)
    size = ops.next_fast_len(length + frames - 1)
    first_needed = max(0, min(starts) + lo) // length if len(starts) else 0
    last_needed = min(b.shape[0] - 1, max(starts) + hi + frames - 1) // length if len(starts) else -1
    chunks = range(first_needed, last_needed + 1)
    spectra_b = ops.zeros((len(chunks), size // 2 + 1), np.complex128)
    live = np.zeros(len(chunks), bool)
    for row, c in enumerate(chunks):
        piece = zero_padded_slice(b[:, None], c * length, c * length + length + frames - 1)[:, 0]
        live[row] = np.ptp(piece) > 0
        spectra_b[row] = ops.rfft(ops.to_device(piece), size)
    auto_b = spectra_b.real ** 2 + spectra_b.imag ** 2 if method == "scot" else None
    maker = CurveMaker(ops, method, size, 0, length - 1)
    out = []
    for start in starts:
        segment = a[start : start + frames]
        first = max(chunks.start, (start + lo) // length) if chunks else 0
        last = min(chunks.stop - 1, (start + hi) // length) if chunks else -1
        rows = [r for r in range(first - chunks.start, last - chunks.start + 1) if live[r]]
        if np.ptp(segment) == 0 or not rows:
            out.append(None)
            continue
        spectrum_a = ops.rfft(ops.to_device(segment), size)
        auto_a = spectrum_a.real ** 2 + spectrum_a.imag ** 2 if method == "scot" else None
        cross = spectra_b[rows[0] : rows[-1] + 1] * spectrum_a.conj()
        for k, r in enumerate(range(rows[0], rows[-1] + 1)):
            maker.weight(cross[k], auto_a, None if auto_b is None else auto_b[r])
        values = ops.to_host(ops.irfft(cross, size, axis=-1)[:, :length]).reshape(-1)
        first_lag = (chunks.start + rows[0]) * length - start  # the delay of values[0]
        keep_lo, keep_hi = max(lo, first_lag), min(hi, first_lag + values.size - 1)
        values = values[keep_lo - first_lag : keep_hi - first_lag + 1]
        indices, heights = top_peaks(values, count, radius)
        lags = np.array([keep_lo + _refined(values, int(k)) for k in indices])
        out.append((lags, heights))
    return out


@dataclass(frozen=True)
class BandRow:
    """One band :func:`band_peaks` searches: delays ``lo..lo + width - 1`` of B's ``channel``.

    ``slope`` is the change of the delay per frame of A expected within the
    window (the drift to remove; 0 for none).
    """

    channel: int
    lo: int
    slope: float = 0.0


@dataclass(frozen=True)
class BandPeak:
    """The peak of one band: its lag (refined), height, confidence, and whether it lies at the band's edge."""

    delay: float
    peak: float
    confidence: float | None
    at_edge: bool


def _peak(values, spectrum, size, refine, guard, exact_height) -> BandPeak:
    n = values.shape[0]
    index = int(np.argmax(values))
    rated = peak_confidence(values, index, guard=guard)
    at_edge = index == 0 or index == n - 1
    delay, height = float(index), float(values[index])
    if refine != "none" and not at_edge:
        delay = index + parabolic_offset(values[index - 1], values[index], values[index + 1])
        if refine == "bandlimited":
            found = bandlimited_peak(spectrum, size, index, start=delay)
            if found is not None:
                delay, height = found
        elif exact_height:
            height = bandlimited_value(spectrum, size, delay)
    return BandPeak(delay, height, rated.confidence, at_edge)


def band_peaks(ops, a: np.ndarray, b: np.ndarray, start: int, frames: int, rows, width: int, method: str,
               refine: str, guard: int, smear: float = 0.25, exact_height: bool = False) -> list:
    """The peak of ``a[start : start + frames]`` against B in each row's band of lags, drift removed.

    Parameters
    ----------
    ops : ArrayOps
        The backend's array operations.
    a : numpy.ndarray
        1-D host array: A's reference channel.
    b : numpy.ndarray
        ``(frames, channels)`` host array.
    start, frames : int
        The window of A.
    rows : sequence of BandRow
        The bands (their lags count from the window's start).
    width : int
        Lags per band (delays: ``b[n + lag]`` pairs with ``a[n]``).
    method, refine : str
        As for :func:`sigconv.correlate`.
    guard : int
        Smallest half-width of the neighbourhood of a peak that its confidence leaves out.
    smear : float
        How far (lags) the delay may move within one block of the window:
        blocks are as long as that allows (``smear / |slope|`` frames, at least 64).
    exact_height : bool
        With ``refine="parabolic"``: the height is the band-limited
        interpolant's at the parabola's vertex (one evaluation, not Newton's
        method), so that peaks between samples compare fairly with peaks on them.

    Returns
    -------
    list of BandPeak or None
        Per row; None where that part of B is silent or constant.

    Raises
    ------
    NoCorrelationPeakError
        The window of A is silent or constant.
    """
    xp = ops.xp
    segment = a[start : start + frames]
    constant_check(segment, f"A from frame {start}")
    extended = np.stack([zero_padded_slice(b, start + row.lo, start + row.lo + frames + width - 1)[:, row.channel]
                         for row in rows])
    live = [np.ptp(row) > 0 for row in extended]
    segment, extended = ops.to_device(segment), ops.to_device(extended)
    steepest = max(abs(row.slope) for row in rows)
    length = frames if steepest * frames <= smear else max(64, int(smear / steepest))
    size = ops.next_fast_len(length + width - 1)
    turns = xp.arange(size // 2 + 1) / size
    cross = ops.zeros((len(rows), turns.size), np.complex128)
    auto_a = ops.zeros(turns.size) if method == "scot" else None
    auto_b = ops.zeros(cross.shape) if method == "scot" else None
    centre = (frames - 1) / 2
    for first in range(0, frames, length):
        n = min(length, frames - first)
        spectrum_a = ops.rfft(segment[first : first + n], size)
        spectra_b = ops.rfft(extended[:, first : first + n + width - 1], size, axis=-1)
        if auto_a is not None:
            auto_a += spectrum_a.real ** 2 + spectrum_a.imag ** 2
            auto_b += spectra_b.real ** 2 + spectra_b.imag ** 2
        spectra_b *= spectrum_a.conj()
        shift = first + (n - 1) / 2 - centre
        if length < frames:
            for r, row in enumerate(rows):
                if row.slope:
                    spectra_b[r] *= xp.exp(2j * np.pi * turns * (row.slope * shift))
        cross += spectra_b
    maker = CurveMaker(ops, method, size, 0, width - 1)
    out = []
    for r, row in enumerate(rows):
        if not live[r]:
            out.append(None)
            continue
        spectrum = maker.weight(cross[r], auto_a, None if auto_b is None else auto_b[r])
        values, spectrum = maker.values(spectrum, keep_spectrum=refine == "bandlimited" or exact_height)
        p = _peak(values, spectrum, size, refine, guard, exact_height)
        out.append(BandPeak(row.lo + p.delay, p.peak, p.confidence, p.at_edge))
    return out


def window_lags(lo: int, hi: int, centre: float, half_width: int) -> tuple[int, int]:
    """The band ``centre +- half_width`` (whole lags), moved inside ``lo..hi`` (and cut to it where wider).

    Examples
    --------
    >>> window_lags(-100, 100, 98.4, 10)
    (80, 100)
    """
    width = min(2 * half_width + 1, hi - lo + 1)
    first = int(math.floor(centre)) - half_width
    first = min(max(first, lo), hi - width + 1)
    return first, first + width - 1

