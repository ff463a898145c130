"""What a write produced, and the sample-rate rule for audio files."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import UsageError

__all__ = ["WriteReport", "audio_rate"]


@dataclass(frozen=True)
class WriteReport:
    """What :func:`write` wrote.

    Attributes
    ----------
    destination : str
        Path written, or ``"-"`` for standard output.
    format, subtype : str
        Container and subtype used (subtype is None for CSV).
    frames, channels : int
        Shape of what was written.
    clipped : int
        Samples beyond ±1.0 that were clipped to full scale (integer subtypes only).
    peak : float
        Largest absolute sample before any clipping.
    """

    destination: str
    format: str
    subtype: str | None
    frames: int
    channels: int
    clipped: int
    peak: float

    @property
    def peak_dbfs(self) -> float:
        """Peak level in dB relative to full scale (``-inf`` for silence)."""
        return 20 * math.log10(self.peak) if self.peak > 0 else -math.inf

    def clipping_message(self) -> str:
        """A one-line explanation of the clipping, with the remedy."""
        return (
            f"{self.clipped} samples exceeded full scale and were clipped while writing "
            f"{self.subtype} (peak {self.peak_dbfs:+.2f} dBFS); use --normalize peak, a negative "
            "--gain, or a float subtype (--subtype FLOAT) to keep them"
        )


def audio_rate(rate: float) -> int:
    """``rate`` as whole Hz for an audio file, or a :class:`UsageError` that suggests CSV."""
    nearest = round(rate)
    if nearest < 1 or abs(rate - nearest) > 1e-9 * rate:
        raise UsageError(
            f"audio files need a whole number of Hz, and the signal's rate is {rate:g} Hz; "
            "write CSV instead (-o name.csv) or resample the signal"
        )
    return int(nearest)
