"""sigconv.correlation.delays and sigconv.correlation.peaks: scipy as the oracle for cc, analytic delays for the rest.

Delayed signals are made independently of the code under test: whole-sample
delays by slicing a longer noise, fractional ones by a linear phase shift
of the spectrum of broadband noise (band-limited, exact up to rounding).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

from sigconv import (
    BackendUnavailableError,
    InvalidSignalError,
    NoCorrelationPeakError,
    NoReliableDelayError,
    UsageError,
    correlate,
)
from sigconv.correlation.delays import lag_window
from sigconv.correlation.peaks import bandlimited_peak, bandlimited_value, parabolic_offset, peak_confidence


def oracle(a, b):
    """scipy's direct correlation with its lags, in sigconv's sign convention (B after A is positive)."""
    return scipy.signal.correlate(b, a, mode="full", method="direct"), scipy.signal.correlation_lags(len(b), len(a))


def broadband(rng, n):
    """White noise without a Nyquist component (so that fractional shifts of it are real)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    if n % 2 == 0:
        spectrum[-1] = 0
    return np.fft.irfft(spectrum, n)


def shifted(x, d):
    """``x`` delayed by ``d`` samples (circularly) by a linear phase shift of its spectrum."""
    spectrum = np.fft.rfft(x)
    spectrum *= np.exp(-2j * np.pi * np.arange(spectrum.size) * d / x.size)
    return np.fft.irfft(spectrum, x.size)


def delayed_pair(rng, n, d, guard=4096):
    """``(a, b)`` of ``n`` frames each, ``b`` being ``a`` delayed by ``d`` (any real number, |d| < guard)."""
    source = broadband(rng, n + 2 * guard)
    return source[guard : guard + n], shifted(source, d)[guard : guard + n]


def with_noise(rng, x, snr_db):
    return x + rng.standard_normal(x.shape) * np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10))


# --- cc against scipy ------------------------------------------------------------------------------------------


@given(na=st.integers(1, 90), nb=st.integers(1, 90), seed=st.integers(0, 2**16), window=st.booleans(),
       block=st.one_of(st.none(), st.integers(1, 40)), data=st.data())
def test_cc_equals_scipy_for_all_lengths_windows_and_both_forms(na, nb, seed, window, block, data):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(na), rng.standard_normal(nb)
    expected, lags = oracle(a, b)
    lag_range = None
    if window:
        lo = data.draw(st.integers(-(na - 1), nb - 1))
        hi = data.draw(st.integers(lo, nb - 1))
        lag_range = (lo, hi)
        keep = (lags >= lo) & (lags <= hi)
        expected, lags = expected[keep], lags[keep]
    result = correlate(a, b, method="cc", refine="none", lag_range=lag_range, block=block)
    np.testing.assert_array_equal(result.lags, lags)
    np.testing.assert_allclose(result.values[:, 0], expected, atol=1e-9 * max(1.0, np.abs(expected).max()))
    # the largest value of the polarity that the GCC-PHAT correlation's strongest arrival has
    pair = result.pairs[0]
    assert pair.lag == lags[np.argmax(pair.polarity * expected)]


def test_settling_in_a_window_keeps_the_polarity_of_the_whole_range():
    """A case the property above found: the window's own GCC-PHAT pointed the other way than the whole range's."""
    rng = np.random.default_rng(8355)
    a, b = rng.standard_normal(25), rng.standard_normal(70)
    expected, lags = oracle(a, b)
    pair = correlate(a, b, method="cc", refine="none").pairs[0]
    assert pair.lag == lags[np.argmax(pair.polarity * expected)]


@given(na=st.integers(2, 60), nb=st.integers(2, 60), seed=st.integers(0, 2**16))
def test_orderings_mirror_each_other(na, nb, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(na), rng.standard_normal(nb)
    forward = correlate(a, b, method="cc", refine="none")
    backward = correlate(b, a, method="cc", refine="none")
    np.testing.assert_array_equal(forward.lags, -backward.lags[::-1])
    np.testing.assert_allclose(forward.values[:, 0], backward.values[::-1, 0], atol=1e-9 * na * nb)


def test_normalized_cc_is_the_coefficient(rng):
    a = rng.standard_normal(700)
    b = rng.standard_normal(500)
    expected, lags = oracle(a, b)
    expected /= np.sqrt(np.sum(a**2) * np.sum(b**2))
    result = correlate(a, b, method="cc", normalize=True)
    np.testing.assert_allclose(result.values[:, 0], expected, atol=1e-12)
    assert np.abs(result.values).max() <= 1.0
    same = correlate(a, 3.0 * a, method="cc", normalize=True, max_lag=5)
    assert same.values[5, 0] == pytest.approx(1.0) and same.pairs[0].delay_samples == pytest.approx(0.0, abs=1e-6)
    inverted = correlate(a, -a, method="cc", normalize=True, max_lag=5)
    assert inverted.values[5, 0] == pytest.approx(-1.0)


def test_normalized_cc_block_form_drains_b(rng):
    a, b = rng.standard_normal(3000), rng.standard_normal(5000)
    whole = correlate(a, b, method="cc", normalize=True, max_lag=30)
    blocks = correlate(a, b, method="cc", normalize=True, max_lag=30, block=257)
    np.testing.assert_allclose(blocks.values, whole.values, atol=1e-12)


# --- analytic delays --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["gcc-phat", "scot", "cc"])
@pytest.mark.parametrize("d", [-37, 0, 5, 1234])
def test_whole_sample_delay_and_its_sign(rng, method, d):
    source = rng.standard_normal(12000)
    a = source[2000:10000]
    b = source[2000 - d : 10000 - d]  # b[n] = a[n - d]: B is A delayed by d
    estimate = correlate(a, b, rate=8000.0, method=method).pairs[0]
    assert estimate.lag == d
    assert estimate.delay_samples == pytest.approx(d, abs=0.01 if method != "cc" else 0.05)
    assert estimate.delay_seconds == pytest.approx(d / 8000, abs=1e-5)
    assert estimate.confidence > 3


def test_b_is_a_with_leading_silence(rng):
    a = rng.standard_normal(5000)
    b = np.concatenate([np.zeros(321), a, np.zeros(17)])
    assert correlate(a, b).pairs[0].delay_samples == pytest.approx(321, abs=1e-6)
    assert correlate(b, a).pairs[0].delay_samples == pytest.approx(-321, abs=1e-6)  # the other way round


@pytest.mark.parametrize("method, tolerance", [("gcc-phat", 0.05), ("scot", 0.05), ("cc", 0.05)])
def test_fractional_delay_at_20_db_snr(method, tolerance):
    """The issue's accuracy target: at most 0.05 samples of error on broadband noise at 20 dB SNR."""
    errors = []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        for d in (0.25, 3.5, -7.3, 100.71):
            a, b = delayed_pair(rng, 16384, d)
            a, b = with_noise(rng, a, 20), with_noise(rng, b, 20)
            errors.append(correlate(a, b, method=method).pairs[0].delay_samples - d)
    assert np.max(np.abs(errors)) <= tolerance


def test_bandlimited_refinement_beats_the_parabola_on_a_sharp_peak(rng):
    a, b = delayed_pair(rng, 8192, 10.4)
    parabolic = correlate(a, b, refine="parabolic").pairs[0].delay_samples
    bandlimited = correlate(a, b, refine="bandlimited").pairs[0].delay_samples
    whole = correlate(a, b, refine="none").pairs[0].delay_samples
    assert whole == 10.0
    assert abs(bandlimited - 10.4) < 1e-3 < abs(parabolic - 10.4)


def room_ir(rng, rate, rt60=0.5, length=0.6, direct_to_reverb_db=-6.0):
    """A synthetic room: a direct sound at sample 0, then exponentially decaying noise from 3 ms on."""
    n = int(length * rate)
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)
    tail[: int(0.003 * rate)] = 0
    tail *= np.sqrt(10 ** (-direct_to_reverb_db / 10) / np.sum(tail**2))
    tail[0] = 1.0
    return tail


@pytest.mark.parametrize("d", [240, 1001])
def test_reverberation_direct_path(rng, d):
    """B is A played in a room (more reverberant than direct energy) and delayed: the direct path is found."""
    rate = 16000
    sos = scipy.signal.butter(4, 3000, fs=rate, output="sos")  # speech-like: most energy low
    a = scipy.signal.sosfilt(sos, rng.standard_normal(3 * rate))
    wet = scipy.signal.fftconvolve(a, room_ir(rng, rate))[: a.size]
    b = np.concatenate([np.zeros(d), wet])[: a.size]
    b = with_noise(rng, b, 30)
    estimate = correlate(a, b, rate=rate).pairs[0]
    assert abs(estimate.delay_samples - d) < 0.25
    assert estimate.confidence > 1.5


def test_multichannel_time_differences(rng):
    delays = [0.0, 2.5, -3.25, 17.0]
    source = broadband(rng, 20000)
    a = np.stack([source, rng.standard_normal(source.size)], axis=1)[4000:16000]  # reference: channel 0
    b = np.stack([shifted(source, d) for d in delays], axis=1)[4000:16000]
    b = with_noise(rng, b, 30)
    result = correlate(a, b, ref_channel=0)
    assert [p.channel for p in result.pairs] == [0, 1, 2, 3]
    np.testing.assert_allclose([p.delay_samples for p in result.pairs], delays, atol=0.02)
    assert result.values.shape == (result.hi - result.lo + 1, 4)
    # a microphone array in one file: every channel against channel 1
    array = np.stack([shifted(source, d) for d in delays], axis=1)
    tdoa = correlate(array, array, ref_channel=1, max_lag=50)
    np.testing.assert_allclose([p.delay_samples for p in tdoa.pairs], np.array(delays) - delays[1], atol=0.02)


# --- search windows ---------------------------------------------------------------------------------------------


def test_windows_min_lag_and_signed_range(rng):
    a = rng.standard_normal(6000)
    b = a + 0.5 * np.concatenate([np.zeros(300), a[:-300]])  # crosstalk at lag 0, the echo at +300
    assert correlate(a, b).pairs[0].lag == 0
    assert correlate(a, b, min_lag=10).pairs[0].lag == 300
    assert correlate(a, b, lag_range=(200, 400)).pairs[0].lag == 300
    windowed = correlate(a, b, rate=1000.0, max_lag=0.1)
    assert (windowed.lo, windowed.hi) == (-100, 100) and windowed.lags.size == 201
    walk = np.cumsum(a)  # a random walk: its correlation rises over hundreds of lags towards the peak
    edge = correlate(walk, np.concatenate([np.zeros(150), walk]), method="cc", max_lag=100).pairs[0]
    assert edge.at_edge and edge.lag == 100  # the true delay (150) lies outside the window


def test_block_form_finds_the_same_delay(rng):
    a, b = delayed_pair(rng, 200_000, 55.3)
    whole = correlate(a, b, max_lag=100, block=10**9).pairs[0]
    blocks = correlate(a, b, max_lag=100).pairs[0]  # 200k frames against 201 lags: block by block
    assert whole.delay_samples == pytest.approx(55.3, abs=0.01)
    assert blocks.delay_samples == pytest.approx(55.3, abs=0.01)


def test_lag_window_rules():
    assert lag_window(10, 20) == (-9, 19, 0)
    assert lag_window(10, 20, 2.0, lag_range=(-1.2, 3.0)) == (-2, 6, 0)
    assert lag_window(10, 20, max_lag=100) == (-9, 19, 0)  # clipped to where the signals overlap
    for kwargs, message in [
        ({"max_lag": -1}, "--max-lag must be zero or more"),
        ({"lag_range": (2, 1)}, "is empty"),
        ({"lag_range": (1, 2), "max_lag": 3}, "either --max-lag or --lag-range"),
        ({"lag_range": (30, 40)}, "holds no lag"),
        ({"max_lag": 5, "min_lag": 6}, "leaves no lag"),
    ]:
        with pytest.raises(UsageError, match=message):
            lag_window(10, 20, **kwargs)


# --- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signal", [np.zeros(100), np.full(100, 0.25)])
def test_silence_or_constant_has_no_peak(rng, signal):
    with pytest.raises(NoCorrelationPeakError, match="silent|constant"):
        correlate(signal, rng.standard_normal(100))
    with pytest.raises(NoCorrelationPeakError):
        correlate(rng.standard_normal(100), np.stack([rng.standard_normal(100), signal], axis=1))
    with pytest.raises(NoCorrelationPeakError):
        correlate(np.resize(signal, 1000), rng.standard_normal(5000), max_lag=10, block=100)  # block by block too


def test_an_impulse_is_not_constant(rng):
    h = rng.standard_normal(50)
    h[20] = 5.0
    assert correlate([1.0], h, method="cc").pairs[0].lag == 20


def test_nan_and_inf_are_rejected(rng):
    x = rng.standard_normal(100)
    x[7] = np.nan
    with pytest.raises(InvalidSignalError, match="NaN"):
        correlate(x, rng.standard_normal(100))
    with pytest.raises(InvalidSignalError):
        correlate(rng.standard_normal(100), np.full(100, np.inf))


def test_unrelated_signals_are_not_reliable():
    confidences = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        result = correlate(rng.standard_normal(8000), rng.standard_normal(8000))
        confidences.append(result.pairs[0].confidence)
    assert max(confidences) < 1.5
    rng = np.random.default_rng(0)
    with pytest.raises(NoReliableDelayError, match="no reliable delay.*--min-confidence 1.5"):
        correlate(rng.standard_normal(8000), rng.standard_normal(8000), min_confidence=1.5)


def test_option_errors(rng):
    x = rng.standard_normal(100)
    with pytest.raises(UsageError, match="--normalize applies to --method cc"):
        correlate(x, x, normalize=True)
    with pytest.raises(UsageError, match="unknown correlation method"):
        correlate(x, x, method="phat")
    with pytest.raises(UsageError, match="--ref-channel 2 does not exist"):
        correlate(x, x, ref_channel=2)
    with pytest.raises(UsageError, match="unknown refinement"):
        correlate(x, x, refine="cubic")


# --- peaks --------------------------------------------------------------------------------------------------------


def test_parabola_and_bandlimited_interpolant():
    assert parabolic_offset(1.0, 2.0, 1.0) == 0.0
    x = np.array([0.0, 1.0, 3.0, 2.0])  # parabola through (-1, 1), (0, 3), (1, 2): vertex at +1/6
    assert parabolic_offset(*x[1:]) == pytest.approx(1 / 6)
    rng = np.random.default_rng(3)
    y = rng.standard_normal(33)
    spectrum = np.fft.rfft(y)
    for t in (0, 5, 32, -1):
        assert bandlimited_value(spectrum, 33, t) == pytest.approx(y[t % 33], abs=1e-12)
    for centre in (100.0, 100.25, 100.5, 99.93, -3.7):
        spectrum = np.exp(-2j * np.pi * np.arange(129) * centre / 256)  # a periodic sinc peaked at `centre`
        spectrum[128] = 0
        peak = np.fft.irfft(spectrum, 256)
        position, value = bandlimited_peak(spectrum, 256, int(np.argmax(peak)))
        assert position % 256 == pytest.approx(centre % 256, abs=1e-6)
        assert value == pytest.approx(255 / 256, abs=1e-6)


def test_confidence_measure():
    values = np.zeros(100)
    values[50], values[51], values[49] = 1.0, 0.6, 0.5  # main lobe
    values[55] = 0.9  # inside the 8-sample guard: not a rival
    values[80] = -0.25  # the largest magnitude outside
    rated = peak_confidence(values, 50)
    assert rated.confidence == pytest.approx(4.0) and rated.runner_up == 80
    assert peak_confidence(values, 50, guard=2).confidence == pytest.approx(1 / 0.9)
    assert peak_confidence(values[45:56], 5).confidence is None  # nothing outside the neighbourhood


@pytest.mark.parametrize("in_place_from", [1, 1 << 60])
def test_long_transforms_in_place_give_the_same_results(monkeypatch, rng, in_place_from):
    """Long whole-signal transforms run in place (FFTW's whole transform); short ones copy."""
    import sigconv.compute.fftw

    if in_place_from == 1 and not sigconv.compute.fftw.pyfftw_available():
        pytest.skip("pyFFTW is not installed: there is no in-place transform to test")
    monkeypatch.setattr(sigconv.compute.fftw, "_IN_PLACE_FROM", in_place_from)
    a, b = rng.standard_normal(3000), rng.standard_normal((2500, 2))
    result = correlate(a, b, method="cc", refine="none", backend="fft")
    for channel in range(2):
        expected, lags = oracle(a, b[:, channel])
        np.testing.assert_array_equal(result.lags, lags)
        np.testing.assert_allclose(result.values[:, channel], expected, atol=1e-9)
    x, y = delayed_pair(rng, 6000, -21.37)
    estimate = correlate(x, y, max_lag=100, backend="fft").pairs[0]  # rotated window, band-limited refinement
    assert estimate.delay_samples == pytest.approx(-21.37, abs=1e-3)


# --- backends -----------------------------------------------------------------------------------------------------



def assert_same_correlation(result, reference):
    """Same lags and whole-sample peaks, values within 1e-9 of the peak, delays within 1e-6 samples."""
    np.testing.assert_array_equal(result.lags, reference.lags)
    assert result.values.dtype == np.float64 and isinstance(result.values, np.ndarray)
    np.testing.assert_allclose(result.values, reference.values, rtol=0, atol=1e-9 * np.abs(reference.values).max())
    assert [p.lag for p in result.pairs] == [p.lag for p in reference.pairs]
    np.testing.assert_allclose([p.delay_samples for p in result.pairs], [p.delay_samples for p in reference.pairs],
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose([p.peak for p in result.pairs], [p.peak for p in reference.pairs], rtol=1e-9)


PATHS = {
    "whole range": {},
    "rotated window": {"max_lag": 150},
    "signed window, min lag": {"lag_range": (-40, 160), "min_lag": 2},
    "block form": {"max_lag": 150, "block": 700},
    "block form, default blocks": {"max_lag": 150, "block": None},
}


@pytest.mark.parametrize("method", ["gcc-phat", "scot", "cc"])
@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("refine", ["bandlimited", "parabolic"])
def test_strict_backend_gives_the_default_results(rng, strict, method, path, refine):
    """Every form run on arrays that refuse implicit host transfers gives what the default backend gives."""
    delays = [12.25, -3.5]
    source = broadband(rng, 80_000)
    a = source[4000:74000] if path == "block form, default blocks" else source[4000:10000]
    b = np.stack([shifted(source, d) for d in delays], axis=1)[4000 : 4000 + a.size]
    b = with_noise(rng, b, 20)
    options = dict(PATHS[path], method=method, refine=refine)
    result = correlate(a, b, backend=strict, **options)
    assert_same_correlation(result, correlate(a, b, **options))
    np.testing.assert_allclose([p.delay_samples for p in result.pairs], delays, atol=0.05 if refine != "parabolic"
                               else 0.3)


def test_strict_backend_cc_equals_scipy(rng, strict):
    a, b = rng.standard_normal(900), rng.standard_normal((700, 2))
    for options in ({}, {"lag_range": (-300, 200)}, {"lag_range": (-300, 200), "block": 100}):
        result = correlate(a, b, method="cc", normalize=True, backend=strict, **options)
        for channel in range(2):
            expected, lags = oracle(a, b[:, channel])
            keep = (lags >= result.lo) & (lags <= result.hi)
            expected = expected[keep] / np.sqrt(np.sum(a**2) * np.sum(b[:, channel] ** 2))
            np.testing.assert_array_equal(result.lags, lags[keep])
            np.testing.assert_allclose(result.values[:, channel], expected, atol=1e-12)


def test_a_backend_that_does_not_correlate_is_refused(rng):
    x = rng.standard_normal(100)
    with pytest.raises(BackendUnavailableError, match=r"'direct' does not run correlate.*fft"):
        correlate(x, x, backend="direct")
    with pytest.raises(BackendUnavailableError, match="nope"):
        correlate(x, x, backend="nope")


@pytest.mark.parametrize("options, option", [
    ({"max_lag": float("nan")}, "--max-lag"), ({"min_lag": float("inf")}, "--min-lag"),
    ({"lag_range": (float("nan"), 1.0)}, "--lag-range"), ({"lag_range": (0.0, float("inf"))}, "--lag-range"),
    ({"min_confidence": float("nan")}, "--min-confidence"),
])
def test_non_finite_search_limits_are_refused(rng, options, option):
    a = rng.standard_normal(500)
    with pytest.raises(UsageError, match=f"{option} must be a finite number"):
        correlate(a, a, 100.0, **options)
