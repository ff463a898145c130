"""A NumPy-backed stand-in for CuPy, so that the ``gpu`` backend runs its own code where there is no GPU.

``SIGCONV_GPU_STANDIN=1`` makes :mod:`sigconv.backends.gpu` import this
module instead of ``cupy``. It offers the part of CuPy's API that the
backend uses, with CuPy's rules:

* :class:`ndarray` holds a NumPy array but refuses every implicit crossing
  to or from the host: ``numpy.asarray(device)`` and ``__array__`` raise
  ``TypeError``, as does a NumPy function or ufunc that meets a host array
  next to a device array, or a host array written into a device array.
  Only :func:`asarray` (host to device), :meth:`ndarray.set`,
  :meth:`ndarray.get` and :func:`asnumpy` (device to host) move data, and
  they count the bytes they move (:data:`transfers`).
* NumPy scalars that a reduction gives come back as 0-d device arrays, as
  CuPy's do; ``float()``, ``int()`` and ``bool()`` of them work.
* :func:`get_default_memory_pool` counts the bytes of every live device
  array; with ``set_limit(size=...)`` (CuPy's call) an allocation past the
  limit raises :class:`OutOfMemoryError`, so that tests can drive the
  backend's retry with smaller blocks; ``fail_once(after, times)`` makes
  chosen allocations fail, to hit the retry at any point of a stream.
* ``fft``, ``cupyx.scipy.fft`` (:data:`cupyx`), ``cuda.Stream``,
  ``cuda.Event``, ``cuda.alloc_pinned_memory``,
  ``cuda.runtime.getDeviceCount`` and ``cupyx.empty_pinned`` behave as
  CuPy's do on one device, synchronously.

Examples
--------
>>> import numpy as np
>>> from sigconv.backends import cupy_standin as cp
>>> x = cp.asarray(np.arange(4.0))
>>> float(cp.sum(x * 2))
12.0
>>> np.asarray(x)
Traceback (most recent call last):
...
TypeError: Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly.
>>> cp.asnumpy(cp.fft.irfft(cp.fft.rfft(x), 4))
array([0., 1., 2., 3.])
"""

from __future__ import annotations

import threading
import types
import weakref

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__all__ = ["ndarray", "asarray", "asnumpy", "get_array_module", "get_default_memory_pool",
           "get_default_pinned_memory_pool", "fft", "cuda", "cupyx", "transfers", "reset"]

#: True: the ``gpu`` backend says "(stand-in)" when it runs on this module.
IS_STANDIN = True

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
             "array explicitly.")


class OutOfMemoryError(MemoryError):
    """As ``cupy.cuda.memory.OutOfMemoryError``: an allocation the device (or the pool's limit) cannot hold."""

    def __init__(self, size: int, total: int, limit: int):
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes, "
                         f"limit set to: {limit:,} bytes).")


class CUDARuntimeError(RuntimeError):
    """As ``cupy.cuda.runtime.CUDARuntimeError``."""


class MemoryPool:
    """As ``cupy.cuda.MemoryPool``: the bytes of live device arrays, and an optional limit."""

    def __init__(self):
        self._lock = threading.Lock()
        self._live: dict[int, int] = {}
        self._limit = 0
        self.peak = 0
        self.frees = 0
        self._fail_in: int | None = None

    def used_bytes(self) -> int:
        return sum(self._live.values())

    def total_bytes(self) -> int:
        return self.used_bytes()

    def free_all_blocks(self, stream=None) -> None:
        self.frees += 1

    def set_limit(self, size: int | None = None, fraction: float | None = None) -> None:
        self._limit = int(size or 0)

    def get_limit(self) -> int:
        return self._limit

    def fail_once(self, after: int = 0, times: int = 1) -> None:
        """Make ``times`` allocations in a row, ``after`` allocations from now, raise :class:`OutOfMemoryError` (tests)."""
        self._fail_in = int(after)
        self._fail_times = int(times)

    def _track(self, root: np.ndarray) -> None:
        key = id(root)
        with self._lock:
            if key in self._live:
                return
            used = sum(self._live.values())
            if self._fail_in is not None:
                self._fail_in -= 1
                if self._fail_in < 0:
                    self._fail_times -= 1
                    self._fail_in = None if self._fail_times <= 0 else 0
                    raise OutOfMemoryError(root.nbytes, used, self._limit or used)
            if self._limit and used + root.nbytes > self._limit:
                raise OutOfMemoryError(root.nbytes, used, self._limit)
            self._live[key] = root.nbytes
            self.peak = max(self.peak, used + root.nbytes)
        weakref.finalize(root, self._release, key)

    def _release(self, key: int) -> None:
        with self._lock:
            self._live.pop(key, None)


class PinnedMemoryPool:
    """As ``cupy.cuda.PinnedMemoryPool``; counts the pinned blocks handed out."""

    def __init__(self):
        self.allocations = 0

    def free_all_blocks(self) -> None:
        pass

    def n_free_blocks(self) -> int:
        return 0


_pool = MemoryPool()
_pinned_pool = PinnedMemoryPool()
#: Bytes moved each way, and how many moves: ``{"to_device": n, "to_host": n, "calls": n}``.
transfers = {"to_device": 0, "to_host": 0, "calls": 0}


def reset() -> None:
    """Forget the counts, and lift the memory limit."""
    transfers.update(to_device=0, to_host=0, calls=0)
    _pool.set_limit(size=0)
    _pool._fail_in = None
    _pool.peak = _pool.used_bytes()
    _pool.frees = 0
    _pinned_pool.allocations = 0


def get_default_memory_pool() -> MemoryPool:
    return _pool


def get_default_pinned_memory_pool() -> PinnedMemoryPool:
    return _pinned_pool


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _wrap(value):
    if isinstance(value, np.ndarray):
        return ndarray(value)
    if isinstance(value, np.generic):  # CuPy's reductions give 0-d device arrays, not host scalars
        return ndarray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _unwrap(value, what: str):
    if isinstance(value, ndarray):
        return value._array
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value
        raise TypeError(f"Unsupported type {type(value)} in {what}: a NumPy array met device arrays "
                        "(move it with cupy.asarray first)")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, what) for v in value)
    if isinstance(value, dict):
        return {key: _unwrap(v, what) for key, v in value.items()}
    return value


class ndarray(NDArrayOperatorsMixin):  # noqa: N801 - CuPy's name
    """A device array: a NumPy array behind CuPy's rules (see the module's description)."""

    __slots__ = ("_array", "__weakref__")

    def __init__(self, array: np.ndarray):
        _pool._track(_root(array))
        self._array = array

    # -- crossings ---------------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True) -> np.ndarray:
        """A host copy (into ``out`` when given)."""
        transfers["to_host"] += self._array.nbytes
        transfers["calls"] += 1
        if out is not None:
            if not isinstance(out, np.ndarray) or out.shape != self._array.shape:
                raise ValueError("out must be a NumPy array of the same shape")
            out[...] = self._array
            return out
        return np.array(self._array, order=order)

    def set(self, arr, stream=None) -> None:
        """Copy the host array ``arr`` (same shape and dtype) into this device array."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, not {type(arr).__name__}")
        if arr.shape != self._array.shape or arr.dtype != self._array.dtype:
            raise ValueError(f"shape or dtype mismatch: {arr.shape} {arr.dtype} into "
                             f"{self._array.shape} {self._array.dtype}")
        if not self._array.flags.c_contiguous:
            raise RuntimeError("Cannot set to non-contiguous array")
        transfers["to_device"] += arr.nbytes
        transfers["calls"] += 1
        self._array[...] = arr

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        what = f"numpy.{ufunc.__name__}"
        inputs = _unwrap(inputs, what)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out, what)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        what = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, what), **_unwrap(kwargs, what)))

    # -- indexing ----------------------------------------------------------

    def __getitem__(self, key):
        return _wrap(self._array[_unwrap(key, "indexing")])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise TypeError(f"{_IMPLICIT} (a NumPy array was written into a device array)")
        self._array[_unwrap(key, "indexing")] = _unwrap(value, "assignment")

    def __len__(self):
        return len(self._array)

    def __iter__(self):
        return (_wrap(row) for row in self._array)

    def __float__(self):
        return float(self._array)

    def __int__(self):
        return int(self._array)

    def __complex__(self):
        return complex(self._array)

    def __index__(self):
        return self._array.__index__()

    def __bool__(self):
        return bool(self._array)

    def __repr__(self):
        return f"array({np.array2string(self._array)}) (stand-in device)"

    # -- attributes ----------------------------------------------------------

    @property
    def shape(self):
        return self._array.shape

    @property
    def dtype(self):
        return self._array.dtype

    @property
    def ndim(self):
        return self._array.ndim

    @property
    def size(self):
        return self._array.size

    @property
    def nbytes(self):
        return self._array.nbytes

    @property
    def strides(self):
        return self._array.strides

    @property
    def flags(self):
        return self._array.flags

    @property
    def T(self):  # noqa: N802 - numpy's name
        return ndarray(self._array.T)

    @property
    def real(self):
        return ndarray(self._array.real)

    @real.setter
    def real(self, value):
        self._array.real = _unwrap(value, "real")

    @property
    def imag(self):
        return ndarray(self._array.imag)

    def __getattr__(self, name):
        if name.startswith("__array_") or name in ("ctypes", "tofile", "tobytes", "tolist", "data"):
            raise AttributeError(f"the stand-in's device arrays have no {name!r}")
        value = getattr(self._array, name)
        if callable(value):
            def method(*args, **kwargs):
                return _wrap(value(*_unwrap(args, f"ndarray.{name}"), **_unwrap(kwargs, f"ndarray.{name}")))

            return method
        return _wrap(value)

    def _inplace(self, ufunc, other):
        ufunc(self._array, _unwrap(other, f"numpy.{ufunc.__name__}"), out=self._array)
        return self

    def __iadd__(self, other):
        return self._inplace(np.add, other)

    def __isub__(self, other):
        return self._inplace(np.subtract, other)

    def __imul__(self, other):
        return self._inplace(np.multiply, other)

    def __itruediv__(self, other):
        return self._inplace(np.true_divide, other)


def asarray(a, dtype=None, order=None):
    """A device array of ``a``: a host array (or list) is copied to the device; a device array is kept."""
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    host = np.asarray(a, dtype=dtype, order=order)
    transfers["to_device"] += host.nbytes
    transfers["calls"] += 1
    return ndarray(np.array(host, order="C" if order is None else order))


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(obj, ndarray):
        return ndarray(np.array(obj._array, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    return asarray(np.array(obj, dtype=dtype, order=order, ndmin=ndmin))


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    """A host copy of the device array ``a`` (a host array is returned as it is, as CuPy does)."""
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return _module if any(isinstance(a, ndarray) for a in args) else np


def _device_function(name: str):
    value = getattr(np, name)

    def function(*args, **kwargs):
        return _wrap(value(*_unwrap(args, f"cupy.{name}"), **_unwrap(kwargs, f"cupy.{name}")))

    function.__name__ = name
    return function


def __getattr__(name: str):
    """NumPy's functions as device functions; dtypes, constants and ``newaxis`` as they are."""
    value = getattr(np, name)
    if isinstance(value, type) or not callable(value):
        return value
    return _device_function(name)


def _fft_module(library_name: str, real_only: bool = False):
    from scipy import fft as scipy_fft

    space = types.SimpleNamespace()
    for name in ("rfft", "irfft", "fft", "ifft", "rfftn", "irfftn", "fftn", "ifftn", "rfftfreq", "fftfreq"):
        def transform(*args, _name=name, **kwargs):
            kwargs.pop("plan", None)
            return _wrap(getattr(scipy_fft, _name)(*_unwrap(args, f"{library_name}.{_name}"),
                                                  **_unwrap(kwargs, f"{library_name}.{_name}")))

        transform.__name__ = name
        setattr(space, name, transform)
    space.next_fast_len = lambda target, real=False: scipy_fft.next_fast_len(int(target), real=real)
    space.get_fft_plan = lambda *args, **kwargs: None
    plan_cache = types.SimpleNamespace(set_size=lambda size: None, set_memsize=lambda size: None,
                                       clear=lambda: None, get_size=lambda: 16)
    space.config = types.SimpleNamespace(get_plan_cache=lambda: plan_cache)
    return space


#: ``cupy.fft``.
fft = _fft_module("cupy.fft")


class Stream:
    """As ``cupy.cuda.Stream``: a context manager that makes itself current; work here runs at once."""

    null = None
    _current = threading.local()

    def __init__(self, null: bool = False, non_blocking: bool = False, ptr: int = 0):
        self.ptr = 0 if null else id(self)

    def __enter__(self):
        stack = getattr(Stream._current, "stack", None)
        if stack is None:
            stack = Stream._current.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc):
        Stream._current.stack.pop()

    def use(self):
        return self

    def synchronize(self) -> None:
        pass

    def record(self, event=None):
        event = event or Event()
        return event

    def wait_event(self, event) -> None:
        pass

    @property
    def done(self) -> bool:
        return True


Stream.null = Stream(null=True)


class Event:
    """As ``cupy.cuda.Event``."""

    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess: bool = False):
        pass

    def record(self, stream=None) -> None:
        pass

    def synchronize(self) -> None:
        pass

    @property
    def done(self) -> bool:
        return True


class PinnedMemoryPointer:
    """A block of page-locked host memory (here an ordinary buffer), usable with ``numpy.frombuffer``."""

    def __init__(self, size: int):
        _pinned_pool.allocations += 1
        self._buffer = bytearray(max(1, int(size)))
        self.size = int(size)

    def __buffer__(self, flags):
        return memoryview(self._buffer)

    def __len__(self):
        return self.size


def alloc_pinned_memory(size: int) -> PinnedMemoryPointer:
    return PinnedMemoryPointer(size)


def _pinned_array(shape, dtype, zero: bool) -> np.ndarray:
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    memory = alloc_pinned_memory(count * dtype.itemsize)
    array = np.frombuffer(memory._buffer, dtype, count).reshape(shape)
    if zero:
        array[...] = 0
    return array


class _Device:
    def __init__(self, device: int = 0):
        self.id = int(device)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def synchronize(self) -> None:
        pass

    @property
    def mem_info(self):
        limit = _pool.get_limit() or 1 << 34
        return max(0, limit - _pool.used_bytes()), limit

    @property
    def compute_capability(self) -> str:
        return "00"


def _get_device_count() -> int:
    return 1


cuda = types.SimpleNamespace(
    Stream=Stream,
    Event=Event,
    Device=_Device,
    alloc_pinned_memory=alloc_pinned_memory,
    MemoryPool=MemoryPool,
    PinnedMemoryPool=PinnedMemoryPool,
    memory=types.SimpleNamespace(OutOfMemoryError=OutOfMemoryError),
    runtime=types.SimpleNamespace(
        getDeviceCount=_get_device_count,
        CUDARuntimeError=CUDARuntimeError,
        getDeviceProperties=lambda device: {"name": b"NumPy stand-in", "totalGlobalMem": 1 << 34},
        runtimeGetVersion=lambda: 0,
        memGetInfo=lambda: _Device().mem_info,
    ),
    get_current_stream=lambda: (getattr(Stream._current, "stack", None) or [Stream.null])[-1],
)

#: ``cupyx``: ``cupyx.scipy.fft`` and the pinned-array helpers.
cupyx = types.SimpleNamespace(
    scipy=types.SimpleNamespace(fft=_fft_module("cupyx.scipy.fft")),
    empty_pinned=lambda shape, dtype=np.float64, order="C": _pinned_array(shape, dtype, False),
    zeros_pinned=lambda shape, dtype=np.float64, order="C": _pinned_array(shape, dtype, True),
)

import sys as _sys  # noqa: E402

_module = _sys.modules[__name__]
