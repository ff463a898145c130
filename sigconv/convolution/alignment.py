"""Where a convolution's output starts: the ``keep`` mode, ``--align``, and the warning for ``same`` on a reverb.

A mix needs the processed track to line up with the original: the same
length, and time zero kept. ``scipy``'s ``same`` mode keeps the length but
centres the window on the full result, so with a causal IR (a reverb,
whose energy comes early) the output starts ``(m - 1) // 2`` frames into
the convolution. The ``keep`` mode is the first ``n`` frames of the full
result instead.

``align`` says which path keeps time zero when a dry signal is mixed in:

``wet``
    The output starts with the input's time zero; the dry path is delayed
    by the IR's onset (:func:`sigconv.compute.onsets.ir_onset`) to meet
    the direct sound.
``dry``
    The dry path stays at time zero and the whole output is advanced by
    the onset: the wet path arrives that much earlier, and with
    ``dry=1, wet=0`` and ``mode='keep'`` the output is the input, sample
    for sample. What the IR holds before its onset (under -20 dB of its
    peak) lands before time zero and is cut at the start.
``none``
    Nothing is moved: dry at time zero, wet with the IR's own latency.

The alignment does not depend on the levels, so a mix is the sum of its
parts: ``convolve(wet=a, dry=b)`` equals ``convolve(wet=a, dry=0) +
convolve(wet=0, dry=b)`` under every alignment.
"""

from __future__ import annotations

import numpy as np

from ..compute.modes import MODES, FullOutputWindow, ModeWindow, check_mode
from ..errors import UsageError

__all__ = ["CONVOLVE_MODES", "ALIGNMENTS", "check_convolve_mode", "check_alignment", "output_slice",
           "StreamWindow", "same_mode_warning"]

#: The output lengths of a convolution: scipy's three, and ``keep`` (the input's length from time zero).
CONVOLVE_MODES = (*MODES, "keep")
#: Values of ``align``.
ALIGNMENTS = ("wet", "dry", "none")

#: ``same`` warns when at least this share of the IR's energy lies before its centre (a causal IR).
CAUSAL_ENERGY_SHARE = 0.9


def check_convolve_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`CONVOLVE_MODES`, else raise :class:`UsageError`."""
    if mode not in CONVOLVE_MODES:
        raise UsageError(f"mode must be one of {', '.join(CONVOLVE_MODES)}, not {mode!r}")
    return mode


def check_alignment(align: str, mode: str) -> str:
    """Return ``align`` if it is one of :data:`ALIGNMENTS` and fits ``mode``, else raise :class:`UsageError`."""
    if align not in ALIGNMENTS:
        raise UsageError(f"align must be one of {', '.join(ALIGNMENTS)}, not {align!r}")
    if align == "dry" and mode in ("same", "valid"):
        raise UsageError(f"--align dry moves the output's start, which --mode {mode} fixes itself; "
                         "use --mode keep (the input's length) or --mode full")
    return align


def output_slice(n: int, m: int, mode: str, advance: int = 0) -> slice:
    """The part of a full convolution (``n + m - 1`` frames) that ``mode`` keeps, ``advance`` frames later.

    Examples
    --------
    >>> output_slice(5, 3, "keep"), output_slice(5, 3, "full", advance=1)
    (slice(0, 5, None), slice(1, 7, None))
    """
    check_convolve_mode(mode)
    if mode == "keep":
        return slice(advance, advance + n)
    if mode == "full":
        return slice(advance, n + m - 1)
    if advance:
        raise UsageError(f"mode {mode!r} cannot be advanced")
    from ..compute.modes import mode_slice

    return mode_slice(n, m, mode)


class StreamWindow(FullOutputWindow):
    """Keeps ``full`` or ``keep``'s part of a streamed full convolution, from frame ``advance`` on.

    Same ``feed``/``finish`` as :class:`sigconv.compute.modes.ModeWindow`.
    A streaming engine emits full-output frame ``k`` only once input frame
    ``k`` was read, so while streaming nothing passes ``advance + n``.
    """

    def __init__(self, mode: str, advance: int = 0):
        if mode not in ("full", "keep"):
            raise UsageError(f"StreamWindow keeps full or keep, not {mode!r}")
        super().__init__(advance)
        self.keep = mode == "keep"

    def feed(self, block: np.ndarray, frames_in: int) -> np.ndarray:
        """Frames of ``block`` to emit, given that ``frames_in`` input frames were read so far."""
        return self._window(block, self.start + frames_in if self.keep else None)

    def finish(self, tail: np.ndarray, frames_in: int) -> np.ndarray:
        """The last frames to emit, now that the input had ``frames_in`` frames."""
        return self._window(tail, self.start + frames_in if self.keep else None)


def window_for(mode: str, taps: int, advance: int = 0):
    """The streaming window of ``mode`` for an IR of ``taps`` frames, ``advance`` frames later."""
    if mode in ("full", "keep"):
        return StreamWindow(mode, advance)
    return ModeWindow(check_mode(mode), taps)


def same_mode_warning(h: np.ndarray, rate: float | None = None) -> str | None:
    """What ``mode='same'`` cuts from the result of a causal IR, or None when ``h`` is centred.

    ``same`` drops the first ``(m - 1) // 2`` frames of the full result.
    When most of the IR's energy comes before its centre (a reverb, a
    minimum-phase filter), those frames carry the response to the start
    of the input: the output runs ahead of the input by that much.
    Symmetric (linear-phase) kernels are what ``same`` is for: no warning.

    Examples
    --------
    >>> same_mode_warning(np.array([1.0, 0.5, 0.25, 0.1, 0.05]))[:46]
    '--mode same drops the first 2 frames of the re'
    >>> same_mode_warning(np.array([0.25, 0.5, 1.0, 0.5, 0.25])) is None
    True
    """
    from ..compute.onsets import ir_onset

    m = h.shape[0]
    centre = (m - 1) // 2
    energy = np.sum(np.square(h.reshape(m, -1), dtype=np.float64), axis=1)
    total = energy.sum()
    if centre == 0 or total == 0:
        return None
    share = energy[:centre].sum() / total
    if share < CAUSAL_ENERGY_SHARE:
        return None
    onset = ir_onset(h)
    when = f" ({centre / rate:.3g} s)" if rate else ""
    return (f"--mode same drops the first {centre} frames of the result{when}, where {100 * share:.0f}% of the "
            f"IR's energy acts: the response to the start of the input is cut, and the output runs "
            f"{centre - onset} frames ahead of the input's direct sound; --mode keep gives the input's length "
            "from time zero")
