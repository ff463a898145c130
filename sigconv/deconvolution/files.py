"""The file job behind ``sigconv deconvolve``: streamed for wiener and tikhonov, whole for exact and lucy.

``wiener`` and ``tikhonov`` design the regularised inverse FIR and stream
the signal through the backend's convolution engine with the I/O threads of
``convolve`` (:func:`sigconv.io.pump.stream_through`), keeping the frames
after the inverse's modelling delay: memory is bounded by the filter (whose
length :mod:`sigconv.deconvolution.budget` caps), not by the signal, also
from a pipe: below 200 MB for kernels up to 3 s at 48 kHz. With
``--noise`` the recording's spectrum is needed before filtering, so the
signal is read twice (a pipe is copied to a temporary file on the first
pass). ``exact`` and ``lucy`` solve for the whole signal at once and read
it whole, up to :data:`~sigconv.deconvolution.budget.WHOLE_SIGNAL_SAMPLES`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..compute.context import ExecutionContext, resolve_context
from ..compute.memory import release_fft_plans, release_free_memory
from ..compute.resampling import ir_at_rate, resample
from ..errors import IncompatibleSignalsError, SpectralNullWarning, UsageError
from ..io.atomic import scratch_path
from ..io.options import FileOptions
from ..io.pump import READ_BLOCK, stream_through
from ..io.reading import is_named_pipe
from ..io.stream import open_reader, open_writer, read_all, read_whole
from ..io.writing import WriteReport
from ..options import gather
from ..signal import check_same_rate
from .arrays import (
    check_layout_method,
    deconvolution_backend,
    deconvolve,
    inverse_engine,
    inverse_filter,
    kernel_columns,
    kernel_layout,
    null_warning,
    truncation_warning,
)
from .budget import TrimmedTail, check_whole_signal
from .settings import DeconvolveSettings, output_length, parse_length
from .wiener import NoiseSpectra, Welch, segment_length

__all__ = ["DeconvolveJob", "DeconvolveReport", "OffsetWindow", "deconvolve_file"]


@dataclass
class DeconvolveReport:
    """What :func:`deconvolve_file` did.

    ``warnings`` holds the deep-null and truncation messages (the CLI
    prints them on stderr); ``notes`` the facts worth a line (resampling,
    a raised tolerance). ``inverse_taps``, ``delay`` and ``truncation_db``
    describe the inverse FIR of ``wiener`` and ``tikhonov``; ``snr_db`` is
    the flat SNR ``wiener`` assumed, ``band_snr`` the recording's SNR per
    octave band that ``wiener --noise`` estimated (see
    :meth:`~sigconv.deconvolution.wiener.NoiseSpectra.band_snr`).
    """

    method: str = ""
    frames_in: int = 0
    frames_out: int = 0
    kernel_taps: int = 0
    inverse_taps: int = 0
    delay: int = 0
    truncation_db: float | None = None
    snr_db: float | None = None
    band_snr: list[dict] | None = None
    seconds: float = 0.0
    write: WriteReport | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The report as JSON-ready values (``truncation_db`` None where there was no truncation)."""
        truncation = self.truncation_db
        return {
            "method": self.method, "frames_in": self.frames_in, "frames_out": self.frames_out,
            "kernel_taps": self.kernel_taps, "inverse_taps": self.inverse_taps, "delay": self.delay,
            "truncation_db": None if truncation is None or not np.isfinite(truncation) else round(truncation, 1),
            "snr_db": self.snr_db, "band_snr": self.band_snr, "seconds": round(self.seconds, 3),
            "clipped": self.write.clipped if self.write is not None else 0,
            "warnings": self.warnings, "notes": self.notes,
        }

    def band_lines(self) -> list[str]:
        """The assumed SNR as text lines: one per octave band (``--noise``), or the flat ``--snr``."""
        if self.band_snr is None:
            return [] if self.snr_db is None else [f"assumed SNR: {self.snr_db:g} dB at every frequency"]
        lines = ["recording SNR per octave band that the filter assumed (-: no signal above the noise, given up):"]
        for row in self.band_snr:
            values = ", ".join("-" if v is None else f"{v:.1f} dB" for v in row["snr_db"])
            lines.append(f"  {row['centre_hz']:>8g} Hz  {values}")
        return lines


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

    def wanted(self, frames_in: int) -> int:
        """How many frames of the product, from the first, this window keeps from ``frames_in`` input frames."""
        return self.start + (self.count if self.count is not None else max(0, frames_in - self.holdback))

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


def _read_at(path: str, rate_to: float, what: str, resample_it: bool, files: FileOptions, notes) -> np.ndarray:
    """A whole input at ``rate_to``: resampled where asked, else an error when rates differ."""
    source = read_whole(path, files.input_format, files.rate, np.float64, f"the {what}")
    if source.rate == rate_to:
        return source.data
    if not resample_it:
        check_same_rate(rate_to, source.rate, ("the signal", f"the {what}"),
                        f"resample one of them first, or pass --resample to resample the {what} to the signal's "
                        "rate")
    notes.append(f"resampled the {what} from {source.rate:g} Hz to {rate_to:g} Hz")
    if what == "kernel":
        return ir_at_rate(source, rate_to, True)
    return resample(source.data, source.rate, rate_to)


def _read_bounded(reader, method: str) -> np.ndarray:
    """The whole signal for ``exact`` or ``lucy``, refused above :data:`~sigconv.deconvolution.budget.WHOLE_SIGNAL_SAMPLES`.

    A file's length is checked before reading; standard input's as it
    arrives, so that a long pipe is refused without being held.
    """
    if reader.frames is not None:
        check_whole_signal(reader.frames, reader.channels, method, reader.rate)
        return read_all(reader)
    blocks, frames = [], 0
    for block in reader.blocks(READ_BLOCK):
        frames += block.shape[0]
        check_whole_signal(frames, reader.channels, method, reader.rate)
        blocks.append(np.asarray(block, dtype=np.float64))
    return np.concatenate(blocks) if blocks else np.zeros((0, reader.channels))


def deconvolve_file(
    signal_path: str,
    kernel_path: str,
    output: str,
    settings: DeconvolveSettings | None = None,
    *,
    noise_path: str | None = None,
    files: FileOptions | None = None,
    context: ExecutionContext | int | None = None,
    progress: Callable[[int, int | None, float], None] | None = None,
    **options,
) -> DeconvolveReport:
    """Deconvolve a signal file by a kernel file into ``output``.

    Parameters
    ----------
    signal_path, kernel_path : str
        Paths; the signal (or the kernel, or the noise sample: one of them)
        may be ``"-"`` for standard input.
    output : str
        Path, or ``"-"`` for standard output.
    settings : DeconvolveSettings, optional
        How to deconvolve (default: :class:`~sigconv.deconvolution.settings.DeconvolveSettings`,
        Wiener at 40 dB SNR on the ``auto`` backend); ``length`` may be a
        duration such as ``"2.5s"``.
    noise_path : str, optional
        ``wiener``: a noise-only recording at the signal's rate (sets
        ``settings.noise``).
    files : FileOptions, optional
        Formats and rates of the files (``input_format``, ``rate``,
        ``format``, ``subtype``), as for :func:`sigconv.read` and
        :func:`sigconv.write`.
    context : ExecutionContext or int, optional
        Threads the job may use (an int is a thread count).
    progress : callable, optional
        ``progress(frames_done, frames_total_or_None, rate)`` (streamed methods).
    **options
        Fields of :class:`~sigconv.deconvolution.settings.DeconvolveSettings` or
        :class:`~sigconv.io.options.FileOptions` by name (``method="exact"``,
        ``backend="fft"``, ``subtype="PCM_24"``), over ``settings`` and ``files``.

    Returns
    -------
    DeconvolveReport

    Raises
    ------
    UsageError
        Bad settings, a keyword that names none, or two inputs from standard input.
    BackendUnavailableError
        The backend does not run deconvolve (or is unavailable); nothing is written.

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
    settings, files = gather(options, settings or DeconvolveSettings(), files or FileOptions())
    return DeconvolveJob(signal_path, kernel_path, output, settings, files, noise_path).run(context, progress)


@dataclass(frozen=True)
class DeconvolveJob:
    """One file deconvolution, ready to run here or to be shipped to a worker (it pickles).

    Attributes
    ----------
    signal_path, kernel_path, output, noise_path : str
        As for :func:`deconvolve_file`.
    settings : DeconvolveSettings
    files : FileOptions
    """

    signal_path: str
    kernel_path: str
    output: str
    settings: DeconvolveSettings = field(default_factory=DeconvolveSettings)
    files: FileOptions = field(default_factory=FileOptions)
    noise_path: str | None = None

    @property
    def _inputs(self) -> list[str]:
        return [p for p in (self.signal_path, self.kernel_path, self.noise_path) if p]

    def run(self, context: ExecutionContext | int | None = None,
            progress: Callable[[int, int | None, float], None] | None = None) -> DeconvolveReport:
        """Run the job with ``context``'s threads; returns its :class:`DeconvolveReport`."""
        started = time.perf_counter()
        stdin_users = [name for name, path in (("SIGNAL", self.signal_path), ("KERNEL", self.kernel_path),
                                               ("--noise", self.noise_path)) if path == "-"]
        if len(stdin_users) > 1:
            raise UsageError(f"{' and '.join(stdin_users)} cannot all be standard input; give all but one as files")
        if self.settings.noise and self.noise_path is None:
            raise UsageError("noise=True needs the noise-only recording: give noise_path (--noise FILE)")
        settings = dataclasses.replace(self.settings, noise=self.noise_path is not None)
        dtype = settings.dtype
        context = resolve_context(context)
        report = DeconvolveReport(method=settings.method)
        reader = open_reader(self.signal_path, self.files.input_format, self.files.rate, dtype)
        try:
            settings = settings.checked(reader.rate)
            h = kernel_columns(_read_at(self.kernel_path, reader.rate, "kernel", settings.resample_inputs,
                                        self.files, report.notes),
                               reader.channels, per_channel=settings.noise, from_mono=settings.from_mono)
            layout = kernel_layout(reader.channels, h.shape[1], settings.from_mono)
            check_layout_method(layout, settings)
            report.kernel_taps = h.shape[0]
            requested = parse_length(settings.length, reader.rate)
            if reader.frames is not None:
                output_length(requested, reader.frames, h.shape[0])  # refuse an empty default before any work
            backend, ops = deconvolution_backend(settings.backend, reader.frames, h.shape[0], reader.channels,
                                                 dtype, context)
            if settings.streams:
                self._streamed(reader, h, settings, requested, backend, ops, context, progress, report, layout)
            else:
                self._whole(reader, h, dataclasses.replace(settings, length=requested, backend=backend.name),
                            context, report)
        finally:
            reader.close()
        report.seconds = time.perf_counter() - started
        return report

    def _whole(self, reader, h, settings: DeconvolveSettings, context, report) -> None:
        y = _read_bounded(reader, settings.method)
        report.frames_in = y.shape[0]
        tolerance = settings.tolerance
        if settings.method == "exact":
            rms = float(np.sqrt(np.mean(np.square(y))))
            step = _quantization_step(reader.subtype)
            if step and rms > 0 and step / rms > tolerance:
                report.notes.append(
                    f"tolerance raised to {step / rms:.3g} for the {reader.subtype} input's rounding")
                tolerance = step / rms
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SpectralNullWarning)
            x = deconvolve(y, h, settings.method, iterations=settings.iterations, tolerance=tolerance,
                           length=settings.length, rate=reader.rate, precision=settings.precision,
                           backend=settings.backend, context=context)
        report.warnings.extend(str(w.message) for w in caught if issubclass(w.category, SpectralNullWarning))
        with open_writer(self.output, reader.rate, x.shape[1], format=self.files.format, subtype=self.files.subtype,
                         source_subtype=reader.subtype, protect=self._inputs, dtype=settings.dtype) as writer:
            writer.write(x)
        report.frames_out = x.shape[0]
        report.write = writer.report()

    def _noise_welch(self, rate_to: float, resample_inputs: bool, ops, notes) -> tuple[Welch, int]:
        data = _read_at(self.noise_path, rate_to, "noise sample", resample_inputs, self.files, notes)
        segment = segment_length(data.shape[0])
        welch = Welch(segment, data.shape[1], ops)
        welch.add(data)
        return welch, segment

    @contextlib.contextmanager
    def _replayable(self, reader, welch: Welch, dtype):
        """Feed every block of ``reader`` to ``welch``; yield a reader of the same signal from its start.

        A file is opened again; standard input is copied to a temporary file
        on the way (memory stays bounded).
        """
        with contextlib.ExitStack() as stack:
            if reader.name != "-" and not is_named_pipe(reader.name):  # <(command) is read once only
                for block in reader.blocks(READ_BLOCK):
                    welch.add(block)
                again = open_reader(reader.name, self.files.input_format, self.files.rate, dtype)
            else:
                spool = stack.enter_context(scratch_path())
                with open_writer(spool, reader.rate, reader.channels, format="WAV", subtype="DOUBLE",
                                 atomic=False) as writer:
                    for block in reader.blocks(READ_BLOCK):
                        welch.add(block)
                        writer.write(block)
                again = open_reader(spool, "WAV", dtype=dtype)
                again.name, again.subtype = "-", reader.subtype
            stack.callback(again.close)
            yield again

    def _streamed(self, reader, h, settings: DeconvolveSettings, requested, backend, ops, context, progress,
                  report, layout: str = "parallel") -> None:
        dtype = settings.dtype
        message = null_warning(h, reader.rate, ops)
        if message:
            report.warnings.append(message)
        release_free_memory()
        with contextlib.ExitStack() as stack:
            source, spectra = reader, None
            if settings.noise:
                noise_welch, segment = self._noise_welch(reader.rate, settings.resample_inputs, ops, report.notes)
                if noise_welch.channels not in (1, reader.channels):
                    raise IncompatibleSignalsError(
                        f"the noise sample has {noise_welch.channels} channels and the signal {reader.channels}; "
                        "give a mono noise sample or one with the signal's channels"
                    )
                recording = Welch(segment, reader.channels, ops)
                source = stack.enter_context(self._replayable(reader, recording, dtype))
                spectra = NoiseSpectra.from_welch(noise_welch, recording)
                report.band_snr = spectra.band_snr(reader.rate)
                release_free_memory()  # the blocks of the first pass
            # a spooled standard input has a length by now, as a file has from the start
            if settings.method == "wiener" and spectra is None:
                report.snr_db = settings.snr_db
            inverse = inverse_filter(h, settings, reader.rate, spectra, span=source.frames, ops=ops, layout=layout,
                                     channels=reader.channels)
            release_fft_plans()  # the design's long transforms are done: their cached plans go too
            release_free_memory()  # the design's grids, before the engine takes its share
            report.inverse_taps, report.delay = inverse.taps.shape[0], inverse.delay
            report.truncation_db = inverse.truncation_db
            message = truncation_warning(inverse, reader.rate, length_known=source.frames is not None)
            if message:
                report.warnings.append(message)
            window = OffsetWindow(inverse.delay, requested, h.shape[0] - 1)
            engine = TrimmedTail(inverse_engine(inverse, reader.channels, dtype, source.frames, backend, context),
                                 reader.channels, window.wanted)
            out_channels = inverse.out_channels or reader.channels
            del inverse  # the engine holds the taps' spectra: the taps themselves may go
            release_free_memory()  # and the engine's set-up copies of them
            with open_writer(self.output, reader.rate, out_channels,
                             format=self.files.format, subtype=self.files.subtype, source_subtype=reader.subtype,
                             protect=self._inputs, dtype=dtype) as writer:
                stream_through(source, engine, window, writer, progress, report, io_threads=context.io_threads)
            report.write = writer.report()
