"""Array operations: the seam between sigconv's numerics and the library that runs them.

Every compute path (the streaming engine, correlation, deconvolution,
impulse measurement) takes an :class:`ArrayOps` from its backend and
allocates, transforms and moves arrays only through it, in the spirit of
the array API standard's ``array_namespace(x)``:

* :attr:`ArrayOps.xp` is the array module (``numpy`` here, ``cupy`` for a
  GPU): arithmetic and allocation on the device go through it;
* :meth:`~ArrayOps.to_device` and :meth:`~ArrayOps.to_host` are the only
  moves between the host's NumPy arrays and the device's (no-ops here);
* :meth:`~ArrayOps.rfft`, :meth:`~ArrayOps.irfft` and
  :meth:`~ArrayOps.next_fast_len` are one-off real transforms, and
  :meth:`~ArrayOps.real_fft`, :meth:`~ArrayOps.in_place_fft` and
  :meth:`~ArrayOps.whole_transform` make plans with buffers that are reused
  block after block (:mod:`sigconv.compute.transforms`).

:class:`ArrayOps` itself is NumPy with scipy.fft (pocketfft);
:class:`sigconv.compute.fftw.FFTWOps` plans with FFTW, and
:class:`sigconv.testing.StrictOps` is a NumPy stand-in whose arrays refuse
implicit conversion to NumPy as CuPy's do, so that tests catch a missing
host transfer on machines without a GPU.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ArrayOps"]


class ArrayOps:
    """NumPy arrays and scipy.fft transforms, on the host.

    Parameters
    ----------
    threads : int, optional
        Threads per transform (scipy.fft's ``workers``); default 1.

    Examples
    --------
    >>> ops = ArrayOps()
    >>> x = ops.to_device(np.arange(8.0))
    >>> spectrum = ops.rfft(x)
    >>> np.allclose(ops.to_host(ops.irfft(spectrum, 8)), np.arange(8.0))
    True
    """

    #: Name of the transform library, as the planner's cost tables know it.
    name = "scipy"

    def __init__(self, threads: int = 1):
        self.threads = max(1, int(threads))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}, {self.threads} thread(s)>"

    def with_threads(self, threads: int) -> ArrayOps:
        """The same operations with ``threads`` threads per transform."""
        if int(threads) == self.threads:
            return self
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.threads = max(1, int(threads))
        return clone

    # -- arrays ------------------------------------------------------------

    @property
    def xp(self):
        """The array module: ``numpy``."""
        return np

    def to_device(self, x) -> np.ndarray:
        """A host array (or array-like) as an array of :attr:`xp`; here the array itself."""
        return np.asarray(x)

    def to_host(self, x) -> np.ndarray:
        """An array of :attr:`xp` as a NumPy array; here the array itself."""
        return np.asarray(x)

    def empty(self, shape, dtype=np.float64):
        """An uninitialised array on the device, laid out for the transforms."""
        return np.empty(shape, dtype=dtype)

    def zeros(self, shape, dtype=np.float64):
        """A zeroed array on the device, laid out for the transforms."""
        return np.zeros(shape, dtype=dtype)

    # -- one-off transforms -----------------------------------------------

    def next_fast_len(self, n: int) -> int:
        """The smallest length ``>= n`` that this library transforms fast (real input)."""
        from scipy import fft

        return fft.next_fast_len(int(n), real=True)

    def rfft(self, x, n: int | None = None, axis: int = -1, overwrite_x: bool = False):
        """Real-input FFT along ``axis`` (zero-padded or cut to ``n``)."""
        from scipy import fft

        return fft.rfft(x, n, axis=axis, workers=self.threads, overwrite_x=overwrite_x)

    def irfft(self, spectrum, n: int, axis: int = -1, norm: str | None = None):
        """Inverse of :meth:`rfft`, giving ``n`` real samples along ``axis``."""
        from scipy import fft

        return fft.irfft(spectrum, n, axis=axis, norm=norm, workers=self.threads)

    # -- plans -------------------------------------------------------------

    def real_fft(self, size: int, rows: int, dtype=np.float64):
        """A :class:`~sigconv.compute.transforms.RealFFT` of ``rows`` rows of ``size`` points."""
        from .transforms import RealFFT

        return RealFFT(self, size, rows, dtype)

    def in_place_fft(self, size: int, rows: int, dtype=np.float64):
        """An :class:`~sigconv.compute.transforms.InPlaceRealFFT`: signal and spectrum in one buffer."""
        from .transforms import InPlaceRealFFT

        return InPlaceRealFFT(self, size, rows, dtype)

    def whole_transform(self, size: int):
        """A :class:`~sigconv.compute.transforms.WholeTransform` for one long float64 signal."""
        from .transforms import WholeTransform

        return WholeTransform(self, size)
