"""The engine behind :mod:`sigconv.correlation.delays`: weighted cross spectra by one FFT or block by block.

Every array the transforms touch is allocated and transformed through the
backend's :class:`~sigconv.compute.ops.ArrayOps` (``ops``): host data (an
array, or the blocks a :class:`~sigconv.compute.frames.FrameWindow`
reads from a file) enters with ``ops.to_device`` where it is written into
a transform buffer, and :meth:`CurveMaker.values` hands the correlation
and its spectrum back with ``ops.to_host``, where the peak is found and
refined (:mod:`sigconv.correlation.peaks`). With NumPy ops both moves
are the arrays themselves, so the host path copies nothing more.

The block-by-block form holds one block of A and ``block + window - 1``
frames of B at a time. The weighting of the cross spectrum (cc, PHAT,
SCOT) and the mapping of circular lags back to the search window are here
too.
"""

from __future__ import annotations

import numpy as np

from ..compute.frames import FrameWindow, array_blocks
from ..errors import NoCorrelationPeakError

__all__ = ["constant_check", "correlation_ops", "plan_transform", "CurveMaker", "one_transform_spectra",
           "block_form_spectra", "window_rows_spectra"]

_FLOOR = 1e-9  # PHAT/SCOT denominators are at least this fraction of their largest value
_MIN_BLOCK = 1 << 16  # smallest block of A in the block-by-block form
_CHUNK = 1 << 20  # spectrum bins weighted at a time


def correlation_ops(backend: str, frames_a: int | None, frames_b: int, channels_b: int = 1, context=None):
    """The :class:`~sigconv.compute.ops.ArrayOps` of the backend that correlates these signals.

    Parameters
    ----------
    backend : str
        A backend name, or ``"auto"`` (the cheapest that runs ``correlate``).
    frames_a, frames_b : int
        Lengths of A (None when unknown: a stream) and of B.
    channels_b : int
        Channels of B (each is transformed against A's reference channel).
    context : ExecutionContext or int, optional
        Threads the transforms may use.

    Raises
    ------
    BackendUnavailableError
        Unknown or unavailable backend, or one that does not run ``correlate``.

    Examples
    --------
    >>> correlation_ops("fft", 1000, 1000, context=1).threads
    1
    """
    from ..backends.base import Workload
    from ..backends.planner import choose_backend
    from ..compute.context import resolve_context

    context = resolve_context(context)
    workload = Workload("correlate", frames_a, max(1, int(frames_b)), 1, channels_b, channels_b)
    chosen, _ = choose_backend(backend, workload, context)
    return chosen.ops(context)


def constant_check(values, name: str, lo: float | None = None, hi: float | None = None) -> None:
    """Raise :class:`NoCorrelationPeakError` if a channel is silent or constant.

    A single nonzero sample (an impulse) is not constant. ``values`` may be
    a host or a device array (only its extremes come to the host). ``lo``
    and ``hi`` may be given instead of ``values`` (the channel's minimum and
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


def plan_transform(ops, na: int, nb: int, lo: int, hi: int, block: int | None):
    """``(size, block)``: one transform of ``size`` points (block None), or blocks of A of ``block`` frames.

    ``ops`` says which transform lengths are fast
    (:meth:`~sigconv.compute.ops.ArrayOps.next_fast_len`).

    Examples
    --------
    >>> from sigconv.compute.ops import ArrayOps
    >>> plan_transform(ArrayOps(), 1000, 1000, -999, 999, None)
    (2000, None)
    >>> plan_transform(ArrayOps(), 10**6, 10**6, -100, 100, None)
    (67500, 67300)
    """
    width = hi - lo + 1
    whole = ops.next_fast_len(max(na + hi, nb - lo, na, nb, width))
    length = block if block is not None else max(_MIN_BLOCK, 4 * width)
    if length >= na:
        return whole, None
    size = ops.next_fast_len(length + width - 1)
    if block is None:
        if size >= whole:
            return whole, None
        length = size - width + 1
    return size, length


class CurveMaker:
    """Weights a cross spectrum and turns it into correlation values over the window ``lo..hi``.

    In the block form the circular correlation already starts at lag
    ``lo``. For one transform of the whole signals (``rotate=True``) lag
    ``k`` sits at ``k mod size``; :meth:`values` first rotates the spectrum
    (a linear phase) so that lag ``lo`` comes first there too, so the window
    is a view of the inverse transform, not a copy. Either way the
    spectrum left behind is that of a sequence whose sample 0 is lag
    ``lo`` (``origin``).

    Parameters
    ----------
    ops : ArrayOps
        Where the spectra live and what transforms them.
    method : str
        ``"gcc-phat"``, ``"scot"`` or ``"cc"``.
    size : int
        Transform length.
    lo, hi : int
        The lag window (inclusive).
    rotate : bool
        The spectrum is that of a whole-signal transform (lag ``k`` at ``k mod size``).
    transform : WholeTransform, optional
        The whole-signal transform the spectrum came from (it inverts it,
        in place where it can); default: ``ops.irfft``.
    """

    def __init__(self, ops, method, size, lo, hi, rotate=False, transform=None):
        self.ops = ops
        self.method, self.size, self.lo, self.hi, self.rotate = method, size, lo, hi, rotate
        self.origin = lo
        self.transform = transform

    def smooth(self, power):
        """``power`` averaged over ``size / 256`` bins, as a new array on the device.

        scipy.ndimage runs on the host, so the power spectrum goes there and
        back (the arrays themselves with NumPy ops).
        """
        from scipy.ndimage import uniform_filter1d

        host = self.ops.to_host(power)
        width = max(3, host.shape[-1] // 256) | 1
        return self.ops.to_device(uniform_filter1d(host, width, axis=-1, mode="nearest"))

    def weight(self, cross, auto_a=None, auto_b=None, scale: float = 1.0):
        """``cross`` weighted in place (and scaled by ``1/scale``)."""
        xp = self.ops.xp
        if self.method == "gcc-phat":  # in chunks: no temporary as long as the spectrum
            chunks = range(0, cross.shape[-1], _CHUNK)
            largest = max(float(xp.abs(cross[i : i + _CHUNK]).max()) for i in chunks)
            floor = _FLOOR * largest if largest > 0 else 1.0
            for i in chunks:
                part = cross[i : i + _CHUNK]
                part /= xp.maximum(xp.abs(part), floor)
            denominator = None
        elif self.method == "scot":
            denominator = xp.sqrt(self.smooth(auto_a) * self.smooth(auto_b))
        else:
            denominator = None
        if denominator is not None:
            floor = _FLOOR * float(denominator.max())
            xp.maximum(denominator, floor if floor > 0 else 1.0, out=denominator)
            cross /= denominator
        if scale != 1.0:
            cross /= scale
        return cross

    def phat_reference(self, cross):
        """The GCC-PHAT correlation over ``lo..hi`` of the (unweighted) cross spectrum ``cross``, on the host.

        None for ``gcc-phat`` itself, whose own correlation is the
        reference. ``cross`` is left as it is (a copy is weighted).
        """
        if self.method == "gcc-phat":
            return None
        if self.transform is not None and self.transform.in_place:
            copy = self.transform.buffer().view(np.complex128)
            copy[...] = cross
        else:
            copy = cross.copy()
        phat = CurveMaker(self.ops, "gcc-phat", self.size, self.lo, self.hi, self.rotate, self.transform)
        reference, _ = phat.values(phat.weight(copy), keep_spectrum=False)
        return reference

    def values(self, spectrum, keep_spectrum: bool = True):
        """``(correlation at lags lo..hi, spectrum)``, both on the host.

        The spectrum is rotated in place where needed; where the inverse
        transform destroys it, it is computed again from the correlation
        when ``keep_spectrum`` (for the band-limited refinement), else None.
        """
        ops = self.ops
        xp = ops.xp
        if self.rotate and self.lo % self.size:
            shift = self.lo % self.size
            for i in range(0, spectrum.shape[-1], _CHUNK):
                q = xp.arange(i, min(i + _CHUNK, spectrum.shape[-1]), dtype=np.int64)
                spectrum[i : i + q.size] *= xp.exp(2j * np.pi * ((q * shift) % self.size) / self.size)
        width = self.hi - self.lo + 1
        if self.transform is None:
            circular = ops.irfft(spectrum, self.size)
        elif not self.transform.in_place:
            circular = self.transform.inverse(spectrum)
        else:
            circular = self.transform.inverse(spectrum)
            spectrum = None
            if keep_spectrum:
                copy = self.transform.buffer()
                copy[: self.size] = circular
                spectrum = self.transform.forward(copy)
        return ops.to_host(circular[:width]), None if spectrum is None else ops.to_host(spectrum)


def _summed_spectra(ops, a: FrameWindow, ref: int, rows: int, size: int, length: int, method: str, fill_rows,
                    progress, done: int, total, rate: float):
    """Cross spectra of channel ``ref`` of A against ``rows`` rows, summed over blocks of A, on the device.

    Blocks of A are ``length`` frames, transforms ``size`` points;
    ``fill_rows(frame, start)`` writes the rows of B that go with the block
    of A starting at ``start`` (and zeros after them) into ``frame[1:]``.
    Returns ``(cross, auto_a, auto_b)``, the auto spectra for SCOT only.
    """
    fft = ops.real_fft(size, 1 + rows, np.float64)
    bins = fft.bins
    cross = ops.zeros((rows, bins), np.complex128)
    auto_a = ops.zeros(bins) if method == "scot" else None
    auto_b = ops.zeros((rows, bins)) if method == "scot" else None
    frame = fft.frame
    start = 0
    while a.has_frames_from(start):
        frame[0, :length] = ops.to_device(a.take(start, start + length)[:, ref])
        frame[0, length:] = 0
        fill_rows(frame, start)
        spectra = fft.forward_frame()
        cross += spectra[0].conj() * spectra[1:]
        if auto_a is not None:
            auto_a += spectra[0].real ** 2 + spectra[0].imag ** 2
            auto_b += spectra[1:].real ** 2 + spectra[1:].imag ** 2
        start += length
        if progress:
            progress(done + min(start, a.end), total, rate)
    return cross, auto_a, auto_b


def _block_spectra(ops, a: FrameWindow, b: FrameWindow, ref, lo, hi, size, length, method, progress, total, rate):
    """Cross spectra (and auto spectra for SCOT) of every channel of B over lags ``lo..hi``, summed over blocks of A."""
    span = length + (hi - lo + 1) - 1

    def fill_rows(frame, start):
        frame[1:, :span] = ops.to_device(b.take(start + lo, start + lo + span).T)
        frame[1:, span:] = 0

    return _summed_spectra(ops, a, ref, b.channels, size, length, method, fill_rows, progress, 0, total, rate)


def window_rows_spectra(ops, a: FrameWindow, rows, ref: int, width: int, size: int, length: int, method: str,
                        progress=None, done: int = 0, total: int | None = None, rate: float = 1.0):
    """Cross spectra of channel ``ref`` of A against *rows*, each its own stream and lag window, summed over blocks.

    Each row is ``(b, column, lo)``: channel ``column`` of the stream ``b``
    (a :class:`FrameWindow` of its own) over lags ``lo..lo + width - 1``.
    One pass over A serves every row, block by block as in the block form
    (blocks of A of ``length`` frames, transforms of ``size`` points).
    Returns device arrays ``(cross, auto_a, auto_b)``, one row of
    ``cross`` (and ``auto_b``, SCOT only) per row.
    """
    span = length + width - 1

    def fill_rows(frame, start):
        for r, (b, column, lo) in enumerate(rows):
            frame[1 + r, :span] = ops.to_device(b.take(start + lo, start + lo + span)[:, column])
        frame[1:, span:] = 0

    return _summed_spectra(ops, a, ref, len(rows), size, length, method, fill_rows, progress, done, total, rate)


class _ToDevice:
    """Writes host blocks into a device array (``target[key] = ops.to_device(block)``), for
    :meth:`FrameWindow.read_column_into`."""

    def __init__(self, target, ops):
        self.target, self.ops = target, ops

    def __setitem__(self, key, block):
        self.target[key] = self.ops.to_device(block)


def _column_into(ops, source, frames: int, column: int, out, name: str) -> float:
    """Copy channel ``column`` of an array or a fresh :class:`FrameWindow` into the device array ``out[:frames]``.

    Zeroes the rest, checks that the channel is not constant and returns its energy.
    """
    out[frames:] = 0
    if isinstance(source, np.ndarray):
        out[:frames] = ops.to_device(source[:, column])
    else:
        source.read_column_into(_ToDevice(out, ops), column)
    part = out[:frames]
    constant_check(part, name)
    return float(ops.xp.dot(part, part))


def one_transform_spectra(ops, a, b, na, nb, ref, transform, method, names, progress, rate):
    """Weighting inputs for each channel pair, from one transform of the whole signals.

    Each signal is copied straight into the zero-padded buffer of
    ``transform`` (``ops.whole_transform(size)``; a :class:`FrameWindow`
    streams into it block by block). With pyFFTW the transforms run in
    place, so the peak memory is two spectra of ``8 * size`` bytes (the
    spectrum of A and that of one channel of B), plus B itself when it has
    several channels. Yields device spectra and host energies.
    """
    buffer = transform.buffer()
    energy_a = _column_into(ops, a, na, ref, buffer[: transform.size], f"{names[0]} (channel {ref})")
    del a
    spectrum_a = transform.forward(buffer)
    del buffer
    auto_a = spectrum_a.real ** 2 + spectrum_a.imag ** 2 if method == "scot" else None
    ops.xp.conjugate(spectrum_a, out=spectrum_a)
    channels = b.shape[1] if isinstance(b, np.ndarray) else b.channels
    if channels > 1 and not isinstance(b, np.ndarray):
        b = b.take(0, nb)
    if channels > 1:
        for channel in range(channels):  # refuse a silent channel before the long work
            constant_check(b[:, channel], f"{names[1]} (channel {channel})")
    for channel in range(channels):
        buffer = transform.buffer()
        energy_b = _column_into(ops, b, nb, channel, buffer[: transform.size], f"{names[1]} (channel {channel})")
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


def block_form_spectra(ops, a, b, na, nb, ref, lo, hi, size, length, method, normalize, names, progress, rate):
    """Weighting inputs for each channel pair, summed block by block (device spectra, host energies)."""
    if isinstance(a, np.ndarray):
        a = FrameWindow(array_blocks(a), a.shape[1])
    if isinstance(b, np.ndarray):
        b = FrameWindow(array_blocks(b), b.shape[1])
    cross, auto_a, auto_b = _block_spectra(ops, a, b, ref, lo, hi, size, length, method, progress, na, rate)
    if normalize:
        b.drain()
    constant_check(a.frames, f"{names[0]} (channel {ref})", float(a.low[ref]), float(a.high[ref]))
    for channel in range(b.channels):
        constant_check(b.frames, f"{names[1]} (channel {channel})", float(b.low[channel]), float(b.high[channel]))
    for channel in range(b.channels):
        yield cross[channel], auto_a, None if auto_b is None else auto_b[channel], float(a.energy[ref]), float(
            b.energy[channel])
