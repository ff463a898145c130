"""The file jobs behind ``sigconv correlate``: read, check rates, correlate, write the function.

:func:`correlate_files` streams both files block by block when a lag window
makes the block-by-block form cheaper (memory then does not grow with the
files' length); otherwise it reads them whole (see :mod:`sigconv.correlation.delays`
for the memory each form needs). :func:`drift_files` reads both whole;
:func:`locate_file` reads the clip whole and streams the recording (also
from a pipe).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable

import numpy as np

from .delays import Correlation, check_options, correlate_sources, lag_window, require_confidence
from ..errors import IncompatibleSignalsError, UsageError
from ..compute.frames import FrameWindow
from .spectra import plan_transform
from ..io.atomic import atomic_path, refuse_input_overwrite
from ..io.formats import CSV, output_format
from ..io.report import WriteReport
from ..io.stream import ArrayReader, SignalReader, open_reader, open_writer, read_all
from ..compute.resampling import resample
from ..signal import Signal

__all__ = ["correlate_files", "drift_files", "locate_file", "write_correlation", "READ_BLOCK"]

#: Frames per block read from a file.
READ_BLOCK = 1 << 16

Progress = Callable[[int, "int | None", float], None]


@contextlib.contextmanager
def _open_pair(a_path: str, b_path: str, input_format, rate, resample_b: bool, notes: list):
    """Readers for A and B at A's rate (B resampled in memory where asked)."""
    if a_path == "-" and b_path == "-":
        raise UsageError("A and B cannot both be standard input; give one of them as a file")
    a = open_reader(a_path, input_format, rate)
    try:
        b = open_reader(b_path, input_format, rate)
        try:
            if b.rate != a.rate:
                if not resample_b:
                    raise IncompatibleSignalsError(
                        f"A is at {a.rate:g} Hz and B at {b.rate:g} Hz; resample one of them first, or pass "
                        "--resample to resample B to A's rate"
                    )
                data = resample(read_all(b), b.rate, a.rate)
                notes.append(f"resampled B from {b.rate:g} Hz to {a.rate:g} Hz")
                b.close()
                b = ArrayReader(Signal(data, a.rate, None, None, b.name))
            yield a, b
        finally:
            b.close()
    finally:
        a.close()


def _known_length(reader: SignalReader) -> SignalReader:
    """The reader itself, or (for a pipe that does not say its length) its data in memory."""
    if reader.frames is not None:
        return reader
    data = read_all(reader)
    return ArrayReader(Signal(data, reader.rate, reader.subtype, reader.format, reader.name))


def correlate_files(a_path: str, b_path: str, *, method: str = "gcc-phat", normalize: bool = False,
                    max_lag: float | None = None, min_lag: float | None = None,
                    lag_range: tuple[float, float] | None = None, ref_channel: int = 0, refine: str = "bandlimited",
                    min_confidence: float | None = None, resample_b: bool = False, block: int | None = None,
                    keep_function: bool = False, input_format: str | None = None, rate: float | None = None,
                    progress: Progress | None = None) -> Correlation:
    """:func:`sigconv.correlate` on two files (or ``"-"`` for one of them).

    Parameters are those of :func:`sigconv.correlate`, plus ``resample_b``
    (resample B to A's rate instead of failing on different rates) and
    ``input_format``/``rate`` (as for :func:`sigconv.read`). Notes (such as
    a resampling) are in the result's ``notes``.

    Examples
    --------
    >>> import soundfile as sf, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> x = np.random.default_rng(0).standard_normal(8000)
    >>> sf.write(os.path.join(d, "a.wav"), x, 8000, subtype="FLOAT")
    >>> sf.write(os.path.join(d, "b.wav"), np.concatenate([np.zeros(80), x]), 8000, subtype="FLOAT")
    >>> result = correlate_files(os.path.join(d, "a.wav"), os.path.join(d, "b.wav"), max_lag=0.1)
    >>> round(result.pairs[0].delay_seconds, 6)
    0.01
    """
    notes: list[str] = []
    with _open_pair(a_path, b_path, input_format, rate, resample_b, notes) as (a, b):
        check_options(method, normalize, refine, ref_channel, a.channels, block)
        a, b = _known_length(a), _known_length(b)
        na, nb = a.frames, b.frames
        lo, hi, min_abs = lag_window(na, nb, a.rate, max_lag=max_lag, min_lag=min_lag, lag_range=lag_range)
        _, length = plan_transform(na, nb, lo, hi, block)
        source_a = FrameWindow(a.blocks(READ_BLOCK), a.channels)  # streamed into the transform buffer
        if length is None and b.channels > 1:
            source_b = read_all(b)  # one transform per channel of B: keep B
        else:
            source_b = FrameWindow(b.blocks(READ_BLOCK), b.channels)
        result = correlate_sources(
            source_a, source_b, na, nb, a.rate, ref=ref_channel, method=method, normalize=normalize, lo=lo, hi=hi,
            min_abs=min_abs, refine=refine, block=block, keep_function=keep_function, progress=progress,
            names=(f"A {a_path!r}", f"B {b_path!r}"),
        )
    result.notes.extend(notes)
    if min_confidence is not None:
        require_confidence(result, min_confidence)
    return result


def drift_files(a_path: str, b_path: str, *, resample_b: bool = False, input_format: str | None = None,
                rate: float | None = None, **options):
    """:func:`sigconv.estimate_drift` on two files (read whole); returns ``(DriftResult, notes)``."""
    from .drift import estimate_drift

    notes: list[str] = []
    with _open_pair(a_path, b_path, input_format, rate, resample_b, notes) as (a, b):
        a_data, b_data, a_rate = read_all(a), read_all(b), a.rate
    return estimate_drift(a_data, b_data, a_rate, **options), notes


def locate_file(clip_path: str, recording_path: str, *, threshold: float = 0.5, resample_clip: bool = False,
                block: int | None = None, input_format: str | None = None, rate: float | None = None,
                progress: Progress | None = None):
    """:func:`sigconv.locate` on files, streaming the recording; returns ``(LocateResult, notes)``."""
    from .clips import locate

    if clip_path == "-" and recording_path == "-":
        raise UsageError("the clip and the recording cannot both be standard input; give one of them as a file")
    notes: list[str] = []
    clip_reader = open_reader(clip_path, input_format, rate)
    try:
        clip = read_all(clip_reader)
        clip_rate = clip_reader.rate
    finally:
        clip_reader.close()
    recording = open_reader(recording_path, input_format, rate)
    try:
        if clip_rate != recording.rate:
            if not resample_clip:
                raise IncompatibleSignalsError(
                    f"the clip is at {clip_rate:g} Hz and the recording at {recording.rate:g} Hz; resample one of "
                    "them first, or pass --resample to resample the clip to the recording's rate"
                )
            clip = resample(clip, clip_rate, recording.rate)
            notes.append(f"resampled the clip from {clip_rate:g} Hz to {recording.rate:g} Hz")
        result = locate(clip, recording.blocks(READ_BLOCK), recording.rate, threshold=threshold, block=block,
                        progress=progress, total=recording.frames)
    finally:
        recording.close()
    return result, notes


def _csv_rows(result: Correlation, start: int, stop: int) -> str:
    lags = result.lags[start:stop]
    columns = [lags.astype(np.float64), lags / result.rate, *result.values[start:stop].T]
    table = np.column_stack(columns)
    buffer = []
    for row in table:
        buffer.append(f"{int(row[0])}," + ",".join(f"{v:.17g}" for v in row[1:]))
    return "\n".join(buffer) + "\n"


def write_correlation(result: Correlation, destination: str, *, format: str | None = None,
                      subtype: str | None = None, protect: Iterable[str] = ()) -> WriteReport:
    """Write the correlation function of ``result`` (which must have been kept) as CSV or audio.

    CSV has the columns ``lag_samples,lag_seconds`` and one per channel
    pair, named ``a<ref>_b<channel>``. Audio has one channel per pair at the
    signals' rate; its first frame is the lag ``result.lo``. The file is
    written atomically; ``"-"`` is standard output.

    Examples
    --------
    >>> import tempfile, os
    >>> r = correlate_sources(np.array([[1.0], [2.0]]), np.array([[0.0], [1.0], [2.0]]), 2, 3, 10.0, ref=0,
    ...                       method="cc", normalize=False, lo=0, hi=2, min_abs=0, refine="none", block=None,
    ...                       keep_function=True, progress=None)
    >>> path = os.path.join(tempfile.mkdtemp(), "r.csv")
    >>> _ = write_correlation(r, path)
    >>> print(open(path).read().strip())
    lag_samples,lag_seconds,a0_b0
    0,0,2
    1,0.10000000000000001,5
    2,0.20000000000000001,2
    """
    if result.values is None:
        raise UsageError("the correlation function was not kept; call with keep_function=True")
    fmt = output_format(destination, format)
    refuse_input_overwrite(destination, protect)
    pairs = result.values.shape[1]
    if fmt != CSV:
        with open_writer(destination, result.rate, pairs, format=fmt, subtype=subtype,
                         protect=protect) as writer:
            writer.write(result.values)
        return writer.report()
    header = "lag_samples,lag_seconds," + ",".join(f"a{p.ref_channel}_b{p.channel}" for p in result.pairs) + "\n"
    rows = result.values.shape[0]

    def emit(stream):
        stream.write(header.encode())
        for start in range(0, rows, 1 << 14):
            stream.write(_csv_rows(result, start, start + (1 << 14)).encode())

    if destination == "-":
        emit(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        with atomic_path(destination) as tmp, open(tmp, "wb") as f:
            emit(f)
    peak = float(np.abs(result.values).max()) if rows else 0.0
    return WriteReport(os.fspath(destination), CSV, None, rows, pairs, 0, peak)
