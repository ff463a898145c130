"""The file jobs behind ``sigconv correlate``: read, check rates, correlate, write the function.

:func:`correlate_files` streams both files block by block: into one
transform, block by block for a lag window, or coarse to fine for a wide
window of long files (memory then does not grow with the files' length;
see :mod:`sigconv.correlation.delays` for the memory each form needs). It
reads them again to settle each delay in its canonical window
(:func:`~sigconv.correlation.coarse.settle`), except a stream on standard
input, which can be read once only (the coarse-to-fine search holds such
a stream in memory). :func:`drift_files` reads both whole;
:func:`locate_file` reads the clip whole and streams the recording (also
from a pipe). Each takes its settings as a small frozen dataclass
(:class:`CorrelateSettings`, :class:`DriftSettings`, :class:`LocateSettings`)
and the files' formats as a :class:`~sigconv.io.options.FileOptions`, or
their fields as keywords; ``backend`` picks the compute backend that runs
the transforms.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..compute.context import ExecutionContext
from ..compute.frames import FrameWindow
from ..compute.resampling import resample
from ..errors import UsageError
from ..io.atomic import atomic_path, refuse_input_overwrite
from ..io.formats import CSV, output_format
from ..io.options import FileOptions
from ..io.report import WriteReport
from ..io.stream import ArrayReader, SignalReader, open_reader, open_writer, read_all
from ..options import gather
from ..signal import Signal, check_same_rate
from .clips import DEFAULT_THRESHOLD, LocateResult, locate
from .delays import (
    DEFAULT_METHOD,
    DEFAULT_MIN_CONFIDENCE,
    Correlation,
    check_options,
    correlate_sources,
    lag_window,
    require_confidence,
)
from .coarse import Sources, coarse_to_fine, needs_coarse, settle
from .drift import DEFAULT_WINDOW_SECONDS, DriftResult, estimate_drift
from .spectra import correlation_ops, plan_transform

__all__ = ["correlate_files", "drift_files", "locate_file", "write_correlation", "CorrelateSettings",
           "CorrelateJob", "DriftSettings", "LocateSettings", "READ_BLOCK"]

#: Frames per block read from a file.
READ_BLOCK = 1 << 16
#: Blocks the reader of ``--locate`` may decode ahead of the search, in its own thread (a bounded queue:
#: at most 4 blocks of 65536 frames wait, however busy the machine).
LOCATE_READ_AHEAD = 4

Progress = Callable[[int, "int | None", float], None]


@dataclass(frozen=True)
class CorrelateSettings:
    """How :func:`correlate_files` correlates: every setting but the files (picklable).

    Attributes
    ----------
    method, normalize, max_lag, min_lag, lag_range, ref_channel, refine, min_confidence, block, keep_function
        As for :func:`sigconv.correlate`.
    resample_b : bool
        Resample B to A's rate instead of failing on different rates.
    backend : str
        Compute backend that runs the transforms, or ``"auto"``.
    """

    method: str = DEFAULT_METHOD
    normalize: bool = False
    max_lag: float | None = None
    min_lag: float | None = None
    lag_range: tuple[float, float] | None = None
    ref_channel: int = 0
    refine: str = "bandlimited"
    min_confidence: float | None = None
    resample_b: bool = False
    block: int | None = None
    keep_function: bool = False
    backend: str = "auto"

    def check(self, channels_a: int | None = None) -> None:
        """Refuse bad or conflicting values (the reference channel once A's channels are known)."""
        check_options(self.method, self.normalize, self.refine, self.ref_channel, channels_a, self.block,
                      max_lag=self.max_lag, min_lag=self.min_lag, lag_range=self.lag_range,
                      min_confidence=self.min_confidence)


@dataclass(frozen=True)
class DriftSettings:
    """How :func:`drift_files` measures drift (picklable).

    Attributes
    ----------
    window, method, max_lag, lag_range, ref_channel, min_confidence, refine
        As for :func:`sigconv.estimate_drift`.
    resample_b : bool
        Resample B to A's rate instead of failing on different rates.
    backend : str
        Compute backend that runs the transforms, or ``"auto"``.
    """

    window: float = DEFAULT_WINDOW_SECONDS
    method: str = DEFAULT_METHOD
    max_lag: float | None = None
    lag_range: tuple[float, float] | None = None
    ref_channel: int = 0
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    refine: str = "bandlimited"
    resample_b: bool = False
    backend: str = "auto"


@dataclass(frozen=True)
class LocateSettings:
    """How :func:`locate_file` searches (picklable).

    Attributes
    ----------
    threshold, block
        As for :func:`sigconv.locate`.
    resample_clip : bool
        Resample the clip to the recording's rate instead of failing on different rates.
    backend : str
        Compute backend that runs the transforms, or ``"auto"``.
    """

    threshold: float = DEFAULT_THRESHOLD
    block: int | None = None
    resample_clip: bool = False
    backend: str = "auto"


@contextlib.contextmanager
def _open_pair(a_path: str, b_path: str, files: FileOptions, resample_b: bool, notes: list):
    """Readers for A and B at A's rate (B resampled in memory where asked)."""
    if a_path == "-" and b_path == "-":
        raise UsageError("A and B cannot both be standard input; give one of them as a file")
    a = open_reader(a_path, files.input_format, files.rate)
    try:
        b = open_reader(b_path, files.input_format, files.rate)
        try:
            if b.rate != a.rate:
                if not resample_b:
                    check_same_rate(a.rate, b.rate, ("A", "B"),
                                    "resample one of them first, or pass --resample to resample B to A's rate")
                data = resample(read_all(b), b.rate, a.rate)
                notes.append(f"resampled B from {b.rate:g} Hz to {a.rate:g} Hz")
                b.close()
                b = ArrayReader(Signal(data, a.rate, None, None, b.name))
            yield a, b
        finally:
            b.close()
    finally:
        a.close()


def _reopener(reader: SignalReader, path: str, files: FileOptions):
    """A callable that gives ``reader``'s blocks afresh each time (the coarse-to-fine search reads a file twice or more).

    A signal already in memory is served again; a file is opened again
    (and closed when its blocks are done or dropped); standard input, which
    can be read once only, is read into memory first.
    """
    if isinstance(reader, ArrayReader):
        return lambda: reader.blocks(READ_BLOCK)
    if path == "-":
        kept = ArrayReader(Signal(read_all(reader), reader.rate, reader.subtype, reader.format, reader.name))
        return lambda: kept.blocks(READ_BLOCK)

    def blocks():
        again = open_reader(path, files.input_format, files.rate)
        try:
            yield from again.blocks(READ_BLOCK)
        finally:
            again.close()

    return blocks


def _known_length(reader: SignalReader) -> SignalReader:
    """The reader itself, or (for a pipe that does not say its length) its data in memory."""
    if reader.frames is not None:
        return reader
    data = read_all(reader)
    return ArrayReader(Signal(data, reader.rate, reader.subtype, reader.format, reader.name))


def correlate_files(a_path: str, b_path: str, settings: CorrelateSettings | None = None, *,
                    files: FileOptions | None = None, context: ExecutionContext | int | None = None,
                    progress: Progress | None = None, **options) -> Correlation:
    """:func:`sigconv.correlate` on two files (or ``"-"`` for one of them).

    Parameters
    ----------
    a_path, b_path : str
        Paths, or ``"-"`` for standard input (one of them).
    settings : CorrelateSettings, optional
        How to correlate (default :class:`CorrelateSettings`): the
        parameters of :func:`sigconv.correlate`, plus ``resample_b``
        (resample B to A's rate instead of failing on different rates) and
        ``backend``.
    files : FileOptions, optional
        ``input_format`` and ``rate`` of the inputs (as for :func:`sigconv.read`).
    context : ExecutionContext or int, optional
        Threads the job may use (an int is a thread count).
    progress : callable, optional
        Called as ``progress(frames_done, frames_total, rate)``.
    **options
        Fields of :class:`CorrelateSettings` or :class:`~sigconv.io.options.FileOptions`
        by name (``max_lag=0.1``, ``backend="fft"``), over ``settings`` and ``files``.

    Returns
    -------
    Correlation
        Notes (such as a resampling) are in its ``notes``.

    Raises
    ------
    UsageError
        Bad settings, or a keyword that names none.
    BackendUnavailableError
        ``backend`` is unknown, unavailable here, or does not run ``correlate``.

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
    settings, files = gather(options, settings or CorrelateSettings(), files or FileOptions())
    return CorrelateJob(a_path, b_path, settings, files).run(context, progress)


@dataclass(frozen=True)
class CorrelateJob:
    """One correlation of two files, ready to run here or to be shipped to a worker (it pickles).

    Attributes
    ----------
    a_path, b_path : str
        As for :func:`correlate_files`.
    settings : CorrelateSettings
    files : FileOptions
    """

    a_path: str
    b_path: str
    settings: CorrelateSettings = field(default_factory=CorrelateSettings)
    files: FileOptions = field(default_factory=FileOptions)

    def run(self, context: ExecutionContext | int | None = None, progress: Progress | None = None) -> Correlation:
        """Run the job with ``context``'s threads; returns its :class:`~sigconv.correlation.delays.Correlation`."""
        s = self.settings
        s.check()
        notes: list[str] = []
        with _open_pair(self.a_path, self.b_path, self.files, s.resample_b, notes) as (a, b):
            s.check(a.channels)
            a, b = _known_length(a), _known_length(b)
            na, nb = a.frames, b.frames
            lo, hi, min_abs = lag_window(na, nb, a.rate, max_lag=s.max_lag, min_lag=s.min_lag,
                                         lag_range=s.lag_range)
            ops = correlation_ops(s.backend, na, nb, b.channels, context)
            names = (f"A {self.a_path!r}", f"B {self.b_path!r}")
            if needs_coarse(ops, na, nb, lo, hi, s.block, s.keep_function):
                sources = Sources(_reopener(a, self.a_path, self.files), _reopener(b, self.b_path, self.files),
                                  na, nb, a.channels, b.channels)
                result = coarse_to_fine(sources, a.rate, ops=ops, ref=s.ref_channel, method=s.method,
                                        normalize=s.normalize, lo=lo, hi=hi, min_abs=min_abs, refine=s.refine,
                                        block=s.block, progress=progress, names=names)
            else:
                result = self._direct(a, b, na, nb, lo, hi, min_abs, ops, progress, names)
                if all(path != "-" or isinstance(reader, ArrayReader) for path, reader in ((self.a_path, a),
                                                                                           (self.b_path, b))):
                    # settled only where both can be read again (a stream on standard input cannot)
                    sources = Sources(_reopener(a, self.a_path, self.files), _reopener(b, self.b_path, self.files),
                                      na, nb, a.channels, b.channels)
                    result = settle(sources, a.rate, result, ops=ops, ref=s.ref_channel, normalize=s.normalize,
                                    block=s.block)
        result.notes.extend(notes)
        if s.min_confidence is not None:
            result = require_confidence(result, s.min_confidence)
        return result

    def _direct(self, a, b, na, nb, lo, hi, min_abs, ops, progress, names) -> Correlation:
        """One transform or the block form, reading each file once."""
        s = self.settings
        _, length = plan_transform(ops, na, nb, lo, hi, s.block)
        source_a = FrameWindow(a.blocks(READ_BLOCK), a.channels)  # streamed into the transform buffer
        if length is None and b.channels > 1:
            source_b = read_all(b)  # one transform per channel of B: keep B
        else:
            source_b = FrameWindow(b.blocks(READ_BLOCK), b.channels)
        return correlate_sources(
            source_a, source_b, na, nb, a.rate, ops=ops, ref=s.ref_channel, method=s.method,
            normalize=s.normalize, lo=lo, hi=hi, min_abs=min_abs, refine=s.refine, block=s.block,
            keep_function=s.keep_function, progress=progress, names=names,
        )


def drift_files(a_path: str, b_path: str, settings: DriftSettings | None = None, *,
                files: FileOptions | None = None, context: ExecutionContext | int | None = None,
                progress: Progress | None = None, **options) -> tuple[DriftResult, list[str]]:
    """:func:`sigconv.estimate_drift` on two files (read whole).

    Parameters
    ----------
    a_path, b_path : str
        Paths, or ``"-"`` for standard input (one of them).
    settings : DriftSettings, optional
        How to measure (default :class:`DriftSettings`).
    files : FileOptions, optional
        ``input_format`` and ``rate`` of the inputs.
    context : ExecutionContext or int, optional
        Threads the job may use.
    progress : callable, optional
        Called as ``progress(frames_done, frames_total, rate)``.
    **options
        Fields of :class:`DriftSettings` or :class:`~sigconv.io.options.FileOptions` by name.

    Returns
    -------
    (DriftResult, list of str)
        The result and notes (such as a resampling).
    """
    s, files = gather(options, settings or DriftSettings(), files or FileOptions())
    notes: list[str] = []
    with _open_pair(a_path, b_path, files, s.resample_b, notes) as (a, b):
        a_data, b_data, a_rate = read_all(a), read_all(b), a.rate
    result = estimate_drift(a_data, b_data, a_rate, window=s.window, method=s.method, max_lag=s.max_lag,
                            lag_range=s.lag_range, ref_channel=s.ref_channel, min_confidence=s.min_confidence,
                            refine=s.refine, progress=progress, backend=s.backend, context=context)
    return result, notes


def locate_file(clip_path: str, recording_path: str, settings: LocateSettings | None = None, *,
                files: FileOptions | None = None, context: ExecutionContext | int | None = None,
                progress: Progress | None = None, **options) -> tuple[LocateResult, list[str]]:
    """:func:`sigconv.locate` on files, streaming the recording.

    Parameters
    ----------
    clip_path, recording_path : str
        Paths, or ``"-"`` for standard input (one of them).
    settings : LocateSettings, optional
        How to search (default :class:`LocateSettings`).
    files : FileOptions, optional
        ``input_format`` and ``rate`` of the inputs.
    context : ExecutionContext or int, optional
        Threads the job may use.
    progress : callable, optional
        Called as ``progress(frames_done, frames_total, rate)``.
    **options
        Fields of :class:`LocateSettings` or :class:`~sigconv.io.options.FileOptions` by name.

    Returns
    -------
    (LocateResult, list of str)
        The result and notes (such as a resampling).
    """
    s, files = gather(options, settings or LocateSettings(), files or FileOptions())
    if clip_path == "-" and recording_path == "-":
        raise UsageError("the clip and the recording cannot both be standard input; give one of them as a file")
    notes: list[str] = []
    clip_reader = open_reader(clip_path, files.input_format, files.rate)
    try:
        clip = read_all(clip_reader)
        clip_rate = clip_reader.rate
    finally:
        clip_reader.close()
    recording = open_reader(recording_path, files.input_format, files.rate)
    try:
        if clip_rate != recording.rate:
            if not s.resample_clip:
                check_same_rate(clip_rate, recording.rate, ("the clip", "the recording"),
                                "resample one of them first, or pass --resample to resample the clip to the "
                                "recording's rate")
            clip = resample(clip, clip_rate, recording.rate)
            notes.append(f"resampled the clip from {clip_rate:g} Hz to {recording.rate:g} Hz")
        result = locate(clip, recording.blocks(READ_BLOCK), recording.rate, threshold=s.threshold, block=s.block,
                        progress=progress, total=recording.frames, backend=s.backend, context=context,
                        read_ahead=LOCATE_READ_AHEAD)
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
    >>> from sigconv import correlate
    >>> r = correlate([1.0, 2.0], [0.0, 1.0, 2.0], 10.0, method="cc", lag_range=(0, 0.2), refine="none")
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
