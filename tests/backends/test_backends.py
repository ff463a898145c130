"""Backends against scipy.signal's direct method, the cost model, and the registry."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal

from sigconv.backends import (
    AUTO,
    Backend,
    backend_statuses,
    get_backend,
    Workload,
    choose_backend,
    known_backends,
    register_backend,
)
from sigconv.backends.direct import DirectBackend
from sigconv.backends.fft import FFTBackend
from sigconv.backends.planner import choose_plan
from sigconv.compute.modes import mode_slice
from sigconv.errors import BackendUnavailableError, UsageError

BUILT_IN = [DirectBackend(), FFTBackend()]
LENGTHS = [1, 2, 3, 7, 8, 64, 101, 1000]


def oracle(x, h, mode):
    """scipy's direct method, channel by channel."""
    if x.ndim == 1:
        return scipy.signal.convolve(x, h, mode=mode, method="direct")
    return np.stack(
        [scipy.signal.convolve(x[:, c], h[:, c % h.shape[1]], mode=mode, method="direct") for c in range(x.shape[1])],
        axis=1,
    )


def assert_close(actual, expected, rel=1e-9):
    assert actual.shape == expected.shape
    scale = max(np.max(np.abs(expected)), np.finfo(float).tiny)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rel * scale)


@pytest.mark.parametrize("backend", BUILT_IN, ids=lambda b: b.name)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_backends_match_scipy_direct_for_every_length_pair(backend, mode, rng):
    for n, m in itertools.product(LENGTHS, LENGTHS):
        x = rng.standard_normal(n)
        h = rng.standard_normal(m)
        assert_close(backend.convolve(x, h, mode), oracle(x, h, mode))


@pytest.mark.parametrize("backend", BUILT_IN, ids=lambda b: b.name)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_backends_convolve_channel_by_channel_and_share_a_mono_kernel(backend, mode, rng):
    x = rng.standard_normal((500, 3))
    for h in (rng.standard_normal((37, 3)), rng.standard_normal((37, 1))):
        assert_close(backend.convolve(x, h, mode), oracle(x, h, mode))


@pytest.mark.parametrize("n, m", [(200_000, 300), (300, 200_000), (5_000_000, 1_000), (50_000, 40_000)])
def test_fft_backend_long_signals_take_the_block_path_and_stay_exact(n, m, rng):
    x = rng.standard_normal((n, 1))
    h = rng.standard_normal((m, 1))
    plan = choose_plan(n, m, 1, 1, 1, method="fft")
    expected = scipy.signal.oaconvolve(x[:, 0], h[:, 0])  # independent FFT implementation
    assert_close(FFTBackend().convolve(x, h)[:, 0], expected, rel=1e-11)
    if n >= 1000 * m:
        assert plan.hop < n, "long-by-short jobs should stream in hops"


def test_float32_path_stays_float32_and_accurate(rng):
    x = rng.standard_normal((20_000, 2)).astype(np.float32)
    h = rng.standard_normal((3_000, 2)).astype(np.float32)
    out = FFTBackend().convolve(x, h)
    assert out.dtype == np.float32
    assert_close(out.astype(np.float64), oracle(x.astype(np.float64), h.astype(np.float64), "full"), rel=1e-5)


@pytest.mark.parametrize("n, m", list(itertools.product([1, 2, 9, 10], [1, 3, 10, 12])))
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_mode_slice_gives_scipys_output_length(n, m, mode):
    s = mode_slice(n, m, mode)
    assert s.stop - s.start == scipy.signal.convolve(np.ones(n), np.ones(m), mode=mode).size


def test_cost_model_picks_direct_for_tiny_kernels_and_fft_for_long_ones():
    assert choose_plan(1_000_000, 1, 1, 1, 1).method == "direct"
    assert choose_plan(1_000_000, 4, 1, 1, 1).method == "direct"
    assert choose_plan(1_000_000, 10_000, 1, 1, 1).method == "fft"
    assert choose_backend(AUTO, Workload("convolve", 10**6, 10**4))[0].name == "fft"
    assert choose_backend(AUTO, Workload("convolve", 10**6, 3))[0].name == "direct"


def test_unknown_backend_error_lists_the_available_ones():
    with pytest.raises(BackendUnavailableError, match=r"unknown backend 'nope'; available: auto, direct, fft"):
        get_backend("nope")


class _Unavailable(Backend):
    name = "needs-hardware"
    description = "a backend whose library is missing"

    def unavailable_reason(self):
        return "the 'quantum' package is not installed: pip install quantum"


class _Doubling(DirectBackend):
    name = "doubling"
    description = "direct, times two (to tell it apart in tests)"

    def convolve_full(self, x, h):
        return 2 * super().convolve_full(x, h)


def test_registering_a_backend_makes_it_usable_and_refuses_duplicates(rng):
    register_backend("doubling", _Doubling, clobber=True)
    x, h = rng.standard_normal(50), rng.standard_normal(5)
    np.testing.assert_allclose(get_backend("doubling").convolve(x, h), 2 * oracle(x, h, "full"))
    with pytest.raises(UsageError, match="already registered"):
        register_backend("doubling", _Doubling)
    with pytest.raises(UsageError, match="reserved"):
        register_backend("auto", _Doubling)
    assert "doubling" in known_backends
    with pytest.raises(TypeError):
        known_backends["x"] = "y"  # the public view is read-only


def test_unavailable_backend_is_listed_with_its_reason_and_refused():
    register_backend("needs-hardware", _Unavailable(), clobber=True)
    row = next(r for r in backend_statuses() if r.name == "needs-hardware")
    assert not row.available and "pip install quantum" in row.reason
    with pytest.raises(BackendUnavailableError, match=r"unavailable: the 'quantum' package.*available: auto, direct, fft"):
        get_backend("needs-hardware")


def test_a_lazy_path_that_fails_to_import_is_reported_not_fatal():
    register_backend("broken-path", "sigconv_no_such_module:Backend", clobber=True)
    rows = {r.name: r for r in backend_statuses()}
    assert not rows["broken-path"].available
    assert "ModuleNotFoundError" in rows["broken-path"].reason
    assert rows["direct"].available and rows["fft"].available


def test_the_scipy_fallback_gives_the_fftw_results_for_every_operation(rng):
    """pyFFTW is a dependency, scipy.fft the fallback (SIGCONV_FFT=scipy): both must compute the same thing."""
    pytest.importorskip("pyfftw")
    import sigconv

    register_backend("fft-scipy", FFTBackend(library="scipy"), clobber=True)
    register_backend("fft-fftw", FFTBackend(library="pyfftw"), clobber=True)
    assert get_backend("fft-scipy").ops().name == "scipy" and get_backend("fft-fftw").ops().name == "pyfftw"
    x = rng.standard_normal((30_000, 2))
    h = rng.standard_normal((3_000, 2)) * np.exp(-np.arange(3_000) / 500)[:, None]
    results = {}
    for name in ("fft-scipy", "fft-fftw"):
        y = sigconv.convolve(x, h, backend=name)
        delay = sigconv.correlate(x[:, 0], np.roll(x[:, 0], 37), backend=name).pairs[0].delay_samples
        recovered = sigconv.deconvolve(y, h, snr_db=80, backend=name)
        results[name] = (y, delay, recovered)
    for a, b in zip(results["fft-scipy"], results["fft-fftw"]):
        a, b = np.asarray(a), np.asarray(b)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * max(1.0, float(np.max(np.abs(b)))))


@pytest.mark.parametrize("channels", [(2, 1), (1, 2), (2, 2), (3, 3)])
def test_direct_backend_hands_on_c_contiguous_frames_by_channels(rng, channels):
    x, h = rng.standard_normal((100, channels[0])), rng.standard_normal((7, channels[1]))
    y = DirectBackend().convolve_full(x, h)
    assert y.flags.c_contiguous and y.shape == (106, max(channels))
    for c in range(y.shape[1]):
        np.testing.assert_allclose(y[:, c], np.convolve(x[:, c % x.shape[1]], h[:, c % h.shape[1]]), atol=1e-12)


def test_direct_backend_refuses_a_block_that_cuts_the_ir_into_too_many_pieces(rng):
    from sigconv.compute.routing import routes_for

    routes, outputs = routes_for(1, 1)
    h = rng.standard_normal((20_000, 1))
    with pytest.raises(UsageError, match="give --block 79 or more"):
        DirectBackend().stream(h, routes, 1, outputs, block=64)
    with pytest.raises(UsageError, match="--block must be 64"):
        DirectBackend().stream(h[:10], routes, 1, outputs, block=8)
    assert DirectBackend().stream(h, routes, 1, outputs) is not None  # the default block is not the user's
