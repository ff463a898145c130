"""The keep mode, --align and the mix levels of sigconv.convolve (arrays) against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import sigconv
from sigconv.compute.onsets import ir_onset
from sigconv.convolution.alignment import same_mode_warning
from sigconv.errors import UsageError
from sigconv.loudness import integrated_loudness, true_peak


@pytest.fixture
def hall():
    """A causal, reverb-like IR: 30 samples of near-silence, a direct sound, a decaying tail."""
    rng = np.random.default_rng(4)
    h = rng.standard_normal(2000) * 0.3 * np.exp(-np.arange(2000) / 300)
    h[:30] *= 1e-4
    h[30] = 1.0
    return h


@pytest.fixture
def x():
    return np.random.default_rng(5).standard_normal(3000)


def test_keep_is_the_first_n_frames_of_full(x, hall):
    expected = scipy.signal.fftconvolve(x, hall)[: x.size]
    np.testing.assert_allclose(sigconv.convolve(x, hall, "keep"), expected, atol=1e-10)
    for backend in ("direct", "fft"):
        np.testing.assert_allclose(sigconv.convolve(x, hall, "keep", backend=backend), expected, atol=1e-10)
    # shorter input than IR too
    np.testing.assert_allclose(sigconv.convolve(x[:50], hall, "keep"), scipy.signal.fftconvolve(x[:50], hall)[:50],
                               atol=1e-12)


def test_a_prepared_convolver_keeps_too(x, hall):
    y = sigconv.Convolver(hall, mode="keep")(x)
    np.testing.assert_allclose(y, scipy.signal.fftconvolve(x, hall)[: x.size], atol=1e-10)


def test_align_dry_keeps_the_dry_at_time_zero_and_pulls_the_wet_earlier(x, hall):
    onset = ir_onset(hall)
    assert onset == 30
    y = sigconv.convolve(x, hall, "keep", wet=0.5, dry=0.8, align="dry")
    expected = 0.5 * scipy.signal.fftconvolve(x, hall)[onset:onset + x.size] + 0.8 * x
    np.testing.assert_allclose(y, expected, atol=1e-10)
    # dry only: the input itself
    np.testing.assert_allclose(sigconv.convolve(x, hall, "keep", wet=0, dry=1, align="dry"), x, atol=1e-12)
    # wet alignment (the default) delays the dry path by the onset instead; none leaves both where they are
    wet = sigconv.convolve(x, hall, "keep", wet=0.5, dry=1)
    expected = 0.5 * scipy.signal.fftconvolve(x, hall)[: x.size]
    expected[onset:] += x[:-onset]
    np.testing.assert_allclose(wet, expected, atol=1e-10)
    none = sigconv.convolve(x, hall, "keep", wet=0.5, dry=1, align="none")
    np.testing.assert_allclose(none, 0.5 * scipy.signal.fftconvolve(x, hall)[: x.size] + x, atol=1e-10)
    # the alignment does not depend on the levels: the mix is the sum of its parts under every alignment
    for align in ("wet", "dry", "none"):
        parts = (sigconv.convolve(x, hall, "keep", wet=0.5, align=align)
                 + sigconv.convolve(x, hall, "keep", wet=0, dry=1, align=align))
        np.testing.assert_allclose(sigconv.convolve(x, hall, "keep", wet=0.5, dry=1, align=align), parts, atol=1e-10)


def test_align_dry_in_full_mode_drops_the_onset_only(x, hall):
    y = sigconv.convolve(x, hall, "full", align="dry")
    np.testing.assert_allclose(y, scipy.signal.fftconvolve(x, hall)[ir_onset(hall):], atol=1e-10)


def test_align_dry_is_refused_where_the_mode_fixes_the_window(x, hall):
    with pytest.raises(UsageError, match="--mode keep"):
        sigconv.convolve(x, hall, "same", align="dry")


def test_same_mode_warning_names_what_a_causal_ir_loses(hall):
    message = same_mode_warning(hall, 8000)
    assert "first 999 frames" in message and "--mode keep" in message
    # a linear-phase kernel is centred: same is what it is for
    assert same_mode_warning(scipy.signal.firwin(101, 0.3)) is None


def test_predelay_takes_units(x, hall):
    by_samples = sigconv.convolve(x, hall, predelay=80)
    np.testing.assert_array_equal(sigconv.convolve(x, hall, predelay="10ms", rate=8000), by_samples)
    np.testing.assert_array_equal(sigconv.convolve(x, hall, predelay="80smp"), by_samples)
    with pytest.raises(UsageError, match="rate"):
        sigconv.convolve(x, hall, predelay="10ms")


def test_ceiling_is_the_last_gain_and_never_raises(x, hall):
    loud = sigconv.convolve(x, hall, gain_db=12.0)
    capped = sigconv.convolve(x, hall, gain_db=12.0, ceiling="-1dBTP")
    np.testing.assert_allclose(capped, loud * (10 ** (-1 / 20) / true_peak(loud)), rtol=1e-10)
    sample = sigconv.convolve(x, hall, gain_db=12.0, ceiling="-0.5dBFS")
    assert np.max(np.abs(sample)) == pytest.approx(10 ** (-0.5 / 20))
    quiet = sigconv.convolve(x, hall, gain_db=-40.0)
    np.testing.assert_array_equal(sigconv.convolve(x, hall, gain_db=-40.0, ceiling="-1dBTP"), quiet)
    # combined with a normalization: the normalized result, then lowered to the ceiling
    matched = sigconv.convolve(x, hall, normalize="rms-match")
    both = sigconv.convolve(x, hall, normalize="rms-match", ceiling="-1dBTP")
    np.testing.assert_allclose(both, matched * min(1.0, 10 ** (-1 / 20) / true_peak(matched)), rtol=1e-10)


def test_lufs_normalization_reaches_the_target(hall):
    x = np.random.default_rng(6).standard_normal((16000, 2)) * 0.1
    y = sigconv.convolve(x, hall, normalize="lufs", target_lufs=-20.0, rate=8000)
    assert integrated_loudness(y, 8000) == pytest.approx(-20.0, abs=1e-6)
    with pytest.raises(UsageError, match="rate"):
        sigconv.convolve(x, hall, normalize="lufs")
    with pytest.raises(UsageError, match="LUFS"):
        sigconv.convolve(x, hall, normalize="lufs", target_lufs=5, rate=8000)
