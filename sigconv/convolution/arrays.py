"""Convolution of signals with impulse responses: channel routing and the reverb mix."""

from __future__ import annotations

import numpy as np

from ..backends.base import Workload
from ..backends.registry import AUTO
from ..compute.context import resolve_context
from ..compute.modes import check_mode, mode_slice
from ..errors import UsageError
from .mixing import POST_NORMALIZATIONS, check_levels, check_normalize, post_gain, prepare_ir
from ..compute.resampling import ir_at_rate
from ..compute.routing import channel_routing, routes_for, sum_paths
from ..signal import Signal
from ..validation import as_frames, dtype_for_precision

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
    predelay: int = 0,
    precision: int = 64,
    context=None,
) -> np.ndarray:
    """Convolve a signal with an impulse response: ``y = wet * (x ⊗ h) + dry * x``.

    Parameters
    ----------
    x : array_like
        Signal, ``(frames,)`` or ``(frames, channels)``; ints or floats.
    h : array_like
        Impulse response (kernel), ``(frames,)`` or ``(frames, channels)``.
        Channel routing: see :func:`channel_routing`.
    mode : {'full', 'same', 'valid'}, optional
        Output length, as in ``scipy.signal.convolve``: ``full`` (default,
        keeps the reverb tail) gives ``n + m - 1`` frames, ``same`` gives
        ``n`` frames centred on the full result, ``valid`` gives
        ``max(n, m) - min(n, m) + 1`` frames.
    backend : str, optional
        ``"auto"`` (default: the cost model picks), ``"direct"``, ``"fft"``
        or any registered backend.
    wet, dry : float, optional
        Linear gains of the convolved and the unprocessed signal (defaults 1
        and 0). The dry path is delayed to the IR's onset (the first sample
        within 20 dB of its peak) so that it lines up with the direct sound.
    gain_db : float, optional
        Level change applied last, in dB.
    normalize : {'none', 'peak', 'ir-energy', 'rms-match'}, optional
        ``none`` (default): the exact LTI output. ``peak``: the mix is
        scaled to a peak of 1.0 (0 dBFS) before `gain_db`. ``ir-energy``:
        the IR is scaled so that its loudest output path has unit energy.
        ``rms-match``: the mix is scaled so that its RMS equals the input's
        (a reverb that does not change loudness), before `gain_db`.
    predelay : int, optional
        Samples of silence put before the IR: delays the wet path only.
    precision : {64, 32}, optional
        Bits of the float computation and of the result.
    context : ExecutionContext or int, optional
        Threads the computation may use (an int is a thread count);
        default :class:`~sigconv.compute.context.ExecutionContext` (the
        machine's CPUs, at most 8).

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
    """
    check_mode(mode)
    check_normalize(normalize)
    check_levels(wet, dry, gain_db)
    dtype = dtype_for_precision(precision)
    if not (np.isfinite(predelay) and predelay >= 0 and predelay == int(predelay)):
        raise UsageError(f"predelay must be a whole number of samples, zero or more, not {predelay!r}")
    predelay = int(predelay)
    one_dimensional = np.ndim(x) == 1 and np.ndim(h) == 1
    xs = as_frames(x, "signal", dtype)
    hs = as_frames(h, "impulse response", dtype)
    if (backend == AUTO and xs.shape[1] == 1 and hs.shape[1] == 1 and xs.shape[0] * hs.shape[0] <= _DIRECT_ALWAYS
            and wet == 1 and not dry and not gain_db and normalize == "none" and not predelay):
        # small mono jobs (a loop over short arrays): no transform can win, so nothing is planned
        y = np.convolve(xs[:, 0], hs[:, 0])[mode_slice(xs.shape[0], hs.shape[0], mode)]
        return y if one_dimensional else y[:, None]
    unscaled = wet == 1 and dry == 0 and gain_db == 0 and normalize == "none" and dtype == np.float64
    integer_bound = _integer_bound(np.asarray(x), np.asarray(h)) if unscaled else None
    routing = channel_routing(xs.shape[1], hs.shape[1])
    hs = prepare_ir(hs, routing, wet=wet, dry=dry, gain_db=gain_db, normalize=normalize, predelay=predelay)
    y = _convolve_paths(xs, hs, mode, backend, resolve_context(context), integer_bound)
    if normalize in POST_NORMALIZATIONS:
        energy = float(np.sum(np.square(y, dtype=np.float64)))
        input_energy = float(np.sum(np.square(xs, dtype=np.float64)))
        y = y * dtype.type(post_gain(normalize, gain_db, float(np.max(np.abs(y))), energy, y.size, input_energy, xs.size))
    y = np.ascontiguousarray(y, dtype=dtype)
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
        ``gain_db``, ``normalize``, ``predelay``, ``precision``).

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
    y = convolve(signal.data, ir_at_rate(ir, signal.rate, resample_ir), mode, **options)
    return signal.with_data(y.reshape(y.shape[0], -1))
