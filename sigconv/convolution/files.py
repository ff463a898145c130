"""File-to-file convolution that streams: bounded memory whatever the input length.

:func:`convolve_file` is what ``sigconv convolve`` runs: read the input in
blocks, push them through a streaming engine, keep the part of the output
the mode asks for, and write it block by block to an atomic temporary file
or to standard output (reading and writing in threads of their own when the
transforms are long enough to gain from it).
Normalizations that need the finished output (``peak``, ``rms-match``)
take a second pass over a temporary float file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..backends.base import Workload
from ..backends.registry import AUTO
from ..compute.context import ExecutionContext, resolve_context
from ..compute.onsets import ir_onset
from ..compute.resampling import ir_at_rate
from ..compute.routing import channel_routing, routes_for
from ..errors import UsageError
from ..io.formats import output_format, output_subtype
from ..io.options import FileOptions
from ..io.atomic import scratch_path
from ..io.pump import READ_BLOCK, stream_through
from ..io.stream import open_reader, open_writer, read_whole
from ..io.writing import WriteReport
from ..limits import check_block
from ..options import gather
from ..validation import dtype_for_precision
from .alignment import check_alignment, check_convolve_mode, output_slice, same_mode_warning, window_for
from .levels import OutputMeter, check_ceiling, check_target_lufs, plan_levels
from .mixing import (DEFAULT_TARGET_LUFS, POST_NORMALIZATIONS, check_convolve_options, check_normalize,
                     predelay_frames, prepare_ir, trim_leading_silence)

__all__ = ["convolve_file", "ConvolveJob", "ConvolveReport", "ConvolveSettings"]


@dataclass(frozen=True)
class ConvolveSettings:
    """How :func:`convolve_file` convolves: every setting but the files (picklable).

    Attributes
    ----------
    mode, backend, wet, dry, gain_db, normalize, precision
        As for :func:`sigconv.convolve`.
    resample_ir : bool
        Resample the IR to the input's rate when they differ (gain kept).
    trim_db : float, optional
        Drop the IR's leading samples below this level relative to its
        peak so that no latency is added; ``-20``
        (:data:`sigconv.compute.onsets.ONSET_THRESHOLD_DB`) trims exactly
        to the onset that the dry path and ``impulse info`` use.
    predelay_ms : float or str
        Silence before the wet path: a number of milliseconds, or a time
        with its unit (``"20ms"``, ``"0.02s"``, ``"960smp"``).
    block : int, optional
        Engine partition (or block) length for experts; default planned.
    align : {'wet', 'dry', 'none'}
        Which path keeps time zero, as for :func:`sigconv.convolve`.
    ceiling : str or Level, optional
        Peak limit applied last (``"-1dBTP"`` true peak, ``"-0.1dBFS"``
        sample peak), as for :func:`sigconv.convolve`.
    target_lufs : float
        Loudness of ``normalize="lufs"`` (default -23 LUFS).
    """

    mode: str = "full"
    backend: str = AUTO
    wet: float = 1.0
    dry: float = 0.0
    gain_db: float = 0.0
    normalize: str = "none"
    precision: int = 64
    resample_ir: bool = False
    trim_db: float | None = None
    predelay_ms: object = 0.0
    block: int | None = None
    align: str = "wet"
    ceiling: object = None
    target_lufs: float = DEFAULT_TARGET_LUFS

    def check(self) -> None:
        """Refuse bad values before any file is opened."""
        check_convolve_mode(self.mode)
        check_alignment(self.align, self.mode)
        check_normalize(self.normalize)
        dtype_for_precision(self.precision)
        check_convolve_options(self.wet, self.dry, self.gain_db, self.predelay_ms, self.trim_db, self.block)
        check_ceiling(self.ceiling)
        check_target_lufs(self.target_lufs)
        if self.block is not None and self.block < 1:
            raise UsageError(f"--block must be a positive number of frames, not {self.block}")


@dataclass
class ConvolveReport:
    """What :func:`convolve_file` did."""

    frames_in: int = 0
    frames_out: int = 0
    ir_taps: int = 0
    trimmed: int = 0
    method: str = ""
    detail: str = ""
    seconds: float = 0.0
    write: WriteReport | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    advance: int = 0


def _engine_for(backend: str, h, routes, in_ch, out_ch, dtype, n_hint, block, context):
    from ..backends.planner import choose_backend

    check_block(block, h.shape[0])

    workload = Workload("convolve", n_hint, h.shape[0], in_ch, out_ch, len(routes), np.dtype(dtype).name,
                        partition=block)
    chosen, estimate = choose_backend(backend, workload, context)
    engine = chosen.stream(h, routes, in_ch, out_ch, dtype=dtype, n_hint=n_hint, block=block, context=context,
                           plan=getattr(estimate, "plan", None))
    if hasattr(engine, "parts"):
        detail = f"partitioned overlap-save, {engine.parts} partition(s) of {engine.partition}, FFT {engine.fft_size}"
        if hasattr(engine, "lanes"):
            detail += f", {len(engine.lanes)} channels in {engine.workers} parallel lanes"
    else:
        detail = f"block overlap-add over {chosen.name}"
    return engine, chosen.name, detail


def convolve_file(
    input_path: str,
    ir_path: str,
    output: str,
    settings: ConvolveSettings | None = None,
    *,
    files: FileOptions | None = None,
    context: ExecutionContext | int | None = None,
    progress: Callable[[int, int | None, float], None] | None = None,
    **options,
) -> ConvolveReport:
    """Convolve a signal file with an IR file into ``output``, streaming.

    Parameters
    ----------
    input_path, ir_path : str
        Paths, or ``"-"`` for standard input (the input only).
    output : str
        Path, or ``"-"`` for standard output.
    settings : ConvolveSettings, optional
        How to convolve (default :class:`ConvolveSettings`).
    files : FileOptions, optional
        Formats and rates of the files (``input_format``, ``rate``,
        ``format``, ``subtype``).
    context : ExecutionContext or int, optional
        Threads the job may use (an int is a thread count).
    progress : callable, optional
        Called as ``progress(frames_done, frames_total_or_None, rate)``.
    **options
        Fields of :class:`ConvolveSettings` or :class:`~sigconv.io.options.FileOptions`
        by name (``mode="same"``, ``subtype="PCM_24"``), over ``settings`` and ``files``.

    Returns
    -------
    ConvolveReport

    Raises
    ------
    UsageError
        Bad settings, or a keyword that names none.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> sf.write(os.path.join(d, "x.wav"), np.ones(4), 8000, subtype="FLOAT")
    >>> sf.write(os.path.join(d, "h.wav"), np.array([1.0, 0.5]), 8000, subtype="FLOAT")
    >>> report = convolve_file(os.path.join(d, "x.wav"), os.path.join(d, "h.wav"), os.path.join(d, "y.wav"))
    >>> report.frames_out, sf.read(os.path.join(d, "y.wav"))[0].tolist()
    (5, [1.0, 1.5, 1.5, 1.5, 0.5])
    """
    settings, files = gather(options, settings or ConvolveSettings(), files or FileOptions())
    return ConvolveJob(input_path, ir_path, output, settings, files).run(context, progress)


@dataclass(frozen=True)
class ConvolveJob:
    """One file-to-file convolution, ready to run here or to be shipped to a worker (it pickles).

    Attributes
    ----------
    input_path, ir_path, output : str
        As for :func:`convolve_file`.
    settings : ConvolveSettings
    files : FileOptions
    """

    input_path: str
    ir_path: str
    output: str
    settings: ConvolveSettings = field(default_factory=ConvolveSettings)
    files: FileOptions = field(default_factory=FileOptions)

    def run(self, context: ExecutionContext | int | None = None,
            progress: Callable[[int, int | None, float], None] | None = None) -> ConvolveReport:
        """Run the job with ``context``'s threads; returns its :class:`ConvolveReport`."""
        s, f = self.settings, self.files
        s.check()
        context = resolve_context(context)
        started = time.perf_counter()
        dtype = dtype_for_precision(s.precision)
        report = ConvolveReport()
        reader = open_reader(self.input_path, f.input_format, f.rate, dtype)
        try:
            ir = read_whole(self.ir_path, f.input_format, f.rate, dtype, "the impulse response")
            routing = channel_routing(reader.channels, ir.channels)
            h = ir_at_rate(ir, reader.rate, s.resample_ir)
            if ir.rate != reader.rate:
                report.notes.append(f"resampled the IR from {ir.rate:g} Hz to {reader.rate:g} Hz")
            if s.trim_db is not None:
                h, report.trimmed = trim_leading_silence(h, s.trim_db)
                report.notes.append(
                    f"trimmed {report.trimmed} leading samples ({1000 * report.trimmed / reader.rate:.2f} ms) "
                    f"below {s.trim_db:g} dB from the IR"
                )
            predelay = predelay_frames(s.predelay_ms, reader.rate, bare="ms")
            if s.mode == "same":
                message = same_mode_warning(h, reader.rate)
                if message:
                    report.warnings.append(message)
            if s.align == "dry":
                report.advance = ir_onset(h)
                if report.advance:
                    report.notes.append(f"advanced the output by the IR's onset, {report.advance} samples "
                                        f"({1000 * report.advance / reader.rate:.2f} ms): the dry path at time zero")
            h = prepare_ir(h, routing, wet=s.wet, dry=s.dry, gain_db=s.gain_db, normalize=s.normalize,
                           predelay=predelay, align=s.align)
            routes, out_channels = routes_for(reader.channels, ir.channels)
            report.ir_taps = h.shape[0]
            engine, report.method, report.detail = _engine_for(
                s.backend, h, routes, reader.channels, out_channels, dtype, reader.frames, s.block, context
            )
            post = s.normalize in POST_NORMALIZATIONS or s.ceiling is not None
            if not post and hasattr(engine, "output_dtype"):
                final = output_subtype(output_format(self.output, f.format), f.subtype,
                                       None if self.output == "-" else reader.subtype)
                if final == "FLOAT":  # the writer would round to float32 anyway
                    engine.output_dtype = np.dtype(np.float32)
            if post:
                report.write = self._two_pass(reader, engine, h.shape[0], out_channels, dtype, context, progress,
                                              report)
            else:
                frames = None if reader.frames is None else len(range(reader.frames + h.shape[0] - 1)[
                    output_slice(reader.frames, h.shape[0], s.mode, report.advance)])  # for a WAV stream's header
                with open_writer(self.output, reader.rate, out_channels, format=f.format, subtype=f.subtype,
                                 source_subtype=reader.subtype, protect=self._inputs, dtype=dtype,
                                 frames=frames) as writer:
                    stream_through(reader, engine, window_for(s.mode, h.shape[0], report.advance), writer,
                                   progress, report, io_threads=context.io_threads)
                report.write = writer.report()
        finally:
            reader.close()
        report.seconds = time.perf_counter() - started
        return report

    @property
    def _inputs(self) -> list[str]:
        return [self.input_path, self.ir_path]

    def _two_pass(self, reader, engine, taps, out_channels, dtype, context, progress, report) -> WriteReport:
        """Convolve into a temporary float file while measuring, then scale it into the output."""
        s, f = self.settings, self.files
        stats = {"input_energy": 0.0, "input_samples": 0}
        ceiling = check_ceiling(s.ceiling)
        meter = OutputMeter(reader.rate, out_channels, loudness=s.normalize == "lufs",
                            true_peak=ceiling is not None and ceiling.unit == "dBTP")
        folder = None if self.output == "-" else os.path.dirname(os.path.abspath(self.output))
        with scratch_path(folder) as raw:
            float_subtype = "DOUBLE" if dtype == np.float64 else "FLOAT"
            with open_writer(raw, reader.rate, out_channels, format="WAV", subtype=float_subtype,
                             atomic=False) as first:
                stream_through(reader, engine, window_for(s.mode, taps, report.advance), _MeteringWriter(first, meter),
                               progress, report, stats, io_threads=context.io_threads)
            plan = plan_levels(meter, s.normalize, s.gain_db if s.normalize in POST_NORMALIZATIONS else 0.0,
                               stats["input_energy"], stats["input_samples"], s.target_lufs, ceiling)
            report.notes.extend(plan.notes)
            scale = dtype.type(plan.scale)
            unscaled = open_reader(raw, "WAV", dtype=dtype)
            try:
                with open_writer(self.output, reader.rate, out_channels, format=f.format, subtype=f.subtype,
                                 source_subtype=reader.subtype, protect=self._inputs, dtype=dtype,
                                 frames=unscaled.frames) as writer:
                    for block in unscaled.blocks(READ_BLOCK):
                        writer.write(block * scale)
            finally:
                unscaled.close()
        return writer.report()


class _MeteringWriter:
    """Passes blocks on and measures everything written (:class:`~sigconv.convolution.levels.OutputMeter`)."""

    def __init__(self, writer, meter):
        self.writer, self.meter = writer, meter

    def write(self, block):
        self.meter.write(block)
        self.writer.write(block)
