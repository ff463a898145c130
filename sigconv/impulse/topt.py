"""Topt: the reverberation time over the straightest stretch of the energy decay curve.

ISO 3382-1 fixes the evaluation ranges of T20 and T30 (-5 to -25, -5 to
-35 dB). Where the decay is not a single slope (early reflections that
fall fast, coupled volumes, a loudspeaker close to the microphone) those
fixed ranges straddle two slopes and the value describes neither. Topt is
"an 'optimal' decay time based on the slope of the Schroeder curve over a
variable range chosen to yield the best linear fit" (REW's help, *RT60
Graph*, roomeqwizard.com); MATLAB's ``rt60`` (Audio Toolbox) reports a
Topt too. Neither text found gives the search bounds, and ISO 3382 has no
Topt; Angelo Farina's Aurora *Acoustical Parameters* module offers a
user-chosen range (Tuser) instead.

The definition implemented here, its bounds being sigconv's own choices:

* candidate ranges start at every whole dB from -5 to -25 dB
  (:data:`TOPT_STARTS_DB`) and end at every whole dB at least
  :data:`TOPT_MIN_SPAN_DB` (20 dB, a T20's span) below their start;
* the end lies no lower than -65 dB (:data:`TOPT_LOWEST_DB`, the end of
  a full 60 dB range from -5 dB), and on the measured curve: before the
  truncation point (Lundeby's extrapolated tail is a perfect line and
  would always win) and at least 10 dB above the noise floor (ISO
  3382-1, 5.3.3);
* the chosen range is the one whose least-squares line has the lowest
  non-linearity ``xi = 1000 (1 - r**2)`` per mille (ISO 3382-2, Annex
  B.2); ``r**2`` grows with the span for the same scatter, so among
  straight stretches the longest wins;
* Topt is ``-60 / slope`` of that line, reported with its range, and
  flagged like T20 and T30 where ``xi`` still exceeds 10 per mille.

On a single-slope decay Topt equals T20 and T30; on a double slope it
follows the straighter (usually the later, longer) part.
"""

from __future__ import annotations

import math

import numpy as np

from .acoustics import NOISE_MARGIN_DB, DecayFit, decay_time

__all__ = ["TOPT_LOWEST_DB", "TOPT_MIN_SPAN_DB", "TOPT_STARTS_DB", "optimal_decay_time"]

#: Candidate starts of the evaluation range, dB re the EDC's start.
TOPT_STARTS_DB = tuple(-float(d) for d in range(5, 26))
#: Shortest evaluation range, dB.
TOPT_MIN_SPAN_DB = 20.0
#: Lowest end of the evaluation range, dB.
TOPT_LOWEST_DB = -65.0


def _prefix(values: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(values)])


def optimal_decay_time(edc_db: np.ndarray, rate: float, stop: int | None = None, range_db: float = math.inf,
                       ) -> tuple[DecayFit, tuple[float, float] | None]:
    """Topt and its evaluation range (start, end) in dB; see the module's docstring for the definition.

    Parameters
    ----------
    edc_db : numpy.ndarray
        Energy decay curve in dB (:func:`~sigconv.impulse.acoustics.energy_decay`).
    rate : float
        Sample rate in Hz.
    stop : int, optional
        Frames of the measured curve (the truncation point); the range ends before it.
    range_db : float, optional
        Decay range above the noise floor; the range ends 10 dB above the noise.

    Returns
    -------
    (DecayFit, (float, float) or None)
        The fit (``seconds`` None with a ``reason`` where no range of 20 dB
        fits on the measured curve) and the chosen range in dB.

    Examples
    --------
    A decay of 0.5 s down to -15 dB, then of 2 s: Topt follows the second slope.

    >>> t = np.arange(4000) / 1000
    >>> edc = np.where(t < 0.125, -120 * t, -15 - 30 * (t - 0.125))
    >>> fit, (top, bottom) = optimal_decay_time(edc, 1000)
    >>> round(fit.seconds, 6), top <= -15, bottom - top <= -20
    (2.0, True, True)
    """
    edc_db = np.asarray(edc_db, dtype=np.float64)
    stop = edc_db.size if stop is None else min(stop, edc_db.size)
    measured = edc_db[:stop]
    finite = measured[np.isfinite(measured)]
    lowest = float(finite.min()) if finite.size else 0.0
    floor = max(lowest, TOPT_LOWEST_DB, -(range_db - NOISE_MARGIN_DB) if math.isfinite(range_db) else -math.inf)
    if floor > TOPT_STARTS_DB[0] - TOPT_MIN_SPAN_DB:
        return DecayFit(None, reason=f"the measured decay reaches only {floor:.1f} dB (10 dB above its noise, before "
                                     f"the truncation point); Topt needs {TOPT_MIN_SPAN_DB:g} dB from -5 dB"), None
    # the first frame at or below each whole dB (the curve falls monotonically)
    levels = np.arange(-5.0, math.floor(floor) - 1.0, -1.0)
    levels = levels[levels >= floor]
    index = np.searchsorted(-np.where(np.isfinite(measured), measured, np.inf), -levels, side="left")
    lo, hi = int(index[0]), int(index[-1]) + 1  # only the searched stretch of the curve
    t = (np.arange(lo, hi) - (lo + hi) / 2) / rate  # centred: the running sums lose fewer digits
    y = measured[lo:hi]
    # every (start, end) pair at once, from running sums of the regression's moments
    i, j = np.meshgrid(np.arange(levels.size), np.arange(levels.size), indexing="ij")
    a, b = index[i] - lo, index[j] + 1 - lo
    n = (b - a).astype(np.float64)
    st, sy, stt, syy, sty = (s[b] - s[a] for s in (_prefix(v) for v in (t, y, t * t, y * y, t * y)))
    with np.errstate(divide="ignore", invalid="ignore"):
        sxx, syy_c, sxy = stt - st * st / n, syy - sy * sy / n, sty - st * sy / n
        xi = 1000.0 * (1.0 - sxy * sxy / (sxx * syy_c))
    valid = ((levels[i] >= TOPT_STARTS_DB[-1]) & (levels[i] - levels[j] >= TOPT_MIN_SPAN_DB) & (n >= 3)
             & (sxx > 0) & (syy_c > 0))
    if not valid.any():
        return DecayFit(None, reason="no 20 dB stretch of the measured decay could be fitted"), None
    xi = np.where(valid, xi, np.inf)
    # the lowest xi; among (numerically) equal ones the lowest end, then the highest start
    near = np.argwhere(xi <= xi.min() + 1e-9)
    first, last = min(near.tolist(), key=lambda pair: (-pair[1], pair[0]))
    top, bottom = float(levels[first]), float(levels[last])
    return decay_time(edc_db, rate, "Topt", range_db, fit_range=(top, bottom)), (top, bottom)
