"""sigconv.convolution.Convolver: equal to sigconv.convolve and to scipy's direct method, call after call."""

from __future__ import annotations

import pickle
import re
import sys
import threading

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

from sigconv.backends.base import Backend
from sigconv.backends.registry import register_backend
from sigconv.convolution import Convolver, convolve
from sigconv.convolution.prepared import _grid_length
from sigconv.errors import BackendUnavailableError, IncompatibleSignalsError, InvalidSignalError, UsageError

MODES = ["full", "same", "valid"]
#: (signal channels, kernel channels): mono, mono IR on stereo, stereo on stereo, mono to stereo, true stereo
LAYOUTS = [(1, 1), (2, 1), (2, 2), (1, 2), (2, 4)]
#: (n, m) that take each path under auto: direct, one transform, streamed through sigconv.convolve
PATHS = {"direct": (50, 8), "transform": (2_000, 300), "stream": (200_000, 500)}


def oracle(x: np.ndarray, h: np.ndarray, mode: str) -> np.ndarray:
    """scipy's direct method per channel path, routed as documented (independent of sigconv's routing)."""
    cx, ch = x.shape[1], h.shape[1]
    if ch == 1:
        paths = {c: [(c, 0)] for c in range(cx)}
    elif ch == cx:
        paths = {c: [(c, c)] for c in range(cx)}
    elif cx == 1:
        paths = {c: [(0, c)] for c in range(ch)}
    else:  # true stereo: LL, LR, RL, RR
        paths = {0: [(0, 0), (1, 2)], 1: [(0, 1), (1, 3)]}
    columns = [sum(scipy.signal.convolve(x[:, s], h[:, k], mode=mode, method="direct") for s, k in pairs)
               for _, pairs in sorted(paths.items())]
    return np.stack(columns, axis=1)


def assert_close(got, expected, tol=1e-9):
    assert got.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * scale)


@pytest.fixture
def paths_taken(monkeypatch):
    """Which of Convolver's three methods ran, in order."""
    taken = []
    for method in ("_direct", "_transformed", "_stream"):
        original = getattr(Convolver, method)

        def spy(self, *args, _original=original, _method=method, **kwargs):
            taken.append(_method.strip("_"))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Convolver, method, spy)
    return taken


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda c: f"{c[0]}x{c[1]}")
@pytest.mark.parametrize("mode", MODES)
def test_equals_convolve_and_scipy_direct(rng, paths_taken, path, layout, mode):
    n, m = PATHS[path]
    x, h = rng.standard_normal((n, layout[0])), rng.standard_normal((m, layout[1]))
    got = Convolver(h, mode=mode)(x)
    assert paths_taken[0] == {"transform": "transformed"}.get(path, path)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    assert_close(got, convolve(x, h, mode))
    assert_close(got, oracle(x, h, mode))


@pytest.mark.parametrize("backend", ["auto", "fft"])
@given(n=st.integers(1, 3000), m=st.integers(1, 700), mode=st.sampled_from(MODES),
       layout=st.sampled_from(LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_any_lengths_match_scipy_direct(backend, n, m, mode, layout, seed):
    rng = np.random.default_rng(seed)
    x, h = rng.standard_normal((n, layout[0])), rng.standard_normal((m, layout[1]))
    assert_close(Convolver(h, mode=mode, backend=backend)(x), oracle(x, h, mode))


@pytest.mark.parametrize("backend", ["auto", "fft", "direct"])
def test_one_dimensional_in_and_out_as_convolve(rng, backend):
    x, h = rng.standard_normal(3000), rng.standard_normal(400)
    prepared = Convolver(h, backend=backend)
    for signal, kernel in [(x, h), (x[:, None], h), (x, h[:, None])]:
        expected = convolve(signal, kernel, backend=backend)
        got = Convolver(kernel, backend=backend)(signal)
        assert got.shape == expected.shape
        assert_close(got, expected)
    assert prepared(x).ndim == 1


def test_repeated_calls_of_varying_length_reuse_and_evict_the_cache(rng):
    h = rng.standard_normal((300, 2))
    prepared = Convolver(h, backend="fft")
    prepared.max_lengths = 2
    short, middle, long, tiny = (_grid_length(n + 299) for n in (1000, 5000, 20_000, 333))
    assert _grid_length(1010 + 299) == short  # clips of nearby lengths share a transform length
    calls = [(1000, (short,)), (1000, (short,)), (5000, (short, middle)), (1010, (middle, short)),
             (20_000, (short, long)), (5000, (long, middle)), (1000, (middle, short)), (333, (short, tiny)),
             (20_000, (tiny, long))]
    for n, cached in calls:
        x = rng.standard_normal((n, 2))
        assert_close(prepared(x), oracle(x, h, "full"))
        assert prepared.cached_lengths == cached


def test_the_byte_budget_keeps_only_the_newest_length(rng):
    h = rng.standard_normal(300)
    prepared = Convolver(h, backend="fft")
    prepared.max_cache_bytes = 1
    for n in (1000, 4000, 1000):
        x = rng.standard_normal(n)
        assert_close(prepared(x), oracle(x[:, None], h[:, None], "full")[:, 0])
    assert prepared.cached_lengths == (_grid_length(1000 + 299),)
    prepared.clear_cache()
    assert prepared.cached_lengths == ()


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("layout", [(1, 1), (2, 4)], ids=lambda c: f"{c[0]}x{c[1]}")
def test_float32(rng, path, layout):
    n, m = PATHS[path]
    x, h = rng.standard_normal((n, layout[0])), rng.standard_normal((m, layout[1]))
    got = Convolver(h.astype(np.float32), precision=32)(x)
    assert got.dtype == np.float32
    assert_close(got, convolve(x, h, precision=32), tol=1e-5)
    assert_close(got, oracle(x, h, "full"), tol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda c: f"{c[0]}x{c[1]}")
@pytest.mark.parametrize("mode", MODES)
def test_through_the_strict_backend(rng, strict, strict_transforms, layout, mode):
    x, h = rng.standard_normal((700, layout[0])), rng.standard_normal((40, layout[1]))
    prepared = Convolver(h, mode=mode, backend=strict)
    for signal in (x, x[:500], x):
        assert_close(prepared(signal), oracle(signal, h, mode))
    assert strict_transforms["rfft"] > 0


def test_a_long_signal_through_the_strict_backend_streams(rng, strict, strict_transforms, paths_taken):
    n, m = PATHS["stream"]
    x, h = rng.standard_normal(n), rng.standard_normal(m)
    assert_close(Convolver(h, backend=strict)(x), scipy.signal.convolve(x, h, method="direct"))
    assert paths_taken == ["stream"] and strict_transforms["rfft"] > 0


def test_integers_give_exact_integers_as_convolve(paths_taken):
    rng = np.random.default_rng(5)
    x, h = rng.integers(-1000, 1000, 3000), rng.integers(-1000, 1000, 400)
    got = Convolver(h)(x)
    assert paths_taken == ["transformed"]
    np.testing.assert_array_equal(got, convolve(x, h))
    np.testing.assert_array_equal(got, np.convolve(x, h).astype(np.float64))
    # results that could pass 2^52 are computed directly, exactly
    big_x, big_h = x.astype(np.int64) << 30, h.astype(np.int64) << 20
    np.testing.assert_array_equal(Convolver(big_h)(big_x), convolve(big_x, big_h))
    assert paths_taken[-1] == "direct"


def test_pickles_as_its_kernel_and_settings(rng):
    h = rng.standard_normal((2000, 2))
    prepared = Convolver(h, mode="same", backend="fft", context=1, precision=32)
    x = rng.standard_normal((5000, 2))
    expected = prepared(x)
    data = pickle.dumps(prepared)
    assert len(data) < prepared.kernel.nbytes + 4096  # no spectra, plans or locks
    copy = pickle.loads(data)
    assert (copy.mode, copy.backend, copy.context, copy.precision) == ("same", "fft", prepared.context, 32)
    assert copy.cached_lengths == ()
    np.testing.assert_array_equal(copy(x), expected)
    np.testing.assert_array_equal(copy.kernel, prepared.kernel)


def test_two_threads_calling_one_convolver_get_their_own_results(rng):
    # signals of one transform length, long enough that the transforms (run without the GIL)
    # overlap: with one plan shared between the threads, 2-8 of these calls came out wrong
    h = rng.standard_normal(500)
    prepared = Convolver(h, backend="fft")
    signals = [rng.standard_normal(n) for n in (60_000, 60_300, 60_600, 60_900) * 2]
    expected = [np.convolve(x, h) for x in signals]
    failures = []
    start = threading.Barrier(2)

    def work(order):
        start.wait()
        for _ in range(8):
            for i in order:
                got = prepared(signals[i])
                if got.shape != expected[i].shape or not np.allclose(got, expected[i], rtol=0, atol=1e-7):
                    failures.append(i)

    threads = [threading.Thread(target=work, args=(order,))
               for order in (range(len(signals)), reversed(range(len(signals))))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over often, so that the threads interleave
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures
    assert len(prepared.cached_lengths) == 1


def _error_of(call):
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize("bad_x", [
    [], np.zeros((0, 1)), [1.0, np.nan], [[1.0, np.inf]], np.ones((4, 3)), np.ones((2, 2, 2)), "abc",
    [1 + 1j],
], ids=["empty", "no-frames", "nan", "inf", "3-channels", "3-d", "text", "complex"])
def test_bad_signals_raise_what_convolve_raises(bad_x):
    h = np.ones((8, 2))
    expected = _error_of(lambda: convolve(bad_x, h))
    assert isinstance(expected, (InvalidSignalError, IncompatibleSignalsError))
    with pytest.raises(type(expected), match=re.escape(str(expected))):
        Convolver(h)(bad_x)


@pytest.mark.parametrize("bad_h", [[], [np.nan, 1.0], np.ones((2, 2, 2))], ids=["empty", "nan", "3-d"])
def test_bad_kernels_raise_what_convolve_raises(bad_h):
    expected = _error_of(lambda: convolve([1.0, 2.0], bad_h))
    with pytest.raises(InvalidSignalError, match=re.escape(str(expected))):
        Convolver(bad_h)


@pytest.mark.parametrize("options", [{"mode": "middle"}, {"precision": 16}, {"backend": "nope"}])
def test_bad_settings_raise_what_convolve_raises(options):
    rest = {key: value for key, value in options.items() if key != "mode"}
    expected = _error_of(lambda: convolve([1.0], [1.0], options.get("mode", "full"), **rest))
    assert isinstance(expected, (UsageError, BackendUnavailableError))
    with pytest.raises(type(expected), match=re.escape(str(expected))):
        Convolver([1.0], **options)


def test_settings_and_kernel_are_frozen():
    h = np.array([[1.0], [0.5]])
    prepared = Convolver(h, mode="same")
    with pytest.raises(AttributeError):
        prepared.mode = "full"
    with pytest.raises(ValueError):
        prepared.kernel[0, 0] = 2.0
    h[0, 0] = 7.0  # the caller's array is not the kernel
    np.testing.assert_array_equal(prepared([1.0, 2.0]), [[1.0], [2.5]])
    assert "2 taps x 1 channel(s)" in repr(prepared)


class _Naive(Backend):
    """A backend that convolves but has no array operations (and gives no estimate, so auto ignores it)."""

    name, description = "naive-prepared-test", "numpy.convolve per channel (tests)"

    def convolve_full(self, x, h):
        return np.stack([np.convolve(x[:, c % x.shape[1]], h[:, c % h.shape[1]])
                         for c in range(max(x.shape[1], h.shape[1]))], axis=1)


def test_a_backend_without_array_operations_runs_through_convolve(rng, paths_taken):
    register_backend(_Naive.name, _Naive, clobber=True)
    x, h = rng.standard_normal((3000, 2)), rng.standard_normal((400, 1))
    got = Convolver(h, mode="valid", backend=_Naive.name)(x)
    assert paths_taken == ["stream"]
    assert_close(got, oracle(x, h, "valid"))
