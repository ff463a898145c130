"""Room-acoustic parameters of one impulse response (ISO 3382-1).

Every function takes a 1-D response that starts at its onset (the direct
sound): ``h[0]`` is time zero for the early/late limits of C50, C80 and D50.

The energy decay curve (EDC) is Schroeder's backward integral of the squared
response. A measured response ends in noise, which would flatten the EDC and
inflate the decay times, so the integral is truncated where the decay meets
the noise floor and the energy the decay would have had after that point is
added back (Lundeby et al., "Uncertainties of measurements in room
acoustics", Acustica 81, 1995): see :func:`lundeby`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DECAY_RANGES",
    "DecayFit",
    "Lundeby",
    "lundeby",
    "energy_decay",
    "decay_time",
    "clarity",
    "definition",
    "direct_to_reverberant",
    "centre_time",
    "curvature",
    "NONLINEARITY_LIMIT",
    "CURVATURE_LIMIT",
]

#: EDC evaluation ranges in dB (start, end) of each decay time, ISO 3382-1.
DECAY_RANGES = {"EDT": (0.0, -10.0), "T20": (-5.0, -25.0), "T30": (-5.0, -35.0)}

#: dB the noise floor must lie below the end of an evaluation range (ISO 3382-1, 5.3.3).
NOISE_MARGIN_DB = 10.0

#: Non-linearity parameter (per mille) above which a decay is not straight enough (ISO 3382-2, Annex B.2).
NONLINEARITY_LIMIT = 10.0

#: Curvature C = 100 (T30/T20 - 1) in percent above which the decay is curved (ISO 3382-2, Annex B.3).
CURVATURE_LIMIT = 10.0

_INTERVALS_PER_10_DB = 5
# Squared samples this far (200 dB) under the largest count as digital silence.
_DIGITAL_SILENCE = 1e-20
_MAX_ITERATIONS = 10


@dataclass(frozen=True)
class Lundeby:
    """Where a decay meets the noise floor, and what to add back for the truncated tail.

    Attributes
    ----------
    crossing : int
        Frames of the response to integrate (the truncation point).
    compensation : float
        Energy (sum of squared samples) the late decay would have had
        after `crossing`, extrapolated along its slope.
    noise_db : float
        Mean-square noise level in dB (``-inf`` where the response ends in
        digital silence).
    late_slope : float
        Slope of the late decay in dB per second.
    range_db : float
        Peak of the energy envelope (10 ms means) above the noise floor:
        how many dB of decay the response can show (its peak-to-noise ratio).
    """

    crossing: int
    compensation: float
    noise_db: float
    late_slope: float
    range_db: float


@dataclass(frozen=True)
class DecayFit:
    """A decay time and the line fitted to the EDC (``level_db = intercept + slope * t``).

    ``start`` and ``stop`` are the fitted span in seconds from the onset;
    ``xi`` the non-linearity parameter ``1000 (1 - r**2)`` per mille of the
    regression (ISO 3382-2, Annex B.2); ``flags`` the ISO conditions the
    value misses (it is still reported); ``reason`` why there is no value.
    """

    seconds: float | None
    slope: float | None = None
    intercept: float | None = None
    start: float | None = None
    stop: float | None = None
    reason: str | None = None
    xi: float | None = None
    flags: tuple = ()


def _interval_means(e: np.ndarray, width: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``e`` over consecutive intervals of ``width`` frames (a last partial one kept if half full)."""
    full = e.size // width
    means = e[: full * width].reshape(full, width).mean(axis=1)
    if e.size - full * width >= max(1, width // 2):
        means = np.append(means, e[full * width:].mean())
    times = (np.arange(means.size) * width + width / 2) / rate
    return times, means


def _db(x):
    with np.errstate(divide="ignore"):
        return 10 * np.log10(x)


def _fit_line(t: np.ndarray, level: np.ndarray) -> tuple[float, float]:
    """Least-squares line through the finite points (silent intervals are -inf dB); NaN if fewer than 2."""
    finite = np.isfinite(level)
    if np.count_nonzero(finite) < 2:
        return math.nan, math.nan
    slope, intercept = np.polyfit(t[finite], level[finite], 1)
    return float(slope), float(intercept)


def _end_above(levels: np.ndarray, threshold: float, start: int = 0) -> int:
    """One past the last index at or after ``start`` whose level reaches ``threshold`` (``start`` if none).

    The last, not the first: silent gaps after a direct sound must not end a decay.
    """
    above = np.flatnonzero(levels[start:] >= threshold)
    return start + int(above[-1]) + 1 if above.size else start


def lundeby(h: np.ndarray, rate: float) -> Lundeby | None:
    """Lundeby's iterative estimate of the noise floor and of the decay's crossing with it.

    1. Square the response and average it over 10 ms intervals; take the
       noise floor from the last 10 % of the response.
    2. Fit a line (in dB) from the peak down to 10 dB above the noise.
    3. Its crossing with the noise level is the first truncation point.
    4. Re-average over intervals of a fifth of the time the fitted decay
       takes to fall 10 dB; re-estimate the noise from 5 dB of decay past
       the crossing point (at least the last 10 %); fit the late decay
       between 25 and 5 dB above the noise (with the noise subtracted);
       intersect again. Repeat until
       the crossing moves less than one interval.

    Parameters
    ----------
    h : numpy.ndarray
        1-D response from its onset.
    rate : float
        Sample rate in Hz.

    Returns
    -------
    Lundeby or None
        None where the response does not decay by 10 dB above its noise, is
        silent, or is shorter than three 10 ms intervals (the first fit
        needs at least two of them after the peak).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(48000) / 8000
    >>> h = rng.standard_normal(t.size) * 10 ** (-3 * t / 1.0) + 1e-3 * rng.standard_normal(t.size)
    >>> result = lundeby(h, 8000)
    >>> round(result.noise_db), 0.9 < result.crossing / 8000 < 1.1, round(-60 / result.late_slope, 1)
    (-60, True, 1.0)
    """
    e = np.square(np.asarray(h, dtype=np.float64))
    n = e.size
    if n < 16 or not e.any():
        return None
    e[e < _DIGITAL_SILENCE * e.max()] = 0.0  # rounding residue of float arithmetic, not noise
    last = int(np.flatnonzero(e)[-1]) + 1
    tail = e[int(0.9 * n):]
    if not tail.any():  # ends in digital silence: nothing to truncate or compensate
        return Lundeby(last, 0.0, -math.inf, math.nan, math.inf)
    width = max(1, int(round(0.01 * rate)))
    times, env = _interval_means(e, width, rate)
    if env.size < 3:  # shorter than a few 10 ms intervals: no decay to fit a line to
        return None
    levels = _db(env)
    noise_db = float(_db(tail.mean()))
    peak = int(np.argmax(env))
    peak_db = float(levels[peak])
    stop = _end_above(levels, noise_db + 10, peak)
    if stop - peak < 2:
        return None
    slope, intercept = _fit_line(times[peak:stop], levels[peak:stop])
    if not slope < 0:
        return None
    crossing = (noise_db - intercept) / slope
    for _ in range(_MAX_ITERATIONS):
        width = int(np.clip(round(rate * 10 / -slope / _INTERVALS_PER_10_DB), 1, max(1, n // 10)))
        times, env = _interval_means(e, width, rate)
        levels = _db(env)
        noise_from = int(np.clip((crossing + 5 / -slope) * rate, 0, 0.9 * n))
        new_noise_db = float(_db(e[noise_from:].mean()))
        peak = int(np.argmax(env))
        first = max(peak, _end_above(levels, new_noise_db + 25, peak) - 1)
        stop = _end_above(levels, new_noise_db + 5, first)
        if stop - first < 2 or not math.isfinite(new_noise_db):
            break
        # the noise under the late decay is taken out, so that it does not flatten the slope
        noise = 10 ** (new_noise_db / 10)
        late = _db(np.maximum(env[first:stop] - noise, 1e-3 * noise))
        new_slope, new_intercept = _fit_line(times[first:stop], late)
        new_crossing = (new_noise_db - new_intercept) / new_slope if new_slope < 0 else math.nan
        if not 0 < new_crossing <= n / rate:  # the iteration has lost the decay: keep the last good estimate
            break
        moved = abs(new_crossing - crossing)
        slope, intercept, noise_db, crossing = new_slope, new_intercept, new_noise_db, new_crossing
        if moved < width / rate:
            break
    crossing = float(np.clip(crossing, 0.0, n / rate))
    frames = max(1, int(round(crossing * rate)))
    level_at_crossing = intercept + slope * crossing
    compensation = rate * 10 ** (level_at_crossing / 10) * 10 / (-slope * math.log(10))
    return Lundeby(frames, float(compensation), noise_db, float(slope), peak_db - noise_db)


def energy_decay(h: np.ndarray, rate: float, truncation: Lundeby | None = None, extend: bool = False) -> np.ndarray:
    """Schroeder's energy decay curve in dB re its value at frame 0, truncated and compensated.

    ``EDC[n] = sum(h[n:crossing]**2) + compensation``, in dB relative to
    ``EDC[0]``. Without `truncation` the whole response is integrated.
    With `extend`, the curve goes on past the truncation point as the
    compensation's exponential decay (Lundeby's late slope), down to
    -70 dB: a decay time whose range reaches there is partly
    extrapolated (``sigconv impulse info`` flags it).

    Returns
    -------
    numpy.ndarray
        ``crossing`` values (more with `extend`; ``-inf`` where the curve
        reaches zero energy).

    Examples
    --------
    >>> energy_decay(np.array([1.0, 1.0, 0.0, 0.0]), 1.0).round(2).tolist()
    [0.0, -3.01, -inf, -inf]
    """
    e = np.square(np.asarray(h, dtype=np.float64))
    stop, extra = (truncation.crossing, truncation.compensation) if truncation else (e.size, 0.0)
    edc = np.cumsum(e[:stop][::-1])[::-1] + extra
    if extend and truncation and extra > 0 and truncation.late_slope < 0 and edc.size and edc[0] > 0:
        # on until the curve is 70 dB down (at most a minute), past the response's end if need be
        left_db = 70 + 10 * math.log10(extra / edc[0])
        count = min(int(np.ceil(max(0.0, left_db) / -truncation.late_slope * rate)), int(60 * rate))
        later = np.arange(1, count + 1) / rate
        edc = np.concatenate([edc, extra * 10 ** (truncation.late_slope * later / 10)])
    if edc[0] <= 0:
        return np.full(edc.size, -math.inf)
    return _db(edc / edc[0])


def decay_time(edc_db: np.ndarray, rate: float, name: str, range_db: float = math.inf,
               fit_range: tuple[float, float] | None = None) -> DecayFit:
    """EDT, T20 or T30: ``-60 / slope`` of the least-squares line through the EDC's evaluation range.

    Parameters
    ----------
    edc_db : numpy.ndarray
        EDC in dB from :func:`energy_decay`.
    rate : float
        Sample rate in Hz.
    name : {'EDT', 'T20', 'T30'}
        Which range of :data:`DECAY_RANGES` to fit.
    range_db : float, optional
        Decay range above the noise floor (:attr:`Lundeby.range_db`). ISO
        3382-1 (5.3.3) wants the noise at least 10 dB below the end of the
        evaluation range; where it is not, the value is still given, with
        a flag.
    fit_range : (float, float), optional
        Evaluation range in dB (start, end), instead of the standard one.

    Returns
    -------
    DecayFit
        ``seconds`` is None, with a ``reason``, where it cannot be measured
        (the decay does not reach the end of the range); ``flags`` lists the
        conditions it misses: the noise margin, and (for ranges that start
        below 0 dB: T20, T30, not EDT, whose range holds the early
        reflections) a non-linearity ``xi`` above :data:`NONLINEARITY_LIMIT`.

    Examples
    --------
    >>> t = np.arange(10000) / 1000
    >>> fit = decay_time(-60 * t / 2.0, 1000, "T30")
    >>> round(fit.seconds, 6), round(fit.xi, 6), fit.flags
    (2.0, 0.0, ())
    >>> decay_time(-60 * t / 2.0, 1000, "T30", range_db=30.0).flags
    ('decay range 30.0 dB above the noise floor, ISO 3382-1 asks 45 dB for T30',)
    """
    top, bottom = DECAY_RANGES[name] if fit_range is None else fit_range
    needed = -bottom + NOISE_MARGIN_DB
    first = 0 if top >= 0 else int(np.argmax(edc_db <= top))
    reached = np.flatnonzero(edc_db <= bottom)
    if not reached.size or edc_db[first] > top:
        lowest = float(edc_db[-1]) if edc_db.size else 0.0
        return DecayFit(None, reason=f"the energy decay reaches only {lowest:.1f} dB, not the {bottom:g} dB "
                                     f"that {name} needs")
    last = int(reached[0])
    if last - first < 2:
        return DecayFit(None, reason=f"the decay from {top:g} to {bottom:g} dB is too fast to fit for {name} "
                                     f"({last - first} samples)")
    t = np.arange(first, last + 1) / rate
    level = edc_db[first:last + 1]
    slope, intercept = _fit_line(t, level)
    if not slope < 0:
        return DecayFit(None, reason=f"the energy decay does not fall over the {name} range")
    r = np.corrcoef(t, level)[0, 1] if np.all(np.isfinite(level)) else math.nan
    xi = float(1000.0 * (1.0 - r * r)) if math.isfinite(r) else None
    flags = []
    if range_db < needed:
        flags.append(f"decay range {range_db:.1f} dB above the noise floor, ISO 3382-1 asks {needed:.0f} dB for {name}")
    if xi is not None and xi > NONLINEARITY_LIMIT and top < 0:  # EDT's range holds the early reflections
        flags.append(f"non-linearity xi {xi:.1f} per mille above {NONLINEARITY_LIMIT:.0f} (ISO 3382-2 B.2): "
                     "the decay is not straight")
    return DecayFit(-60.0 / slope, slope, intercept, first / rate, last / rate, xi=xi, flags=tuple(flags))


def curvature(t20: float | None, t30: float | None) -> float | None:
    """Curvature ``C = 100 (T30 / T20 - 1)`` in percent (ISO 3382-2, Annex B.3); None without both.

    Examples
    --------
    >>> round(curvature(1.0, 1.12), 6)
    12.0
    """
    if t20 is None or t30 is None or t20 <= 0:
        return None
    return 100.0 * (t30 / t20 - 1.0)


def centre_time(h: np.ndarray, rate: float, truncation: Lundeby | None = None) -> float | None:
    """Centre time Ts in seconds: the first moment of the squared response from frame 0 (ISO 3382-1, A.2.4).

    The truncated tail's energy (Lundeby's compensation, an exponential
    decay of slope ``late_slope`` from the truncation point ``tc``) counts
    with its own first moment, ``E (tc + tau)``, ``tau`` its time constant.

    Examples
    --------
    >>> round(centre_time(np.array([1.0, 0.0, 1.0]), 1000), 6)
    0.001
    """
    e = np.square(np.asarray(h, dtype=np.float64))
    stop, extra = (truncation.crossing, truncation.compensation) if truncation else (e.size, 0.0)
    e = e[:stop]
    total = float(e.sum()) + extra
    if total <= 0:
        return None
    moment = float(np.dot(np.arange(e.size) / rate, e))
    if extra > 0 and truncation.late_slope < 0:
        tau = 10.0 / (-truncation.late_slope * math.log(10))
        moment += extra * (stop / rate + tau)
    return moment / total


def _early_late(h: np.ndarray, rate: float, milliseconds: float, truncation: Lundeby | None):
    e = np.square(np.asarray(h, dtype=np.float64))
    limit = int(round(milliseconds * 1e-3 * rate))
    stop, extra = (truncation.crossing, truncation.compensation) if truncation else (e.size, 0.0)
    if limit >= stop:
        return None, None
    return float(e[:limit].sum()), float(e[limit:stop].sum() + extra)


def clarity(h: np.ndarray, rate: float, milliseconds: float = 80.0, truncation: Lundeby | None = None):
    """C50/C80: early-to-late energy ratio in dB, with the limit `milliseconds` after frame 0.

    Returns None where the response (up to its truncation) is shorter
    than the limit or has no late energy.

    Examples
    --------
    >>> round(clarity(np.array([1.0, 0.0, 0.5, 0.5]), 1000, milliseconds=2), 2)
    3.01
    """
    early, late = _early_late(h, rate, milliseconds, truncation)
    if early is None or late <= 0:
        return None
    return 10 * math.log10(early / late) if early > 0 else -math.inf


def definition(h: np.ndarray, rate: float, milliseconds: float = 50.0, truncation: Lundeby | None = None):
    """D50: the fraction (0..1) of the energy that arrives within `milliseconds` of frame 0.

    Examples
    --------
    >>> definition(np.array([1.0, 0.0, 1.0, 1.0]), 1000, milliseconds=2)
    0.3333333333333333
    """
    early, late = _early_late(h, rate, milliseconds, truncation)
    if early is None or early + late <= 0:
        return None
    return early / (early + late)


#: Half-width of the direct-sound window around the peak, in seconds.
DIRECT_WINDOW = 0.0025


def direct_to_reverberant(h: np.ndarray, rate: float, truncation: Lundeby | None = None):
    """Direct-to-reverberant ratio in dB: energy within ±2.5 ms of the peak over all the energy after it.

    Energy before the window (noise ahead of the direct sound) counts as
    neither. Returns None where nothing follows the window.

    Examples
    --------
    >>> h = np.zeros(1000); h[10] = 1.0; h[500] = 0.5
    >>> round(direct_to_reverberant(h, 1000), 2)
    6.02
    """
    e = np.square(np.asarray(h, dtype=np.float64))
    stop, extra = (truncation.crossing, truncation.compensation) if truncation else (e.size, 0.0)
    peak = int(np.argmax(e[:stop]))
    half = int(round(DIRECT_WINDOW * rate))
    direct = float(e[max(0, peak - half): peak + half + 1].sum())
    reverberant = float(e[peak + half + 1: stop].sum() + extra)
    if reverberant <= 0:
        return None
    return 10 * math.log10(direct / reverberant)
