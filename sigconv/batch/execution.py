"""Running a :class:`~sigconv.batch.jobs.BatchTask` on a worker: its IR prepared once, then every pair.

The IR is read, resampled, trimmed, scaled and delayed once per worker
process and kept in a small cache of :class:`~sigconv.Convolver` objects,
so its spectrum is transformed once for every input of every task that
uses it. The wet/dry mix is applied around the prepared convolution
(``wet * (x ⊗ h) + dry * x[t - onset]``, which is what
:func:`~sigconv.convolution.mixing.prepare_ir` folds into a kernel), so that
levels drawn per pair do not make a kernel each. Settings this path does
not cover (an alignment other than ``wet``, a peak ceiling, loudness
normalization, ``keep`` mode) run each pair through
:class:`~sigconv.convolution.files.ConvolveJob` instead, as ``sigconv
convolve`` would. A pair that fails is recorded with its error; the others
go on.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ..compute.context import ExecutionContext
from ..compute.modes import MODES, mode_slice
from ..compute.onsets import ir_onset
from ..compute.resampling import ir_at_rate
from ..compute.routing import channel_routing, routes_for
from ..convolution.mixing import db_to_gain, post_gain, predelay_frames, prepare_ir, trim_leading_silence
from ..convolution.prepared import Convolver
from ..errors import SigconvError
from ..io.reading import read
from ..io.stream import open_writer, read_whole
from ..validation import dtype_for_precision
from .jobs import DONE, FAILED, BatchTask, PairJob, PairResult

__all__ = ["run_task", "PreparedIR", "prepared_ir", "clear_prepared", "is_prepared_path"]

#: Normalizations the prepared path applies itself (the others go through ConvolveJob).
_PREPARED_NORMALIZATIONS = ("none", "ir-energy", "peak", "rms-match")
_MEASURED = ("peak", "rms-match")

#: Prepared IRs a worker keeps (least recently used dropped first).
_CACHE_SIZE = 16


class PreparedIR(NamedTuple):
    """An IR ready for inputs of one rate and channel count."""

    convolver: Convolver
    taps: int
    onset: int
    routes: list
    outputs: int
    dry_kernels: frozenset


_cache: OrderedDict[tuple, PreparedIR] = OrderedDict()
_lock = threading.Lock()


def clear_prepared() -> None:
    """Forget every prepared IR of this process."""
    with _lock:
        _cache.clear()


def prepared_ir(task: BatchTask, rate: float, channels: int) -> PreparedIR:
    """The task's IR prepared for inputs at ``rate`` with ``channels``, from this process's cache when it is there.

    The key holds the IR file's size and modification time, so an IR
    rewritten between runs is prepared again.
    """
    stat = os.stat(task.ir)
    key = (os.path.realpath(task.ir), stat.st_size, stat.st_mtime_ns, rate, channels, task.settings, task.files,
           task.threads)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    made = _prepare(task, rate, channels)
    with _lock:
        _cache[key] = made
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return made


def _prepare(task: BatchTask, rate: float, channels: int) -> PreparedIR:
    s, f = task.settings, task.files
    dtype = dtype_for_precision(s.precision)
    ir = read_whole(task.ir, f.input_format, f.rate, dtype, "the impulse response")
    routing = channel_routing(channels, ir.channels)
    h = ir_at_rate(ir, rate, s.resample_ir)
    if s.trim_db is not None:
        h, _ = trim_leading_silence(h, s.trim_db)
    onset = ir_onset(h)
    predelay = predelay_frames(s.predelay_ms, rate, bare="ms")
    # the unit-level kernel: ir-energy scaling and the pre-delay folded in, levels applied per pair
    h = prepare_ir(np.ascontiguousarray(h, dtype=dtype), routing, normalize=s.normalize, predelay=predelay)
    routes, outputs = routes_for(channels, ir.channels)
    dry_kernels = frozenset((0, 3) if routing == "matrix" else range(ir.channels))
    context = ExecutionContext(threads=task.threads, io_threads=False)
    convolver = Convolver(h, mode="full", backend=s.backend, context=context, precision=s.precision)
    return PreparedIR(convolver, h.shape[0], onset, routes, outputs, dry_kernels)


def run_task(task: BatchTask) -> list[PairResult]:
    """Make every output of ``task``; a pair that fails is reported, not raised.

    Returns
    -------
    list of PairResult
        One per pair, in the task's order.
    """
    results = []
    make = _make if is_prepared_path(task.settings) else _make_by_job
    for pair in task.pairs:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            clipped = make(task, pair)
        except (SigconvError, OSError, ValueError, RuntimeError, MemoryError) as exc:
            results.append(PairResult(pair.output, FAILED, _describe(exc), getattr(exc, "exit_code", 1),
                                      seconds=time.perf_counter() - started, cpu=time.process_time() - cpu))
        else:
            results.append(PairResult(pair.output, DONE, clipped=clipped, seconds=time.perf_counter() - started,
                                      cpu=time.process_time() - cpu))
    return results


def is_prepared_path(settings) -> bool:
    """Whether pairs with ``settings`` run on a prepared IR (else one :class:`ConvolveJob` each)."""
    return (settings.mode in MODES and settings.normalize in _PREPARED_NORMALIZATIONS
            and getattr(settings, "align", "wet") == "wet" and getattr(settings, "ceiling", None) is None)


def _make_by_job(task: BatchTask, pair: PairJob) -> int:
    """One pair through :class:`~sigconv.convolution.files.ConvolveJob`, as ``sigconv convolve`` runs it."""
    from dataclasses import replace

    from ..convolution.files import ConvolveJob

    job = ConvolveJob(pair.input, pair.ir, pair.output, replace(task.settings, wet=pair.wet, dry=pair.dry), task.files)
    report = job.run(ExecutionContext(threads=task.threads, io_threads=False))
    return report.write.clipped if report.write is not None else 0


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, SigconvError) else f"{type(exc).__name__}: {text}"


def _make(task: BatchTask, pair: PairJob) -> int:
    """Convolve one pair and write its output atomically; returns the count of clipped samples."""
    s, f = task.settings, task.files
    dtype = dtype_for_precision(s.precision)
    signal = read(pair.input, format=f.input_format, rate=f.rate, dtype=dtype)
    x = signal.data
    ir = prepared_ir(task, signal.rate, signal.channels)
    y = _mix(ir, x, pair.wet, pair.dry, s.mode)
    scale = db_to_gain(s.gain_db)
    if s.normalize in _MEASURED:
        energy = float(np.sum(np.square(y, dtype=np.float64)))
        input_energy = float(np.sum(np.square(x, dtype=np.float64)))
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        scale = post_gain(s.normalize, s.gain_db, peak, energy, y.size, input_energy, x.size)
    if scale != 1:
        y *= dtype.type(scale)
    with open_writer(pair.output, signal.rate, y.shape[1], format=f.format, subtype=f.subtype,
                     source_subtype=signal.subtype, protect=[pair.input, pair.ir], dtype=dtype) as writer:
        writer.write(y)
    return writer.report().clipped


def _mix(ir: PreparedIR, x: np.ndarray, wet: float, dry: float, mode: str) -> np.ndarray:
    """``wet * (x ⊗ h) + dry * x[t - onset]`` on each output channel, cut to ``mode``."""
    full = ir.convolver(x)
    if wet != 1:
        full *= full.dtype.type(wet)
    if dry:
        n = x.shape[0]
        gain = full.dtype.type(dry)
        for route in ir.routes:
            if route.kernel in ir.dry_kernels:
                full[ir.onset : ir.onset + n, route.target] += gain * x[:, route.source]
    window = mode_slice(x.shape[0], ir.taps, mode)
    return np.ascontiguousarray(full[window])
