"""Wiener's regularisation: the noise-to-signal ratio, from an assumed SNR or from spectra.

:func:`snr_regularisation` assumes white signal and white noise at a given
SNR; :class:`NoiseSpectra` takes Welch estimates of the noise
(from a noise-only sample) and of the recording, accumulated block by block
by :class:`Welch` so that neither needs to fit in memory. Both compute
through an :class:`~sigconv.compute.ops.ArrayOps`: blocks enter with
``to_device``; the densities, a few thousand bins, leave with ``to_host``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidSignalError, UsageError

__all__ = ["DEFAULT_SNR_DB", "DYNAMIC_RANGE_DB", "SIGNIFICANCE", "SMOOTHING_OCTAVES", "NoiseSpectra", "Welch", "band_average",
           "segment_length", "snr_regularisation"]

#: Default ``--snr``: the ratio of the recording's power to its noise's. 40 dB
#: is the lower end of what ordinary audio recordings achieve (a room's
#: background, a microphone preamp); erring low costs a little resolution
#: where the kernel is weak, erring high boosts noise there by the error.
DEFAULT_SNR_DB = 40.0
#: Welch segment length: 4096 samples resolve 11.7 Hz at 48 kHz, finer than
#: the spectral detail of most noise, and average many segments per minute.
SEGMENT = 4096
_MIN_SEGMENT = 256
# segments transformed per call: one call per segment is slow on any
# library (and far slower on a GPU), and all of them at once may not fit
_SEGMENTS_PER_CALL = 256
#: Width of the band over which both Welch spectra are averaged before the
#: noise is subtracted (1/6 octave): narrower than the spectral envelope of
#: speech or music, wide enough to average some hundred bins at high frequencies.
SMOOTHING_OCTAVES = 1.0 / 6.0
#: The recording counts as louder than the noise in a band only by more
#: than this many standard errors of the two estimates' difference: a
#: spectrum has thousands of bins, so 3 standard errors still pass a few
#: bands of pure noise (seen on a recorded hall at 22 kHz), and there the
#: kernel is weakest; 5 pass one bin in millions.
SIGNIFICANCE = 5.0
#: The noise is taken as at most this far below the recording's loudest band
#: (band-averaged densities): a Hann-windowed Welch estimate resolves no
#: more, and an inverse FIR of finite length (truncated at -70 dB) could not
#: use more; without it, bands where a recorded kernel's response is 100 dB
#: down (above 20 kHz) are boosted by as much and its truncation error spreads.
DYNAMIC_RANGE_DB = 100.0


def segment_length(noise_frames: int) -> int:
    """The Welch segment for a noise sample of ``noise_frames`` (the longest power of two up to 4096 that fits).

    Raises
    ------
    InvalidSignalError
        A noise sample shorter than 256 frames.

    Examples
    --------
    >>> segment_length(100_000), segment_length(1000)
    (4096, 512)
    """
    if noise_frames < _MIN_SEGMENT:
        raise InvalidSignalError(
            f"the noise sample has {noise_frames} frames; give at least {_MIN_SEGMENT} "
            "(a second or more estimates the noise spectrum well)"
        )
    return min(SEGMENT, 1 << (int(noise_frames).bit_length() - 1))


class Welch:
    """Welch's averaged periodogram, fed block by block.

    Hann window, 50 % overlap, no detrending, one-sided power spectral
    density (as ``scipy.signal.welch(x, fs, nperseg=segment,
    detrend=False)``). A signal shorter than one segment gives the
    periodogram of the signal zero-padded to it.

    Parameters
    ----------
    segment : int
        Segment length, even.
    channels : int
    ops : ArrayOps, optional
        Where the segments are transformed (default: NumPy and scipy.fft).

    Examples
    --------
    >>> welch = Welch(8, channels=1)
    >>> welch.add(np.ones((20, 1)))
    >>> welch.segments, welch.density(8.0).shape
    (4, (5, 1))
    """

    def __init__(self, segment: int, channels: int, ops=None):
        if segment < 2 or segment % 2:
            raise UsageError(f"a Welch segment must be an even number of samples, not {segment}")
        if ops is None:
            from ..compute.ops import ArrayOps

            ops = ArrayOps()
        self.ops = ops
        self.segment, self.channels = segment, channels
        self.step = segment // 2
        self._window_host = _hann(segment)
        self.window = ops.to_device(self._window_host[None, :, None])
        self._buffer = ops.zeros((0, channels))
        self._sum = ops.zeros((segment // 2 + 1, channels))
        self.segments = 0

    def _add_segments(self, framed) -> None:
        """Add the periodograms of ``(count, segment, channels)`` segments."""
        xp = self.ops.xp
        spectrum = self.ops.rfft(framed * self.window, axis=1)
        power = xp.square(spectrum.real)
        power += xp.square(spectrum.imag)
        self._sum += xp.sum(power, axis=0)
        self.segments += framed.shape[0]

    def add(self, block: np.ndarray) -> None:
        """Take ``(frames, channels)`` host samples."""
        xp = self.ops.xp
        data = xp.concatenate([self._buffer, self.ops.to_device(np.asarray(block, dtype=np.float64))])
        starts = max(0, (data.shape[0] - self.segment) // self.step + 1)
        # segments at even multiples of the step tile the data, and so do
        # those at odd multiples: two reshapes, no copy of overlapping samples
        for first, count in ((0, (starts + 1) // 2), (self.step, starts // 2)):
            for done in range(0, count, _SEGMENTS_PER_CALL):
                batch = min(_SEGMENTS_PER_CALL, count - done)
                begin = first + done * self.segment
                self._add_segments(data[begin : begin + batch * self.segment].reshape(
                    batch, self.segment, self.channels))
        self._buffer = data[starts * self.step :]

    def density(self, rate: float) -> np.ndarray:
        """``(segment // 2 + 1, channels)`` PSD in units²/Hz, on the host."""
        xp = self.ops.xp
        total, count = self._sum, self.segments
        if count == 0:  # shorter than a segment: one zero-padded periodogram
            padded = self.ops.zeros((1, self.segment, self.channels))
            padded[0, : self._buffer.shape[0]] = self._buffer
            spectrum = self.ops.rfft(padded * self.window, axis=1)[0]
            total, count = xp.square(spectrum.real) + xp.square(spectrum.imag), 1
        psd = self.ops.to_host(total) / (count * rate * np.sum(np.square(self._window_host)))
        psd[1:-1 if self.segment % 2 == 0 else None] *= 2  # one-sided: fold the negative frequencies
        return psd


def snr_regularisation(snr_db: float):
    """λ for white signal and noise at ``snr_db``: ``sum(h**2) * 10**(-snr_db / 10)``.

    The SNR is that of the recording (the clean ``x ⊗ h`` against the
    noise), so λ scales with the kernel's power gain ``sum(h**2)``: with a
    white signal of power ``σx²``, the recording's power is
    ``σx² sum(h**2)`` and the noise's ``σn² = σx² sum(h**2) / SNR``, and
    Wiener's ``λ = σn² / σx²``.

    Examples
    --------
    >>> from sigconv.compute.ops import ArrayOps
    >>> lam = snr_regularisation(20.0)
    >>> float(lam(ArrayOps(), np.zeros(1), np.ones((1, 1)), np.array([4.0]))[0])
    0.04
    """
    ratio = 10.0 ** (-snr_db / 10.0)

    def regularisation(ops, freqs, power, mean_power):
        return ratio * mean_power

    return regularisation


def _as_welch_sees(ops, power, segment: int):
    """``power`` (``|H|²`` on an rfft grid) smoothed as a Welch estimate with Hann ``segment`` sees it.

    Welch's expected value for white noise through ``H`` is ``|H|²``
    convolved with the window's power spectrum: in the lag domain, the
    kernel's autocorrelation times the window's (normalised to 1 at lag 0),
    which is 0 beyond ``segment`` lags.
    """
    import scipy.fft

    xp = ops.xp
    n = 2 * (power.shape[0] - 1)
    window = _hann(segment)  # a few thousand samples: on the host
    lags = scipy.fft.irfft(np.square(np.abs(scipy.fft.rfft(window, 2 * segment))), 2 * segment)[:segment]
    used = min(segment, n // 2)
    taper = ops.to_device(lags[:used] / lags[0])
    seen = xp.empty(power.shape, dtype=xp.float64)
    for c in range(power.shape[1]):  # one column at a time: the grids run to millions of bins
        autocorrelation = ops.irfft(power[:, c], n)
        autocorrelation[used : n - used + 1] = 0.0
        autocorrelation[:used] *= taper
        autocorrelation[n - used + 1 :] *= taper[1:used][::-1]
        seen[:, c] = ops.rfft(autocorrelation).real
        del autocorrelation
    return xp.maximum(seen, 0.0, out=seen)


def _hann(size: int) -> np.ndarray:
    """``scipy.signal.get_window("hann", size)`` (periodic), by scipy's own expressions.

    Without importing scipy.signal, which costs 40 MB of resident memory.
    """
    fac = np.linspace(-np.pi, np.pi, size + 1)  # the symmetric window one longer, its last sample dropped
    w = np.zeros(size + 1)
    for k, a in enumerate((0.5, 0.5)):
        w += a * np.cos(k * fac)
    return w[:-1]


def _band_edges(bins: int, half_width_octaves: float):
    """For each bin ``k``: the first and last bin within ``half_width_octaves`` of it (at least its neighbours)."""
    k = np.arange(bins)
    ratio = 2.0 ** half_width_octaves
    lo = np.minimum(np.floor(k / ratio).astype(int), k - 1).clip(0, bins - 1)
    hi = np.maximum(np.ceil(k * ratio).astype(int), k + 1).clip(0, bins - 1)
    return lo, hi


def band_average(psd: np.ndarray, half_width_octaves: float = SMOOTHING_OCTAVES / 2):
    """``psd`` (host, ``(bins, channels)``) averaged over a fractional-octave band around each bin.

    Returns
    -------
    average : numpy.ndarray
        Same shape as ``psd``.
    counts : numpy.ndarray
        ``(bins,)`` bins in each band.

    Examples
    --------
    >>> average, counts = band_average(np.arange(6.0)[:, None], 0.5)
    >>> [average.ravel().tolist(), counts.tolist()]
    [[0.5, 1.0, 2.0, 3.5, 3.5, 4.0], [2, 3, 3, 4, 4, 3]]
    """
    lo, hi = _band_edges(psd.shape[0], half_width_octaves)
    total = np.concatenate([np.zeros((1, psd.shape[1])), np.cumsum(psd, axis=0)])
    counts = hi - lo + 1
    return (total[hi + 1] - total[lo]) / counts[:, None], counts


@dataclass(frozen=True)
class NoiseSpectra:
    """Welch spectra of a noise-only sample and of the recording, and what Wiener's filter takes from them.

    Both densities are on one grid and one scale (:meth:`Welch.density`
    with the same rate and segment). Each estimate wanders around its mean
    by about ``1 / sqrt(segments)``, so the recording's clean part
    ``S_y - S_n`` is trusted only where the recording is louder than the
    noise by more than :data:`SIGNIFICANCE` times the combined standard
    error, after averaging both over :data:`SMOOTHING_OCTAVES`; elsewhere
    the band is given up (``G = 0``) rather than boosted; and the noise is
    taken as no more than :data:`DYNAMIC_RANGE_DB` below the recording's
    loudest band. Without that
    test, the estimation noise of a band where the recording holds
    nothing but noise, divided by a weak kernel response, reads as a loud
    signal behind the kernel (the cause of ``--noise`` doing worse than
    any ``--snr`` on a recorded IR whose response falls 100 dB above 20 kHz).

    Attributes
    ----------
    noise, recording : numpy.ndarray
        ``(segment // 2 + 1, channels)`` host densities.
    segment : int
        Their Welch segment length.
    noise_segments, recording_segments : int
        Segments averaged into each (at least 1).
    """

    noise: np.ndarray
    recording: np.ndarray
    segment: int
    noise_segments: int
    recording_segments: int

    @classmethod
    def from_welch(cls, noise: Welch, recording: Welch) -> NoiseSpectra:
        """The spectra of two accumulated :class:`Welch` estimates (same segment)."""
        return cls(noise.density(1.0), recording.density(1.0), noise.segment, max(noise.segments, 1),
                   max(recording.segments, 1))

    def smoothed(self) -> tuple[np.ndarray, np.ndarray]:
        """The band-averaged noise density and the clean part of the recording (0 where not significant)."""
        noise, counts = band_average(self.noise)
        recording, _ = band_average(self.recording)
        noise = np.maximum(noise, np.max(recording, axis=0) * 10.0 ** (-DYNAMIC_RANGE_DB / 10))
        # relative standard error of a band average: Hann's 1.5-bin noise bandwidth, 50 % overlap (+6 %)
        error = np.sqrt(1.5 * 1.06 / counts * (1.0 / self.noise_segments + 1.0 / self.recording_segments))
        clean = recording - noise * (1.0 + SIGNIFICANCE * error[:, None])
        return noise, np.maximum(clean, 0.0)

    def band_snr(self, rate: float | None) -> list[dict]:
        """The recording's SNR per octave band that the filter assumes, for each channel.

        Returns
        -------
        list of dict
            One per octave band below Nyquist (centres 31.25 Hz · 2^k, or
            1/1536 cycles per sample · 2^k without a rate): ``centre_hz``
            and ``snr_db``, a list with one value per channel (None where
            the band is given up: no signal above the noise).
        """
        noise, clean = self.smoothed()
        scale = rate or 1.0
        freqs = np.arange(noise.shape[0]) / self.segment * scale
        rows = []
        centre = 31.25 if rate else 31.25 / 48000
        while centre * np.sqrt(2) <= scale / 2 * 1.0001:
            inside = (freqs >= centre / np.sqrt(2)) & (freqs < centre * np.sqrt(2))
            if inside.any():
                n, c = noise[inside].sum(axis=0), clean[inside].sum(axis=0)
                rows.append({"centre_hz": float(centre),
                             "snr_db": [round(float(10 * np.log10(ci / ni)), 1) if ci > 0 and ni > 0 else None
                                        for ci, ni in zip(c, n)]})
            centre *= 2
        return rows

    def regularisation(self):
        """λ(f) = S_n(f) / S_x(f) for :func:`sigconv.deconvolution.inverse.design_inverse`.

        The recording holds ``|H|² S_x + S_n``, so ``S_x`` is its clean
        part over ``|H|²`` as Welch's window sees it (smoothed over its
        main lobe, and then over the same fractional-octave band, so that a
        narrow null of the kernel is not taken for a loud signal behind
        it). Where the clean part is 0, λ is infinite: ``G = 0``.
        """
        noise, clean = self.smoothed()
        segment = self.segment
        welch_freqs = np.arange(noise.shape[0]) / segment

        def regularisation(ops, freqs, power, mean_power):
            xp = ops.xp
            kernel_power = _as_welch_sees(ops, power, segment)
            fine = 2 * (power.shape[0] - 1)
            grid = ops.to_device(welch_freqs)
            coarse = ops.empty((welch_freqs.shape[0], kernel_power.shape[1]))
            bin_freqs = ops.to_device(np.arange(power.shape[0]) / fine)
            for c in range(kernel_power.shape[1]):
                coarse[:, c] = xp.interp(grid, bin_freqs, kernel_power[:, c])
            del kernel_power, bin_freqs  # grids of the fine bins: gone before λ's are made
            kernel_band, _ = band_average(ops.to_host(coarse))
            channels = max(power.shape[1], noise.shape[1], clean.shape[1])
            signal = np.stack([clean[:, c % clean.shape[1]] / np.maximum(kernel_band[:, c % kernel_band.shape[1]],
                                                                          1e-300) for c in range(channels)], axis=1)
            lam = ops.empty((freqs.shape[0], channels))
            for c in range(channels):
                # S_n / S_x, at most 1e300, and 1e300 where S_x is 0: in place, the grids are long
                sn = xp.interp(freqs, grid, ops.to_device(noise[:, c % noise.shape[1]]))
                sx = xp.interp(freqs, grid, ops.to_device(signal[:, c % signal.shape[1]]))
                silent = ~(sx > 0)
                sx[silent] = 1.0
                xp.divide(sn, sx, out=sn)
                del sx
                xp.minimum(sn, 1e300, out=sn)
                sn[silent] = 1e300
                lam[:, c] = sn
                del sn, silent
            return lam

        return regularisation
