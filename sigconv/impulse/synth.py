"""Synthetic impulse responses: test kernels, fractional delays, FIR filters and reverb tails."""

from __future__ import annotations

import math

import numpy as np

from ..errors import UsageError
from ..limits import check_channels, check_finite, check_generated
from .bands import OCTAVE_BANDS

__all__ = ["SYNTH_KINDS", "FILTER_KINDS", "synthesize_ir", "fractional_delay", "reverb_tail", "fir_filter"]

FILTER_KINDS = ("lowpass", "highpass", "bandpass", "bandstop")
SYNTH_KINDS = ("dirac", "delay", "reverb", *FILTER_KINDS, "moving-average", "gaussian")

#: Taps of the windowed-sinc fractional delay kernel.
DELAY_TAPS = 64
#: Taps of the FIR filters when none are given.
DEFAULT_FILTER_TAPS = 255
# Kaiser beta of the fractional-delay window: sidelobes near -80 dB.
_KAISER_BETA = 8.0
# Width in octaves of the crossfades between the octave bands of a reverb tail.
_CROSSOVER_OCTAVES = 1 / 3


#: The option that sets each kind's length, for the message that refuses one too long to hold.
_LENGTH_OPTIONS = {"dirac": "--length", "delay": "--seconds", "reverb": "--length, --rt60 or --predelay",
                   "moving-average": "--taps", "gaussian": "--sigma", **{kind: "--taps" for kind in FILTER_KINDS}}


def _positive(name: str, value, unit: str = "") -> float:
    if value is None:
        raise UsageError(f"{name} is required for this kind of impulse response")
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"{name} must be positive and finite, not {value:g}{unit}")
    return float(value)


def _check_size(kind: str, frames: float, channels: int, rate: float | None) -> int:
    """Refuse an impulse response of ``kind`` too long to hold, naming the option that sets its length."""
    return check_generated(frames, channels, f"the {kind} impulse response",
                           f"give a smaller {_LENGTH_OPTIONS[kind]}, fewer --channels or a lower --rate", rate)


def fractional_delay(delay: float, taps: int = DELAY_TAPS) -> np.ndarray:
    """A kernel that delays by ``delay`` samples (any non-negative real): a Kaiser-windowed sinc.

    Integer delays give an exact unit impulse. Otherwise the kernel holds
    the ``taps`` sinc samples nearest the delay, windowed (Kaiser, beta 8)
    and scaled to unit gain at 0 Hz: flat to within 0.01 dB and with group
    delay within 0.005 samples of ``delay`` up to 0.8 times the Nyquist
    frequency. Delays shorter than ``taps / 2`` samples cut the sinc's
    leading samples off (the kernel is causal) and are less accurate.

    Examples
    --------
    >>> fractional_delay(3.0).tolist()
    [0.0, 0.0, 0.0, 1.0]
    >>> h = fractional_delay(40.5)
    >>> h.size, int(np.argmax(h)), round(float(h.sum()), 12)
    (73, 40, 1.0)
    """
    if not (0 <= delay < math.inf):
        raise UsageError(f"the delay must be zero or more, and finite, not {delay:g} samples")
    _check_size("delay", delay + taps // 2 + 1, 1, None)
    whole = math.floor(delay)
    if abs(delay - round(delay)) < 1e-9:
        h = np.zeros(int(round(delay)) + 1)
        h[-1] = 1.0
        return h
    half = taps // 2
    n = np.arange(max(0, whole - half + 1), whole + half + 1)
    offset = n - delay
    window = np.i0(_KAISER_BETA * np.sqrt(np.clip(1 - (offset / (half + 0.5)) ** 2, 0, 1))) / np.i0(_KAISER_BETA)
    h = np.zeros(n[-1] + 1)
    h[n] = np.sinc(offset) * window
    return h / h.sum()


def fir_filter(kind: str, cutoff, taps: int, rate: float, window: str = "hamming") -> np.ndarray:
    """A windowed linear-phase FIR (``scipy.signal.firwin``) with unit gain in its pass band.

    Parameters
    ----------
    kind : {'lowpass', 'highpass', 'bandpass', 'bandstop'}
    cutoff : float or (float, float)
        Cut-off frequency in Hz (two edges for the band kinds), between 0
        and the Nyquist frequency.
    taps : int
        Length; odd for ``highpass`` and ``bandstop`` (an even-length
        linear-phase filter has a zero at Nyquist).
    rate : float
        Sample rate in Hz.
    window : str, optional
        Any window ``scipy.signal.get_window`` knows (default hamming).

    Examples
    --------
    >>> h = fir_filter("lowpass", 1000, 101, 8000)
    >>> h.size, round(float(h.sum()), 6)
    (101, 1.0)
    """
    from scipy.signal import firwin

    edges = np.atleast_1d(np.asarray(cutoff, dtype=np.float64))
    wanted = 2 if kind in ("bandpass", "bandstop") else 1
    if edges.size != wanted:
        raise UsageError(f"{kind} needs {'two cut-off frequencies (low,high)' if wanted == 2 else 'one cut-off frequency'}"
                         f", not {edges.size}")
    if not np.all(np.isfinite(edges)):
        raise UsageError(f"cut-off frequencies must be finite, not {', '.join(f'{e:g}' for e in edges)} Hz")
    nyquist = rate / 2
    if np.any(edges <= 0) or np.any(edges >= nyquist) or np.any(np.diff(edges) <= 0):
        raise UsageError(f"cut-off frequencies must rise and lie between 0 and the Nyquist frequency ({nyquist:g} Hz), "
                         f"not {', '.join(f'{e:g}' for e in edges)} Hz")
    if taps < 1:
        raise UsageError(f"the filter needs at least one tap, not {taps}")
    _check_size(kind, taps, 1, rate)
    if kind in ("highpass", "bandstop") and taps % 2 == 0:
        raise UsageError(f"a {kind} FIR needs an odd number of taps (an even one has a zero at Nyquist); "
                         f"use {taps + 1}")
    try:
        return firwin(taps, edges if wanted == 2 else float(edges[0]), window=window,
                      pass_zero=kind in ("lowpass", "bandstop"), fs=rate)
    except ValueError as exc:
        raise UsageError(f"cannot design the {kind} filter: {exc}") from exc


def _band_weights(freqs: np.ndarray) -> np.ndarray:
    """Amplitude-complementary weights (summing to 1) of the octave bands, crossfading at the band edges."""
    centres = np.log2(np.asarray(OCTAVE_BANDS, dtype=np.float64))
    with np.errstate(divide="ignore"):
        u = np.log2(np.maximum(freqs, 1e-9))
    edges = (centres[:-1] + centres[1:]) / 2
    # fraction of each frequency that lies above each edge: a raised-cosine step
    above = np.clip((u[:, None] - edges[None, :]) / _CROSSOVER_OCTAVES + 0.5, 0, 1)
    above = 0.5 - 0.5 * np.cos(np.pi * above)
    lower = np.concatenate([np.ones((u.size, 1)), above], axis=1)
    upper = np.concatenate([above, np.zeros((u.size, 1))], axis=1)
    return lower - upper


def reverb_tail(rt60, rate: float, *, seconds: float | None = None, predelay: float = 0.0, channels: int = 1,
                seed: int | None = None) -> np.ndarray:
    """Exponentially decaying Gaussian noise with a given RT60, one independent channel each.

    Parameters
    ----------
    rt60 : float or sequence of float
        Reverberation time in seconds (60 dB of decay), or one per octave
        band from 125 Hz to 8 kHz (7 values): the noise is split into the
        bands with crossfades a third of an octave wide, each band decays
        at its own rate.
    rate : float
        Sample rate in Hz.
    seconds : float, optional
        Length after the pre-delay (default 1.5 times the longest RT60,
        by when the tail has decayed by 90 dB).
    predelay : float or str, optional
        Silence before the tail: a number of seconds, or a time with its
        unit (``"20ms"``, ``"960smp"``; see :mod:`sigconv.quantities`).
    channels : int, optional
        Decorrelated channels (default 1).
    seed : int, optional
        Seed of the noise (default: a fresh one).

    Returns
    -------
    numpy.ndarray
        ``(frames, channels)``, each channel scaled to unit energy, so that
        convolving noise with it keeps the noise's level.

    Examples
    --------
    >>> h = reverb_tail(0.5, 8000, predelay=0.01, channels=2, seed=1)
    >>> h.shape, bool(np.all(h[:80] == 0)), np.round(np.sum(h ** 2, axis=0), 6).tolist()
    ((6080, 2), True, [1.0, 1.0])
    """
    times = np.atleast_1d(np.asarray(rt60, dtype=np.float64))
    if times.size not in (1, len(OCTAVE_BANDS)):
        raise UsageError(f"give one RT60 or one per octave band ({len(OCTAVE_BANDS)}: "
                         f"{', '.join(map(str, OCTAVE_BANDS))} Hz), not {times.size}")
    if not np.all((times > 0) & np.isfinite(times)):
        raise UsageError(f"RT60 must be positive and finite, not {', '.join(f'{t:g}' for t in times)} s")
    if isinstance(predelay, str) or hasattr(predelay, "unit"):  # "20ms", "0.02s", "960smp" (sigconv.quantities)
        from ..quantities import Duration, parse_time

        duration = predelay if isinstance(predelay, Duration) else parse_time(predelay, "s", "--predelay")
        predelay = duration.seconds(rate)
    if not check_finite(predelay, "--predelay", " of seconds") >= 0:
        raise UsageError(f"the pre-delay must be zero or more seconds, not {predelay:g}")
    check_channels(channels)
    if seed is not None and not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise UsageError(f"--seed must be a whole number, zero or more, not {seed!r}")
    length = 1.5 * float(times.max()) if seconds is None else _positive("the length", seconds, " s")
    _check_size("reverb", round(predelay * rate) + max(1, round(length * rate)), channels, rate)
    n = max(1, int(round(length * rate)))
    t = np.arange(n) / rate
    noise = np.random.default_rng(seed).standard_normal((n, channels))
    if times.size == 1:
        tail = noise * 10 ** (-3 * t / times[0])[:, None]
    else:
        spectrum = np.fft.rfft(noise, axis=0)
        weights = _band_weights(np.fft.rfftfreq(n, 1 / rate))
        tail = np.zeros((n, channels))
        for band, rt in enumerate(times):
            tail += np.fft.irfft(spectrum * weights[:, band:band + 1], n, axis=0) * 10 ** (-3 * t / rt)[:, None]
    tail /= np.sqrt(np.sum(tail ** 2, axis=0))
    return np.concatenate([np.zeros((int(round(predelay * rate)), channels)), tail])


def synthesize_ir(kind: str, rate: float = 48000, *, channels: int = 1, seconds: float | None = None,
                  rt60=None, predelay: float = 0.0, seed: int | None = None, cutoff=None, taps: int | None = None,
                  window: str = "hamming", sigma: float | None = None, length: float | None = None) -> np.ndarray:
    """An impulse response of one of :data:`SYNTH_KINDS`, as ``(frames, channels)`` float64.

    Parameters
    ----------
    kind : str
        ``dirac`` (a unit impulse; `length` seconds long, default one
        frame); ``delay`` (by `seconds`, fractional delays as a windowed
        sinc, see :func:`fractional_delay`); ``reverb`` (see
        :func:`reverb_tail`: `rt60`, `predelay`, `seed`, `length`);
        ``lowpass``, ``highpass``, ``bandpass``, ``bandstop`` (see
        :func:`fir_filter`: `cutoff` in Hz, `taps`, default 255, `window`);
        ``moving-average`` (`taps` equal taps summing to 1); ``gaussian``
        (a Gaussian of standard deviation `sigma` seconds, 4 sigma each
        side, summing to 1).
    rate : float, optional
        Sample rate in Hz (default 48000).
    channels : int, optional
        Channels; the same kernel in each, except ``reverb`` whose channels
        are decorrelated.

    Raises
    ------
    UsageError
        An unknown kind, a missing or out-of-range parameter.

    Examples
    --------
    >>> synthesize_ir("moving-average", 1000, taps=4).ravel().tolist()
    [0.25, 0.25, 0.25, 0.25]
    >>> synthesize_ir("delay", 1000, seconds=0.002, channels=2).tolist()
    [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]
    """
    if kind not in SYNTH_KINDS:
        raise UsageError(f"unknown impulse response kind {kind!r}; choose one of {', '.join(SYNTH_KINDS)}")
    if not (rate > 0 and math.isfinite(rate)):
        raise UsageError(f"the sample rate must be positive and finite, not {rate:g} Hz")
    check_channels(channels)
    if kind == "reverb":
        if rt60 is None:
            raise UsageError("reverb needs --rt60: one reverberation time in seconds, or one per octave band")
        return reverb_tail(rt60, rate, seconds=length, predelay=predelay, channels=channels, seed=seed)
    if kind == "dirac":
        frames = max(1, round(_positive("the length", length, " s") * rate)) if length is not None else 1
        h = np.zeros(_check_size(kind, frames, channels, rate))
        h[0] = 1.0
    elif kind == "delay":
        if seconds is None:
            raise UsageError("delay needs --seconds: the delay in seconds")
        check_finite(seconds, "--seconds", " of seconds")
        _check_size(kind, seconds * rate + DELAY_TAPS // 2 + 1, channels, rate)
        h = fractional_delay(seconds * rate)
    elif kind in FILTER_KINDS:
        if cutoff is None:
            raise UsageError(f"{kind} needs --cutoff in Hz")
        taps = DEFAULT_FILTER_TAPS if taps is None else taps
        _check_size(kind, taps, channels, rate)
        h = fir_filter(kind, cutoff, taps, rate, window)
    elif kind == "moving-average":
        if taps is None or taps < 1:
            raise UsageError("moving-average needs --taps: 1 or more")
        h = np.full(_check_size(kind, taps, channels, rate), 1.0 / taps)
    else:
        sd = _positive("--sigma", sigma, " s") * rate
        _check_size(kind, 2 * math.ceil(4 * sd) + 1, channels, rate)
        k = np.arange(-math.ceil(4 * sd), math.ceil(4 * sd) + 1)
        h = np.exp(-0.5 * (k / sd) ** 2)
        h /= h.sum()
    return np.repeat(h[:, None], channels, axis=1)
