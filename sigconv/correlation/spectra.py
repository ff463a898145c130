"""The engine behind :mod:`sigconv.correlation.delays`: weighted cross spectra by one FFT or block by block.

:class:`FrameWindow` gives forward-only access to a stream of blocks (an
array or a file being read), so the block-by-block form holds one block of
A and ``block + window - 1`` frames of B at a time. The weighting of the
cross spectrum (cc, PHAT, SCOT) and the mapping of circular lags back to
the search window are here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..compute.frames import FrameWindow, array_blocks
from ..errors import NoCorrelationPeakError

__all__ = ["constant_check", "plan_transform", "CurveMaker", "WholeTransform",
           "one_transform_spectra", "block_form_spectra"]

_FLOOR = 1e-9  # PHAT/SCOT denominators are at least this fraction of their largest value
_MIN_BLOCK = 1 << 16  # smallest block of A in the block-by-block form
_CHUNK = 1 << 20  # spectrum bins weighted at a time
_IN_PLACE_FROM = 1 << 22  # transform length from which pyFFTW transforms in place (saving memory)


def constant_check(values: np.ndarray, name: str, lo: float | None = None, hi: float | None = None) -> None:
    """Raise :class:`NoCorrelationPeakError` if a channel is silent or constant.

    A single nonzero sample (an impulse) is not constant. ``lo`` and
    ``hi`` may be given instead of ``values`` (the channel's minimum and
    maximum, and ``values`` its frame count).
    """
    if lo is None:
        lo, hi, frames = float(values.min()), float(values.max()), values.shape[0]
    else:
        frames = values
    if hi == lo and (lo == 0 or frames > 1):
        what = "silent (every sample is 0)" if lo == 0 else f"constant (every sample is {lo:g})"
        raise NoCorrelationPeakError(
            f"{name} is {what}, so there is no correlation peak to find; check that the right file and "
            "channel were given and that the recording is not empty"
        )


def _fast_len(n: int) -> int:
    from scipy import fft

    return fft.next_fast_len(int(n), real=True)


def plan_transform(na: int, nb: int, lo: int, hi: int, block: int | None):
    """``(size, block)``: one transform (block None) or block by block."""
    width = hi - lo + 1
    whole = _fast_len(max(na + hi, nb - lo, na, nb, width))
    length = block if block is not None else max(_MIN_BLOCK, 4 * width)
    if length >= na:
        return whole, None
    size = _fast_len(length + width - 1)
    if block is None:
        if size >= whole:
            return whole, None
        length = size - width + 1
    return size, length


class WholeTransform:
    """Real FFTs of one (long) length that hold no more than the spectrum itself.

    With pyFFTW, from 2^22 points on, the transforms run in place: :meth:`buffer` gives a real
    buffer whose memory becomes the spectrum after :meth:`forward`, and
    :meth:`inverse` turns a spectrum back into the signal in its own memory
    (destroying it). scipy.fft, the fallback, allocates a new array each
    way (and scratch space as long again).
    """

    def __init__(self, size: int):
        from ..compute.transforms import fft_library

        self.size, self.bins = size, size // 2 + 1
        # planning costs tens of milliseconds, and copies of a short transform cost little
        self.in_place = size >= _IN_PLACE_FROM and fft_library() == "pyfftw"

    def buffer(self) -> np.ndarray:
        """A zeroed real buffer; its first ``size`` samples are the signal to transform."""
        if not self.in_place:
            return np.zeros(self.size)
        from ..compute.transforms import import_pyfftw

        buffer = import_pyfftw().zeros_aligned(2 * self.bins, dtype=np.float64)
        return buffer

    def _run(self, source, target, direction):
        """Plan (FFTW_ESTIMATE) and execute the transform ``source -> target``.

        The plan is dropped at once: FFTW keeps scratch space as long as the
        transform with it, which would stay allocated otherwise.
        """
        from ..compute.transforms import import_pyfftw, fft_threads

        flags = ("FFTW_ESTIMATE",) if direction == "FFTW_FORWARD" else ("FFTW_ESTIMATE", "FFTW_DESTROY_INPUT")
        import_pyfftw().FFTW(source, target, direction=direction, flags=flags, threads=fft_threads()).execute()

    def forward(self, buffer: np.ndarray) -> np.ndarray:
        """The spectrum of ``buffer[:size]`` (in ``buffer``'s memory with pyFFTW)."""
        if not self.in_place:
            from scipy import fft

            return fft.rfft(buffer[: self.size], overwrite_x=True)
        spectrum = buffer.view(np.complex128)
        self._run(buffer[: self.size], spectrum, "FFTW_FORWARD")
        return spectrum

    def inverse(self, spectrum: np.ndarray) -> np.ndarray:
        """The real signal of ``spectrum`` (in its memory with pyFFTW, which destroys the spectrum)."""
        if not self.in_place:
            from scipy import fft

            return fft.irfft(spectrum, self.size)
        signal = spectrum.view(np.float64)[: self.size]
        self._run(spectrum, signal, "FFTW_BACKWARD")
        signal *= 1.0 / self.size
        return signal


class CurveMaker:
    """Weights a cross spectrum and turns it into correlation values over the window ``lo..hi``.

    In the block form the circular correlation already starts at lag
    ``lo``. For one transform of the whole signals (``rotate=True``) lag
    ``k`` sits at ``k mod size``; :meth:`values` first rotates the spectrum
    (a linear phase) so that lag ``lo`` comes first there too, so the window
    is a view of the inverse transform, not a copy. Either way the
    spectrum left behind is that of a sequence whose sample 0 is lag
    ``lo`` (``origin``).
    """

    def __init__(self, method, size, lo, hi, rotate=False, transform: WholeTransform | None = None):
        self.method, self.size, self.lo, self.hi, self.rotate = method, size, lo, hi, rotate
        self.origin = lo
        self.transform = transform

    def smooth(self, power: np.ndarray) -> np.ndarray:
        from scipy.ndimage import uniform_filter1d

        width = max(3, power.shape[-1] // 256) | 1
        return uniform_filter1d(power, width, axis=-1, mode="nearest")

    def weight(self, cross: np.ndarray, auto_a=None, auto_b=None, scale: float = 1.0) -> np.ndarray:
        """``cross`` weighted in place (and scaled by ``1/scale``)."""
        if self.method == "gcc-phat":  # in chunks: no temporary as long as the spectrum
            chunks = range(0, cross.shape[-1], _CHUNK)
            largest = max(float(np.abs(cross[i : i + _CHUNK]).max()) for i in chunks)
            floor = _FLOOR * largest if largest > 0 else 1.0
            for i in chunks:
                part = cross[i : i + _CHUNK]
                part /= np.maximum(np.abs(part), floor)
            denominator = None
        elif self.method == "scot":
            denominator = np.sqrt(self.smooth(auto_a) * self.smooth(auto_b))
        else:
            denominator = None
        if denominator is not None:
            floor = _FLOOR * float(denominator.max())
            np.maximum(denominator, floor if floor > 0 else 1.0, out=denominator)
            cross /= denominator
        if scale != 1.0:
            cross /= scale
        return cross

    def values(self, spectrum: np.ndarray, keep_spectrum: bool = True):
        """``(correlation at lags lo..hi, spectrum)``.

        The spectrum is rotated in place where needed; where the inverse
        transform destroys it, it is computed again from the correlation
        when ``keep_spectrum`` (for the band-limited refinement), else None.
        """
        if self.rotate and self.lo % self.size:
            shift = self.lo % self.size
            for i in range(0, spectrum.shape[-1], _CHUNK):
                q = np.arange(i, min(i + _CHUNK, spectrum.shape[-1]), dtype=np.int64)
                spectrum[i : i + q.size] *= np.exp(2j * np.pi * ((q * shift) % self.size) / self.size)
        width = self.hi - self.lo + 1
        if self.transform is None:
            from scipy import fft

            return fft.irfft(spectrum, self.size)[:width], spectrum
        if not self.transform.in_place:
            return self.transform.inverse(spectrum)[:width], spectrum
        circular = self.transform.inverse(spectrum)
        spectrum = None
        if keep_spectrum:
            copy = self.transform.buffer()
            copy[: self.size] = circular
            spectrum = self.transform.forward(copy)
        return circular[:width], spectrum


def _block_spectra(a: FrameWindow, b: FrameWindow, ref, lo, hi, size, length, method, progress, total, rate):
    """Cross spectra (and auto spectra for SCOT) summed over blocks of A."""
    from ..compute.transforms import RealFFT

    width = hi - lo + 1
    pairs = b.channels
    fft = RealFFT(size, 1 + pairs)
    bins = fft.bins
    cross = np.zeros((pairs, bins), dtype=np.complex128)
    auto_a = np.zeros(bins) if method == "scot" else None
    auto_b = np.zeros((pairs, bins)) if method == "scot" else None
    frame = fft.frame
    start = 0
    while a.has_frames_from(start):
        frame[0, :length] = a.take(start, start + length)[:, ref]
        frame[0, length:] = 0
        frame[1:, : length + width - 1] = b.take(start + lo, start + lo + length + width - 1).T
        frame[1:, length + width - 1 :] = 0
        spectra = fft.forward_frame()
        cross += spectra[0].conj() * spectra[1:]
        if auto_a is not None:
            auto_a += spectra[0].real ** 2 + spectra[0].imag ** 2
            auto_b += spectra[1:].real ** 2 + spectra[1:].imag ** 2
        start += length
        if progress:
            progress(min(start, a.end), total, rate)
    return cross, auto_a, auto_b


def _column_into(source, frames: int, column: int, out: np.ndarray, name: str) -> float:
    """Copy channel ``column`` of an array or a fresh :class:`FrameWindow` into ``out[:frames]``, zero the rest.

    Checks that the channel is not constant and returns its energy.
    """
    out[frames:] = 0
    if isinstance(source, np.ndarray):
        out[:frames] = source[:, column]
    else:
        source.read_column_into(out, column)
    part = out[:frames]
    constant_check(part, name)
    return float(np.dot(part, part))


def one_transform_spectra(a, b, na, nb, ref, transform: WholeTransform, method, names, progress, rate):
    """Weighting inputs for each channel pair, from one transform of the whole signals.

    Each signal is copied straight into the zero-padded transform buffer
    (a :class:`FrameWindow` streams into it). With pyFFTW the transforms
    run in place, so the peak memory is two spectra of ``8 * size`` bytes
    (the spectrum of A and that of one channel of B), plus B itself when it
    has several channels.
    """
    buffer = transform.buffer()
    energy_a = _column_into(a, na, ref, buffer[: transform.size], f"{names[0]} (channel {ref})")
    del a
    spectrum_a = transform.forward(buffer)
    del buffer
    auto_a = spectrum_a.real ** 2 + spectrum_a.imag ** 2 if method == "scot" else None
    np.conjugate(spectrum_a, out=spectrum_a)
    channels = b.shape[1] if isinstance(b, np.ndarray) else b.channels
    if channels > 1 and not isinstance(b, np.ndarray):
        b = b.take(0, nb)
    if channels > 1:
        for channel in range(channels):  # refuse a silent channel before the long work
            constant_check(b[:, channel], f"{names[1]} (channel {channel})")
    for channel in range(channels):
        buffer = transform.buffer()
        energy_b = _column_into(b, nb, channel, buffer[: transform.size], f"{names[1]} (channel {channel})")
        spectrum = transform.forward(buffer)
        del buffer
        auto_b = spectrum.real ** 2 + spectrum.imag ** 2 if method == "scot" else None
        spectrum *= spectrum_a
        if channel == channels - 1:
            del spectrum_a, b
        if progress:
            progress(na * (channel + 1) // channels, na, rate)
        yield spectrum, auto_a, auto_b, energy_a, energy_b
        del spectrum, auto_b  # the caller holds the only reference now


def block_form_spectra(a, b, na, nb, ref, lo, hi, size, length, method, normalize, names, progress, rate):
    """Weighting inputs for each channel pair, summed block by block."""
    if isinstance(a, np.ndarray):
        a = FrameWindow(array_blocks(a), a.shape[1])
    if isinstance(b, np.ndarray):
        b = FrameWindow(array_blocks(b), b.shape[1])
    cross, auto_a, auto_b = _block_spectra(a, b, ref, lo, hi, size, length, method, progress, na, rate)
    if normalize:
        b.drain()
    constant_check(a.frames, f"{names[0]} (channel {ref})", float(a.low[ref]), float(a.high[ref]))
    for channel in range(b.channels):
        constant_check(b.frames, f"{names[1]} (channel {channel})", float(b.low[channel]), float(b.high[channel]))
    for channel in range(b.channels):
        yield cross[channel], auto_a, None if auto_b is None else auto_b[channel], float(a.energy[ref]), float(
            b.energy[channel])
