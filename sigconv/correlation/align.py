"""B moved onto A's timeline: shifted by the measured delay and, where the clocks drift, resampled onto A's clock.

If B lags A by ``delay(t) = offset + drift * t`` (what :func:`sigconv.correlate`
and :func:`sigconv.estimate_drift` measure), frame ``n`` of B aligned to A is

``aligned[n] = b(offset + (1 + drift) * n)``

(``offset`` in samples, ``drift`` in parts of one): a positive delay cuts
B's head, a negative one pads it with silence, and past B's end there is
silence too. The result lines up sample for sample with A, from A's first
frame, for ``length`` frames (A's length in ``sigconv correlate``), so the
two can be mixed or laid on two tracks with no further shifting, as
Audacity's *Align* or audio-offset-finder users do by hand.

A whole-sample delay without drift is a plain copy (bit for bit). Otherwise
B is evaluated between its samples by a windowed-sinc interpolator: the
Kaiser-windowed (``beta`` 8.6, about -90 dB) low-pass of
:data:`HALF_TAPS` input samples either side, cut off at
:data:`CUTOFF` of the Nyquist frequency (flat to within 0.01 dB up to
about 0.85 of it), run by ``scipy.signal.upfirdn`` as a rational
resampler ``up / down`` close to ``1 + drift`` with at least
:data:`PHASES` phases per sample. Blocks of :data:`BLOCK` output frames
each start from their exact position on the line, so the rational
approximation never accumulates and memory stays bounded however long B
is: B streams through (:func:`aligned_blocks`), and :func:`align_file`
writes the result atomically with :func:`~sigconv.io.stream.open_writer`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from fractions import Fraction

import numpy as np

from ..compute.frames import FrameWindow, array_blocks
from ..errors import UsageError
from ..limits import check_finite
from ..validation import as_frames

__all__ = ["align_signal", "aligned_blocks", "align_file", "HALF_TAPS", "CUTOFF", "PHASES", "BLOCK"]

#: Input samples either side of an interpolated position.
HALF_TAPS = 32
#: Cut-off of the interpolation filter, as a fraction of the Nyquist frequency.
CUTOFF = 0.92
#: The fewest phases per input sample (the resolution of a fractional offset: 1/PHASES sample).
PHASES = 1 << 14
#: Output frames per block.
BLOCK = 1 << 18
_BETA = 8.6
_DENOMINATOR = 1 << 15  # largest denominator of the rational ratio (its error over a block is < 1e-4 sample)


def _check(offset: float, drift_ppm: float, length: int) -> None:
    check_finite(offset, "the delay")
    check_finite(drift_ppm, "the drift", " ppm")
    if not abs(drift_ppm) < 1e5:
        raise UsageError(f"a drift of {drift_ppm:g} ppm is not a clock drift (more than 10%); resample B to A's "
                         "rate first (--resample)")
    if length < 0:
        raise UsageError(f"the aligned signal must have zero or more frames, not {length}")


class _Interpolator:
    """``b(position)`` for output frames ``n`` at positions ``offset + ratio * n``, by ``scipy.signal.upfirdn``."""

    def __init__(self, offset: float, ratio: float):
        from scipy.signal import firwin

        fraction = Fraction(ratio).limit_denominator(_DENOMINATOR)
        down, up = fraction.numerator, fraction.denominator
        scale = -(-PHASES // up)
        self.up, self.down = up * scale, down * scale
        self.offset, self.ratio = offset, ratio
        widest = max(self.up, self.down)
        taps = 2 * HALF_TAPS * widest + 1
        self.filter = firwin(taps, CUTOFF / widest, window=("kaiser", _BETA)) * self.up
        self.centre = HALF_TAPS * widest  # the filter's middle tap
        self.reach = math.ceil(HALF_TAPS * widest / self.up) + 2  # input samples either side it touches

    def block(self, source: FrameWindow, first: int, count: int) -> np.ndarray:
        """Output frames ``first .. first + count - 1``."""
        from scipy.signal import upfirdn

        position = self.offset + first * self.ratio
        start = math.floor(position) - self.reach
        stop = math.ceil(position + count * self.ratio) + self.reach + 1
        x = source.take(start, stop)
        phase = position - start  # where output ``first`` lies in ``x``
        # upfirdn's output m sits at input position (m * down - delay) / up for a filter whose middle tap
        # is ``delay``: pad the filter's head so that output m0 sits exactly at ``phase``
        m0 = math.ceil((self.centre + self.up * phase) / self.down)
        pad = int(round(m0 * self.down - self.up * phase)) - self.centre
        h = np.concatenate([np.zeros(pad), self.filter]) if pad else self.filter
        y = upfirdn(h, x, self.up, self.down, axis=0)
        return y[m0 : m0 + count]


def aligned_blocks(blocks: Iterable[np.ndarray], channels: int, offset: float, drift_ppm: float = 0.0, *,
                   length: int, block: int = BLOCK) -> Iterator[np.ndarray]:
    """Yield B aligned to A (``length`` frames in blocks), reading B's ``blocks`` once, forward only.

    Parameters
    ----------
    blocks : iterable of numpy.ndarray
        B as ``(frames, channels)`` blocks.
    channels : int
        B's channels.
    offset : float
        Delay of B after A at A's first frame, in samples.
    drift_ppm : float
        The delay's change per frame of A, in ppm.
    length : int
        Frames to produce.
    block : int
        Frames per yielded block (the last may be shorter).
    """
    _check(offset, drift_ppm, length)
    source = FrameWindow(blocks, channels)
    whole = round(offset)
    if drift_ppm == 0 and offset == whole:  # a plain shift: copies, bit for bit
        for first in range(0, length, block):
            yield source.take(whole + first, whole + min(first + block, length)).copy()
        return
    interpolator = _Interpolator(offset, 1 + drift_ppm * 1e-6)
    for first in range(0, length, block):
        yield interpolator.block(source, first, min(block, length - first))


def align_signal(b, delay: float, rate: float = 1.0, *, drift_ppm: float = 0.0, length: int | None = None
                 ) -> np.ndarray:
    """B shifted (and resampled by the drift) so that it lines up with A, sample for sample.

    Parameters
    ----------
    b : array_like
        1-D or ``(frames, channels)`` signal.
    delay : float
        How far B lags A at A's start, in seconds (samples when ``rate`` is 1):
        a :class:`~sigconv.correlation.delays.DelayEstimate`'s ``delay_seconds``
        or a :class:`~sigconv.correlation.drift.DriftEstimate`'s ``offset_seconds``.
    rate : float
        Sample rate in Hz.
    drift_ppm : float
        B's clock drift against A's (``DriftEstimate.drift_ppm``); 0 shifts only.
    length : int, optional
        Frames of the result: A's length lines it up with A (default: B's length).

    Returns
    -------
    numpy.ndarray
        ``(length, channels)`` float64: ``aligned[n] = b(delay * rate + (1 + drift_ppm * 1e-6) * n)``,
        silence where that lies outside B.

    Examples
    --------
    >>> b = np.arange(1.0, 7.0)                     # B lags A by 2 samples: A = [x, x, 1, 2, 3, 4]...
    >>> align_signal(b, 2, length=4)[:, 0].tolist()
    [3.0, 4.0, 5.0, 6.0]
    >>> align_signal(b, -2, length=4)[:, 0].tolist()   # B leads A: silence first
    [0.0, 0.0, 1.0, 2.0]
    >>> x = np.sin(2 * np.pi * 0.01 * np.arange(4000))
    >>> y = align_signal(x, 0.5, length=3000)         # half a sample, between the samples
    >>> bool(np.abs(y[100:-100, 0] - np.sin(2 * np.pi * 0.01 * (np.arange(100, 2900) + 0.5))).max() < 1e-4)
    True
    """
    b = as_frames(b, name="signal B")
    length = b.shape[0] if length is None else int(length)
    offset = check_finite(delay, "the delay") * check_finite(rate, "the rate")
    _check(offset, drift_ppm, length)
    out = np.empty((length, b.shape[1]))
    filled = 0
    for part in aligned_blocks(array_blocks(b), b.shape[1], offset, drift_ppm, length=length):
        out[filled : filled + part.shape[0]] = part
        filled += part.shape[0]
    return out


def align_file(b_path: str, destination: str, delay: float, *, drift_ppm: float = 0.0, length: int,
               rate: float | None = None, files=None, format: str | None = None, subtype: str | None = None,
               protect: Iterable[str] = ()):
    """Write B aligned to A (:func:`align_signal`) to ``destination``, streaming B in bounded memory.

    Parameters
    ----------
    b_path : str
        B's file (not standard input: it is read again after the measurement).
    destination : str
        The aligned file (or ``"-"``); written atomically, in B's sample type
        where the format holds it, unless ``subtype`` says otherwise.
    delay : float
        Delay of B after A at A's start, in seconds.
    drift_ppm : float
        B's clock drift against A's.
    length : int
        Frames to write (A's length).
    rate : float, optional
        The rate the delay was measured at (A's): B must be at it, or is
        resampled to it in memory first.
    files : FileOptions, optional
        ``input_format`` and ``rate`` of B (as for :func:`sigconv.read`).
    format, subtype : str, optional
        Of the output (default: from its name; B's subtype where the format holds it).
    protect : iterable of str
        Inputs that must not be overwritten.

    Returns
    -------
    WriteReport

    Raises
    ------
    UsageError
        B is standard input, or a bad delay, drift or length.
    """
    from ..compute.resampling import resample
    from ..io.options import FileOptions
    from ..io.stream import ArrayReader, open_reader, open_writer, read_all
    from ..signal import Signal

    if b_path == "-":
        raise UsageError("B aligned to A cannot be written when B is standard input (it is read twice); "
                         "give B as a file")
    files = files or FileOptions()
    reader = open_reader(b_path, files.input_format, files.rate)
    try:
        if rate is not None and reader.rate != rate:
            data = resample(read_all(reader), reader.rate, rate)
            reader.close()
            reader = ArrayReader(Signal(data, rate, reader.subtype, reader.format, reader.name))
        offset = check_finite(delay, "the delay") * reader.rate
        with open_writer(destination, reader.rate, reader.channels, format=format, subtype=subtype,
                         source_subtype=reader.subtype, protect=[b_path, *protect]) as writer:
            for part in aligned_blocks(reader.blocks(BLOCK), reader.channels, offset, drift_ppm, length=length):
                writer.write(part)
        return writer.report()
    finally:
        reader.close()
