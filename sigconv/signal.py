"""The :class:`Signal` container: samples plus the facts needed to write them back."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Signal", "check_same_rate"]


@dataclass(frozen=True)
class Signal:
    """Samples with their sample rate and the file facts they came with.

    Parameters
    ----------
    data : numpy.ndarray
        Samples, shape ``(frames, channels)``, float64 or float32, scaled so
        that full scale of an integer file is 1.0.
    rate : float
        Sample rate in Hz (an integer for audio files, possibly fractional
        for CSV traces with a time column).
    subtype : str or None
        libsndfile subtype of the source (``"PCM_16"``, ``"FLOAT"``...), or
        None where there is none (CSV, arrays).
    format : str or None
        Container of the source (``"WAV"``, ``"FLAC"``, ``"CSV"``...).
    name : str
        Where the signal came from, for messages (a path or ``"-"``).

    Examples
    --------
    >>> import numpy as np
    >>> s = Signal(np.zeros((480, 2)), 48000)
    >>> s.frames, s.channels, s.duration
    (480, 2, 0.01)
    """

    data: np.ndarray
    rate: float
    subtype: str | None = None
    format: str | None = None
    name: str = "<array>"

    @property
    def frames(self) -> int:
        """Number of sample frames."""
        return int(self.data.shape[0])

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.data.shape[1]) if self.data.ndim == 2 else 1

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate

    def renamed(self, name: str) -> "Signal":
        """Return a copy that names another source."""
        return replace(self, name=name)

    def with_data(self, data: np.ndarray, **changes) -> "Signal":
        """Return a copy carrying new samples (and any other changed fields)."""
        return replace(self, data=data, **changes)


def check_same_rate(rate: float, other_rate: float, names: tuple[str, str], remedy: str) -> None:
    """Raise :class:`~sigconv.errors.IncompatibleSignalsError` when two sample rates differ.

    The one wording every family uses: "``names[0]`` is at ``rate`` Hz and
    ``names[1]`` at ``other_rate`` Hz; ``remedy``".

    Examples
    --------
    >>> check_same_rate(48000, 48000, ("the input", "the IR"), "resample one")
    >>> check_same_rate(48000, 44100, ("A", "B"), "resample one of them first")
    Traceback (most recent call last):
    ...
    sigconv.errors.IncompatibleSignalsError: A is at 48000 Hz and B at 44100 Hz; resample one of them first
    """
    if rate != other_rate:
        from .errors import IncompatibleSignalsError

        raise IncompatibleSignalsError(f"{names[0]} is at {rate:g} Hz and {names[1]} at {other_rate:g} Hz; {remedy}")
