"""Where an impulse response starts: the direct sound, as ISO 3382-1 finds it."""

from __future__ import annotations

import numpy as np

__all__ = ["ONSET_THRESHOLD_DB", "ir_onset"]

#: ISO 3382-1 takes the direct sound to start where the IR first rises to
#: within 20 dB of its peak.
ONSET_THRESHOLD_DB = -20.0


def ir_onset(h: np.ndarray, threshold_db: float = ONSET_THRESHOLD_DB) -> int:
    """Index of the direct sound: the first sample within ``threshold_db`` of the peak.

    This is the one onset of sigconv: ``impulse info`` reports it per
    channel, ``convolve`` aligns the dry path to it (``--align``) and
    ``--trim-ir`` trims to it by default. A multichannel IR has one onset,
    the earliest of its channels' own onsets (so that a stereo image is not
    shifted between channels); channels whose peak lies more than
    ``threshold_db`` below the loudest channel's peak carry no direct sound
    and are left out.

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
    >>> ir_onset(np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 0.1]]))  # channel 1 starts first
    1
    """
    magnitude = np.abs(h.reshape(h.shape[0], -1))
    peaks = magnitude.max(axis=0)
    factor = 10.0 ** (threshold_db / 20.0)
    loudest = peaks.max()
    if loudest == 0:
        return 0
    return min(int(np.argmax(magnitude[:, c] >= peaks[c] * factor))
               for c in range(magnitude.shape[1]) if peaks[c] >= loudest * factor)
