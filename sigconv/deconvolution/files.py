"""The file job behind ``sigconv deconvolve``: streamed for wiener and tikhonov, whole for exact and lucy.

``wiener`` and ``tikhonov`` design the regularised inverse FIR and stream
the signal through the convolution engine with the I/O threads of
``convolve`` (:func:`sigconv.io.pump.stream_through`), keeping the frames
after the inverse's modelling delay: memory is bounded by the filter, not
by the signal, also from a pipe. With ``--noise`` the recording's
spectrum is needed before filtering, so the signal is read twice (a pipe
is copied to a temporary file on the first pass). ``exact`` and ``lucy``
solve for the whole signal at once and read it whole.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..io.stream import read_all
from .arrays import (
    Settings,
    deconvolve,
    inverse_engine,
    inverse_filter,
    kernel_columns,
    null_warning,
    output_length,
    parse_length,
    settings_for,
    truncation_warning,
)
from ..errors import IncompatibleSignalsError, SpectralNullWarning, UsageError
from ..io import read
from ..io.stream import open_reader, open_writer
from ..io.writing import WriteReport
from ..io.pump import READ_BLOCK, stream_through
from ..compute.resampling import ir_at_rate, resample
from ..validation import dtype_for_precision
from .wiener import Welch, segment_length

__all__ = ["DeconvolveReport", "OffsetWindow", "deconvolve_file"]


@dataclass
class DeconvolveReport:
    """What :func:`deconvolve_file` did.

    ``warnings`` holds the deep-null and truncation messages (the CLI
    prints them on stderr); ``notes`` the facts worth a line (resampling,
    a raised tolerance). ``inverse_taps``, ``delay`` and ``truncation_db``
    describe the inverse FIR of ``wiener`` and ``tikhonov``.
    """

    method: str = ""
    frames_in: int = 0
    frames_out: int = 0
    kernel_taps: int = 0
    inverse_taps: int = 0
    delay: int = 0
    truncation_db: float | None = None
    seconds: float = 0.0
    write: WriteReport | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class OffsetWindow:
    """Keeps frames ``[start, start + count)`` of a streamed product, zero-padded at the end.

    With ``count`` None the length is ``frames_in - holdback`` (the default
    output length, with ``holdback = len(kernel) - 1``), known only at the
    end; frames that might lie past it are held until it is known.
    """

    def __init__(self, start: int, count: int | None, holdback: int):
        self.start, self.count, self.holdback = start, count, holdback
        self.index = 0  # product index of the next frame fed
        self.emitted = 0
        self._held: np.ndarray | None = None

    def _take(self, block: np.ndarray, limit: int) -> np.ndarray:
        lo = min(max(self.start - self.index, 0), block.shape[0])
        self.index += block.shape[0]
        pending = block[lo:] if self._held is None else np.concatenate([self._held, block[lo:]])
        allowed = max(0, min(pending.shape[0], limit - self.emitted))
        self.emitted += allowed
        rest = pending[allowed:]
        self._held = rest if rest.shape[0] and self.count is None else None
        return pending[:allowed]

    def feed(self, block: np.ndarray, frames_in: int) -> np.ndarray:
        """Frames of ``block`` to emit, given that ``frames_in`` input frames were read so far."""
        return self._take(block, self.count if self.count is not None else frames_in - self.holdback)

    def finish(self, tail: np.ndarray, frames_in: int) -> np.ndarray:
        """The last frames, padded with zeros up to the output length."""
        count = self.count if self.count is not None else output_length(None, frames_in, self.holdback + 1)
        out = self._take(tail, count)
        missing = count - self.emitted
        if missing > 0:
            out = np.concatenate([out, np.zeros((missing, tail.shape[1]), dtype=tail.dtype)])
            self.emitted = count
        return out


def _quantization_step(subtype: str | None) -> float:
    """One LSB of an integer PCM subtype at full scale 1.0; 0 for float subtypes."""
    found = re.fullmatch(r"PCM_[SU]?(\d+)", subtype or "")
    return 2.0 ** (1 - int(found.group(1))) if found else 0.0


def _read_at(path: str, rate_to: float, what: str, resample_it: bool, input_format, rate, notes) -> np.ndarray:
    """A whole input at ``rate_to``: resampled where asked, else an error when rates differ."""
    source = read(path, format=input_format, rate=rate)
    if source.rate == rate_to:
        return source.data
    if not resample_it:
        raise IncompatibleSignalsError(
            f"the signal is at {rate_to:g} Hz and the {what} at {source.rate:g} Hz; resample one of them first, "
            f"or pass --resample to resample the {what} to the signal's rate"
        )
    notes.append(f"resampled the {what} from {source.rate:g} Hz to {rate_to:g} Hz")
    if what == "kernel":
        return ir_at_rate(source, rate_to, True)
    return resample(source.data, source.rate, rate_to)


def deconvolve_file(
    signal_path: str,
    kernel_path: str,
    output: str,
    *,
    method: str = "wiener",
    snr_db: float | None = None,
    noise_path: str | None = None,
    reg: float | None = None,
    band: tuple[float, float] | None = None,
    iterations: int | None = None,
    tolerance: float | None = None,
    length: int | str | None = None,
    resample_inputs: bool = False,
    precision: int = 64,
    input_format: str | None = None,
    rate: float | None = None,
    format: str | None = None,
    subtype: str | None = None,
    progress: Callable[[int, int | None, float], None] | None = None,
) -> DeconvolveReport:
    """Deconvolve a signal file by a kernel file into ``output``.

    Parameters
    ----------
    signal_path, kernel_path : str
        Paths; the signal (or the kernel, or the noise sample: one of them)
        may be ``"-"`` for standard input.
    output : str
        Path, or ``"-"`` for standard output.
    method, snr_db, reg, band, iterations, tolerance, length, precision
        As for :func:`sigconv.deconvolve` (``length`` may be ``"2.5s"``).
    noise_path : str, optional
        ``wiener``: a noise-only recording at the signal's rate.
    resample_inputs : bool
        Resample the kernel and the noise sample to the signal's rate when
        they differ (else that is an error).
    input_format, rate, format, subtype
        As for :func:`sigconv.read` and :func:`sigconv.write`.
    progress : callable, optional
        ``progress(frames_done, frames_total_or_None, rate)`` (streamed methods).

    Returns
    -------
    DeconvolveReport

    Notes
    -----
    For ``exact``, a signal stored as integer PCM carries rounding noise of
    up to half an LSB, so the tolerance is raised to one LSB relative to
    the signal's RMS where that is larger.

    Examples
    --------
    >>> import soundfile as sf, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> sf.write(os.path.join(d, "y.wav"), np.convolve([1.0, 0.5, -0.25], [1.0, 0.5]), 8000, subtype="DOUBLE")
    >>> sf.write(os.path.join(d, "h.wav"), np.array([1.0, 0.5]), 8000, subtype="DOUBLE")
    >>> report = deconvolve_file(os.path.join(d, "y.wav"), os.path.join(d, "h.wav"), os.path.join(d, "x.wav"),
    ...                          method="exact")
    >>> report.frames_out, np.round(sf.read(os.path.join(d, "x.wav"))[0], 12).tolist()
    (3, [1.0, 0.5, -0.25])
    """
    started = time.perf_counter()
    stdin_users = [name for name, path in (("SIGNAL", signal_path), ("KERNEL", kernel_path), ("--noise", noise_path))
                   if path == "-"]
    if len(stdin_users) > 1:
        raise UsageError(f"{' and '.join(stdin_users)} cannot all be standard input; give all but one as files")
    dtype = dtype_for_precision(precision)
    report = DeconvolveReport(method=method)
    reader = open_reader(signal_path, input_format, rate, dtype)
    try:
        settings = settings_for(method, snr_db=snr_db, noise=noise_path is not None, reg=reg, band=band,
                                iterations=iterations, tolerance=tolerance, rate=reader.rate)
        h = kernel_columns(_read_at(kernel_path, reader.rate, "kernel", resample_inputs, input_format, rate,
                                    report.notes), reader.channels, per_channel=noise_path is not None)
        report.kernel_taps = h.shape[0]
        requested = parse_length(length, reader.rate)
        if reader.frames is not None:
            output_length(requested, reader.frames, h.shape[0])  # refuse an empty default before any work
        inputs = [p for p in (signal_path, kernel_path, noise_path) if p]
        if settings.streams:
            _streamed(reader, h, settings, requested, output, noise_path, resample_inputs, dtype, input_format,
                      rate, format, subtype, inputs, progress, report)
        else:
            _whole(reader, h, settings, requested, output, dtype, format, subtype, inputs, report)
    finally:
        reader.close()
    report.seconds = time.perf_counter() - started
    return report


def _whole(reader, h, settings: Settings, requested, output, dtype, format, subtype, inputs, report) -> None:
    y = read_all(reader)
    report.frames_in = y.shape[0]
    tolerance = settings.tolerance
    if settings.method == "exact":
        rms = float(np.sqrt(np.mean(np.square(y))))
        step = _quantization_step(reader.subtype)
        if step and rms > 0 and step / rms > tolerance:
            report.notes.append(f"tolerance raised to {step / rms:.3g} for the {reader.subtype} input's rounding")
            tolerance = step / rms
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpectralNullWarning)
        x = deconvolve(y, h, settings.method, iterations=settings.iterations, tolerance=tolerance,
                       length=requested, rate=reader.rate, precision=8 * dtype.itemsize)
    report.warnings.extend(str(w.message) for w in caught if issubclass(w.category, SpectralNullWarning))
    with open_writer(output, reader.rate, x.shape[1], format=format, subtype=subtype, source_subtype=reader.subtype,
                     protect=inputs, dtype=dtype) as writer:
        writer.write(x)
    report.frames_out = x.shape[0]
    report.write = writer.report()


def _noise_psd(path, rate_to, segment_for, resample_inputs, input_format, rate, notes):
    data = _read_at(path, rate_to, "noise sample", resample_inputs, input_format, rate, notes)
    segment = segment_for(data.shape[0])
    welch = Welch(segment, data.shape[1])
    welch.add(data)
    return welch, segment


@contextlib.contextmanager
def _replayable(reader, welch: Welch, dtype, input_format, rate):
    """Feed every block of ``reader`` to ``welch``; yield a reader of the same signal from its start.

    A file is opened again; standard input is copied to a temporary file
    on the way (memory stays bounded).
    """
    with contextlib.ExitStack() as stack:
        if reader.name != "-":
            for block in reader.blocks(READ_BLOCK):
                welch.add(block)
            again = open_reader(reader.name, input_format, rate, dtype)
        else:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix=".sigconv-"))
            spool = os.path.join(scratch, "signal.wav")
            with open_writer(spool, reader.rate, reader.channels, subtype="DOUBLE") as writer:
                for block in reader.blocks(READ_BLOCK):
                    welch.add(block)
                    writer.write(block)
            again = open_reader(spool, dtype=dtype)
            again.name, again.subtype = "-", reader.subtype
        stack.callback(again.close)
        yield again


def _streamed(reader, h, settings: Settings, requested, output, noise_path, resample_inputs, dtype, input_format,
              rate, format, subtype, inputs, progress, report) -> None:
    message = null_warning(h, reader.rate)
    if message:
        report.warnings.append(message)
    with contextlib.ExitStack() as stack:
        source, noise_psd, recording_psd, segment = reader, None, None, 0
        if settings.noise:
            noise_welch, segment = _noise_psd(noise_path, reader.rate, segment_length, resample_inputs,
                                              input_format, rate, report.notes)
            if noise_welch.channels not in (1, reader.channels):
                raise IncompatibleSignalsError(
                    f"the noise sample has {noise_welch.channels} channels and the signal {reader.channels}; "
                    "give a mono noise sample or one with the signal's channels"
                )
            recording = Welch(segment, reader.channels)
            source = stack.enter_context(_replayable(reader, recording, dtype, input_format, rate))
            noise_psd, recording_psd = noise_welch.density(reader.rate), recording.density(reader.rate)
        inverse = inverse_filter(h, settings, reader.rate, noise_psd, recording_psd, segment, span=reader.frames)
        report.inverse_taps, report.delay, report.truncation_db = inverse.taps.shape[0], inverse.delay, \
            inverse.truncation_db
        message = truncation_warning(inverse, reader.rate, length_known=reader.frames is not None)
        if message:
            report.warnings.append(message)
        engine = inverse_engine(inverse, reader.channels, dtype, source.frames)
        window = OffsetWindow(inverse.delay, requested, h.shape[0] - 1)
        with open_writer(output, reader.rate, reader.channels, format=format, subtype=subtype,
                         source_subtype=reader.subtype, protect=inputs, dtype=dtype) as writer:
            stream_through(source, engine, window, writer, progress, report)
        report.write = writer.report()
