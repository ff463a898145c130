"""Write a signal to a file or standard output, atomically and without wrap-around."""

from __future__ import annotations

import io
import math
import os
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import ClippingWarning, OutputError, UsageError
from ..signal import Signal
from ..validation import as_frames
from .atomic import atomic_path, refuse_input_overwrite
from .csvio import format_csv
from .formats import CSV, clips_at_full_scale, output_format, output_subtype

__all__ = ["write", "WriteReport"]


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


def _audio_rate(rate: float) -> int:
    nearest = round(rate)
    if nearest < 1 or abs(rate - nearest) > 1e-9 * rate:
        raise UsageError(
            f"audio files need a whole number of Hz, and the signal's rate is {rate:g} Hz; "
            "write CSV instead (-o name.csv) or resample the signal"
        )
    return int(nearest)


def _encode(data: np.ndarray, rate: float, fmt: str, subtype: str | None, target) -> None:
    if fmt == CSV:
        text = format_csv(data, rate)
        if isinstance(target, str):
            with open(target, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        else:
            target.write(text.encode("utf-8"))
        return
    import soundfile as sf

    try:
        sf.write(target, data, _audio_rate(rate), subtype=subtype, format=fmt)
    except sf.LibsndfileError as exc:
        raise OutputError(f"libsndfile could not write {fmt}/{subtype}: {exc.error_string}") from exc


def write(
    destination,
    signal,
    rate: float | None = None,
    *,
    format: str | None = None,
    subtype: str | None = None,
    protect: Iterable[str] = (),
) -> WriteReport:
    """Write samples to ``destination`` (a path, or ``"-"`` for standard output).

    A file is written to a temporary name in the same folder and renamed
    into place only when complete, so a failure leaves any existing file
    untouched. Samples beyond full scale are clipped (never wrapped) for
    integer subtypes, and a :class:`~sigconv.errors.ClippingWarning` says
    how many.

    Parameters
    ----------
    destination : str or os.PathLike
        Output path, or ``"-"`` for standard output.
    signal : Signal or array_like
        What to write; an array needs `rate`.
    rate : float, optional
        Sample rate in Hz (taken from `signal` if it is a :class:`Signal`).
    format : str, optional
        ``WAV``, ``FLAC``, ``OGG``, ``AIFF``, ``CSV``... Default: from the
        extension; WAV for standard output.
    subtype : str, optional
        ``FLOAT``, ``DOUBLE``, ``PCM_16``, ``PCM_24``... Default: the
        signal's own subtype where the format supports it, else float (or
        PCM_24 for FLAC).
    protect : iterable of str, optional
        Input paths that must not be overwritten.

    Returns
    -------
    WriteReport
        Format, subtype, shape, clipped count and peak.

    Raises
    ------
    OutputError
        The destination is an input, its folder is missing, or writing failed.
    UsageError
        Unknown format or subtype, or a fractional rate for an audio format.

    Examples
    --------
    >>> import numpy as np, tempfile, os, warnings
    >>> path = os.path.join(tempfile.mkdtemp(), "out.wav")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     report = write(path, np.array([0.5, 2.0]), 8000, subtype="PCM_16")
    >>> report.clipped, round(report.peak_dbfs, 2), caught[0].category.__name__
    (1, 6.02, 'ClippingWarning')
    """
    destination = os.fspath(destination)
    if isinstance(signal, Signal):
        data, rate, source_subtype = signal.data, signal.rate if rate is None else rate, signal.subtype
    else:
        data, source_subtype = as_frames(signal, name="output"), None
    if rate is None:
        raise UsageError("write() needs the sample rate: pass rate=... or a Signal")
    fmt = output_format(destination, format)
    sub = output_subtype(fmt, subtype, source_subtype)
    refuse_input_overwrite(destination, protect)

    peak = float(np.max(np.abs(data))) if data.size else 0.0
    clipped = 0
    if clips_at_full_scale(sub) and peak > 1.0:
        clipped = int(np.count_nonzero(np.abs(data) > 1.0))
        data = np.clip(data, -1.0, 1.0)
    report = WriteReport(destination, fmt, sub, data.shape[0], data.shape[1], clipped, peak)
    if clipped:
        warnings.warn(report.clipping_message(), ClippingWarning, stacklevel=2)

    if destination == "-":
        buf = io.BytesIO()
        _encode(data, rate, fmt, sub, buf)
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
        return report
    with atomic_path(destination) as tmp:
        _encode(data, rate, fmt, sub, tmp)
    return report
