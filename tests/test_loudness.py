"""Loudness (BS.1770-4) and true peak (Annex 2) against analytic cases and independent meters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from sigconv.loudness import LoudnessMeter, TruePeakMeter, integrated_loudness, true_peak


def sine(freq, seconds, rate, db, phase=0.0):
    t = np.arange(int(seconds * rate)) / rate
    return 10 ** (db / 20) * np.sin(2 * np.pi * freq * t + phase)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_ebu_tech_3341_case_1_stereo_1khz_at_minus_23_dbfs_is_minus_23_lufs(rate):
    # EBU Tech 3341, test 1: a 1 kHz sine at -23 dBFS in both channels reads -23.0 LUFS (+-0.1)
    x = sine(1000, 5, rate, -23)
    assert integrated_loudness(np.column_stack([x, x]), rate) == pytest.approx(-23.0, abs=0.1)


def test_ebu_tech_3341_case_2_minus_33_and_gating_of_silence():
    rate = 48000
    x = sine(1000, 5, rate, -33)
    assert integrated_loudness(np.column_stack([x, x]), rate) == pytest.approx(-33.0, abs=0.1)
    # silence is gated out (absolute gate, -70 LUFS): 5 s of it would read -36 LUFS ungated; only the three
    # blocks that straddle the end of the tone (partly loud, so kept) lower the result a little
    padded = np.concatenate([x, np.zeros(5 * rate)])
    assert integrated_loudness(np.column_stack([padded, padded]), rate) == pytest.approx(-33.0, abs=0.2)


def test_relative_gate_of_ebu_tech_3341_case_3():
    # -36 dBFS 10 s, -23 dBFS 60 s, -36 dBFS 10 s: the quiet parts fall below the relative gate: -23 LUFS
    rate = 16000
    x = np.concatenate([sine(1000, 10, rate, -36), sine(1000, 60, rate, -23), sine(1000, 10, rate, -36)])
    assert integrated_loudness(np.column_stack([x, x]), rate) == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("rate, channels", [(48000, 2), (44100, 1), (22050, 5)])
def test_loudness_equals_pyloudnorm(rate, channels):
    pyloudnorm = pytest.importorskip("pyloudnorm")
    rng = np.random.default_rng(rate + channels)
    x = scipy.signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal((3 * rate, channels)), axis=0) * 0.05
    x[: rate // 2] *= 1e-3  # a quiet start, gated out
    # pyloudnorm's "DeMan" filter is the rate-independent K-weighting design that sigconv uses
    expected = pyloudnorm.Meter(rate, filter_class="DeMan").integrated_loudness(x)
    assert integrated_loudness(x, rate) == pytest.approx(expected, abs=1e-6)


def test_streamed_blocks_measure_what_the_whole_array_does():
    rate, rng = 48000, np.random.default_rng(3)
    x = rng.standard_normal((rate * 2 + 777, 2)) * 0.1
    whole_loudness, whole_peak = integrated_loudness(x, rate), true_peak(x)
    loudness, peak = LoudnessMeter(rate, 2), TruePeakMeter(2)
    for lo, hi in zip([0, 1, 4000, 4001, 60000], [1, 4000, 4001, 60000, x.shape[0]]):
        loudness.push(x[lo:hi])
        peak.push(x[lo:hi])
    assert loudness.loudness() == pytest.approx(whole_loudness, abs=1e-9)
    assert peak.finish() == whole_peak


def test_true_peak_finds_the_peak_between_samples():
    # fs/4 at 45 degrees: every sample at 1/sqrt(2) of the waveform's peak (the +3 dB inter-sample case)
    x = sine(12000, 0.1, 48000, 0.0, phase=np.pi / 4)
    assert np.max(np.abs(x)) == pytest.approx(2 ** -0.5)
    assert 20 * np.log10(true_peak(x)) == pytest.approx(0.0, abs=0.2)


def test_true_peak_agrees_with_a_long_polyphase_interpolator():
    rng = np.random.default_rng(9)
    b = scipy.signal.firwin(101, 0.7)  # band-limited to 0.35 fs, where the Annex 2 filter is accurate
    x = scipy.signal.lfilter(b, [1.0], rng.standard_normal((20000, 2)), axis=0)
    x /= np.max(np.abs(x))
    oversampled = scipy.signal.resample_poly(x, 8, 1, axis=0)
    assert 20 * np.log10(true_peak(x)) == pytest.approx(20 * np.log10(np.max(np.abs(oversampled))), abs=0.15)
    assert true_peak(x) >= np.max(np.abs(x))


def test_true_peak_equals_the_annex_2_filter_run_everywhere():
    # upfirdn runs the same 48-tap filter over every sample: the meter's skipping of quiet stretches changes nothing
    from sigconv.loudness import TRUE_PEAK_TAPS

    rng = np.random.default_rng(11)
    for _ in range(3):
        x = rng.standard_normal((6000, 2)) * np.linspace(0.05, 1.0, 6000)[:, None] ** 3
        everywhere = max(np.max(np.abs(scipy.signal.upfirdn(TRUE_PEAK_TAPS.T.ravel(), x[:, c], 4))) for c in range(2))
        assert true_peak(x) == pytest.approx(max(everywhere, np.max(np.abs(x))), rel=1e-12)
