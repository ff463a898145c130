"""Write a signal to a file or standard output, atomically and without wrap-around."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterable, Sequence

from ..errors import ClippingWarning, UsageError
from ..signal import Signal
from ..validation import as_frames
from .report import WriteReport
from .writers import open_writer

__all__ = ["write", "write_together", "WriteReport"]


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
    return write_together([(destination, signal, format, subtype)], rate, protect=protect)[0]


def write_together(outputs: Sequence[tuple], rate: float | None = None, *, protect: Iterable[str] = ()
                   ) -> list[WriteReport]:
    """Write several outputs all or nothing: none replaces its destination unless every one was written.

    Parameters
    ----------
    outputs : sequence of (destination, signal, format, subtype)
        As the arguments of :func:`write`.
    rate : float, optional
        Sample rate for the outputs given as arrays.
    protect : iterable of str, optional
        Input paths that must not be overwritten (nor may one output be another).

    Returns
    -------
    list of WriteReport
        One per output, in order.

    Raises
    ------
    OutputError, UsageError
        As :func:`write`; nothing was committed.
    """
    protect = list(protect)
    writers = []
    with contextlib.ExitStack() as pending:
        for destination, signal, format, subtype in outputs:
            destination = os.fspath(destination)
            if isinstance(signal, Signal):
                data, own_rate, source_subtype = signal.data, signal.rate if rate is None else rate, signal.subtype
            else:
                data, own_rate, source_subtype = as_frames(signal, name="output", channels_last=False), rate, None
            if own_rate is None:
                raise UsageError("write() needs the sample rate: pass rate=... or a Signal")
            writer = pending.enter_context(open_writer(
                destination, own_rate, data.shape[1], format=format, subtype=subtype, source_subtype=source_subtype,
                protect=protect + [w.destination for w in writers], dtype=data.dtype))
            writer.write(data)
            writers.append(writer)
    reports = [writer.report() for writer in writers]
    for report in reports:
        if report.clipped:
            warnings.warn(report.clipping_message(), ClippingWarning, stacklevel=3)
    return reports
