"""sigconv.deconvolve on arrays: each method against analytic results, numpy/scipy oracles and its guarantees."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

import sigconv
from sigconv.deconvolution.settings import parse_length
from sigconv.errors import (
    IncompatibleSignalsError,
    InexactDivisionError,
    InvalidSignalError,
    SpectralNullWarning,
    UsageError,
)
from sigconv.deconvolution.inverse import design_inverse
from sigconv.deconvolution.wiener import Welch, snr_regularisation


def snr_db(estimate, truth):
    return 10 * np.log10(np.sum(np.square(truth)) / np.sum(np.square(estimate - truth)))


def whole_division(y, h, n, lam):
    """Oracle: regularised division of the whole signal on one long FFT grid (no FIR, no streaming)."""
    size = 1 << int(np.ceil(np.log2(len(y) + 64 * len(h) + 4096)))
    spectrum = np.fft.rfft(h, size)
    return np.fft.irfft(np.conj(spectrum) * np.fft.rfft(y, size) / (np.abs(spectrum) ** 2 + lam), size)[:n]


@pytest.fixture
def room_like(rng):
    """A broadband signal and a short decaying kernel (a small room), as full convolution."""
    x = rng.standard_normal(30_000)
    h = rng.standard_normal(200) * np.exp(-np.arange(200) / 25.0)
    h[0] = 1.0
    return x, h, scipy.signal.fftconvolve(x, h)


@pytest.mark.parametrize("method, options", [("wiener", {"snr_db": 100}), ("tikhonov", {"reg": 1e-10}),
                                             ("exact", {})])
def test_round_trip_without_noise_is_above_60_db(room_like, method, options):
    x, h, y = room_like
    estimate = sigconv.deconvolve(y, h, method, **options)
    assert estimate.shape == x.shape
    assert snr_db(estimate, x) >= 60


def test_streamed_inverse_matches_whole_signal_division(room_like):
    """The FIR's truncation and the block-by-block filtering add nothing that matters to the round trip."""
    x, h, y = room_like
    lam = np.sum(h**2) * 1e-10
    oracle = whole_division(y, h, len(x), lam)
    estimate = sigconv.deconvolve(y, h, snr_db=100)
    assert snr_db(estimate, oracle) >= 70
    inverse = design_inverse(h[:, None], snr_regularisation(100), span=len(y))
    assert inverse.truncation_db <= -70


def test_truncation_estimate_bounds_the_real_error(rng):
    """Forced short inverses: the estimated truncation error is at least the measured one (within 3 dB)."""
    h = rng.standard_normal(1500) * np.exp(-np.arange(1500) / 250)
    x = rng.standard_normal(40_000)
    y = scipy.signal.fftconvolve(x, h)
    lam = np.sum(h**2) * 1e-6
    oracle = whole_division(y, h, len(x), lam)
    inverse = design_inverse(h[:, None], snr_regularisation(60), span=len(y), size=1 << 13)
    from sigconv.deconvolution.arrays import apply_inverse

    estimate = apply_inverse(y[:, None], inverse, len(x))[:, 0]
    measured = -snr_db(estimate, oracle)
    assert measured > -60  # short enough to matter
    assert inverse.truncation_db >= measured - 3


def test_wiener_beats_plain_spectral_division_at_20_db(rng):
    x = rng.standard_normal(1 << 15)
    h = np.convolve([1.0, 0.5, 0.25], [1.0, 0.0, 0.95])  # a notch 26 dB deep at a quarter of the rate
    clean = scipy.signal.fftconvolve(x, h)
    noise_level = np.sqrt(np.mean(clean**2) / 10 ** (20 / 10))
    y = clean + noise_level * rng.standard_normal(clean.shape)
    division = whole_division(y, h, len(x), 1e-30)
    wiener = sigconv.deconvolve(y, h, snr_db=20)
    measured = sigconv.deconvolve(y, h, noise=noise_level * rng.standard_normal(48_000))
    assert snr_db(wiener, x) > snr_db(division, x) + 4
    assert snr_db(measured, x) > snr_db(division, x) + 4
    assert snr_db(measured, x) > snr_db(wiener, x) - 1.5  # measured spectra: about as good as the right guess


def test_noise_spectrum_follows_coloured_noise(rng):
    """Low-frequency noise: --noise gives up the low band and keeps the rest, beating any single SNR guess."""
    x = rng.standard_normal(1 << 16)
    h = np.array([1.0, 0.6, 0.2])
    clean = scipy.signal.fftconvolve(x, h)
    b, a = scipy.signal.butter(4, 0.05)
    rumble = scipy.signal.lfilter(b, a, rng.standard_normal(len(clean) + 96_000)) * 3.0
    y = clean + rumble[: len(clean)]
    measured = sigconv.deconvolve(y, h, noise=rumble[len(clean) :])
    best_guess = max(snr_db(sigconv.deconvolve(y, h, snr_db=s), x) for s in (0, 10, 20, 30))
    assert snr_db(measured, x) > best_guess + 3


def test_welch_blocks_equal_scipy_welch(rng):
    x = rng.standard_normal((20_003, 2))
    welch = Welch(1024, 2)
    for start in range(0, len(x), 3001):
        welch.add(x[start : start + 3001])
    _, expected = scipy.signal.welch(x, 48000.0, nperseg=1024, detrend=False, axis=0)
    np.testing.assert_allclose(welch.density(48000.0), expected, rtol=1e-10)


def test_tikhonov_band_inverts_inside_and_halves_outside():
    """A unit kernel makes G = 1 / (1 + λ(f)): about 1 in band, 1/2 (λ = mean power = 1) well outside."""
    impulse = np.zeros(1 << 16)
    impulse[1 << 15] = 1.0
    out = sigconv.deconvolve(impulse, [1.0], "tikhonov", reg=1e-9, band=(2000.0, 6000.0), rate=48000)
    gain = np.abs(np.fft.rfft(out))  # the response to an impulse: the filter's gain
    freqs = np.fft.rfftfreq(len(out), 1 / 48000)
    inside = (freqs > 2100) & (freqs < 5900)
    outside = (freqs < 1000) | (freqs > 12000)
    np.testing.assert_allclose(gain[inside], 1.0, atol=1e-6)
    np.testing.assert_allclose(gain[outside], 0.5, atol=1e-6)


def test_exact_equals_scipy_where_scipy_is_stable(rng):
    h = np.array([1.0, -0.5, 0.06])  # roots 0.2 and 0.3: lfilter's recursion is stable
    x = rng.standard_normal(500)
    y = np.convolve(x, h)
    expected, remainder = scipy.signal.deconvolve(y, h)
    assert np.max(np.abs(remainder)) < 1e-12
    np.testing.assert_allclose(sigconv.deconvolve(y, h, "exact"), expected, atol=1e-12)


def test_exact_is_stable_where_scipy_explodes(rng):
    h = np.array([0.5, 1.0])  # root at -2, outside the unit circle
    x = rng.standard_normal(2000)
    y = np.convolve(x, h)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quotient, _ = scipy.signal.deconvolve(y, h)
    assert not np.all(np.isfinite(quotient)) or np.max(np.abs(quotient - x)) > 1e10
    np.testing.assert_allclose(sigconv.deconvolve(y, h, "exact"), x, atol=1e-10)


@pytest.mark.parametrize("h", [[0.0, 0.0, 1.0, 0.5], [1.0, -1.0], [2.0], list(np.poly([1.5, -1.2, 0.3]))])
def test_exact_divides_delays_unit_and_outer_roots(rng, h):
    x = rng.standard_normal((3000, 2))
    y = np.stack([np.convolve(x[:, c], h) for c in range(2)], axis=1)
    np.testing.assert_allclose(sigconv.deconvolve(y, h, "exact"), x, atol=1e-9)


def test_exact_longer_output_pads_the_quotient_with_zeros(rng):
    x = rng.standard_normal(100)
    y = np.convolve(x, [1.0, 0.3])
    out = sigconv.deconvolve(y, [1.0, 0.3], "exact", length=120)
    np.testing.assert_allclose(out, np.concatenate([x, np.zeros(20)]), atol=1e-12)


def test_exact_refuses_a_signal_that_is_not_a_product(rng):
    x = rng.standard_normal(4000)
    y = np.convolve(x, [1.0, 0.4, -0.2])
    y += 1e-3 * np.std(y) * rng.standard_normal(len(y))
    with pytest.raises(InexactDivisionError, match="not an exact FIR product.*--method wiener") as caught:
        sigconv.deconvolve(y, [1.0, 0.4, -0.2], "exact")
    assert caught.value.exit_code == 9
    # the same data pass with a tolerance above their noise
    assert np.all(np.isfinite(sigconv.deconvolve(y, [1.0, 0.4, -0.2], "exact", tolerance=1e-2)))


def test_lucy_recovers_spikes_and_reproduces_the_data():
    x = np.zeros(200)
    x[[30, 34, 120]] = [5.0, 3.0, 1.0]
    h = np.exp(-0.5 * (np.arange(-12, 13) / 3.0) ** 2)
    y = np.convolve(x, h)
    residuals = []
    for iterations in (10, 200, 5000):
        with pytest.warns(SpectralNullWarning, match="0.1975-0.5 cycles/sample"):  # a Gaussian's far skirt
            estimate = sigconv.deconvolve(y, h, "lucy", iterations=iterations)
        residuals.append(np.linalg.norm(np.convolve(estimate, h) - y) / np.linalg.norm(y))
        assert np.all(estimate >= 0)
        assert abs(estimate.sum() - x.sum()) < 1e-9 * x.sum()  # RL keeps the total
    assert residuals[0] > residuals[1] > residuals[2] and residuals[2] < 1e-2
    assert sorted(np.argsort(estimate)[-3:]) == [30, 34, 120]


def test_lucy_equals_the_textbook_iteration(rng):
    """Oracle: x <- x * correlate(y / (x ⊗ h), h) / sum(h), written with numpy's direct convolution."""
    h = rng.uniform(0, 1, 7)
    y = np.convolve(rng.uniform(0, 2, 60), h) + rng.uniform(0, 0.1, 66)
    x = np.full(60, y.sum() / (60 * h.sum()))
    for _ in range(30):
        x = x * np.correlate(y / np.convolve(x, h), h, mode="valid") / h.sum()
    np.testing.assert_allclose(sigconv.deconvolve(y, h, "lucy", iterations=30), x, rtol=1e-9)


@given(
    y=st.lists(st.floats(0, 1e3), min_size=4, max_size=40),
    h=st.lists(st.floats(0, 10), min_size=1, max_size=6).filter(lambda v: max(v) > 0),
    iterations=st.integers(1, 30),
)
def test_lucy_never_negative_never_nan(y, h, iterations):
    out = sigconv.deconvolve(np.array(y), np.array(h), "lucy", iterations=iterations, length=len(y))
    assert np.all(np.isfinite(out)) and np.all(out >= 0)


def test_lucy_refuses_negative_data_and_kernels():
    with pytest.raises(InvalidSignalError, match="non-negative signal.*-0.5 at frame 1"):
        sigconv.deconvolve([1.0, -0.5, 2.0], [1.0], "lucy")
    with pytest.raises(InvalidSignalError, match="non-negative kernel"):
        sigconv.deconvolve([1.0, 0.5, 2.0], [1.0, -1.0], "lucy")
    # FFT round-off below 1e-9 of the peak is not a negative value
    assert sigconv.deconvolve([1.0, -1e-12, 2.0], [1.0], "lucy").min() >= 0


@given(
    h=st.lists(st.sampled_from([0.0, 0.0, 1.0, -1.0, 0.5, 1e-9, 2.0]), min_size=1, max_size=8).filter(
        lambda v: any(v)),
    method=st.sampled_from(["wiener", "tikhonov", "exact"]),
    snr=st.sampled_from([0.0, 40.0, 200.0]),
)
def test_output_is_always_finite(h, method, snr):
    """Kernels with zeros, exact nulls and tiny taps: a finite result, or (exact) a clear refusal."""
    y = np.random.default_rng(len(h)).standard_normal(300)
    options = {"snr_db": snr} if method == "wiener" else {"reg": 10 ** (-snr / 10)} if method == "tikhonov" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = sigconv.deconvolve(y, h, method, length=300, **options)
        except InexactDivisionError:  # random data are no FIR product
            assert method == "exact"
            return
    assert np.all(np.isfinite(out))


def test_all_zero_kernel_is_an_input_error():
    with pytest.raises(InvalidSignalError, match="kernel is all zeros") as caught:
        sigconv.deconvolve([1.0, 2.0, 3.0], [0.0, 0.0])
    assert caught.value.exit_code == 3


@pytest.mark.parametrize("h, named", [([1.0, -1.0], "0 Hz"), ([1.0, 0.0, 1.0], "2000 Hz"), ([1.0, 1.0], "4000 Hz")])
def test_deep_nulls_are_named_in_hz(h, named):
    with pytest.warns(SpectralNullWarning, match=rf"60 dB below its peak at .*\b{named}\b.*cannot be recovered"):
        sigconv.deconvolve(np.ones(100), h, rate=8000)


def test_no_null_warning_for_a_flat_kernel():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpectralNullWarning)
        sigconv.deconvolve(np.ones(100), [1.0, 0.3], rate=8000)


def test_channels_follow_convolve_rules(rng):
    x = rng.standard_normal((5000, 2))
    mono = rng.standard_normal(20) * np.exp(-np.arange(20) / 4)
    pair = rng.standard_normal((20, 2)) * np.exp(-np.arange(20) / 4)[:, None]
    y_mono = sigconv.convolve(x, mono)
    y_pair = sigconv.convolve(x, pair)
    assert snr_db(sigconv.deconvolve(y_mono, mono, snr_db=120), x) > 60
    assert snr_db(sigconv.deconvolve(y_pair, pair, "exact"), x) > 60
    with pytest.raises(IncompatibleSignalsError, match="mono kernel.*one kernel channel per signal channel"):
        sigconv.deconvolve(y_pair, rng.standard_normal((20, 3)))


def test_default_length_and_its_limit():
    assert sigconv.deconvolve(np.ones(10), [1.0, 0.5, 0.25]).shape == (8,)
    with pytest.raises(IncompatibleSignalsError, match="default output length.*empty.*--length"):
        sigconv.deconvolve(np.ones(3), np.ones(5))
    with pytest.warns(SpectralNullWarning, match="0.2 cycles/sample, 0.4 cycles/sample"):  # a box of 5 has 4 zeros
        assert sigconv.deconvolve(np.ones(3), np.ones(5), length=4).shape == (4,)
    assert sigconv.deconvolve(np.ones(100), [1.0], length="10ms", rate=1000).shape == (10,)


@pytest.mark.parametrize("text, rate, frames", [("48000", None, 48000), ("2.5s", 48000, 120000),
                                                ("500ms", 8000, 4000), ("1e-3 s", 48000, 48)])
def test_parse_length(text, rate, frames):
    assert parse_length(text, rate) == frames


@pytest.mark.parametrize("text, rate, message", [("2.5", 48000, "neither whole frames"), ("2s", None, "sample rate"),
                                                 ("0", None, "at least one frame"), ("abc", 1, "neither")])
def test_parse_length_refusals(text, rate, message):
    with pytest.raises(UsageError, match=message):
        parse_length(text, rate)


@pytest.mark.parametrize("method, options, message", [
    ("wiener", {"reg": 1e-3}, "--reg applies to --method tikhonov"),
    ("tikhonov", {"snr_db": 30}, "--snr applies to --method wiener"),
    ("exact", {"iterations": 3}, "--iterations applies to --method lucy"),
    ("lucy", {"tolerance": 1e-3}, "--tolerance applies to --method exact"),
    ("wiener", {"snr_db": 30, "noise": np.ones(500)}, "give one of them"),
    ("tikhonov", {"reg": -1.0}, "positive"),
    ("tikhonov", {"band": (100.0, 50.0), "rate": 8000}, "0 <= F1 < F2"),
    ("magic", {}, "method must be one of"),
])
def test_option_refusals(method, options, message):
    with pytest.raises(UsageError, match=message):
        sigconv.deconvolve(np.ones(1000), [1.0, 0.5], method, **options)


def test_precision_32(room_like):
    x, h, y = room_like
    out = sigconv.deconvolve(y, h, snr_db=100, precision=32)
    assert out.dtype == np.float32 and snr_db(out.astype(np.float64), x) > 60


# --- the compute seam ---------------------------------------------------------------------------------------------



def _problem(rng, method):
    """Signal, kernel and options for each method: broadband stereo, non-negative for lucy, an exact product."""
    h = rng.standard_normal((120, 2)) * np.exp(-np.arange(120) / 15)[:, None]
    h[0] = 1.0
    if method == "lucy":
        x = np.zeros((600, 2))
        x[[50, 60, 400]] = [[3.0, 1.0], [1.0, 2.0], [2.0, 0.5]]
        h = np.abs(h)
    else:
        x = rng.standard_normal((6000, 2))
    y = np.stack([np.convolve(x[:, c], h[:, c]) for c in range(2)], axis=1)
    if method in ("wiener", "tikhonov"):
        y += 1e-3 * rng.standard_normal(y.shape)
    return x, y, h


SEAM_CASES = {
    "wiener --snr": ("wiener", {"snr_db": 30}),
    "wiener --noise": ("wiener", {"noise": "sample"}),
    "tikhonov": ("tikhonov", {"reg": 1e-4}),
    "tikhonov --band": ("tikhonov", {"reg": 1e-4, "band": (200.0, 3000.0), "rate": 8000}),
    "lucy": ("lucy", {"iterations": 40}),
    "exact": ("exact", {}),
}


@pytest.mark.parametrize("case", list(SEAM_CASES))
def test_every_method_through_the_strict_backend_gives_the_default_result(rng, strict_transforms, case):
    """Arrays that refuse implicit host transfers (as CuPy's do) give what the default backend gives."""
    from sigconv.backends.base import Workload
    from sigconv.backends.planner import choose_backend

    method, options = SEAM_CASES[case]
    x, y, h = _problem(rng, method)
    if options.get("noise") == "sample":
        options = {"noise": 1e-3 * rng.standard_normal((20_000, 2))}
    assert choose_backend("auto", Workload("deconvolve", len(y), len(h), 2, 2, 2))[0].name != "strict"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpectralNullWarning)
        expected = sigconv.deconvolve(y, h, method, **options)
        before = strict_transforms["rfft"]
        result = sigconv.deconvolve(y, h, method, backend="strict", **options)
    assert strict_transforms["rfft"] > before  # the strict ops did the transforms
    assert type(result) is np.ndarray and result.dtype == np.float64 and result.shape == x.shape
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    # and it is a deconvolution (lucy's few iterations only approach one; --band gives up a quarter of the spectrum)
    assert snr_db(result, x) > {"lucy": -np.inf, "tikhonov --band": 5}.get(case, 15)


def test_welch_through_the_strict_ops_equals_scipy_welch(rng):
    from sigconv.testing import StrictOps

    x = rng.standard_normal((20_003, 2))
    welch = Welch(1024, 2, StrictOps())
    for start in range(0, len(x), 2999):
        welch.add(x[start : start + 2999])
    _, expected = scipy.signal.welch(x, 48000.0, nperseg=1024, detrend=False, axis=0)
    density = welch.density(48000.0)
    assert type(density) is np.ndarray
    np.testing.assert_allclose(density, expected, rtol=1e-10)


def test_welch_of_a_signal_shorter_than_a_segment_is_its_zero_padded_periodogram(rng):
    x = rng.standard_normal((300, 1))
    welch = Welch(512, 1)
    welch.add(x)
    _, expected = scipy.signal.periodogram(np.concatenate([x[:, 0], np.zeros(212)]), 8000.0, window="hann",
                                           detrend=False)
    assert welch.segments == 0
    np.testing.assert_allclose(welch.density(8000.0)[:, 0], expected, rtol=1e-10)


def test_one_regularised_inverse_formula(rng):
    """``G = H* / (|H|^2 + λ)`` against the textbook expression; the sweep inverse and Wiener's share it."""
    from sigconv.compute.ops import ArrayOps
    from sigconv.compute.inverses import regularised_inverse

    spectrum = rng.standard_normal(257) + 1j * rng.standard_normal(257)
    lam = rng.uniform(0.1, 1.0, 257)
    expected = np.conj(spectrum) / (np.abs(spectrum) ** 2 + lam)
    np.testing.assert_allclose(regularised_inverse(ArrayOps(), spectrum.copy(), lam), expected, rtol=1e-13)


def test_a_backend_that_does_not_deconvolve_is_refused(rng):
    from sigconv.errors import BackendUnavailableError

    with pytest.raises(BackendUnavailableError, match="'direct' does not run deconvolve.*one of: .*fft") as caught:
        sigconv.deconvolve(rng.standard_normal(100), [1.0, 0.5], "exact", backend="direct")
    assert caught.value.exit_code == 5
    with pytest.raises(BackendUnavailableError, match="unknown backend 'nope'"):
        sigconv.deconvolve(rng.standard_normal(100), [1.0, 0.5], backend="nope")


def test_single_threaded_context_gives_the_same_result(room_like):
    from sigconv.compute.context import ExecutionContext

    _, h, y = room_like
    expected = sigconv.deconvolve(y, h, snr_db=60)
    result = sigconv.deconvolve(y, h, snr_db=60, backend="fft", context=ExecutionContext.single_threaded())
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_settings_check_fills_each_methods_defaults():
    from sigconv.deconvolution.settings import DeconvolveSettings

    assert DeconvolveSettings().checked().snr_db == 40.0
    assert DeconvolveSettings(noise=True).checked().snr_db is None
    assert DeconvolveSettings("lucy").checked().iterations == 50
    assert DeconvolveSettings("exact").checked().tolerance == 1e-6
    with pytest.raises(UsageError, match="--band is in Hz"):
        DeconvolveSettings("tikhonov", band=(10.0, 100.0)).checked()
    with pytest.raises(UsageError, match="precision"):
        DeconvolveSettings(precision=16).checked()


@pytest.mark.parametrize("method, options, words", [
    ("wiener", {"snr_db": float("nan")}, "--snr must be a finite number"),
    ("tikhonov", {"reg": float("inf")}, "--reg must be a finite number"),
    ("tikhonov", {"band": (float("nan"), 100.0), "rate": 1000}, "--band must be a finite number"),
    ("exact", {"tolerance": float("inf")}, "--tolerance must be a finite number"),
    ("lucy", {"iterations": 10**6}, "--iterations must be 1 to 10000"),
    ("lucy", {"iterations": 2.5}, "--iterations must be a whole number"),
])
def test_non_finite_and_unbounded_method_options_are_refused(method, options, words):
    with pytest.raises(UsageError, match=words):
        sigconv.deconvolve(np.ones(20), [1.0, 0.5], method, **options)


def test_an_empty_signal_and_a_signal_shorter_than_the_kernel_are_named_as_such():
    from sigconv.deconvolution.settings import output_length

    with pytest.raises(InvalidSignalError, match="the signal is empty"):
        output_length(None, 0, 100)
    with pytest.raises(InvalidSignalError, match="the signal is empty"):
        output_length(50, 0, 100)
    with pytest.raises(IncompatibleSignalsError, match=r"the signal \(40 frames\) is shorter than the kernel \(100"):
        output_length(None, 40, 100)
    assert output_length(None, 100, 100) == 1


def test_an_output_length_beyond_the_frame_limit_is_refused():
    with pytest.raises(UsageError, match=r"--length 1e9s would be 4\.8e\+13 frames long"):
        parse_length("1e9s", 48000)
    with pytest.raises(UsageError, match="2\\^31"):
        parse_length(2**31 + 1, None)


def test_exact_names_an_ill_conditioned_kernel_instead_of_blaming_the_signal(rng):
    """A true FIR product by a low-pass FIR with a 130 dB stopband: the error names the kernel and suggests wiener."""
    h = scipy.signal.firwin(101, 0.2)
    x = rng.standard_normal(4_000)
    y = np.convolve(x, h)
    with pytest.raises(InexactDivisionError, match=r"ill-conditioned.*condition 2\.\d+e-07.*--method wiener"):
        sigconv.deconvolve(y, h, "exact")
    with pytest.raises(InexactDivisionError, match="not an exact FIR product"):
        sigconv.deconvolve(y + 1e-3 * rng.standard_normal(y.size), h[:3], "exact", length=4_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = sigconv.deconvolve(y, h, snr_db=120)
    passband = scipy.signal.firwin(301, 0.15)  # compare where the kernel passes the signal
    assert snr_db(np.convolve(estimate, passband), np.convolve(x, passband)) > 60
