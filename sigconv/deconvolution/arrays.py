"""Deconvolution: given ``y = x ⊗ h (+ noise)`` and ``h``, estimate ``x``.

Four methods (see :func:`deconvolve`): ``wiener`` and ``tikhonov`` run a
regularised inverse FIR (:mod:`sigconv.deconvolution.inverse`) through the streaming
convolution engine, so files of any length stream; ``exact``
(:mod:`sigconv.deconvolution.polydiv`) and ``lucy`` (:mod:`sigconv.deconvolution.lucy`) work on the
whole signal. This module holds the array API and the checks and
settings shared with the file job (:mod:`sigconv.deconvolution.files`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import IncompatibleSignalsError, InvalidSignalError, SpectralNullWarning, UsageError
from .inverse import InverseFilter, design_inverse, kirkeby_profile, null_message, spectral_nulls
from .lucy import DEFAULT_ITERATIONS, check_non_negative, richardson_lucy
from .polydiv import DEFAULT_TOLERANCE, check_remainder, divide
from ..compute.routing import ROUTING_HELP, channel_routing
from ..validation import as_frames, dtype_for_precision
from .wiener import DEFAULT_SNR_DB, Welch, noise_regularisation, segment_length, snr_regularisation

__all__ = [
    "DEFAULT_REG",
    "METHODS",
    "Settings",
    "apply_inverse",
    "deconvolve",
    "inverse_engine",
    "inverse_filter",
    "kernel_columns",
    "null_warning",
    "output_length",
    "parse_length",
    "settings_for",
    "truncation_warning",
]

#: Accepted values of ``method``.
METHODS = ("wiener", "tikhonov", "exact", "lucy")
#: Default ``--reg``: λ at 1e-3 of the kernel's mean power gain inverts
#: frequencies down to about 30 dB below the kernel's average level and
#: limits the boost of weaker ones to about +24 dB over the inverse at that level.
DEFAULT_REG = 1e-3


@dataclass(frozen=True)
class Settings:
    """The options of one deconvolution, checked and with defaults filled in."""

    method: str
    snr_db: float | None = None
    reg: float | None = None
    band: tuple[float, float] | None = None
    iterations: int | None = None
    tolerance: float | None = None
    noise: bool = False

    @property
    def streams(self) -> bool:
        """True for the methods that run an inverse FIR block by block."""
        return self.method in ("wiener", "tikhonov")


def settings_for(method: str, *, snr_db=None, noise: bool = False, reg=None, band=None, iterations=None,
                 tolerance=None, rate: float | None = None) -> Settings:
    """Check that the options suit ``method`` and fill in its defaults.

    Raises
    ------
    UsageError
        An unknown method, an option of another method, or a bad value.

    Examples
    --------
    >>> settings_for("tikhonov").reg
    0.001
    """
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    owners = {"--snr": (snr_db is not None, "wiener"), "--noise": (noise, "wiener"), "--reg": (reg is not None, "tikhonov"),
              "--band": (band is not None, "tikhonov"), "--iterations": (iterations is not None, "lucy"),
              "--tolerance": (tolerance is not None, "exact")}
    for option, (given, owner) in owners.items():
        if given and owner != method:
            raise UsageError(f"{option} applies to --method {owner}, not {method}; leave it out or change the method")
    if snr_db is not None and noise:
        raise UsageError("--snr and --noise both set Wiener's noise level; give one of them")
    if method == "wiener":
        snr_db = DEFAULT_SNR_DB if snr_db is None else float(snr_db)
        if not np.isfinite(snr_db):
            raise UsageError(f"--snr must be a finite number of dB, not {snr_db}")
        return Settings(method, snr_db=None if noise else snr_db, noise=noise)
    if method == "tikhonov":
        reg = DEFAULT_REG if reg is None else float(reg)
        if not (reg > 0 and np.isfinite(reg)):
            raise UsageError(f"--reg must be a positive number (λ relative to the kernel's power), not {reg:g}")
        return Settings(method, reg=reg, band=_check_band(band, rate))
    if method == "lucy":
        iterations = DEFAULT_ITERATIONS if iterations is None else int(iterations)
        if iterations < 1:
            raise UsageError(f"--iterations must be 1 or more, not {iterations}")
        return Settings(method, iterations=iterations)
    tolerance = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
    if not tolerance > 0:
        raise UsageError(f"--tolerance must be a positive fraction of the signal's RMS, not {tolerance:g}")
    return Settings(method, tolerance=tolerance)


def _check_band(band, rate):
    if band is None:
        return None
    low, high = (float(f) for f in band)
    if rate is None:
        raise UsageError("--band is in Hz, so it needs the sample rate: pass rate=")
    if not (0 <= low < high):
        raise UsageError(f"--band F1 F2 needs 0 <= F1 < F2 (Hz), not {low:g} {high:g}")
    if low >= rate / 2:
        raise UsageError(f"--band starts at {low:g} Hz, at or above Nyquist ({rate / 2:g} Hz); choose a lower F1")
    return (low, high)


_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|ms)\s*$")


def parse_length(length, rate: float | None) -> int | None:
    """An output length in frames: an int, digits (``"48000"``), or a duration (``"2.5s"``, ``"500ms"``).

    Raises
    ------
    UsageError
        Not a positive length, a number without unit that is not whole,
        or a duration without a sample rate.

    Examples
    --------
    >>> parse_length("2.5s", 48000), parse_length("500 ms", 8000), parse_length(64, None)
    (120000, 4000, 64)
    """
    if length is None:
        return None
    if isinstance(length, (int, np.integer)):
        frames = int(length)
    else:
        text = str(length)
        duration = _DURATION.match(text)
        if duration:
            if rate is None:
                raise UsageError(f"--length {text} is a duration, so it needs the sample rate (pass rate=)")
            seconds = float(duration.group(1)) * (1e-3 if duration.group(2) == "ms" else 1.0)
            frames = round(seconds * rate)
        elif text.strip().isdigit():
            frames = int(text)
        else:
            raise UsageError(
                f"--length {text!r} is neither whole frames (e.g. 48000) nor a duration with its unit "
                "(e.g. 2.5s or 500ms)"
            )
    if frames < 1:
        raise UsageError(f"--length must be at least one frame, not {length!r}")
    return frames


def output_length(requested: int | None, signal_frames: int, taps: int) -> int:
    """``requested``, else ``signal_frames - taps + 1`` (the length of ``x`` in a full product).

    Raises
    ------
    IncompatibleSignalsError
        No length given and the kernel is longer than the signal.
    """
    if requested is not None:
        return requested
    frames = signal_frames - taps + 1
    if frames < 1:
        raise IncompatibleSignalsError(
            f"the signal has {signal_frames} frames and the kernel {taps}, so the default output length "
            f"(signal - kernel + 1 = {frames}) is empty; are the signal and the kernel the right way round? "
            "Give --length to choose a length"
        )
    return frames


def kernel_columns(h: np.ndarray, signal_channels: int, per_channel: bool = False) -> np.ndarray:
    """The kernel checked against the signal's channels: mono, or one column per channel.

    A mono kernel stays one column (one inverse serves every channel)
    unless ``per_channel`` asks for a copy per channel (``--noise``: each
    channel gets its own noise-to-signal ratio).

    Raises
    ------
    IncompatibleSignalsError
        Anything but a mono kernel or one channel per signal channel.
    InvalidSignalError
        An all-zero kernel (column).
    """
    if h.shape[1] not in (1, signal_channels):
        raise IncompatibleSignalsError(
            f"cannot deconvolve a signal with {signal_channels} channels by a kernel with {h.shape[1]}: "
            "deconvolve takes a mono kernel (applied to every channel) or one kernel channel per signal "
            f"channel (convolve also allows: {ROUTING_HELP})"
        )
    silent = np.flatnonzero(~np.any(h != 0, axis=0))
    if silent.size:
        which = f"channel {int(silent[0]) + 1} of the kernel is" if h.shape[1] > 1 else "the kernel is"
        raise InvalidSignalError(f"{which} all zeros: nothing can be deconvolved by it; check the kernel file")
    shared = channel_routing(signal_channels, h.shape[1]) == "shared"
    return np.repeat(h, signal_channels, axis=1) if shared and per_channel else h


def inverse_filter(h: np.ndarray, settings: Settings, rate: float | None, noise_psd=None, recording_psd=None,
                   segment: int = 0, span: int | None = None) -> InverseFilter:
    """The regularised inverse FIR of ``h`` (one column per channel) for ``wiener`` or ``tikhonov``.

    ``span`` is the signal's length where known (see :func:`sigconv.deconvolution.inverse.design_inverse`).
    """
    if settings.method == "tikhonov":
        regularisation = kirkeby_profile(settings.reg, settings.band, rate or 1.0)
    elif settings.noise:
        regularisation = noise_regularisation(noise_psd, recording_psd, segment)
    else:
        regularisation = snr_regularisation(settings.snr_db)
    return design_inverse(h, regularisation, span=span)


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


def null_warning(h: np.ndarray, rate: float | None) -> str | None:
    """The deep-null message for a kernel (distinct columns only), or None."""
    distinct = np.unique(h, axis=1) if h.shape[1] > 1 else h
    return null_message(spectral_nulls(distinct), rate)


def _welch_of(data: np.ndarray, segment: int) -> np.ndarray:
    welch = Welch(segment, data.shape[1])
    welch.add(data)
    return welch.density(1.0)


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
) -> np.ndarray:
    """Estimate ``x`` such that ``signal ≈ x ⊗ kernel``.

    Parameters
    ----------
    signal : array_like
        The recording ``y``, ``(frames,)`` or ``(frames, channels)``.
    kernel : array_like
        The known factor ``h``: one channel (applied to every channel of
        the signal) or one per signal channel.
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

    Returns
    -------
    numpy.ndarray
        ``(length,)`` if signal and kernel are both 1-D, else
        ``(length, channels)``. Never NaN or infinite.

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
    settings = settings_for(method, snr_db=snr_db, noise=noise is not None, reg=reg, band=band,
                            iterations=iterations, tolerance=tolerance, rate=rate)
    dtype = dtype_for_precision(precision)
    one_dimensional = np.ndim(signal) == 1 and np.ndim(kernel) == 1
    y = as_frames(signal, "signal")
    h = kernel_columns(as_frames(kernel, "kernel"), y.shape[1], per_channel=noise is not None)
    frames = output_length(parse_length(length, rate), y.shape[0], h.shape[0])
    if settings.method == "lucy":
        y, h = check_non_negative(y, "signal"), check_non_negative(h, "kernel")
    if settings.method != "exact":
        message = null_warning(h, rate)
        if message:
            warnings.warn(message, SpectralNullWarning, stacklevel=2)
    if settings.method == "exact":
        divisions = [divide(y[:, c], h[:, c % h.shape[1]], frames) for c in range(y.shape[1])]
        check_remainder([d.remainder for d in divisions], settings.tolerance)
        x = np.stack([d.quotient for d in divisions], axis=1)
    elif settings.method == "lucy":
        x = np.stack([richardson_lucy(y[:, c], h[:, c % h.shape[1]], frames, settings.iterations)
                      for c in range(y.shape[1])], axis=1)
    else:
        noise_psd = recording_psd = None
        segment = 0
        if settings.noise:
            n = as_frames(noise, "noise sample")
            if n.shape[1] not in (1, y.shape[1]):
                raise IncompatibleSignalsError(
                    f"the noise sample has {n.shape[1]} channels and the signal {y.shape[1]}; give a mono noise "
                    "sample or one with the signal's channels"
                )
            segment = segment_length(n.shape[0])
            noise_psd, recording_psd = _welch_of(n, segment), _welch_of(y, segment)
        inverse = inverse_filter(h, settings, rate, noise_psd, recording_psd, segment, span=y.shape[0])
        message = truncation_warning(inverse, rate)
        if message:
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        x = apply_inverse(y, inverse, frames, dtype)
    x = np.ascontiguousarray(x, dtype=dtype)
    return x[:, 0] if one_dimensional else x


def inverse_engine(inverse: InverseFilter, channels: int, dtype, frames_hint: int | None):
    """A streaming engine that runs each channel through its column of ``inverse`` (or its only one)."""
    from ..backends import get_backend
    from ..compute.routing import Route

    routes = [Route(c, c % inverse.taps.shape[1], c) for c in range(channels)]
    return get_backend("fft").stream(inverse.taps.astype(dtype), routes, channels, channels, dtype=dtype,
                                     n_hint=frames_hint)


def apply_inverse(y: np.ndarray, inverse: InverseFilter, frames: int, dtype=np.float64) -> np.ndarray:
    """Frames ``[delay, delay + frames)`` of ``y ⊗ inverse`` (zeros past the end of the product)."""
    from ..compute.engine import run_engine

    full = run_engine(inverse_engine(inverse, y.shape[1], dtype, y.shape[0]), y.astype(dtype, copy=False))
    out = np.zeros((frames, y.shape[1]), dtype=dtype)
    kept = full[inverse.delay : inverse.delay + frames]
    out[: kept.shape[0]] = kept
    return out
