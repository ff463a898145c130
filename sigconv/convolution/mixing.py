"""Levels around a convolution: wet/dry mix (the dry path aligned to the IR onset), gain, normalization."""

from __future__ import annotations

import numpy as np

from ..compute.onsets import ir_onset
from ..errors import UsageError
from ..limits import check_block, check_finite, check_frames, check_gain_db, check_ir_memory, check_linear_gain

__all__ = [
    "NORMALIZE_CHOICES",
    "POST_NORMALIZATIONS",
    "DEFAULT_TARGET_LUFS",
    "db_to_gain",
    "normalize_peak",
    "check_normalize",
    "check_levels",
    "check_convolve_options",
    "trim_leading_silence",
    "predelay_frames",
    "prepare_ir",
    "post_gain",
]

#: Accepted values of ``normalize``.
NORMALIZE_CHOICES = ("none", "peak", "ir-energy", "rms-match", "lufs")
#: Normalizations that need the whole output before they can scale it.
POST_NORMALIZATIONS = ("peak", "rms-match", "lufs")
#: The loudness ``normalize="lufs"`` aims at unless told otherwise (EBU R128).
DEFAULT_TARGET_LUFS = -23.0


def check_normalize(normalize: str) -> str:
    """Return ``normalize`` if it is one of :data:`NORMALIZE_CHOICES`, else raise :class:`UsageError`."""
    if normalize not in NORMALIZE_CHOICES:
        raise UsageError(f"normalize must be one of {', '.join(NORMALIZE_CHOICES)}, not {normalize!r}")
    return normalize


def check_levels(wet: float = 1.0, dry: float = 0.0, gain_db: float = 0.0) -> None:
    """Refuse a non-finite or absurd ``wet``, ``dry`` or ``gain_db`` (:class:`UsageError`).

    The bounds are :data:`sigconv.limits.MAX_LINEAR_GAIN` and
    :data:`sigconv.limits.MAX_GAIN_DB`, so no gain turns finite samples
    into infinities.

    Examples
    --------
    >>> check_levels(wet=float("nan"))
    Traceback (most recent call last):
    ...
    sigconv.errors.UsageError: --wet must be a finite number, not nan
    """
    check_linear_gain(wet, "--wet")
    check_linear_gain(dry, "--dry")
    check_gain_db(gain_db)


def check_convolve_options(wet: float = 1.0, dry: float = 0.0, gain_db: float = 0.0, predelay_ms: float = 0.0,
                           trim_db: float | None = None, block: int | None = None) -> None:
    """Refuse bad values of the options of a file convolution before any file is opened.

    Checks the levels (:func:`check_levels`), that the pre-delay in
    milliseconds and ``trim_db`` are finite (``trim_db`` at most 0 dB) and
    that ``block`` lies within :data:`sigconv.limits.MIN_BLOCK` and
    :data:`sigconv.limits.MAX_BLOCK`.

    Raises
    ------
    UsageError
        Naming the option and its bound.
    """
    check_levels(wet, dry, gain_db)
    if isinstance(predelay_ms, (int, float)):
        if check_finite(predelay_ms, "--predelay", " of milliseconds") < 0:
            raise UsageError(f"--predelay must be zero or more milliseconds, not {predelay_ms:g}")
    else:
        predelay_frames(predelay_ms, 1.0, bare="ms")
    if trim_db is not None:
        check_trim_db(trim_db)
    check_block(block)


def predelay_frames(predelay, rate: float | None = None, bare: str = "smp") -> int:
    """A pre-delay in whole frames: ``predelay`` a number in ``bare``'s unit, a string (``"20ms"``) or a Duration.

    Examples
    --------
    >>> predelay_frames("20ms", 48000), predelay_frames(96), predelay_frames(20.0, 48000, bare="ms")
    (960, 96, 960)
    """
    from ..quantities import Duration, parse_time

    duration = predelay if isinstance(predelay, Duration) else parse_time(predelay, bare, "--predelay")
    if duration.value < 0:
        raise UsageError(f"--predelay must be zero or more, not {duration}")
    if duration.unit == "smp" and duration.value != int(duration.value):
        raise UsageError(f"a pre-delay in samples must be a whole number, not {duration}")
    return duration.samples(rate) if duration.unit == "smp" else int(round(duration.seconds() * _need_rate(rate)))


def _need_rate(rate):
    if not rate:
        raise UsageError("a pre-delay in seconds or milliseconds needs the sample rate: pass rate=...")
    return rate


def check_trim_db(threshold_db: float) -> float:
    """A finite level at or below 0 dB relative to the IR's peak (``--trim-db``)."""
    if check_finite(threshold_db, "--trim-db", " of dB") > 0:
        raise UsageError(f"--trim-db is relative to the IR's peak, so it must be 0 dB or below, not {threshold_db:g}")
    return float(threshold_db)


def db_to_gain(db: float) -> float:
    """Linear amplitude factor for a level change in dB.

    Examples
    --------
    >>> round(db_to_gain(-6.0206), 4)
    0.5
    """
    return float(10.0 ** (db / 20.0))


def normalize_peak(y: np.ndarray) -> np.ndarray:
    """Scale ``y`` so that its largest absolute sample is 1.0 (0 dBFS); silence stays silent."""
    peak = np.max(np.abs(y))
    return y / peak if peak > 0 else y


def trim_leading_silence(h: np.ndarray, threshold_db: float) -> tuple[np.ndarray, int]:
    """Drop the samples before ``h`` first reaches ``threshold_db`` relative to its peak.

    Returns
    -------
    h : numpy.ndarray
        The IR from its first sample at or above the threshold.
    removed : int
        How many leading samples were dropped (the latency saved).

    Examples
    --------
    >>> trimmed, removed = trim_leading_silence(np.array([0.0, 1e-5, 0.5, 1.0]), -60)
    >>> trimmed.tolist(), removed
    ([0.5, 1.0], 2)
    """
    removed = ir_onset(h, check_trim_db(threshold_db))
    return h[removed:], removed


def prepare_ir(
    h: np.ndarray,
    routing: str,
    *,
    wet: float = 1.0,
    dry: float = 0.0,
    gain_db: float = 0.0,
    normalize: str = "none",
    predelay: int = 0,
    align: str = "wet",
) -> np.ndarray:
    """Fold the wet/dry mix, pre-delay, IR normalization and gain into the IR itself.

    Convolution is linear, so ``wet * (x ⊗ h) + dry * x[t - onset]`` equals
    ``x ⊗ (wet * h + dry * δ[t - onset])``: the whole mix then costs one
    convolution and streams like any other. The dry impulse sits at the
    IR's onset (first sample within 20 dB of the peak) so that dry and
    direct sound line up (``align`` ``wet`` or ``dry``; with ``none`` it
    sits at time zero); ``predelay`` samples of silence delay the wet path
    only. With ``align="dry"`` the caller then drops the first
    ``ir_onset(h)`` frames of the result (:mod:`.alignment`).

    Parameters
    ----------
    h : numpy.ndarray
        ``(m, channels)`` impulse response.
    routing : str
        From :func:`sigconv.compute.routing.channel_routing`; decides which IR
        channels carry the dry signal (the diagonal LL and RR of a
        true-stereo IR, every channel otherwise).
    wet, dry, gain_db, normalize, predelay, align
        As for :func:`sigconv.convolve`. The gain is folded in only when
        ``normalize`` does not scale the finished output.

    Returns
    -------
    numpy.ndarray
        ``(m + predelay, channels)`` IR, same dtype (``h`` itself when
        there is nothing to fold in).

    Raises
    ------
    UsageError
        Non-finite or absurd levels; a pre-delay that makes the IR longer
        than :data:`sigconv.limits.MAX_FRAMES` or than memory holds.
    InvalidSignalError
        The IR itself needs more memory than a job may hold.
    """
    check_levels(wet, dry, gain_db)
    check_ir_memory(h.shape[0], h.shape[1], itemsize=h.dtype.itemsize)
    if predelay:
        _check_predelay(h, predelay)
    dtype = h.dtype
    if wet == 1 and not dry and not predelay and not gain_db and normalize in ("none", *POST_NORMALIZATIONS):
        return h  # nothing to fold in: the IR as it is
    if normalize == "ir-energy":
        h = h * dtype.type(ir_energy_scale(h, routing))
    onset = ir_onset(h) if dry and align != "none" else 0
    out = np.zeros((h.shape[0] + predelay, h.shape[1]), dtype=dtype)
    out[predelay:] = h
    if wet != 1:
        out *= dtype.type(wet)
    if dry:
        dry_channels = [0, 3] if routing == "matrix" else list(range(h.shape[1]))
        out[onset, dry_channels] += dtype.type(dry)
    if gain_db and normalize not in POST_NORMALIZATIONS:
        out *= dtype.type(db_to_gain(gain_db))
    return out


def _check_predelay(h: np.ndarray, predelay: int) -> None:
    """Refuse a pre-delay that would make the IR too long to hold, with the figure."""
    if predelay < 0:
        raise UsageError(f"the pre-delay must be zero or more samples, not {predelay}")
    remedy = "give a shorter --predelay"
    frames = check_frames(h.shape[0] + predelay, f"the impulse response with a pre-delay of {predelay} samples",
                          remedy)
    check_ir_memory(frames, h.shape[1], f"the impulse response with a pre-delay of {predelay} samples",
                    itemsize=h.dtype.itemsize, error=UsageError, remedy=remedy)


def post_gain(normalize: str, gain_db: float, output_peak: float, output_energy: float, output_samples: int,
              input_energy: float, input_samples: int, loudness: float = -np.inf,
              target_lufs: float = DEFAULT_TARGET_LUFS) -> float:
    """The factor that applies ``normalize`` (peak, rms-match or lufs) and then ``gain_db`` to a finished output.

    ``*_energy`` are sums of squares and ``*_samples`` counts of samples,
    both over all frames and channels, so RMS is per sample. ``loudness``
    is the output's integrated loudness in LUFS, which ``lufs`` brings to
    ``target_lufs``. Silence is left as it is.

    Examples
    --------
    >>> post_gain("rms-match", 0.0, 2.0, output_energy=8.0, output_samples=2, input_energy=1.0, input_samples=1)
    0.5
    """
    scale = 1.0
    if normalize == "peak" and output_peak > 0:
        scale = 1.0 / output_peak
    elif normalize == "rms-match" and output_energy > 0:
        scale = np.sqrt((input_energy / max(input_samples, 1)) / (output_energy / max(output_samples, 1)))
    elif normalize == "lufs" and np.isfinite(loudness):
        scale = db_to_gain(target_lufs - loudness)
    return float(scale * db_to_gain(gain_db))


def ir_energy_scale(h: np.ndarray, routing: str) -> float:
    """Factor that gives the loudest output path of ``h`` unit energy.

    For a true-stereo IR (LL, LR, RL, RR) an output channel is fed by two
    responses, so their energies add; otherwise each IR channel feeds one
    output.
    """
    energy = np.sum(h.astype(np.float64) ** 2, axis=0)
    if routing == "matrix":
        energy = np.array([energy[0] + energy[2], energy[1] + energy[3]])
    loudest = energy.max()
    return 1.0 / np.sqrt(loudest) if loudest > 0 else 1.0
