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

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..backends import AUTO, get_backend
from ..backends.base import check_mode
from ..errors import UsageError
from ..io import read
from ..io.background import BackgroundWriter, prefetch
from ..io.formats import output_format, output_subtype
from ..io.stream import block_peak, open_reader, open_writer
from ..io.writing import WriteReport
from .mixing import POST_NORMALIZATIONS, check_normalize, post_gain, prepare_ir, trim_leading_silence
from ..backends.planner import choose_plan
from ..compute.resampling import ir_at_rate
from ..compute.routing import channel_routing, routes_for
from ..validation import dtype_for_precision

__all__ = ["convolve_file", "ConvolveReport", "ModeWindow", "stream_through"]

#: Frames per block read from the input.
READ_BLOCK = 1 << 16


class ModeWindow:
    """Keeps the part of a streamed full convolution that ``mode`` asks for.

    The full output has ``n + m - 1`` frames; ``same`` keeps ``n`` of them
    from ``(m - 1) // 2``; ``valid`` keeps ``max(n, m) - min(n, m) + 1``
    from ``min(n, m) - 1``. ``n`` is only known at the end, so ``valid``
    holds its output back until ``n >= m`` is certain (at most about ``m``
    frames).
    """

    def __init__(self, mode: str, taps: int):
        self.mode, self.taps = check_mode(mode), taps
        self.index = 0  # full-output index of the next frame fed
        self.start = 0 if mode == "full" else (taps - 1) // 2 if mode == "same" else taps - 1
        self._held: list[np.ndarray] | None = [] if mode == "valid" else None

    def _window(self, block: np.ndarray, stop: int | None) -> np.ndarray:
        first = self.index
        self.index += block.shape[0]
        lo = max(self.start - first, 0)
        hi = block.shape[0] if stop is None else max(min(stop - first, block.shape[0]), 0)
        return block[lo:hi] if lo < hi else block[:0]

    def feed(self, block: np.ndarray, frames_in: int) -> np.ndarray:
        """Frames of ``block`` to emit, given that ``frames_in`` input frames were read so far."""
        if self._held is not None:
            self._held.append(block)
            if frames_in < self.taps:
                return block[:0]
            block, self._held = np.concatenate(self._held), None
        return self._window(block, None)

    def finish(self, tail: np.ndarray, frames_in: int) -> np.ndarray:
        """The last frames to emit, now that the input had ``frames_in`` frames."""
        n, m = frames_in, self.taps
        if self._held is not None:
            block = np.concatenate([*self._held, tail])
            self._held = None
            self.start = min(n, m) - 1
            return self._window(block, max(n, m))
        stop = None if self.mode == "full" else self.start + n if self.mode == "same" else n
        return self._window(tail, stop)


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


def _engine_for(backend: str, h, routes, in_ch, out_ch, dtype, n_hint, block):
    if backend == AUTO:
        plan = choose_plan(n_hint or 48000 * 600, h.shape[0], in_ch, out_ch, len(routes), dtype, partition=block)
        backend = plan.method
    engine = get_backend(backend).stream(h, routes, in_ch, out_ch, dtype=dtype, n_hint=n_hint, block=block)
    if hasattr(engine, "parts"):
        detail = f"partitioned overlap-save, {engine.parts} partition(s) of {engine.partition}, FFT {engine.fft_size}"
        if hasattr(engine, "lanes"):
            detail += f", {len(engine.lanes)} channels in {engine.workers} parallel lanes"
    else:
        detail = f"block overlap-add over {backend}"
    return engine, backend, detail


def convolve_file(
    input_path: str,
    ir_path: str,
    output: str,
    *,
    mode: str = "full",
    backend: str = AUTO,
    wet: float = 1.0,
    dry: float = 0.0,
    gain_db: float = 0.0,
    normalize: str = "none",
    precision: int = 64,
    resample_ir: bool = False,
    trim_db: float | None = None,
    predelay_ms: float = 0.0,
    block: int | None = None,
    input_format: str | None = None,
    rate: float | None = None,
    format: str | None = None,
    subtype: str | None = None,
    progress: Callable[[int, int | None, float], None] | None = None,
) -> ConvolveReport:
    """Convolve a signal file with an IR file into ``output``, streaming.

    Parameters
    ----------
    input_path, ir_path : str
        Paths, or ``"-"`` for standard input (the input only).
    output : str
        Path, or ``"-"`` for standard output.
    mode, backend, wet, dry, gain_db, normalize, precision
        As for :func:`sigconv.convolve`.
    resample_ir : bool
        Resample the IR to the input's rate when they differ (gain kept).
    trim_db : float, optional
        Drop the IR's leading samples below this level relative to its
        peak (e.g. ``-60``) so that no latency is added.
    predelay_ms : float
        Milliseconds of silence before the wet path.
    block : int, optional
        Engine partition (or block) length for experts; default planned.
    input_format, rate, format, subtype
        As for :func:`sigconv.read` and :func:`sigconv.write`.
    progress : callable, optional
        Called as ``progress(frames_done, frames_total_or_None, rate)``.

    Returns
    -------
    ConvolveReport

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
    check_mode(mode)
    check_normalize(normalize)
    if predelay_ms < 0:
        raise UsageError(f"--predelay must be zero or more milliseconds, not {predelay_ms:g}")
    if block is not None and block < 1:
        raise UsageError(f"--block must be a positive number of frames, not {block}")
    started = time.perf_counter()
    dtype = dtype_for_precision(precision)
    report = ConvolveReport()
    reader = open_reader(input_path, input_format, rate, dtype)
    try:
        ir = read(ir_path, format=input_format, rate=rate, dtype=dtype)
        routing = channel_routing(reader.channels, ir.channels)
        h = ir_at_rate(ir, reader.rate, resample_ir)
        if ir.rate != reader.rate:
            report.notes.append(f"resampled the IR from {ir.rate:g} Hz to {reader.rate:g} Hz")
        if trim_db is not None:
            h, report.trimmed = trim_leading_silence(h, trim_db)
            report.notes.append(
                f"trimmed {report.trimmed} leading samples ({1000 * report.trimmed / reader.rate:.2f} ms) "
                f"below {trim_db:g} dB from the IR"
            )
        predelay = int(round(predelay_ms * 1e-3 * reader.rate))
        h = prepare_ir(h, routing, wet=wet, dry=dry, gain_db=gain_db, normalize=normalize, predelay=predelay)
        routes, out_channels = routes_for(reader.channels, ir.channels)
        report.ir_taps = h.shape[0]
        engine, report.method, report.detail = _engine_for(
            backend, h, routes, reader.channels, out_channels, dtype, reader.frames, block
        )
        inputs = [input_path, ir_path]
        if normalize not in POST_NORMALIZATIONS and hasattr(engine, "output_dtype"):
            final = output_subtype(output_format(output, format), subtype, None if output == "-" else reader.subtype)
            if final == "FLOAT":  # the writer would round to float32 anyway
                engine.output_dtype = np.dtype(np.float32)
        if normalize in POST_NORMALIZATIONS:
            report.write = _two_pass(reader, engine, mode, h.shape[0], output, out_channels, normalize, gain_db,
                                     dtype, input_format, format, subtype, inputs, progress, report)
        else:
            with open_writer(output, reader.rate, out_channels, format=format, subtype=subtype,
                             source_subtype=reader.subtype, protect=inputs, dtype=dtype) as writer:
                stream_through(reader, engine, ModeWindow(mode, h.shape[0]), writer, progress, report)
            report.write = writer.report()
    finally:
        reader.close()
    report.seconds = time.perf_counter() - started
    return report


class _Direct:
    """The writer interface of :class:`BackgroundWriter`, without the thread."""

    def __init__(self, writer):
        self.write = writer.write

    def close(self) -> None:
        pass


# Reading and writing in their own threads paid off only where each hop is a
# long FFT that releases the GIL: measured on 10 min of stereo, a 3 s IR
# (2^19-point transforms) ran 0.90 s threaded against 1.11 s serial, a
# 64-tap FIR (2^14-point) 0.53 s threaded against 0.46 s serial. The switch
# interval is shortened meanwhile so that the main thread gets the GIL back
# quickly after each transform (the default 5 ms convoys it).
_THREADED_MIN_FFT = 1 << 17
_SWITCH_INTERVAL = 0.0002


@contextlib.contextmanager
def _io_threads(engine):
    threaded = getattr(engine, "fft_size", 0) >= _THREADED_MIN_FFT
    if not threaded:
        yield (lambda blocks: blocks), _Direct
        return
    # the reader runs up to two hops ahead, so each hop's input is ready
    # when the previous hop's transforms end (two 64k-frame blocks were not:
    # 2^19-point transforms waited for the reader every hop)
    depth = max(2, 2 * -(-getattr(engine, "hop", READ_BLOCK) // READ_BLOCK))
    previous = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_INTERVAL)
    try:
        yield (lambda blocks: prefetch(blocks, depth)), BackgroundWriter
    finally:
        sys.setswitchinterval(previous)


def stream_through(reader, engine, window, writer, progress, report, stats=None) -> None:
    """Stream ``reader`` through ``engine`` and ``window`` into ``writer``, with the I/O threads of :func:`convolve_file`.

    ``window`` has ``feed``/``finish`` like :class:`ModeWindow`; ``report``
    counts ``frames_in``/``frames_out``. Other file jobs reuse it
    (:mod:`sigconv.deconvolution.files`).
    """
    with _io_threads(engine) as (read_ahead, write_behind):
        _stream(reader, engine, window, write_behind(writer), read_ahead, progress, report, stats)


def _stream(reader, engine, window, background, read_ahead, progress, report, stats) -> None:
    try:
        for block in read_ahead(reader.blocks(READ_BLOCK)):
            if stats is not None:
                stats["input_energy"] += float(np.sum(np.square(block, dtype=np.float64)))
                stats["input_samples"] += block.size
            out = window.feed(engine.push(block), reader.frames_read)
            if out.shape[0]:
                background.write(out)
                report.frames_out += out.shape[0]
            if progress:
                progress(reader.frames_read, reader.frames, reader.rate)
        out = window.finish(engine.finish(), reader.frames_read)
        if out.shape[0]:
            background.write(out)
            report.frames_out += out.shape[0]
    finally:
        background.close()
    report.frames_in = reader.frames_read


class _StatsWriter:
    """Passes blocks on and keeps the peak and energy of everything written."""

    def __init__(self, writer, stats):
        self.writer, self.stats = writer, stats

    def write(self, block):
        if block.shape[0]:
            self.stats["peak"] = max(self.stats["peak"], block_peak(block))
            self.stats["output_energy"] += float(np.sum(np.square(block, dtype=np.float64)))
            self.stats["output_samples"] += block.size
        self.writer.write(block)


def _two_pass(reader, engine, mode, taps, output, out_channels, normalize, gain_db, dtype, input_format, format,
              subtype, inputs, progress, report) -> WriteReport:
    stats = {"peak": 0.0, "output_energy": 0.0, "output_samples": 0, "input_energy": 0.0, "input_samples": 0}
    folder = None if output == "-" else os.path.dirname(os.path.abspath(output))
    with tempfile.TemporaryDirectory(prefix=".sigconv-", dir=folder) as scratch:
        raw = os.path.join(scratch, "unscaled.wav")
        float_subtype = "DOUBLE" if dtype == np.float64 else "FLOAT"
        with open_writer(raw, reader.rate, out_channels, subtype=float_subtype) as first:
            stream_through(reader, engine, ModeWindow(mode, taps), _StatsWriter(first, stats), progress, report,
                           stats)
        scale = dtype.type(post_gain(normalize, gain_db, stats["peak"], stats["output_energy"],
                                     stats["output_samples"], stats["input_energy"], stats["input_samples"]))
        unscaled = open_reader(raw, dtype=dtype)
        try:
            with open_writer(output, reader.rate, out_channels, format=format, subtype=subtype,
                             source_subtype=reader.subtype, protect=inputs, dtype=dtype) as writer:
                for block in unscaled.blocks(READ_BLOCK):
                    writer.write(block * scale)
        finally:
            unscaled.close()
    return writer.report()
