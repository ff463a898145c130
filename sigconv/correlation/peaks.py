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

Recordings of a room hold one event several times: the direct sound, then
early reflections a few milliseconds later, then the reverberation. Their
correlation shows a *cluster* of arrivals around the strongest one, and on
the side of the more reverberant recording a train of weaker echoes.
:func:`arrival_cluster` finds them: the strongest ``|value|`` sets the
polarity; the arrivals within ``cluster`` lags of it are one cluster, whose
*earliest strong arrival* (the first local maximum, away from the echoes'
side, that reaches :data:`STRONG_FRACTION` of the strongest) is the direct
path; and ``echoes`` lags beyond the cluster on the side that holds more
energy are its echoes. Neither the cluster nor its echoes are rivals in
the confidence.
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
    "STRONG_FRACTION",
    "Arrivals",
    "arrival_cluster",
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

#: An arrival of the cluster is strong when it reaches this fraction of the strongest.
STRONG_FRACTION = 0.5

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


def _lobe(values, index, polarity):
    """First and last index of the main lobe of ``polarity * values`` at ``index`` (at most :data:`MAX_LOBE` each way)."""
    n = values.shape[0]
    reach = max(0, index - MAX_LOBE)
    rising = np.flatnonzero(np.diff(polarity * values[reach : index + 1]) <= 0)
    left = reach + int(rising[-1]) + 1 if rising.size else reach
    falling = np.flatnonzero(np.diff(polarity * values[index : index + MAX_LOBE + 1]) >= 0)
    right = index + int(falling[0]) if falling.size else min(n - 1, index + MAX_LOBE)
    return left, right


def peak_confidence(values: np.ndarray, index: int, allowed: np.ndarray | None = None,
                    guard: int = GUARD_SAMPLES, *, leave_out=(), polarity: int = 1) -> PeakConfidence:
    """Height of the peak at ``index`` over the largest ``|value|`` outside its neighbourhood.

    The neighbourhood is the peak's main lobe (from the peak outwards to
    the first local minimum on either side, looking at most
    :data:`MAX_LOBE` samples away), widened to at least ``guard`` samples
    either side, and widened again to cover the ``leave_out`` ranges that
    touch it. A ratio near 1 means another lag correlates about as
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
    leave_out : iterable of (int, int)
        Further ranges of positions (first, last; inclusive) that are no
        rivals: the peak's cluster of arrivals and their echoes
        (:func:`arrival_cluster`).
    polarity : {1, -1}
        -1 rates a negative peak (an inverted B): its height is ``-values[index]``.

    Examples
    --------
    >>> r = np.array([0.1, -0.2, 0.0, 0.3, 1.0, 0.4, 0.0, 0.1, 0.25, 0.0, 0.05])
    >>> peak_confidence(r, 4, guard=2).confidence
    4.0
    >>> peak_confidence(r, 4, guard=2, leave_out=[(7, 9)]).confidence
    10.0
    >>> peak_confidence(-r, 4, guard=2, polarity=-1).confidence
    4.0
    """
    values = np.asarray(values)
    n = values.shape[0]
    left, right = _lobe(values, index, polarity)
    first, last = max(0, min(left, index - guard)), min(n - 1, max(right, index + guard))
    ranges = sorted((max(0, int(a)), min(n - 1, int(b))) for a, b in leave_out if b >= a)
    for a, b in ranges:  # widen the neighbourhood over the ranges that touch it
        if a <= last + 1 and b >= first - 1:
            first, last = min(first, a), max(last, b)
    outside = [(0, first), (last + 1, n)]
    for a, b in ranges:
        if b < first or a > last:  # a range apart from the neighbourhood: split what is outside around it
            split = []
            for lo, hi in outside:
                if b < lo or a >= hi:
                    split.append((lo, hi))
                else:
                    split.extend(part for part in ((lo, a), (b + 1, hi)) if part[1] > part[0])
            outside = split
    second, runner_up = max((_largest_magnitude(values, allowed, lo, hi) for lo, hi in outside if hi > lo),
                            key=lambda pair: pair[0], default=(-1.0, None))
    if runner_up is None:
        return PeakConfidence(None, None, first, last)
    height = float(polarity * values[index])
    confidence = math.inf if second == 0 and height > 0 else (height / second if second > 0 else 0.0)
    return PeakConfidence(confidence, runner_up, first, last)


@dataclass(frozen=True)
class Arrivals:
    """A correlation's strongest peak, the cluster of arrivals around it and its echoes (:func:`arrival_cluster`).

    Attributes
    ----------
    index : int
        The direct path: the cluster's earliest strong arrival.
    strongest : int
        The largest ``|value|``.
    polarity : int
        1, or -1 where the strongest value is negative (B inverted against A).
    first, last : int
        The cluster (inclusive).
    echo_first, echo_last : int
        The echoes left out of the confidence (inclusive; empty when
        ``echo_first > echo_last``).
    echoes_after : bool
        The echoes lie at higher lags (B is the more reverberant recording).
    """

    index: int
    strongest: int
    polarity: int
    first: int
    last: int
    echo_first: int
    echo_last: int
    echoes_after: bool

    @property
    def leave_out(self) -> list[tuple[int, int]]:
        """The ranges that are no rivals of the peak, for :func:`peak_confidence`."""
        return [(self.first, self.last), (self.echo_first, self.echo_last)]


def _energy(values, start, stop):
    start, stop = max(0, start), min(values.shape[0], stop)
    part = values[start:stop]
    return float(np.dot(part, part)) if stop > start else 0.0


def arrival_cluster(values: np.ndarray, allowed: np.ndarray | None = None, *, cluster: int = GUARD_SAMPLES,
                    echoes: int = 0, strong: float = STRONG_FRACTION, earliest: bool = True,
                    strongest: int | None = None, gap: int = 0) -> Arrivals:
    """The strongest peak of ``values``, its cluster of arrivals, their direct path and their echoes.

    Parameters
    ----------
    values : numpy.ndarray
        The correlation at consecutive lags.
    allowed : numpy.ndarray of bool, optional
        Positions that take part in the search.
    cluster : int
        Arrivals within this many lags of the strongest are one cluster.
    echoes : int
        Lags beyond the cluster, on the side whose ``cluster + echoes``
        lags hold more energy, that are its echoes (0: none).
    strong : float
        Fraction of the strongest that an arrival must reach to be the direct path.
    earliest : bool
        Pick the earliest strong arrival (the direct path: the strong
        local maximum farthest from the echoes' side); False keeps the
        strongest (for ``cc``, whose lobes are not separate arrivals).
    strongest : int, optional
        Where the strongest peak is, if already known.
    gap : int
        An earlier arrival lies at least this many lags from the strongest
        (closer maxima are lobes of the strongest peak itself).

    Returns
    -------
    Arrivals

    Examples
    --------
    A direct path at 10, an early reflection stronger than it at 14, echoes after, noise before:

    >>> r = np.zeros(60)
    >>> r[2], r[10], r[14], r[30], r[45] = -0.25, 0.8, 1.0, 0.6, 0.5
    >>> found = arrival_cluster(r, cluster=6, echoes=40)
    >>> found.index, found.strongest, found.polarity, (found.first, found.last), found.echoes_after
    (10, 14, 1, (8, 20), True)
    >>> peak_confidence(r, found.strongest, guard=2, leave_out=found.leave_out).confidence
    4.0
    """
    values = np.asarray(values)
    n = values.shape[0]
    if strongest is None:
        strongest = _largest_magnitude(values, allowed, 0, n)[1]
    top = int(strongest)
    polarity = -1 if values[top] < 0 else 1
    first, last = max(0, top - cluster), min(n - 1, top + cluster)
    after = _energy(values, last + 1, last + 1 + echoes + cluster)
    before = _energy(values, first - echoes - cluster, first)
    echoes_after = after >= before
    if echoes_after:
        echo_first, echo_last = last + 1, min(n - 1, last + echoes)
    else:
        echo_first, echo_last = max(0, first - echoes), first - 1
    index = top
    if earliest and last > first:
        part = polarity * values[first : last + 1]
        level = strong * polarity * values[top]
        inner = part[1:-1]
        peaks = np.flatnonzero((inner >= level) & (inner >= part[:-2]) & (inner >= part[2:])) + 1
        peaks = peaks[np.abs(first + peaks - top) >= gap]
        if allowed is not None:
            peaks = peaks[allowed[first + peaks]]
        if peaks.size:
            index = first + int(peaks[0] if echoes_after else peaks[-1])
            index = min(index, top) if echoes_after else max(index, top)
    return Arrivals(index, top, polarity, first, last, echo_first, echo_last, echoes_after)
