"""Loudness (ITU-R BS.1770-4, EBU R128) and true peak (BS.1770-4 Annex 2), measured block by block.

Both meters take ``(frames, channels)`` blocks one after the other and
hold only a few samples of state (and, for loudness, one number per
channel per 100 ms), so a file longer than memory is measured as it
streams past; the functions :func:`integrated_loudness` and
:func:`true_peak` measure a whole array.

The K-weighting is the two biquads of BS.1770-4 Table 1, designed for any
rate from the analogue prototype of libebur128 (at 48 kHz they are the
published coefficients). Gating: 400 ms blocks every 100 ms, an absolute
gate at -70 LUFS and a relative gate 10 LU below the loudness of the
blocks above it. Channel weights: 1.0, except the surround channels 4 and
5 of a 5-channel signal (1.41).

Examples
--------
>>> import numpy as np
>>> t = np.arange(48000 * 2) / 48000
>>> sine = 10 ** (-23 / 20) * np.sin(2 * np.pi * 997 * t)
>>> round(integrated_loudness(np.column_stack([sine, sine]), 48000), 1)
-23.0
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LoudnessMeter", "TruePeakMeter", "integrated_loudness", "true_peak", "ABSOLUTE_GATE_LUFS",
           "RELATIVE_GATE_LU", "TRUE_PEAK_TAPS"]

#: Gating blocks quieter than this are left out (BS.1770-4, 2.8).
ABSOLUTE_GATE_LUFS = -70.0
#: Then blocks more than this below the loudness of the remaining ones are left out.
RELATIVE_GATE_LU = -10.0

#: BS.1770-4 Annex 2: the 48-tap interpolation filter of 4x oversampling, as 4 phases of 12 taps.
TRUE_PEAK_TAPS = np.array([
    [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875, 0.1373291015625,
     0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
    [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500, 0.4650878906250,
     0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
    [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125, 0.7797851562500,
     0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875],
    [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750, 0.9721679687500,
     0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750],
])
_TAPS = TRUE_PEAK_TAPS.shape[1]
#: No phase's output exceeds its inputs' largest magnitude times this (the largest sum of |taps| of a phase).
_GAIN_BOUND = float(np.abs(TRUE_PEAK_TAPS).sum(axis=1).max())


def k_weighting(rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Second-order sections of the K-weighting filter at ``rate`` Hz (shelf, then high-pass).

    Examples
    --------
    >>> sos = k_weighting(48000)
    >>> np.round(sos[0, :3], 5).tolist()
    [1.53512, -2.6917, 1.19839]
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, high_pass])


def _weights(channels: int) -> np.ndarray:
    weights = np.ones(channels)
    if channels == 5:
        weights[3:5] = 1.41
    return weights


class LoudnessMeter:
    """Integrated loudness of a signal fed in ``(frames, channels)`` blocks.

    Parameters
    ----------
    rate : float
        Sample rate in Hz.
    channels : int
        Channel count of every block.
    """

    def __init__(self, rate: float, channels: int):
        from scipy.signal import sosfilt_zi

        self.rate, self.channels = float(rate), channels
        self._sos = k_weighting(rate)
        self._zi = np.repeat(sosfilt_zi(self._sos)[:, :, None] * 0.0, channels, axis=2)
        self._frames = 0  # frames measured so far
        self._segment = 0  # index of the 100 ms segment being filled
        self._partial = np.zeros(channels)  # its sum of squares so far
        self._segments: list[np.ndarray] = []  # sums of squares of the finished segments, per channel

    def _boundary(self, index: int) -> int:
        return int(index * self.rate / 10.0)

    def push(self, block: np.ndarray) -> None:
        """Measure the next ``(frames, channels)`` block."""
        from scipy.signal import sosfilt

        if block.shape[0] == 0:
            return
        filtered, self._zi = sosfilt(self._sos, np.asarray(block, dtype=np.float64), axis=0, zi=self._zi)
        squares = np.square(filtered)
        start, end = self._frames, self._frames + block.shape[0]
        position = start
        while True:
            stop = self._boundary(self._segment + 1)
            if stop > end:
                self._partial += squares[position - start:].sum(axis=0)
                break
            self._partial += squares[position - start:stop - start].sum(axis=0)
            self._segments.append(self._partial)
            self._partial = np.zeros(self.channels)
            self._segment += 1
            position = stop
        self._frames = end

    def loudness(self) -> float:
        """Integrated loudness in LUFS of everything pushed so far (``-inf`` when every block is gated out)."""
        if len(self._segments) < 4:
            return -math.inf
        segments = np.array(self._segments)
        sums = np.cumsum(np.vstack([np.zeros(self.channels), segments]), axis=0)
        blocks = (sums[4:] - sums[:-4]) / (0.4 * self.rate)  # mean squares of the 400 ms blocks
        power = blocks @ _weights(self.channels)
        with np.errstate(divide="ignore"):
            levels = -0.691 + 10.0 * np.log10(power)
        kept = levels > ABSOLUTE_GATE_LUFS
        if not kept.any():
            return -math.inf
        relative = -0.691 + 10.0 * math.log10(power[kept].mean()) + RELATIVE_GATE_LU
        kept &= levels > relative
        return float(-0.691 + 10.0 * math.log10(power[kept].mean()))


class TruePeakMeter:
    """True peak (4x oversampling, BS.1770-4 Annex 2) of a signal fed in ``(frames, channels)`` blocks.

    The reported peak is the larger of the oversampled peak and the sample
    peak, so it is never below the sample peak. The signal is taken as
    silent before its first and after its last sample.
    """

    def __init__(self, channels: int):
        self._history = np.zeros((_TAPS - 1, channels))
        self.peak = 0.0

    def push(self, block: np.ndarray) -> None:
        """Measure the next ``(frames, channels)`` block."""
        if block.shape[0] == 0:
            return
        block = np.asarray(block, dtype=np.float64)
        self.peak = max(self.peak, float(np.max(np.abs(block))))
        z = np.concatenate([self._history, block])
        # Phase p of output n is sum_i taps[p, 11 - i] * z[n + i] (the 12 samples from n). It is at most
        # _GAIN_BOUND times the largest of them, so only windows holding a sample above peak / _GAIN_BOUND
        # can raise the peak: those are computed, the others skipped (the result is the same).
        loud = np.abs(z) >= self.peak / _GAIN_BOUND
        windows = z.shape[0] - _TAPS + 1
        candidate = loud[:windows].copy()
        for i in range(1, _TAPS):
            candidate |= loud[i:i + windows]
        n, c = np.nonzero(candidate)
        if n.size:
            values = z[n[:, None] + np.arange(_TAPS), c[:, None]] @ TRUE_PEAK_TAPS[:, ::-1].T
            self.peak = max(self.peak, float(np.max(np.abs(values))))
        self._history = z[-(_TAPS - 1):]

    def finish(self) -> float:
        """The true peak (linear), the silence after the last sample included."""
        self.push(np.zeros((_TAPS - 1, self._history.shape[1])))
        return self.peak


def _frames(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x


def integrated_loudness(x, rate: float) -> float:
    """Integrated loudness in LUFS of ``x`` (``(frames,)`` or ``(frames, channels)``) at ``rate`` Hz."""
    x = _frames(x)
    meter = LoudnessMeter(rate, x.shape[1])
    meter.push(x)
    return meter.loudness()


def true_peak(x) -> float:
    """True peak of ``x`` (linear; ``20 * log10`` of it is dBTP).

    Examples
    --------
    >>> import numpy as np
    >>> n = np.arange(4800)
    >>> x = np.sin(np.pi / 2 * n + np.pi / 4)  # fs/4 at 45 degrees: every sample at 0.707
    >>> round(float(np.max(np.abs(x))), 3), round(true_peak(x), 2)
    (0.707, 1.0)
    """
    x = _frames(x)
    meter = TruePeakMeter(x.shape[1])
    meter.push(x)
    return meter.finish()
