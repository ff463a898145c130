"""Streamed decimation for the coarse search: an anti-alias low-pass and every ``factor``-th frame.

:class:`Decimator` takes ``(frames, channels)`` blocks as they are read
and gives the decimated signal block by block, holding one transform's
worth of frames: overlap-save with a linear-phase FIR low-pass (a
Kaiser-windowed sinc, -80 dB from the new Nyquist frequency on, -6 dB at
78% of it), whose spectrum is cut to the bins below the new Nyquist
frequency before a transform ``factor`` times shorter brings it back.
Both signals of a pair go through the same filter, so its delay
(``factor * TAPS_PER_FACTOR / 2`` frames) cancels in their correlation.
The transforms run on the backend's array operations (``ops``).
"""

from __future__ import annotations

import numpy as np

from ..compute.frames import sliding_buffer

__all__ = ["TAPS_PER_FACTOR", "lowpass_taps", "Decimator", "smooth_factor"]

#: Filter taps per unit of the decimation factor.
TAPS_PER_FACTOR = 24
_CUTOFF = 0.78  # of the new Nyquist frequency, at -6 dB
_KAISER_BETA = 8.0  # about 80 dB of stop-band attenuation
_MIN_TRANSFORM = 1 << 16


def lowpass_taps(factor: int) -> np.ndarray:
    """The ``TAPS_PER_FACTOR * factor + 1`` taps of the anti-alias low-pass for ``factor`` (unit gain at 0 Hz).

    Examples
    --------
    >>> h = lowpass_taps(4)
    >>> h.size, round(float(h.sum()), 12), bool(np.allclose(h, h[::-1]))
    (97, 1.0, True)
    """
    taps = TAPS_PER_FACTOR * factor + 1
    n = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(_CUTOFF * n / factor) * np.kaiser(taps, _KAISER_BETA)
    return h / h.sum()


def smooth_factor(at_least: int) -> int:
    """The smallest 5-smooth integer (``2^a 3^b 5^c``) not below ``at_least``.

    Examples
    --------
    >>> smooth_factor(7), smooth_factor(42), smooth_factor(1)
    (8, 45, 1)
    """
    n = max(1, int(at_least))
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


class Decimator:
    """Low-pass ``channels`` columns of a stream and keep every ``factor``-th frame.

    Parameters
    ----------
    ops : ArrayOps
        The backend's array operations.
    factor : int
        Decimation factor (1: the frames themselves).
    columns : sequence of int
        Columns of the stream to decimate.
    channels : int
        Columns the stream has.

    Examples
    --------
    >>> from sigconv.compute.ops import ArrayOps
    >>> t = np.arange(40000)
    >>> x = np.sin(2 * np.pi * 0.01 * t)[:, None]        # well below the new Nyquist frequency (0.0625)
    >>> d = Decimator(ArrayOps(), 8, [0], 1)
    >>> y = np.concatenate(list(d.run(iter([x[:15000], x[15000:]]))))[:, 0]
    >>> y.shape[0] == -(-(40000 + d.delay * 2) // 8)
    True
    >>> k = np.arange(200, 4800)                           # y[k] is x at 8 k - delay
    >>> bool(np.allclose(y[k], np.sin(2 * np.pi * 0.01 * (8 * k - d.delay)), atol=1e-4))
    True
    """

    @staticmethod
    def overlap_of(factor: int) -> int:
        """Frames the output holds beyond ``frames / factor`` (the filter's length less one; 0 for factor 1)."""
        return 0 if factor == 1 else TAPS_PER_FACTOR * factor

    def __init__(self, ops, factor: int, columns, channels: int):
        self.ops, self.factor, self.columns, self.channels = ops, int(factor), list(columns), int(channels)
        self.delay = TAPS_PER_FACTOR * self.factor // 2  # frames: the filter's (linear-phase) delay
        self.overlap = 2 * self.delay  # = taps - 1, a multiple of factor
        coarse = ops.next_fast_len(max(_MIN_TRANSFORM // self.factor, 4 * self.overlap // self.factor + 1))
        self.size = coarse * self.factor
        self.coarse = coarse
        self.hop = self.size - self.overlap
        if self.factor > 1:
            from scipy import fft

            response = fft.rfft(lowpass_taps(self.factor), self.size)[: coarse // 2 + 1] / self.factor
            self._response = ops.to_device(response.astype(np.complex64))
            self._fft = ops.real_fft(self.size, len(self.columns), np.float32)

    def run(self, blocks):
        """Yield the decimated stream as ``(frames, len(columns))`` host blocks; ``blocks`` is read once.

        The output holds ``ceil((frames + 2 * delay) / factor)`` frames:
        frame ``k`` is the low-passed input at ``k * factor - delay``. The
        filter runs in float32 (a coarse search needs no more).
        """
        columns = self.columns
        if self.factor == 1:
            for block in blocks:
                block = np.asarray(block)
                yield block.reshape(block.shape[0], -1)[:, columns]
            return
        overlap, hop, size = self.overlap, self.hop, self.size
        held = np.zeros((size, len(columns)), np.float32)  # input frames p - overlap ... for outputs p ...
        skip = overlap // self.factor
        wanted = (np.asarray(block) for block in blocks)
        wanted = (block.reshape(block.shape[0], -1)[:, columns] for block in wanted)
        # the filter starts on zeros: the buffer holds ``overlap`` of them at first
        for filled in sliding_buffer(wanted, held, overlap, start=overlap):
            if filled == size:
                yield self._transform(held, skip, hop)
        owed = filled  # the input not yet filtered, then the filter's tail over zeros
        held[filled:] = 0
        while owed > 0:
            yield self._transform(held, skip, min(hop, owed))
            held[:overlap] = held[hop:]
            held[overlap:] = 0
            owed -= hop

    def _transform(self, held, skip: int, count: int) -> np.ndarray:
        """The decimated filter output over the first ``count`` frames of this hop."""
        ops = self.ops
        self._fft.frame[...] = ops.to_device(np.ascontiguousarray(held.T))
        spectra = self._fft.forward_frame()[:, : self.coarse // 2 + 1]
        decimated = ops.irfft(spectra * self._response, self.coarse, axis=1)
        keep = -(-count // self.factor)
        return ops.to_host(ops.xp.ascontiguousarray(decimated[:, skip : skip + keep].T))
