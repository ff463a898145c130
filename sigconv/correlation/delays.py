"""Cross-correlation and time-delay estimation: plain (cc), GCC-PHAT and SCOT.

Sign convention: if B is A delayed by ``d`` (``b[n] = a[n - d]``), the
estimated delay is ``+d``. The correlation at lag ``k`` is
``r[k] = sum_n a[n] b[n + k]``, which is
``scipy.signal.correlate(b, a)`` at ``scipy.signal.correlation_lags(len(b), len(a))``.

Methods (generalized cross-correlation, Knapp & Carter 1976): the cross
spectrum ``G = conj(A) B`` is weighted before the inverse transform.

``cc``
    No weighting: plain cross-correlation. Its peak is as wide as the
    signals' spectrum is narrow, and a room's reflections and resonances
    add peaks of their own.
``gcc-phat`` (default)
    ``G / |G|``: only the phase is kept, so every frequency votes equally
    for the delay. The peak is as sharp as the sampling allows, the
    spectral colouring of a room or microphone drops out, and reflections
    show as separate small peaks instead of broadening the main one. This
    is why it is the default: on reverberant recordings it finds the
    direct path where ``cc`` often does not.
``scot``
    ``G / sqrt(S_aa S_bb)`` with the auto-spectra smoothed over
    frequency: whitening by each signal's spectral envelope, between
    ``cc`` and ``gcc-phat``.

PHAT and SCOT divide by a spectrum that is floored at 1e-9 of its largest
value, so silent bands do not divide by zero.

The correlation is computed by FFT in one of two forms:

* One transform of the whole signals, of length
  ``max(len(A) + hi, len(B) - lo, len(A), len(B))`` (rounded up to a
  5-smooth length) for a lag window ``lo..hi``. Each signal is copied
  straight into the zero-padded transform buffer; with pyFFTW the
  transforms run in place. Measured peak memory: about 25 bytes per frame
  of A and B together with pyFFTW (8.5 GB for two 1-hour 48 kHz mono
  files, 83 s), about 40 with scipy.fft alone.
* Block by block, when the window is shorter than about a quarter of A:
  overlap-save with blocks of A of ``L`` frames (at least 65536 and four
  window widths) against ``L + W - 1`` frames of B for a window of ``W``
  lags, the cross spectra summed over the blocks. It costs
  ``O(n log(L + W))`` instead of ``O(n log n)`` and holds only a block of
  each signal: 130 MB for +-1 s, 570 MB for +-10 s at 48 kHz, whatever the
  length (3.4 s and 5.7 s for the 1-hour pair). For ``cc`` both forms give
  the same values; for PHAT and SCOT the block form weights the cross
  spectrum summed over blocks (a Welch-type estimate, which averages out
  noise before whitening).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import NoReliableDelayError, UsageError
from .spectra import (
    CurveMaker,
    block_form_spectra,
    correlation_ops,
    one_transform_spectra,
    plan_transform,
)
from .peaks import bandlimited_peak, check_refine, parabolic_offset, peak_confidence
from ..validation import as_frames

__all__ = [
    "METHODS",
    "DEFAULT_METHOD",
    "DEFAULT_MIN_CONFIDENCE",
    "DelayEstimate",
    "Correlation",
    "correlate",
    "lag_window",
    "require_confidence",
]

#: Correlation methods; the first is the default.
METHODS = ("gcc-phat", "scot", "cc")
DEFAULT_METHOD = METHODS[0]
#: The confidence ``sigconv correlate`` requires by default (``--min-confidence``).
DEFAULT_MIN_CONFIDENCE = 1.5


def check_method(method: str) -> str:
    """Return ``method`` if it is one of :data:`METHODS`, else raise :class:`UsageError`."""
    if method not in METHODS:
        raise UsageError(f"unknown correlation method {method!r}; choose one of: {', '.join(METHODS)}")
    return method


@dataclass(frozen=True)
class DelayEstimate:
    """The delay of one channel of B relative to the reference channel of A.

    Attributes
    ----------
    ref_channel, channel : int
        Channel of A and channel of B.
    delay_samples : float
        Estimated delay of B after A, in samples (sub-sample refined).
    rate : float
        Sample rate in Hz.
    peak : float
        Correlation at the estimated delay (interpolated).
    confidence : float or None
        Peak height over the largest correlation magnitude outside the
        peak's neighbourhood (:func:`sigconv.correlation.peaks.peak_confidence`).
    lag : int
        Whole-sample lag of the largest correlation value.
    at_edge : bool
        The largest value lies at the edge of the search window: the true
        peak may be outside it.
    runner_up_lag : int or None
        Lag of the largest value outside the peak's neighbourhood.
    """

    ref_channel: int
    channel: int
    delay_samples: float
    rate: float
    peak: float
    confidence: float | None
    lag: int
    at_edge: bool = False
    runner_up_lag: int | None = None

    @property
    def delay_seconds(self) -> float:
        """The delay in seconds."""
        return self.delay_samples / self.rate

    def as_dict(self) -> dict:
        """A JSON-ready dict (an infinite confidence becomes None)."""
        confidence = self.confidence
        if confidence is not None and not math.isfinite(confidence):
            confidence = None
        return {
            "ref_channel": self.ref_channel,
            "channel": self.channel,
            "delay_samples": self.delay_samples,
            "delay_seconds": self.delay_seconds,
            "peak": self.peak,
            "confidence": confidence,
            "lag_samples": self.lag,
            "at_edge": self.at_edge,
        }


@dataclass(frozen=True)
class Correlation:
    """The result of :func:`correlate`.

    Attributes
    ----------
    method : str
    rate : float
    pairs : tuple of DelayEstimate
        One per channel of B.
    lo, hi : int
        The lag window searched, in samples (inclusive).
    min_lag : int
        Lags closer to zero than this many samples were left out.
    lags : numpy.ndarray or None
        ``lo..hi`` (None when the function was not kept).
    values : numpy.ndarray or None
        ``(len(lags), pairs)``: the (weighted) correlation per channel pair.
    normalized : bool
        ``cc`` values are divided by ``sqrt(sum(a**2) * sum(b**2))``.
    refine : str
    frames_a, frames_b : int
    """

    method: str
    rate: float
    pairs: tuple
    lo: int
    hi: int
    min_lag: int = 0
    lags: np.ndarray | None = None
    values: np.ndarray | None = None
    normalized: bool = False
    refine: str = "bandlimited"
    frames_a: int = 0
    frames_b: int = 0
    notes: list = field(default_factory=list, compare=False)

    @property
    def delays(self) -> np.ndarray:
        """Delay of each pair in seconds."""
        return np.array([p.delay_seconds for p in self.pairs])

    def as_dict(self) -> dict:
        """A JSON-ready summary (without the correlation function)."""
        return {
            "method": self.method,
            "rate": self.rate,
            "normalized": self.normalized,
            "refine": self.refine,
            "frames_a": self.frames_a,
            "frames_b": self.frames_b,
            "search": {"lo_samples": self.lo, "hi_samples": self.hi, "min_abs_samples": self.min_lag},
            "pairs": [p.as_dict() for p in self.pairs],
        }


def lag_window(frames_a: int, frames_b: int, rate: float = 1.0, *, max_lag: float | None = None,
               min_lag: float | None = None, lag_range: tuple[float, float] | None = None) -> tuple[int, int, int]:
    """The lags to search, in samples: ``(lo, hi, min_abs)``.

    Parameters
    ----------
    frames_a, frames_b : int
        Lengths of A and B; lags where they do not overlap are dropped.
    rate : float
        Sample rate; the limits are in seconds (samples when ``rate=1``).
    max_lag : float, optional
        Search ``|delay| <= max_lag``.
    min_lag : float, optional
        Leave out ``|delay| < min_lag``.
    lag_range : (float, float), optional
        Search ``lo <= delay <= hi`` (signed; excludes ``max_lag``).

    Examples
    --------
    >>> lag_window(100, 50)
    (-99, 49, 0)
    >>> lag_window(100, 50, 10.0, max_lag=2.5, min_lag=0.5)
    (-25, 25, 5)
    """
    full_lo, full_hi = -(frames_a - 1), frames_b - 1
    eps = 1e-9
    if lag_range is not None and max_lag is not None:
        raise UsageError("give either --max-lag or --lag-range, not both")
    if lag_range is not None:
        low, high = lag_range
        if low > high:
            raise UsageError(f"--lag-range {low:g} {high:g} is empty: the first limit must not exceed the second")
        lo, hi = math.ceil(low * rate - eps), math.floor(high * rate + eps)
    elif max_lag is not None:
        if max_lag < 0:
            raise UsageError(f"--max-lag must be zero or more seconds, not {max_lag:g}")
        hi = math.floor(max_lag * rate + eps)
        lo = -hi
    else:
        lo, hi = full_lo, full_hi
    lo, hi = max(lo, full_lo), min(hi, full_hi)
    if lo > hi:
        raise UsageError(
            f"the lag window holds no lag at which A ({frames_a} frames) and B ({frames_b} frames) overlap; "
            f"lags run from {full_lo / rate:+g} to {full_hi / rate:+g} s"
        )
    min_abs = 0
    if min_lag:
        if min_lag < 0:
            raise UsageError(f"--min-lag must be zero or more seconds, not {min_lag:g}")
        min_abs = math.ceil(min_lag * rate - eps)
        if min_abs > max(abs(lo), abs(hi)):
            raise UsageError(f"--min-lag {min_lag:g} s leaves no lag in the window {lo / rate:+g}..{hi / rate:+g} s")
    return lo, hi, min_abs


def estimate_peak(values, spectrum, maker, allowed, refine, rate, ref, channel, full_lo, full_hi) -> DelayEstimate:
    """Find, refine and rate the peak of one channel pair's correlation."""
    lo = maker.lo
    search = values if allowed is None else np.where(allowed, values, -np.inf)
    index = int(np.argmax(search))
    lag = lo + index
    rated = peak_confidence(values, index, allowed)
    n = values.shape[0]
    edge_low = index == 0 or (allowed is not None and not allowed[index - 1])
    edge_high = index == n - 1 or (allowed is not None and not allowed[index + 1])
    at_edge = (edge_low and lag > full_lo) or (edge_high and lag < full_hi)
    delay, peak = float(lag), float(values[index])
    if refine != "none" and 0 < index < n - 1 and not at_edge:
        offset = parabolic_offset(values[index - 1], values[index], values[index + 1])
        delay = lag + offset
        if refine == "bandlimited":
            found = bandlimited_peak(spectrum, maker.size, lag - maker.origin, start=delay - maker.origin)
            if found is not None:
                delay, peak = found[0] + maker.origin, found[1]
    runner_up = None if rated.runner_up is None else lo + rated.runner_up
    return DelayEstimate(ref, channel, float(delay), rate, float(peak), rated.confidence, lag, bool(at_edge), runner_up)


def _allowed(lo, hi, min_abs):
    if not min_abs:
        return None
    return np.abs(np.arange(lo, hi + 1)) >= min_abs


def correlate_sources(a, b, na, nb, rate, *, ops, ref, method, normalize, lo, hi, min_abs, refine, block,
                      keep_function, progress, names=("A", "B")) -> Correlation:
    """The engine behind :func:`correlate` and :func:`sigconv.correlation.files.correlate_files`.

    ``a`` and ``b`` are host ``(frames, channels)`` arrays or :class:`~sigconv.compute.frames.FrameWindow`
    streams of ``na`` and ``nb`` frames; ``ops`` (an :class:`~sigconv.compute.ops.ArrayOps`)
    holds and transforms the spectra. The peaks are found on the host, in the correlation and the
    spectrum :meth:`CurveMaker.values` hands back.
    """
    size, length = plan_transform(ops, na, nb, lo, hi, block)
    allowed = _allowed(lo, hi, min_abs)
    if length is None:
        transform = ops.whole_transform(size)
        maker = CurveMaker(ops, method, size, lo, hi, rotate=True, transform=transform)
        spectra = one_transform_spectra(ops, a, b, na, nb, ref, transform, method, names, progress, rate)
    else:
        maker = CurveMaker(ops, method, size, lo, hi)
        spectra = block_form_spectra(ops, a, b, na, nb, ref, lo, hi, size, length, method, normalize, names,
                                     progress, rate)
    del a, b
    estimates, curves = [], []
    for channel, (spectrum, auto_a, auto_b, energy_a, energy_b) in enumerate(spectra):
        scale = math.sqrt(energy_a * energy_b) if normalize and energy_a * energy_b > 0 else 1.0
        maker.weight(spectrum, auto_a, auto_b, scale)
        values, spectrum = maker.values(spectrum, keep_spectrum=refine == "bandlimited")
        estimates.append(estimate_peak(values, spectrum, maker, allowed, refine, rate, ref, channel, -(na - 1), nb - 1))
        del spectrum
        if keep_function:
            curves.append(values)
    lags = np.arange(lo, hi + 1) if keep_function else None
    values = np.stack(curves, axis=1) if keep_function else None
    return Correlation(method, rate, tuple(estimates), lo, hi, min_abs, lags, values, bool(normalize), refine, na, nb)


def check_options(method, normalize, refine, ref_channel, channels_a, block=None) -> None:
    """Refuse bad or conflicting options early, in plain words.

    The reference channel is checked against ``channels_a`` only when that is known (not None).
    """
    check_method(method)
    check_refine(refine)
    if normalize and method != "cc":
        raise UsageError(f"--normalize applies to --method cc; {method} values are already scaled by the weighting")
    if ref_channel < 0:
        raise UsageError(f"--ref-channel {ref_channel} does not exist: channels are numbered from 0")
    if channels_a is not None and ref_channel >= channels_a:
        raise UsageError(
            f"--ref-channel {ref_channel} does not exist: A has {channels_a} channel(s), numbered 0 to {channels_a - 1}"
        )
    if block is not None and block < 1:
        raise UsageError(f"--block must be a positive number of frames, not {block}")


def correlate(a, b, rate: float = 1.0, *, method: str = DEFAULT_METHOD, normalize: bool = False,
              max_lag: float | None = None, min_lag: float | None = None,
              lag_range: tuple[float, float] | None = None, ref_channel: int = 0, refine: str = "bandlimited",
              min_confidence: float | None = None, block: int | None = None, keep_function: bool = True,
              progress: Callable[[int, int | None, float], None] | None = None, backend: str = "auto",
              context=None) -> Correlation:
    """Estimate how far each channel of ``b`` lags channel ``ref_channel`` of ``a``.

    Parameters
    ----------
    a, b : array_like
        1-D or ``(frames, channels)`` signals at the same sample rate; their
        lengths may differ.
    rate : float
        Sample rate in Hz; delays and lag limits are in seconds (samples
        with the default 1).
    method : {'gcc-phat', 'scot', 'cc'}
        Weighting of the cross spectrum (see the module notes).
    normalize : bool
        For ``cc``: divide by ``sqrt(sum(a**2) * sum(b**2))``, so that the
        values lie in -1..1 (1 for identical signals at lag 0).
    max_lag, min_lag : float, optional
        Search only ``min_lag <= |delay| <= max_lag``. A short window costs
        less time and memory.
    lag_range : (float, float), optional
        Search only ``lo <= delay <= hi`` (instead of ``max_lag``).
    ref_channel : int
        Channel of ``a`` that every channel of ``b`` is compared with.
    refine : {'bandlimited', 'parabolic', 'none'}
        Sub-sample refinement of the peak (:mod:`sigconv.correlation.peaks`).
    min_confidence : float, optional
        Raise :class:`~sigconv.errors.NoReliableDelayError` if a pair's
        confidence is below this.
    block : int, optional
        Experts: frames of ``a`` per block of the block-by-block form
        (default: one transform unless the window is much shorter than
        ``a``).
    keep_function : bool
        Keep the correlation values in the result (memory: 8 bytes per lag
        and pair).
    progress : callable, optional
        Called as ``progress(frames_done, frames_total, rate)``.
    backend : str
        Compute backend that runs the transforms (see ``sigconv backends``),
        or ``"auto"``: the fastest that runs ``correlate``.
    context : ExecutionContext or int, optional
        Threads the transforms may use (an int is a thread count).

    Returns
    -------
    Correlation
        ``pairs`` holds one :class:`DelayEstimate` per channel of ``b``;
        ``lags`` and ``values`` the correlation over the searched window.

    Raises
    ------
    NoCorrelationPeakError
        A signal is silent or constant.
    NoReliableDelayError
        A confidence is below ``min_confidence``.
    InvalidSignalError
        Empty signals, NaN or infinite samples.
    UsageError
        Unknown method or refinement, bad lag limits or channel.
    BackendUnavailableError
        ``backend`` is unknown, unavailable here, or does not run ``correlate``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal(1000)
    >>> b = np.concatenate([np.zeros(25), a])       # B is A delayed by 25 samples
    >>> result = correlate(a, b)
    >>> round(result.pairs[0].delay_samples, 3), result.pairs[0].confidence > 5
    (25.0, True)
    >>> cc = correlate(a, a, method="cc", normalize=True, max_lag=3)
    >>> cc.lags.tolist(), round(float(cc.values[3, 0]), 6)
    ([-3, -2, -1, 0, 1, 2, 3], 1.0)
    """
    a = as_frames(a, name="signal A")
    b = as_frames(b, name="signal B")
    check_options(method, normalize, refine, ref_channel, a.shape[1], block)
    na, nb = a.shape[0], b.shape[0]
    lo, hi, min_abs = lag_window(na, nb, rate, max_lag=max_lag, min_lag=min_lag, lag_range=lag_range)
    ops = correlation_ops(backend, na, nb, b.shape[1], context)
    result = correlate_sources(
        a, b, na, nb, rate, ops=ops,
        ref=ref_channel, method=method, normalize=normalize, lo=lo, hi=hi, min_abs=min_abs, refine=refine,
        block=block, keep_function=keep_function, progress=progress,
    )
    if min_confidence is not None:
        require_confidence(result, min_confidence)
    return result


def require_confidence(result: Correlation, min_confidence: float) -> None:
    """Raise :class:`NoReliableDelayError` naming every pair whose confidence is below ``min_confidence``.

    Pairs whose confidence cannot be measured (the window holds nothing
    outside the peak's neighbourhood) pass.
    """
    weak = [p for p in result.pairs if p.confidence is not None and p.confidence < min_confidence]
    if not weak:
        return
    parts = []
    for p in weak:
        other = "" if p.runner_up_lag is None else f"; another lag, {p.runner_up_lag:+d} samples, correlates nearly as well"
        parts.append(
            f"B channel {p.channel} against A channel {p.ref_channel}: the best lag, {p.lag:+d} samples "
            f"({p.lag / p.rate:+.6f} s), has confidence {p.confidence:.2f}{other}"
        )
    raise NoReliableDelayError(
        f"no reliable delay found ({'; '.join(parts)}); the confidence must reach --min-confidence "
        f"{min_confidence:g}. Use longer or cleaner recordings, narrow the search with --max-lag or --lag-range, "
        "try another --method, use --drift if the recorders' clocks differ (the peak smears), "
        "or lower --min-confidence"
    )
