"""Speech Transmission Index from an impulse response (IEC 60268-16:2020, indirect method).

The modulation transfer function of octave band ``k`` at modulation
frequency ``F`` is the normalised Fourier transform of the squared band
response (Schroeder's formula, IEC 60268-16:2020 A.1.2 / 6.2)::

    m_k(F) = |sum_t h_k(t)**2 exp(-2j pi F t)| / sum_t h_k(t)**2

over the seven octave bands 125 Hz to 8 kHz and the fourteen modulation
frequencies 0.63 to 12.5 Hz in third-octave steps. The band response runs
from the onset to where its decay meets the noise floor (Lundeby); the
energy cut off there is added back as the exponential decay it would have
been, whose transform is exact (``E exp(-2j pi F tc) / (1 + 2j pi F tau)``).
Background noise reduces every ``m`` by ``1 / (1 + 10**(-SNR_k / 10))``.

Each ``m`` becomes an effective signal-to-noise ratio
``10 log10(m / (1 - m))`` clipped to +-15 dB, a transmission index
``(SNR + 15) / 30``, averaged over ``F`` into the band's modulation
transfer index MTI; the STI is ``sum(alpha_k MTI_k) - sum(beta_k
sqrt(MTI_k MTI_k+1))`` with the male weights of IEC 60268-16:2020 (Table
A.1, the same as edition 4 of 2011).

Without levels the result is level-independent: no auditory masking and no
reception threshold, as the standard allows when levels are unknown. With
the speech and noise octave levels (dB SPL) the noise sets the SNR, and
the level-dependent auditory masking (from the band below) and absolute
reception threshold of IEC 60268-16:2020 A.2 are applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError
from .acoustics import lundeby
from .bands import band_filter, band_label, band_reason

__all__ = ["STI_BANDS", "MODULATION_FREQUENCIES", "ALPHA_MALE", "BETA_MALE", "STIResult", "modulation_transfer",
           "sti_from_mtf", "check_levels", "check_channel_levels", "channel_sti"]

#: The octave bands of the STI, Hz.
STI_BANDS = (125, 250, 500, 1000, 2000, 4000, 8000)
#: The modulation frequencies, Hz (third-octave steps).
MODULATION_FREQUENCIES = (0.63, 0.8, 1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0, 10.0, 12.5)
#: Male octave weights (IEC 60268-16:2020, Table A.1).
ALPHA_MALE = (0.085, 0.127, 0.230, 0.233, 0.309, 0.224, 0.173)
#: Male redundancy corrections between adjacent bands.
BETA_MALE = (0.085, 0.078, 0.065, 0.011, 0.047, 0.095)
#: Absolute speech reception threshold per band, dB SPL (IEC 60268-16:2020, A.2.4).
#: The same values are in the ITA-Toolbox (RWTH Aachen, ``ita_speech_transmission_index.m``, ``I_k_rt``) and
#: in pyfar's ``sti`` (``artdb``, after IEC 60268-16:2011 A.3.3); checked against both.
RECEPTION_THRESHOLD_DB = (46.0, 27.0, 12.0, 6.5, 7.5, 8.0, 12.0)


@dataclass
class STIResult:
    """The STI of one channel: the index, each band's MTI and the modulation transfer matrix.

    Attributes
    ----------
    sti : float or None
        The index, 0..1 (None with `reason` where it cannot be computed).
    mti : dict
        Band name (``"125"``...) to modulation transfer index.
    mtf : numpy.ndarray or None
        ``(7, 14)`` modulation transfer values, bands by modulation frequency.
    reason : str or None
    noise_levels : tuple or None
        The noise octave levels (dB SPL) the STI was computed with.
    """

    sti: float | None
    mti: dict = field(default_factory=dict)
    mtf: np.ndarray | None = None
    reason: str | None = None
    noise_levels: tuple | None = None

    def as_dict(self) -> dict:
        return {
            "STI": None if self.sti is None else round(self.sti, 4),
            "MTI": {band: round(value, 4) for band, value in self.mti.items()},
            "noise_levels_db": None if self.noise_levels is None else [round(v, 2) for v in self.noise_levels],
            "reason": self.reason,
        }


def modulation_transfer(band: np.ndarray, rate: float, truncation=None) -> np.ndarray:
    """The fourteen ``m(F)`` of one band response that starts at its onset.

    Parameters
    ----------
    band : numpy.ndarray
        1-D band-filtered response from the onset.
    rate : float
        Sample rate in Hz.
    truncation : Lundeby, optional
        Where the decay meets the noise, and the energy to add back.

    Examples
    --------
    >>> rate = 1000
    >>> t = np.arange(20 * rate) / rate
    >>> h = np.exp(-6.9078 * t)  # energy decays 60 dB in 1 s
    >>> m = modulation_transfer(h, rate)
    >>> closed = 1 / np.sqrt(1 + (2 * np.pi * np.array(MODULATION_FREQUENCIES) * 1.0 / 13.8) ** 2)
    >>> bool(np.allclose(m, closed, atol=2e-3))
    True
    """
    e = np.square(np.asarray(band, dtype=np.float64))
    stop, extra = (truncation.crossing, truncation.compensation) if truncation else (e.size, 0.0)
    e = e[:stop]
    # energy summed over 1 ms blocks: at 12.5 Hz the block's own response is 1 - 3e-4
    block = max(1, int(rate // 1000))
    sums = np.add.reduceat(e, np.arange(0, e.size, block)) if e.size else e
    t = (np.arange(sums.size) * block + (block - 1) / 2) / rate
    f = np.asarray(MODULATION_FREQUENCIES)
    spectrum = np.exp(-2j * np.pi * np.outer(f, t)) @ sums
    total = float(e.sum())
    if extra > 0 and truncation.late_slope < 0:
        tau = 10.0 / (-truncation.late_slope * math.log(10))
        spectrum = spectrum + extra * np.exp(-2j * np.pi * f * stop / rate) / (1 + 2j * np.pi * f * tau)
        total += extra
    if total <= 0:
        return np.zeros(f.size)
    return np.abs(spectrum) / total


def check_levels(values, option: str) -> np.ndarray | None:
    """Seven finite octave levels in dB (125 Hz to 8 kHz), or None."""
    if values is None:
        return None
    levels = np.asarray(values, dtype=np.float64).ravel()
    if levels.size != len(STI_BANDS) or not np.all(np.isfinite(levels)):
        raise UsageError(f"{option} takes 7 finite levels in dB, one per octave band 125 Hz to 8 kHz, "
                         f"not {list(np.atleast_1d(values))!r}")
    return levels


def _masking_db(level: float) -> float:
    """Auditory masking slope in dB from the band below at octave level ``level`` (IEC 60268-16:2020 A.2.3).

    The four segments (below 63 dB, 63 to 67, 67 to 100, from 100 dB) are
    those of the ITA-Toolbox's ``ita_speech_transmission_index.m`` and of
    pyfar's ``sti`` (IEC 60268-16:2011 Table A.2); pyfar's last segment
    reads ``L - 10`` where the ITA-Toolbox and the standard's table give
    a constant -10 dB, which is used here. The level that selects the
    segment is the band's whole received level, speech plus noise, the
    same intensity that does the masking; the ITA-Toolbox selects it by the
    speech level alone, which differs only where the noise is within a few
    dB of the speech.
    """
    if level < 63:
        return 0.5 * level - 65
    if level < 67:
        return 1.8 * level - 146.9
    if level < 100:
        return 0.5 * level - 59.8
    return -10.0


def sti_from_mtf(m: np.ndarray, *, snr_db=None, speech_levels=None, noise_levels=None) -> tuple[float, np.ndarray]:
    """STI and the seven MTIs from a ``(7, 14)`` modulation transfer matrix.

    Parameters
    ----------
    m : numpy.ndarray
        Modulation transfer values (bands 125 Hz..8 kHz by the 14 modulation frequencies).
    snr_db : sequence of 7 float, optional
        Signal-to-noise ratio per band; reduces ``m`` by ``1 / (1 + 10**(-SNR/10))``.
    speech_levels, noise_levels : sequence of 7 float, optional
        Octave levels in dB SPL; both together give the SNR and switch on
        auditory masking and the reception threshold.

    Examples
    --------
    A noise-free channel with 0 dB SNR in every band gives STI 0.5:

    >>> round(sti_from_mtf(np.ones((7, 14)), snr_db=[0] * 7)[0], 6)
    0.5
    """
    m = np.clip(np.asarray(m, dtype=np.float64), 0.0, 1.0)
    if (speech_levels is None) != (noise_levels is None):
        raise UsageError("give the speech levels and the noise levels together, or neither")
    if speech_levels is not None:
        if snr_db is not None:
            raise UsageError("give either SNRs or speech and noise levels, not both")
        speech = check_levels(speech_levels, "speech levels")
        noise = check_levels(noise_levels, "noise levels")
        m = m / (1 + 10 ** ((noise - speech) / 10))[:, None]
        total = 10 ** (speech / 10) + 10 ** (noise / 10)
        masking = np.zeros(len(STI_BANDS))
        for k in range(1, len(STI_BANDS)):
            below = 10 * math.log10(total[k - 1])
            masking[k] = total[k - 1] * 10 ** (_masking_db(below) / 10)
        threshold = 10 ** (np.asarray(RECEPTION_THRESHOLD_DB) / 10)
        m = m * (total / (total + masking + threshold))[:, None]
    elif snr_db is not None:
        snr = check_levels(snr_db, "SNR")
        m = m / (1 + 10 ** (-snr / 10))[:, None]
    with np.errstate(divide="ignore"):
        effective = 10 * np.log10(m / np.maximum(1 - m, 1e-300))
    ti = (np.clip(effective, -15.0, 15.0) + 15.0) / 30.0
    mti = ti.mean(axis=1)
    sti = float(np.dot(ALPHA_MALE, mti) - np.dot(BETA_MALE, np.sqrt(mti[:-1] * mti[1:])))
    return min(max(sti, 0.0), 1.0), mti


def check_channel_levels(levels, channels: int) -> None:
    """Noise levels are 7 values, or one row of 7 per channel (from a noise recording); refuse other row counts."""
    if levels is not None and np.ndim(levels) == 2 and len(levels) != channels:
        raise UsageError(f"give 7 noise levels, or one row of 7 for each of the {channels} channels, "
                         f"not {len(levels)} rows")


def channel_sti(x: np.ndarray, rate: float, onset: int, settings, done: dict, channel: int = 0) -> STIResult:
    """The STI of one channel ``x`` (whole, analysed from `onset`) with `settings`' levels or SNRs.

    `done` maps band labels to octave bands of `x` already filtered;
    `settings` is an :class:`~sigconv.impulse.info.InfoSettings`, whose
    noise levels may hold one row per channel (row `channel` is used).
    """
    why = band_reason(8000, rate, x.shape[0]) or band_reason(125, rate, x.shape[0])
    if why:
        return STIResult(None, reason=f"needs the octave bands 125 Hz to 8 kHz: {why}")
    m = np.empty((len(STI_BANDS), len(MODULATION_FREQUENCIES)))
    for k, nominal in enumerate(STI_BANDS):
        band = done.get(band_label(nominal))
        band = (band if band is not None else band_filter(x, rate, nominal, 1, settings.filter_mode))[onset:]
        m[k] = modulation_transfer(band, rate, lundeby(band, rate))
    noise = settings.noise_levels
    if noise is not None and np.ndim(noise) == 2:
        noise = noise[channel]
    sti, mti = sti_from_mtf(m, snr_db=settings.snr_db, speech_levels=settings.speech_levels, noise_levels=noise)
    return STIResult(sti, {band_label(b): float(v) for b, v in zip(STI_BANDS, mti)}, m,
                     noise_levels=None if noise is None else tuple(float(v) for v in noise))
