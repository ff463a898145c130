"""The memory a streamed deconvolution may hold, and the longest inverse FIR that fits it.

``wiener`` and ``tikhonov`` stream the signal through a regularised inverse
FIR (:mod:`sigconv.deconvolution.inverse`). The signal never stays in
memory; the inverse does, three times over in the partitioned engine that
applies it: its taps, the spectra of its partitions and the frequency-domain
delay line of the input, so a 2.3-million-tap stereo inverse (16 lengths of
a 3 s kernel at 48 kHz) held 150 MB there alone. :func:`inverse_tap_limit`
caps the inverse's length so that these stay within
:data:`INVERSE_MEMORY`; :func:`stream_partition` keeps the engine's
transforms short (partitioned, not one long transform) so that its buffers,
and the blocks read ahead, stay small. A whole ``sigconv deconvolve`` then
peaks below 200 MB for kernels up to 3 s at 48 kHz whatever the signal's
length.

``exact`` and ``lucy`` solve for the whole signal at once (polynomial
division through one transform, Richardson-Lucy iterations over all of
it); the file job refuses signals above :data:`WHOLE_SIGNAL_SAMPLES` for them
(:func:`check_whole_signal`), naming the streaming methods instead.
"""

from __future__ import annotations

import numpy as np

from ..compute.engine import StreamEngine
from ..errors import UsageError

__all__ = [
    "INVERSE_MEMORY",
    "STREAM_PARTITION",
    "WHOLE_SIGNAL_SAMPLES",
    "TrimmedTail",
    "check_whole_signal",
    "inverse_tap_limit",
    "stream_partition",
]

#: Bytes the inverse FIR may take while it streams: its taps, its
#: partitions' spectra and the delay line of the input's spectra (64 MiB:
#: 838,000 taps of a stereo inverse in float64, so 4 lengths of a 3 s
#: kernel at 48 kHz; the process itself, the design's grids and the I/O
#: take the rest of 200 MB).
INVERSE_MEMORY = 64 << 20
#: Partition length of the engine that streams a long inverse: its
#: transforms have twice as many points (2^17), so its buffers and the input
#: read ahead stay at a few MB. A 576,000-tap stereo inverse streamed a
#: minute of stereo in 0.56 s with 2^16 and 0.58 s with 2^17 (the planner's
#: own choice), holding 62 against 81 MB.
STREAM_PARTITION = 1 << 16
#: Most samples (frames times channels) that ``exact`` and ``lucy`` read
#: from a file: 2^20 (21.8 s of mono at 48 kHz, 10.9 s of stereo). They
#: hold the whole signal several times over: 2^20 frames of stereo peaked
#: at 257 MB for either (about 95 bytes per sample over the 60 MB of the
#: process itself), so this much stays near 160 MB.
WHOLE_SIGNAL_SAMPLES = 1 << 20


def inverse_tap_limit(columns: int, paths: int, dtype=np.float64) -> int:
    """Most taps of an inverse FIR with ``columns`` tap columns on ``paths`` channel paths within :data:`INVERSE_MEMORY`.

    Per tap, the engine holds the taps of each column (one sample), and per
    path the partition spectrum and a delay line entry (two complex values
    per two samples of a zero-padded partition: two samples each).

    Examples
    --------
    >>> inverse_tap_limit(2, 2), inverse_tap_limit(4, 4), inverse_tap_limit(2, 2, np.float32)
    (838860, 419430, 1677721)
    """
    itemsize = np.dtype(dtype).itemsize
    return INVERSE_MEMORY // (itemsize * (columns + 4 * paths))


def stream_partition(taps: int) -> int | None:
    """The partition length that streams an inverse of ``taps`` taps, or None to let the planner choose.

    Short inverses run as the planner plans them (one transform, or its
    own partitions); longer ones get :data:`STREAM_PARTITION`.

    Examples
    --------
    >>> stream_partition(16384), stream_partition(1 << 20)
    (None, 65536)
    """
    return STREAM_PARTITION if taps > 2 * STREAM_PARTITION else None


def check_whole_signal(frames: int, channels: int, method: str, rate: float | None = None) -> None:
    """Refuse a signal too long for a method that holds it whole (``exact``, ``lucy``).

    Raises
    ------
    UsageError
        ``frames * channels`` above :data:`WHOLE_SIGNAL_SAMPLES`; the
        message names the limit and the streaming methods.

    Examples
    --------
    >>> check_whole_signal(48000, 2, "exact", 48000.0)
    """
    if frames * channels <= WHOLE_SIGNAL_SAMPLES:
        return
    limit = WHOLE_SIGNAL_SAMPLES // channels
    given = f"{frames / rate:.1f} s" if rate else f"{frames} frames"
    most = f"{limit / rate:.1f} s ({limit} frames)" if rate else f"{limit} frames"
    raise UsageError(
        f"--method {method} solves for the whole signal at once, so it takes at most {most} of "
        f"{channels}-channel signal from a file ({WHOLE_SIGNAL_SAMPLES} samples, to stay within 200 MB), and "
        f"this one is longer ({given}); --method wiener (with a high --snr, e.g. 120, for an exact product) and "
        "--method tikhonov stream signals of any length, or cut the signal into pieces"
    )


class TrimmedTail(StreamEngine):
    """A streaming engine whose :meth:`finish` runs only as far as the output window wants.

    An inverse FIR of ``N`` taps leaves ``N - 1`` frames after the input's
    end, and the deconvolved signal needs only those up to its modelling
    delay (about ``N / 2``) past the output's end: the engine's own
    ``finish`` would compute, and hold at once, all of them (36 MB for a
    1.15-million-tap stereo inverse). Here zeros are pushed a hop at a time
    until ``wanted(frames_pushed)`` output frames have come out.

    Parameters
    ----------
    engine : StreamEngine
        The engine; it is closed with this one. One without ``taps`` (the
        length of its IR) finishes as it would.
    in_channels : int
        Channels of its input blocks.
    wanted : callable
        ``wanted(frames_pushed) -> int``: how many output frames, from the
        first, the caller keeps once the input has ended.
    """

    def __init__(self, engine, in_channels: int, wanted):
        self.engine, self.in_channels, self._wanted = engine, in_channels, wanted
        self.out_channels, self.dtype = engine.out_channels, engine.dtype
        self.taps = getattr(engine, "taps", None)
        # what the I/O threads of sigconv.io.pump look at
        self.fft_size = getattr(engine, "fft_size", 0)
        self.hop = getattr(engine, "hop", 1 << 16)
        self._pushed = self._emitted = 0

    def push(self, block: np.ndarray) -> np.ndarray:
        self._pushed += block.shape[0]
        out = self.engine.push(block)
        self._emitted += out.shape[0]
        return out

    def finish(self) -> np.ndarray:
        """The outputs still wanted, at most the engine's whole tail."""
        if self.taps is None:
            return self.engine.finish()
        wanted = min(self._wanted(self._pushed), self._pushed + self.taps - 1)
        parts, zeros, pushed = [], np.zeros((self.hop, self.in_channels), dtype=self.dtype), 0
        # pipelined engines hand out a push's output with the next one: a hop or two more than the taps
        while self._emitted < wanted and pushed < self.taps + 2 * self.hop:
            parts.append(self.engine.push(zeros))
            pushed += self.hop
            self._emitted += parts[-1].shape[0]
        if self._emitted < wanted:
            parts.append(self.engine.finish())
            self._emitted += parts[-1].shape[0]
        tail = np.concatenate(parts) if parts else np.empty((0, self.out_channels), dtype=self.dtype)
        return tail[: tail.shape[0] - max(0, self._emitted - wanted)]

    def close(self) -> None:
        self.engine.close()
