"""Sample-rate conversion of signals and impulse responses (polyphase)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import UsageError
from ..signal import check_same_rate

__all__ = ["resample", "resample_ratio", "ir_at_rate"]


def resample_ratio(rate_from: float, rate_to: float, max_denominator: int = 10_000) -> tuple[int, int]:
    """``(up, down)`` integers with ``up / down == rate_to / rate_from`` (as close as possible).

    Examples
    --------
    >>> resample_ratio(44100, 48000)
    (160, 147)
    """
    if not (rate_from > 0 and rate_to > 0):
        raise UsageError(f"sample rates must be positive, got {rate_from:g} Hz and {rate_to:g} Hz")
    ratio = Fraction(rate_to) / Fraction(rate_from)
    ratio = ratio.limit_denominator(max_denominator)
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
    if impulse_response:
        # resample_poly's default filter reaches 10 * max(up, down) samples
        # either side at the up-sampled rate; keep the ringing past the end
        half_length = -(-10 * max(up, down) // up) + 1
        x = np.concatenate([x, np.zeros((half_length, *x.shape[1:]), dtype=x.dtype)])
    y = resample_poly(x, up, down, axis=0)
    if impulse_response:
        y *= down / up
    return y.astype(x.dtype, copy=False)


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
