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

The correlation is computed by FFT in one of three forms:

* One transform of the whole signals, of length
  ``max(len(A) + hi, len(B) - lo, len(A), len(B))`` (rounded up to a
  5-smooth length) for a lag window ``lo..hi``. Each signal is copied
  straight into the zero-padded transform buffer; with pyFFTW the
  transforms run in place. About 40 bytes are held per point, so this
  form is used up to :data:`~sigconv.correlation.coarse.WHOLE_POINTS`
  (2^21) points, or where the whole function is asked for
  (``keep_function``).
* Block by block, when the window is shorter than about a quarter of A:
  overlap-save with blocks of A of ``L`` frames (at least 65536 and four
  window widths) against ``L + W - 1`` frames of B for a window of ``W``
  lags, the cross spectra summed over the blocks. It costs
  ``O(n log(L + W))`` instead of ``O(n log n)`` and holds only a block of
  each signal, whatever the length. For ``cc`` both forms give the same
  values; for PHAT and SCOT the block form weights the cross spectrum
  summed over blocks (a Welch-type estimate, which averages out noise
  before whitening).
* Coarse to fine (:mod:`sigconv.correlation.coarse`), where either of the
  others would hold more: a GCC-PHAT search of the whole window on
  decimated signals, then the block form at the full rate around its best
  candidates. Memory is bounded whatever the length (under 300 MB for two
  1-hour 48 kHz files).

Whatever the form, the delay is the direct path of the strongest cluster
of arrivals and the confidence is measured on the GCC-PHAT correlation
(:mod:`sigconv.correlation.estimates`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import UsageError
from ..limits import check_finite
from ..validation import as_frames
from .coarse import array_sources, coarse_to_fine, needs_coarse, settle
from .estimates import estimate_peak
from .peaks import check_refine
from .results import Correlation, DelayEstimate, judge, require_confidence
from .spectra import (
    CurveMaker,
    block_form_spectra,
    correlation_ops,
    one_transform_spectra,
    plan_transform,
)

__all__ = [
    "METHODS",
    "DEFAULT_METHOD",
    "DEFAULT_MIN_CONFIDENCE",
    "DelayEstimate",
    "Correlation",
    "correlate",
    "lag_window",
    "require_confidence",
    "judge",
    "estimate_peak",
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
    check_lags(max_lag, min_lag, lag_range)
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
    spectrum :meth:`CurveMaker.values` hands back; for ``cc`` and ``scot`` the confidence is
    measured on the GCC-PHAT correlation of the same cross spectrum (:mod:`sigconv.correlation.estimates`).
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
        reference = maker.phat_reference(spectrum)
        scale = math.sqrt(energy_a * energy_b) if normalize and energy_a * energy_b > 0 else 1.0
        maker.weight(spectrum, auto_a, auto_b, scale)
        values, spectrum = maker.values(spectrum, keep_spectrum=refine == "bandlimited")
        estimates.append(estimate_peak(values, spectrum, maker, allowed, refine, rate, ref, channel, -(na - 1),
                                       nb - 1, reference=reference))
        del spectrum, reference
        if keep_function:
            curves.append(values)
    lags = np.arange(lo, hi + 1) if keep_function else None
    values = np.stack(curves, axis=1) if keep_function else None
    form = "one transform" if length is None else "blocks"
    return Correlation(method, rate, tuple(estimates), lo, hi, min_abs, lags, values, bool(normalize), refine, na, nb,
                       search={"form": form})


def check_lags(max_lag: float | None = None, min_lag: float | None = None,
               lag_range: tuple[float, float] | None = None) -> None:
    """Refuse lag limits that are not finite numbers (:class:`UsageError` naming the option).

    Examples
    --------
    >>> check_lags(max_lag=float("nan"))
    Traceback (most recent call last):
    ...
    sigconv.errors.UsageError: --max-lag must be a finite number of seconds, not nan
    """
    limits = [("--max-lag", max_lag), ("--min-lag", min_lag), *(("--lag-range", v) for v in lag_range or ())]
    for option, value in limits:
        if value is not None:
            check_finite(value, option, " of seconds")


def check_options(method, normalize, refine, ref_channel, channels_a, block=None, *, max_lag=None, min_lag=None,
                  lag_range=None, min_confidence=None) -> None:
    """Refuse bad or conflicting options early, in plain words.

    The reference channel is checked against ``channels_a`` only when
    that is known (not None); lag limits (:func:`check_lags`) and
    ``min_confidence`` must be finite, ``min_confidence`` zero or more.
    """
    check_lags(max_lag, min_lag, lag_range)
    if min_confidence is not None and check_finite(min_confidence, "--min-confidence") < 0:
        raise UsageError(f"--min-confidence must be zero or more, not {min_confidence:g}")
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
    check_options(method, normalize, refine, ref_channel, a.shape[1], block, max_lag=max_lag, min_lag=min_lag,
                  lag_range=lag_range, min_confidence=min_confidence)
    na, nb = a.shape[0], b.shape[0]
    lo, hi, min_abs = lag_window(na, nb, rate, max_lag=max_lag, min_lag=min_lag, lag_range=lag_range)
    ops = correlation_ops(backend, na, nb, b.shape[1], context)
    if needs_coarse(ops, na, nb, lo, hi, block, keep_function):
        result = coarse_to_fine(array_sources(a, b), rate, ops=ops, ref=ref_channel, method=method,
                                normalize=normalize, lo=lo, hi=hi, min_abs=min_abs, refine=refine, block=block,
                                progress=progress)
    else:
        result = correlate_sources(
            a, b, na, nb, rate, ops=ops,
            ref=ref_channel, method=method, normalize=normalize, lo=lo, hi=hi, min_abs=min_abs, refine=refine,
            block=block, keep_function=keep_function, progress=progress,
        )
        result = settle(array_sources(a, b), rate, result, ops=ops, ref=ref_channel, normalize=normalize, block=block)
    if min_confidence is not None:
        result = require_confidence(result, min_confidence)
    return result
