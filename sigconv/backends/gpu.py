"""The ``gpu`` backend: CuPy and cuFFT on a CUDA device, for every operation the ``fft`` backend runs.

Install with ``pip install 'sigconv[gpu]'`` (CuPy for CUDA 12; for CUDA 13
install ``cupy-cuda13x`` instead). The backend is available where CuPy
imports and a CUDA device answers; otherwise ``sigconv backends`` gives the
reason and ``auto`` passes it over.

How it computes:

* :class:`~sigconv.backends.gpu_ops.GPUOps` is the :class:`~sigconv.compute.ops.ArrayOps` of the
  device: arrays are CuPy's, transforms are ``cupyx.scipy.fft``'s (cuFFT,
  whose plans CuPy caches by shape), every channel of a block goes into
  one batched transform. Host blocks enter through a page-locked (pinned)
  staging buffer in pieces of :data:`STAGING_BYTES`, two of them in turn,
  so that filling one overlaps the copy of the other; results come back
  into pinned host arrays.
* Convolutions stream through :class:`GPUStream`: overlap-save with long
  transforms (:func:`gpu_plan`) and device memory bounded by the transform
  length, whatever the input's length. When the device runs out of memory
  (``cupy.cuda.memory.OutOfMemoryError``) the engine frees CuPy's cached
  blocks, warns (:class:`GPUMemoryWarning`) and carries on with transforms
  half as long, replaying the little input it still needs from the host.
* ``auto`` picks this backend only from measured costs: ``sigconv tune
  --backend gpu`` times hops and host-device transfers on the device
  (:mod:`sigconv.backends.gpu_tuning`); without those figures
  :meth:`GPUBackend.estimate` prices nothing and ``auto`` never picks it.

With ``SIGCONV_GPU_STANDIN=1`` the backend runs on
:mod:`sigconv.backends.cupy_standin` instead of CuPy: NumPy arrays behind
CuPy's rules, so that the whole backend is tested on machines without a GPU.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..compute.engine import OverlapSave, StreamEngine
from ..errors import BackendUnavailableError
from .base import Backend, Estimate, Workload
from .gpu_ops import (
    NOT_INSTALLED,
    STAGING_BYTES,
    STANDIN_VARIABLE,
    GPUMemoryWarning,
    GPUOps,
    GPUOutOfMemoryError,
    free_device_caches,
    load_cupy,
    out_of_memory_types,
    standin_requested,
)

__all__ = ["GPUBackend", "GPUOps", "GPUStream", "GPUMemoryWarning", "GPUOutOfMemoryError", "gpu_plan",
           "load_cupy", "standin_requested", "STANDIN_VARIABLE", "NOT_INSTALLED", "STAGING_BYTES", "MAX_FFT",
           "MIN_FFT"]

#: Longest transform of a streamed convolution: 2^22 points (about 100 MB of buffers per channel in float64).
MAX_FFT = 1 << 22
#: Shortest transform the out-of-memory retry goes down to.
MIN_FFT = 1 << 8


def gpu_plan(taps: int, total: int | None, block: int | None = None, max_fft: int = MAX_FFT) -> tuple[int, int]:
    """``(partition, fft_size)`` of the overlap-save the device runs for an ``taps``-tap IR.

    One transform of the whole result when it is at most ``max_fft``
    points; else plain overlap-save with ``max_fft``-point transforms
    (hops of ``max_fft - taps + 1``) while the IR takes at most half of
    it, and uniform partitions of ``max_fft / 2`` for longer IRs. The
    device computes long transforms at full speed, and each hop costs a
    launch and a transfer, so the longest transforms that fit win.
    ``block`` (``--block``) forces the partition length.

    Examples
    --------
    >>> gpu_plan(144_000, 28_800_000)
    (144000, 4194304)
    >>> gpu_plan(1000, 10_000)
    (1000, 16384)
    >>> gpu_plan(10_000, 10**8, max_fft=16384)
    (8192, 16384)
    """
    if block:
        if block >= taps:
            return taps, 1 << max(1, (taps + block - 2).bit_length())
        return block, 2 * block
    total = total if total is not None else 48000 * 600
    whole = 1 << max(1, (total + taps - 2).bit_length())
    if whole <= max_fft:
        return taps, whole
    if 2 * taps <= max_fft:
        return taps, max_fft
    return max_fft // 2, max_fft


def _smaller_plan(taps: int, fft_size: int) -> tuple[int, int]:
    """The plan with transforms half as long as ``fft_size`` (for the out-of-memory retry)."""
    target = fft_size // 2
    if target < MIN_FFT:
        raise ValueError(target)
    return gpu_plan(taps, None, max_fft=target) if 2 * taps <= target else (target // 2, target)


class GPUStream(StreamEngine):
    """Overlap-save on the device in bounded memory, retrying with shorter transforms when memory runs out.

    Wraps an :class:`~sigconv.compute.engine.OverlapSave` on
    :class:`GPUOps` (all channels of a hop in one batched transform).
    Blocks are pushed to it in pieces of at most one hop, so device memory
    depends on the transform length only. The engine keeps on the host the
    input that outputs still to come depend on (the last ``m - 1`` frames
    before the first output not yet returned, and what follows); when the
    device runs out of memory it builds an engine with transforms half as
    long, feeds it that input again and drops the outputs already given,
    with a :class:`GPUMemoryWarning`. Below :data:`MIN_FFT` points it gives
    up with :class:`GPUOutOfMemoryError`.

    Parameters
    ----------
    ops : GPUOps
    h, routes, in_channels, out_channels, dtype
        As for :class:`~sigconv.compute.engine.OverlapSave`.
    partition, fft_size : int
        The first plan (:func:`gpu_plan`).
    """

    def __init__(self, ops: GPUOps, h: np.ndarray, routes, in_channels: int, out_channels: int, partition: int,
                 fft_size: int, dtype=np.float64):
        self.ops = ops
        self.dtype = np.dtype(dtype)
        self._h = np.ascontiguousarray(h, dtype=self.dtype)
        self.routes, self.in_channels, self.out_channels = list(routes), in_channels, out_channels
        self.taps = h.shape[0]
        self._output_dtype = self.dtype
        self._pushed = 0  # frames taken
        self._emitted = 0  # frames returned
        self._history: list[tuple[int, np.ndarray]] = []  # (first frame, frames) the outputs to come need
        self._carry: list[np.ndarray] = []  # outputs recomputed by a retry, not yet returned
        self._skip = 0  # outputs a retry's engine will give that were returned already
        self.retries = 0
        self._engine = None
        self._plan = (partition, fft_size)
        self._build_with_retry(replay=False)

    # -- what the engine reports ------------------------------------------

    @property
    def fft_size(self) -> int:
        return self._engine.fft_size

    @property
    def partition(self) -> int:
        return self._engine.partition

    @property
    def parts(self) -> int:
        return self._engine.parts

    @property
    def hop(self) -> int:
        return self._engine.hop

    @property
    def fft_library(self) -> str:
        return self.ops.name

    @property
    def output_dtype(self) -> np.dtype:
        return self._output_dtype

    @output_dtype.setter
    def output_dtype(self, dtype) -> None:
        self._output_dtype = np.dtype(dtype)
        self._engine.output_dtype = self._output_dtype

    # -- building and rebuilding -------------------------------------------

    def _build_with_retry(self, replay: bool, error: str | None = None) -> None:
        """Build the engine (and replay the input kept), shrinking the transforms while memory runs out.

        Only the message of an error is kept: its traceback would keep the
        failed engine, and its device memory, alive.
        """
        oom = out_of_memory_types(self.ops.cp)
        while True:
            if error is not None:
                self._shrink(error)
            try:
                self._build(replay)
                return
            except oom as exc:
                error = str(exc)

    def _shrink(self, error: str) -> None:
        free_device_caches(self.ops.cp)
        partition, size = self._plan
        try:
            self._plan = _smaller_plan(self.taps, size)
        except ValueError:
            raise GPUOutOfMemoryError(
                f"the GPU ran out of memory even with {size}-point transforms ({error}); use --backend fft"
            ) from None
        self.retries += 1
        warnings.warn(GPUMemoryWarning(
            f"the GPU ran out of memory with {size}-point transforms ({error}); carrying on with "
            f"{self._plan[1]}-point transforms"), stacklevel=4)

    def _build(self, replay: bool) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        partition, size = self._plan
        engine = OverlapSave(self._h, self.routes, self.in_channels, self.out_channels, partition, size,
                             self.dtype, ops=self.ops)
        engine.output_dtype = self._output_dtype
        self._engine = engine
        if not replay or not self._history:
            return
        start = self._history[0][0]
        frames = np.concatenate([part for _, part in self._history], axis=0)
        skip = self._emitted - start
        outputs = [engine.push(frames[s : s + self._piece()]) for s in range(0, frames.shape[0], self._piece())]
        recomputed = (np.concatenate(outputs, axis=0) if outputs
                      else np.empty((0, self.out_channels), dtype=self._output_dtype))
        self._carry = [recomputed[skip:]] if recomputed.shape[0] > skip else []
        self._skip = max(0, skip - recomputed.shape[0])

    def _piece(self) -> int:
        return max(self._engine.hop, 1 << 14)

    # -- streaming -----------------------------------------------------------

    def _remember(self, block: np.ndarray) -> None:
        """Keep ``block`` (just taken) and forget input no output to come depends on."""
        self._history.append((self._pushed, np.array(block, dtype=self.dtype)))
        self._pushed += block.shape[0]
        keep_from = max(0, self._emitted - (self.taps - 1))
        while self._history and self._history[0][0] + self._history[0][1].shape[0] <= keep_from:
            self._history.pop(0)

    def _deliver(self, out: np.ndarray) -> np.ndarray:
        """``out`` after the carried outputs of a retry, less what a retry still has to drop."""
        skip = self._skip
        if skip:
            dropped = min(skip, out.shape[0])
            out, self._skip = out[dropped:], skip - dropped
        if self._carry:
            out = np.concatenate([*self._carry, out.astype(self._output_dtype, copy=False)], axis=0)
            self._carry = []
        self._emitted += out.shape[0]
        return out

    def push(self, block: np.ndarray) -> np.ndarray:
        """Take ``(frames, in_channels)`` input; return the outputs now complete (see :meth:`StreamEngine.push`)."""
        oom = out_of_memory_types(self.ops.cp)
        outputs = []
        start = 0
        while start < block.shape[0]:
            piece = block[start : start + self._piece()]
            try:
                out = self._engine.push(piece)
            except oom as exc:
                failed = str(exc)
            else:
                failed = None
            if failed is not None:  # rebuilt outside the handler, whose traceback holds the old engine
                self._engine = None
                self._build_with_retry(replay=True, error=failed)
                continue
            outputs.append(self._deliver(out))
            self._remember(piece)
            start += piece.shape[0]
        if not outputs:
            return self._deliver(np.empty((0, self.out_channels), dtype=self._output_dtype))
        return np.concatenate(outputs, axis=0) if len(outputs) > 1 else outputs[0]

    def finish(self) -> np.ndarray:
        """Return the remaining outputs."""
        oom = out_of_memory_types(self.ops.cp)
        while True:
            try:
                out = self._engine.finish()
            except oom as exc:
                failed = str(exc)
            else:
                return self._deliver(out)
            self._engine = None
            self._build_with_retry(replay=True, error=failed)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self._history = []


class GPUBackend(Backend):
    """Convolution, correlation, deconvolution and impulse measurement on a CUDA GPU through CuPy.

    Parameters
    ----------
    standin : bool, optional
        Run on the NumPy stand-in (:mod:`sigconv.backends.cupy_standin`)
        whatever ``$SIGCONV_GPU_STANDIN`` says; default: as it says.
    """

    name = "gpu"
    operations = frozenset({"convolve", "correlate", "deconvolve", "measure"})

    def __init__(self, standin: bool | None = None):
        self._standin = standin
        self._checked: dict[bool, str | None] = {}
        self._ops: dict[bool, GPUOps] = {}

    @property
    def standin(self) -> bool:
        """True when this backend runs on the NumPy stand-in."""
        return standin_requested() if self._standin is None else self._standin

    @property
    def description(self) -> str:
        text = "CUDA GPU through CuPy (cuFFT), channels batched, pinned transfers"
        return text + " (stand-in)" if self.standin else text

    def _modules(self):
        if self.standin:
            from . import cupy_standin

            return cupy_standin, cupy_standin.cupyx
        if self._standin is False:
            import cupy
            import cupyx
            import cupyx.scipy.fft  # noqa: F401

            return cupy, cupyx
        return load_cupy()

    def unavailable_reason(self) -> str | None:
        """None where CuPy imports and a CUDA device answers; else why not (checked once per process)."""
        standin = self.standin
        if standin not in self._checked:
            self._checked[standin] = self._check()
        return self._checked[standin]

    def _check(self) -> str | None:
        try:
            cp, _ = self._modules()
        except ModuleNotFoundError as exc:
            if exc.name in ("cupy", "cupyx") or (exc.name or "").startswith(("cupy.", "cupyx.")):
                return NOT_INSTALLED
            return f"CuPy failed to import ({exc})"
        except Exception as exc:  # a broken CUDA installation raises all sorts
            return f"CuPy failed to import ({type(exc).__name__}: {exc})"
        try:
            count = cp.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError: the driver's message
            return f"no CUDA device answers ({exc})"
        if count < 1:
            return "no CUDA device"
        return None

    def ops(self, context=None, size: int | None = None) -> GPUOps:
        """The device's :class:`GPUOps` (``context`` does not change them: the device runs its own threads)."""
        reason = self.unavailable_reason()
        if reason is not None:
            raise BackendUnavailableError(f"backend 'gpu' is unavailable: {reason}")
        standin = self.standin
        ops = self._ops.get(standin)
        if ops is None:  # one per process: its pinned staging buffers serve every job
            cp, cupyx = self._modules()
            ops = self._ops[standin] = GPUOps(cp, cupyx)
        return ops

    def estimate(self, workload: Workload, context=None) -> Estimate | None:
        """Predicted seconds from the costs ``sigconv tune --backend gpu`` measured here; None without them."""
        from .gpu_tuning import load_gpu_costs, predict_gpu

        costs = load_gpu_costs(standin=self.standin)
        if not costs:
            return None
        if workload.operation == "convolve":
            partition, size = gpu_plan(workload.taps, workload.known_frames, workload.partition)
            return Estimate(predict_gpu(costs, workload, size, partition), (partition, size))
        return Estimate(predict_gpu(costs, workload))

    def stream(self, h, routes, in_channels, out_channels, dtype=np.float64, n_hint=None, block=None,
               context=None, plan=None):
        """A :class:`GPUStream` for this IR (see :meth:`Backend.stream`)."""
        if isinstance(plan, tuple) and block is None:
            partition, size = plan
        else:
            partition, size = gpu_plan(h.shape[0], n_hint, block)
        return GPUStream(self.ops(context), h, routes, in_channels, out_channels, partition, size, dtype)

    def convolve_planned(self, x: np.ndarray, h: np.ndarray, context=None, plan=None) -> np.ndarray:
        from ..compute.engine import run_engine
        from ..compute.routing import Route

        channels = max(x.shape[1], h.shape[1])
        routes = [Route(c % x.shape[1], c % h.shape[1], c) for c in range(channels)]
        engine = self.stream(h, routes, x.shape[1], channels, np.result_type(x, h), n_hint=x.shape[0],
                             context=context, plan=plan)
        return run_engine(engine, x, block=max(1, x.shape[0]))

    def convolve_full(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        return self.convolve_planned(x, h)
