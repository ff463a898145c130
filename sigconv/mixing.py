"""Levels around a convolution: IR onset, wet/dry mix, gain, normalization."""

from __future__ import annotations

import numpy as np

from .errors import UsageError

__all__ = ["NORMALIZE_CHOICES", "ir_onset", "db_to_gain", "normalize_peak", "check_normalize"]

#: Accepted values of ``normalize``.
NORMALIZE_CHOICES = ("none", "peak", "ir-energy")

# ISO 3382-1 takes the direct sound to start where the IR first rises to
# within 20 dB of its peak.
ONSET_THRESHOLD_DB = -20.0


def check_normalize(normalize: str) -> str:
    """Return ``normalize`` if it is one of :data:`NORMALIZE_CHOICES`, else raise :class:`UsageError`."""
    if normalize not in NORMALIZE_CHOICES:
        raise UsageError(f"normalize must be one of {', '.join(NORMALIZE_CHOICES)}, not {normalize!r}")
    return normalize


def db_to_gain(db: float) -> float:
    """Linear amplitude factor for a level change in dB.

    Examples
    --------
    >>> round(db_to_gain(-6.0206), 4)
    0.5
    """
    return float(10.0 ** (db / 20.0))


def ir_onset(h: np.ndarray, threshold_db: float = ONSET_THRESHOLD_DB) -> int:
    """Index of the direct sound: the first sample within ``threshold_db`` of the peak.

    All channels share one onset (the earliest), so a stereo image is not
    shifted between channels.

    Parameters
    ----------
    h : numpy.ndarray
        Impulse response, ``(frames,)`` or ``(frames, channels)``.
    threshold_db : float, optional
        Level relative to the peak, default -20 dB (ISO 3382-1).

    Returns
    -------
    int
        Sample index; 0 for an all-zero response.

    Examples
    --------
    >>> ir_onset(np.array([0.0, 0.01, 0.0, 1.0, 0.5]))
    3
    """
    envelope = np.max(np.abs(h.reshape(h.shape[0], -1)), axis=1)
    peak = envelope.max()
    if peak == 0:
        return 0
    return int(np.argmax(envelope >= peak * db_to_gain(threshold_db)))


def normalize_peak(y: np.ndarray) -> np.ndarray:
    """Scale ``y`` so that its largest absolute sample is 1.0 (0 dBFS); silence stays silent."""
    peak = np.max(np.abs(y))
    return y / peak if peak > 0 else y


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
