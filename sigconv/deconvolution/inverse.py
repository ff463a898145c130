"""Regularised inverse filters: the FIR that undoes a kernel, and the kernel's deep nulls.

``wiener`` and ``tikhonov`` deconvolution both apply

.. math:: G(f) = \\frac{H^*(f)}{|H(f)|^2 + \\lambda(f)}

to the signal: ``λ = S_n / S_x`` (the noise-to-signal power ratio) for
Wiener, a constant or band-shaped λ for Tikhonov/Kirkeby. ``G`` is the
spectrum of an infinite, two-sided impulse response; :func:`design_inverse`
samples it on a grid of ``N`` bins, shifts the result by a modelling delay
of ``N / 2`` samples (so its anti-causal half comes first), tapers its
ends and returns an ``N``-tap FIR that the streaming convolution engine
can run. ``N`` starts at four kernel lengths and doubles while the
truncation still changes the result by more than :data:`TRUNCATION_LIMIT`.

The formula itself is :func:`sigconv.compute.inverses.regularised_inverse`,
which the sweep deconvolution of :mod:`sigconv.impulse.measure` uses too. Every array is
allocated and transformed through the backend's
:class:`~sigconv.compute.ops.ArrayOps`: the kernel enters with
``to_device`` and only the finished taps leave with ``to_host``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..compute.inverses import regularised_inverse
from ..compute.memory import release_fft_plans, release_free_memory

__all__ = [
    "NULL_DEPTH_DB",
    "OUT_OF_BAND_REG",
    "TRUNCATION_LIMIT",
    "InverseFilter",
    "design_inverse",
    "kirkeby_profile",
    "longest_inverse",
    "null_message",
    "spectral_nulls",
]

#: A kernel's response this many dB below its peak is a deep null: what it
#: carries is 60 dB under the rest, below the noise floor of most recordings.
NULL_DEPTH_DB = 60.0
#: Truncation error (a power ratio to the recovered signal) below which the
#: inverse filter is long enough: -70 dB, under the 60 dB of a round trip.
TRUNCATION_LIMIT = 1e-7
#: Kirkeby's λ outside ``--band``, relative to the kernel's mean power gain:
#: there the inverse boosts nothing (|G| <= 1 / (2 sqrt λ) = half the kernel's RMS gain inverted).
OUT_OF_BAND_REG = 1.0
#: Width of the raised-cosine transitions of the Kirkeby profile, in octaves.
TRANSITION_OCTAVES = 1.0 / 3.0
# λ is never below this fraction of the kernel's mean power gain (140 dB):
# G stays finite whatever the kernel, also at exact zeros of H
_LAMBDA_FLOOR = 1e-14
_MIN_TAPS = 1 << 14
# null ranges up to this many bins are notches, named by one frequency
_NARROW_BINS = 16
_MAX_TAPS = 1 << 23

#: ``regularisation(ops, freqs, power, mean_power)``: λ per bin and channel
#: for a grid of frequencies (cycles per sample), the kernel's power
#: ``|H|^2`` on it and its mean power gain ``sum(h**2)`` per channel, all
#: arrays of ``ops.xp`` (and λ one too, or a number).
Regularisation = Callable[..., object]


@dataclass(frozen=True)
class InverseFilter:
    """An FIR that undoes a kernel.

    Attributes
    ----------
    taps : numpy.ndarray
        ``(N, channels)`` impulse response, one column per kernel column.
    delay : int
        Modelling delay: ``signal ⊗ taps`` is the estimate delayed by this many samples.
    routes, out_channels
        The channel layout (see the attributes below); None for one path per channel.
    truncation : float
        Estimated error that the finite length adds to a recovered white
        signal, as a power ratio to it: the difference, seen through the
        kernel, between this filter and the same design twice as long (for
        a filter cut at the longest length allowed: the same difference for
        the filter half as long, an upper bound that spares designing one
        twice as long).
    """

    taps: np.ndarray
    delay: int
    truncation: float
    #: Paths from recording channels through tap columns to output channels
    #: (:class:`~sigconv.compute.routing.Route`); None: column ``c`` (or the
    #: one column) filters channel ``c`` into channel ``c``.
    routes: tuple | None = None
    #: Output channels where ``routes`` are given.
    out_channels: int | None = None

    @property
    def truncation_db(self) -> float:
        """:attr:`truncation` in dB (``-inf`` for none)."""
        return 10 * np.log10(self.truncation) if self.truncation > 0 else -np.inf


def longest_inverse(m: int) -> int:
    """The default longest inverse FIR for an ``m``-tap kernel: 16 kernel lengths, at least 2^20, at most 2^23 taps."""
    return min(max(16 * m, 1 << 20), _MAX_TAPS)


def _initial_size(ops, m: int) -> int:
    return ops.next_fast_len(max(4 * m, _MIN_TAPS))


def _inverse_spectrum(ops, h, regularisation, n):
    """``G = H* / (|H|^2 + λ)`` of the device kernel ``h`` on an ``n``-point grid (in place: grids are long)."""
    xp = ops.xp
    spectrum = xp.empty((n // 2 + 1, h.shape[1]), dtype=xp.complex128)
    for c in range(h.shape[1]):  # one column at a time, as in _fir
        spectrum[:, c] = ops.rfft(h[:, c], n)
    release_free_memory()  # the transforms' padded copies, before λ's grids (--noise: several)
    power = xp.square(spectrum.real)
    power += xp.square(spectrum.imag)
    mean_power = xp.sum(xp.square(h), axis=0)  # Parseval: the mean of |H|^2 over frequency
    freqs = xp.arange(spectrum.shape[0]) / n
    lam = regularisation(ops, freqs, power, mean_power)
    # the floor keeps G finite where H is 0 (power + max(λ, floor) is max(power + λ, power + floor) exactly)
    return regularised_inverse(ops, spectrum, xp.maximum(lam, _LAMBDA_FLOOR * mean_power), power=power)


def _taper(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The faded ends of ``scipy.signal.windows.tukey(n, 0.25, sym=False)``: its first and last eighths.

    The same expressions as scipy's, without importing scipy.signal (40 MB
    of resident memory); between the two ends the window is 1.
    Returns the rise (from sample 0) and the fall (ending at sample ``n - 1``).
    """
    alpha, size = 0.25, n + 1  # sym=False: the symmetric window one longer, its last sample dropped
    width = math.floor(alpha * (size - 1) / 2.0)
    head = np.arange(0, width + 1, dtype=np.float64)
    tail = np.arange(size - width - 1, size - 1, dtype=np.float64)
    rise = 0.5 * (1 + np.cos(np.pi * (-1 + 2.0 * head / alpha / (size - 1))))
    fall = 0.5 * (1 + np.cos(np.pi * (-2.0 / alpha + 1 + 2.0 * tail / alpha / (size - 1))))
    return rise, fall


def _fir(ops, inverse, n: int):
    """The ``n``-tap FIR of an inverse spectrum: delayed by ``n / 2``, the outer eighths faded out."""
    xp = ops.xp
    # column by column, into one array: a transform of all columns at once
    # held two more copies of them (the grids run to millions of taps)
    g = xp.empty((n, inverse.shape[1]), dtype=xp.float64)
    half = n // 2
    for c in range(inverse.shape[1]):
        column = ops.irfft(inverse[:, c], n)
        # xp.roll(column, half) written straight into g: no rolled copy of a grid
        g[half:, c] = column[: n - half]
        g[:half, c] = column[n - half :]
        del column
    head, tail = _taper(n)
    # only the samples the window changes move to the device and multiply
    rise = int(np.flatnonzero(head < 1.0).max(initial=-1)) + 1
    below = np.flatnonzero(tail < 1.0)
    fall = n - tail.shape[0] + (int(below[0]) if below.size else tail.shape[0])
    g[:rise] *= ops.to_device(head[:rise, None])
    g[fall:] *= ops.to_device(tail[tail.shape[0] - (n - fall):, None])
    return g


def _filtered(ops, taps, spectrum, size: int, in_time: bool):
    out = ops.rfft(taps, size, axis=0)
    out *= spectrum
    return ops.irfft(out, size, axis=0) if in_time else out


def _truncation(ops, short, long, h, span: int | None) -> float:
    """The largest :func:`_column_truncation` over the columns, one column at a time (the grids are long)."""
    return max(_column_truncation(ops, short[:, c : c + 1], long[:, c : c + 1], h[:, c : c + 1], span)
               for c in range(short.shape[1]))


def _column_truncation(ops, short, long, h, span: int | None, overwrite: bool = False) -> float:
    """Error power of the FIR ``short`` against one twice as long, through the kernel, relative to the latter.

    With ``e = h ⊗ (short - long)`` (a linear convolution, no time
    aliasing), a white signal of ``span`` samples gets the error power
    ``sum(w(t) e(t)²)`` per sample, where ``t`` is the lag from the
    modelling delay and ``w(t) = max(0, 1 - |t| / span)`` is the share of
    output samples that meet that lag (1 everywhere for an unknown length,
    where the sums are taken over frequency instead: Parseval). All three
    arrays are on the device. With ``overwrite``, ``long`` is used up
    (it becomes the difference): one grid less.
    """
    xp = ops.xp
    n = short.shape[0]
    size = ops.next_fast_len(long.shape[0] + h.shape[0])
    in_time = span is not None and span < size
    if in_time:
        weight = xp.maximum(0.0, 1.0 - xp.abs(xp.arange(size) - n) / max(span, 1))

        def energy(x):
            return weight @ xp.square(x)
    else:  # one-sided spectra: the bins between DC and Nyquist stand for two
        bins = xp.full(size // 2 + 1, 2.0)
        bins[0] = 1.0
        if size % 2 == 0:
            bins[-1] = 1.0

        def energy(x):
            power = xp.abs(x)
            power *= power  # in place: one grid less than abs(x) ** 2
            return bins @ power
    spectrum = ops.rfft(h, size, axis=0)
    # one filtered grid at a time
    recovered = energy(_filtered(ops, long, spectrum, size, in_time))
    difference = xp.negative(long, out=long if overwrite else None)
    del long
    difference[n // 2 : n // 2 + n] += short  # modelling delays n / 2 and n line up
    error = energy(_filtered(ops, difference, spectrum, size, in_time))
    del difference, spectrum
    ratio = error / xp.maximum(recovered, 1e-300)
    return float(xp.max(ratio))


def design_inverse(h: np.ndarray, regularisation: Regularisation, *, span: int | None = None,
                   size: int | None = None, max_size: int | None = None, ops=None) -> InverseFilter:
    """Design the FIR of :math:`G = H^* / (|H|^2 + λ)` for each column of ``h``.

    The length starts at four kernel lengths (at least 2^14 taps) and
    doubles while the filter differs from the same design twice as long
    by more than :data:`TRUNCATION_LIMIT` (seen through the kernel: the
    error this adds to a recovered white signal), up to ``max_size``.
    Kernels whose zeros lie close to the unit circle have slowly decaying
    inverses; more regularisation (a lower SNR, a larger λ) shortens them.

    Parameters
    ----------
    h : numpy.ndarray
        ``(m, channels)`` kernel, float64.
    regularisation : callable
        ``regularisation(ops, freqs, power, mean_power) -> λ``: ``freqs``
        are the bin frequencies in cycles per sample, ``power`` is
        ``(bins, channels)`` ``|H|^2``, ``mean_power`` is ``sum(h**2)`` per
        channel (the mean of ``|H|^2`` over frequency), all arrays of
        ``ops.xp``; λ broadcasts against ``power``. λ is floored at 1e-14
        of the mean power, so ``G`` is finite even where ``H`` is 0.
    span : int, optional
        The signal's length, where known: lags farther than that from the
        modelling delay never meet the signal in the frames kept, so
        their truncation does not count.
    size : int, optional
        Force ``N`` (no doubling).
    max_size : int, optional
        Longest filter returned: default 16 kernel lengths (at least 2^20),
        at most 2^23 taps. The first length (four kernel lengths) is
        returned whatever ``max_size``; one twice as long is still designed
        to measure its truncation.
    ops : ArrayOps, optional
        Where to compute (default: NumPy and scipy.fft on the host). The
        taps come back on the host.

    Returns
    -------
    InverseFilter

    Examples
    --------
    A pure gain of 2 is undone by a gain of 1/2 at the modelling delay:

    >>> inv = design_inverse(np.array([[2.0]]), lambda ops, f, p, mean: 1e-12 * mean, size=64)
    >>> inv.delay, round(float(inv.taps[inv.delay, 0]), 9), inv.truncation < 1e-20
    (32, 0.5, True)
    """
    if ops is None:
        from ..compute.ops import ArrayOps

        ops = ArrayOps()
    m = h.shape[0]
    h = ops.to_device(h)
    n = size or _initial_size(ops, m)
    limit = size or max_size or longest_inverse(m)
    fir = _fir(ops, _inverse_spectrum(ops, h, regularisation, n), n)
    bound = None  # the truncation error of the filter half as long: a bound for this one
    while True:
        if bound is not None and 2 * n > limit:
            return InverseFilter(ops.to_host(fir), n // 2, bound)
        spectrum = _inverse_spectrum(ops, h, regularisation, 2 * n)
        release_free_memory()  # its temporaries, before the transform back adds its own
        if size is not None or 2 * n > limit:
            # the last step (a limit below twice the first length keeps the first): the longer design only
            # measures this one's truncation, so it is made and dropped one column at a time
            columns = [spectrum[:, c : c + 1].copy() for c in range(spectrum.shape[1])]
            del spectrum
            longer = []
            for c in range(fir.shape[1]):
                longer.append(_fir(ops, columns[c], 2 * n))
                columns[c] = None  # each column's spectrum goes once its FIR is made
            # the transforms of 2n points are done: their plan and temporaries go before the longer ones
            release_fft_plans()
            release_free_memory()
            truncation = 0.0
            for c in range(fir.shape[1]):
                truncation = max(truncation, _column_truncation(ops, fir[:, c : c + 1], longer[c], h[:, c : c + 1],
                                                                span, overwrite=True))
                longer[c] = None  # used up
            return InverseFilter(ops.to_host(fir), n // 2, truncation)
        longer = _fir(ops, spectrum, 2 * n)
        del spectrum
        truncation = _truncation(ops, fir, longer, h, span)
        release_free_memory()  # each step's grids are longer than the last's: the freed ones would stay resident
        if truncation <= TRUNCATION_LIMIT:
            return InverseFilter(ops.to_host(fir), n // 2, truncation)
        n, fir, bound = 2 * n, longer, truncation


def kirkeby_profile(reg: float, band: tuple[float, float] | None, rate: float) -> Regularisation:
    """λ(f) of Kirkeby's method: ``reg`` inside ``band``, :data:`OUT_OF_BAND_REG` outside.

    Both are relative to the kernel's mean power gain ``sum(h**2)``, so the
    same values suit a kernel whatever its level. The two levels meet in
    raised-cosine transitions a third of an octave wide, outside the band
    edges (so that the band itself is inverted with ``reg``). A lower edge
    of 0 or an upper edge at or above Nyquist has no transition.

    Examples
    --------
    >>> from sigconv.compute.ops import ArrayOps
    >>> lam = kirkeby_profile(1e-4, (100.0, 1000.0), 8000.0)
    >>> f = np.array([10.0, 500.0, 3000.0]) / 8000.0
    >>> [round(float(v), 9) for v in lam(ArrayOps(), f, np.ones((3, 1)), np.ones(1)).ravel()]
    [1.0, 0.0001, 1.0]
    """
    outside = max(OUT_OF_BAND_REG, reg)

    def regularisation(ops, freqs, power, mean_power):
        if band is None:
            return reg * mean_power
        xp = ops.xp
        hz = freqs * rate
        weight = xp.ones_like(hz)  # 1 in band, 0 far outside
        low, high = band
        width = 2.0 ** TRANSITION_OCTAVES
        if low > 0:
            weight *= _rising(xp, hz, low / width, low)
        if high < rate / 2:
            weight *= 1.0 - _rising(xp, hz, high, high * width)
        profile = outside + (reg - outside) * weight
        return profile[:, None] * mean_power

    return regularisation


def _rising(xp, hz, start: float, stop: float):
    """0 below ``start``, 1 above ``stop``, a raised cosine in log frequency between."""
    position = (xp.log2(xp.maximum(hz, 1e-300)) - np.log2(start)) / (np.log2(stop) - np.log2(start))
    position = xp.clip(position, 0.0, 1.0)
    return 0.5 - 0.5 * xp.cos(np.pi * position)


def spectral_nulls(h: np.ndarray, size: int | None = None, ops=None) -> list[list[tuple[float, float]]]:
    """Frequency ranges where each kernel column is :data:`NULL_DEPTH_DB` below its peak.

    Parameters
    ----------
    h : numpy.ndarray
        ``(m, channels)`` kernel.
    size : int, optional
        Transform length (default: as :func:`design_inverse` starts).
    ops : ArrayOps, optional
        Where the transform runs (default: NumPy and scipy.fft).

    Returns
    -------
    list of list of (float, float)
        For each column, ``(low, high)`` ranges in cycles per sample; a
        notch a few bins wide is named by its deepest bin (``low == high``).

    Examples
    --------
    >>> spectral_nulls(np.array([[1.0], [-1.0]]), size=16)
    [[(0.0, 0.0)]]
    """
    if ops is None:
        from ..compute.ops import ArrayOps

        ops = ArrayOps()
    n = size or _initial_size(ops, h.shape[0])
    ranges = []
    for c in range(h.shape[1]):  # one column at a time: the grid runs to millions of bins
        column = ops.to_host(ops.xp.abs(ops.rfft(ops.to_device(h[:, c]), n)))
        deep = column < column.max() * 10.0 ** (-NULL_DEPTH_DB / 20)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], deep.astype(np.int8), [0]])))
        found = []
        for start, stop in zip(edges[::2], edges[1::2]):
            if stop - start <= _NARROW_BINS:  # a notch: name its deepest bin
                start = start + int(np.argmin(column[start:stop]))
                stop = start + 1
            found.append((float(start / n), float((stop - 1) / n)))
        ranges.append(found)
    return ranges


def _hz(value: float) -> str:
    return f"{value:.0f}" if value >= 1000 else f"{value:.4g}"


def null_message(nulls: list[list[tuple[float, float]]], rate: float | None, limit: int = 6) -> str | None:
    """One line naming the null frequencies of :func:`spectral_nulls`, or None when there are none.

    Examples
    --------
    >>> null_message([[(0.0, 0.0), (0.25, 0.5)]], 8000)
    'the kernel is more than 60 dB below its peak at 0 Hz, 2000-4000 Hz: these frequencies cannot be recovered'
    """
    parts = []
    for channel, ranges in enumerate(nulls):
        if not ranges:
            continue
        unit, scale = (" Hz", rate) if rate else (" cycles/sample", 1.0)
        names = [_hz(lo * scale) + unit if lo == hi else f"{_hz(lo * scale)}-{_hz(hi * scale)}{unit}"
                 for lo, hi in ranges[:limit]]
        if len(ranges) > limit:
            names.append(f"and {len(ranges) - limit} more ranges")
        prefix = f"channel {channel}: " if len(nulls) > 1 else ""
        parts.append(prefix + ", ".join(names))
    if not parts:
        return None
    return (f"the kernel is more than {NULL_DEPTH_DB:g} dB below its peak at {'; '.join(parts)}: "
            "these frequencies cannot be recovered")
