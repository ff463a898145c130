"""Find every occurrence of a short clip in a long recording, streaming the recording.

The score at position ``n`` is the normalized cross-correlation (Pearson's
coefficient) of the clip with the ``len(clip)`` frames of the recording
that start at ``n``::

    score[n] = sum_k c[k] x[n + k] / (|c| * sqrt(sum_k (x[n + k] - mean_n)^2)),   c = clip - mean(clip)

so it lies in -1..1 whatever the level of either signal (1: the clip
itself, at any gain). Multichannel clips and recordings are mixed to mono
first. The numerator is computed by overlap-save FFT over blocks of the
recording (each transform gives ``block`` scores and needs
``block + len(clip) - 1`` frames), the local energies by running sums
within each block, so memory is bounded by the block size, never by the
recording's length. Matches are the positions whose score reaches the
threshold and is the largest within ``len(clip) - 1`` frames either side,
so two matches are at least a clip length apart.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import IncompatibleSignalsError, InvalidSignalError, NoCorrelationPeakError, UsageError
from ..compute.frames import array_blocks, sliding_buffer
from ..validation import as_frames
from .spectra import correlation_ops

__all__ = ["Match", "LocateResult", "locate", "DEFAULT_THRESHOLD", "clock_time"]

#: Default score a match must reach.
DEFAULT_THRESHOLD = 0.5
_MIN_BLOCK = 1 << 16


def clock_time(seconds: float) -> str:
    """``seconds`` as ``hh:mm:ss.mmm`` (hours past 99 keep their digits; negative times get a sign).

    Examples
    --------
    >>> clock_time(3600.0164), clock_time(0.005), clock_time(-61.5)
    ('01:00:00.016', '00:00:00.005', '-00:01:01.500')
    """
    sign = "-" if seconds < 0 else ""
    millis = round(abs(seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{sign}{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


@dataclass(frozen=True)
class Match:
    """One occurrence of the clip: where it starts in the recording and how well it matches."""

    start_samples: int
    score: float
    rate: float

    @property
    def start_seconds(self) -> float:
        return self.start_samples / self.rate

    @property
    def start_clock(self) -> str:
        """The start as ``hh:mm:ss.mmm``."""
        return clock_time(self.start_seconds)

    def as_dict(self) -> dict:
        return {"start_samples": self.start_samples, "start_seconds": self.start_seconds,
                "start_clock": self.start_clock, "score": self.score}


@dataclass(frozen=True)
class LocateResult:
    """The result of :func:`locate`.

    Attributes
    ----------
    matches : tuple of Match
        In order of time.
    best : Match or None
        The highest score anywhere (whether or not it reached the threshold).
    """

    rate: float
    clip_frames: int
    recording_frames: int
    threshold: float
    block: int
    matches: tuple
    best: Match | None

    def as_dict(self) -> dict:
        return {"mode": "locate", "rate": self.rate, "clip_frames": self.clip_frames,
                "clip_seconds": self.clip_frames / self.rate, "recording_frames": self.recording_frames,
                "recording_seconds": self.recording_frames / self.rate, "threshold": self.threshold,
                "matches": [m.as_dict() for m in self.matches],
                "best": None if self.best is None else self.best.as_dict()}


class _PeakPicker:
    """Positions whose score reaches ``threshold`` and is the largest within ``radius`` either side, in a stream."""

    def __init__(self, radius: int, threshold: float):
        self.radius, self.threshold = radius, threshold
        self.scores = np.zeros(0)
        self.first = 0  # position of scores[0]
        self.decided = 0  # positions before this are done
        self.found: list[tuple[int, float]] = []
        self.best = (-math.inf, 0.0)
        self._last = None

    def feed(self, scores: np.ndarray) -> None:
        if scores.size:
            top = int(np.argmax(scores))
            if scores[top] > self.best[0]:
                self.best = (float(scores[top]), self.first + self.scores.size + top)
        self.scores = np.concatenate([self.scores, scores])
        self._decide(self.first + self.scores.size - self.radius)
        drop = max(0, self.decided - self.radius - self.first)
        self.scores = self.scores[drop:]
        self.first += drop

    def finish(self) -> None:
        self._decide(self.first + self.scores.size)

    def _decide(self, stop: int) -> None:
        if stop <= self.decided:
            return
        from scipy.ndimage import maximum_filter1d

        end = self.first + self.scores.size
        lo, hi = max(self.decided - self.radius, self.first), min(stop + self.radius, end)
        part = self.scores[lo - self.first : hi - self.first]
        largest = maximum_filter1d(part, 2 * self.radius + 1, mode="constant", cval=-np.inf)
        a, b = self.decided - lo, stop - lo
        hits = np.flatnonzero((part[a:b] >= self.threshold) & (part[a:b] >= largest[a:b])) + a
        for i in hits:
            position = lo + int(i)
            if self._last is not None and position - self._last <= self.radius:
                continue  # a tie within one clip length of the previous match
            self._last = position
            self.found.append((position, float(part[i])))
        self.decided = stop


class _Scorer:
    """Pearson scores from the correlation with the centred clip and running sums, in buffers reused every hop.

    Every array is allocated once, for the longest hop: a stream of hours
    allocates nothing per hop, so there is nothing for the allocator to
    keep or fragment.
    """

    def __init__(self, hop: int, length: int, norm: float):
        self.length, self.norm = length, norm
        self.sums = np.empty(hop + length)
        self.local = np.empty(hop)
        self.variance = np.empty(hop)
        self.audible = np.empty(hop, bool)
        self.scores = np.empty(hop)

    def __call__(self, used: np.ndarray, numerator: np.ndarray) -> np.ndarray:
        """Scores of the ``valid = len(numerator)`` positions; ``used`` holds ``valid + length - 1`` frames.

        The array returned is overwritten by the next call.
        """
        length, valid = self.length, numerator.shape[0]
        sums = self.sums[: used.shape[0] + 1]
        sums[0] = 0.0
        np.cumsum(used, out=sums[1:])
        local = np.subtract(sums[length : length + valid], sums[:valid], out=self.local[:valid])
        np.multiply(used, used, out=sums[1:])
        np.cumsum(sums[1:], out=sums[1:])
        variance = np.subtract(sums[length : length + valid], sums[:valid], out=self.variance[:valid])
        floor = 1e-12 * max(float(sums[-1]), 1e-300)
        local *= local
        local /= length
        variance -= local
        audible = np.greater(variance, floor, out=self.audible[:valid])
        np.maximum(variance, 0.0, out=variance)
        np.sqrt(variance, out=variance)
        variance *= self.norm
        scores = self.scores[:valid]
        scores[:] = 0.0
        np.divide(numerator, variance, out=scores, where=audible)
        return np.clip(scores, -1.0, 1.0, out=scores)


def _read_ahead(blocks, depth: int):
    """``blocks`` read by a background thread at most ``depth`` blocks ahead (a bounded queue), or as they are."""
    if depth <= 0:
        return blocks if hasattr(blocks, "close") else iter(blocks)
    from ..io.background import prefetch

    return prefetch(iter(blocks), depth)


def _mono_blocks(blocks: Iterable[np.ndarray], name: str):
    frames = 0
    for block in blocks:
        block = np.asarray(block, dtype=np.float64)
        block = block.reshape(block.shape[0], -1)
        if not np.isfinite(block).all():
            raise InvalidSignalError(f"{name} contains NaN or infinite samples (near frame {frames}); clean it first")
        frames += block.shape[0]
        yield block.mean(axis=1, keepdims=True) if block.shape[1] > 1 else block


def locate(clip, recording, rate: float = 1.0, *, threshold: float = DEFAULT_THRESHOLD, block: int | None = None,
           progress: Callable[[int, int | None, float], None] | None = None, total: int | None = None,
           backend: str = "auto", context=None, read_ahead: int = 0) -> LocateResult:
    """Find every start of ``clip`` in ``recording`` where the score reaches ``threshold``.

    Parameters
    ----------
    clip : array_like
        The short signal to look for, 1-D or ``(frames, channels)``.
    recording : array_like or iterable of arrays
        The long signal, whole or as consecutive ``(frames, channels)``
        blocks (e.g. ``SignalReader.blocks(n)``); it is read once, in order.
    rate : float
        Sample rate (start times in seconds; samples with the default 1).
    threshold : float
        Smallest score (-1..1) reported.
    block : int, optional
        Scores per transform (default: the larger of 65536 and the clip's
        length). Memory is about 100 bytes per frame of ``block + len(clip)``,
        allocated once.
    progress : callable, optional
        Called as ``progress(frames_done, total, rate)``.
    total : int, optional
        Frames in the recording, for progress.
    backend : str
        Compute backend that runs the transforms (see ``sigconv backends``),
        or ``"auto"``: the fastest that runs ``correlate``.
    context : ExecutionContext or int, optional
        Threads the transforms may use (an int is a thread count).
    read_ahead : int
        Blocks of ``recording`` a background thread may read ahead of the
        search (0: none, the recording is read in the search's own
        thread). The queue between them holds at most this many blocks,
        however slow the search is.

    Returns
    -------
    LocateResult

    Raises
    ------
    NoCorrelationPeakError
        The clip is silent or constant.
    IncompatibleSignalsError
        The recording is shorter than the clip.
    BackendUnavailableError
        ``backend`` is unknown, unavailable here, or does not run ``correlate``.

    Notes
    -----
    The recording's segments go to the backend's device (``ops.to_device``)
    and the correlation with the clip comes back (``ops.to_host``); the
    local energies, scores and peak picking run on the host.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> clip = rng.standard_normal(500)
    >>> recording = 0.5 * rng.standard_normal(20000)
    >>> recording[3000:3500] += clip
    >>> recording[12345:12845] += 0.4 * clip
    >>> [(round(m.start_samples), round(m.score, 2)) for m in locate(clip, recording).matches]
    [(3000, 0.91), (12345, 0.64)]
    """
    if not -1.0 <= threshold <= 1.0:
        raise UsageError(f"--threshold is a score between -1 and 1, not {threshold:g}")
    c = as_frames(clip, name="clip").mean(axis=1)
    length = c.shape[0]
    if length < 2 or c.max() == c.min():
        raise NoCorrelationPeakError(
            "the clip is constant or shorter than two frames, so it matches everything equally; check the clip file"
        )
    if isinstance(recording, (np.ndarray, list, tuple)):
        recording = as_frames(recording, name="recording")
        total = recording.shape[0] if total is None else total
        recording = array_blocks(recording)
    centred = c - c.mean()
    norm = math.sqrt(float(np.dot(centred, centred)))
    hop = block if block is not None else max(_MIN_BLOCK, length)
    if hop < 1:
        raise UsageError(f"--block must be a positive number of frames, not {hop}")
    ops = correlation_ops(backend, total, length, 1, context)
    size = ops.next_fast_len(hop + length - 1)
    hop = size - length + 1
    transform = ops.real_fft(size, 1, np.float64)
    clip_spectrum = transform.forward(ops.to_device(centred[None, :])).conj()
    picker = _PeakPicker(length - 1, threshold)
    score = _Scorer(hop, length, norm)
    segment = np.zeros(size)  # frames position .. position + size of the recording, reused every hop
    state = {"position": 0, "frames": 0}

    def search(filled: int) -> None:
        """Score the positions whose frames ``segment[:filled]`` holds, from ``position`` on."""
        valid = filled - length + 1
        if valid <= 0:
            return
        spectrum = transform.forward(ops.to_device(segment[None, :]))
        spectrum *= clip_spectrum
        numerator = ops.to_host(transform.inverse(spectrum)[0, :valid])
        picker.feed(score(segment[: valid + length - 1], numerator))
        state["position"] += valid
        if progress:
            progress(state["position"] + length - 1, total, rate)

    def counted(blocks):
        for block in blocks:
            state["frames"] += block.shape[0]
            yield block[:, 0]

    with contextlib.closing(_read_ahead(_mono_blocks(recording, "the recording"), read_ahead)) as blocks:
        for filled in sliding_buffer(counted(blocks), segment, length - 1):
            if filled == size:
                search(size)
    segment[filled:] = 0.0
    search(filled)
    picker.finish()
    frames = state["frames"]
    if frames < length:
        raise IncompatibleSignalsError(
            f"the recording ({frames} frames, {frames / rate:g} s) is shorter than the clip ({length} frames, "
            f"{length / rate:g} s); give the clip first and the recording second"
        )
    best = None if picker.best[0] == -math.inf else Match(picker.best[1], picker.best[0], rate)
    matches = tuple(Match(position, score, rate) for position, score in picker.found)
    return LocateResult(rate, length, frames, threshold, hop, matches, best)
