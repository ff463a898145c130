"""Where a correlation function peaks: sub-sample refinement and a confidence measure.

A correlation is computed at whole-sample lags. Two refinements estimate
the position of its maximum between samples:

``parabolic``
    The vertex of the parabola through the largest value and its two
    neighbours. Cheap, but biased towards the nearest whole lag for sharp
    peaks (a GCC-PHAT peak is a sinc, not a parabola: errors of 0.1-0.2
    samples are typical).
``bandlimited``
    The maximum of the band-limited (trigonometric) interpolant of the
    correlation, the function whose samples the computed values are. It is
    evaluated exactly from the correlation's spectrum, and its maximum is
    found by Newton's method on the analytic first and second derivatives
    (with steps halved until the value rises), starting from the parabolic
    estimate.

The confidence of a peak is its height over the largest magnitude of the
correlation outside the peak's neighbourhood (see :func:`peak_confidence`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError

__all__ = [
    "REFINEMENTS",
    "GUARD_SAMPLES",
    "MAX_LOBE",
    "parabolic_offset",
    "bandlimited_value",
    "bandlimited_peak",
    "PeakConfidence",
    "peak_confidence",
    "check_refine",
]

#: Sub-sample refinements, best first.
REFINEMENTS = ("bandlimited", "parabolic", "none")

#: Half-width in samples of the smallest neighbourhood of a peak that the
#: confidence measure leaves out. The sidelobes of a band-limited peak (a
#: sinc) fall below 1/(8 pi), 4% of its height, by then.
GUARD_SAMPLES = 8

#: The main lobe of a peak is followed at most this many samples either side.
MAX_LOBE = 1 << 16

_CHUNK = 1 << 18  # spectrum bins evaluated at a time (bounds temporary memory)
_NEWTON_STEPS = 20


def check_refine(refine: str) -> str:
    """Return ``refine`` if it names a refinement, else raise :class:`UsageError`."""
    if refine not in REFINEMENTS:
        raise UsageError(f"unknown refinement {refine!r}; choose one of: {', '.join(REFINEMENTS)}")
    return refine


def parabolic_offset(left: float, centre: float, right: float) -> float:
    """Offset in samples, within [-0.5, 0.5], of the vertex of the parabola through three values.

    ``centre`` should be the largest of the three; where the three values
    do not bend downwards the offset is 0.

    Examples
    --------
    >>> parabolic_offset(0.5, 1.0, 0.5)
    0.0
    >>> round(parabolic_offset(0.0, 1.0, 1.0), 3)
    0.5
    """
    curvature = left - 2.0 * centre + right
    if not curvature < 0:
        return 0.0
    return float(min(0.5, max(-0.5, 0.5 * (left - right) / curvature)))


def _terms(spectrum: np.ndarray, size: int, t: float):
    """Yield ``(weights, omega, z)`` per chunk of bins, with ``z = X_q exp(j omega_q t)``.

    The phase ``omega_q t`` is reduced modulo 2 pi in integer arithmetic,
    so that it stays exact for long transforms and large ``t``.
    """
    whole = math.floor(t)
    frac = t - whole
    whole %= size
    bins = spectrum.shape[0]
    nyquist = size // 2 if size % 2 == 0 else -1
    for start in range(0, bins, _CHUNK):
        q = np.arange(start, min(bins, start + _CHUNK), dtype=np.int64)
        turns = ((q * whole) % size + q * frac) / size
        z = spectrum[start : start + q.size] * np.exp(2j * np.pi * turns)
        weights = np.full(q.size, 2.0)
        if start == 0:
            weights[0] = 1.0
        if q[-1] == nyquist:
            weights[-1] = 1.0
            # irfft keeps only the real part of the Nyquist bin
            z[-1] = spectrum[nyquist].real * np.exp(2j * np.pi * turns[-1])
        yield weights, 2.0 * np.pi * q / size, z


def bandlimited_value(spectrum: np.ndarray, size: int, t: float) -> float:
    """Value at (fractional) sample ``t`` of the periodic band-limited sequence whose rfft is ``spectrum``.

    At whole ``t`` it equals ``scipy.fft.irfft(spectrum, size)[t % size]``.

    Examples
    --------
    >>> from scipy import fft
    >>> x = np.array([0.0, 1.0, 3.0, 1.0, 0.0, 0.0])
    >>> round(bandlimited_value(fft.rfft(x), 6, 2.0), 12)
    3.0
    """
    return float(sum(np.dot(w, z.real) for w, _, z in _terms(spectrum, size, t)) / size)


def _derivatives(spectrum, size, t):
    value = first = second = 0.0
    for w, omega, z in _terms(spectrum, size, t):
        value += np.dot(w, z.real)
        first -= np.dot(w * omega, z.imag)
        second -= np.dot(w * omega * omega, z.real)
    return value / size, first / size, second / size


def bandlimited_peak(spectrum: np.ndarray, size: int, index: int, start: float | None = None):
    """The maximum of the band-limited interpolant within one sample of ``index``.

    Parameters
    ----------
    spectrum : numpy.ndarray
        rfft (length ``size // 2 + 1``) of the real periodic sequence.
    size : int
        Length of that sequence.
    index : int
        Position of its largest sample.
    start : float, optional
        Where Newton's method starts (default ``index``).

    Returns
    -------
    tuple of float, or None
        ``(position, value)``, or None where the interpolant has no
        maximum within one sample of ``index`` (then use the parabola).

    Examples
    --------
    A periodic sinc (the band-limited peak) centred between samples, at 20.3:

    >>> spectrum = np.exp(-2j * np.pi * np.arange(33) * 20.3 / 64)
    >>> spectrum[32] = 0
    >>> position, value = bandlimited_peak(spectrum, 64, 20)
    >>> round(position, 9), round(value, 9)
    (20.3, 0.984375)
    """
    t = float(index if start is None else start)
    value, first, second = _derivatives(spectrum, size, t)
    for _ in range(_NEWTON_STEPS):
        # Newton's step where the interpolant bends down, else a short climb; halved until it climbs
        step = -first / second if second < 0 else math.copysign(0.25, first)
        step = min(0.5, max(-0.5, step))
        while True:
            new = min(index + 1.0, max(index - 1.0, t + step))
            new_value, new_first, new_second = _derivatives(spectrum, size, new)
            if new_value >= value - 1e-13 * abs(value) or abs(step) < 1e-9:
                break
            step /= 2
        converged = abs(new - t) < 1e-10
        t, value, first, second = new, new_value, new_first, new_second
        if converged:
            break
    if not second < 0 or abs(t - index) >= 1.0:
        return None
    return float(t), float(value)


@dataclass(frozen=True)
class PeakConfidence:
    """How clearly a peak stands out.

    Attributes
    ----------
    confidence : float or None
        Peak height over the largest magnitude outside its neighbourhood;
        ``inf`` where everything outside is exactly zero, None where the
        search window holds nothing outside the neighbourhood.
    runner_up : int or None
        Index of that largest value outside the neighbourhood.
    first, last : int
        The neighbourhood left out (inclusive indices).
    """

    confidence: float | None
    runner_up: int | None
    first: int
    last: int


def _largest_magnitude(values, allowed, start, stop):
    """``(max |values[i]|, i)`` over allowed ``i`` in ``[start, stop)``, in chunks; ``(-1, None)`` if none."""
    best, where = -1.0, None
    for i in range(start, stop, _CHUNK):
        j = min(stop, i + _CHUNK)
        magnitude = np.abs(values[i:j])
        if allowed is not None:
            magnitude[~allowed[i:j]] = -1.0
        k = int(np.argmax(magnitude))
        if magnitude[k] > best:
            best, where = float(magnitude[k]), i + k
    return best, where


def peak_confidence(values: np.ndarray, index: int, allowed: np.ndarray | None = None,
                    guard: int = GUARD_SAMPLES) -> PeakConfidence:
    """Height of the peak at ``index`` over the largest ``|value|`` outside its neighbourhood.

    The neighbourhood is the peak's main lobe (from the peak outwards to
    the first local minimum on either side, looking at most
    :data:`MAX_LOBE` samples away), widened to at least ``guard`` samples
    either side. A ratio near 1 means another lag correlates about as
    well, so the peak is no evidence of a delay; uncorrelated noise gives
    1.0-1.3.

    Parameters
    ----------
    values : numpy.ndarray
        The correlation at consecutive lags.
    index : int
        Position of the peak in ``values``.
    allowed : numpy.ndarray of bool, optional
        Positions that take part in the search (others are ignored).
    guard : int
        Smallest half-width of the neighbourhood.

    Examples
    --------
    >>> r = np.array([0.1, -0.2, 0.0, 0.3, 1.0, 0.4, 0.0, 0.1, 0.25, 0.0, 0.05])
    >>> peak_confidence(r, 4, guard=2).confidence
    4.0
    """
    values = np.asarray(values)
    n = values.shape[0]
    reach = max(0, index - MAX_LOBE)
    rising = np.flatnonzero(np.diff(values[reach : index + 1]) <= 0)
    left = reach + int(rising[-1]) + 1 if rising.size else reach
    falling = np.flatnonzero(np.diff(values[index : index + MAX_LOBE + 1]) >= 0)
    right = index + int(falling[0]) if falling.size else min(n - 1, index + MAX_LOBE)
    first, last = max(0, min(left, index - guard)), min(n - 1, max(right, index + guard))
    before = _largest_magnitude(values, allowed, 0, first)
    after = _largest_magnitude(values, allowed, last + 1, n)
    second, runner_up = max(before, after, key=lambda pair: pair[0])
    if runner_up is None:
        return PeakConfidence(None, None, first, last)
    height = float(values[index])
    confidence = math.inf if second == 0 and height > 0 else (height / second if second > 0 else 0.0)
    return PeakConfidence(confidence, runner_up, first, last)
