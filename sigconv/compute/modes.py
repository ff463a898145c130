"""Output-length modes (``full``, ``same``, ``valid``, as in ``scipy.signal.convolve``) on arrays and streams."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MODES", "check_mode", "mode_slice", "FullOutputWindow", "ModeWindow"]

#: Output-length modes, with the meaning of ``scipy.signal.convolve``.
MODES = ("full", "same", "valid")


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`MODES`, else raise :class:`UsageError`."""
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def mode_slice(n: int, m: int, mode: str) -> slice:
    """The part of a full convolution (length ``n + m - 1``) that ``mode`` keeps.

    Parameters
    ----------
    n, m : int
        Lengths of the signal and the kernel.
    mode : {'full', 'same', 'valid'}
        ``full``: everything; ``same``: ``n`` samples centred as in
        ``scipy.signal.convolve``; ``valid``: the ``max(n, m) - min(n, m) + 1``
        samples where the two overlap completely.

    Examples
    --------
    >>> mode_slice(5, 3, "same"), mode_slice(5, 3, "valid")
    (slice(1, 6, None), slice(2, 5, None))
    """
    check_mode(mode)
    if mode == "full":
        return slice(0, n + m - 1)
    if mode == "same":
        start = (m - 1) // 2
        return slice(start, start + n)
    return slice(min(n, m) - 1, max(n, m))


class FullOutputWindow:
    """Passes the frames of a streamed full convolution whose indices fall in ``start..stop``.

    The bookkeeping that :class:`ModeWindow` and the convolution family's
    keep/align window share: ``index`` is the full-output index of the
    next frame fed, ``start`` the first index kept.
    """

    def __init__(self, start: int = 0):
        self.start, self.index = start, 0

    def _window(self, block: np.ndarray, stop: int | None) -> np.ndarray:
        first = self.index
        self.index += block.shape[0]
        lo = max(self.start - first, 0)
        hi = block.shape[0] if stop is None else max(min(stop - first, block.shape[0]), 0)
        return block[lo:hi] if lo < hi else block[:0]


class ModeWindow(FullOutputWindow):
    """Keeps the part of a streamed full convolution that ``mode`` asks for.

    The full output has ``n + m - 1`` frames; ``same`` keeps ``n`` of them
    from ``(m - 1) // 2``; ``valid`` keeps ``max(n, m) - min(n, m) + 1``
    from ``min(n, m) - 1``. ``n`` is only known at the end, so ``valid``
    holds its output back until ``n >= m`` is certain (at most about ``m``
    frames).
    """

    def __init__(self, mode: str, taps: int):
        self.mode, self.taps = check_mode(mode), taps
        super().__init__(0 if mode == "full" else (taps - 1) // 2 if mode == "same" else taps - 1)
        self._held: list[np.ndarray] | None = [] if mode == "valid" else None

    def feed(self, block: np.ndarray, frames_in: int) -> np.ndarray:
        """Frames of ``block`` to emit, given that ``frames_in`` input frames were read so far."""
        if self._held is not None:
            self._held.append(block)
            if frames_in < self.taps:
                return block[:0]
            block, self._held = _concatenate(self._held), None
        return self._window(block, None)

    def finish(self, tail: np.ndarray, frames_in: int) -> np.ndarray:
        """The last frames to emit, now that the input had ``frames_in`` frames."""
        n, m = frames_in, self.taps
        if self._held is not None:
            block = _concatenate([*self._held, tail])
            self._held = None
            self.start = min(n, m) - 1
            return self._window(block, max(n, m))
        stop = None if self.mode == "full" else self.start + n if self.mode == "same" else n
        return self._window(tail, stop)


def _concatenate(blocks):
    import numpy as np

    return np.concatenate(blocks)
