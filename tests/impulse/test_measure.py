"""``measure_ir``: round trips through known systems, harmonic separation, trimming, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

import sigconv
from sigconv.errors import InvalidSignalError, UsageError

RATE = 16000
F0, F1 = 50.0, 7000.0


@pytest.fixture(scope="module")
def sweep():
    return sigconv.exponential_sweep(RATE, 3.0, F0, F1, silence=1.0)


def room(rt60: float, rng, seconds: float | None = None, predelay: float = 0.01) -> np.ndarray:
    """A synthetic room IR (direct sound, decaying noise) band-limited to 100 Hz - 5 kHz, inside the sweep's band."""
    n = int(RATE * (seconds or min(3 * rt60, 4.0)))
    t = np.arange(n) / RATE
    h = 0.05 * rng.standard_normal(n) * 10 ** (-3 * t / rt60)
    start = int(predelay * RATE)
    h[:start] = 0
    h[start] = 1.0
    sos = scipy.signal.butter(4, [100, 5000], "bandpass", fs=RATE, output="sos")
    return scipy.signal.sosfiltfilt(sos, h)


def with_noise(y: np.ndarray, snr_db: float, rng) -> np.ndarray:
    return y + rng.standard_normal(y.shape) * np.sqrt(np.mean(y ** 2)) * 10 ** (-snr_db / 20)


def error_db(estimate: np.ndarray, truth: np.ndarray) -> float:
    return 10 * math.log10(np.sum((estimate - truth) ** 2) / np.sum(truth ** 2))


@pytest.mark.parametrize("rt60", [0.3, 1.0, 3.0])
def test_round_trip_through_a_room_at_40_db_snr(sweep, rng, rt60):
    h = room(rt60, rng)
    recording = with_noise(scipy.signal.fftconvolve(sweep, h), 40, rng)
    result = sigconv.measure_ir(recording, sweep, RATE, trim_start=False, trim_end=False, length=0.5)
    assert result.start_s == 0 and result.ir.shape == (RATE // 2, 1)
    assert error_db(result.ir[:, 0], h[: RATE // 2]) <= -30


def test_trimmed_start_keeps_the_predelay_and_reports_the_latency(sweep, rng):
    h = room(0.5, rng, predelay=0.025)  # 25 ms of latency before the direct sound
    recording = with_noise(scipy.signal.fftconvolve(sweep, h), 40, rng)
    result = sigconv.measure_ir(recording, sweep, RATE, keep_predelay=0.005, trim_end=False, length=0.4)
    assert result.start_s == pytest.approx(0.020, abs=0.5 / 1000)
    first = int(round(result.start_s * RATE))
    assert error_db(result.ir[:, 0], h[first: first + result.ir.shape[0]]) <= -30


def test_end_is_trimmed_where_the_decay_meets_the_noise(sweep, rng):
    rt60 = 0.4
    h = room(rt60, rng, seconds=1.5)
    recording = scipy.signal.fftconvolve(sweep, h)
    noise_rms = 1e-4
    recording = recording + noise_rms * rng.standard_normal(recording.shape)
    full = sigconv.measure_ir(recording, sweep, RATE, trim_end=False)
    trimmed = sigconv.measure_ir(recording, sweep, RATE)
    # where the truth's tail (smoothed over 20 ms) meets the noise the deconvolution leaves in the IR
    onset = int(np.argmax(np.abs(full.ir[:, 0]))) + int(round(full.start_s * RATE)) - int(round(trimmed.start_s * RATE))
    tail_noise = np.mean(full.ir[-RATE // 4:, 0] ** 2)
    smoothed = np.convolve(h ** 2, np.ones(320) / 320, mode="same")
    meets = (np.flatnonzero(smoothed > tail_noise)[-1] - int(0.01 * RATE)) / RATE
    length = trimmed.ir.shape[0] / RATE - onset / RATE
    assert full.ir.shape[0] > trimmed.ir.shape[0]
    assert length == pytest.approx(meets, rel=0.2)


def test_multichannel_recording_gives_a_multichannel_ir(sweep, rng):
    rooms = [room(0.4, rng), room(0.8, rng)[: int(1.2 * RATE)]]
    n = max(r.size for r in rooms)
    truth = np.zeros((n, 2))
    truth[: rooms[0].size, 0], truth[: rooms[1].size, 1] = rooms
    recording = with_noise(np.stack([scipy.signal.fftconvolve(sweep, truth[:, c]) for c in (0, 1)], axis=1), 40, rng)
    result = sigconv.measure_ir(recording, sweep, RATE, trim_start=False, trim_end=False, length=0.5)
    assert result.ir.shape == (RATE // 2, 2)
    for c in (0, 1):
        assert error_db(result.ir[:, c], truth[: RATE // 2, c]) <= -30


def test_a_memoryless_nonlinearity_goes_to_the_harmonic_responses():
    """tanh(drive * sweep): odd harmonics with the Fourier coefficients of tanh(drive * sin), none in the IR."""
    rate, f0, f1, drive = 16000, 50.0, 1500.0, 1.5  # harmonics up to the 5th stay below Nyquist
    x = sigconv.exponential_sweep(rate, 4.0, f0, f1, amplitude_db=0, silence=1.0)
    result = sigconv.measure_ir(np.tanh(drive * x), x, rate, keep_predelay=0.05, trim_end=False, length=0.2)
    theta = 2 * np.pi * np.arange(4096) / 4096
    c = np.abs(np.fft.rfft(np.tanh(drive * np.sin(theta)))) / 2048  # c[k]: amplitude of harmonic k
    e1 = np.sum(result.ir ** 2)
    for k in (3, 5):
        # each harmonic response is flat at c[k] over the output band [k f0, f1] the inverse covers
        expected = 10 * math.log10((c[k] / c[1]) ** 2 * (f1 - k * f0) / (f1 - f0))
        assert 10 * math.log10(np.sum(result.harmonics[k] ** 2) / e1) == pytest.approx(expected, abs=1.0)
    for k in (2, 4):
        assert 10 * math.log10(np.sum(result.harmonics[k] ** 2) / e1) < -60
    # the linear response is the fundamental's gain c[1], flat and at time zero (0.05 s into the IR)
    spectrum = np.fft.rfft(result.ir[:, 0])
    freqs = np.fft.rfftfreq(result.ir.shape[0], 1 / rate)
    band = (freqs > 1.2 * f0) & (freqs < 0.9 * f1)
    pre = -result.start_s  # the direct sound sits at -start_s seconds into the IR
    expected = c[1] * np.exp(-2j * np.pi * freqs[band] * pre)
    deviation = np.sum(np.abs(spectrum[band] - expected) ** 2) / np.sum(np.abs(expected) ** 2)
    assert 10 * math.log10(deviation) <= -30


def test_sweep_parameters_are_read_from_the_file():
    x = sigconv.exponential_sweep(RATE, 2.5, 30, 6000, fade=(0.2, 0.05), silence=0.7)
    est = sigconv.estimate_sweep(x, RATE)
    assert est.f0 == pytest.approx(30, rel=0.01) and est.f1 == pytest.approx(6000, rel=0.01)
    assert est.sweep_rate == pytest.approx(2.5 / math.log(200), rel=0.001)
    assert est.stop == pytest.approx(2.5 * RATE, abs=20)


def test_recording_shorter_than_the_sweep_is_refused(sweep):
    with pytest.raises(InvalidSignalError, match="shorter than the sweep") as caught:
        sigconv.measure_ir(sweep[: 2 * RATE], sweep, RATE)
    assert caught.value.exit_code == 3


def test_noise_is_not_a_sweep(rng):
    noise = rng.standard_normal(RATE)
    with pytest.raises(InvalidSignalError, match="exponential sine sweep"):
        sigconv.measure_ir(noise, noise, RATE)


def test_stereo_sweep_with_different_channels_is_refused(sweep):
    with pytest.raises(InvalidSignalError, match="mono sweep"):
        sigconv.measure_ir(sweep, np.stack([sweep, -sweep], axis=1), RATE)


@pytest.mark.parametrize("kwargs", [{"length": 0}, {"keep_predelay": -0.1}, {"max_order": 0}])
def test_bad_options(sweep, kwargs):
    with pytest.raises(UsageError):
        sigconv.measure_ir(sweep, sweep, RATE, **kwargs)


# --- the compute seam ---------------------------------------------------------------------------------------------



def test_measure_through_the_strict_backend_gives_the_default_result(sweep, rng, strict_transforms):
    """IR, harmonics and trimming from arrays that refuse implicit host transfers (as CuPy's do)."""
    from sigconv.backends.base import Workload
    from sigconv.backends.planner import choose_backend

    truth = np.stack([room(0.3, rng), room(0.3, rng)], axis=1)
    recording = np.stack([scipy.signal.fftconvolve(np.tanh(1.2 * sweep), truth[:, c]) for c in (0, 1)], axis=1)
    recording = with_noise(recording, 50, rng)
    assert choose_backend("auto", Workload("measure", len(recording), len(sweep), 2, 2, 2))[0].name != "strict"
    expected = sigconv.measure_ir(recording, sweep, RATE, max_order=4)
    result = sigconv.measure_ir(recording, sweep, RATE, max_order=4, backend="strict", context=2)
    assert strict_transforms["rfft"] > 0
    assert type(result.ir) is np.ndarray and result.ir.shape == expected.ir.shape
    assert result.start_s == expected.start_s and result.notes == expected.notes
    assert result.sweep == expected.sweep and result.noise_floor_db == pytest.approx(expected.noise_floor_db)
    peak = np.abs(expected.ir).max()
    np.testing.assert_allclose(result.ir, expected.ir, rtol=0, atol=1e-9 * peak)
    assert sorted(result.harmonics) == sorted(expected.harmonics) == [2, 3, 4]
    for order, response in expected.harmonics.items():
        np.testing.assert_allclose(result.harmonics[order], response, rtol=0, atol=1e-9 * peak)


def test_sweep_inverse_through_the_strict_ops_equals_the_textbook_formula(sweep):
    """``W X* / (|X|² + ε)`` written with numpy.fft, against the strict ops' FIR and the default one."""
    from sigconv.impulse.measure import _band_window, inverse_filter
    from sigconv.testing import StrictOps

    est = sigconv.estimate_sweep(sweep, RATE, StrictOps())
    assert est == sigconv.estimate_sweep(sweep, RATE)
    fir, delay = inverse_filter(sweep, RATE, est, StrictOps())
    n = fir.size
    spectrum = np.fft.rfft(sweep, n)
    power = np.abs(spectrum) ** 2
    window = _band_window(np, np.fft.rfftfreq(n, 1 / RATE), est.f0, est.f1)
    expected = np.roll(np.fft.irfft(window * np.conj(spectrum) / (power + 1e-6 * power.max()), n), sweep.size)
    assert delay == sweep.size and n >= 2 * sweep.size
    np.testing.assert_allclose(fir, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    np.testing.assert_allclose(inverse_filter(sweep, RATE, est)[0], expected, rtol=0,
                               atol=1e-9 * np.abs(expected).max())


def test_a_backend_that_does_not_measure_is_refused(sweep):
    from sigconv.errors import BackendUnavailableError

    with pytest.raises(BackendUnavailableError, match="'direct' does not run measure.*one of: .*fft") as caught:
        sigconv.measure_ir(sweep, sweep, RATE, backend="direct")
    assert caught.value.exit_code == 5


@pytest.mark.parametrize("option", ["length", "keep_predelay"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_durations_are_usage_errors(option, value):
    sweep = np.ones(1000)
    with pytest.raises(UsageError, match=option):
        sigconv.measure_ir(sweep, sweep, 8000, **{option: value})
