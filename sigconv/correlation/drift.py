"""Clock drift between two recordings: the straight line of delays that most windows agree on.

Two recorders whose clocks differ slightly drift apart: the delay of B
after A grows (or shrinks) linearly with time,
``delay(t) = offset + drift * t``, with ``t`` on A's clock. The drift in
ppm is ``1e6`` times the slope, positive when B's clock runs fast (B holds
more samples per real second than A).

Music loops, choruses and repeated phrases make one window's best lag
unreliable: a stretch of A often matches a recurrence in B as well as
the moment it was recorded. So no window is trusted on its own;
:func:`estimate_drift` asks which line the windows agree on:

1. **Proposals and vote** (:mod:`sigconv.correlation.drift_search`). At
   a coarse rate (a few hundred Hz to a few kHz, so that a window can be
   correlated with the whole of B cheaply), up to 24 windows spread over
   A propose their 8 best lags each over the whole search range; a RANSAC
   fit over all pairs of proposals from different windows
   (:mod:`sigconv.correlation.consensus`) keeps the 4 lines that the most
   windows' proposals lie on; then every window votes for the line(s)
   near which its correlation peaks highest, and the line with the most
   votes wins. The true line collects every window; a recurrence, only the
   windows it repeats.
2. **Measurement.** At the full rate, every window's delay is measured in
   a narrow band around the winning line, with the drift removed within
   the window (blocks over which the delay moves by at most a quarter
   sample, each shifted back before they are summed) and refined between
   samples. The windows whose peak stands out within the band (confidence
   of at least ``min_confidence``; the lags a drift would smear the peak
   over are left out of its rivals) and that lie within
   :data:`INLIER_SAMPLES` of a line are its inliers; the line is the
   consensus of the windows again, refitted by least squares through its
   inliers. Where that changes the drift, the windows are measured again
   with the new drift removed.

A fit is refused (:class:`UnreliableDriftError`, a
:class:`~sigconv.errors.NoReliableDelayError`, exit status 7) when fewer
than :data:`MIN_WINDOWS` windows, or less than :data:`MIN_SHARE` of the
windows where both recordings hold sound, lie on it, or when they lie
more than :data:`MAX_RESIDUAL_SAMPLES` RMS from it. The error carries what
was found (:attr:`UnreliableDriftError.result`).

Drifts up to :data:`MAX_DRIFT_PPM` are searched. A drift smears a
window's peak over ``drift * window`` lags; where that hides the peaks of
whole windows, the vote is held again on windows a quarter and a
sixteenth as long.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import NoCorrelationPeakError, NoReliableDelayError, UsageError
from ..limits import check_finite
from ..validation import as_frames
from .consensus import consensus_line
from .delays import DEFAULT_METHOD, check_options, lag_window
from .drift_search import MAX_SLOPE, SearchPlan, choose_line
from .peaks import GUARD_SAMPLES
from .spectra import constant_check, correlation_ops
from .windowed import BandRow, band_peaks, decimate, decimation_factor, window_lags

__all__ = ["DriftWindow", "DriftLine", "DriftEstimate", "DriftResult", "UnreliableDriftError", "estimate_drift",
           "DEFAULT_WINDOW_SECONDS", "MAX_DRIFT_PPM", "INLIER_SAMPLES", "MAX_RESIDUAL_SAMPLES", "MIN_WINDOWS",
           "MIN_SHARE"]

#: Default window length in seconds.
DEFAULT_WINDOW_SECONDS = 10.0
#: The steepest drift searched, in ppm.
MAX_DRIFT_PPM = MAX_SLOPE * 1e6
#: A window agrees with a line when its delay lies within this many samples of it.
INLIER_SAMPLES = 2.0
#: The largest RMS distance, in samples, of the agreeing windows from the line of an accepted fit.
MAX_RESIDUAL_SAMPLES = 1.0
#: An accepted fit has at least this many windows on its line...
MIN_WINDOWS = 3
#: ...and at least this share of the windows where both recordings hold sound (most of them).
MIN_SHARE = 0.5

_COARSE_SAMPLES = 1 << 21  # A and B together at the coarse rate, about
_REMEASURES = 3  # full-rate passes at most (each removes the drift the previous one found)


@dataclass(frozen=True)
class DriftWindow:
    """The delay measured in one window.

    Attributes
    ----------
    time : float
        Centre of the window on A's clock (seconds; samples when ``rate`` is 1).
    delay_samples : float
        Delay of B after A there (NaN where the window could not be measured).
    peak, confidence : float
        Height of the correlation peak, and how clearly it stands out within
        the band searched around the line.
    used : bool
        The window is one of the line's inliers.
    rate : float
    """

    time: float
    delay_samples: float
    peak: float
    confidence: float | None
    used: bool
    rate: float

    def as_dict(self) -> dict:
        confidence = self.confidence if self.confidence is None or math.isfinite(self.confidence) else None
        delay = None if math.isnan(self.delay_samples) else self.delay_samples
        return {"time_seconds": self.time, "delay_samples": delay,
                "delay_seconds": None if delay is None else delay / self.rate, "peak": self.peak,
                "confidence": confidence, "used": self.used}


@dataclass(frozen=True)
class DriftLine:
    """A line the windows voted on: offset (samples at ``t = 0``), drift (ppm), and the windows on it."""

    offset_samples: float
    drift_ppm: float
    windows: int

    def as_dict(self) -> dict:
        return {"offset_samples": self.offset_samples, "drift_ppm": self.drift_ppm, "windows": self.windows}


@dataclass(frozen=True)
class DriftEstimate:
    """Offset and drift of one channel of B against the reference channel of A.

    Attributes
    ----------
    ref_channel, channel : int
    rate : float
    offset_samples : float
        Delay of B after A at the start of A (``t = 0``), in samples.
    drift_ppm : float
        Change of the delay per unit of time, in parts per million.
    residual_samples : float
        RMS distance of the used windows' delays from the line.
    windows : tuple of DriftWindow
    windows_eligible : int
        Windows where both recordings hold sound (on this line).
    reliable : bool
        The fit passed the checks (enough windows, small residual).
    problem : str or None
        Why it did not.
    alternatives : tuple of DriftLine
        The lines the windows voted on, the chosen one first.
    """

    ref_channel: int
    channel: int
    rate: float
    offset_samples: float
    drift_ppm: float
    residual_samples: float
    windows: tuple
    windows_eligible: int = 0
    reliable: bool = True
    problem: str | None = None
    alternatives: tuple = ()

    @property
    def offset_seconds(self) -> float:
        return self.offset_samples / self.rate

    @property
    def windows_used(self) -> int:
        return sum(w.used for w in self.windows)

    def as_dict(self) -> dict:
        def finite(x):
            return x if x is not None and math.isfinite(x) else None

        return {"ref_channel": self.ref_channel, "channel": self.channel, "reliable": self.reliable,
                "problem": self.problem, "offset_samples": finite(self.offset_samples),
                "offset_seconds": finite(self.offset_seconds), "drift_ppm": finite(self.drift_ppm),
                "residual_rms_samples": finite(self.residual_samples), "windows_used": self.windows_used,
                "windows_eligible": self.windows_eligible, "windows_total": len(self.windows),
                "alternatives": [line.as_dict() for line in self.alternatives],
                "windows": [w.as_dict() for w in self.windows]}


@dataclass(frozen=True)
class DriftResult:
    """The result of :func:`estimate_drift`: one :class:`DriftEstimate` per channel of B."""

    method: str
    rate: float
    window_seconds: float
    hop_seconds: float
    lo: int
    hi: int
    pairs: tuple
    frames_a: int = 0
    frames_b: int = 0
    coarse_factor: int = 1

    @property
    def reliable(self) -> bool:
        """Every channel's fit passed the checks."""
        return all(p.reliable for p in self.pairs)

    def as_dict(self) -> dict:
        return {"method": self.method, "rate": self.rate, "drift": True, "reliable": self.reliable,
                "window_seconds": self.window_seconds, "hop_seconds": self.hop_seconds,
                "frames_a": self.frames_a, "frames_b": self.frames_b, "coarse_factor": self.coarse_factor,
                "search": {"lo_samples": self.lo, "hi_samples": self.hi},
                "pairs": [p.as_dict() for p in self.pairs]}


class UnreliableDriftError(NoReliableDelayError):
    """No line of delays that enough windows agree on closely enough (exit 7).

    Attributes
    ----------
    result : DriftResult
        What was found: per channel the best line, its windows, and why it was refused.
    """

    def __init__(self, message: str, result: DriftResult):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class _Plan:
    """What the full-rate measurement shares."""

    ops: object
    frames: int
    lo: int
    hi: int
    method: str
    refine: str
    min_confidence: float
    factor: int
    ref: int

    def starts(self, na: int) -> range:
        return range(0, na - self.frames + 1, max(1, self.frames // 2))


def _needed(eligible: int) -> int:
    """Windows an accepted line needs out of ``eligible``."""
    return max(MIN_WINDOWS, math.ceil(MIN_SHARE * eligible))


def _measure(plan: _Plan, a, b, lines: dict, progress, rate):
    """Full-rate delays of every window near each channel's line: ``{channel: [(centre, BandPeak or None)]}``.

    The line's drift is removed within each window, up to the error of its
    slope: a few coarse samples over the windows' span, at most
    ``2 * factor`` lags of smear over a window, which the confidence's guard
    leaves out of the rivals. The band holds the line's uncertainty (a few
    coarse samples), that guard and room to rate the peak; it is as wide for
    every channel, so that they share the transforms of A.
    """
    na = a.shape[0]
    frames = plan.frames
    guard = GUARD_SAMPLES + 2 * plan.factor
    half = 4 * plan.factor + guard + 32
    out = {c: [] for c in lines}
    for start in plan.starts(na):
        centre = start + (frames - 1) / 2
        rows = []
        for c, line in lines.items():
            first, last = window_lags(plan.lo, plan.hi, line.at(centre), half)
            rows.append(BandRow(c, first, line.slope))
        try:
            peaks = band_peaks(plan.ops, a, b, start, frames, rows, last - first + 1, plan.method, plan.refine,
                               guard)
        except NoCorrelationPeakError:  # A is silent here
            peaks = [None] * len(rows)
        for c, p in zip(lines, peaks):
            out[c].append((centre, p))
        if progress:
            progress(start + frames, na, rate)
    return out


def _fit(plan: _Plan, measured):
    """The line through the windows that stand out and agree: ``(Consensus or None, usable mask)``."""
    usable = np.array([p is not None and not p.at_edge and p.confidence is not None
                       and p.confidence >= plan.min_confidence for _, p in measured], bool)
    index = np.flatnonzero(usable)
    if index.size < 2:
        return None, usable
    t = np.array([measured[i][0] for i in index])
    y = np.array([measured[i][1].delay for i in index])
    return consensus_line(t, y, index, INLIER_SAMPLES, MAX_SLOPE, [measured[i][1].peak for i in index]), usable


def estimate_drift(a, b, rate: float = 1.0, *, window: float = DEFAULT_WINDOW_SECONDS,
                   method: str = DEFAULT_METHOD, max_lag: float | None = None,
                   lag_range: tuple[float, float] | None = None, ref_channel: int = 0, min_confidence: float = 1.5,
                   refine: str = "bandlimited",
                   progress: Callable[[int, int | None, float], None] | None = None, backend: str = "auto",
                   context=None) -> DriftResult:
    """Estimate the initial offset and the clock drift of each channel of ``b`` against ``a``.

    Parameters
    ----------
    a, b : array_like
        1-D or ``(frames, channels)`` signals at the same nominal rate.
    rate : float
        Sample rate in Hz (times and limits in seconds; samples when 1).
    window : float
        Window length in seconds; windows overlap by half.
    method, ref_channel, refine
        As for :func:`sigconv.correlate`.
    max_lag, lag_range : optional
        The delays searched (default: every delay at which A and B overlap).
    min_confidence : float
        A window counts only where its peak stands out this clearly within
        the band searched around the line.
    progress : callable, optional
        Called as ``progress(frames_done, frames_total, rate)``.
    backend : str
        Compute backend that runs the transforms, or ``"auto"``.
    context : ExecutionContext or int, optional
        Threads the transforms may use.

    Returns
    -------
    DriftResult
        Every channel's fit is reliable (see the module notes).

    Raises
    ------
    UnreliableDriftError
        A channel's best line has too few windows on it, or they scatter
        too far from it; ``error.result`` holds what was found.
    NoCorrelationPeakError
        A is silent or constant in every window.
    UsageError
        A window too long for two windows in A, or a bad option.
    BackendUnavailableError
        ``backend`` is unknown, unavailable here, or does not run ``correlate``.

    Notes
    -----
    Accuracy: on ten minutes of recurring loops and speech at 16 kHz (B
    0.25 s later, 50 ppm slow, 30 dB SNR, 10 s windows) the offset is found
    within 0.05 samples and the drift within 0.01 ppm.

    Examples
    --------
    >>> from scipy.signal import resample_poly
    >>> rng = np.random.default_rng(1)
    >>> a = rng.standard_normal(40000)
    >>> b = np.concatenate([np.zeros(300), resample_poly(a, 10001, 10000)])   # +300 samples, +100 ppm
    >>> fit = estimate_drift(a, b, window=4000).pairs[0]
    >>> round(fit.offset_samples, 1), round(fit.drift_ppm)
    (300.0, 100)
    """
    a = as_frames(a, name="signal A")
    b = as_frames(b, name="signal B")
    check_options(method, False, refine, ref_channel, a.shape[1], max_lag=max_lag, lag_range=lag_range,
                  min_confidence=min_confidence)
    na, nb = a.shape[0], b.shape[0]
    if not check_finite(window, "--window", " of seconds") > 0:
        raise UsageError(f"--window must be a positive number of seconds, not {window:g}")
    frames = int(round(window * rate))
    hop = max(1, frames // 2)
    if frames < 16 or frames + hop > na:
        raise UsageError(
            f"--window {window:g} s does not fit A ({na / rate:g} s) twice with 50% overlap (and must span 16 "
            "samples or more); give a shorter --window"
        )
    lo, hi, _ = lag_window(na, nb, rate, max_lag=max_lag, lag_range=lag_range)
    ops = correlation_ops(backend, na, nb, b.shape[1], context)
    reference = a[:, ref_channel]
    constant_check(reference, f"A (channel {ref_channel})")
    for channel in range(b.shape[1]):
        constant_check(b[:, channel], f"B (channel {channel})")
    factor = decimation_factor(na + nb, frames, rate, _COARSE_SAMPLES)
    plan = _Plan(ops, frames, lo, hi, method, refine, min_confidence, factor, ref_channel)
    search = SearchPlan(ops, frames, tuple(start + (frames - 1) / 2 for start in plan.starts(na)), lo, hi, method,
                        factor)
    a_c = decimate(reference[:, None], factor)[:, 0]
    b_c = decimate(b, factor)
    votes = {c: choose_line(search, a_c, b_c[:, c], _needed) for c in range(b.shape[1])}
    estimates = _measure_and_fit(plan, reference, b, votes, progress, rate)
    result = DriftResult(method, rate, frames / rate, hop / rate, lo, hi, tuple(estimates), na, nb, factor)
    if not result.reliable:
        raise UnreliableDriftError(_refusal(result), result)
    return result


def _measure_and_fit(plan: _Plan, a, b, votes, progress, rate):
    """Measure every window near each channel's voted line at the full rate, fit and check.

    A channel whose vote found too few windows on any line is not measured
    (its estimate reports the vote). Each pass removes within the windows
    the drift the previous one found, until it no longer changes by a
    quarter sample over a window.
    """
    lines = {c: v.line for c, v in votes.items() if v.line is not None and v.support >= _needed(v.eligible)}
    fits, measured = {}, {}
    for _ in range(_REMEASURES):
        if not lines:
            break
        measured.update(_measure(plan, a, b, lines, progress, rate))
        again = {}
        for c in lines:
            fits[c] = _fit(plan, measured[c])
            found = fits[c][0]
            if found is not None and abs(found.line.slope - lines[c].slope) * plan.frames > 0.25:
                again[c] = found.line
        lines = again
    return [_estimate(plan, c, votes[c], measured.get(c), fits.get(c), rate) for c in range(b.shape[1])]


def _lines(vote) -> tuple:
    return tuple(DriftLine(line.intercept, line.slope * 1e6, support) for line, support in vote.lines)


def _from_vote(plan: _Plan, channel: int, vote, rate: float) -> DriftEstimate:
    """The estimate of a channel whose vote found too few windows on any line: what the vote found."""
    seconds = vote.frames / rate
    windows = tuple(DriftWindow(c / rate, y, w, None, on, rate) for c, y, w, on in vote.points)
    if vote.line is None:
        problem = f"no two windows of {seconds:g} s found delays on one line (of {vote.eligible} windows)"
        return DriftEstimate(plan.ref, channel, rate, math.nan, math.nan, math.nan, windows, vote.eligible,
                             False, problem, ())
    line = vote.line
    problem = (f"only {vote.support} of {vote.eligible} windows of {seconds:g} s agree on the best line of delays "
               f"(offset {line.intercept:+.2f} samples, drift {line.slope * 1e6:+.2f} ppm); at least "
               f"{_needed(vote.eligible)} must")
    return DriftEstimate(plan.ref, channel, rate, line.intercept, line.slope * 1e6, math.nan, windows,
                         vote.eligible, False, problem, _lines(vote))
def _estimate(plan: _Plan, channel: int, vote, measured, fit, rate: float) -> DriftEstimate:
    """The estimate of one channel, with the checks' verdict."""
    if measured is None:
        return _from_vote(plan, channel, vote, rate)
    found, usable = fit
    on_line = set(np.flatnonzero(usable)[found.inliers].tolist()) if found is not None else set()
    windows = tuple(DriftWindow(c / rate, math.nan, 0.0, None, False, rate) if p is None
                    else DriftWindow(c / rate, p.delay, p.peak, p.confidence, k in on_line, rate)
                    for k, (c, p) in enumerate(measured))
    eligible = sum(p is not None for _, p in measured)
    seconds, needed = plan.frames / rate, _needed(eligible)
    line = vote.line if found is None else found.line
    where = f"(offset {line.intercept:+.2f} samples, drift {line.slope * 1e6:+.2f} ppm)"
    problem, rms = None, math.nan if found is None else found.rms
    if found is None or found.support < needed:
        problem = (f"only {0 if found is None else found.support} of {eligible} windows of {seconds:g} s found a "
                   f"delay that stands out (--min-confidence {plan.min_confidence:g}) on the best line of delays "
                   f"{where}; at least {needed} must")
    elif rms > MAX_RESIDUAL_SAMPLES:
        problem = (f"the {found.support} windows on the best line of delays {where} lie {rms:.2f} samples RMS from "
                   f"it; at most {MAX_RESIDUAL_SAMPLES:g} is accepted")
    return DriftEstimate(plan.ref, channel, rate, line.intercept, line.slope * 1e6, rms, windows, eligible,
                         problem is None, problem, _lines(vote))


def _refusal(result: DriftResult) -> str:
    parts = [f"B channel {p.channel}: {p.problem}" for p in result.pairs if not p.reliable]
    few = min(len(p.windows) for p in result.pairs) < 2 * MIN_WINDOWS
    windows = ("Use shorter windows (--window) so that more of them fit" if few else
               "Use longer windows (--window)")
    return (f"no reliable drift found ({'; '.join(parts)}). {windows}, give the expected delay with --max-lag or "
            "--lag-range, lower --min-confidence, or check that A and B record the same sound (--json shows every "
            "window)")
