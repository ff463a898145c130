"""Sample-rate conversion of signals and impulse responses (polyphase)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import UsageError
from ..limits import ARRAY_MEMORY_FACTOR, check_frames, check_memory
from ..signal import check_same_rate

__all__ = ["MAX_RESAMPLE_FACTOR", "resample", "resample_ratio", "ir_at_rate"]


#: Largest up- or down-sampling factor of one conversion: the polyphase
#: filter has ``20 * factor + 1`` taps, so 2^20 (1 Hz to 1 MHz) is about
#: 21 million of them.
MAX_RESAMPLE_FACTOR = 1 << 20


def resample_ratio(rate_from: float, rate_to: float, max_denominator: int = 10_000) -> tuple[int, int]:
    """``(up, down)`` integers with ``up / down == rate_to / rate_from`` (as close as possible).

    The exact ratio is used where both its terms are at most
    :data:`MAX_RESAMPLE_FACTOR` (every pair of whole rates up to 1 MHz),
    else the closest one whose denominator is at most ``max_denominator``.

    Raises
    ------
    UsageError
        A rate that is not positive and finite, or rates so far apart that
        one conversion cannot bridge them.

    Examples
    --------
    >>> resample_ratio(44100, 48000)
    (160, 147)
    >>> resample_ratio(48000, 2)
    (1, 24000)
    """
    if not (0 < rate_from < math.inf and 0 < rate_to < math.inf):
        raise UsageError(f"sample rates must be positive and finite, got {rate_from:g} Hz and {rate_to:g} Hz")
    from fractions import Fraction  # here: it imports decimal, 5 ms of every convolve's start-up

    ratio = Fraction(rate_to) / Fraction(rate_from)
    if max(ratio.numerator, ratio.denominator) > MAX_RESAMPLE_FACTOR:
        ratio = ratio.limit_denominator(max_denominator)
    if ratio == 0 or max(ratio.numerator, ratio.denominator) > MAX_RESAMPLE_FACTOR:
        raise UsageError(f"cannot resample from {rate_from:g} Hz to {rate_to:g} Hz: the rates differ by more than "
                         f"a factor of {MAX_RESAMPLE_FACTOR}; resample in steps, or make the signals at closer rates")
    return ratio.numerator, ratio.denominator


def resample(x: np.ndarray, rate_from: float, rate_to: float, *, impulse_response: bool = False) -> np.ndarray:
    """Resample ``x`` along axis 0 from ``rate_from`` to ``rate_to`` Hz.

    Uses ``scipy.signal.resample_poly`` (a Kaiser-windowed polyphase FIR),
    which keeps the amplitude of band-limited signals.

    Parameters
    ----------
    x : numpy.ndarray
        ``(frames,)`` or ``(frames, channels)``.
    rate_from, rate_to : float
        Current and wanted sample rates in Hz.
    impulse_response : bool, optional
        Treat ``x`` as an impulse response: also scale by
        ``rate_from / rate_to`` so that the filter's frequency response
        (its gain) is unchanged. An IR has one sample per period, so at a
        higher rate the same continuous response spans more samples and
        each must weigh less. The IR is also extended by the
        interpolation filter's half-length so that its end is not cut.

    Returns
    -------
    numpy.ndarray
        About ``len(x) * rate_to / rate_from`` frames, same dtype.

    Raises
    ------
    UsageError
        Rates that are not positive and finite or too far apart
        (:func:`resample_ratio`), or a result too long to hold
        (beyond :data:`sigconv.limits.MAX_FRAMES` or the memory budget).

    Examples
    --------
    >>> dirac = np.zeros(64); dirac[32] = 1.0
    >>> round(float(resample(dirac, 44100, 48000, impulse_response=True).sum()), 3)
    1.0
    """
    from scipy.signal import resample_poly

    up, down = resample_ratio(rate_from, rate_to)
    if up == down:
        return x.copy()
    _check_size(x, up, down, rate_from, rate_to)
    if impulse_response:
        # resample_poly's default filter reaches 10 * max(up, down) samples
        # either side at the up-sampled rate; keep the ringing past the end
        half_length = -(-10 * max(up, down) // up) + 1
        x = np.concatenate([x, np.zeros((half_length, *x.shape[1:]), dtype=x.dtype)])
    y = resample_poly(x, up, down, axis=0)
    if impulse_response:
        y *= down / up
    return y.astype(x.dtype, copy=False)


def _check_size(x: np.ndarray, up: int, down: int, rate_from: float, rate_to: float) -> None:
    """Refuse a resampling whose result is longer than the frame limit or would not fit in memory."""
    what = f"the signal resampled from {rate_from:g} to {rate_to:g} Hz"
    remedy = "resample to a lower rate, or use a shorter signal"
    frames = check_frames(x.shape[0] * up / down, what, remedy, rate_to)
    channels = x.shape[1] if x.ndim == 2 else 1
    check_memory(float(max(frames, x.shape[0])) * channels, ARRAY_MEMORY_FACTOR, what, remedy)


def ir_at_rate(ir, rate: float, resample_ir: bool) -> np.ndarray:
    """The samples of the IR :class:`~sigconv.signal.Signal` ``ir`` at ``rate``.

    Raises
    ------
    IncompatibleSignalsError
        The rates differ and ``resample_ir`` is false.
    """
    if ir.rate == rate:
        return ir.data
    if not resample_ir:
        check_same_rate(rate, ir.rate, ("the input", "the impulse response"),
                        "resample one of them first, or pass --resample to resample the IR to the input's rate")
    return resample(ir.data, ir.rate, rate, impulse_response=True)
