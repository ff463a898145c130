"""``synthesize_ir``: each kind against analytic results, scipy's designs and its own definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

import sigconv
from sigconv.errors import UsageError
from sigconv.impulse.bands import OCTAVE_BANDS

RATE = 16000


def test_dirac_and_integer_delay_are_exact():
    assert sigconv.synthesize_ir("dirac", RATE).tolist() == [[1.0]]
    h = sigconv.synthesize_ir("dirac", RATE, length=0.001, channels=2)
    assert h.shape == (16, 2) and h[0].tolist() == [1.0, 1.0] and not h[1:].any()
    h = sigconv.synthesize_ir("delay", RATE, seconds=0.01)
    assert h.shape == (161, 1) and h[160, 0] == 1.0 and h[:160].sum() == 0


@pytest.mark.parametrize("samples", [40.3, 100.5, 257.77])
def test_fractional_delay_delays_band_limited_signals(samples):
    h = sigconv.synthesize_ir("delay", RATE, seconds=samples / RATE)[:, 0]
    n = np.arange(4000)
    freqs = np.array([300.0, 1700.0, 4100.0, 6300.0])  # up to 0.79 x Nyquist
    x = np.sin(2 * np.pi * freqs[:, None] * n / RATE).sum(axis=0)
    expected = np.sin(2 * np.pi * freqs[:, None] * (n - samples) / RATE).sum(axis=0)
    y = np.convolve(x, h)[: n.size]
    steady = slice(400, 3600)
    assert 10 * math.log10(np.mean((y[steady] - expected[steady]) ** 2) / np.mean(expected[steady] ** 2)) < -60
    _, gd = scipy.signal.group_delay((h, [1.0]), w=np.linspace(0.01, 0.8 * np.pi, 200))
    assert np.max(np.abs(gd - samples)) < 0.005


def _decay_time(h: np.ndarray, rate: float) -> float:
    edc = np.cumsum(h[::-1] ** 2)[::-1]
    level = 10 * np.log10(edc / edc[0])
    first, last = int(np.argmax(level <= -5)), int(np.argmax(level <= -35))
    slope = np.polyfit(np.arange(first, last) / rate, level[first:last], 1)[0]
    return -60 / slope


def test_reverb_has_its_rt60_predelay_channels_and_seed():
    h = sigconv.synthesize_ir("reverb", RATE, rt60=0.8, predelay=0.02, channels=2, seed=3)
    assert h.shape == (int(0.02 * RATE) + int(1.2 * RATE), 2)
    assert not h[: int(0.02 * RATE)].any()
    np.testing.assert_allclose(np.sum(h ** 2, axis=0), 1.0)
    for c in (0, 1):
        assert _decay_time(h[int(0.02 * RATE):, c], RATE) == pytest.approx(0.8, rel=0.05)
    assert abs(np.corrcoef(h[:, 0], h[:, 1])[0, 1]) < 0.1
    np.testing.assert_array_equal(h, sigconv.synthesize_ir("reverb", RATE, rt60=0.8, predelay=0.02, channels=2, seed=3))
    assert not np.array_equal(h, sigconv.synthesize_ir("reverb", RATE, rt60=0.8, predelay=0.02, channels=2, seed=4))


def test_reverb_with_an_rt60_per_octave_band():
    rt60 = [2.0, 1.8, 1.6, 1.4, 1.2, 1.0, 0.8]
    rate = 32000  # the 8 kHz band needs it
    h = sigconv.synthesize_ir("reverb", rate, rt60=rt60, seed=11)
    sos_by_band = {}
    for centre, expected in zip(OCTAVE_BANDS, rt60):
        if centre < 500:  # the lowest bands' single-realisation scatter exceeds the tolerance (see test_impulse_info)
            continue
        exact = 1000 * 2.0 ** round(math.log2(centre / 1000))
        sos_by_band[centre] = scipy.signal.butter(3, [exact / math.sqrt(2), exact * math.sqrt(2)], "bandpass",
                                                  fs=rate, output="sos")
        band = scipy.signal.sosfiltfilt(sos_by_band[centre], h[:, 0])
        assert _decay_time(band, rate) == pytest.approx(expected, rel=0.1), centre


def test_fir_filters_are_scipy_firwin_designs_with_the_right_response():
    cases = [("lowpass", 1000.0, True), ("highpass", 3000.0, False), ("bandpass", [500.0, 2000.0], False),
             ("bandstop", [500.0, 2000.0], True)]
    for kind, cutoff, pass_zero in cases:
        h = sigconv.synthesize_ir(kind, RATE, cutoff=cutoff, taps=201)[:, 0]
        np.testing.assert_allclose(h, scipy.signal.firwin(201, cutoff, pass_zero=pass_zero, fs=RATE), atol=1e-15)
        _, response = scipy.signal.freqz(h, worN=[100.0, 1200.0, 5000.0], fs=RATE)
        gain_db = 20 * np.log10(np.abs(response))
        expected_pass = {"lowpass": [True, False, False], "highpass": [False, False, True],
                         "bandpass": [False, True, False], "bandstop": [True, False, True]}[kind]
        for db, passes in zip(gain_db, expected_pass):
            assert (abs(db) < 0.1) if passes else (db < -40), (kind, gain_db)


def test_moving_average_and_gaussian():
    h = sigconv.synthesize_ir("moving-average", RATE, taps=5)[:, 0]
    assert h.tolist() == [0.2] * 5
    sigma = 0.001
    g = sigconv.synthesize_ir("gaussian", RATE, sigma=sigma)[:, 0]
    k = np.arange(g.size) - g.size // 2
    assert g.sum() == pytest.approx(1.0) and g.size % 2 == 1 and int(np.argmax(g)) == g.size // 2
    assert math.sqrt(np.sum(k ** 2 * g)) == pytest.approx(sigma * RATE, rel=0.01)


@pytest.mark.parametrize("kind, kwargs, words", [
    ("wobble", {}, ["unknown", "dirac"]),
    ("delay", {}, ["--seconds"]),
    ("delay", {"seconds": -1.0}, ["delay", "zero or more"]),
    ("reverb", {}, ["--rt60"]),
    ("reverb", {"rt60": [1.0, 2.0]}, ["one per octave band"]),
    ("reverb", {"rt60": -1.0}, ["positive"]),
    ("lowpass", {}, ["--cutoff"]),
    ("lowpass", {"cutoff": 9000.0}, ["Nyquist", "8000"]),
    ("bandpass", {"cutoff": 1000.0}, ["two cut-off"]),
    ("highpass", {"cutoff": 1000.0, "taps": 100}, ["odd", "101"]),
    ("moving-average", {}, ["--taps"]),
    ("gaussian", {}, ["--sigma"]),
])
def test_bad_parameters_are_refused(kind, kwargs, words):
    with pytest.raises(UsageError) as caught:
        sigconv.synthesize_ir(kind, RATE, **kwargs)
    assert all(word in str(caught.value) for word in words), str(caught.value)


@pytest.mark.parametrize("kind, options, words", [
    ("reverb", {"rt60": 1.0, "channels": 100_000}, "--channels must be 1 to 1024"),
    ("reverb", {"rt60": 1.0, "seed": -1}, "--seed"),
    ("reverb", {"rt60": float("nan")}, "finite"),
    ("reverb", {"rt60": 1.0, "predelay": 1e9}, "2\\^31"),
    ("dirac", {"length": 1e9}, "--length"),
    ("delay", {"seconds": float("inf")}, "--seconds"),
    ("lowpass", {"cutoff": float("nan")}, "finite"),
    ("moving-average", {"taps": 10**10}, "--taps"),
    ("gaussian", {"sigma": 1e9}, "--sigma"),
])
def test_non_finite_and_huge_parameters_are_refused_before_any_work(kind, options, words):
    with pytest.raises(UsageError, match=words):
        sigconv.synthesize_ir(kind, 48000, **options)


def test_a_filter_too_long_for_memory_is_refused_with_the_figure(monkeypatch):
    import sigconv.limits

    monkeypatch.setattr(sigconv.limits, "memory_budget", lambda: 10**6)
    with pytest.raises(UsageError, match="lowpass impulse response would need about 16 MB of memory.*--taps"):
        sigconv.synthesize_ir("lowpass", 48000, cutoff=1000, taps=100_001)
    with pytest.raises(UsageError, match="sample rate must be positive and finite"):
        sigconv.synthesize_ir("dirac", float("inf"))
