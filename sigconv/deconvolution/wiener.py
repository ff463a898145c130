"""Wiener's regularisation: the noise-to-signal ratio, from an assumed SNR or from spectra.

:func:`snr_regularisation` assumes white signal and white noise at a given
SNR; :func:`noise_regularisation` takes Welch estimates of the noise
(from a noise-only sample) and of the recording, accumulated block by block
by :class:`Welch` so that neither needs to fit in memory.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidSignalError

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

    Examples
    --------
    >>> welch = Welch(8, channels=1)
    >>> welch.add(np.ones((20, 1)))
    >>> welch.segments, welch.density(8.0).shape
    (4, (5, 1))
    """

    def __init__(self, segment: int, channels: int):
        from scipy.signal import get_window

        self.segment, self.channels = segment, channels
        self.step = segment // 2
        self.window = get_window("hann", segment)
        self._buffer = np.zeros((0, channels))
        self._sum = np.zeros((segment // 2 + 1, channels))
        self.segments = 0

    def add(self, block: np.ndarray) -> None:
        """Take ``(frames, channels)`` samples."""
        import scipy.fft

        data = np.concatenate([self._buffer, np.asarray(block, dtype=np.float64)])
        starts = range(0, data.shape[0] - self.segment + 1, self.step)
        for start in starts:
            spectrum = scipy.fft.rfft(data[start : start + self.segment] * self.window[:, None], axis=0)
            self._sum += np.square(spectrum.real) + np.square(spectrum.imag)
            self.segments += 1
        used = (len(starts) * self.step) if len(starts) else 0
        self._buffer = data[used:]

    def density(self, rate: float) -> np.ndarray:
        """``(segment // 2 + 1, channels)`` PSD in units²/Hz."""
        import scipy.fft

        total, count = self._sum, self.segments
        if count == 0:  # shorter than a segment: one zero-padded periodogram
            padded = np.zeros((self.segment, self.channels))
            padded[: self._buffer.shape[0]] = self._buffer
            spectrum = scipy.fft.rfft(padded * self.window[:, None], axis=0)
            total, count = np.square(spectrum.real) + np.square(spectrum.imag), 1
        psd = total / (count * rate * np.sum(np.square(self.window)))
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
    >>> lam = snr_regularisation(20.0)
    >>> float(lam(np.zeros(1), np.ones((1, 1)), np.array([4.0]))[0])
    0.04
    """
    ratio = 10.0 ** (-snr_db / 10.0)

    def regularisation(freqs, power, mean_power):
        return ratio * mean_power

    return regularisation


def _as_welch_sees(power: np.ndarray, segment: int) -> np.ndarray:
    """``power`` (``|H|²`` on an rfft grid) smoothed as a Welch estimate with Hann ``segment`` sees it.

    Welch's expected value for white noise through ``H`` is ``|H|²``
    convolved with the window's power spectrum: in the lag domain, the
    kernel's autocorrelation times the window's (normalised to 1 at lag 0).
    """
    import scipy.fft
    from scipy.signal import get_window

    n = 2 * (power.shape[0] - 1)
    window = get_window("hann", segment)
    lags = scipy.fft.irfft(np.square(np.abs(scipy.fft.rfft(window, 2 * segment))), 2 * segment)[:segment]
    taper = np.zeros(n)
    used = min(segment, n // 2)
    taper[:used] = lags[:used] / lags[0]
    taper[n - used + 1 :] = taper[1:used][::-1]
    autocorrelation = scipy.fft.irfft(power, n, axis=0)
    return np.maximum(scipy.fft.rfft(autocorrelation * taper[:, None], axis=0).real, 0.0)


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
        ``(segment // 2 + 1, channels)`` densities (:meth:`Welch.density`),
        on the same grid and scale.
    segment : int
        Their Welch segment length.
    """
    clean = np.maximum(recording_psd - noise_psd, 0.0)
    welch_freqs = np.arange(noise_psd.shape[0]) / segment

    def regularisation(freqs, power, mean_power):
        kernel_power = _as_welch_sees(power, segment)
        channels = max(power.shape[1], noise_psd.shape[1])
        lam = np.empty((len(freqs), channels))
        for c in range(channels):
            sn = np.interp(freqs, welch_freqs, noise_psd[:, c % noise_psd.shape[1]])
            clean_c = np.interp(freqs, welch_freqs, clean[:, c % clean.shape[1]])
            sx = clean_c / np.maximum(kernel_power[:, c % kernel_power.shape[1]], 1e-300)
            lam[:, c] = np.divide(sn, sx, out=np.full(len(freqs), 1e300), where=sx > 0)
        return np.minimum(lam, 1e300)

    return regularisation
