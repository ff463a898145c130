"""One impulse response applied to many signals: the kernel is validated and transformed once.

A :class:`Convolver` call is convolved directly (``numpy.convolve`` per
channel path) where the operation count says so, else from one forward
transform of the signal, a product with the kernel's cached spectrum and
one inverse, on reused plans; long signals stream through
:func:`sigconv.convolve`.

Transform lengths come from a grid of seven 5-smooth lengths per octave
(``2^k * {32, 36, 40, 45, 48, 54, 60}``), at most 12.5% above the shortest
fast length, so that clips of varying length share a few lengths and their
cached spectra and plans. Exact lengths would give nearly every clip a
length of its own, and FFTW plans a length it has not seen in 7-12 ms, 40
times the 0.3 ms that the transforms of a 16,000-sample clip take.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ..backends.base import EXACT_FLOAT_LIMIT
from ..backends.fft import THREADED_MIN_FFT
from ..backends.registry import AUTO, get_backend
from ..compute.context import resolve_context
from .alignment import check_convolve_mode, output_slice
from ..compute.routing import routes_for
from ..errors import BackendUnavailableError
from ..validation import as_frames, dtype_for_precision

__all__ = ["Convolver"]

# grid of transform lengths: 2^k times one of these, divided by 32
_GRID = (32, 36, 40, 45, 48, 54, 60)
# Longest transform of a whole result; longer jobs stream. A 2^21-point mono
# float64 entry holds about 80 MB of spectra and plan buffers.
_WHOLE_MAX = 1 << 21
# From this transform length on, a signal this many times longer than the
# kernel streams: overlap-save with a transform of a few kernel lengths
# does fewer operations per sample than one transform of everything
# (n = 10^6, m = 10^3: 14 ms streamed against 40 ms in one transform).
_LONG_FROM = 1 << 17
_LONG_RATIO = 32
# Per call costs of the two in-memory methods, fitted with
# ``python benchmarks/bench_prepared.py --fit`` on the 2-core development
# machine (float64, one thread): numpy.convolve costs a call, a step per
# output sample (a dot product each) and the multiply-adds; a call through
# transforms costs its fixed part and N log2 N per transform, by transform
# library (others are priced as scipy.fft). With 20 ns per output sample,
# FFTW's transforms beat numpy.convolve from about 1,000 samples even for
# 16-tap kernels (4,000 x 16: 52 against 94 us).
_DIRECT_CALL = 3.6e-6
_DIRECT_SAMPLE = 2.0e-8
_DIRECT_MAC = 1.4e-10
_TRANSFORM_COSTS = {"pyfftw": (13e-6, 0.55e-9), "scipy": (35e-6, 1.1e-9)}
# spare plans kept per transform length and channel layout, for threads that call at once
_SPARE_PLANS = 4


def _grid_length(need: int) -> int:
    """The shortest length of the grid (``2^k * {32, 36, ..., 60} / 32``) that is at least ``need``.

    Examples
    --------
    >>> _grid_length(19_999), _grid_length(175_999), _grid_length(20_481)
    (20480, 184320, 23040)
    """
    shift = max(0, (need - 1).bit_length() - 6)
    for factor in _GRID:
        if factor << shift >= need:
            return factor << shift
    return 64 << shift


class _Layout(NamedTuple):
    """How a signal with some channel count meets the kernel: paths, outputs, the spectral product."""

    routes: list
    outputs: int
    inputs: int
    #: True when output c is input c (or 0) times kernel channel c (or 0): one broadcast multiply
    vectorised: bool
    #: per output channel, its ``(source, kernel)`` pairs
    by_target: tuple


def _layout(input_channels: int, kernel_channels: int) -> _Layout:
    routes, outputs = routes_for(input_channels, kernel_channels)
    by_target = tuple(tuple((r.source, r.kernel) for r in routes if r.target == t) for t in range(outputs))
    vectorised = all(len(pairs) == 1 for pairs in by_target)
    return _Layout(routes, outputs, input_channels, vectorised, by_target)


class _Spectra:
    """The kernel's spectra at one transform length, with the plans that use them.

    ``plans`` holds idle plan pairs per ``(inputs, outputs)`` rows; a call
    takes one and gives it back, so that two threads never share buffers.
    """

    def __init__(self, ops, size: int, kernel: np.ndarray, dtype: np.dtype):
        self.ops, self.size, self.dtype = ops, size, dtype
        self.spectra = ops.rfft(ops.to_device(np.ascontiguousarray(kernel.T)), size, axis=1)
        self.plans: dict[tuple[int, int], list] = {}
        self.kernel_bytes = kernel.shape[1] * (size // 2 + 1) * 2 * dtype.itemsize
        self.plan_bytes = 0

    def make_plans(self, inputs: int, outputs: int) -> tuple:
        forward = self.ops.real_fft(self.size, inputs, self.dtype)
        inverse = forward if inputs == outputs else self.ops.real_fft(self.size, outputs, self.dtype)
        return forward, inverse

    def plans_bytes(self, inputs: int, outputs: int) -> int:
        """Bytes of one plan pair's buffers (real in and out, spectrum out and in, per row)."""
        rows = inputs if inputs == outputs else inputs + outputs
        return rows * 4 * self.size * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.kernel_bytes + self.plan_bytes


class Convolver:
    """A convolution with one impulse response, prepared for many signals.

    ``Convolver(h, mode=...)(x)`` equals ``sigconv.convolve(x, h, mode)``
    (within transform round-off, about 1e-15 of the peak in float64), but
    validates `h` once, keeps its spectra per transform length, and
    computes each call with one forward and one inverse transform on
    reused plans. Short kernels are convolved directly, without
    transforms; long signals are streamed by :func:`sigconv.convolve`.

    Parameters
    ----------
    h : array_like
        Impulse response (kernel), ``(frames,)`` or ``(frames, channels)``;
        validated as :func:`sigconv.convolve` validates it.
    mode : {'full', 'same', 'valid', 'keep'}, optional
        Output length, as in :func:`sigconv.convolve`: ``n + m - 1``,
        ``n`` or ``max(n, m) - min(n, m) + 1`` frames.
    backend : str, optional
        ``"auto"`` (default): direct or transforms by operation count, the
        transforms on the cheapest backend that runs spectral operations.
        ``"direct"``: always the time-domain sum. Another backend name:
        always transforms, on that backend's array operations (a backend
        without them runs every call through :func:`sigconv.convolve`).
    context : ExecutionContext or int, optional
        Threads per transform (an int is a thread count); default
        :class:`~sigconv.compute.context.ExecutionContext`. Transforms
        shorter than 2^17 points run on one thread.
    precision : {64, 32}, optional
        Bits of the computation and of the result.

    Attributes
    ----------
    max_lengths : int
        Most transform lengths whose spectra and plans are kept (16); the
        least recently used go first.
    max_cache_bytes : int
        Most bytes of spectra and idle plan buffers kept (128 MiB), beyond
        which the least recently used lengths go, all but the newest.

    Raises
    ------
    InvalidSignalError
        `h` is empty, non-numeric or not finite.
    UsageError, BackendUnavailableError
        Bad `mode` or `precision`; unknown or unavailable `backend`.

    See Also
    --------
    sigconv.convolve : the one-shot form, with the reverb mix.

    Notes
    -----
    A call with ``n`` input frames needs a transform of at least
    ``n + m - 1`` points. Its length is taken from a grid of seven 5-smooth
    lengths per octave, so that signals of varying length share cached
    spectra and plans; each costs at most 12.5% above the shortest fast
    length. The signal's spectrum meets the kernel's once per channel path:
    ``Y = X_s H_k``, summed into each output channel before the one
    inverse transform per output.

    Integer signals and kernels give exact integer results as
    :func:`sigconv.convolve` gives them: results of transforms are rounded,
    and where they could pass 2^52, ``auto`` computes directly.

    A Convolver may be called from several threads at once (each call
    takes plans of its own), and pickles as its kernel and settings, so
    that it can be sent to process-pool or Dask workers; caches are
    rebuilt there on first use.

    Examples
    --------
    >>> import numpy as np
    >>> room = Convolver([1.0, 0.0, 0.5])
    >>> room([1.0, 2.0])
    array([1. , 2. , 0.5, 1. ])
    >>> [room(np.ones(n)).shape for n in (3, 5)]
    [(5,), (7,)]
    >>> Convolver(np.ones((3, 2)), mode="same")(np.ones(4)).shape
    (4, 2)
    """

    max_lengths = 16
    max_cache_bytes = 128 << 20

    def __init__(self, h, *, mode: str = "full", backend: str = AUTO, context=None, precision: int = 64):
        check_convolve_mode(mode)
        dtype = dtype_for_precision(precision)
        kernel = as_frames(h, "impulse response", dtype).copy()  # the caller's array may change later
        source = np.asarray(h)
        integer = source.dtype.kind in "uib"
        if backend != AUTO:
            get_backend(backend)  # unknown or unavailable: refused now, not on the first call
        self._setup(kernel, source.copy() if integer else None, np.ndim(h) == 1, mode, backend,
                    resolve_context(context), int(precision))

    def _setup(self, kernel, integer_source, one_dimensional, mode, backend, context, precision) -> None:
        kernel.setflags(write=False)
        self._h = kernel
        self._integer_source = integer_source
        self._one_dimensional = one_dimensional
        self._mode, self._backend, self._context, self._precision = mode, backend, context, precision
        self._dtype = kernel.dtype
        self._taps = kernel.shape[0]
        self._columns = np.ascontiguousarray(kernel.T)
        self._peak = float(np.max(np.abs(kernel))) if integer_source is not None else 0.0
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, _Spectra] = OrderedDict()
        self._layouts: dict[int, _Layout] = {}
        self._named_transforms: bool | None = None
        self._library: str | None = None  # the transform library, once known

    # -- settings (read-only) ------------------------------------------------

    @property
    def kernel(self) -> np.ndarray:
        """The validated impulse response, ``(frames, channels)``, read-only."""
        return self._h

    @property
    def mode(self) -> str:
        """``"full"``, ``"same"`` or ``"valid"``."""
        return self._mode

    @property
    def backend(self) -> str:
        """The backend name given (``"auto"`` by default)."""
        return self._backend

    @property
    def context(self):
        """The :class:`~sigconv.compute.context.ExecutionContext` of every call."""
        return self._context

    @property
    def precision(self) -> int:
        """64 or 32."""
        return self._precision

    @property
    def cached_lengths(self) -> tuple[int, ...]:
        """Transform lengths whose kernel spectra are kept, least recently used first."""
        with self._lock:
            return tuple(entry.size for entry in self._cache.values())

    def clear_cache(self) -> None:
        """Drop every cached spectrum and plan (they are rebuilt on demand)."""
        with self._lock:
            self._cache.clear()

    def __repr__(self) -> str:
        return (f"<Convolver {self._taps} taps x {self._h.shape[1]} channel(s), mode={self._mode!r}, "
                f"backend={self._backend!r}, precision={self._precision}>")

    # -- pickling: the kernel and the settings; caches are rebuilt lazily ----

    _STATE = ("h", "integer_source", "one_dimensional", "mode", "backend", "context", "precision")

    def __getstate__(self) -> dict:
        return {name: getattr(self, f"_{name}") for name in self._STATE}

    def __setstate__(self, state: dict) -> None:
        self._setup(np.array(state["h"]), *(state[name] for name in self._STATE[1:]))

    # -- the call -------------------------------------------------------------

    def __call__(self, x) -> np.ndarray:
        """Convolve `x` with the kernel.

        Parameters
        ----------
        x : array_like
            Signal, ``(frames,)`` or ``(frames, channels)``; ints or floats.

        Returns
        -------
        numpy.ndarray
            As :func:`sigconv.convolve` returns it: 1-D if `x` and the
            kernel are both 1-D, else ``(frames, channels)``, in the
            precision's dtype.

        Raises
        ------
        InvalidSignalError
            Empty, non-numeric or non-finite `x`.
        IncompatibleSignalsError
            Channel counts that cannot be routed.
        """
        xs = as_frames(x, "signal", self._dtype)
        n, channels = xs.shape
        layout = self._layouts.get(channels)
        if layout is None:
            layout = self._layouts.setdefault(channels, _layout(channels, self._h.shape[1]))
        bound = self._integer_bound(x, xs) if self._integer_source is not None else None
        method, size = self._method(n, layout, bound)
        if method == "stream":
            return self._stream(x)
        window = output_slice(n, self._taps, self._mode)
        if method == "direct":
            y = self._direct(xs, layout, window)
        else:
            y = self._transformed(xs, layout, window, size)
            if bound is not None:
                np.rint(y, out=y)
        return y[:, 0] if self._one_dimensional and np.ndim(x) == 1 else y

    def _integer_bound(self, x, xs: np.ndarray) -> float | None:
        """``max|x| * max|h| * min(n, m)`` for integers in float64, as :func:`sigconv.convolve` bounds it."""
        kind = x.dtype.kind if isinstance(x, np.ndarray) else np.asarray(x).dtype.kind
        if kind not in "uib" or self._dtype != np.float64:
            return None
        return float(np.max(np.abs(xs))) * self._peak * min(xs.shape[0], self._taps)

    def _method(self, n: int, layout: _Layout, bound: float | None) -> tuple[str, int]:
        """``("direct" | "transform" | "stream", grid length)`` for a call with ``n`` frames."""
        if self._backend == "direct":
            return "direct", 0
        size = _grid_length(n + self._taps - 1)
        if self._backend == AUTO:
            if bound is not None and bound > EXACT_FLOAT_LIMIT:
                return "direct", size
            if self._library is None:
                self._library = self._transform_ops(size, n, layout).name
            if _direct_cheaper(n, self._taps, layout, size, self._library):
                return "direct", size
        elif not self._has_transforms():
            return "stream", size
        if size > _WHOLE_MAX or (size >= _LONG_FROM and n > _LONG_RATIO * self._taps):
            return "stream", size
        return "transform", size

    def _has_transforms(self) -> bool:
        """Whether the named backend has array operations to run transforms on (looked up once)."""
        if self._named_transforms is None:
            self._named_transforms = self._named_ops() is not None
        return self._named_transforms

    def _named_ops(self):
        try:
            return get_backend(self._backend).ops(self._context)
        except BackendUnavailableError:
            return None

    # -- the three methods ----------------------------------------------------

    def _direct(self, xs: np.ndarray, layout: _Layout, window: slice) -> np.ndarray:
        """``numpy.convolve`` per path, summed into the outputs; exact for integers."""
        columns = self._columns
        if layout.inputs == 1 and layout.outputs == 1:
            return np.convolve(xs[:, 0], columns[0])[window, None]
        signal = np.ascontiguousarray(xs.T)
        full = np.zeros((layout.outputs, xs.shape[0] + self._taps - 1), dtype=self._dtype)
        for target, pairs in enumerate(layout.by_target):
            for source, kernel in pairs:
                full[target] += np.convolve(signal[source], columns[kernel])
        return np.ascontiguousarray(full[:, window].T)

    def _stream(self, x) -> np.ndarray:
        """The call through :func:`sigconv.convolve` (its planner streams long signals)."""
        from .arrays import convolve

        kernel = self._integer_source.reshape(self._h.shape) if self._integer_source is not None else self._h
        if self._one_dimensional and np.ndim(x) == 1:
            kernel = kernel[:, 0]
        return convolve(x, kernel, self._mode, backend=self._backend, precision=self._precision,
                        context=self._context)

    def _transformed(self, xs: np.ndarray, layout: _Layout, window: slice, size: int) -> np.ndarray:
        """One forward transform of the signal, its products with the cached spectra, one inverse."""
        entry = self._entry(size, xs.shape[0], layout)
        rows = (layout.inputs, layout.outputs)
        with self._lock:
            idle = entry.plans.get(rows)
            plans = idle.pop() if idle else None
            if plans is not None:
                entry.plan_bytes -= entry.plans_bytes(*rows)
        if plans is None:
            plans = entry.make_plans(*rows)
        try:
            y = self._run(entry, plans, xs, layout, window)
        finally:
            with self._lock:
                idle = entry.plans.setdefault(rows, [])
                if len(idle) < _SPARE_PLANS:
                    idle.append(plans)
                    entry.plan_bytes += entry.plans_bytes(*rows)
                    self._evict()
        return y

    @staticmethod
    def _run(entry: _Spectra, plans: tuple, xs: np.ndarray, layout: _Layout, window: slice) -> np.ndarray:
        ops = entry.ops
        forward, inverse = plans
        n = xs.shape[0]
        frame = forward.frame
        frame[:, :n] = ops.to_device(xs.T)
        frame[:, n:] = 0
        spectrum, product, kernel = forward.forward_frame(), inverse.spectrum, entry.spectra
        if layout.vectorised:
            # one broadcast multiply: shared (c x 1), parallel (c x c) and split (1 x c) paths
            ops.xp.multiply(spectrum, kernel, out=product)
        else:
            for target, ((source, k), *more) in enumerate(layout.by_target):
                ops.xp.multiply(spectrum[source], kernel[k], out=product[target])
                for source, k in more:
                    product[target] += spectrum[source] * kernel[k]
        result = ops.to_host(inverse.inverse_spectrum()[:, window])
        # a copy column by column (the plan's buffer serves the next call):
        # numpy's transposing copy is several times slower
        y = np.empty((result.shape[1], layout.outputs), dtype=entry.dtype)
        for channel in range(layout.outputs):
            y[:, channel] = result[channel]
        return y

    # -- the cache ------------------------------------------------------------

    def _entry(self, size: int, n: int, layout: _Layout) -> _Spectra:
        """The cached spectra for grid length ``size``, made (outside the lock) when missing."""
        with self._lock:
            entry = self._cache.get(size)
            if entry is not None:
                self._cache.move_to_end(size)
                return entry
        ops = self._transform_ops(size, n, layout)
        self._library = ops.name
        entry = _Spectra(ops, ops.next_fast_len(size), self._h, self._dtype)
        with self._lock:
            existing = self._cache.get(size)
            if existing is not None:  # another thread made it meanwhile
                return existing
            self._cache[size] = entry
            self._evict()
        return entry

    def _evict(self) -> None:
        """Drop the least recently used lengths beyond :attr:`max_lengths` or :attr:`max_cache_bytes`."""
        cache = self._cache
        while len(cache) > self.max_lengths or (
                len(cache) > 1 and sum(entry.nbytes for entry in cache.values()) > self.max_cache_bytes):
            cache.popitem(last=False)

    def _transform_ops(self, size: int, n: int, layout: _Layout):
        """The array operations for transforms of ``size`` points: the named backend's, or auto's choice."""
        if self._backend == AUTO:
            from ..backends.base import Workload
            from ..backends.planner import choose_backend

            workload = Workload("convolve", n, self._taps, layout.inputs, layout.outputs, len(layout.routes),
                                self._dtype.name, in_memory=True)
            ops = choose_backend(AUTO, workload, self._context, needs_ops=True)[0].ops(self._context)
        else:
            ops = self._named_ops()
        return ops.with_threads(1) if size < THREADED_MIN_FFT else ops


def _direct_cheaper(n: int, m: int, layout: _Layout, size: int, library: str) -> bool:
    """Whether ``numpy.convolve`` per path beats a ``size``-point transform each way on ``library``.

    Examples
    --------
    >>> mono = _layout(1, 1)
    >>> _direct_cheaper(100, 100, mono, 216, "pyfftw"), _direct_cheaper(16_000, 4_000, mono, 20_480, "scipy")
    (True, False)
    """
    paths = len(layout.routes)
    direct = _DIRECT_CALL + paths * ((n + m) * _DIRECT_SAMPLE + n * m * _DIRECT_MAC)
    call, point = _TRANSFORM_COSTS.get(library, _TRANSFORM_COSTS["scipy"])
    return direct <= call + (layout.inputs + layout.outputs) * point * size * math.log2(size)
