"""What ``impulse info`` does to a response before its analysis: a high-pass, and the broadband response.

- :func:`highpass`: a zero-phase 4th-order Butterworth high-pass (2nd order
  run both ways) against rumble and sub-sonic content;
- :func:`broadband_response`: the response band-limited to the analysed
  bands' span (zero-phase 3rd-order Butterworth high- and low-pass at the
  span's edges, 6 dB down there), A- or C-weighted (IEC 61672-1, applied as
  a zero-phase magnitude in the frequency domain), or unweighted (Z);
- :func:`still_decaying`: whether a response ends before its noise.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from .bands import weighting_gain

__all__ = ["BROADBAND_KINDS", "broadband_response", "highpass", "still_decaying"]

#: The broadband responses ``impulse info`` offers.
BROADBAND_KINDS = ("span", "A", "C", "Z")


def still_decaying(x: np.ndarray) -> bool:
    """Whether the last tenth of a response still decays (its first half 3 dB above its second): no noise floor."""
    tail = np.square(x[int(0.9 * x.size):])
    half = tail.size // 2
    first, second = float(tail[:half].mean()) if half else 0.0, float(tail[half:].mean()) if half else 0.0
    return second > 0 and first > 2 * second


def highpass(data: np.ndarray, rate: float, cutoff: float) -> np.ndarray:
    """``(frames, channels)`` `data` high-passed at `cutoff` Hz, zero-phase (24 dB per octave, -6 dB at `cutoff`)."""
    from scipy.signal import butter, sosfiltfilt

    if not 0 < cutoff < rate / 2:
        raise UsageError(f"the high-pass cut-off must lie between 0 and the Nyquist frequency ({rate / 2:g} Hz), "
                         f"not {cutoff:g} Hz")
    sos = butter(2, cutoff, btype="highpass", fs=rate, output="sos")
    pad = int(np.ceil(8 * rate / cutoff))
    padded = np.pad(data, [(pad, pad), (0, 0)])
    return sosfiltfilt(sos, padded, axis=0, padtype=None)[pad:-pad]


def broadband_response(data: np.ndarray, rate: float, kind: str, span: tuple[float, float]) -> tuple[np.ndarray, str]:
    """The broadband response of ``(frames, channels)`` `data` and its description for the report.

    `kind` is one of :data:`BROADBAND_KINDS`; `span` the lower and upper
    edge in Hz of the analysed bands (the low-pass is left out where the
    upper edge reaches Nyquist).
    """
    if kind == "Z":
        return data, "Z (unweighted)"
    if kind in ("A", "C"):
        n = data.shape[0]
        pad = int(rate)  # the weighting's response dies out within a second
        size = n + 2 * pad
        spectrum = np.fft.rfft(np.pad(data, [(pad, pad), (0, 0)]), size, axis=0)
        gain = weighting_gain(np.fft.rfftfreq(size, 1 / rate), kind)
        gain[0] = 0.0
        out = np.fft.irfft(spectrum * gain[:, None], size, axis=0)[pad:pad + n]
        return out, f"{kind}-weighted (IEC 61672-1, zero-phase)"
    if kind != "span":
        raise UsageError(f"broadband must be one of {', '.join(BROADBAND_KINDS)}, not {kind!r}")
    from scipy.signal import butter, sosfiltfilt

    low, high = span
    sections = [butter(3, low, btype="highpass", fs=rate, output="sos")]
    if high < 0.98 * rate / 2:
        sections.append(butter(3, high, btype="lowpass", fs=rate, output="sos"))
    sos = np.concatenate(sections)
    pad = int(np.ceil(8 * rate / low))
    out = sosfiltfilt(sos, np.pad(data, [(pad, pad), (0, 0)]), axis=0, padtype=None)[pad:-pad]
    top = f"{high:.0f} Hz" if high < 0.98 * rate / 2 else "Nyquist"
    return out, f"the analysed bands' span, {low:.1f} Hz to {top} (zero-phase)"
