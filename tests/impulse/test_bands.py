"""Band filters against IEC 61260-1:2014's class 1 limits, and the choice of nominal band centres."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

import sigconv
from sigconv.impulse.bands import (
    OCTAVE_CENTRES,
    THIRD_OCTAVE_CENTRES,
    band_filter,
    band_sos,
    default_bands,
    resolve_bands,
)

# IEC 61260-1:2014 Table 1, class 1: relative attenuation limits (dB) at the normalised frequencies G**x of an
# octave filter, x >= 0 (the same below the mid-band frequency). At the band edge (x = 1/2) the attenuation must
# lie between the stop-band's minimum (+1.2) and the pass-band's maximum (+5.3).
BREAKPOINTS = (0, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 1, 2, 3, 4)
LOWER = (-0.4, -0.4, -0.4, -0.4, 1.2, 16.6, 40.5, 60.0, 70.0)
UPPER = (0.4, 0.5, 0.7, 1.4, 5.3, math.inf, math.inf, math.inf, math.inf)
G = 2.0  # base-2 mid-band frequencies


def breakpoint_ratio(x: float, b: int) -> float:
    """f / fm of the octave breakpoint G**x for a 1/b-octave filter (IEC 61260-1:2014, 5.10, eq. for Omega_b)."""
    octave = G ** x
    return 1 + (G ** (1 / (2 * b)) - 1) / (G ** 0.5 - 1) * (octave - 1)


def relative_attenuation(sos, rate: float, freqs, passes: int) -> np.ndarray:
    _, response = scipy.signal.sosfreqz(sos, np.asarray(freqs), fs=rate)
    with np.errstate(divide="ignore"):
        return -passes * 20 * np.log10(np.abs(response))


@pytest.mark.parametrize("mode, passes", [("zero-phase", 2), ("reversed", 1)])
@pytest.mark.parametrize("rate", [44100, 48000, 8000])
@pytest.mark.parametrize("b", [1, 3])
def test_band_filters_meet_iec_61260_class_1_at_the_breakpoints(mode, passes, rate, b):
    centres = [f for f in (OCTAVE_CENTRES if b == 1 else THIRD_OCTAVE_CENTRES)
               if 1000 * 2 ** (round(b * math.log2(f / 1000)) / b) * 2 ** (1 / (2 * b)) < 0.98 * rate / 2]
    checked = 0
    for nominal in centres:
        fm = 1000 * 2 ** (round(b * math.log2(nominal / 1000)) / b)
        sos = band_sos(nominal, rate, b, mode)
        for x, low, high in zip(BREAKPOINTS, LOWER, UPPER):
            ratio = breakpoint_ratio(x, b)
            freqs = [f for f in (fm * ratio, fm / ratio) if f < rate / 2]
            attenuation = relative_attenuation(sos, rate, freqs, passes)
            assert np.all(attenuation >= low - 1e-9) and np.all(attenuation <= high + 1e-9), (nominal, x, attenuation)
            checked += len(freqs)
    assert checked > 50


def test_zero_phase_band_has_no_delay_and_reversed_band_rings_before_its_impulse():
    rate = 16000
    x = np.zeros(rate)
    x[rate // 2] = 1.0
    zero = band_filter(x, rate, 1000)
    reversed_ = band_filter(x, rate, 1000, mode="reversed")
    assert np.argmax(np.abs(zero)) == rate // 2
    assert np.allclose(zero[rate // 2 - 400: rate // 2], zero[rate // 2 + 400: rate // 2: -1])  # symmetric
    assert np.sum(reversed_[rate // 2 + 1:] ** 2) < 1e-6 * np.sum(reversed_ ** 2)  # nothing after the impulse


def test_default_bands_span_63_hz_to_16_khz_below_nyquist():
    assert default_bands(48000) == (63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)
    assert default_bands(44100)[-1] == 8000  # 16 kHz reaches 22.6 kHz, above 0.98 x 22.05 kHz
    third = default_bands(48000, 3)
    assert third[0] == 31.5 and third[-1] == 16000 and len(third) == 28


def test_centres_are_never_snapped():
    assert resolve_bands((100, 125, 160, 200), 48000) == ((100, 125, 160, 200), 3)
    assert resolve_bands((125, 250), 48000) == ((125, 250), 1)
    with pytest.raises(sigconv.UsageError, match=r"100 Hz is not a nominal octave-band centre \(nearest: 63 Hz or "
                                                  r"125 Hz\); for third octaves"):
        resolve_bands((100, 125), 48000, fraction=1)
    with pytest.raises(sigconv.UsageError, match=r"1100 Hz is not a nominal third-octave-band centre \(nearest: "
                                                  r"1000 Hz or 1250 Hz\)"):
        resolve_bands((1100,), 48000)
    with pytest.raises(sigconv.UsageError, match="not a nominal"):
        sigconv.impulse_info(np.eye(1, 8000)[0], 8000, bands=(120,))


def test_third_octave_bands_give_their_own_decay_times(rng):
    """Decaying noise with a different RT60 in two third-octave bands, separated by brick-wall FFT filters."""
    rate = 16000
    t = np.arange(3 * rate) / rate
    freqs = np.fft.rfftfreq(t.size, 1 / rate)
    h = np.zeros(t.size)
    for centre, rt60 in ((400, 1.2), (1000, 0.5)):
        noise = np.fft.rfft(rng.standard_normal(t.size))
        fm = 1000 * 2 ** (round(3 * math.log2(centre / 1000)) / 3)
        noise[(freqs < fm * 2 ** (-1 / 12)) | (freqs > fm * 2 ** (1 / 12))] = 0  # the middle half of the band
        h += np.fft.irfft(noise, t.size) * 10 ** (-3 * t / rt60)
    bands = sigconv.impulse_info(h, rate, bands=(400, 1000), fraction=3).channels[0].bands
    assert bands["400"].values["T30"] == pytest.approx(1.2, rel=0.05)
    assert bands["1000"].values["T30"] == pytest.approx(0.5, rel=0.05)
