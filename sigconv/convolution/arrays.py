"""Convolution of signals with impulse responses: channel routing and the reverb mix."""

from __future__ import annotations

import numpy as np

from ..backends.base import Workload
from ..backends.registry import AUTO
from ..compute.context import resolve_context
from .alignment import check_alignment, check_convolve_mode, output_slice
from ..errors import UsageError
from .mixing import DEFAULT_TARGET_LUFS, check_levels, check_normalize, predelay_frames, prepare_ir
from ..compute.resampling import ir_at_rate
from ..compute.routing import channel_routing, routes_for, sum_paths
from ..signal import Signal
from ..compute.onsets import ir_onset
from ..validation import as_frames, dtype_for_precision
from .mixing import POST_NORMALIZATIONS

__all__ = ["convolve", "convolve_signal", "channel_routing"]

#: Multiply-adds below which a mono job is convolved directly, unplanned: about
#: 16 µs of numpy's loop, less than any transform's set-up costs.
_DIRECT_ALWAYS = 1 << 17


def _convolve_paths(x: np.ndarray, h: np.ndarray, mode: str, backend: str, context,
                    integer_bound: float | None) -> np.ndarray:
    """Run every input-to-output path through one backend call and sum into the outputs.

    With ``integer_bound`` (integer inputs, unscaled) a transform's result
    is rounded to the exact integers it approximates; the planner keeps
    jobs whose results could pass 2^52 on an exact backend.
    """
    from ..backends.planner import choose_backend

    routes, outputs = routes_for(x.shape[1], h.shape[1])
    sources, kernels = [r.source for r in routes], [r.kernel for r in routes]
    # channel by channel, the arrays as they are; other routings gather their paths' columns
    xs = x if sources == list(range(x.shape[1])) else x[:, sources]
    hs = h if kernels == list(range(h.shape[1])) else h[:, kernels]
    workload = Workload("convolve", x.shape[0], h.shape[0], len(routes), len(routes), len(routes), x.dtype.name,
                        integer_bound=integer_bound, in_memory=True)
    chosen, estimate = choose_backend(backend, workload, context)
    y = chosen.convolve(xs, hs, mode, context=context, plan=getattr(estimate, "plan", None))
    if integer_bound is not None and not chosen.exact:
        y = np.rint(y)
    return sum_paths(y.reshape(-1, len(routes)), routes, outputs)


def _both_float32(x, h) -> bool:
    """True where both inputs are float32 arrays: the result is returned as float32 then."""
    return getattr(x, "dtype", None) == np.float32 and getattr(h, "dtype", None) == np.float32


def _integer_bound(x, h) -> float | None:
    """``max|x| * max|h| * min(n, m)`` when both are integer arrays (scipy's bound), else None."""
    kinds = "uib"
    if x.dtype.kind not in kinds or h.dtype.kind not in kinds or x.size == 0 or h.size == 0:
        return None
    peak_x = float(np.max(np.abs(x.astype(np.float64))))
    peak_h = float(np.max(np.abs(h.astype(np.float64))))
    return peak_x * peak_h * min(x.shape[0], h.shape[0])


def convolve(
    x,
    h,
    mode: str = "full",
    *,
    backend: str = AUTO,
    wet: float = 1.0,
    dry: float = 0.0,
    gain_db: float = 0.0,
    normalize: str = "none",
    predelay=0,
    precision: int | None = None,
    context=None,
    align: str = "wet",
    ceiling=None,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    rate: float | None = None,
) -> np.ndarray:
    """Convolve a signal with an impulse response: ``y = wet * (x ⊗ h) + dry * x``.

    Parameters
    ----------
    x : array_like
        Signal, ``(frames,)`` or ``(frames, channels)``; ints or floats.
    h : array_like
        Impulse response (kernel), ``(frames,)`` or ``(frames, channels)``.
        Channel routing: see :func:`channel_routing`.
    mode : {'full', 'same', 'valid', 'keep'}, optional
        Output length, as in ``scipy.signal.convolve``: ``full`` (default,
        keeps the reverb tail) gives ``n + m - 1`` frames, ``same`` gives
        ``n`` frames centred on the full result, ``valid`` gives
        ``max(n, m) - min(n, m) + 1`` frames. ``keep`` gives the input's
        ``n`` frames from time zero (the first ``n`` of ``full``): the
        length-keeping mode for a causal IR such as a reverb, where
        ``same`` cuts the first ``(m - 1) // 2`` frames of the result
        (``sigconv convolve`` warns then; see
        :func:`sigconv.convolution.alignment.same_mode_warning`).
    backend : str, optional
        ``"auto"`` (default: the cost model picks), ``"direct"``, ``"fft"``
        or any registered backend.
    wet, dry : float, optional
        Linear gains of the convolved and the unprocessed signal (defaults 1
        and 0). The dry path is delayed to the IR's onset (the first sample
        within 20 dB of its peak, :func:`sigconv.compute.onsets.ir_onset`)
        so that it lines up with the direct sound; see `align`.
    gain_db : float, optional
        Level change applied last, in dB.
    normalize : {'none', 'peak', 'ir-energy', 'rms-match', 'lufs'}, optional
        ``none`` (default): the exact LTI output. ``peak``: the mix is
        scaled to a peak of 1.0 (0 dBFS) before `gain_db`. ``ir-energy``:
        the IR is scaled so that its loudest output path has unit energy.
        ``rms-match``: the mix is scaled so that its RMS equals the input's
        (a reverb that does not change loudness), before `gain_db`.
        ``lufs``: the mix is scaled to an integrated loudness of
        `target_lufs` (ITU-R BS.1770-4, EBU R128; needs `rate`), before
        `gain_db`.
    predelay : int or str, optional
        Silence put before the IR: delays the wet path only. A number is
        samples; a string takes a unit (``"20ms"``, ``"0.02s"``,
        ``"960smp"``; times need `rate`).
    precision : {64, 32}, optional
        Bits of the float computation and of the result. Default: computed
        in float64, and returned as float32 where `x` and `h` are both
        float32 (as ``scipy.signal.convolve`` keeps float32), else float64.
    context : ExecutionContext or int, optional
        Threads the computation may use (an int is a thread count);
        default :class:`~sigconv.compute.context.ExecutionContext` (the
        machine's CPUs, at most 8).
    align : {'wet', 'dry', 'none'}, optional
        Which path keeps time zero (:mod:`sigconv.convolution.alignment`):
        ``wet`` (default) delays the dry path by the IR's onset; ``dry``
        keeps the dry path at time zero and advances the output by the
        onset (with ``dry=1, wet=0, mode='keep'`` the result is `x`);
        ``none`` moves nothing.
    ceiling : str or Level, optional
        Peak limit applied as a gain after everything else: ``"-1dBTP"``
        (true peak, 4x oversampling per ITU-R BS.1770-4 Annex 2) or
        ``"-0.1dBFS"`` (sample peak); only ever lowers the level.
    target_lufs : float, optional
        Loudness of ``normalize='lufs'``, default -23 LUFS.
    rate : float, optional
        Sample rate in Hz, needed by ``normalize='lufs'`` and by a
        `predelay` in time units.

    Returns
    -------
    numpy.ndarray
        1-D if `x` and `h` are both 1-D, else ``(frames, channels)``.

    Raises
    ------
    InvalidSignalError
        Empty, non-numeric or non-finite input.
    IncompatibleSignalsError
        Channel counts that cannot be routed.
    UsageError, BackendUnavailableError
        Bad `mode`, `normalize` or `precision`; non-finite or absurd `wet`,
        `dry`, `gain_db` (beyond :data:`sigconv.limits.MAX_LINEAR_GAIN` and
        :data:`sigconv.limits.MAX_GAIN_DB`) or `predelay`; unknown or
        unavailable `backend`.

    Notes
    -----
    Full mode computes :math:`y[k] = \\sum_j x[j]\\, h[k-j]` for
    :math:`k = 0 \\ldots n+m-2`. Integer inputs (without gains or
    normalization) give exact integer results: a transform's result is
    rounded, and where the result could exceed 2^52 ``auto`` computes in
    the time domain, as ``scipy.signal.choose_conv_method`` decides.

    Examples
    --------
    >>> import numpy as np, sigconv
    >>> sigconv.convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> sigconv.convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5], mode="same")
    array([1. , 2.5, 4. ])
    >>> sigconv.convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5], mode="keep")
    array([0. , 1. , 2.5])
    """
    check_convolve_mode(mode)
    check_alignment(align, mode)
    check_normalize(normalize)
    check_levels(wet, dry, gain_db)
    dtype = dtype_for_precision(64 if precision is None else precision)
    out_dtype = np.dtype(np.float32) if precision is None and _both_float32(x, h) else dtype
    if isinstance(predelay, (int, float, np.integer, np.floating)) and not (
            np.isfinite(predelay) and predelay >= 0 and predelay == int(predelay)):
        raise UsageError(f"predelay must be a whole number of samples, zero or more, not {predelay!r}")
    predelay = predelay_frames(predelay, rate)
    if normalize == "lufs" and not rate:
        raise UsageError("normalize='lufs' measures loudness, which needs the sample rate: pass rate=...")
    from .levels import check_ceiling, check_target_lufs

    ceiling = check_ceiling(ceiling)
    target_lufs = check_target_lufs(target_lufs) if normalize == "lufs" else target_lufs
    one_dimensional = np.ndim(x) == 1 and np.ndim(h) == 1
    xs = as_frames(x, "signal", dtype)
    hs = as_frames(h, "impulse response", dtype)
    plain = wet == 1 and not dry and not gain_db and normalize == "none" and not predelay and ceiling is None
    advance = ir_onset(hs) if align == "dry" else 0
    if (backend == AUTO and xs.shape[1] == 1 and hs.shape[1] == 1 and xs.shape[0] * hs.shape[0] <= _DIRECT_ALWAYS
            and plain and not advance):
        # small mono jobs (a loop over short arrays): no transform can win, so nothing is planned
        y = np.convolve(xs[:, 0], hs[:, 0])[output_slice(xs.shape[0], hs.shape[0], mode)].astype(out_dtype, copy=False)
        return y if one_dimensional else y[:, None]
    unscaled = plain and dtype == np.float64
    integer_bound = _integer_bound(np.asarray(x), np.asarray(h)) if unscaled else None
    routing = channel_routing(xs.shape[1], hs.shape[1])
    hs = prepare_ir(hs, routing, wet=wet, dry=dry, gain_db=gain_db, normalize=normalize, predelay=predelay,
                    align=align)
    if mode in ("keep", "full") and (mode == "keep" or advance):
        y = _convolve_paths(xs, hs, "full", backend, resolve_context(context), integer_bound)
        y = y[output_slice(xs.shape[0], hs.shape[0], mode, advance)]
    else:
        y = _convolve_paths(xs, hs, mode, backend, resolve_context(context), integer_bound)
    if normalize in POST_NORMALIZATIONS or ceiling is not None:
        from .levels import OutputMeter, plan_levels

        meter = OutputMeter(rate or 1.0, y.shape[1], loudness=normalize == "lufs",
                            true_peak=ceiling is not None and ceiling.unit == "dBTP")
        meter.write(y)
        plan = plan_levels(meter, normalize, gain_db if normalize in POST_NORMALIZATIONS else 0.0,
                           float(np.sum(np.square(xs, dtype=np.float64))), xs.size, target_lufs, ceiling)
        y = y * dtype.type(plan.scale)
    y = np.ascontiguousarray(y, dtype=out_dtype)
    return y[:, 0] if one_dimensional else y


def convolve_signal(signal: Signal, ir: Signal, mode: str = "full", *, resample_ir: bool = False, **options) -> Signal:
    """Convolve two :class:`Signal` objects, checking (or matching) their sample rates.

    Parameters
    ----------
    signal, ir : Signal
        The input and the impulse response.
    mode : {'full', 'same', 'valid'}, optional
        As in :func:`convolve`.
    resample_ir : bool, optional
        Resample the IR to the signal's rate (polyphase, gain preserved)
        when the rates differ, instead of raising.
    **options
        Passed on to :func:`convolve` (``backend``, ``wet``, ``dry``,
        ``gain_db``, ``normalize``, ``predelay``, ``precision``, ``align``,
        ``ceiling``, ``target_lufs``); ``rate`` is the signal's.

    Returns
    -------
    Signal
        The result at the signal's rate, carrying the signal's subtype and
        format so that a writer can keep them.

    Raises
    ------
    IncompatibleSignalsError
        The rates differ and `resample_ir` is false, or the channel counts
        cannot be routed.

    Examples
    --------
    >>> import numpy as np
    >>> dry = Signal(np.ones((4, 1)), 8000)
    >>> out = convolve_signal(dry, Signal(np.array([[1.0], [1.0]]), 8000))
    >>> out.data.ravel().tolist(), out.rate
    ([1.0, 2.0, 2.0, 2.0, 1.0], 8000)
    """
    channel_routing(signal.channels, ir.channels)
    options.setdefault("rate", signal.rate)
    y = convolve(signal.data, ir_at_rate(ir, signal.rate, resample_ir), mode, **options)
    return signal.with_data(y.reshape(y.shape[0], -1))
