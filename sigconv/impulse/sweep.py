"""The exponential sine sweep (Farina) and its inverse filter.

The sweep is :math:`x(t) = A \\sin\\big(2\\pi f_0 L (e^{t/L} - 1)\\big)` for
:math:`0 \\le t < T`, with :math:`L = T / \\ln(f_1/f_0)`: its instantaneous
frequency :math:`f_0 e^{t/L}` rises by the same number of octaves every
second, so it spends equal time per octave and its spectrum falls by 3 dB per
octave (pink). Half-Hann fades at both ends keep the start and the stop from
clicking, and trailing silence records the system's decay.

The inverse filter is the time-reversed sweep with an amplitude envelope
:math:`e^{-t/L}` (6 dB per octave, from the highest frequency down), which
makes the product of the two spectra flat: convolving the sweep with it gives
a band-limited impulse at frame ``N - 1`` (``N`` the inverse's length).
Harmonic distortion of order *k* arrives :math:`L \\ln k` seconds earlier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ..limits import check_finite, check_generated

__all__ = ["SweepSpec", "exponential_sweep", "inverse_sweep", "half_hann_fades"]


@dataclass(frozen=True)
class SweepSpec:
    """Checked parameters of an exponential sine sweep.

    Parameters
    ----------
    rate : float
        Sample rate in Hz.
    duration : float
        Length of the sweep itself in seconds (without the silence).
    f0, f1 : float
        Start and stop frequencies in Hz, ``0 < f0 < f1 <= rate / 2``.
    amplitude_db : float
        Peak level in dBFS (at most 0).
    fade_in, fade_out : float
        Lengths of the half-Hann fades in seconds.
    silence : float
        Trailing silence in seconds.

    Raises
    ------
    UsageError
        A parameter out of range or not finite, or a sweep too long to hold
        (beyond :data:`sigconv.limits.MAX_FRAMES`, or the memory it needs);
        the message names it and the valid range.
    """

    rate: float = 48000.0
    duration: float = 10.0
    f0: float = 20.0
    f1: float = 20000.0
    amplitude_db: float = -6.0
    fade_in: float = 0.1
    fade_out: float = 0.02
    silence: float = 2.0

    def __post_init__(self):
        for option, value in (("--rate", self.rate), ("--duration", self.duration), ("--f0", self.f0),
                              ("--f1", self.f1), ("--amplitude", self.amplitude_db), ("--fade", self.fade_in),
                              ("--fade", self.fade_out), ("--silence", self.silence)):
            check_finite(value, option)
        if not self.rate > 0:
            raise UsageError(f"the sample rate must be positive, not {self.rate:g} Hz")
        if not self.duration > 0:
            raise UsageError(f"the sweep duration must be positive, not {self.duration:g} s")
        if not self.f0 > 0:
            raise UsageError(f"the start frequency f0 must be positive, not {self.f0:g} Hz")
        if self.f0 >= self.f1:
            raise UsageError(f"the start frequency f0 ({self.f0:g} Hz) must be below the stop frequency f1 "
                             f"({self.f1:g} Hz)")
        nyquist = self.rate / 2
        if self.f1 > nyquist:
            raise UsageError(f"the stop frequency f1 ({self.f1:g} Hz) is above the Nyquist frequency "
                             f"({nyquist:g} Hz at {self.rate:g} Hz); lower f1 or raise the sample rate")
        if self.amplitude_db > 0:
            raise UsageError(f"the amplitude must be at most 0 dBFS, not {self.amplitude_db:+g} dB")
        if self.fade_in < 0 or self.fade_out < 0 or self.fade_in + self.fade_out > self.duration:
            raise UsageError(f"the fades ({self.fade_in:g} s in, {self.fade_out:g} s out) must be zero or more and "
                             f"fit in the {self.duration:g} s sweep")
        if self.silence < 0:
            raise UsageError(f"the trailing silence must be zero or more seconds, not {self.silence:g}")
        check_generated(self.duration * self.rate + self.silence * self.rate, 1, "the sweep with its silence",
                        "give a shorter --duration or --silence, or a lower --rate", self.rate)
        if self.sweep_frames < 2:
            raise UsageError(f"a {self.duration:g} s sweep at {self.rate:g} Hz has fewer than 2 samples; "
                             "make it longer")

    @property
    def sweep_rate(self) -> float:
        """:math:`L = T / \\ln(f_1/f_0)` in seconds: the time the sweep takes per factor *e* in frequency."""
        return self.duration / math.log(self.f1 / self.f0)

    @property
    def sweep_frames(self) -> int:
        """Frames of the sweep without its silence."""
        return int(round(self.duration * self.rate))

    def harmonic_delay(self, order: int) -> float:
        """Seconds by which the response of harmonic ``order`` precedes the linear one: :math:`L \\ln k`."""
        return self.sweep_rate * math.log(order)


def half_hann_fades(n: int, fade_in: int, fade_out: int) -> np.ndarray:
    """An envelope of ``n`` ones whose first and last frames rise and fall as half Hann windows.

    Examples
    --------
    >>> half_hann_fades(6, 2, 1).round(3).tolist()
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.0]
    """
    envelope = np.ones(n)
    if fade_in:
        envelope[:fade_in] = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade_in) / fade_in)
    if fade_out:
        envelope[n - fade_out:] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(fade_out) + 1) / fade_out)
    return envelope


def _bare_sweep(spec: SweepSpec) -> np.ndarray:
    n = spec.sweep_frames
    t = np.arange(n) / spec.rate
    L = spec.sweep_rate
    x = np.sin(2 * np.pi * spec.f0 * L * np.expm1(t / L))
    fades = half_hann_fades(n, int(round(spec.fade_in * spec.rate)), int(round(spec.fade_out * spec.rate)))
    return 10 ** (spec.amplitude_db / 20) * x * fades


def exponential_sweep(rate: float = 48000, duration: float = 10.0, f0: float = 20.0, f1: float = 20000.0, *,
                      amplitude_db: float = -6.0, fade: tuple[float, float] = (0.1, 0.02),
                      silence: float = 2.0) -> np.ndarray:
    """An exponential sine sweep with fades and trailing silence, as a 1-D float64 array.

    Parameters
    ----------
    rate : float, optional
        Sample rate in Hz (default 48000).
    duration : float, optional
        Seconds of sweep, without the silence (default 10; longer sweeps
        give more signal-to-noise ratio and push the harmonic responses
        further from the linear one).
    f0, f1 : float, optional
        Start and stop frequencies in Hz (defaults 20 and 20000); f1 may be
        at most the Nyquist frequency.
    amplitude_db : float, optional
        Peak level in dBFS (default -6).
    fade : (float, float), optional
        Seconds of half-Hann fade-in and fade-out (default 0.1 and 0.02).
    silence : float, optional
        Seconds of trailing silence (default 2).

    Returns
    -------
    numpy.ndarray
        ``round(duration * rate) + round(silence * rate)`` samples.

    Raises
    ------
    UsageError
        ``f0 >= f1``, ``f1`` above Nyquist, a duration that is not
        positive, fades longer than the sweep, a positive amplitude.

    Examples
    --------
    >>> x = exponential_sweep(8000, 1.0, 50, 2000, amplitude_db=-6, silence=0.5)
    >>> x.shape, round(float(np.abs(x).max()), 2), float(np.abs(x[8000:]).max())
    ((12000,), 0.5, 0.0)
    """
    spec = SweepSpec(rate, duration, f0, f1, amplitude_db, *fade, silence)
    return np.concatenate([_bare_sweep(spec), np.zeros(int(round(spec.silence * rate)))])


def inverse_sweep(rate: float = 48000, duration: float = 10.0, f0: float = 20.0, f1: float = 20000.0, *,
                  amplitude_db: float = -6.0, fade: tuple[float, float] = (0.1, 0.02)) -> np.ndarray:
    """The inverse filter of :func:`exponential_sweep` with the same parameters (Farina's).

    The time-reversed sweep with a 6 dB/octave amplitude envelope, scaled so
    that ``sweep ⊗ inverse`` has unit gain in the sweep's band (measured at
    the band's geometric centre). The silence is not part of it.

    Returns
    -------
    numpy.ndarray
        ``round(duration * rate)`` samples. Convolving a recording of the
        sweep with it puts the impulse response's time zero at frame
        ``len(inverse) - 1`` and the response of harmonic *k* at
        ``L ln k`` seconds before that.

    Examples
    --------
    >>> x = exponential_sweep(8000, 1.0, 50, 3000, silence=0)
    >>> y = np.convolve(x, inverse_sweep(8000, 1.0, 50, 3000))
    >>> int(np.argmax(np.abs(y))), round(float(y.max()), 1)
    (7999, 0.7)
    """
    spec = SweepSpec(rate, duration, f0, f1, amplitude_db, *fade, 0.0)
    x = _bare_sweep(spec)
    t = np.arange(x.size) / rate
    inverse = x[::-1] * np.exp(-t / spec.sweep_rate)
    # gain of sweep ⊗ inverse around the band's geometric centre, over half an octave
    n = 1 << int(np.ceil(np.log2(2 * x.size)))
    spectrum = np.abs(np.fft.rfft(x, n) * np.fft.rfft(inverse, n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    centre = math.sqrt(spec.f0 * spec.f1)
    near = (freqs > centre * 2 ** -0.25) & (freqs < centre * 2 ** 0.25)
    return inverse / float(np.mean(spectrum[near]))
