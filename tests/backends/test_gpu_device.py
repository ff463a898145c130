"""The ``gpu`` backend on a real CUDA device: the stand-in's comparisons again, where a device answers.

Run with ``pytest -m gpu`` (``benchmarks/gpu_check.sh`` does, with the benchmark). Everything skips, with
the reason, where CuPy is not installed or no device answers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import sigconv
from sigconv.backends.gpu import GPUBackend, GPUMemoryWarning, GPUStream
from sigconv.compute.routing import routes_for

pytestmark = pytest.mark.gpu

_REASON = GPUBackend(standin=False).unavailable_reason()


@pytest.fixture
def device(monkeypatch):
    """The registry's ``gpu`` on the real device (the stand-in switched off)."""
    if _REASON is not None:
        pytest.skip(f"no GPU: {_REASON}")
    from sigconv.backends import registry

    monkeypatch.delenv("SIGCONV_GPU_STANDIN", raising=False)
    monkeypatch.setitem(registry._instances, "gpu", GPUBackend(standin=False))
    monkeypatch.setattr(registry, "_available", None)
    import cupy

    yield cupy
    cupy.get_default_memory_pool().set_limit(size=0)
    cupy.get_default_memory_pool().free_all_blocks()


def _close(result, expected, relative):
    assert result.shape == expected.shape and result.dtype == expected.dtype
    np.testing.assert_allclose(result, expected, rtol=0, atol=relative * np.abs(expected).max())


@pytest.mark.parametrize("precision, relative", [(64, 1e-9), (32, 1e-5)])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("layout", [(1, 1), (2, 1), (2, 2), (2, 4)])
def test_convolve_on_the_device_matches_fft(device, rng, precision, relative, mode, layout):
    x = rng.standard_normal((200_000, layout[0]))
    h = rng.standard_normal((20_000, layout[1]))
    expected = sigconv.convolve(x, h, mode, backend="fft", precision=precision)
    _close(sigconv.convolve(x, h, mode, backend="gpu", precision=precision), expected, relative)


def test_correlate_and_deconvolve_on_the_device_match_fft(device, rng):
    a = rng.standard_normal(50_000)
    b = np.stack([np.roll(a, 17), np.roll(a, -250)], axis=1) + 0.1 * rng.standard_normal((50_000, 2))
    for options in ({}, {"max_lag": 0.01}, {"method": "cc", "normalize": True}):
        result = sigconv.correlate(a, b, 48000, backend="gpu", **options)
        expected = sigconv.correlate(a, b, 48000, backend="fft", **options)
        _close(result.values, expected.values, 1e-9)
    h = rng.standard_normal((500, 2)) * np.exp(-np.arange(500) / 50)[:, None]
    h[0] = 1.0
    y = np.stack([np.convolve(a, h[:, c]) for c in range(2)], axis=1)
    for method, options in (("wiener", {"snr_db": 40}), ("tikhonov", {"reg": 1e-4}), ("lucy", {"iterations": 20})):
        source = np.abs(y) if method == "lucy" else y
        kernel = np.abs(h) if method == "lucy" else h
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sigconv.SpectralNullWarning)
            _close(sigconv.deconvolve(source, kernel, method, backend="gpu", **options),
                   sigconv.deconvolve(source, kernel, method, backend="fft", **options), 1e-9)


def test_out_of_memory_on_the_device_retries_with_smaller_blocks(device, rng):
    """CuPy's pool limit makes the first plan's buffers fail: the engine warns and carries on smaller."""
    h = rng.standard_normal((1000, 2))
    routes, outputs = routes_for(2, 2)
    pool = device.get_default_memory_pool()
    pool.free_all_blocks()
    engine = GPUStream(GPUBackend(standin=False).ops(), h, routes, 2, outputs, 1000, 1 << 16)
    pool.set_limit(size=pool.used_bytes() + (1 << 20))  # 1 MB more: room for short hops, not for 2^16-point ones
    x = rng.standard_normal((1_000_000, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = [engine.push(x[s : s + 300_000]) for s in range(0, x.shape[0], 300_000)] + [engine.finish()]
    assert any(issubclass(w.category, GPUMemoryWarning) for w in caught)
    _close(np.concatenate(parts), sigconv.convolve(x, h, backend="fft"), 1e-9)
