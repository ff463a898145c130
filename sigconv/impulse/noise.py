"""Octave-band levels of a background-noise recording, for the STI (``impulse info --noise-file``).

The STI with levels (IEC 60268-16:2020, Annex A) needs the noise's octave
levels in dB SPL at the listener, 125 Hz to 8 kHz. A recording of the
background noise, made with the measurement's microphone and gain, gives
them in dBFS; one calibration offset turns dBFS into dB SPL:

    ``L_k = 10 log10(mean(n_k**2)) + calibration``

where ``n_k`` is the recording filtered by the octave band ``k`` (the same
IEC 61260-1 class 1 filters as the analysis) and ``calibration`` the dB SPL
of a signal whose RMS is full scale (1.0). With a 94 dB SPL calibrator
recorded at ``X`` dBFS RMS (``sigconv impulse info`` and ``measure`` use
the same dBFS: RMS re 1.0, so a full-scale sine reads -3.01 dBFS) the
offset is ``94 - X``. The speech levels at the listener remain the user's
to give (``--speech-levels``): the IR says nothing about the talker.
"""

from __future__ import annotations

import numpy as np

from ..errors import IncompatibleSignalsError, UsageError
from ..validation import as_frames
from .bands import band_filter, band_reason
from .sti import STI_BANDS

__all__ = ["noise_levels_per_channel", "octave_noise_levels"]

#: Shortest noise recording, seconds: a few periods of the slowest modulation the STI looks at (0.63 Hz).
MIN_NOISE_SECONDS = 1.0


def octave_noise_levels(noise, rate: float, calibration_db: float = 0.0, filter_mode: str = "zero-phase"
                        ) -> np.ndarray:
    """Octave-band levels 125 Hz to 8 kHz of a noise recording, ``(channels, 7)``, in dB re `calibration_db`.

    Parameters
    ----------
    noise : array_like
        The recording, ``(frames,)`` or ``(frames, channels)``.
    rate : float
        Its sample rate in Hz (the 8 kHz band's upper edge must lie below Nyquist).
    calibration_db : float
        dB SPL of full scale (RMS 1.0); 0 gives dBFS.
    filter_mode : {"zero-phase", "reversed"}
        How the band filters run.

    Raises
    ------
    UsageError
        The rate is too low for the 8 kHz band, the recording is shorter
        than a second, or a band holds digital silence.

    Examples
    --------
    A 1 kHz tone of RMS 0.1 (-20 dBFS) with a calibration of 114 dB (94 dB SPL):

    >>> rate = 48000
    >>> t = np.arange(2 * rate) / rate
    >>> levels = octave_noise_levels(0.1 * np.sqrt(2) * np.sin(2 * np.pi * 1000 * t), rate, 114.0)
    >>> round(float(levels[0, 3]), 1), bool(np.all(np.delete(levels[0], 3) < 64))  # 30 dB down an octave away
    (94.0, True)
    """
    data = as_frames(noise, "noise recording")
    frames = data.shape[0]
    if frames < MIN_NOISE_SECONDS * rate:
        raise UsageError(f"the noise recording lasts {frames / rate:.2f} s; record at least "
                         f"{MIN_NOISE_SECONDS:g} s of background noise")
    why = band_reason(STI_BANDS[-1], rate, frames)
    if why:
        raise UsageError(f"the noise recording needs the octave bands 125 Hz to 8 kHz: {why}")
    levels = np.empty((data.shape[1], len(STI_BANDS)))
    for k, nominal in enumerate(STI_BANDS):
        power = np.mean(np.square(band_filter(data, rate, nominal, 1, filter_mode)), axis=0)
        if not np.all(power > 0):
            raise UsageError(f"the noise recording is silent in the {nominal} Hz octave; record the background "
                             "noise with the measurement's microphone and gain")
        levels[:, k] = 10 * np.log10(power) + calibration_db
    return levels


def noise_levels_per_channel(levels: np.ndarray, channels: int) -> tuple:
    """One row of 7 levels per IR channel: a mono recording serves every channel.

    Raises
    ------
    IncompatibleSignalsError
        The recording has several channels, but not as many as the IR.
    """
    levels = np.atleast_2d(levels)
    if levels.shape[0] == 1:
        levels = np.repeat(levels, channels, axis=0)
    if levels.shape[0] != channels:
        raise IncompatibleSignalsError(f"the noise recording has {levels.shape[0]} channels and the impulse response "
                                       f"{channels}; give one noise channel per IR channel, or a mono recording")
    return tuple(tuple(float(v) for v in row) for row in levels)
