"""Convolution of signals with impulse responses: channel routing and the reverb mix."""

from __future__ import annotations

import numpy as np

from .backends import AUTO, mode_slice, select_backend
from .backends.base import check_mode
from .errors import IncompatibleSignalsError
from .mixing import check_normalize, db_to_gain, ir_energy_scale, ir_onset, normalize_peak
from .resample import resample
from .signal import Signal
from .validation import as_frames, dtype_for_precision

__all__ = ["convolve", "convolve_signal", "channel_routing"]

ROUTING_HELP = (
    "an IR with 1 channel is applied to every input channel, one with as many channels as the "
    "input channel by channel, a 2-channel IR turns a mono input into stereo, and a 4-channel "
    "true-stereo IR (LL, LR, RL, RR) is applied to a stereo input as a 2x2 matrix"
)


def channel_routing(input_channels: int, ir_channels: int) -> str:
    """How an IR's channels map onto an input's channels.

    Returns
    -------
    {'shared', 'parallel', 'split', 'matrix'}
        ``shared``: a mono IR on every input channel; ``parallel``: IR
        channel *c* on input channel *c*; ``split``: a mono input through
        each IR channel (mono to multichannel); ``matrix``: a stereo input
        through a true-stereo IR whose channels are LL, LR, RL, RR (input
        side first: LR carries the left input to the right output).

    Raises
    ------
    IncompatibleSignalsError
        Any other combination; the message names both channel counts.

    Examples
    --------
    >>> channel_routing(2, 1), channel_routing(1, 2), channel_routing(2, 4)
    ('shared', 'split', 'matrix')
    """
    if ir_channels == 1:
        return "shared"
    if ir_channels == input_channels:
        return "parallel"
    if input_channels == 1:
        return "split"
    if input_channels == 2 and ir_channels == 4:
        return "matrix"
    raise IncompatibleSignalsError(
        f"cannot apply an impulse response with {ir_channels} channels to an input with "
        f"{input_channels} channels: {ROUTING_HELP}"
    )


def _wet(x: np.ndarray, h: np.ndarray, routing: str, mode: str, backend: str) -> np.ndarray:
    if routing == "matrix":
        # (xL*LL, xL*LR, xR*RL, xR*RR) -> (L, R) = (xL*LL + xR*RL, xL*LR + xR*RR)
        x, h = x[:, [0, 0, 1, 1]], h
    channels = max(x.shape[1], h.shape[1])
    engine = select_backend(backend, x.shape[0], h.shape[0], channels)
    y = engine.convolve(x, h, mode)
    y = y.reshape(y.shape[0], -1)
    if routing == "matrix":
        y = y[:, 0:2] + y[:, 2:4]
    return y


def _dry_full(x: np.ndarray, full_length: int, channels: int, onset: int) -> np.ndarray:
    dry = np.zeros((full_length, channels), dtype=x.dtype)
    dry[onset : onset + x.shape[0]] = x  # broadcasts a mono input over the outputs
    return dry


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
    precision: int = 64,
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
    normalize : {'none', 'peak', 'ir-energy'}, optional
        ``none`` (default): the exact LTI output. ``peak``: the mix is
        scaled to a peak of 1.0 (0 dBFS) before `gain_db`. ``ir-energy``:
        the IR is scaled so that its loudest output path has unit energy.
    precision : {64, 32}, optional
        Bits of the float computation and of the result.

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
        Bad `mode`, `normalize` or `precision`; unknown or unavailable `backend`.

    Notes
    -----
    Full mode computes :math:`y[k] = \\sum_j x[j]\\, h[k-j]` for
    :math:`k = 0 \\ldots n+m-2`.

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
    dtype = dtype_for_precision(precision)
    one_dimensional = np.ndim(x) == 1 and np.ndim(h) == 1
    xs = as_frames(x, "signal", dtype)
    hs = as_frames(h, "impulse response", dtype)
    routing = channel_routing(xs.shape[1], hs.shape[1])
    if normalize == "ir-energy":
        hs = hs * dtype.type(ir_energy_scale(hs, routing))

    n, m = xs.shape[0], hs.shape[0]
    if dry:
        y = _wet(xs, hs, routing, "full", backend)
        y *= dtype.type(wet)
        y += dtype.type(dry) * _dry_full(xs, y.shape[0], y.shape[1], ir_onset(hs))
        y = y[mode_slice(n, m, mode)]
    else:
        y = _wet(xs, hs, routing, mode, backend)
        if wet != 1:
            y *= dtype.type(wet)
    if normalize == "peak":
        y = normalize_peak(y)
    if gain_db:
        y *= dtype.type(db_to_gain(gain_db))
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
        ``gain_db``, ``normalize``, ``precision``).

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
    h = ir.data
    if ir.rate != signal.rate:
        if not resample_ir:
            raise IncompatibleSignalsError(
                f"the input is at {signal.rate:g} Hz and the impulse response at {ir.rate:g} Hz; "
                "resample one of them first, or pass --resample to resample the IR to the input's rate"
            )
        h = resample(h, ir.rate, signal.rate, impulse_response=True)
    y = convolve(signal.data, h, mode, **options)
    return signal.with_data(y.reshape(y.shape[0], -1))
