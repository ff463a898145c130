"""The ``fft`` backend: partitioned overlap-save and every spectral operation, on FFTW or scipy.fft."""

from __future__ import annotations


import threading

import numpy as np

from .base import Backend, Estimate, Workload

__all__ = ["FFTBackend"]

#: Shortest transform for which independent channels run in parallel lanes
#: (:class:`sigconv.compute.engine.ChannelLanes`) rather than one engine whose
#: transforms use several FFTW threads. Whole runs on 10 min of stereo, 2
#: cores (medians of interleaved runs): a 3 s IR, float64, 0.83 s in lanes
#: against 0.91 s (15 runs); a 64-tap FIR 0.53 s against 0.59 s (9 runs).
#: With another process busy on the machine, two-threaded FFTW transforms
#: slowed the FIR job from 0.6 s to 5-9 s; lanes kept it at 0.8 s.
LANES_MIN_FFT = 1 << 12
#: Shortest transform that runs on several FFTW threads. Shorter ones run
#: on one: their threads cost more in hand-offs than they save, and on a
#: busy machine (other processes, a process pool) multi-threaded short
#: transforms collapsed (16,000 x 512 in a loop: 171 ms a call instead of
#: 0.6 ms with two other busy processes on 2 cores).
THREADED_MIN_FFT = 1 << 17
#: Longest transform whose plan a thread keeps for the next in-memory call.
_CACHED_MAX_FFT = 1 << 20
_CACHED_PLANS = 8


class FFTBackend(Backend):
    """Frequency-domain convolution by (partitioned) overlap-save, and the spectral operations.

    The planner (:mod:`sigconv.backends.planner`) picks one transform of
    the whole result for short jobs, plain overlap-save with a large
    transform for long signals, or uniformly partitioned overlap-save for
    long IRs. Round-off is about 1e-15 of the output's peak in float64
    (1e-7 in float32). Transforms run on FFTW (pyFFTW) when it is
    installed, else on scipy.fft; ``library`` forces one.

    Parameters
    ----------
    library : {'auto', 'pyfftw', 'scipy'}, optional
        ``auto`` (default): pyFFTW when it imports and ``$SIGCONV_FFT`` is
        not ``scipy``.
    """

    name = "fft"
    description = "frequency domain, partitioned overlap-save (pyFFTW when installed, else scipy.fft)"
    operations = frozenset({"convolve", "correlate", "deconvolve", "measure"})

    def __init__(self, library: str = "auto"):
        self.library = library

    def _uses_fftw(self) -> bool:
        if self.library == "auto":
            from ..compute.fftw import pyfftw_available

            return pyfftw_available()
        return self.library == "pyfftw"

    def ops(self, context=None, size: int | None = None):
        """FFTW's ops when pyFFTW is in use, else NumPy with scipy.fft; ``context``'s threads per transform.

        With ``size``, transforms shorter than :data:`THREADED_MIN_FFT` get one thread.
        """
        from ..compute.context import resolve_context

        threads = resolve_context(context).resolved_threads
        if size is not None and size < THREADED_MIN_FFT:
            threads = 1
        if self._uses_fftw():
            from ..compute.fftw import FFTWOps

            return FFTWOps(threads)
        from ..compute.ops import ArrayOps

        return ArrayOps(threads)

    def fft_library(self) -> str:
        """``"pyfftw"`` or ``"scipy"``: the transforms this backend runs here."""
        return "pyfftw" if self._uses_fftw() else "scipy"

    def estimate(self, workload: Workload, context=None) -> Estimate | None:
        from .planner import plan_convolution, predict_transforms

        library = self.fft_library()
        if workload.operation == "convolve":
            if min(workload.known_frames, workload.taps) <= 1:
                return None  # a scaling: nothing for transforms to gain
            plan = plan_convolution(workload, library)
            return Estimate(plan.seconds, plan)
        return Estimate(predict_transforms(workload, library))

    def stream(self, h, routes, in_channels, out_channels, dtype=np.float64, n_hint=None, block=None,
               context=None, plan=None):
        """A streaming engine for this IR (see :meth:`Backend.stream`)."""
        from ..compute.context import resolve_context
        from ..compute.engine import ChannelLanes, OverlapSave, one_path_per_output
        from .planner import plan_convolution

        if plan is None or getattr(plan, "method", None) != "fft":
            workload = Workload("convolve", n_hint, h.shape[0], in_channels, out_channels, len(routes),
                                np.dtype(dtype).name, partition=block)
            plan = plan_convolution(workload, self.fft_library())
        context = resolve_context(context)
        threads = context.resolved_threads
        if (threads > 1 and out_channels > 1 and plan.fft_size >= LANES_MIN_FFT
                and one_path_per_output(routes, out_channels)):
            return ChannelLanes(h, routes, in_channels, out_channels, plan.partition, plan.fft_size, dtype,
                                workers=threads, ops=self.ops(context))
        return OverlapSave(h, routes, in_channels, out_channels, plan.partition, plan.fft_size, dtype,
                           ops=self.ops(context, plan.fft_size))

    def convolve_planned(self, x: np.ndarray, h: np.ndarray, context=None, plan=None) -> np.ndarray:
        from ..compute.engine import run_engine
        from ..compute.routing import Route

        total = x.shape[0] + h.shape[0] - 1
        if plan is not None and plan.fft_size and plan.partition >= h.shape[0] and plan.hop >= total:
            return self._one_transform(x, h, plan.fft_size, context)
        channels = max(x.shape[1], h.shape[1])
        routes = [Route(c % x.shape[1], c % h.shape[1], c) for c in range(channels)]
        engine = self.stream(h, routes, x.shape[1], channels, np.result_type(x, h), n_hint=x.shape[0],
                             context=context, plan=plan)
        return run_engine(engine, x)

    def convolve_full(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        return self.convolve_planned(x, h)

    def _one_transform(self, x: np.ndarray, h: np.ndarray, size: int, context) -> np.ndarray:
        """The whole convolution by one transform of ``size`` points: what an in-memory call of moderate size needs.

        No engine, no hops: the transforms of ``x`` and ``h``, their product and
        one inverse, on plans this thread keeps for its next call of the same
        size (building FFTW's plans costs more than running them).
        """
        ops = self.ops(context, size)
        dtype = np.result_type(x, h)
        rows = max(x.shape[1], h.shape[1])
        total = x.shape[0] + h.shape[0] - 1
        kernel = self._plan(ops, size, h.shape[1], dtype)
        spectrum_h = ops.xp.array(kernel.forward(ops.to_device(np.ascontiguousarray(h.T))), copy=True)
        signal = self._plan(ops, size, x.shape[1], dtype)
        spectrum_x = signal.forward(ops.to_device(np.ascontiguousarray(x.T)))
        out = self._plan(ops, size, rows, dtype)
        ops.xp.multiply(spectrum_x, spectrum_h, out=out.spectrum)
        y = out.inverse_spectrum()[:, :total]
        return ops.to_host(y.T.copy())  # a copy: the plan's buffer serves the next call

    def _plan(self, ops, size: int, rows: int, dtype):
        """This thread's plan for ``rows`` transforms of ``size`` points (kept for the next call)."""
        if size > _CACHED_MAX_FFT:
            return ops.real_fft(size, rows, dtype)
        cache = getattr(_thread_plans, "cache", None)
        if cache is None:
            cache = _thread_plans.cache = {}
        key = (type(ops), ops.name, ops.threads, size, rows, np.dtype(dtype).str)
        plan = cache.pop(key, None)
        if plan is None:
            plan = ops.real_fft(size, rows, dtype)
            while len(cache) >= _CACHED_PLANS:
                cache.pop(next(iter(cache)))
        cache[key] = plan  # most recently used last
        return plan


_thread_plans = threading.local()


