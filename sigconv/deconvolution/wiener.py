"""Wiener's regularisation: the noise-to-signal ratio, from an assumed SNR or from spectra.

:func:`snr_regularisation` assumes white signal and white noise at a given
SNR; :func:`noise_regularisation` takes Welch estimates of the noise
(from a noise-only sample) and of the recording, accumulated block by block
by :class:`Welch` so that neither needs to fit in memory. Both compute
through an :class:`~sigconv.compute.ops.ArrayOps`: blocks enter with
``to_device``; the densities, a few thousand bins, leave with ``to_host``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidSignalError, UsageError

__all__ = ["DEFAULT_SNR_DB", "Welch", "noise_regularisation", "segment_length", "snr_regularisation"]

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
        from scipy.signal import get_window

        if segment < 2 or segment % 2:
            raise UsageError(f"a Welch segment must be an even number of samples, not {segment}")
        if ops is None:
            from ..compute.ops import ArrayOps

            ops = ArrayOps()
        self.ops = ops
        self.segment, self.channels = segment, channels
        self.step = segment // 2
        self._window_host = get_window("hann", segment)
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
    from scipy.signal import get_window

    xp = ops.xp
    n = 2 * (power.shape[0] - 1)
    window = get_window("hann", segment)  # a few thousand samples: on the host
    lags = scipy.fft.irfft(np.square(np.abs(scipy.fft.rfft(window, 2 * segment))), 2 * segment)[:segment]
    used = min(segment, n // 2)
    taper = ops.to_device((lags[:used] / lags[0])[:, None])
    autocorrelation = ops.irfft(power, n, axis=0)
    autocorrelation[used : n - used + 1] = 0.0
    autocorrelation[:used] *= taper
    autocorrelation[n - used + 1 :] *= taper[1:used][::-1]
    return xp.maximum(ops.rfft(autocorrelation, axis=0).real, 0.0)


def noise_regularisation(noise_psd: np.ndarray, recording_psd: np.ndarray, segment: int):
    """λ(f) = S_n(f) / S_x(f) from Welch spectra of the noise and of the recording.

    The recording holds ``|H|² S_x + S_n``, so the clean part is
    ``max(S_y - S_n, 0)`` and ``S_x`` is that over ``|H|²`` as Welch's
    window sees it (smoothed over its main lobe, so that a narrow null of
    the kernel is not taken for a loud signal behind it). Where the recording is no
    louder than the noise, ``S_x`` is 0 and λ is infinite: ``G = 0``, the
    band is given up rather than boosted.

    Parameters
    ----------
    noise_psd, recording_psd : numpy.ndarray
        ``(segment // 2 + 1, channels)`` host densities
        (:meth:`Welch.density`), on the same grid and scale.
    segment : int
        Their Welch segment length.
    """
    clean = np.maximum(recording_psd - noise_psd, 0.0)
    welch_freqs = np.arange(noise_psd.shape[0]) / segment

    def regularisation(ops, freqs, power, mean_power):
        xp = ops.xp
        kernel_power = _as_welch_sees(ops, power, segment)
        channels = max(power.shape[1], noise_psd.shape[1])
        grid = ops.to_device(welch_freqs)
        lam = ops.empty((freqs.shape[0], channels))
        for c in range(channels):
            sn = xp.interp(freqs, grid, ops.to_device(noise_psd[:, c % noise_psd.shape[1]]))
            clean_c = xp.interp(freqs, grid, ops.to_device(clean[:, c % clean.shape[1]]))
            sx = clean_c / xp.maximum(kernel_power[:, c % kernel_power.shape[1]], 1e-300)
            positive = sx > 0
            lam[:, c] = xp.where(positive, xp.minimum(sn / xp.where(positive, sx, 1.0), 1e300), 1e300)
        return lam

    return regularisation
