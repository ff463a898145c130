"""The compute seam: ArrayOps implementations against numpy.fft, the strict stand-in, the execution context."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import sigconv
from sigconv.backends import Workload, choose_backend
from sigconv.compute.context import ExecutionContext, default_threads
from sigconv.compute.ops import ArrayOps
from sigconv.errors import BackendUnavailableError, UsageError
from sigconv.testing import StrictArray, StrictOps

OPS = [ArrayOps(1), ArrayOps(2), StrictOps(1)]
try:
    from sigconv.compute.fftw import FFTWOps

    OPS.append(FFTWOps(2))
except ImportError:  # pragma: no cover - pyFFTW is in the test extra
    pass



@pytest.mark.parametrize("ops", OPS, ids=lambda o: f"{o.name}-{o.threads}")
@pytest.mark.parametrize("size", [1, 7, 96, 1000])
def test_every_ops_transforms_as_numpy_fft_does(ops, size, rng):
    x = rng.standard_normal((3, size))
    device = ops.to_device(x)
    spectrum = ops.rfft(device, axis=1)
    np.testing.assert_allclose(ops.to_host(spectrum), np.fft.rfft(x, axis=1), atol=1e-11)
    np.testing.assert_allclose(ops.to_host(ops.irfft(spectrum, size, axis=1)), x, atol=1e-12)
    padded = ops.rfft(device, 2 * size + 3, axis=1)
    np.testing.assert_allclose(ops.to_host(padded), np.fft.rfft(x, 2 * size + 3, axis=1), atol=1e-11)
    assert ops.next_fast_len(size) >= size
    plan = ops.real_fft(size, 3, np.float64)
    np.testing.assert_allclose(ops.to_host(plan.forward(device)), np.fft.rfft(x, axis=1), atol=1e-11)
    whole = ops.whole_transform(size)
    buffer = whole.buffer()
    buffer[:size] = device[0]
    np.testing.assert_allclose(ops.to_host(whole.inverse(whole.forward(buffer)))[:size], x[0], atol=1e-12)


def test_strict_arrays_refuse_every_implicit_crossing():
    ops = StrictOps()
    device = ops.to_device(np.arange(4.0))
    host = np.zeros(4)
    with pytest.raises(TypeError):
        np.asarray(device)
    with pytest.raises(TypeError):
        device + host
    with pytest.raises(TypeError):
        host[:] = device
    with pytest.raises(TypeError):
        device[:] = host
    with pytest.raises(TypeError):
        np.concatenate([device, host])
    with pytest.raises(TypeError):
        ops.to_host(host)
    # what a device array may do: arithmetic, reductions, views, explicit moves
    assert isinstance(device * 2 + 1, StrictArray)
    assert float(np.sum(device)) == 6.0
    assert isinstance(device.view(np.complex128), StrictArray)
    np.testing.assert_array_equal(ops.to_host(device[::-1]), [3.0, 2.0, 1.0, 0.0])


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", [((3000,), (200,)), ((5000, 2), (700, 2)), ((4000, 1), (300, 2)),
                                    ((2000, 2), (64, 1))])
def test_convolve_through_the_strict_matches_scipy(strict, mode, shapes, rng):
    x, h = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    for context in (ExecutionContext(threads=1), ExecutionContext(threads=2)):
        y = sigconv.convolve(x, h, mode, backend=strict, context=context)
        assert type(y) is np.ndarray
        expected = sigconv.convolve(x, h, mode, backend="direct")
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * np.max(np.abs(expected)))


def test_streamed_file_convolution_through_the_strict(strict, tmp_path, rng):
    """Long enough for channel lanes and the I/O threads: every host transfer on the file path is explicit."""
    x = rng.standard_normal((200_000, 2)) * 0.1
    h = rng.standard_normal((40_000, 2)) * np.exp(-np.arange(40_000) / 8000)[:, None]
    sf.write(tmp_path / "x.wav", x, 48000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 48000, subtype="DOUBLE")
    report = sigconv.convolve_file(tmp_path / "x.wav", tmp_path / "h.wav", str(tmp_path / "y.wav"),
                                   backend=strict, subtype="DOUBLE", context=2)
    assert "parallel lanes" in report.detail and report.method == "strict"
    y, _ = sf.read(tmp_path / "y.wav")
    expected = np.stack([scipy.signal.oaconvolve(x[:, c], h[:, c]) for c in range(2)], axis=1)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * np.max(np.abs(expected)))


def test_the_strict_stand_in_catches_a_missing_host_transfer(strict, rng):
    """The reason the stand-in exists: code that hands a device array to NumPy fails in CI, not on a GPU."""
    ops = sigconv.get_backend(strict).ops()
    spectrum = ops.rfft(ops.to_device(rng.standard_normal(64)))
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.abs(spectrum).astype(np.float64).tolist() + list(np.asarray(spectrum))


def test_auto_decides_among_every_backend_that_runs_the_operation(strict):
    assert choose_backend("auto", Workload("convolve", 10**6, 3))[0].name == "direct"
    assert choose_backend("auto", Workload("convolve", 10**6, 10**4))[0].name == "fft"
    for operation in ("correlate", "deconvolve", "measure"):
        backend, estimate = choose_backend("auto", Workload(operation, 10**6, 10**5))
        assert backend.supports(operation) and estimate.seconds > 0
    with pytest.raises(BackendUnavailableError, match="does not run correlate.*fft"):
        choose_backend("direct", Workload("correlate", 1000, 1000))


def test_the_plan_auto_made_is_the_plan_the_engine_runs(monkeypatch, rng, tmp_path):
    """One planner: the engine is built from the estimate's plan, not planned a second time."""
    from sigconv.backends import planner
    from sigconv.backends.fft import FFTBackend

    events = []
    original_plan, original_stream = planner.plan_convolution, FFTBackend.stream
    monkeypatch.setattr(planner, "plan_convolution", lambda *a: events.append("plan") or original_plan(*a))

    def stream(self, *args, plan=None, **kwargs):
        events.append(("stream", plan))
        return original_stream(self, *args, plan=plan, **kwargs)

    monkeypatch.setattr(FFTBackend, "stream", stream)
    sf.write(tmp_path / "x.wav", rng.standard_normal((50_000, 2)) * 0.1, 48000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", rng.standard_normal((5_000, 2)) * 0.01, 48000, subtype="DOUBLE")
    sigconv.convolve_file(tmp_path / "x.wav", tmp_path / "h.wav", str(tmp_path / "y.wav"))
    streamed = [i for i, event in enumerate(events) if event != "plan"]
    assert len(streamed) == 1 and events[streamed[0]][1] is not None
    assert "plan" in events[: streamed[0]] and "plan" not in events[streamed[0] :]


@pytest.mark.parametrize("backend", ["auto", "fft", "direct"])
def test_integer_inputs_give_exact_integer_results(backend, rng):
    x = rng.integers(-1000, 1000, 20_000)
    h = rng.integers(-1000, 1000, 3_000)
    expected = np.convolve(x.astype(np.int64), h.astype(np.int64))  # exact integer arithmetic
    y = sigconv.convolve(x, h, backend=backend)
    np.testing.assert_array_equal(y, expected.astype(np.float64))


def test_integers_too_large_for_float_transforms_go_to_the_exact_backend():
    big = np.array([2**40, 3, -(2**40) + 1, 7], dtype=np.int64)
    workload = Workload("convolve", 10**6, 10**5, integer_bound=float(2**40) * 2**40 * 4)
    assert choose_backend("auto", workload)[0].name == "direct"
    y = sigconv.convolve(big, big[::-1].copy())
    assert y[3] == float(np.dot(big.astype(object), big.astype(object)))  # exact sum of squares below 2^53


def test_execution_context_threads(monkeypatch):
    monkeypatch.setenv("SIGCONV_THREADS", "3")
    assert default_threads() == 3 and ExecutionContext().resolved_threads == 3
    monkeypatch.setenv("SIGCONV_THREADS", "many")
    with pytest.raises(UsageError, match="SIGCONV_THREADS.*'many'"):
        default_threads()
    with pytest.raises(UsageError, match="threads must be a positive"):
        ExecutionContext(threads=0)
    assert ExecutionContext(threads=1).resolved_threads == 1


def test_a_single_threaded_context_starts_no_threads(rng, tmp_path):
    x = rng.standard_normal((300_000, 2)) * 0.1
    h = rng.standard_normal((60_000, 2)) * 0.01
    sf.write(tmp_path / "x.wav", x, 48000, subtype="FLOAT")
    sf.write(tmp_path / "h.wav", h, 48000, subtype="FLOAT")
    seen = set()
    original = threading.Thread.start

    def spy(thread):
        seen.add(thread.name)
        return original(thread)

    threading.Thread.start = spy
    try:
        report = sigconv.convolve_file(tmp_path / "x.wav", tmp_path / "h.wav", str(tmp_path / "y.wav"),
                                       context=ExecutionContext.single_threaded())
    finally:
        threading.Thread.start = original
    assert "lanes" not in report.detail
    assert not any(name.startswith("sigconv") for name in seen), seen


def test_the_library_leaves_process_state_alone(rng, tmp_path):
    """The switch interval is the CLI's business: a library job must not change its host's."""
    before = sys.getswitchinterval()
    x = rng.standard_normal((400_000, 2)) * 0.1
    sf.write(tmp_path / "x.wav", x, 48000, subtype="FLOAT")
    sf.write(tmp_path / "h.wav", rng.standard_normal((144_000, 2)) * 0.001, 48000, subtype="FLOAT")
    sigconv.convolve_file(tmp_path / "x.wav", tmp_path / "h.wav", str(tmp_path / "y.wav"))
    assert sys.getswitchinterval() == before


def test_convolve_file_settings_and_keywords(tmp_path, rng):
    from sigconv.convolution.files import ConvolveJob, ConvolveSettings
    import pickle

    sf.write(tmp_path / "x.wav", rng.standard_normal(1000) * 0.1, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", np.array([1.0, 0.5]), 8000, subtype="DOUBLE")
    job = ConvolveJob(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "y.wav"),
                      ConvolveSettings(mode="same"))
    report = pickle.loads(pickle.dumps(job)).run(context=1)
    assert report.frames_out == 1000
    with pytest.raises(UsageError, match="unknown option.*wetness"):
        sigconv.convolve_file(tmp_path / "x.wav", tmp_path / "h.wav", str(tmp_path / "z.wav"), wetness=2)
    assert not (tmp_path / "z.wav").exists()


@pytest.mark.parametrize("shapes", [((16_000,), (4_000,)), ((16_000, 2), (4_000, 2)), ((9_000, 1), (700, 2)),
                                    ((5_000, 2), (300, 1))])
def test_in_memory_calls_of_one_transform_reuse_their_plans_and_stay_exact(shapes, rng, strict):
    """A loop of library calls: the second call of a size reuses the first one's plans, and every result is right."""
    from sigconv.backends import planner

    x, h = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    plan = planner.plan_convolution(Workload("convolve", x.shape[0], h.shape[0], 2, 2, 2, in_memory=True), "pyfftw")
    assert plan.hop >= x.shape[0] + h.shape[0] - 1  # one transform covers it
    expected = sigconv.convolve(x, h, backend="direct")
    for backend in ("fft", strict):
        for _ in range(3):  # the same plans again: their buffers must not leak into the next result
            y = sigconv.convolve(x, h, backend=backend)
            np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * np.max(np.abs(expected)))
        other = sigconv.convolve(x[::-1].copy(), h, backend=backend)
        np.testing.assert_allclose(other, sigconv.convolve(x[::-1].copy(), h, backend="direct"), rtol=0,
                                   atol=1e-9 * np.max(np.abs(expected)))


def _threads_in_worker():
    return default_threads()


def test_a_process_pool_worker_takes_one_thread(monkeypatch):
    import multiprocessing

    monkeypatch.delenv("SIGCONV_THREADS", raising=False)
    monkeypatch.delenv("SIGCONV_FFT_THREADS", raising=False)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_threads_in_worker) == 1
