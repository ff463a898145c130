"""Frames of signals that arrive in blocks: forward-only windows over a stream, zero-padded slices."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

__all__ = ["FrameWindow", "array_blocks", "sliding_buffer", "zero_padded_slice"]


class FrameWindow:
    """Frames ``[start, stop)`` of a forward-only stream of blocks, zeros outside the signal.

    Requests must not move backwards; frames before the last request's
    start are released. Counts frames, energy and extremes per channel of
    what it reads.
    """

    def __init__(self, blocks: Iterable[np.ndarray], channels: int):
        self._blocks: Iterator[np.ndarray] = iter(blocks)
        self.channels = channels
        self._buffer = np.zeros((0, channels))
        self._start = 0
        self.done = False
        self.frames = 0
        self.energy = np.zeros(channels)
        self.low = np.full(channels, np.inf)
        self.high = np.full(channels, -np.inf)

    @property
    def end(self) -> int:
        """Frames read so far."""
        return self._start + self._buffer.shape[0]

    def _note(self, block):
        self.frames += block.shape[0]
        self.energy += np.einsum("ij,ij->j", block, block)
        np.minimum(self.low, block.min(axis=0), out=self.low)
        np.maximum(self.high, block.max(axis=0), out=self.high)

    def _fill(self, stop: int) -> None:
        chunks, end = [self._buffer], self.end
        while not self.done and end < stop:
            try:
                block = next(self._blocks)
            except StopIteration:
                self.done = True
                break
            block = np.asarray(block, dtype=np.float64).reshape(block.shape[0], -1)
            if block.shape[0]:
                self._note(block)
                chunks.append(block)
                end += block.shape[0]
        if len(chunks) > 1:
            self._buffer = np.concatenate(chunks)

    def has_frames_from(self, start: int) -> bool:
        """Whether the signal has any frame at or after ``start``."""
        self._fill(start + 1)
        return self.end > start

    def take(self, start: int, stop: int) -> np.ndarray:
        """Frames ``[start, stop)`` as a ``(stop - start, channels)`` array (read only: it may be a view)."""
        self._fill(stop)
        keep = min(max(start, self._start), self.end)
        if keep > self._start:
            self._buffer = self._buffer[keep - self._start :]
            self._start = keep
        if start == self._start and stop <= self.end:
            return self._buffer[: stop - start]  # no copy; callers only read it
        out = np.zeros((stop - start, self.channels))
        first, last = max(start, self._start), min(stop, self.end)
        if last > first:
            out[first - start : last - start] = self._buffer[first - self._start : last - self._start]
        return out

    def read_column_into(self, out: np.ndarray, column: int) -> int:
        """Copy channel ``column`` of the rest of the stream into ``out`` (no other copy is kept); return the frames."""
        position = 0
        for block in [self._buffer[:, column : column + 1]] if self._buffer.shape[0] else []:
            out[: block.shape[0]] = block[:, 0]
            position = block.shape[0]
        self._buffer = self._buffer[:0]
        for block in self._blocks:
            block = np.asarray(block, dtype=np.float64).reshape(block.shape[0], -1)
            self._note(block)
            out[position : position + block.shape[0]] = block[:, column]
            position += block.shape[0]
        self._start = position
        self.done = True
        return position

    def drain(self) -> None:
        """Read (and count) the rest of the stream without keeping it."""
        self._buffer = self._buffer[:0]
        self._start = self.end
        for block in self._blocks:
            block = np.asarray(block, dtype=np.float64).reshape(block.shape[0], -1)
            if block.shape[0]:
                self._note(block)
                self._start += block.shape[0]
        self.done = True


def array_blocks(x: np.ndarray, size: int = 1 << 16) -> Iterator[np.ndarray]:
    """``x`` in consecutive blocks of ``size`` frames (views)."""
    for start in range(0, x.shape[0], size):
        yield x[start : start + size]


def sliding_buffer(blocks: Iterable[np.ndarray], buffer: np.ndarray, keep: int, start: int = 0) -> Iterator[int]:
    """Copy the frames of ``blocks`` into ``buffer`` in turn, for overlap-save style processing.

    Yields ``len(buffer)`` each time the buffer is full (the caller uses
    it then); its last ``keep`` frames then move to its start, the overlap
    of the next fill. The buffer starts out holding ``start`` frames. The
    last value yielded, once the blocks are exhausted, is below
    ``len(buffer)``: how many frames the final, partial fill holds.
    """
    size = buffer.shape[0]
    filled = start
    for block in blocks:
        while block.shape[0]:
            count = min(block.shape[0], size - filled)
            buffer[filled : filled + count] = block[:count]
            filled += count
            block = block[count:]
            if filled == size:
                yield size
                buffer[:keep] = buffer[size - keep :]
                filled = keep
    yield filled


def zero_padded_slice(b: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Frames ``[start, stop)`` of ``b``, zeros outside it."""
    out = np.zeros((stop - start, b.shape[1]))
    first, last = max(start, 0), min(stop, b.shape[0])
    if last > first:
        out[first - start : last - start] = b[first:last]
    return out
