"""Octave and third-octave band filters for impulse responses (IEC 61260-1 class 1).

Bands have exact base-2 mid-band frequencies ``1000 * 2**(k / b)`` Hz (``b``
= 1 for octaves, 3 for third octaves) and edges at the mid-band frequency
times :math:`2^{\\pm 1/(2b)}`; they are named by their nominal centres
(31.5, 63, 125... Hz; 25, 31.5, 40, 50... Hz), IEC 61260-1:2014 Annex E.

Each band is a Butterworth band-pass (bilinear, pre-warped), run in one of
two ways:

``"zero-phase"`` (default)
    forwards and backwards (``scipy.signal.sosfiltfilt``). The filter is
    designed 1.5 dB down at the band edges, so that the two passes together
    are 3 dB down there, as a single IEC filter is (3rd order, so 6th-order
    slopes in all). The result has no delay:
    the direct sound stays where it is in every band, and half of the
    filter's ringing lies before it, which halves the bias a causal filter
    adds to short decays.
``"reversed"``
    once, on the time-reversed response, then reversed back (ISO 3382-1:2009,
    5.3.4 advises this for short decays: the filter's own decay then lies
    before the direct sound and does not lengthen the measured one). The
    filter is 3 dB down at the edges and of 4th order (a 3rd order would
    miss the class 1 stop-band limits below bands close to Nyquist, where
    the bilinear transform compresses the lower slope).

Both meet the class 1 limits of IEC 61260-1:2014 on relative attenuation at
the breakpoints of its Table 1 (with base-2 ``G = 2``), as
``tests/impulse/test_bands.py`` checks. The response is padded with zeros,
not mirrored: an impulse response is silent outside its frames.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import UsageError

__all__ = [
    "OCTAVE_BANDS",
    "OCTAVE_CENTRES",
    "THIRD_OCTAVE_CENTRES",
    "FILTER_MODES",
    "band_edges",
    "band_filter",
    "band_reason",
    "band_label",
    "default_bands",
    "resolve_bands",
    "octave_filter",
    "weighting_gain",
]

#: Nominal octave-band centres in Hz (IEC 61260-1 Annex E), 31.5 Hz to 16 kHz.
OCTAVE_CENTRES = (31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)

#: The seven octave bands 125 Hz to 8 kHz (the STI's; per-band RT60 of ``synth reverb``).
OCTAVE_BANDS = (125, 250, 500, 1000, 2000, 4000, 8000)

#: Nominal third-octave-band centres in Hz, 25 Hz to 20 kHz.
THIRD_OCTAVE_CENTRES = (25, 31.5, 40, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600,
                      2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000, 12500, 16000, 20000)

#: How a band filter is run: see the module's description.
FILTER_MODES = ("zero-phase", "reversed")

_ORDERS = {"zero-phase": 3, "reversed": 4}
_FRACTIONS = {1: OCTAVE_CENTRES, 3: THIRD_OCTAVE_CENTRES}
_NAMES = {"octave": 1, "third": 3}
#: The default analysis starts here (the lowest bands need long responses and are rarely meaningful).
_DEFAULT_LOWEST = {1: 63, 3: 31.5}
#: A band is analysed only if its upper edge lies this far below the Nyquist frequency.
_NYQUIST_MARGIN = 0.98


def _index(nominal: float, fraction: int) -> int:
    return round(fraction * math.log2(nominal / 1000.0))


def band_edges(nominal: float, fraction: int = 1) -> tuple[float, float]:
    """Lower and upper edge in Hz of the band with the given nominal centre.

    Examples
    --------
    >>> [round(f, 1) for f in band_edges(1000)]
    [707.1, 1414.2]
    >>> [round(f, 1) for f in band_edges(100, 3)]
    [88.4, 111.4]
    """
    exact = 1000.0 * 2.0 ** (_index(nominal, fraction) / fraction)
    half = 2.0 ** (1 / (2 * fraction))
    return exact / half, exact * half


def band_label(nominal: float) -> str:
    """The band's name in reports: ``"31.5"``, ``"1000"``.

    Examples
    --------
    >>> band_label(31.5), band_label(1000.0)
    ('31.5', '1000')
    """
    return f"{nominal:g}"


def band_reason(nominal: float, rate: float, frames: int, fraction: int = 1) -> str | None:
    """Why the band cannot be analysed at this rate and length, or None if it can."""
    low, high = band_edges(nominal, fraction)
    if high >= _NYQUIST_MARGIN * rate / 2:
        return (f"the {band_label(nominal)} Hz band reaches {high:.0f} Hz, above the Nyquist frequency "
                f"({rate / 2:g} Hz); use a higher sample rate")
    if frames < 4 * rate / low:
        return f"the impulse response is too short for the {band_label(nominal)} Hz band (needs {4 / low:.3f} s)"
    return None


def default_bands(rate: float, fraction: int = 1) -> tuple:
    """The bands analysed by default: from 63 Hz (31.5 Hz for third octaves) to 16 kHz, below Nyquist.

    Examples
    --------
    >>> default_bands(32000)
    (63, 125, 250, 500, 1000, 2000, 4000, 8000)
    """
    return tuple(f for f in _FRACTIONS[fraction] if _DEFAULT_LOWEST[fraction] <= f <= 16000
                 and band_edges(f, fraction)[1] < _NYQUIST_MARGIN * rate / 2)


def _nearest(value: float, table) -> list:
    ordered = sorted(table, key=lambda f: abs(math.log(f / value)))
    return sorted(ordered[:2])


def resolve_bands(bands, rate: float, fraction: int | None = None) -> tuple[tuple, int]:
    """The nominal centres to analyse and their fraction (1 octave, 3 third octave).

    Parameters
    ----------
    bands : {"octave", "third"} or sequence of float
        A band set, or nominal centres. Centres that are all octave centres
        are octave bands unless `fraction` is 3; any third-octave centre
        makes them third-octave bands.
    rate : float
        Sample rate in Hz (for the default set).
    fraction : {1, 3}, optional
        Force octave or third-octave bands.

    Raises
    ------
    UsageError
        A centre is not a nominal centre of the band set (the message names
        the nearest ones); the library never snaps a frequency to a band.

    Examples
    --------
    >>> resolve_bands((100, 125, 160), 48000)
    ((100, 125, 160), 3)
    >>> resolve_bands("octave", 8000)[0]
    (63, 125, 250, 500, 1000, 2000)
    """
    if isinstance(bands, str):
        if bands not in _NAMES:
            raise UsageError(f"bands must be 'octave', 'third' or a list of nominal centres, not {bands!r}")
        chosen = _NAMES[bands]
        if fraction is not None and fraction != chosen:
            raise UsageError(f"bands={bands!r} contradicts fraction={fraction}")
        return default_bands(rate, chosen), chosen
    if fraction is not None and fraction not in _FRACTIONS:
        raise UsageError(f"fraction must be 1 (octaves) or 3 (third octaves), not {fraction!r}")
    centres = []
    for value in bands:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"band centres are frequencies in Hz, not {value!r}") from None
        if not (math.isfinite(number) and number > 0):
            raise UsageError(f"band centres are positive frequencies in Hz, not {value!r}")
        centres.append(number)
    if not centres:
        raise UsageError("give at least one band centre")
    if fraction is None:
        fraction = 1 if all(_match(c, OCTAVE_CENTRES) is not None for c in centres) else 3
    table = _FRACTIONS[fraction]
    resolved = []
    for c in centres:
        nominal = _match(c, table)
        if nominal is None:
            kind = "octave" if fraction == 1 else "third-octave"
            near = " or ".join(f"{band_label(f)} Hz" for f in _nearest(c, table))
            hint = "; for third octaves use bands='third' or --bands third" if (
                fraction == 1 and _match(c, THIRD_OCTAVE_CENTRES) is not None) else ""
            raise UsageError(f"{c:g} Hz is not a nominal {kind}-band centre (nearest: {near}){hint}")
        if nominal not in resolved:
            resolved.append(nominal)
    return tuple(sorted(resolved)), fraction


def _match(value: float, table):
    for nominal in table:
        if abs(value - nominal) <= 1e-9 * nominal:
            return nominal
    return None


def _design(nominal: float, rate: float, fraction: int, edge_db: float, order: int):
    """Second-order sections of the Butterworth band-pass whose attenuation at the band edges is ``edge_db``."""
    from scipy.signal import butter

    low, high = band_edges(nominal, fraction)
    # the edges on the bilinear transform's warped axis, where the band-pass is exactly Butterworth
    a, b = (math.tan(math.pi * f / rate) for f in (low, high))
    # at the lowpass-prototype frequency r the Butterworth response is edge_db down
    r = (10 ** (edge_db / 10) - 1) ** (1 / (2 * order))
    width = (b - a) / r
    w1 = (-width + math.sqrt(width * width + 4 * a * b)) / 2
    w2 = w1 + width
    f1, f2 = (rate / math.pi * math.atan(w) for w in (w1, w2))
    return butter(order, [f1, f2], btype="bandpass", fs=rate, output="sos")


def band_sos(nominal: float, rate: float, fraction: int = 1, mode: str = "zero-phase"):
    """The second-order sections of one band's filter, as :func:`band_filter` runs them (once or twice)."""
    if mode not in FILTER_MODES:
        raise UsageError(f"filter mode must be one of {', '.join(FILTER_MODES)}, not {mode!r}")
    return _design(nominal, rate, fraction, 1.5 if mode == "zero-phase" else 3.0, _ORDERS[mode])


def band_filter(h: np.ndarray, rate: float, nominal: float, fraction: int = 1,
                mode: str = "zero-phase") -> np.ndarray:
    """The band ``nominal`` of ``h`` (``(frames, channels)`` or 1-D), filtered along axis 0.

    Parameters
    ----------
    h : numpy.ndarray
        Impulse response.
    rate : float
        Sample rate in Hz; the band's upper edge must lie below Nyquist
        (see :func:`band_reason`).
    nominal : float
        Nominal centre frequency (see :func:`resolve_bands`).
    fraction : {1, 3}
        Octave or third-octave band.
    mode : {"zero-phase", "reversed"}
        Forwards and backwards, or once in reversed time.

    Returns
    -------
    numpy.ndarray
        Same shape as `h`.

    Examples
    --------
    >>> rate = 16000
    >>> t = np.arange(rate) / rate
    >>> inside, outside = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 4000 * t)
    >>> [round(float(np.std(band_filter(x, rate, 1000)[2000:-2000]) / np.std(x)), 3) for x in (inside, outside)]
    [1.0, 0.0]
    """
    from scipy.signal import sosfilt, sosfiltfilt

    sos = band_sos(nominal, rate, fraction, mode)
    low = band_edges(nominal, fraction)[0]
    pad = int(np.ceil(8 * fraction * rate / low))  # the filter's ringing has died out within 8 periods x fraction
    widths = [(pad, pad)] + [(0, 0)] * (np.ndim(h) - 1)
    padded = np.pad(np.asarray(h, dtype=np.float64), widths)
    if mode == "zero-phase":
        out = sosfiltfilt(sos, padded, axis=0, padtype=None)
    else:
        out = sosfilt(sos, padded[::-1], axis=0)[::-1]
    return out[pad:-pad]


def octave_filter(h: np.ndarray, rate: float, nominal: float) -> np.ndarray:
    """The octave band ``nominal`` of ``h``, zero-phase (:func:`band_filter` with ``fraction=1``)."""
    return band_filter(h, rate, nominal, 1)


def weighting_gain(freqs: np.ndarray, curve: str) -> np.ndarray:
    """Linear magnitude of the A or C frequency weighting of IEC 61672-1 (0 dB at 1 kHz).

    Examples
    --------
    >>> [round(float(20 * np.log10(weighting_gain(np.array([f]), "A")[0])), 1) for f in (100, 1000, 10000)]
    [-19.1, 0.0, -2.5]
    """
    f2 = np.square(np.asarray(freqs, dtype=np.float64))
    p1, p2, p3, p4 = (x * x for x in (20.598997, 107.65265, 737.86223, 12194.217))
    with np.errstate(divide="ignore", invalid="ignore"):
        if curve == "A":
            gain = p4 * f2 * f2 / ((f2 + p1) * np.sqrt((f2 + p2) * (f2 + p3)) * (f2 + p4))
            ref = 10 ** (1.9997 / 20)
        elif curve == "C":
            gain = p4 * f2 / ((f2 + p1) * (f2 + p4))
            ref = 10 ** (0.0619 / 20)
        else:
            raise UsageError(f"frequency weighting must be A, C or Z, not {curve!r}")
    return gain * ref
