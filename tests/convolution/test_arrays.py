"""sigconv.convolve: oracles (scipy, numpy), analytic properties, routing, the reverb mix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sigconv import Signal, channel_routing, convolve, convolve_signal
from sigconv.errors import IncompatibleSignalsError, InvalidSignalError, UsageError
from sigconv.compute.modes import mode_slice
from sigconv.compute.onsets import ir_onset

BACKENDS = ["auto", "direct", "fft"]

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
signals = arrays(np.float64, st.integers(1, 300), elements=finite)
kernels = arrays(np.float64, st.integers(1, 80), elements=finite)


def scale_of(*arrays_):
    return max(1.0, *(float(np.max(np.abs(a))) for a in arrays_))


@pytest.mark.parametrize("backend", BACKENDS)
@given(x=signals, h=kernels, mode=st.sampled_from(["full", "same", "valid"]))
def test_matches_scipy_direct(backend, x, h, mode):
    expected = scipy.signal.convolve(x, h, mode=mode, method="direct")
    got = convolve(x, h, mode, backend=backend)
    assert got.shape == expected.shape
    tol = 1e-9 * scale_of(x) * scale_of(h) * min(x.size, h.size)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
@given(x=signals, h=kernels, a=finite, b=finite)
def test_linearity(backend, x, h, a, b):
    y = np.resize(x[::-1], x.size) * 0.5 + 1.0  # a second signal of the same length
    left = convolve(a * x + b * y, h, backend=backend)
    right = a * convolve(x, h, backend=backend) + b * convolve(y, h, backend=backend)
    tol = 1e-9 * scale_of(a * x, b * y, left) * scale_of(h) * h.size
    np.testing.assert_allclose(left, right, rtol=0, atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
@given(x=signals, h=kernels)
def test_commutativity(backend, x, h):
    tol = 1e-9 * scale_of(x) * scale_of(h) * min(x.size, h.size)
    np.testing.assert_allclose(convolve(x, h, backend=backend), convolve(h, x, backend=backend), rtol=0, atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
@given(x=signals)
def test_dirac_is_the_identity(backend, x):
    np.testing.assert_allclose(convolve(x, [1.0], backend=backend), x, rtol=0, atol=1e-12 * scale_of(x))


@pytest.mark.parametrize("backend", BACKENDS)
@given(x=signals, delay=st.integers(0, 50))
def test_delayed_dirac_shifts(backend, x, delay):
    h = np.zeros(delay + 1)
    h[delay] = 1.0
    y = convolve(x, h, backend=backend)
    np.testing.assert_allclose(y[:delay], 0.0, atol=1e-12 * scale_of(x))
    np.testing.assert_allclose(y[delay:], x, rtol=0, atol=1e-12 * scale_of(x))


def test_int_inputs_are_converted_by_value_and_exact():
    x = np.array([1, -2, 3, 4], dtype=np.int16)
    h = np.array([2, 1], dtype=np.int32)
    np.testing.assert_array_equal(convolve(x, h, backend="direct"), np.convolve(x.astype(int), h.astype(int)))
    assert convolve(x, h).dtype == np.float64


def test_precision_32_gives_float32_close_to_float64(rng):
    x = rng.standard_normal((4000, 2))
    h = rng.standard_normal((500, 2))
    y32 = convolve(x, h, precision=32)
    y64 = convolve(x, h)
    assert y32.dtype == np.float32 and y64.dtype == np.float64
    np.testing.assert_allclose(y32, y64, rtol=0, atol=1e-5 * np.max(np.abs(y64)))


# --- channel routing -------------------------------------------------------


def per_channel(x, h):
    return np.stack([scipy.signal.convolve(x[:, c], h[:, c], method="direct") for c in range(x.shape[1])], axis=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mono_ir_is_applied_to_every_channel(rng, backend):
    x, h = rng.standard_normal((300, 3)), rng.standard_normal((20, 1))
    np.testing.assert_allclose(convolve(x, h, backend=backend), per_channel(x, np.repeat(h, 3, axis=1)), atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ir_with_matching_channels_is_applied_channel_by_channel(rng, backend):
    x, h = rng.standard_normal((300, 2)), rng.standard_normal((20, 2))
    np.testing.assert_allclose(convolve(x, h, backend=backend), per_channel(x, h), atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mono_input_with_stereo_ir_gives_stereo(rng, backend):
    x, h = rng.standard_normal(300), rng.standard_normal((20, 2))
    y = convolve(x, h, backend=backend)
    assert y.shape == (319, 2)
    np.testing.assert_allclose(y, per_channel(np.column_stack([x, x]), h), atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_true_stereo_ir_mixes_as_a_matrix(rng, backend):
    x = rng.standard_normal((300, 2))
    ll, lr, rl, rr = (rng.standard_normal(25) for _ in range(4))
    y = convolve(x, np.column_stack([ll, lr, rl, rr]), backend=backend)
    conv = lambda a, b: scipy.signal.convolve(a, b, method="direct")  # noqa: E731
    expected = np.column_stack([conv(x[:, 0], ll) + conv(x[:, 1], rl), conv(x[:, 0], lr) + conv(x[:, 1], rr)])
    np.testing.assert_allclose(y, expected, atol=1e-10)


@pytest.mark.parametrize("input_channels, ir_channels", [(2, 3), (3, 2), (4, 2), (3, 4), (2, 5)])
def test_other_channel_combinations_name_both_counts(input_channels, ir_channels):
    with pytest.raises(IncompatibleSignalsError, match=rf"{ir_channels} channels .* {input_channels} channels"):
        convolve(np.zeros((10, input_channels)), np.zeros((3, ir_channels)))


def test_routing_names():
    assert [channel_routing(*p) for p in [(1, 1), (2, 1), (2, 2), (1, 2), (2, 4), (4, 4)]] == [
        "shared", "shared", "parallel", "split", "matrix", "parallel"]


# --- wet, dry, gain, normalization -------------------------------------------


def test_dry_path_is_aligned_with_the_ir_onset(rng):
    x = rng.standard_normal(200)
    h = np.zeros(50)
    h[3] = 0.05  # below -20 dB of the peak: not the onset
    h[12] = 1.0
    h[30] = -0.4
    assert ir_onset(h) == 12
    y = convolve(x, h, wet=0.0, dry=1.0)
    np.testing.assert_allclose(y[12:212], x, atol=1e-12)
    np.testing.assert_allclose(np.delete(y, np.s_[12:212]), 0.0, atol=1e-12)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_wet_dry_mix_is_the_weighted_sum_in_every_mode(rng, mode):
    x = rng.standard_normal((400, 2))
    h = 0.05 * rng.standard_normal((40, 2))
    h[5] = 10.0  # onset at 5: everything before is below -20 dB
    wet_only = convolve(x, h, mode, wet=0.3)
    dry_only = convolve(x, h, mode, wet=0.0, dry=0.7)
    full_dry = np.zeros((439, 2))
    full_dry[5:405] = 0.7 * x
    expected_dry = full_dry[mode_slice(400, 40, mode)]
    np.testing.assert_allclose(dry_only, expected_dry, atol=1e-12)
    np.testing.assert_allclose(wet_only, 0.3 * per_channel(x, h)[mode_slice(400, 40, mode)],
                               atol=1e-9)
    np.testing.assert_allclose(convolve(x, h, mode, wet=0.3, dry=0.7), wet_only + dry_only, atol=1e-9)


def test_mono_input_dry_path_feeds_every_output_of_a_stereo_ir(rng):
    x = rng.standard_normal(100)
    h = np.zeros((10, 2))
    h[0] = [1.0, 0.5]
    y = convolve(x, h, wet=0.0, dry=1.0)
    np.testing.assert_allclose(y[:100, 0], x)
    np.testing.assert_allclose(y[:100, 1], x)


def test_gain_db_scales_the_result(rng):
    x, h = rng.standard_normal(100), rng.standard_normal(9)
    np.testing.assert_allclose(convolve(x, h, gain_db=-6.0), convolve(x, h) * 10 ** (-6 / 20), atol=1e-12)


def test_normalize_peak_gives_unit_peak_then_gain(rng):
    x, h = rng.standard_normal(100), rng.standard_normal(9)
    y = convolve(x, h, normalize="peak")
    assert np.max(np.abs(y)) == pytest.approx(1.0)
    np.testing.assert_allclose(y, convolve(x, h) / np.max(np.abs(convolve(x, h))))
    assert np.max(np.abs(convolve(x, h, normalize="peak", gain_db=-1.0))) == pytest.approx(10 ** (-1 / 20))


def test_normalize_peak_leaves_silence_silent():
    assert not np.any(convolve(np.zeros(10), [1.0, 1.0], normalize="peak"))


def test_normalize_ir_energy_scales_the_ir_to_unit_energy(rng):
    x, h = rng.standard_normal((100, 2)), rng.standard_normal((30, 2))
    loudest = np.sqrt(max(np.sum(h[:, 0] ** 2), np.sum(h[:, 1] ** 2)))
    np.testing.assert_allclose(convolve(x, h, normalize="ir-energy"), per_channel(x, h / loudest), atol=1e-10)


def test_normalize_ir_energy_sums_the_paths_of_a_true_stereo_ir(rng):
    x, h = rng.standard_normal((100, 2)), rng.standard_normal((30, 4))
    e = np.sum(h**2, axis=0)
    loudest = np.sqrt(max(e[0] + e[2], e[1] + e[3]))
    np.testing.assert_allclose(convolve(x, h, normalize="ir-energy"), convolve(x, h / loudest), atol=1e-10)


@pytest.mark.parametrize("kwargs, words", [
    ({"mode": "middle"}, "mode must be one of full, same, valid"),
    ({"normalize": "loud"}, "normalize must be one of none, peak, ir-energy"),
    ({"precision": 16}, "64 or 32"),
])
def test_bad_options_are_usage_errors(kwargs, words):
    with pytest.raises(UsageError, match=words):
        convolve([1.0], [1.0], **kwargs)


def test_empty_or_nan_inputs_are_invalid():
    with pytest.raises(InvalidSignalError, match="signal is empty"):
        convolve([], [1.0])
    with pytest.raises(InvalidSignalError, match="impulse response contains 1 NaN"):
        convolve([1.0], [np.nan])


# --- signals with rates --------------------------------------------------------


def test_convolve_signal_refuses_different_rates_without_resample():
    with pytest.raises(IncompatibleSignalsError, match=r"48000 Hz .* 44100 Hz.*--resample"):
        convolve_signal(Signal(np.zeros((10, 1)), 48000), Signal(np.ones((3, 1)), 44100))


def test_resampled_ir_keeps_the_frequency_response_and_delay():
    # a 3-tap moving average at 24 kHz after 20 samples of pre-delay:
    # |H(f)| = |1 + 2 cos(2 pi f / 24000)| / 3, group delay 21 samples = 0.875 ms
    h = np.zeros((23, 1))
    h[20:] = 1 / 3
    dirac = np.zeros((1, 1))
    dirac[0] = 1.0
    out = convolve_signal(Signal(dirac, 48000, "PCM_16", "WAV"), Signal(h, 24000), resample_ir=True)
    assert out.rate == 48000 and out.subtype == "PCM_16"
    ir48 = out.data[:, 0]
    assert np.sum(ir48) == pytest.approx(1.0, abs=1e-3)  # DC gain
    centroid = np.sum(np.arange(ir48.size) * ir48) / np.sum(ir48)
    assert centroid == pytest.approx(42.0, abs=0.05)  # 21 samples at 24 kHz
    for f in (500.0, 3000.0, 6000.0):
        response = abs(np.sum(ir48 * np.exp(-2j * np.pi * f / 48000 * np.arange(ir48.size))))
        assert response == pytest.approx(abs(1 + 2 * np.cos(2 * np.pi * f / 24000)) / 3, rel=0.01)


@pytest.mark.parametrize("options, option", [
    ({"wet": float("nan")}, "--wet"), ({"dry": float("inf")}, "--dry"), ({"gain_db": float("inf")}, "--gain"),
    ({"gain_db": 1e6}, "--gain"), ({"wet": 1e308}, "--wet"), ({"predelay": float("nan")}, "predelay"),
])
def test_non_finite_or_absurd_gains_are_refused(options, option):
    with pytest.raises(UsageError, match=option):
        convolve(np.ones(8), np.ones(3), **options)


def test_the_library_file_job_refuses_non_finite_gains_before_writing(tmp_path):
    import soundfile as sf

    from sigconv import convolve_file

    sf.write(tmp_path / "x.wav", np.ones(8), 8000, subtype="FLOAT")
    for options in ({"wet": float("nan")}, {"gain_db": float("inf")}, {"predelay_ms": float("nan")},
                    {"trim_db": float("nan")}, {"block": 8}):
        with pytest.raises(UsageError):
            convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "x.wav"), str(tmp_path / "y.wav"), **options)
    assert not (tmp_path / "y.wav").exists()


@pytest.mark.parametrize("rate_from, rate_to, ratio", [(48000, 2, (1, 24000)), (48000, 1, (1, 48000)),
                                                       (1, 48000, (48000, 1)), (44100, 48000, (160, 147))])
def test_resampling_between_extreme_rates(rate_from, rate_to, ratio):
    from sigconv.compute.resampling import resample, resample_ratio

    assert resample_ratio(rate_from, rate_to) == ratio
    dirac = np.zeros(64)
    dirac[32] = 1.0
    y = resample(dirac, rate_from, rate_to, impulse_response=True)
    assert y.size >= 64 * ratio[0] // ratio[1] and np.all(np.isfinite(y))


def test_resampling_refuses_rates_too_far_apart_or_too_long_a_result():
    from sigconv.compute.resampling import resample, resample_ratio

    with pytest.raises(UsageError, match="more than a factor of"):
        resample_ratio(0.001, 48000)
    with pytest.raises(UsageError, match="positive and finite"):
        resample_ratio(float("nan"), 48000)
    with pytest.raises(UsageError, match="2\\^31"):
        resample(np.zeros(10**4), 1, 768000)
