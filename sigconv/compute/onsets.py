"""Where an impulse response starts: the direct sound, as ISO 3382-1 finds it."""

from __future__ import annotations

import numpy as np

__all__ = ["ONSET_THRESHOLD_DB", "ir_onset"]

#: ISO 3382-1 takes the direct sound to start where the IR first rises to
#: within 20 dB of its peak.
ONSET_THRESHOLD_DB = -20.0


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
    return int(np.argmax(envelope >= peak * 10.0 ** (threshold_db / 20.0)))
