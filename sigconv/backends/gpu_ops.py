"""The ``gpu`` backend's array operations: CuPy arrays, cuFFT transforms, pinned host-device copies.

:class:`GPUOps` is what every compute path of sigconv gets from
``get_backend("gpu").ops()``; :func:`load_cupy` gives CuPy's modules, or
those of the NumPy stand-in (:mod:`sigconv.backends.cupy_standin`) under
``$SIGCONV_GPU_STANDIN``. See :mod:`sigconv.backends.gpu`.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from ..compute.ops import ArrayOps
from ..errors import BackendUnavailableError

__all__ = ["GPUOps", "GPUMemoryWarning", "GPUOutOfMemoryError", "load_cupy", "standin_requested",
           "free_device_caches", "out_of_memory_types", "STANDIN_VARIABLE", "NOT_INSTALLED", "STAGING_BYTES"]

#: Environment variable that swaps CuPy for the NumPy stand-in.
STANDIN_VARIABLE = "SIGCONV_GPU_STANDIN"
#: The reason ``sigconv backends`` gives when CuPy is missing.
NOT_INSTALLED = "CuPy is not installed: pip install 'sigconv[gpu]'"
#: Bytes per piece of a host-to-device copy through pinned memory.
STAGING_BYTES = 8 << 20
#: Arrays smaller than this go to the device directly (staging costs more than it saves).
_DIRECT_BYTES = 1 << 20


class GPUMemoryWarning(UserWarning):
    """The device ran out of memory and the job carries on with smaller blocks."""


class GPUOutOfMemoryError(BackendUnavailableError, MemoryError):
    """The device has not the memory for this job even after freeing CuPy's caches."""


def standin_requested() -> bool:
    """True when ``$SIGCONV_GPU_STANDIN`` asks for the NumPy stand-in (``1``, ``true``, ``yes``)."""
    return os.environ.get(STANDIN_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def load_cupy():
    """``(cupy, cupyx)``: CuPy's modules, or the stand-in's under ``$SIGCONV_GPU_STANDIN``.

    Raises
    ------
    ImportError
        CuPy is not installed (or fails to import).
    """
    if standin_requested():
        from . import cupy_standin

        return cupy_standin, cupy_standin.cupyx
    import cupy
    import cupyx
    import cupyx.scipy.fft  # noqa: F401 - a submodule, loaded for attribute access

    return cupy, cupyx


def out_of_memory_types(cp) -> tuple[type, ...]:
    return (cp.cuda.memory.OutOfMemoryError, GPUOutOfMemoryError)


def free_device_caches(cp) -> None:
    """Give CuPy's cached device blocks and cuFFT plans back to the device."""
    cp.get_default_memory_pool().free_all_blocks()
    try:
        cp.fft.config.get_plan_cache().clear()
    except AttributeError:  # older CuPy
        pass


class GPUOps(ArrayOps):
    """CuPy arrays and cuFFT transforms on the current CUDA device.

    Parameters
    ----------
    cp, cupyx : module
        CuPy and cupyx (or the stand-in's), from :func:`load_cupy`.

    Examples
    --------
    >>> from sigconv.backends.gpu import GPUBackend
    >>> ops = GPUBackend(standin=True).ops()
    >>> x = ops.to_device(np.arange(8.0))
    >>> np.allclose(ops.to_host(ops.irfft(ops.rfft(x), 8)), np.arange(8.0))
    True
    """

    name = "cupy"

    def __init__(self, cp, cupyx, threads: int = 1):
        super().__init__(threads)
        self.cp, self.cupyx = cp, cupyx
        self.fft = cupyx.scipy.fft
        self._staging: list = []
        self._events: list = []
        self._lock = threading.Lock()  # the staging buffers serve one copy at a time

    @property
    def xp(self):
        """The array module: ``cupy``."""
        return self.cp

    # -- moves -------------------------------------------------------------

    def _retry(self, action, *args, **kwargs):
        """``action(*args, **kwargs)``; when the device is out of memory, free CuPy's caches and try once more."""
        cp = self.cp
        try:
            return action(*args, **kwargs)
        except cp.cuda.memory.OutOfMemoryError:
            free_device_caches(cp)
        try:
            return action(*args, **kwargs)
        except cp.cuda.memory.OutOfMemoryError as exc:
            raise GPUOutOfMemoryError(
                f"the GPU has not the memory for this job ({exc}); use --backend fft, or shorter inputs"
            ) from exc

    def to_device(self, x):
        """A host array as a device array: small ones directly, others through pinned staging buffers."""
        if isinstance(x, self.cp.ndarray):
            raise TypeError("to_device() was given a device array")
        host = np.asarray(x)
        if host.nbytes < _DIRECT_BYTES:
            return self._retry(self.cp.asarray, host)
        host = np.ascontiguousarray(host)
        out = self._retry(self.cp.empty, host.shape, host.dtype)
        self._stage(host.reshape(-1), out.reshape(-1))
        return out

    def _stage(self, flat: np.ndarray, target) -> None:
        """Copy the 1-D host array ``flat`` into the contiguous device array ``target`` piece by piece.

        Two pinned buffers take turns: a piece is written into one while
        the device copies the other (each buffer's event says when its last
        copy is done), on a stream of its own.
        """
        cp = self.cp
        step = max(1, STAGING_BYTES // flat.itemsize)
        with self._lock:
            if not self._staging:
                self._staging = [self.cupyx.empty_pinned(STAGING_BYTES, np.uint8) for _ in range(2)]
                self._events = [None, None]
                self._stream = cp.cuda.Stream(non_blocking=False)
            for turn, start in enumerate(range(0, flat.shape[0], step)):
                piece = flat[start : start + step]
                slot = turn % 2
                if self._events[slot] is not None:
                    self._events[slot].synchronize()
                buffer = self._staging[slot][: piece.nbytes].view(flat.dtype)
                buffer[...] = piece
                target[start : start + piece.shape[0]].set(buffer, stream=self._stream)
                self._events[slot] = self._stream.record()
            self._stream.synchronize()  # the caller's next kernels (on the default stream) see the data

    def to_host(self, x) -> np.ndarray:
        """A device array as a host array: into page-locked memory for blocks of 1 to 64 MB, which copy at the
        bus's full speed (smaller ones are not worth a pinned allocation, larger ones would hold too much)."""
        if not isinstance(x, self.cp.ndarray):
            raise TypeError(f"to_host() was given {type(x).__name__}, not a device array")
        if _DIRECT_BYTES <= x.nbytes <= 64 << 20:
            out = self.cupyx.empty_pinned(x.shape, x.dtype)
            if x.flags.c_contiguous:
                return x.get(out=out)
            return self.cp.ascontiguousarray(x).get(out=out)
        return x.get()

    def empty(self, shape, dtype=np.float64):
        return self._retry(self.cp.empty, shape, dtype)

    def zeros(self, shape, dtype=np.float64):
        return self._retry(self.cp.zeros, shape, dtype)

    # -- transforms --------------------------------------------------------

    def next_fast_len(self, n: int) -> int:
        """The smallest length ``>= n`` that cuFFT transforms fast."""
        return int(self.fft.next_fast_len(int(n), real=True))

    def rfft(self, x, n: int | None = None, axis: int = -1, overwrite_x: bool = False):
        return self._retry(self.fft.rfft, x, n, axis=axis, overwrite_x=overwrite_x)

    def irfft(self, spectrum, n: int, axis: int = -1, norm: str | None = None):
        return self._retry(self.fft.irfft, spectrum, n, axis=axis, norm=norm)

    def with_threads(self, threads: int) -> GPUOps:
        return self  # the device runs its own threads
