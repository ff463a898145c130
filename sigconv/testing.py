"""A strict NumPy stand-in for a device backend: arrays that refuse implicit conversion, as CuPy's do.

CuPy raises ``TypeError`` when a device array meets NumPy implicitly
(``numpy.asarray(device_array)``, a NumPy array in a device ufunc, a
device array written into a NumPy array). Code that forgets a
:meth:`~sigconv.compute.ops.ArrayOps.to_host` or
:meth:`~sigconv.compute.ops.ArrayOps.to_device` passes on NumPy and fails
on a GPU. :class:`StrictOps` runs the same NumPy and scipy.fft
computations on :class:`StrictArray` wrappers that refuse every implicit
crossing, so those mistakes fail in CI on machines without a GPU. It is
stricter than CuPy in one place: writing a host array into a device array
(``device[...] = host``) is refused too, since every host-to-device move
should be explicit.

:class:`StrictBackend` is the ``fft`` backend on these ops; register it to
run any command or library function through it::

    >>> import numpy as np, sigconv
    >>> from sigconv.testing import StrictBackend
    >>> sigconv.register_backend("strict", StrictBackend, clobber=True)
    >>> sigconv.convolve(np.ones(4), np.array([1.0, 0.5]), backend="strict")
    array([1. , 1.5, 1.5, 1.5, 0.5])
"""

from __future__ import annotations


import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from .backends.fft import FFTBackend
from .compute.ops import ArrayOps

__all__ = ["StrictArray", "StrictOps", "StrictBackend", "strict_namespace"]

_MESSAGE = ("Implicit conversion to a NumPy array is not allowed (a device array met NumPy without "
            "ArrayOps.to_host)")


def _unwrap(value, what: str):
    """The NumPy array inside ``value`` (recursing into lists and tuples); refuses bare NumPy arrays."""
    if isinstance(value, StrictArray):
        return value._array
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value
        raise TypeError(f"Unsupported type {type(value)} in {what}: a host array met device arrays without "
                        "ArrayOps.to_device")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, what) for v in value)
    if isinstance(value, dict):
        return {key: _unwrap(v, what) for key, v in value.items()}
    return value


def _wrap(value):
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return StrictArray(value)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class StrictArray(NDArrayOperatorsMixin):
    """A NumPy array that behaves as a device array: no implicit conversion to or from NumPy.

    Arithmetic, indexing, methods and NumPy functions work on it and give
    :class:`StrictArray` results; ``numpy.asarray(a)`` raises ``TypeError``,
    as does mixing it with NumPy arrays. :meth:`get` (CuPy's name) copies
    it to the host.
    """

    __slots__ = ("_array",)

    def __init__(self, array: np.ndarray):
        self._array = array

    def __array__(self, dtype=None, copy=None):
        raise TypeError(_MESSAGE)

    def get(self) -> np.ndarray:
        """A NumPy copy, on the host."""
        return self._array.copy()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        what = f"numpy.{ufunc.__name__}"
        inputs = _unwrap(inputs, what)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], what)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if "out" in kwargs and result is not None:
            return _wrap(result) if not isinstance(result, tuple) else result
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        what = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, what), **_unwrap(kwargs, what)))

    def __getitem__(self, key):
        return _wrap(self._array[_unwrap(key, "indexing")])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise TypeError(f"{_MESSAGE}: a host array was written into a device array without ArrayOps.to_device")
        self._array[_unwrap(key, "indexing")] = _unwrap(value, "assignment")

    def __len__(self):
        return len(self._array)

    def __iter__(self):
        return (_wrap(row) for row in self._array)

    def __float__(self):
        return float(self._array)

    def __int__(self):
        return int(self._array)

    def __index__(self):
        return self._array.__index__()

    def __bool__(self):
        return bool(self._array)

    def __repr__(self):
        return f"StrictArray({self._array!r})"

    def __getattr__(self, name):
        if name == "__array_interface__" or name == "__array_struct__":
            raise AttributeError(name)
        value = getattr(self._array, name)
        if callable(value):
            def method(*args, **kwargs):
                return _wrap(value(*_unwrap(args, f"ndarray.{name}"), **_unwrap(kwargs, f"ndarray.{name}")))

            return method
        return _wrap(value)

    # the in-place operators must write into the wrapped array, not rebind
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


class _StrictNamespace:
    """``numpy`` as a device array module: functions take and give :class:`StrictArray`."""

    def __getattr__(self, name):
        value = getattr(np, name)
        if isinstance(value, np.ufunc) or callable(value) and not isinstance(value, type):
            def function(*args, **kwargs):
                return _wrap(value(*_unwrap(args, f"numpy.{name}"), **_unwrap(kwargs, f"numpy.{name}")))

            function.__name__ = name
            return function
        return value


#: The array module of :class:`StrictOps`.
strict_namespace = _StrictNamespace()


class StrictOps(ArrayOps):
    """:class:`~sigconv.compute.ops.ArrayOps` on :class:`StrictArray`: NumPy and scipy.fft behind a device's rules."""

    name = "strict"

    @property
    def xp(self):
        return strict_namespace

    def to_device(self, x):
        if isinstance(x, StrictArray):
            raise TypeError("to_device() was given a device array")
        return StrictArray(np.array(x))

    def to_host(self, x) -> np.ndarray:
        if not isinstance(x, StrictArray):
            raise TypeError(f"to_host() was given {type(x).__name__}, not a device array")
        return x.get()

    def empty(self, shape, dtype=np.float64):
        return StrictArray(np.empty(shape, dtype=dtype))

    def zeros(self, shape, dtype=np.float64):
        return StrictArray(np.zeros(shape, dtype=dtype))

    def rfft(self, x, n=None, axis=-1, overwrite_x=False):
        return _wrap(super().rfft(_unwrap(x, "rfft"), n, axis, overwrite_x))

    def irfft(self, spectrum, n, axis=-1, norm=None):
        return _wrap(super().irfft(_unwrap(spectrum, "irfft"), n, axis, norm))


class StrictBackend(FFTBackend):
    """The ``fft`` backend on :class:`StrictOps` (scipy.fft's cost table)."""

    name = "strict"
    description = "fft backend on NumPy behind CuPy's rules (tests)"

    def __init__(self):
        super().__init__(library="scipy")

    def ops(self, context=None, size=None):
        return StrictOps(super().ops(context, size).threads)


