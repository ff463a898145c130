"""The one guard that every array entering the library passes through.

The layout is fixed here, once: inside sigconv a signal is a C-contiguous
``(frames, channels)`` array of float64 (float32 on request). Nothing
downstream guesses at shapes or dtypes.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidSignalError, UsageError

__all__ = ["as_frames", "dtype_for_precision", "check_channels_last", "CHANNELS_FIRST_MAX"]

#: A 2-D array with at most this many rows and more than
#: :data:`_FILE_CHANNELS` columns is taken for a channels-first array and refused.
CHANNELS_FIRST_MAX = 8

# The most channels an audio file holds: sigconv.limits.MAX_CHANNELS (a module
# of the same layer, which this one may not import; a test keeps them equal).
_FILE_CHANNELS = 1024


def check_channels_last(shape: tuple, name: str = "signal") -> None:
    """Refuse a 2-D shape that can only be a channels-first signal, as torch, librosa and pedalboard hold audio.

    ``(2, 16000)`` read as ``(frames, channels)`` would be 16,000 channels
    of 2 frames: a shape with at most :data:`CHANNELS_FIRST_MAX` rows and
    more columns than :data:`~sigconv.limits.MAX_CHANNELS` (1024: what any
    audio file holds) is refused, with the remedy. A short channels-first array
    such as ``(2, 500)`` cannot be told from 500 channels of 2 frames and
    passes: the layout is the caller's to get right.

    Raises
    ------
    InvalidSignalError
        Naming the shape and saying to pass ``x.T``.

    Examples
    --------
    >>> check_channels_last((16000, 2))
    >>> check_channels_last((2, 16000))
    Traceback (most recent call last):
    ...
    sigconv.errors.InvalidSignalError: the signal has shape (2, 16000): 16000 channels of 2 frames? sigconv takes (frames, channels), one column per channel; a channels-first array (channels, frames), as torch, librosa and pedalboard hold audio, must be passed transposed: x.T
    """
    if len(shape) == 2 and shape[0] <= CHANNELS_FIRST_MAX and shape[1] > _FILE_CHANNELS:
        raise InvalidSignalError(
            f"the {name} has shape {tuple(shape)}: {shape[1]} channels of {shape[0]} frame"
            f"{'s' if shape[0] != 1 else ''}? sigconv takes (frames, channels), one column per channel; a "
            "channels-first array (channels, frames), as torch, librosa and pedalboard hold audio, must be "
            "passed transposed: x.T"
        )


def dtype_for_precision(precision: int | str) -> np.dtype:
    """Return the float dtype for a precision given in bits (``64`` or ``32``).

    Parameters
    ----------
    precision : {64, 32}
        Bits per sample of the computation.

    Returns
    -------
    numpy.dtype
        ``float64`` or ``float32``.

    Examples
    --------
    >>> dtype_for_precision(32)
    dtype('float32')
    """
    try:
        bits = int(precision)
    except (TypeError, ValueError):
        bits = None
    if bits == 64:
        return np.dtype(np.float64)
    if bits == 32:
        return np.dtype(np.float32)
    raise UsageError(f"precision must be 64 or 32 (bits), not {precision!r}")


def as_frames(x, name: str = "signal", dtype=np.float64, channels_last: bool = True) -> np.ndarray:
    """Validate a signal and return it as a ``(frames, channels)`` float array.

    Parameters
    ----------
    x : array_like
        Samples: a 1-D sequence (mono) or a 2-D ``(frames, channels)`` array.
        Integers, booleans and floats are accepted; integers are converted
        by value (no rescaling).
    name : str, optional
        How error messages refer to the signal, e.g. ``"impulse response"``.
    dtype : numpy dtype, optional
        ``float64`` (default) or ``float32``.
    channels_last : bool, optional
        Refuse a shape that can only be channels-first
        (:func:`check_channels_last`); default True. False where the shape
        is checked elsewhere (a file's channel limits, when writing).

    Returns
    -------
    numpy.ndarray
        C-contiguous array of shape ``(frames, channels)`` and the given dtype.

    Raises
    ------
    InvalidSignalError
        If `x` is not numeric, is complex, has more than two dimensions, has
        no samples, contains NaN or infinity, or looks channels-first
        (:func:`check_channels_last`).

    Examples
    --------
    >>> as_frames([1, 2, 3]).shape
    (3, 1)
    """
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise InvalidSignalError(f"the {name} is not an array of numbers: {exc}") from exc
    if arr.dtype.kind == "c":
        raise InvalidSignalError(
            f"the {name} is complex; sigconv works on real signals "
            "(pass the real part, or the real and imaginary parts as two channels)"
        )
    if arr.dtype.kind not in "biuf":
        raise InvalidSignalError(
            f"the {name} has dtype {arr.dtype}, not numbers; pass an array of ints or floats"
        )
    if arr.ndim == 0:
        raise InvalidSignalError(f"the {name} has 0 dimensions (a single number); expected 1 (mono) or 2 (frames, "
                                 "channels)")
    if arr.ndim > 2:
        raise InvalidSignalError(
            f"the {name} has {arr.ndim} dimensions (shape {arr.shape}); expected 1 (mono) or 2 (frames, channels). "
            "sigconv has no batch axis: pass one signal at a time (for x in batch: ...; sigconv.Convolver "
            "transforms an IR once for many signals), or reshape to (frames, channels)"
        )
    if arr.size == 0:
        raise InvalidSignalError(f"the {name} is empty (shape {arr.shape}); it needs at least one sample")
    if channels_last:
        check_channels_last(arr.shape, name)
    arr = np.ascontiguousarray(arr.reshape(arr.shape[0], -1), dtype=dtype)
    # a finite sum proves every sample finite, without a temporary as large as the signal;
    # an infinite one may be an overflow (no warning for that), so it is checked sample by sample
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total) and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        raise InvalidSignalError(
            f"the {name} contains {int((~np.isfinite(arr)).sum())} NaN or infinite samples "
            f"(first at frame {int(bad[0])}); clean or trim the signal first"
        )
    return arr
