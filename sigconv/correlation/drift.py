"""Clock drift between two recordings: delays in overlapping windows and a robust line through them.

Two recorders whose clocks differ slightly drift apart: the delay of B
after A grows (or shrinks) linearly with time. :func:`estimate_drift`
measures the delay in windows of ``window`` seconds with 50% overlap and
fits ``delay(t) = offset + drift * t`` through the windows whose
confidence reaches ``min_confidence``: a Theil-Sen line (the median of the
slopes between all pairs of windows, robust to a few wrong windows) picks
the inliers, and least squares through them gives the reported offset and
drift. ``t`` is the centre of the window on A's clock; the drift in ppm is
``1e6`` times the slope in seconds per second, positive when B's clock
runs fast (B holds more samples per real second than A).

A drift moves the delay within each window too (by ``drift * window``),
which smears the correlation peak. So the windows are measured twice:
once as they are (in windows a quarter, a sixteenth... as long where too
few of them give a reliable peak), and again with the drift found removed
within each window: the window is cut into blocks over which the delay
moves by at most a quarter sample, and each block's cross spectrum is
shifted back by its expected extra delay before they are summed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .delays import DEFAULT_METHOD, check_options, correlate_sources, estimate_peak, lag_window
from ..errors import NoCorrelationPeakError, NoReliableDelayError, UsageError
from ..compute.frames import zero_padded_slice
from .spectra import CurveMaker, constant_check, correlation_ops
from ..validation import as_frames

__all__ = ["DriftWindow", "DriftEstimate", "DriftResult", "estimate_drift", "DEFAULT_WINDOW_SECONDS"]

#: Default window length in seconds.
DEFAULT_WINDOW_SECONDS = 10.0
#: Without a lag limit, each window searches this fraction of the longer
#: signal's length either side of a coarse delay (covers drifts to 2000 ppm).
_SEARCH_FRACTION = 2e-3
_SEARCH_EXTRA = 16  # samples added to that margin
_SHORTEST_PROBE = 1024  # frames: the shortest windows tried when the given ones smear too much


@dataclass(frozen=True)
class DriftWindow:
    """The delay measured in one window."""

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
class DriftEstimate:
    """Offset and drift of one channel of B against the reference channel of A.

    Attributes
    ----------
    offset_samples : float
        Delay of B after A at the start of A (``t = 0``), in samples.
    drift_ppm : float
        Change of the delay per unit of time, in parts per million.
    residual_samples : float
        RMS distance of the used windows' delays from the line.
    windows : tuple of DriftWindow
    """

    ref_channel: int
    channel: int
    rate: float
    offset_samples: float
    drift_ppm: float
    residual_samples: float
    windows: tuple

    @property
    def offset_seconds(self) -> float:
        return self.offset_samples / self.rate

    @property
    def windows_used(self) -> int:
        return sum(w.used for w in self.windows)

    def as_dict(self) -> dict:
        return {"ref_channel": self.ref_channel, "channel": self.channel, "offset_samples": self.offset_samples,
                "offset_seconds": self.offset_seconds, "drift_ppm": self.drift_ppm,
                "residual_rms_samples": self.residual_samples, "windows_used": self.windows_used,
                "windows_total": len(self.windows), "windows": [w.as_dict() for w in self.windows]}


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

    def as_dict(self) -> dict:
        return {"method": self.method, "rate": self.rate, "drift": True, "window_seconds": self.window_seconds,
                "hop_seconds": self.hop_seconds, "search": {"lo_samples": self.lo, "hi_samples": self.hi},
                "pairs": [p.as_dict() for p in self.pairs]}


def _window_delays(ops, a, b, start, frames, lo, hi, ref, method, refine, slopes):
    """Delays (one per channel of B) of ``a[start:start + frames]``, searching ``lo..hi``.

    ``slopes`` holds, per channel of B, the change of the delay per sample
    of A expected within the window. The window is then cut into blocks
    over which the delay moves by at most a quarter sample, and each block's
    cross spectrum is shifted by the delay expected at its centre relative
    to the window's centre before they are summed: without that, a drift of
    ``s`` smears the peak over ``s * frames`` samples and its top is no
    longer where the mean delay is. The window's samples go to the device
    once (``ops.to_device``); the peaks are found on the host.
    """
    xp = ops.xp
    segment = a[start : start + frames, ref]
    constant_check(segment, f"A (channel {ref}) from frame {start}")
    width = hi - lo + 1
    extended = zero_padded_slice(b, start + lo, start + lo + frames + width - 1)
    for channel in range(b.shape[1]):
        constant_check(extended[:, channel], f"B (channel {channel}) near frame {start}")
    segment, extended = ops.to_device(segment), ops.to_device(extended.T)
    steepest = max(abs(s) for s in slopes)
    length = frames if steepest * frames <= 0.25 else max(64, int(0.25 / steepest))
    size = ops.next_fast_len(length + width - 1)
    turns = xp.arange(size // 2 + 1) / size
    cross = ops.zeros((b.shape[1], turns.size), np.complex128)
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
        for channel, slope in enumerate(slopes):
            if slope and length < frames:
                spectra_b[channel] *= xp.exp(2j * np.pi * turns * (slope * shift))
        cross += spectra_b
    maker = CurveMaker(ops, method, size, lo, hi)
    delays = []
    for channel in range(b.shape[1]):
        spectrum = maker.weight(cross[channel], auto_a, None if auto_b is None else auto_b[channel])
        values, spectrum = maker.values(spectrum)
        p = estimate_peak(values, spectrum, maker, None, refine, 1.0, ref, channel, lo - 1, hi + 1)
        delays.append((p.delay_samples, p.peak, p.confidence, p.at_edge))
    return delays


def _coarse_window(ops, a, b, frames, rate, ref, method):
    """A lag window around a first estimate of the delay, from a few windows of A against all of B."""
    na, nb = a.shape[0], b.shape[0]
    best = None
    for centre in (0.5, 0.25, 0.75):
        start = min(max(int(centre * na - frames / 2), 0), na - frames)
        try:
            result = correlate_sources(a[start : start + frames], b, frames, nb, rate, ops=ops, ref=ref,
                                       method=method,
                                       normalize=False, lo=-(frames - 1), hi=nb - 1, min_abs=0, refine="parabolic",
                                       block=None, keep_function=False, progress=None)
        except NoCorrelationPeakError:
            continue
        for p in result.pairs:
            score = -1.0 if p.confidence is None else p.confidence
            if best is None or score > best[0]:
                best = (score, p.delay_samples - start)
    if best is None:
        raise NoCorrelationPeakError("A is silent or constant in every probe window; there is no delay to follow")
    margin = math.ceil(_SEARCH_FRACTION * max(na, nb)) + _SEARCH_EXTRA
    return math.floor(best[1]) - margin, math.ceil(best[1]) + margin


def _fit(times: np.ndarray, delays: np.ndarray):
    """Theil-Sen line, then least squares through its inliers: ``(intercept, slope, rms, inliers)``."""
    from scipy.stats import theilslopes

    if times.size == 2:
        slope = (delays[1] - delays[0]) / (times[1] - times[0])
        return delays[0] - slope * times[0], slope, 0.0, np.ones(2, bool)
    slope, intercept, _, _ = theilslopes(delays, times)
    residual = delays - (intercept + slope * times)
    centred = np.abs(residual - np.median(residual))
    inliers = centred <= max(4.0 * 1.4826 * np.median(centred), 0.05)
    if inliers.sum() < 2:
        inliers[:] = True
    slope, intercept = np.polyfit(times[inliers], delays[inliers], 1)
    residual = delays[inliers] - (intercept + slope * times[inliers])
    return float(intercept), float(slope), float(np.sqrt(np.mean(residual ** 2))), inliers


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
        The delays every window searches. Default: a coarse delay is found
        first (three windows of A against all of B) and each window searches
        0.2% of the longer signal's length either side of it.
    min_confidence : float
        Windows below this confidence are left out of the fit.
    progress : callable, optional
        Called as ``progress(frames_done, frames_total, rate)``.
    backend : str
        Compute backend that runs the transforms, or ``"auto"``.
    context : ExecutionContext or int, optional
        Threads the transforms may use.

    Returns
    -------
    DriftResult

    Raises
    ------
    NoReliableDelayError
        Fewer than two windows reached ``min_confidence``.
    UsageError
        A window too long for two windows in A, or a bad option.
    BackendUnavailableError
        ``backend`` is unknown, unavailable here, or does not run ``correlate``.

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
    check_options(method, False, refine, ref_channel, a.shape[1])
    na, nb = a.shape[0], b.shape[0]
    if not window > 0:
        raise UsageError(f"--window must be a positive number of seconds, not {window:g}")
    frames = int(round(window * rate))
    hop = max(1, frames // 2)
    if frames < 16 or frames + hop > na:
        raise UsageError(
            f"--window {window:g} s does not fit A ({na / rate:g} s) twice with 50% overlap (and must span 16 "
            "samples or more); give a shorter --window"
        )
    ops = correlation_ops(backend, na, nb, b.shape[1], context)
    if max_lag is None and lag_range is None:
        lo, hi = _coarse_window(ops, a, b, frames, rate, ref_channel, method)
    else:
        lo, hi, _ = lag_window(na, nb, rate, max_lag=max_lag, lag_range=lag_range)
    starts = range(0, na - frames + 1, hop)
    channels = b.shape[1]
    # a first pass without compensation (in shorter windows if a strong drift smears the peaks of
    # these); a second one removes the drift found within each window
    probe = frames
    while True:
        try:
            rows = _measure(ops, a, b, starts if probe == frames else range(0, na - probe + 1, probe // 2), probe, lo,
                            hi, rate, ref_channel, method, refine, [0.0] * channels, min_confidence, progress)
            fits = _fit_rows(rows, window * probe / frames, min_confidence)
            break
        except NoReliableDelayError:
            if probe // 4 < _SHORTEST_PROBE:
                raise
            probe //= 4
    slopes = [fit[1] / rate for fit in fits]
    if probe != frames or max(abs(s) for s in slopes) * frames > 0.25:
        rows = _measure(ops, a, b, starts, frames, lo, hi, rate, ref_channel, method, refine, slopes, min_confidence,
                        progress)
        fits = _fit_rows(rows, window, min_confidence)
    estimates = []
    for channel, (intercept, slope, rms, inlier_times) in enumerate(fits):
        windows = tuple(DriftWindow(r[0], r[1], r[2], r[3], r[4] and r[0] in inlier_times, rate)
                        for r in rows[channel])
        estimates.append(DriftEstimate(ref_channel, channel, rate, intercept, slope / rate * 1e6, rms, windows))
    return DriftResult(method, rate, frames / rate, hop / rate, lo, hi, tuple(estimates))


def _measure(ops, a, b, starts, frames, lo, hi, rate, ref, method, refine, slopes, min_confidence, progress):
    """``rows[channel]``: ``(time, delay, peak, confidence, usable)`` per window."""
    rows = {c: [] for c in range(b.shape[1])}
    for start in starts:
        centre = (start + (frames - 1) / 2) / rate
        try:
            delays = _window_delays(ops, a, b, start, frames, lo, hi, ref, method, refine, slopes)
        except NoCorrelationPeakError:  # a silent stretch: no delay here
            delays = [(math.nan, 0.0, None, True)] * b.shape[1]
        for channel, (delay, peak, confidence, at_edge) in enumerate(delays):
            usable = confidence is not None and confidence >= min_confidence and not at_edge
            rows[channel].append((centre, delay, peak, confidence, usable))
        if progress:
            progress(start + frames, a.shape[0], rate)
    return rows


def _fit_rows(rows, window, min_confidence):
    """Per channel: ``(intercept, slope per second, rms, times of the inliers)``."""
    fits = []
    for channel, row in rows.items():
        usable = [r for r in row if r[4]]
        if len(usable) < 2:
            raise NoReliableDelayError(
                f"only {len(usable)} of {len(row)} windows of {window:g} s found a reliable delay for B channel "
                f"{channel} (confidence of at least --min-confidence {min_confidence:g}); use longer windows "
                "(--window), give the expected delay with --max-lag or --lag-range, or lower --min-confidence"
            )
        times = np.array([r[0] for r in usable])
        delays = np.array([r[1] for r in usable])
        intercept, slope, rms, inliers = _fit(times, delays)
        fits.append((intercept, slope, rms, set(times[inliers].tolist())))
    return fits
