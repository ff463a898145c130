"""FFTW (through pyFFTW) as an :class:`~sigconv.compute.ops.ArrayOps`: planned transforms on aligned buffers.

Measured side by side on the 2-core development machine with
``python benchmarks/bench_fft.py`` (2026-11-25; forward + inverse real
transform of a 2-channel batch, medians):

===========  ==========  ==========  ==========  ==========
size, dtype  scipy.fft   numpy.fft   pyFFTW      ducc0
===========  ==========  ==========  ==========  ==========
2^16 f64     0.69 ms     1.46 ms     0.31 ms     0.78 ms
2^16 f32     0.82 ms     2.19 ms     0.24 ms     0.62 ms
2^19 f64     8.2 ms      8.4 ms      5.4 ms      7.7 ms
2^19 f32     8.5 ms      15.4 ms     3.0 ms      6.1 ms
===========  ==========  ==========  ==========  ==========

(best of 1 or 2 threads each). pyFFTW (FFTW 3, plans made with
FFTW_ESTIMATE) is 1.5-3.5x faster than scipy.fft's pocketfft, so it is a
dependency of sigconv and the ``fft`` backend uses it; scipy.fft is the
fallback where pyFFTW does not import. The environment variable
``SIGCONV_FFT=scipy`` forces the fallback (FFTW is GPL-licensed).

FFTW_MEASURE plans are faster still (2^19 points, float64, 2 rows, forward
+ inverse: 3.15 ms against 5.59 ms) but take about 12 s to make per size,
so they are never made during a run: ``sigconv tune``
(:func:`sigconv.backends.tuning.tune`) makes them once and stores FFTW's
wisdom in the cache folder, and later runs plan from that wisdom where it
covers their sizes (FFTW_WISDOM_ONLY), else with FFTW_ESTIMATE.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

from .ops import ArrayOps
from .transforms import InPlaceRealFFT, RealFFT, WholeTransform

__all__ = ["FFTWOps", "import_pyfftw", "pyfftw_available", "wisdom_folder", "wisdom_available", "load_wisdom",
           "make_plans", "WISDOM_FILES"]

#: The files FFTW's wisdom is kept in, one per precision.
WISDOM_FILES = ("fftw-wisdom-double.txt", "fftw-wisdom-single.txt", "fftw-wisdom-longdouble.txt")
# from this length on, a whole-signal transform runs in place: planning costs
# tens of milliseconds, and copies of a shorter transform cost little
_IN_PLACE_FROM = 1 << 22

_wisdom_lock = threading.Lock()
_wisdom_state: dict[str, bool] = {}  # folder -> whether wisdom was found and imported


def import_pyfftw():
    """Import pyFFTW without its ``interfaces`` subpackage.

    ``import pyfftw`` imports ``pyfftw.interfaces``, which imports scipy.fft
    (0.12 s of a 0.14 s import here) although sigconv only uses the FFTW
    class. A placeholder stands in for the subpackage during the import
    and is removed afterwards, so a later ``import pyfftw.interfaces``
    still loads the real one.
    """
    import sys
    import types

    if "pyfftw" in sys.modules:
        return sys.modules["pyfftw"]
    placeholder = "pyfftw.interfaces" not in sys.modules
    if placeholder:
        sys.modules["pyfftw.interfaces"] = types.ModuleType("pyfftw.interfaces")
    try:
        import pyfftw
    finally:
        if placeholder:
            sys.modules.pop("pyfftw.interfaces", None)
            if "pyfftw" in sys.modules and hasattr(sys.modules["pyfftw"], "interfaces"):
                with contextlib.suppress(AttributeError):
                    delattr(sys.modules["pyfftw"], "interfaces")
    return pyfftw


def pyfftw_available() -> bool:
    """True when pyFFTW imports and ``$SIGCONV_FFT`` does not ask for scipy."""
    if os.environ.get("SIGCONV_FFT", "").lower() == "scipy":
        return False
    try:
        import_pyfftw()
    except ImportError:
        return False
    return True


def wisdom_folder() -> str:
    """Where FFTW wisdom is kept: ``$SIGCONV_CACHE_DIR``, else ``$XDG_CACHE_HOME/sigconv`` or ``~/.cache/sigconv``."""
    configured = os.environ.get("SIGCONV_CACHE_DIR")
    if configured:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sigconv")


def load_wisdom(refresh: bool = False) -> bool:
    """Import the wisdom stored in :func:`wisdom_folder` into FFTW, once per folder; True if there was any.

    FFTW's wisdom is process-wide by FFTW's design; adding stored wisdom
    to it changes no result, only how fast plans are made.
    """
    folder = wisdom_folder()
    with _wisdom_lock:
        if not refresh and folder in _wisdom_state:
            return _wisdom_state[folder]
        paths = [os.path.join(folder, name) for name in WISDOM_FILES]
        found = all(os.path.exists(p) for p in paths)
        if found:
            parts = []
            for path in paths:
                with open(path, "rb") as f:
                    parts.append(f.read())
            import_pyfftw().import_wisdom(tuple(parts))
        _wisdom_state[folder] = found
        return found


def wisdom_available() -> bool:
    """True when pyFFTW is in use and FFTW wisdom from ``sigconv tune`` is there (it is loaded on the first call)."""
    return pyfftw_available() and load_wisdom()


def _plan_from_wisdom_or_estimate(make):
    """``(make(flags), "wisdom")`` where stored wisdom covers the problem, else ``(make(estimate), "estimate")``.

    Never measures: FFTW_WISDOM_ONLY fails (RuntimeError in pyFFTW) rather
    than measure a problem the wisdom does not hold.
    """
    if load_wisdom():
        try:
            return make(("FFTW_MEASURE", "FFTW_WISDOM_ONLY")), "wisdom"
        except RuntimeError:
            pass
    return make(("FFTW_ESTIMATE",)), "estimate"


def _plan(pyfftw, source, target, forward: bool, flags, threads):
    """The one FFTW plan builder: ``source`` to ``target`` along the last axis (inverse transforms may destroy their input)."""
    if forward:
        return pyfftw.FFTW(source, target, axes=(-1,), flags=flags, threads=threads)
    return pyfftw.FFTW(source, target, axes=(-1,), direction="FFTW_BACKWARD", flags=(*flags, "FFTW_DESTROY_INPUT"),
                       threads=threads)


def make_plans(pyfftw, size, rows, dtype, flags, threads):
    """Aligned buffers and forward/inverse FFTW plans for ``rows`` real rows of ``size`` points.

    Returns ``(real_in, spectrum, spectrum_in, real_out, forward, inverse)``.
    """
    complex_dtype = np.result_type(dtype, np.complex64)
    real_in = pyfftw.empty_aligned((rows, size), dtype=dtype)
    spectrum = pyfftw.empty_aligned((rows, size // 2 + 1), dtype=complex_dtype)
    spectrum_in = pyfftw.empty_aligned((rows, size // 2 + 1), dtype=complex_dtype)
    real_out = pyfftw.empty_aligned((rows, size), dtype=dtype)
    forward = _plan(pyfftw, real_in, spectrum, True, flags, threads)
    inverse = _plan(pyfftw, spectrum_in, real_out, False, flags, threads)
    return real_in, spectrum, spectrum_in, real_out, forward, inverse


class FFTWOps(ArrayOps):
    """NumPy arrays in FFTW-aligned memory, transformed by FFTW plans (pyFFTW).

    One-off transforms (:meth:`rfft`, :meth:`irfft`) go to scipy.fft, since
    an FFTW plan made for one call costs more than pocketfft's transform;
    the plans (:meth:`real_fft`, :meth:`in_place_fft`,
    :meth:`whole_transform`) are FFTW's.

    Examples
    --------
    >>> fft = FFTWOps(threads=1).real_fft(8, 1)
    >>> x = np.arange(8.0)[None, :]
    >>> bool(np.allclose(fft.forward(x), np.fft.rfft(x))), fft.planned_from in ("estimate", "wisdom")
    (True, True)
    """

    name = "pyfftw"

    def __init__(self, threads: int = 1):
        super().__init__(threads)
        self._pyfftw = import_pyfftw()

    def empty(self, shape, dtype=np.float64):
        return self._pyfftw.empty_aligned(shape, dtype=dtype)

    def zeros(self, shape, dtype=np.float64):
        return self._pyfftw.zeros_aligned(shape, dtype=dtype)

    def real_fft(self, size: int, rows: int, dtype=np.float64):
        return FFTWRealFFT(self, size, rows, dtype)

    def in_place_fft(self, size: int, rows: int, dtype=np.float64):
        return FFTWInPlaceRealFFT(self, size, rows, dtype)

    def whole_transform(self, size: int):
        return FFTWWholeTransform(self, size) if size >= _IN_PLACE_FROM else WholeTransform(self, size)


class FFTWRealFFT(RealFFT):
    """:class:`~sigconv.compute.transforms.RealFFT` by FFTW plans on its own aligned buffers (no allocation per call)."""

    def _allocate(self) -> None:
        pyfftw = self.ops._pyfftw
        plans, self.planned_from = _plan_from_wisdom_or_estimate(
            lambda flags: make_plans(pyfftw, self.size, self.channels, self.dtype, flags, self.threads))
        self.frame, self._spectrum_out, self.spectrum, self._real_out, self._forward, self._inverse = plans

    def forward_frame(self):
        self._forward()
        return self._spectrum_out

    def inverse_spectrum(self):
        self._inverse()
        return self._real_out


class FFTWInPlaceRealFFT(InPlaceRealFFT):
    """:class:`~sigconv.compute.transforms.InPlaceRealFFT` by FFTW plans (unnormalized, in place)."""

    def __init__(self, ops, size: int, rows: int, dtype=np.float64):
        super().__init__(ops, size, rows, dtype)
        (self._forward, self._inverse), self.planned_from = _plan_from_wisdom_or_estimate(self._plans)

    def _plans(self, flags):
        pyfftw = self.ops._pyfftw
        return (_plan(pyfftw, self.real, self.spectrum, True, flags, self.threads),
                _plan(pyfftw, self.spectrum, self.real, False, flags, self.threads))

    def forward(self) -> None:
        self._forward.execute()

    def inverse(self) -> None:
        self._inverse.execute()


class FFTWWholeTransform(WholeTransform):
    """A :class:`~sigconv.compute.transforms.WholeTransform` that transforms in place: peak memory one spectrum.

    :meth:`forward` returns the spectrum in the buffer's memory;
    :meth:`inverse` turns a spectrum into its signal in the spectrum's
    memory (destroying it).
    """

    in_place = True

    def buffer(self):
        return self.ops.zeros(2 * self.bins, np.float64)

    def _run(self, source, target, forward: bool):
        """Plan (FFTW_ESTIMATE) and execute the transform ``source -> target``.

        The plan is dropped at once: FFTW keeps scratch space as long as the
        transform with it, which would stay allocated otherwise.
        """
        _plan(self.ops._pyfftw, source, target, forward, ("FFTW_ESTIMATE",), self.ops.threads).execute()

    def forward(self, buffer):
        spectrum = buffer.view(np.complex128)
        self._run(buffer[: self.size], spectrum, True)
        return spectrum

    def inverse(self, spectrum):
        signal = spectrum.view(np.float64)[: self.size]
        self._run(spectrum, signal, False)
        signal *= 1.0 / self.size
        return signal
