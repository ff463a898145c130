"""The exponential sine sweep and its inverse filter, against analytic properties computed with numpy/scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

import sigconv
from sigconv.errors import UsageError
from sigconv.impulse.sweep import SweepSpec

RATE = 8000


def test_instantaneous_frequency_rises_exponentially():
    f0, f1, duration = 40.0, 3000.0, 2.0
    x = sigconv.exponential_sweep(RATE, duration, f0, f1, fade=(0.05, 0.01), silence=0.5)
    z = scipy.signal.hilbert(x[: int(duration * RATE)])
    frequency = np.diff(np.unwrap(np.angle(z))) * RATE / (2 * np.pi)
    t = (np.arange(frequency.size) + 0.5) / RATE
    expected = f0 * np.exp(t / (duration / math.log(f1 / f0)))
    middle = slice(int(0.1 * RATE), int(1.9 * RATE))  # away from the fades and Hilbert edge effects
    assert np.max(np.abs(frequency[middle] / expected[middle] - 1)) < 0.005


def test_length_level_fades_and_silence():
    x = sigconv.exponential_sweep(RATE, 1.0, 50, 2000, amplitude_db=-12, fade=(0.1, 0.02), silence=0.25)
    assert x.shape == (RATE + RATE // 4,)
    assert np.max(np.abs(x)) == pytest.approx(10 ** (-12 / 20), rel=1e-3)
    assert np.all(x[RATE:] == 0)
    assert x[0] == 0 and abs(x[RATE - 1]) < 1e-3
    # during the fade-in the envelope stays below the half-Hann curve
    n_fade = int(0.1 * RATE)
    ramp = 10 ** (-12 / 20) * (0.5 - 0.5 * np.cos(np.pi * np.arange(n_fade) / n_fade))
    assert np.all(np.abs(x[:n_fade]) <= ramp + 1e-12)


def test_spectrum_is_pink_inside_the_band():
    x = sigconv.exponential_sweep(RATE, 4.0, 20, 3800, fade=(0.05, 0.01), silence=0)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    per_octave = [power[(freqs >= lo) & (freqs < 2 * lo)].sum() for lo in (50, 100, 200, 400, 800, 1600)]
    levels = 10 * np.log10(per_octave)
    assert np.ptp(levels) < 0.5  # equal energy per octave: -3 dB per octave in density


def test_sweep_convolved_with_its_inverse_is_a_flat_band_limited_impulse():
    f0, f1 = 50.0, 3500.0
    x = sigconv.exponential_sweep(RATE, 2.0, f0, f1, silence=0)
    inverse = sigconv.inverse_sweep(RATE, 2.0, f0, f1)
    assert inverse.size == x.size
    y = scipy.signal.fftconvolve(x, inverse)
    assert int(np.argmax(np.abs(y))) == inverse.size - 1
    gain = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(y.size, 1 / RATE)
    band = (freqs > 2 * f0) & (freqs < f1 / 1.5)
    levels = 20 * np.log10(gain[band])
    assert np.max(np.abs(levels)) < 0.3


@pytest.mark.parametrize("kwargs, words", [
    ({"f1": 5000}, ["f1", "Nyquist", "4000"]),
    ({"f0": 3000, "f1": 3000}, ["f0", "below"]),
    ({"f0": 0}, ["f0", "positive"]),
    ({"duration": 0}, ["duration", "positive"]),
    ({"duration": -1}, ["duration", "positive"]),
    ({"amplitude_db": 3}, ["amplitude", "0 dBFS"]),
    ({"fade": (0.8, 0.5)}, ["fades", "fit"]),
    ({"silence": -1}, ["silence"]),
])
def test_out_of_range_parameters_are_refused(kwargs, words):
    params = {"rate": RATE, "duration": 1.0, "f0": 50, "f1": 3000, **kwargs}
    with pytest.raises(UsageError) as caught:
        sigconv.exponential_sweep(**params)
    assert caught.value.exit_code == 2
    assert all(word in str(caught.value) for word in words)


def test_harmonic_delay_is_L_ln_k():
    spec = SweepSpec(RATE, 3.0, 30, 3000)
    assert spec.sweep_rate == pytest.approx(3.0 / math.log(100))
    assert spec.harmonic_delay(3) == pytest.approx(3.0 / math.log(100) * math.log(3))


@pytest.mark.parametrize("options, words", [
    ({"duration": float("nan")}, "--duration must be a finite number"),
    ({"rate": float("inf")}, "--rate must be a finite number"),
    ({"silence": float("inf")}, "--silence must be a finite number"),
    ({"duration": 1e9}, r"4\.8e\+13 frames long.*2\^31.*--duration"),
    ({"rate": 1e12, "f1": 1000.0}, "2\\^31.*--rate"),
])
def test_non_finite_and_huge_sweeps_are_refused(options, words):
    with pytest.raises(UsageError, match=words):
        SweepSpec(**options)
