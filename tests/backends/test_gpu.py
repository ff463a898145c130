"""The ``gpu`` backend on the CuPy stand-in: availability, the stand-in's rules, every operation against ``fft``,
memory bounds and the out-of-memory retry, and ``auto``'s use of measured costs.

``SIGCONV_GPU_STANDIN=1`` runs the backend's own code on NumPy arrays that refuse implicit host transfers as
CuPy's do, so every move a real device needs is exercised here; ``tests/backends/test_gpu_device.py`` runs the
same comparisons on a real device where one answers.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest
import scipy.signal

import sigconv
from sigconv.backends import cupy_standin as cs
from sigconv.backends.gpu import (
    NOT_INSTALLED,
    GPUBackend,
    GPUMemoryWarning,
    GPUOutOfMemoryError,
    GPUStream,
    gpu_plan,
)
from sigconv.compute.routing import routes_for
from sigconv.errors import BackendUnavailableError

from ..deconvolution.test_arrays import _problem

RATE = 8000


@pytest.fixture
def standin(monkeypatch):
    """The stand-in switched on (auto's cached list of backends forgotten), its counters and limits reset."""
    from sigconv.backends import registry

    monkeypatch.setenv("SIGCONV_GPU_STANDIN", "1")
    monkeypatch.setattr(registry, "_available", None)
    cs.reset()
    yield cs
    cs.reset()


def assert_close(result, expected, relative=1e-9):
    """Within ``relative`` of the expected result's peak (the issue's measure)."""
    assert result.shape == expected.shape and result.dtype == expected.dtype
    np.testing.assert_allclose(result, expected, rtol=0, atol=relative * np.abs(expected).max())


# --- availability -------------------------------------------------------------------------------------------------


def test_without_cupy_the_reason_names_the_extra(monkeypatch):
    monkeypatch.delenv("SIGCONV_GPU_STANDIN", raising=False)
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ModuleNotFoundError, as when not installed
    assert GPUBackend().unavailable_reason() == NOT_INSTALLED == "CuPy is not installed: pip install 'sigconv[gpu]'"


class _Runtime:
    """A CuPy whose device query answers ``count`` devices or raises the driver's error."""

    def __init__(self, count=None, error=None):
        self.count, self.error = count, error

    def getDeviceCount(self):  # noqa: N802 - CuPy's name
        if self.error:
            raise self.error
        return self.count


@pytest.mark.parametrize("runtime, reason", [
    (_Runtime(count=0), "no CUDA device"),
    (_Runtime(error=RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")),
     "no CUDA device answers (cudaErrorInsufficientDriver: CUDA driver version is insufficient)"),
])
def test_without_a_device_the_reason_is_the_drivers(monkeypatch, runtime, reason):
    class FakeCupy:
        cuda = type("cuda", (), {"runtime": runtime})

    backend = GPUBackend(standin=False)
    monkeypatch.setattr(backend, "_modules", lambda: (FakeCupy, None))
    assert backend.unavailable_reason() == reason


def test_backends_lists_the_stand_in_and_the_reason(cli, monkeypatch):
    monkeypatch.setenv("SIGCONV_GPU_STANDIN", "1")
    line = next(row for row in cli("backends").output.splitlines() if row.startswith("gpu"))
    assert "yes" in line and line.endswith("(stand-in)") and "convolve,correlate,deconvolve,measure" in line
    _without_cupy(monkeypatch)
    line = next(row for row in cli("backends").output.splitlines() if row.startswith("gpu"))
    assert " no " in line and line.endswith(NOT_INSTALLED)


def _without_cupy(monkeypatch):
    """As where CuPy is not installed: the registry's ``gpu`` checks afresh and ``import cupy`` fails."""
    from sigconv.backends import registry

    monkeypatch.delenv("SIGCONV_GPU_STANDIN", raising=False)
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setitem(registry._instances, "gpu", GPUBackend())
    monkeypatch.setattr(registry, "_available", None)


def test_naming_an_unavailable_gpu_is_exit_5_and_auto_passes_it_by(cli, monkeypatch, write_audio, rng, tmp_path):
    _without_cupy(monkeypatch)
    x = write_audio("x.wav", rng.standard_normal(2000) * 0.1)
    h = write_audio("h.wav", rng.standard_normal(50) * 0.1)
    out = tmp_path / "y.wav"
    result = cli("convolve", x, h, "-o", out, "--backend", "gpu", "-q")
    assert result.exit_code == 5 and NOT_INSTALLED in result.stderr
    with pytest.raises(BackendUnavailableError, match="pip install 'sigconv\\[gpu\\]'"):
        sigconv.convolve(np.ones(10), np.ones(3), backend="gpu")
    result = cli("convolve", x, h, "-o", out, "-q")
    assert result.exit_code == 0 and result.stderr == ""


# --- the stand-in keeps CuPy's rules ------------------------------------------------------------------------------


def test_stand_in_arrays_refuse_every_implicit_crossing(standin):
    device = standin.asarray(np.arange(6.0))
    host = np.arange(6.0)
    for crossing in (lambda: np.asarray(device), lambda: device.__array__(), lambda: np.add(device, host),
                     lambda: device + host, lambda: np.concatenate([device, host]), lambda: device.__setitem__(
                         slice(None), host), lambda: standin.multiply(device, host)):
        with pytest.raises(TypeError):
            crossing()
    total = standin.sum(device)  # reductions stay on the device, as CuPy's 0-d arrays
    assert isinstance(total, standin.ndarray) and float(total) == 15.0
    np.testing.assert_array_equal(device.get(), host)
    np.testing.assert_allclose(standin.asnumpy(standin.fft.irfft(standin.fft.rfft(device), 6)), host, atol=1e-12)
    assert standin.transfers["to_device"] == host.nbytes and standin.transfers["to_host"] == 2 * host.nbytes


def test_the_stand_in_catches_a_missing_host_transfer(standin, monkeypatch, rng):
    """A backend that handed back device arrays where host arrays are due fails here, as it would on a GPU."""
    from sigconv.backends.gpu_ops import GPUOps

    monkeypatch.setattr(GPUOps, "to_host", lambda self, x: x)
    with pytest.raises(TypeError, match="NumPy array"):  # a device array met the host's numpy.concatenate
        sigconv.convolve(rng.standard_normal(3000), rng.standard_normal(100), backend="gpu")


def test_stand_in_memory_limit_raises_cupys_error(standin):
    pool = standin.get_default_memory_pool()
    pool.set_limit(size=pool.used_bytes() + 1000)
    with pytest.raises(standin.cuda.memory.OutOfMemoryError):
        standin.zeros(1000)
    small = standin.zeros(10)  # 80 bytes fit
    assert pool.used_bytes() >= small.nbytes


# --- every operation against the fft backend ----------------------------------------------------------------------

LAYOUTS = {"1x1": (1, 1), "2x1": (2, 1), "1x2": (1, 2), "2x2": (2, 2), "2x4 true stereo": (2, 4)}


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_convolve_matches_fft(standin, rng, mode, layout):
    signal_channels, kernel_channels = LAYOUTS[layout]
    x = rng.standard_normal((3000, signal_channels))
    h = rng.standard_normal((200, kernel_channels))
    expected = sigconv.convolve(x, h, mode, backend="fft")
    assert_close(sigconv.convolve(x, h, mode, backend="gpu"), expected)
    assert_close(sigconv.Convolver(h, mode=mode, backend="gpu")(x), expected)
    assert standin.transfers["to_device"] > 0 and standin.transfers["to_host"] > 0


def test_convolve_float32_within_1e_5(standin, rng):
    x, h = rng.standard_normal((20000, 2)), rng.standard_normal((900, 2))
    result = sigconv.convolve(x, h, backend="gpu", precision=32)
    assert_close(result, sigconv.convolve(x, h, backend="fft", precision=32), relative=1e-5)


def test_large_blocks_move_through_pinned_staging(standin, rng):
    """Blocks of megabytes go through the pinned buffers in pieces; the result comes back whole."""
    from sigconv.backends import gpu_ops as gpu

    x, h = rng.standard_normal((400_000, 2)), rng.standard_normal((64, 2))
    ops = sigconv.get_backend("gpu").ops()
    staged = ops.to_device(x)  # 6.4 MB: one pinned piece after another
    assert standin.get_default_pinned_memory_pool().allocations >= 2 and x.nbytes > gpu._DIRECT_BYTES
    np.testing.assert_array_equal(ops.to_host(staged), x)
    big = np.arange(3 * gpu.STAGING_BYTES // 8 + 5, dtype=np.float64)  # more pieces than buffers
    np.testing.assert_array_equal(ops.to_host(ops.to_device(big)), big)
    assert_close(sigconv.convolve(x, h, backend="gpu"), scipy.signal.oaconvolve(x, h, axes=0))


def _stream(engine, x, piece):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = [engine.push(x[s : s + piece]) for s in range(0, x.shape[0], piece)] + [engine.finish()]
    return np.concatenate(parts), [w for w in caught if issubclass(w.category, GPUMemoryWarning)]


@pytest.mark.parametrize("taps, kernel_channels, partition, size", [
    (300, 2, 300, 4096),     # plain overlap-save, channels batched
    (2000, 1, 512, 1024),    # partitioned, a shared IR
    (700, 4, 700, 4096),     # true stereo: two paths into each output
])
@pytest.mark.parametrize("after", [0, 5, 15])
def test_out_of_memory_mid_stream_retries_with_smaller_blocks(standin, rng, taps, kernel_channels, partition, size,
                                                              after):
    """Two allocations in a row fail (so the ops' own retry fails too): the engine warns, halves its
    transforms, replays the input it kept, and the result is still the convolution."""
    h = rng.standard_normal((taps, kernel_channels))
    routes, outputs = routes_for(2, kernel_channels)
    x = rng.standard_normal((30_000, 2))
    engine = GPUStream(sigconv.get_backend("gpu").ops(), h, routes, 2, outputs, partition, size)
    standin.get_default_memory_pool().fail_once(after, times=2)
    result, warned = _stream(engine, x, 2_111)
    expected = sigconv.convolve(x, h, backend="fft")
    assert engine.retries == 1 and len(warned) == 1 and "ran out of memory" in str(warned[0].message)
    assert engine.fft_size == size // 2
    assert_close(result, expected)


def test_out_of_memory_at_the_first_plan_shrinks_until_it_fits(standin, rng):
    h = rng.standard_normal((100, 2))
    x = rng.standard_normal((200_000, 2))
    pool = standin.get_default_memory_pool()
    pool.set_limit(size=pool.used_bytes() + 12 * 2**20)  # 12 MB: 2^18-point stereo buffers do not fit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sigconv.convolve(x, h, backend="gpu")
    assert any(issubclass(w.category, GPUMemoryWarning) for w in caught)
    assert pool.peak <= pool.get_limit()
    assert_close(result, sigconv.convolve(x, h, backend="fft"))


def test_out_of_memory_that_no_block_cures_is_a_clear_error(standin, rng):
    pool = standin.get_default_memory_pool()
    pool.set_limit(size=pool.used_bytes() + 64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GPUMemoryWarning)
        with pytest.raises(GPUOutOfMemoryError, match="--backend fft") as caught:
            sigconv.convolve(rng.standard_normal(5000), rng.standard_normal(40), backend="gpu")
    assert caught.value.exit_code == 5


def test_device_memory_is_bounded_whatever_the_length(standin, rng):
    """A stream ten times longer peaks at the same device memory: blocks, not the file, live on the device."""
    h = rng.standard_normal((500, 2))
    routes, outputs = routes_for(2, 2)
    peaks = []
    for frames in (40_000, 400_000):
        standin.reset()
        base = standin.get_default_memory_pool().used_bytes()
        engine = GPUStream(sigconv.get_backend("gpu").ops(), h, routes, 2, outputs, *gpu_plan(500, None, 4096))
        x = rng.standard_normal((frames, 2)).astype(np.float32)
        for s in range(0, frames, 50_000):
            engine.push(x[s : s + 50_000])
        engine.finish()
        peaks.append(standin.get_default_memory_pool().peak - base)
        del engine
    # ten times the input, not ten times the memory (the longer input alone is 3.2 MB, its output 6.4 MB)
    assert peaks[1] < 1.5 * peaks[0] and peaks[1] < x.nbytes / 2


def test_streamed_file_convolution_matches_fft(standin, cli, write_audio, rng, tmp_path):
    x = write_audio("x.wav", rng.standard_normal((30_000, 2)) * 0.1, rate=RATE, subtype="DOUBLE")
    h = write_audio("h.wav", rng.standard_normal((1500, 2)) * 0.05, rate=RATE, subtype="DOUBLE")
    outputs = {}
    for backend in ("fft", "gpu"):
        out = tmp_path / f"{backend}.wav"
        result = cli("convolve", x, h, "-o", out, "--backend", backend, "--subtype", "DOUBLE", "-q")
        assert result.exit_code == 0, result.stderr
        outputs[backend] = sigconv.read(str(out)).data
    assert_close(outputs["gpu"], outputs["fft"])


def _broadband(rng, n):
    return scipy.signal.lfilter([1.0], [1.0, -0.6], rng.standard_normal(n))


def _shifted(x, delay):
    spectrum = np.fft.rfft(x)
    return np.fft.irfft(spectrum * np.exp(-2j * np.pi * np.fft.rfftfreq(x.size) * delay), x.size)


@pytest.mark.parametrize("options", [  # parabolic refinement: the band-limited one runs on the host, and slowly
    {"method": "gcc-phat", "refine": "parabolic"},
    {"method": "scot", "max_lag": 150, "refine": "parabolic"},
    {"method": "cc", "normalize": True, "lag_range": (-300, 200), "block": 700, "refine": "parabolic"},
])
def test_correlate_matches_fft(standin, rng, options):
    source = _broadband(rng, 20_000)
    a = source[2000:8000]
    b = np.stack([_shifted(source, 12.25), _shifted(source, -3.5)], axis=1)[2000:8000]
    b = b + 0.05 * rng.standard_normal(b.shape)
    result = sigconv.correlate(a, b, backend="gpu", **options)
    assert standin.transfers["to_device"] > a.nbytes and standin.transfers["to_host"] > 0  # the device computed
    expected = sigconv.correlate(a, b, backend="fft", **options)
    assert (result.lo, result.hi) == (expected.lo, expected.hi)
    assert_close(result.values, expected.values)
    np.testing.assert_allclose([p.delay_samples for p in result.pairs], [p.delay_samples for p in expected.pairs],
                               rtol=0, atol=1e-6)


def test_locate_and_drift_match_fft(standin, rng):
    clip = rng.standard_normal(RATE // 4)
    x = 0.05 * rng.standard_normal(RATE * 4)
    for start, gain in ((3_000, 1.0), (17_777, 0.6)):
        x[start : start + clip.size] += gain * clip
    found = sigconv.locate(clip, x, RATE, threshold=0.3, backend="gpu")
    assert standin.transfers["to_device"] > clip.nbytes
    expected = sigconv.locate(clip, x, RATE, threshold=0.3, backend="fft")
    assert [m.start_samples for m in found.matches] == [m.start_samples for m in expected.matches] == [3_000, 17_777]
    np.testing.assert_allclose([m.score for m in found.matches], [m.score for m in expected.matches], atol=1e-9)

    source = _broadband(rng, 60_000)
    a, b = source[:50_000], _shifted(source, 30.0)[:50_000] + 0.05 * rng.standard_normal(50_000)
    fit = sigconv.estimate_drift(a, b, RATE, window=1.0, refine="parabolic", backend="gpu").pairs[0]
    reference = sigconv.estimate_drift(a, b, RATE, window=1.0, refine="parabolic", backend="fft").pairs[0]
    assert fit.offset_samples == pytest.approx(reference.offset_samples, abs=1e-6)
    assert fit.drift_ppm == pytest.approx(reference.drift_ppm, abs=1e-6)


def test_correlate_cli_matches_fft(standin, cli, write_audio, rng):
    source = _broadband(rng, 20_000)
    a = write_audio("a.wav", 0.1 * source[2000:10000], rate=RATE, subtype="DOUBLE")
    b = write_audio("b.wav", 0.1 * _shifted(source, 40.0)[2000:10000], rate=RATE, subtype="DOUBLE")
    reports = {}
    for backend in ("fft", "gpu"):
        result = cli("correlate", a, b, "--json", "--max-lag", "0.05", "--backend", backend, "-q")
        assert result.exit_code == 0, result.stderr
        reports[backend] = json.loads(result.stdout)
    gpu, fft = reports["gpu"]["pairs"][0], reports["fft"]["pairs"][0]
    assert gpu["delay_samples"] == pytest.approx(fft["delay_samples"], abs=1e-6)
    assert gpu["delay_samples"] == pytest.approx(40.0, abs=0.05)


def test_impulse_measure_matches_fft(standin, rng):
    sweep = sigconv.exponential_sweep(RATE, 1.0, 50.0, 3500.0, silence=0.3)
    room = rng.standard_normal(1200) * np.exp(-np.arange(1200) / 200)
    recording = scipy.signal.fftconvolve(sweep, room) + 1e-4 * rng.standard_normal(sweep.size + room.size - 1)
    result = sigconv.measure_ir(recording, sweep, RATE, backend="gpu")
    assert standin.transfers["to_device"] > sweep.nbytes
    expected = sigconv.measure_ir(recording, sweep, RATE, backend="fft")
    assert_close(result.ir, expected.ir)


@pytest.mark.parametrize("method, options", [
    ("wiener", {"snr_db": 30}),
    ("tikhonov", {"reg": 1e-4, "band": (200.0, 3000.0), "rate": RATE}),
    ("lucy", {"iterations": 30}),
    ("exact", {}),
])
def test_deconvolve_matches_fft(standin, rng, method, options):
    _, y, h = _problem(rng, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sigconv.SpectralNullWarning)
        result = sigconv.deconvolve(y, h, method, backend="gpu", **options)
        assert standin.transfers["to_device"] > 0 and standin.transfers["to_host"] > 0
        expected = sigconv.deconvolve(y, h, method, backend="fft", **options)
    assert_close(result, expected)


def test_deconvolve_float32_within_1e_5(standin, rng):
    _, y, h = _problem(rng, "wiener")
    result = sigconv.deconvolve(y, h, "wiener", snr_db=30, precision=32, backend="gpu")
    assert_close(result, sigconv.deconvolve(y, h, "wiener", snr_db=30, precision=32, backend="fft"), relative=1e-5)


def test_streaming_wiener_deconvolve_file_matches_fft(standin, cli, write_audio, rng, tmp_path):
    _, y, h = _problem(rng, "wiener")
    y_path = write_audio("y.wav", y * 0.1, rate=RATE, subtype="DOUBLE")
    h_path = write_audio("h.wav", h * 0.5, rate=RATE, subtype="DOUBLE")
    outputs = {}
    for backend in ("fft", "gpu"):
        out = tmp_path / f"{backend}.wav"
        result = cli("deconvolve", y_path, h_path, "-o", out, "--backend", backend, "--subtype", "DOUBLE", "-q")
        assert result.exit_code == 0, result.stderr
        outputs[backend] = sigconv.read(str(out)).data
    assert_close(outputs["gpu"], outputs["fft"])


# --- auto and the measured costs ----------------------------------------------------------------------------------

WORKLOADS = [("convolve", 10**6, 3000, 2), ("convolve", 10**5, 3, 1), ("correlate", 10**6, 10**6, 1),
             ("deconvolve", 10**5, 1000, 2)]


def test_auto_never_picks_the_gpu_without_measured_costs(standin):
    from sigconv.backends.base import Workload
    from sigconv.backends.planner import choose_backend

    assert sigconv.get_backend("gpu").estimate(Workload("convolve", 10**7, 10**5, 2, 2, 2)) is None
    for operation, n, m, channels in WORKLOADS:
        workload = Workload(operation, n, m, channels, channels, channels)
        assert choose_backend("auto", workload)[0].name != "gpu"


def test_auto_weighs_the_tuned_gpu_against_the_cpu(standin, cli):
    """``sigconv tune --backend gpu`` measures the stand-in; with its costs scaled far down the GPU wins every
    job, scaled far up none: auto compares the measured model with the CPU's."""
    import json
    import os

    from sigconv.backends.base import Workload
    from sigconv.backends.gpu_tuning import gpu_costs_path, load_gpu_costs
    from sigconv.backends.planner import choose_backend

    result = cli("tune", "--backend", "gpu", "--max-size", "8192", "--precision", "64", "-q")
    assert result.exit_code == 0, result.stderr
    path = gpu_costs_path(standin=True)
    measured = load_gpu_costs(standin=True)
    assert set(measured["hop_seconds"]["float64"]) == {4096, 8192} and measured["to_device_byte"] > 0
    with open(path) as f:
        tuned = json.load(f)
    try:
        for scale in (1e-6, 1e6):
            raw = dict(tuned)
            raw["hop_seconds"] = {d: {k: v * scale for k, v in t.items()} for d, t in tuned["hop_seconds"].items()}
            raw["mac_seconds"] = {d: v * scale for d, v in tuned["mac_seconds"].items()}
            for key in ("to_device_byte", "to_host_byte", "call_seconds"):
                raw[key] = tuned[key] * scale
            with open(path + ".new", "w") as f:
                json.dump(raw, f)
            os.replace(path + ".new", path)
            for operation, n, m, channels in WORKLOADS:
                workload = Workload(operation, n, m, channels, channels, channels)
                chosen = choose_backend("auto", workload)[0].name
                assert (chosen == "gpu") == (scale < 1), (scale, operation, chosen)
    finally:
        os.remove(path)


# --- batch ----------------------------------------------------------------------------------------------------------


def test_batch_on_the_gpu_writes_what_the_fft_backend_writes(standin, tmp_path):
    """`sigconv batch` on the gpu backend: every pair through the device path, the files equal fft's within 1e-9."""
    import soundfile as sf

    rng = np.random.default_rng(18)
    rate = 16000
    for k in range(2):
        sf.write(tmp_path / f"clip{k}.wav", rng.standard_normal((rate // 2, 1 + k)) * 0.1, rate, subtype="DOUBLE")
    decay = np.exp(-np.arange(3000) / 400.0)
    sf.write(tmp_path / "room.wav", (rng.standard_normal((3000, 2)) * decay[:, None]) * 0.05, rate, subtype="DOUBLE")
    sf.write(tmp_path / "plate.wav", rng.standard_normal(700) * np.exp(-np.arange(700) / 90.0) * 0.05, rate,
             subtype="DOUBLE")
    inputs = [str(tmp_path / "clip0.wav"), str(tmp_path / "clip1.wav")]
    irs = [str(tmp_path / "room.wav"), str(tmp_path / "plate.wav")]
    written = {}
    for backend in ("fft", "gpu"):
        cs.reset()
        summary = sigconv.convolve_batch(inputs, irs, str(tmp_path / backend), jobs=1, backend=backend,
                                         precision=64, subtype="DOUBLE")
        assert summary.failed == 0, summary
        written[backend] = {p.name: sf.read(p)[0] for p in sorted((tmp_path / backend).glob("*.wav"))}
        if backend == "gpu":
            assert cs.transfers["to_device"] > 0  # the device path ran
    assert sorted(written["gpu"]) == sorted(written["fft"]) and len(written["fft"]) == 4
    for name, expected in written["fft"].items():
        assert_close(written["gpu"][name], expected)
