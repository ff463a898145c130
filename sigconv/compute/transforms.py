"""Real FFTs of a fixed size on ``(channels, size)`` batches, with plans reused across blocks.

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
FFTW_ESTIMATE, two threads) is 1.5-3.5x faster than scipy.fft's pocketfft,
so it is used when installed (``pip install 'sigconv[fast]'``); scipy.fft
is the fallback. Setting the environment variable ``SIGCONV_FFT=scipy``
forces the fallback.

FFTW_MEASURE plans are faster still (2^19 points, float64, 2 rows, forward
+ inverse: 3.15 ms against 5.59 ms) but take about 12 s to make per size,
so they are never made during a run: ``sigconv tune`` (:func:`tune`) makes
them once and stores FFTW's wisdom in the cache folder, and later runs
plan from that wisdom where it covers their sizes (FFTW_WISDOM_ONLY), else
with FFTW_ESTIMATE.
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache

import numpy as np

__all__ = ["RealFFT", "InPlaceRealFFT", "fft_library", "fft_threads", "import_pyfftw", "tune", "wisdom_folder", "wisdom_available",
           "TUNED_CHANNELS"]

#: Row counts (channels per transform batch) that :func:`tune` plans for.
TUNED_CHANNELS = (1, 2)
_WISDOM_FILES = ("fftw-wisdom-double.txt", "fftw-wisdom-single.txt", "fftw-wisdom-longdouble.txt")


def fft_threads() -> int:
    """Threads per transform: ``$SIGCONV_FFT_THREADS``, else the CPU count (at most 8)."""
    configured = os.environ.get("SIGCONV_FFT_THREADS")
    if configured:
        return max(1, int(configured))
    return max(1, min(os.cpu_count() or 1, 8))


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


def wisdom_folder() -> str:
    """Where FFTW wisdom is kept: ``$SIGCONV_CACHE_DIR``, else ``$XDG_CACHE_HOME/sigconv`` or ``~/.cache/sigconv``."""
    configured = os.environ.get("SIGCONV_CACHE_DIR")
    if configured:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sigconv")


@lru_cache(maxsize=1)
def _wisdom_loaded() -> bool:
    """Import the stored wisdom into FFTW once per process; True if there was any."""
    folder = wisdom_folder()
    paths = [os.path.join(folder, name) for name in _WISDOM_FILES]
    if not all(os.path.exists(p) for p in paths):
        return False
    parts = []
    for path in paths:
        with open(path, "rb") as f:
            parts.append(f.read())
    import_pyfftw().import_wisdom(tuple(parts))
    return True


def wisdom_available() -> bool:
    """True when FFTW wisdom from ``sigconv tune`` is in use (it is loaded into FFTW on the first call)."""
    return fft_library() == "pyfftw" and _wisdom_loaded()


def tune(max_size: int = 1 << 20, dtypes=(np.float64, np.float32), channels=TUNED_CHANNELS,
         progress=None) -> str:
    """Measure FFTW plans for the engine's transform sizes and store the wisdom.

    Plans every power-of-two size from 2^6 to ``max_size`` (forward and
    inverse, for each dtype and row count, and single rows on one thread as
    the engine's parallel lanes use them) with FFTW_MEASURE and writes
    FFTW's wisdom to :func:`wisdom_folder`, from which later runs plan
    without measuring. Then it times the engine's hops at every transform
    length the planner may choose (:func:`sigconv.backends.calibration.fast_sizes`
    from 2^12 to ``max_size``, with the new plans where there are any) and
    stores the costs beside the wisdom for the planner. Takes minutes; run it once per
    machine.

    Parameters
    ----------
    max_size : int
        Largest transform length to plan.
    dtypes : sequence of numpy dtypes
    channels : sequence of int
        Rows per transform batch.
    progress : callable, optional
        Called as ``progress(done, total, description)``.

    Returns
    -------
    str
        The folder the wisdom was written to.

    Raises
    ------
    RuntimeError
        pyFFTW is not installed.
    """
    if fft_library() != "pyfftw":
        raise RuntimeError("sigconv tune needs pyFFTW: pip install 'sigconv[fast]'")
    pyfftw = import_pyfftw()
    _wisdom_loaded()  # extend what is there
    sizes = [1 << k for k in range(6, max(6, int(max_size).bit_length() - 1) + 1)]
    # the row counts on all threads, and one row on one thread: the plan of
    # each lane of :class:`sigconv.compute.engine.ChannelLanes`
    shapes = sorted({(rows, fft_threads()) for rows in channels} | {(1, 1)})
    jobs = [(size, np.dtype(dt), rows, threads) for dt in dtypes for rows, threads in shapes for size in sizes]
    from ..backends.calibration import fast_sizes, measure_hop_table, save_tuned_costs

    # every length the planner may pick, priced on this machine afterwards:
    # the tuned powers of two and the others, which still plan with FFTW_ESTIMATE
    costed = fast_sizes(1 << 12, max_size)
    total = len(jobs) + len(costed) * len(dtypes)
    for done, (size, dtype, rows, threads) in enumerate(jobs):
        if progress:
            progress(done, total, f"{np.dtype(dtype).name} {rows}x{size}, {threads} thread(s)")
        _make_plans(pyfftw, size, rows, dtype, ("FFTW_MEASURE",), threads)
    folder = wisdom_folder()
    os.makedirs(folder, exist_ok=True)
    for name, part in zip(_WISDOM_FILES, pyfftw.export_wisdom()):
        tmp = os.path.join(folder, f".{name}.part")
        with open(tmp, "wb") as f:
            f.write(part)
        os.replace(tmp, os.path.join(folder, name))
    _wisdom_loaded.cache_clear()  # plans made from here on use the new wisdom
    costs = {}
    for index, dt in enumerate(dtypes):
        offset = len(jobs) + index * len(costed)
        report = progress and (lambda done, _total, text, offset=offset: progress(offset + done, total, text))
        costs[np.dtype(dt).name] = measure_hop_table(costed, dt, progress=report)
    save_tuned_costs(costs)
    if progress:
        progress(total, total, "done")
    return folder


def _plan_from_wisdom_or_estimate(make):
    """``(make(flags), "wisdom")`` where stored wisdom covers the problem, else ``(make(estimate), "estimate")``.

    Never measures: FFTW_WISDOM_ONLY fails (RuntimeError in pyFFTW) rather
    than measure a problem the wisdom does not hold.
    """
    if _wisdom_loaded():
        try:
            return make(("FFTW_MEASURE", "FFTW_WISDOM_ONLY")), "wisdom"
        except RuntimeError:
            pass
    return make(("FFTW_ESTIMATE",)), "estimate"


def _make_plans(pyfftw, size, channels, dtype, flags, threads=None):
    threads = fft_threads() if threads is None else threads
    complex_dtype = np.result_type(dtype, np.complex64)
    real_in = pyfftw.empty_aligned((channels, size), dtype=dtype)
    spectrum = pyfftw.empty_aligned((channels, size // 2 + 1), dtype=complex_dtype)
    spectrum_in = pyfftw.empty_aligned((channels, size // 2 + 1), dtype=complex_dtype)
    real_out = pyfftw.empty_aligned((channels, size), dtype=dtype)
    forward = pyfftw.FFTW(real_in, spectrum, axes=(1,), flags=flags, threads=threads)
    inverse = pyfftw.FFTW(spectrum_in, real_out, axes=(1,), direction="FFTW_BACKWARD",
                          flags=(*flags, "FFTW_DESTROY_INPUT"), threads=threads)
    return real_in, spectrum, spectrum_in, real_out, forward, inverse


@lru_cache(maxsize=1)
def fft_library() -> str:
    """``"pyfftw"`` when it is installed and not disabled, else ``"scipy"``."""
    if os.environ.get("SIGCONV_FFT", "").lower() == "scipy":
        return "scipy"
    try:
        import_pyfftw()
    except ImportError:
        return "scipy"
    return "pyfftw"


class RealFFT:
    """Forward and inverse real FFT of length ``size`` over ``channels`` rows.

    The arrays returned by :meth:`forward` and :meth:`inverse` are internal
    buffers, overwritten by the next call: copy what must outlive it.

    Parameters
    ----------
    size : int
        Transform length.
    channels : int
        Rows transformed per call.
    dtype : numpy dtype
        ``float64`` or ``float32`` (spectra are complex128 or complex64).
    threads : int, optional
        Threads per transform; default :func:`fft_threads`.

    Examples
    --------
    >>> fft = RealFFT(8, 1, np.float64)
    >>> x = np.arange(8.0)[None, :]
    >>> np.allclose(fft.inverse(fft.forward(x).copy()), x)
    True
    """

    def __init__(self, size: int, channels: int, dtype=np.float64, threads: int | None = None):
        self.size = int(size)
        self.threads = fft_threads() if threads is None else max(1, int(threads))
        self.channels = int(channels)
        self.dtype = np.dtype(dtype)
        self.complex_dtype = np.result_type(self.dtype, np.complex64)
        self.bins = self.size // 2 + 1
        self.library = fft_library()
        if self.library == "pyfftw":
            self._plan_fftw()

    def _plan_fftw(self) -> None:
        pyfftw = import_pyfftw()
        plans, self.planned_from = _plan_from_wisdom_or_estimate(
            lambda flags: _make_plans(pyfftw, self.size, self.channels, self.dtype, flags, self.threads))
        self._real_in, self._spectrum, self._spectrum_in, self._real_out, self._forward, self._inverse = plans

    @property
    def frame(self) -> np.ndarray:
        """A ``(channels, size)`` buffer that :meth:`forward_frame` transforms in place of a copy."""
        if self.library == "pyfftw":
            return self._real_in
        if not hasattr(self, "_frame"):
            self._frame = np.zeros((self.channels, self.size), dtype=self.dtype)
        return self._frame

    def forward_frame(self) -> np.ndarray:
        """Spectrum of each row of :attr:`frame` (no copy of the input)."""
        if self.library == "pyfftw":
            self._forward()
            return self._spectrum
        from scipy import fft

        return fft.rfft(self._frame, axis=1, workers=self.threads)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Spectrum of each row of ``x`` (shorter rows are zero-padded); overwrites :attr:`frame`."""
        frame, width = self.frame, x.shape[1]
        frame[:, :width] = x
        frame[:, width:] = 0
        return self.forward_frame()

    @property
    def spectrum(self) -> np.ndarray:
        """A ``(channels, bins)`` buffer that :meth:`inverse_spectrum` transforms without a copy."""
        if self.library == "pyfftw":
            return self._spectrum_in
        if not hasattr(self, "_spectrum_buffer"):
            self._spectrum_buffer = np.zeros((self.channels, self.bins), dtype=self.complex_dtype)
        return self._spectrum_buffer

    def inverse_spectrum(self) -> np.ndarray:
        """Real signal of each row of :attr:`spectrum` (which may be overwritten)."""
        if self.library == "pyfftw":
            self._inverse()
            return self._real_out
        from scipy import fft

        return fft.irfft(self._spectrum_buffer, self.size, axis=1, workers=self.threads)

    def inverse(self, spectrum: np.ndarray) -> np.ndarray:
        """Real signal of each row of ``spectrum`` (length ``size``)."""
        self.spectrum[:] = spectrum
        return self.inverse_spectrum()


class InPlaceRealFFT:
    """Forward and inverse real FFT of ``(channels, size)`` rows in one buffer, without normalization.

    :attr:`real` and :attr:`spectrum` are two views of the same memory:
    :meth:`forward` turns the rows of :attr:`real` into their spectra in
    :attr:`spectrum`, :meth:`inverse` turns :attr:`spectrum` back into
    ``size`` times the signal in :attr:`real` (fold ``1 / size`` into
    whatever multiplies the spectrum). One buffer instead of four (input,
    spectrum, product, output) halves the memory a hop streams through:
    two channels of 409,600-point overlap-save in parallel lanes ran in
    0.24 s instead of 0.39 s (10 min of stereo, float64, 2 cores), where
    the separate buffers no longer fit the shared cache together.

    Parameters
    ----------
    size, channels, dtype, threads
        As for :class:`RealFFT`.

    Examples
    --------
    >>> fft = InPlaceRealFFT(8, 1, np.float64)
    >>> fft.real[:] = np.arange(8.0)
    >>> fft.forward()
    >>> np.allclose(fft.spectrum, np.fft.rfft(np.arange(8.0)))
    True
    >>> fft.inverse()
    >>> np.allclose(fft.real / 8, np.arange(8.0))
    True
    """

    def __init__(self, size: int, channels: int, dtype=np.float64, threads: int | None = None):
        self.size, self.channels = int(size), int(channels)
        self.dtype = np.dtype(dtype)
        self.complex_dtype = np.result_type(self.dtype, np.complex64)
        self.bins = self.size // 2 + 1
        self.threads = fft_threads() if threads is None else max(1, int(threads))
        self.library = fft_library()
        if self.library == "pyfftw":
            pyfftw = import_pyfftw()
            self._buffer = pyfftw.empty_aligned((self.channels, 2 * self.bins), dtype=self.dtype)
        else:
            self._buffer = np.empty((self.channels, 2 * self.bins), dtype=self.dtype)
        self._buffer[:] = 0
        self.real = self._buffer[:, : self.size]
        self.spectrum = self._buffer.view(self.complex_dtype)
        if self.library == "pyfftw":
            (self._forward, self._inverse), self.planned_from = _plan_from_wisdom_or_estimate(
                lambda flags: self._plans(pyfftw, flags))

    def _plans(self, pyfftw, flags):
        forward = pyfftw.FFTW(self.real, self.spectrum, axes=(1,), flags=flags, threads=self.threads)
        inverse = pyfftw.FFTW(self.spectrum, self.real, axes=(1,), direction="FFTW_BACKWARD",
                              flags=(*flags, "FFTW_DESTROY_INPUT"), threads=self.threads)
        return forward, inverse

    def forward(self) -> None:
        """Replace the rows of :attr:`real` by their spectra (in :attr:`spectrum`)."""
        if self.library == "pyfftw":
            self._forward.execute()
            return
        from scipy import fft

        self.spectrum[:] = fft.rfft(self.real, axis=1, workers=self.threads)

    def inverse(self) -> None:
        """Replace :attr:`spectrum` by ``size`` times its inverse transform (in :attr:`real`)."""
        if self.library == "pyfftw":
            self._inverse.execute()
            return
        from scipy import fft

        self.real[:] = fft.irfft(self.spectrum, self.size, axis=1, norm="forward", workers=self.threads)
