"""Deconvolution: given ``y = x ⊗ h (+ noise)`` and ``h``, estimate ``x``.

Four methods (see :func:`deconvolve`): ``wiener`` and ``tikhonov`` run a
regularised inverse FIR (:mod:`sigconv.deconvolution.inverse`) through the streaming
convolution engine, so files of any length stream; ``exact``
(:mod:`sigconv.deconvolution.polydiv`) and ``lucy`` (:mod:`sigconv.deconvolution.lucy`) work on the
whole signal. This module holds the array API and the steps it shares
with the file job (:mod:`sigconv.deconvolution.files`); the settings are
in :mod:`sigconv.deconvolution.settings`.

Every method computes through the chosen backend (:func:`deconvolution_backend`):
its :class:`~sigconv.compute.ops.ArrayOps` designs the inverse, estimates
the spectra and iterates, and its streaming engine applies the inverse.
Host arrays enter with ``ops.to_device``; results leave with ``ops.to_host``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ..backends.base import Workload
from ..backends.planner import choose_backend
from ..backends.registry import AUTO
from ..compute.context import ExecutionContext, resolve_context
from ..compute.routing import ROUTING_HELP
from ..errors import IncompatibleSignalsError, InvalidSignalError, SpectralNullWarning, UsageError
from ..limits import (ARRAY_MEMORY_FACTOR, GENERATED_MEMORY_FACTOR, check_frames, check_ir_memory,
                      check_memory)
from ..validation import as_frames
from .budget import inverse_tap_limit, stream_partition
from .inverse import InverseFilter, design_inverse, kirkeby_profile, longest_inverse, null_message, spectral_nulls
from .layouts import LAYOUTS, design_layout_inverse, layout_routes
from .lucy import check_non_negative, richardson_lucy
from .polydiv import check_remainder, divide, kernel_condition
from .settings import DeconvolveSettings, output_length, parse_length
from .wiener import NoiseSpectra, Welch, segment_length, snr_regularisation

__all__ = [
    "apply_inverse",
    "deconvolution_backend",
    "deconvolve",
    "inverse_engine",
    "check_layout_method",
    "inverse_filter",
    "kernel_columns",
    "kernel_layout",
    "null_warning",
    "truncation_warning",
]


def deconvolution_backend(name: str, frames: int | None, taps: int, channels: int, dtype, context=None):
    """The backend that deconvolves ``frames`` of ``channels`` by a ``taps``-tap kernel, and its array ops.

    Returns
    -------
    backend : Backend
        It streams the inverse filter too.
    ops : ArrayOps
        ``backend.ops(context)``.

    Raises
    ------
    BackendUnavailableError
        ``name`` is unknown, unavailable, or does not run deconvolve.
    """
    workload = Workload("deconvolve", frames, taps, channels, channels, channels, np.dtype(dtype).name)
    backend, _ = choose_backend(name, workload, context)
    return backend, backend.ops(context)


def kernel_layout(signal_channels: int, kernel_channels: int, from_mono: bool = False) -> str:
    """How a kernel's channels made the signal's: ``shared``, ``parallel``, ``split`` or ``matrix``.

    ``split`` (a mono source through one kernel channel per signal
    channel) only when ``from_mono`` says so, since a kernel with the
    signal's channel count is otherwise one kernel per channel; ``matrix``
    for a 4-channel (true-stereo) kernel on a stereo signal.

    Raises
    ------
    IncompatibleSignalsError
        Any other combination.

    Examples
    --------
    >>> kernel_layout(2, 1), kernel_layout(2, 2), kernel_layout(2, 2, True), kernel_layout(2, 4)
    ('shared', 'parallel', 'split', 'matrix')
    """
    if from_mono and kernel_channels == signal_channels and signal_channels > 1:
        return "split"
    if signal_channels == 2 and kernel_channels == 4 and not from_mono:
        return "matrix"
    if kernel_channels in (1, signal_channels) and not from_mono:
        return "shared" if kernel_channels == 1 else "parallel"
    wanted = (f"a kernel with one channel per signal channel ({signal_channels}) to recover the mono source"
              if from_mono else
              "a mono kernel, one kernel channel per signal channel, or for a stereo signal a 4-channel "
              "true-stereo kernel (LL, LR, RL, RR); for a stereo signal made from a mono source by a stereo "
              "kernel, say so with --from-mono (from_mono=True)")
    raise IncompatibleSignalsError(
        f"cannot deconvolve a signal with {signal_channels} channels by a kernel with {kernel_channels}: "
        f"deconvolve takes {wanted} (convolve allows: {ROUTING_HELP})"
    )


def kernel_columns(h: np.ndarray, signal_channels: int, per_channel: bool = False,
                   from_mono: bool = False) -> np.ndarray:
    """The kernel checked against the signal's channels (:func:`kernel_layout`).

    A mono kernel stays one column (one inverse serves every channel)
    unless ``per_channel`` asks for a copy per channel (``--noise``: each
    channel gets its own noise-to-signal ratio).

    Raises
    ------
    IncompatibleSignalsError
        A layout :func:`kernel_layout` refuses.
    InvalidSignalError
        An all-zero kernel (column), or one too large to hold while
        deconvolving (:func:`sigconv.limits.check_ir_memory`).
    """
    check_ir_memory(h.shape[0], h.shape[1], "the kernel", itemsize=h.dtype.itemsize)
    layout = kernel_layout(signal_channels, h.shape[1], from_mono)
    silent = np.flatnonzero(~np.any(h != 0, axis=0))
    if silent.size and layout != "matrix":  # a true-stereo kernel may have silent cross paths
        which = f"channel {int(silent[0])} of the kernel is" if h.shape[1] > 1 else "the kernel is"
        raise InvalidSignalError(f"{which} all zeros: nothing can be deconvolved by it; check the kernel file")
    return np.repeat(h, signal_channels, axis=1) if layout == "shared" and per_channel else h


def check_layout_method(layout: str, settings: DeconvolveSettings) -> None:
    """Refuse what the mixing layouts do not run: ``exact``, ``lucy`` and ``--noise``."""
    if layout in LAYOUTS and (not settings.streams or settings.noise):
        what = "--noise" if settings.noise else f"--method {settings.method}"
        raise UsageError(
            f"a {'true-stereo' if layout == 'matrix' else 'mono-to-multichannel'} kernel is inverted by "
            f"--method wiener with --snr or by tikhonov; {what} takes one kernel channel per signal channel")


def _check_size(frames: int, channels: int, settings: DeconvolveSettings, rate: float | None) -> None:
    """Refuse an output (with the kernel's length) longer than the frame limit or than memory holds.

    ``exact`` and ``lucy`` hold several arrays of that length per channel,
    the others one or two.
    """
    what, remedy = "the deconvolved signal", "give a shorter --length"
    check_frames(frames, what, remedy, rate)
    factor = ARRAY_MEMORY_FACTOR if settings.streams else GENERATED_MEMORY_FACTOR
    check_memory(float(frames) * channels, factor, what, remedy)


def inverse_filter(h: np.ndarray, settings: DeconvolveSettings, rate: float | None,
                   spectra: NoiseSpectra | None = None, span: int | None = None, ops=None,
                   layout: str = "parallel", channels: int | None = None) -> InverseFilter:
    """The regularised inverse FIR of ``h`` (one column per channel) for ``wiener`` or ``tikhonov``.

    ``settings`` are checked (:meth:`DeconvolveSettings.checked`); ``span``
    is the signal's length where known (see
    :func:`sigconv.deconvolution.inverse.design_inverse`); ``ops`` computes
    it (default: NumPy and scipy.fft); ``layout`` is the kernel's
    (:func:`kernel_layout`): ``split`` and ``matrix`` get the inverse of
    :mod:`sigconv.deconvolution.layouts`; ``channels`` is the signal's
    (default: one per kernel column).

    The inverse is at most as long as streaming it in
    :data:`~sigconv.deconvolution.budget.INVERSE_MEMORY` allows
    (:func:`~sigconv.deconvolution.budget.inverse_tap_limit`), so that
    arrays and files of any length get the same filter.
    """
    m = h.shape[0]
    if settings.method == "tikhonov":
        regularisation = kirkeby_profile(settings.reg, settings.band, rate or 1.0)
    elif settings.noise:
        regularisation = spectra.regularisation()
    else:
        regularisation = snr_regularisation(settings.snr_db)
    if layout in LAYOUTS:
        paths = len(layout_routes(layout, h.shape[1])[0])
        cap = inverse_tap_limit(h.shape[1], paths, settings.dtype)
        # the layouts' design returns at most half its limit
        return design_layout_inverse(h, layout, regularisation, ops=ops, max_size=min(longest_inverse(m), 2 * cap))
    cap = inverse_tap_limit(h.shape[1], max(channels or h.shape[1], h.shape[1]), settings.dtype)
    return design_inverse(h, regularisation, span=span, ops=ops, max_size=min(longest_inverse(m), cap))


#: Truncation error above which a finite inverse is worth a warning (-40 dB).
TRUNCATION_WARNING_DB = -40.0


def truncation_warning(inverse: InverseFilter, rate: float | None = None, length_known: bool = True) -> str | None:
    """A warning when the inverse FIR is too short for its design (slowly decaying inverses), or None.

    Where the signal's length was not known (a pipe), the estimate holds
    for long signals only: the message says from which length on.
    """
    if inverse.truncation_db <= TRUNCATION_WARNING_DB:
        return None
    taps = inverse.taps.shape[0]
    reach = 3 * taps // 8  # the taps inside this lag are whole: only longer signals meet the cut ones
    where = "" if length_known else (
        f" for signals longer than {reach / rate:.3g} s" if rate else f" for signals longer than {reach} frames")
    return (
        f"the inverse filter was cut at {taps} taps, where truncation still adds an error of about "
        f"{inverse.truncation_db:.0f} dB{where} (the kernel has zeros close to the unit circle): the result is "
        "limited to about that; more regularisation (a lower --snr, a larger --reg) shortens the inverse"
    )


def null_warning(h: np.ndarray, rate: float | None, ops=None) -> str | None:
    """The deep-null message for a kernel (distinct columns only), or None."""
    return null_message(spectral_nulls(h[:, _distinct_columns(h)], ops=ops), rate)


def _distinct_columns(h: np.ndarray) -> list[int]:
    """Indices of ``h``'s distinct columns in lexicographic order of their values (as ``np.unique(h, axis=1)``).

    Without its sort of the whole array, which held 65 MB for a 3 s stereo kernel.
    """
    distinct: list[int] = []
    for c in range(h.shape[1]):
        if not any(np.array_equal(h[:, c], h[:, d]) for d in distinct):
            distinct.append(c)

    def order(a: int, b: int) -> int:
        differs = np.flatnonzero(h[:, a] != h[:, b])
        return 0 if not differs.size else (-1 if h[differs[0], a] < h[differs[0], b] else 1)

    return sorted(distinct, key=functools.cmp_to_key(order))


def _welch_of(data: np.ndarray, segment: int, ops) -> Welch:
    welch = Welch(segment, data.shape[1], ops)
    welch.add(data)
    return welch


def deconvolve(
    signal,
    kernel,
    method: str = "wiener",
    *,
    snr_db: float | None = None,
    noise=None,
    reg: float | None = None,
    band: tuple[float, float] | None = None,
    iterations: int | None = None,
    tolerance: float | None = None,
    length: int | str | None = None,
    rate: float | None = None,
    precision: int = 64,
    backend: str = AUTO,
    context: ExecutionContext | int | None = None,
    from_mono: bool = False,
) -> np.ndarray:
    """Estimate ``x`` such that ``signal ≈ x ⊗ kernel``.

    Parameters
    ----------
    signal : array_like
        The recording ``y``, ``(frames,)`` or ``(frames, channels)``.
    kernel : array_like
        The known factor ``h``: one channel (applied to every channel of
        the signal), one per signal channel, or for a stereo signal four
        (a true-stereo kernel LL, LR, RL, RR, as ``convolve`` applies it:
        both channels are recovered by inverting the 2×2 matrix per
        frequency, with the same regularisation).
    method : {'wiener', 'tikhonov', 'exact', 'lucy'}, optional
        ``wiener`` (default): ``G = H* / (|H|² + S_n/S_x)``, the inverse
        that minimises the mean squared error for the given noise level.
        ``tikhonov``: ``G = H* / (|H|² + λ(f))`` with Kirkeby's
        frequency-dependent λ. ``exact``: polynomial division for a signal
        that is exactly an FIR product, stable, with a remainder check.
        ``lucy``: Richardson–Lucy for non-negative data.
    snr_db : float, optional
        ``wiener``: the recording's signal-to-noise ratio in dB, taking
        signal and noise as white (default 40 dB, the lower end of
        ordinary audio recordings: erring low gives up some resolution
        where the kernel is weak, erring high boosts noise there).
    noise : array_like, optional
        ``wiener``: a noise-only sample (same rate; one channel, or one per
        signal channel). The noise spectrum is estimated from it and the
        signal spectrum from ``signal`` (Welch, 4096-sample segments), and
        λ follows them frequency by frequency. Excludes `snr_db`.
    reg : float, optional
        ``tikhonov``: λ relative to the kernel's mean power gain
        ``sum(h**2)`` (default 1e-3).
    band : (float, float), optional
        ``tikhonov``: invert only between F1 and F2 Hz (needs `rate`);
        outside it λ rises to the kernel's mean power over a third of an
        octave, so the inverse stops boosting there (Kirkeby et al. 1998).
    iterations : int, optional
        ``lucy``: number of iterations (default 50).
    tolerance : float, optional
        ``exact``: the largest remainder accepted, as RMS per degree of
        freedom relative to the signal's RMS (default 1e-6, -120 dB).
    length : int or str, optional
        Output length: frames, or a duration such as ``"2.5s"`` or
        ``"500ms"`` (needs `rate`). Default ``len(signal) - len(kernel) +
        1``, the length of ``x`` when the signal is the full product. The
        signal is taken as zero beyond its end (for ``lucy``: as unknown).
    rate : float, optional
        Sample rate in Hz: for `band`, durations, and for naming the
        frequencies of a :class:`~sigconv.errors.SpectralNullWarning`.
    precision : {64, 32}, optional
        Bits of the result (and of the streamed filtering).
    backend : str, optional
        Compute backend (see ``sigconv backends``); ``"auto"`` (default)
        picks the fastest of those that run deconvolve.
    context : ExecutionContext or int, optional
        Threads the job may use (an int is a thread count).
    from_mono : bool, optional
        The signal was made from a mono source through the kernel's
        channels (``convolve`` of mono by a multichannel kernel): recover
        that one channel by least squares over all of them (``wiener``
        with `snr_db`, ``tikhonov``).

    Returns
    -------
    numpy.ndarray
        ``(length,)`` if signal and kernel are both 1-D, else
        ``(length, channels)`` (one channel with `from_mono`). Never NaN or
        infinite.

    Raises
    ------
    InvalidSignalError
        Empty or non-finite input, an all-zero kernel, negative data for
        ``lucy``.
    IncompatibleSignalsError
        Channel counts that do not match; no `length` and a kernel longer
        than the signal.
    InexactDivisionError
        ``exact``: the signal is not an FIR product of the kernel.
    UsageError
        An unknown method, or an option that belongs to another method.
    BackendUnavailableError
        `backend` is unknown, unavailable, or does not run deconvolve.

    Warns
    -----
    SpectralNullWarning
        ``wiener``, ``tikhonov``, ``lucy``: the kernel's response is more
        than 60 dB below its peak somewhere; the warning names where.

    Notes
    -----
    ``wiener`` and ``tikhonov`` apply the FIR of the regularised inverse
    (delayed by half its length, at least four kernel lengths long, doubled
    until truncation changes the result by less than -70 dB, up to 16
    kernel lengths or 2^20 taps, whichever is more); the same filter
    streams files of any length. A filter that reaches that limit first
    gets a warning (``RuntimeWarning``) when its estimated truncation
    error is above -40 dB.

    Examples
    --------
    >>> import numpy as np, sigconv
    >>> x = np.array([1.0, -2.0, 3.0, 0.5])
    >>> y = sigconv.convolve(x, [1.0, 0.5])
    >>> np.round(sigconv.deconvolve(y, [1.0, 0.5], method="exact"), 12).tolist()
    [1.0, -2.0, 3.0, 0.5]
    >>> np.round(sigconv.deconvolve(y, [1.0, 0.5], snr_db=200), 6).tolist()
    [1.0, -2.0, 3.0, 0.5]
    """
    settings = DeconvolveSettings(method=method, snr_db=snr_db, noise=noise is not None, reg=reg, band=band,
                                  iterations=iterations, tolerance=tolerance, length=length, precision=precision,
                                  backend=backend).checked(rate)
    one_dimensional = np.ndim(signal) == 1 and np.ndim(kernel) == 1
    y = as_frames(signal, "signal")
    h = kernel_columns(as_frames(kernel, "kernel"), y.shape[1], per_channel=noise is not None, from_mono=from_mono)
    layout = kernel_layout(y.shape[1], h.shape[1], from_mono)
    check_layout_method(layout, settings)
    frames = output_length(parse_length(settings.length, rate), y.shape[0], h.shape[0])
    _check_size(frames + h.shape[0], y.shape[1], settings, rate)
    context = resolve_context(context)
    chosen, ops = deconvolution_backend(settings.backend, y.shape[0], h.shape[0], y.shape[1], settings.dtype,
                                        context)
    if settings.method == "lucy":
        y, h = check_non_negative(y, "signal"), check_non_negative(h, "kernel")
    if settings.method != "exact":
        message = null_warning(h, rate, ops)
        if message:
            warnings.warn(message, SpectralNullWarning, stacklevel=2)
    if settings.method == "exact":
        divisions = [divide(y[:, c], h[:, c % h.shape[1]], frames, ops) for c in range(y.shape[1])]
        remainders = [d.remainder for d in divisions]
        if max(remainders) > settings.tolerance:
            check_remainder(remainders, settings.tolerance, [kernel_condition(h[:, c], ops) for c in range(h.shape[1])])
        x = np.stack([d.quotient for d in divisions], axis=1)
    elif settings.method == "lucy":
        x = np.stack([richardson_lucy(y[:, c], h[:, c % h.shape[1]], frames, settings.iterations, ops)
                      for c in range(y.shape[1])], axis=1)
    else:
        spectra = None
        if settings.noise:
            n = as_frames(noise, "noise sample")
            if n.shape[1] not in (1, y.shape[1]):
                raise IncompatibleSignalsError(
                    f"the noise sample has {n.shape[1]} channels and the signal {y.shape[1]}; give a mono noise "
                    "sample or one with the signal's channels"
                )
            segment = segment_length(n.shape[0])
            spectra = NoiseSpectra.from_welch(_welch_of(n, segment, ops), _welch_of(y, segment, ops))
        inverse = inverse_filter(h, settings, rate, spectra, span=y.shape[0], ops=ops, layout=layout,
                                 channels=y.shape[1])
        message = truncation_warning(inverse, rate)
        if message:
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        x = apply_inverse(y, inverse, frames, settings.dtype, backend=chosen, context=context)
    x = np.ascontiguousarray(x, dtype=settings.dtype)
    return x[:, 0] if one_dimensional else x


def inverse_engine(inverse: InverseFilter, channels: int, dtype, frames_hint: int | None, backend, context=None):
    """A streaming engine of ``backend`` running each channel through its column of ``inverse`` (or its one)."""
    from ..compute.routing import Route

    routes = list(inverse.routes or [Route(c, c % inverse.taps.shape[1], c) for c in range(channels)])
    outputs = inverse.out_channels or channels
    # a long inverse runs in partitions (memory: see sigconv.deconvolution.budget); only the FFT engine has them
    block = stream_partition(inverse.taps.shape[0]) if backend.name == "fft" else None
    return backend.stream(inverse.taps.astype(dtype, copy=False), routes, channels, outputs, dtype=dtype,
                          n_hint=frames_hint, context=context, block=block)


def apply_inverse(y: np.ndarray, inverse: InverseFilter, frames: int, dtype=np.float64, *, backend=AUTO,
                  context: ExecutionContext | int | None = None) -> np.ndarray:
    """Frames ``[delay, delay + frames)`` of ``y ⊗ inverse`` (zeros past the end of the product).

    ``backend`` is a backend's name (``"auto"``: chosen for a
    deconvolution of ``y``) or the backend itself; its streaming engine
    filters.
    """
    from ..compute.engine import run_engine

    context = resolve_context(context)
    if isinstance(backend, str):
        backend, _ = deconvolution_backend(backend, y.shape[0], inverse.taps.shape[0], y.shape[1], dtype, context)
    engine = inverse_engine(inverse, y.shape[1], dtype, y.shape[0], backend, context)
    full = run_engine(engine, y.astype(dtype, copy=False))
    out = np.zeros((frames, full.shape[1]), dtype=dtype)
    kept = full[inverse.delay : inverse.delay + frames]
    out[: kept.shape[0]] = kept
    return out
