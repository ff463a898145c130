"""Streaming engines and the mode window against scipy, pushed in blocks of every size."""

from __future__ import annotations

import json
import math
from unittest import mock

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

from sigconv.backends.direct import DirectBackend
from sigconv.backends.calibration import fast_sizes, load_tuned_costs, measure_hop_table, save_tuned_costs
from sigconv.backends.fft import LANES_MIN_FFT, FFTBackend
from sigconv.compute import engine as engine_module
from sigconv.compute.engine import BlockOverlapAdd, ChannelLanes, OverlapSave, one_path_per_output, run_engine
from sigconv.compute.fftw import FFTWOps
from sigconv.compute.ops import ArrayOps
from sigconv.compute.modes import ModeWindow
from sigconv.backends.base import Workload
from sigconv.backends.planner import choose_plan
from sigconv.compute.routing import routes_for
from sigconv.testing import StrictOps


def oracle(x, h, routes, outputs):
    y = np.zeros((x.shape[0] + h.shape[0] - 1, outputs))
    for r in routes:
        y[:, r.target] += scipy.signal.convolve(x[:, r.source], h[:, r.kernel], method="direct")
    return y


def push_in_pieces(engine, x, sizes):
    parts, start, i = [], 0, 0
    while start < x.shape[0]:
        size = sizes[i % len(sizes)]
        parts.append(engine.push(x[start : start + size]))
        start += size
        i += 1
    parts.append(engine.finish())
    return np.concatenate(parts)


CHANNELS = [(1, 1), (2, 1), (2, 2), (1, 2), (2, 4), (3, 3)]


INDEPENDENT = [(2, 1), (2, 2), (3, 3), (3, 1), (1, 2)]


@given(
    n=st.integers(1, 400),
    m=st.integers(1, 120),
    channels=st.sampled_from(CHANNELS),
    lanes=st.integers(0, 3),
    partition_divisor=st.integers(1, 9),
    extra=st.integers(0, 64),
    sizes=st.lists(st.integers(1, 150), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
    strict=st.booleans(),
)
def test_overlap_save_equals_direct_convolution(n, m, channels, lanes, partition_divisor, extra, sizes, seed, strict):
    """Plain, or with ``lanes`` > 0 (and channels that allow it) in that many parallel lanes.

    With ``strict``, the same engine computes on :class:`sigconv.testing.StrictOps`, whose arrays refuse
    implicit conversion to NumPy as CuPy's do: a missing host transfer in the engine fails here.
    """
    ops = StrictOps() if strict else None
    rng = np.random.default_rng(seed)
    cin, cir = INDEPENDENT[seed % len(INDEPENDENT)] if lanes else channels
    x, h = rng.standard_normal((n, cin)), rng.standard_normal((m, cir))
    routes, outputs = routes_for(cin, cir)
    partition = max(1, m // partition_divisor)
    fft_size = max(m + extra if partition >= m else 2 * partition + extra, 1)
    if lanes:
        engine = ChannelLanes(h, routes, cin, outputs, partition, fft_size, workers=lanes, ops=ops)
    else:
        engine = OverlapSave(h, routes, cin, outputs, partition, fft_size, ops=ops)
    with engine:
        y = push_in_pieces(engine, x, sizes)
    assert type(y) is np.ndarray
    expected = oracle(x, h, routes, outputs)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * max(1.0, np.max(np.abs(expected))))


@given(
    n=st.integers(1, 3000),
    m=st.integers(1, 200),
    channels=st.sampled_from(CHANNELS),
    lanes=st.booleans(),
    extra=st.integers(1, 300),
    batch=st.integers(2, 9),
    sizes=st.lists(st.integers(1, 1500), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_hops_transformed_together_equal_direct_convolution(n, m, channels, lanes, extra, batch, sizes, seed):
    """Short transforms run ``batch`` hops per call; the windows of a batch span the pushed blocks anyhow."""
    rng = np.random.default_rng(seed)
    cin, cir = INDEPENDENT[seed % len(INDEPENDENT)] if lanes else channels
    x, h = rng.standard_normal((n, cin)), rng.standard_normal((m, cir))
    routes, outputs = routes_for(cin, cir)
    fft_size = m + extra
    rows = 1 if lanes else cin
    with mock.patch.object(engine_module, "BATCH_POINTS", batch * fft_size * rows):
        if lanes:
            engine = ChannelLanes(h, routes, cin, outputs, m, fft_size, workers=2)
            first = engine.lanes[0]
        else:
            engine = first = OverlapSave(h, routes, cin, outputs, m, fft_size)
        in_place = first._in_place is not None  # plain overlap-save on channel-parallel paths
        assert engine.push_frames == (batch if in_place else 1) * (fft_size - m + 1)
        with engine:
            y = push_in_pieces(engine, x, sizes)
    expected = oracle(x, h, routes, outputs)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * max(1.0, np.max(np.abs(expected))))
    pieces = np.diff(np.minimum(np.cumsum([0] + sizes * n), n))
    if in_place and pieces.max() >= engine.push_frames:
        assert first._batched is not None  # the batched path ran


@given(
    chunks=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    channels=st.integers(1, 3),
    step=st.integers(1, 30),
    width=st.integers(1, 50),
    seed=st.integers(0, 2**16),
)
def test_pending_windows_are_the_input_slices(chunks, channels, step, width, seed):
    rng = np.random.default_rng(seed)
    pending = engine_module._Pending()
    for length in chunks:
        pending.add(rng.standard_normal((length, channels)).astype(np.float32))
    whole = np.concatenate([chunk for chunk in pending.chunks], axis=1)
    count = (whole.shape[1] - width) // step + 1
    if count < 1:
        return
    out = np.full((count, channels, width), np.nan)
    pending.windows_into(out, step)
    for j in range(count):
        np.testing.assert_array_equal(out[j], whole[:, j * step : j * step + width])
    assert pending.size == whole.shape[1]  # kept


@given(n=st.integers(1, 300), m=st.integers(1, 60), channels=st.sampled_from(CHANNELS),
       sizes=st.lists(st.integers(1, 100), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_block_overlap_add_equals_direct_convolution(n, m, channels, sizes, seed):
    rng = np.random.default_rng(seed)
    cin, cir = channels
    x, h = rng.standard_normal((n, cin)), rng.standard_normal((m, cir))
    routes, outputs = routes_for(cin, cir)
    engine = BlockOverlapAdd(DirectBackend(), h, routes, cin, outputs, block=37)
    np.testing.assert_allclose(push_in_pieces(engine, x, sizes), oracle(x, h, routes, outputs), atol=1e-10)


def test_channel_lanes_emit_float32_when_asked(rng):
    x = rng.standard_normal((30_000, 2)).astype(np.float32)
    h = rng.standard_normal((2_000, 2))
    routes, outputs = routes_for(2, 2)
    engine = ChannelLanes(h, routes, 2, 2, 2_000, 4096, np.float64)
    engine.output_dtype = np.float32
    y = run_engine(engine, x, 5000)
    assert y.dtype == np.float32
    expected = oracle(x.astype(np.float64), h, routes, outputs)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-6 * np.max(np.abs(expected)))


def test_lanes_only_where_each_output_is_one_path():
    assert one_path_per_output(routes_for(2, 2)[0], 2)
    assert one_path_per_output(routes_for(2, 1)[0], 2)
    assert one_path_per_output(routes_for(1, 2)[0], 2)  # one input feeds two outputs, each through its IR channel
    assert not one_path_per_output(routes_for(2, 4)[0], 2)  # true stereo: each output sums two paths
    with pytest.raises(ValueError, match="one path"):
        ChannelLanes(np.ones((4, 4)), routes_for(2, 4)[0], 2, 2, 4, 8)


def test_fft_backend_runs_long_stereo_transforms_in_lanes(monkeypatch):
    monkeypatch.setenv("SIGCONV_FFT_THREADS", "2")
    h = np.zeros((LANES_MIN_FFT // 2, 2))
    stereo = FFTBackend().stream(h, routes_for(2, 2)[0], 2, 2, n_hint=10**8, block=LANES_MIN_FFT // 2)
    assert isinstance(stereo, ChannelLanes) and stereo.fft_size >= LANES_MIN_FFT
    mono_to_stereo = FFTBackend().stream(h, routes_for(1, 2)[0], 1, 2, n_hint=10**8, block=LANES_MIN_FFT // 2)
    assert isinstance(mono_to_stereo, ChannelLanes)  # one input, two lanes: the same parallel treatment
    true_stereo = FFTBackend().stream(np.zeros((LANES_MIN_FFT // 2, 4)), routes_for(2, 4)[0], 2, 2, n_hint=10**8,
                                      block=LANES_MIN_FFT // 2)
    assert isinstance(true_stereo, OverlapSave)
    monkeypatch.setenv("SIGCONV_FFT_THREADS", "1")
    assert isinstance(FFTBackend().stream(h, routes_for(2, 2)[0], 2, 2, n_hint=10**8, block=LANES_MIN_FFT // 2),
                      OverlapSave)


def test_float32_engine(rng):
    x = rng.standard_normal((50_000, 2)).astype(np.float32)
    h = rng.standard_normal((3_000, 2)).astype(np.float32)
    routes, outputs = routes_for(2, 2)
    y = run_engine(OverlapSave(h, routes, 2, 2, 1024, 2048, np.float32), x, 4096)
    assert y.dtype == np.float32
    expected = oracle(x.astype(np.float64), h.astype(np.float64), routes, outputs)
    np.testing.assert_allclose(y, expected, rtol=0, atol=2e-5 * np.max(np.abs(expected)))


@pytest.mark.parametrize("library", ["scipy", "pyfftw"])
def test_both_fft_libraries_agree_with_numpy(library):
    if library == "pyfftw":
        pytest.importorskip("pyfftw")
    ops = FFTWOps(2) if library == "pyfftw" else ArrayOps(2)
    assert ops.name == library
    fft = ops.real_fft(96, 2, np.float64)
    x = np.random.default_rng(3).standard_normal((2, 96))
    spectrum = fft.forward(x).copy()
    np.testing.assert_allclose(spectrum, np.fft.rfft(x, axis=1), atol=1e-12)
    np.testing.assert_allclose(fft.inverse(spectrum), x, atol=1e-12)
    fft.frame[:] = x
    np.testing.assert_allclose(fft.forward_frame(), np.fft.rfft(x, axis=1), atol=1e-12)
    in_place = ops.in_place_fft(96, 2, np.float64)
    in_place.real[:] = x
    in_place.forward()
    np.testing.assert_allclose(in_place.spectrum, np.fft.rfft(x, axis=1), atol=1e-12)
    in_place.inverse()
    np.testing.assert_allclose(in_place.real / 96, x, atol=1e-12)


@given(n=st.integers(1, 200), m=st.integers(1, 80), mode=st.sampled_from(["full", "same", "valid"]),
       sizes=st.lists(st.integers(1, 50), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_mode_window_keeps_what_scipy_keeps(n, m, mode, sizes, seed):
    rng = np.random.default_rng(seed)
    x, h = rng.standard_normal((n, 1)), rng.standard_normal((m, 1))
    routes, outputs = routes_for(1, 1)
    engine = OverlapSave(h, routes, 1, 1, m, 2 * m)
    window = ModeWindow(mode, m)
    parts, start, i = [], 0, 0
    while start < n:
        size = sizes[i % len(sizes)]
        parts.append(window.feed(engine.push(x[start : start + size]), min(start + size, n)))
        start += size
        i += 1
    parts.append(window.finish(engine.finish(), n))
    y = np.concatenate(parts)[:, 0]
    expected = scipy.signal.convolve(x[:, 0], h[:, 0], mode=mode, method="direct")
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, atol=1e-9 * max(1.0, np.max(np.abs(expected))))


def test_plans_are_valid_and_follow_the_expert_block():
    for n, m in [(10, 10), (10**6, 64), (28_800_000, 144_000), (10**8, 10**6), (1000, 10**6)]:
        for dtype in (np.float64, np.float32):
            plan = choose_plan(n, m, 2, 2, 2, dtype, method="fft")
            assert plan.fft_size >= (m if plan.partition >= m else 2 * plan.partition - 1)
            assert plan.hop >= 1 and plan.seconds > 0
    forced = choose_plan(10**6, 144_000, 2, 2, 2, method="fft", partition=16384)
    assert (forced.partition, forced.fft_size, forced.hop) == (16384, 32768, 16384)
    assert choose_plan(10**6, 144_000, 2, 2, 2, method="direct").method == "direct"


def test_engine_on_the_scipy_fallback(monkeypatch, rng):
    monkeypatch.setenv("SIGCONV_FFT", "scipy")
    ops = FFTBackend().ops()
    for cin, cir in CHANNELS:
        x, h = rng.standard_normal((700, cin)), rng.standard_normal((90, cir))
        routes, outputs = routes_for(cin, cir)
        for partition, size in [(90, 256), (16, 32)]:
            engine = OverlapSave(h, routes, cin, outputs, partition, size, ops=ops)
            assert engine.fft_library == "scipy"
            np.testing.assert_allclose(push_in_pieces(engine, x, [33, 100]), oracle(x, h, routes, outputs),
                                       atol=1e-10)


def test_tune_stores_wisdom_that_later_processes_plan_from(tmp_path):
    pytest.importorskip("pyfftw")
    import os
    import subprocess
    import sys

    env = {**os.environ, "SIGCONV_CACHE_DIR": str(tmp_path)}
    env.pop("SIGCONV_FFT", None)
    proc = subprocess.run([sys.executable, "-m", "sigconv", "tune", "--max-size", "4096", "--precision", "64"],
                          capture_output=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert b"FFTW wisdom for sizes up to 4096 saved in" in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["fftw-wisdom-double.txt", "fftw-wisdom-longdouble.txt",
                                            "fftw-wisdom-single.txt", "hop-costs.json"]
    with open(tmp_path / "hop-costs.json") as f:
        costs = json.load(f)
    assert list(costs) == ["float64"] and list(costs["float64"]) == ["4096"]
    tuned = costs["float64"]["4096"]
    assert tuned > 0
    check = (
        "import numpy as np\n"
        "from sigconv.compute.context import default_threads\n"
        "from sigconv.compute.fftw import FFTWOps\n"
        "from sigconv.backends.planner import _hop_table\n"
        "ops = FFTWOps(default_threads())\n"
        "tuned, untuned = ops.real_fft(4096, 2), ops.real_fft(8192, 2)\n"
        "lane = FFTWOps(1).real_fft(4096, 1)\n"
        "x = np.random.default_rng(0).standard_normal((2, 4096))\n"
        "assert np.allclose(tuned.inverse(tuned.forward(x).copy()), x)\n"
        "print(tuned.planned_from, untuned.planned_from, lane.planned_from, _hop_table('float64', 'pyfftw')[4096])\n"
    )
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    planned, unplanned, lane, cost = proc.stdout.split()
    assert (planned, unplanned, lane) == (b"wisdom", b"estimate", b"wisdom")
    assert float(cost) == tuned  # the planner prices the tuned size as measured


@given(lo=st.integers(1, 1 << 20), span=st.integers(0, 1 << 20))
def test_fast_sizes_are_the_5_smooth_lengths_in_range(lo, span):
    hi = lo + span
    sizes = fast_sizes(lo, hi)
    assert sizes == sorted(set(sizes))
    for size in sizes:
        assert lo <= size <= hi and size % 64 == 0
        odd = size
        while odd % 2 == 0:
            odd //= 2
        assert odd in (1, 3, 5, 9, 15, 25, 45, 75, 225)
    powers = [1 << k for k in range(6, 22) if lo <= 1 << k <= hi]
    assert set(powers) <= set(sizes)


def test_planner_follows_the_cost_table(monkeypatch):
    """A length priced cheaper wins; with tuned costs on disk, they replace the shipped table."""
    from sigconv.backends import calibration, planner

    n, m = 28_800_000, 144_000
    from sigconv.compute import fftw

    workload = Workload("convolve", n, m, 2, 2, 2)
    shipped = planner._hop_table("float64", "pyfftw")
    cheap = min(size for size in shipped
                if 2 * m < size <= 655_360 and size != planner.plan_convolution(workload, "pyfftw").fft_size)
    monkeypatch.setattr(fftw, "wisdom_available", lambda: True)
    monkeypatch.setattr(planner, "load_tuned_costs", lambda: {"float64": {cheap: shipped[cheap] / 10}})
    plan = planner.plan_convolution(workload, "pyfftw")
    assert (plan.fft_size, plan.partition, plan.hop) == (cheap, m, cheap - m + 1)
    monkeypatch.setattr(fftw, "wisdom_available", lambda: False)  # tuned costs count only with the wisdom
    assert planner.plan_convolution(workload, "pyfftw").fft_size != cheap
    assert calibration.load_tuned_costs() == {}  # the tests' cache folder holds none


def test_hop_cost_passes_interleave_sizes_and_keep_the_fastest(monkeypatch):
    from sigconv.backends import calibration

    timings = iter([3.0, 5.0, 1.0, 4.0, 2.0, 6.0])  # pass 1: 4096, 8192; pass 2; pass 3
    order = []

    def fake(size, dtype):
        order.append(size)
        return next(timings)

    monkeypatch.setattr(calibration, "measure_hop_seconds", fake)
    reports = []
    table = measure_hop_table([8192, 4096], np.float64, progress=lambda d, t, _: reports.append((d, t)), passes=3)
    assert order == [4096, 8192] * 3
    assert table == {4096: 1.0, 8192: 4.0}
    assert reports == [(d, 6) for d in range(6)]


def test_hop_cost_measurements_and_their_storage(tmp_path, monkeypatch):
    table = measure_hop_table([8192, 4096], np.float64)
    assert list(table) == [4096, 8192] and all(0 < t < math.inf for t in table.values())
    monkeypatch.setenv("SIGCONV_CACHE_DIR", str(tmp_path))
    save_tuned_costs({"float64": table})
    save_tuned_costs({"float32": {4096: 1e-5}})  # merged with what is there
    assert load_tuned_costs() == {"float64": table, "float32": {4096: 1e-5}}
    (tmp_path / "hop-costs.json").write_text("not json")
    assert load_tuned_costs() == {}  # unreadable costs are ignored, not fatal


def test_streamed_transforms_are_capped():
    """Whole runs measured transforms past 655,360 points slower than the table says: a long job stays under."""
    for dtype in (np.float64, np.float32):
        for m in (1000, 144_000, 500_000):
            plan = choose_plan(100 * 48000 * 60, m, 2, 2, 2, dtype)
            assert plan.fft_size <= 655_360


def test_tune_without_pyfftw_is_a_clear_error(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SIGCONV_CACHE_DIR": str(tmp_path), "SIGCONV_FFT": "scipy"}
    proc = subprocess.run([sys.executable, "-m", "sigconv", "tune"], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 5
    assert proc.stderr.startswith(b"Error: sigconv tune needs pyFFTW") and b"Traceback" not in proc.stderr


def test_plans_stop_growing_with_the_input_length():
    """Memory follows the transform size: an hour must get the transforms of ten minutes (issue 3)."""
    for channels in [(1, 2, 2), (2, 2, 2), (1, 1, 1)]:
        ten_minutes = choose_plan(48000 * 600, 144_000, *channels)
        for hours in (1, 5):
            long = choose_plan(48000 * 3600 * hours, 144_000, *channels)
            assert (long.method, long.fft_size, long.partition) == (ten_minutes.method, ten_minutes.fft_size,
                                                                     ten_minutes.partition)
            assert long.seconds > ten_minutes.seconds * 6 * hours * 0.99  # still priced for its length


@given(st.lists(st.integers(0, 40), max_size=12), st.integers(2, 16), st.data())
def test_sliding_buffer_hands_on_overlapping_frames_in_order(sizes, size, data):
    from sigconv.compute.frames import sliding_buffer

    keep = data.draw(st.integers(0, size - 1))
    start = data.draw(st.integers(0, keep))
    total = sum(sizes)
    signal = np.arange(1.0, total + 1)
    blocks = np.split(signal, np.cumsum(sizes)[:-1]) if sizes else []
    buffer = np.zeros(size)
    stream = np.concatenate([np.zeros(start), signal])  # what the buffer sees, its first `start` frames held
    frames_seen, yields = [], []
    for filled in sliding_buffer(iter(blocks), buffer, keep, start=start):
        yields.append(filled)
        frames_seen.append(buffer[:filled].copy())
    full, last = yields[:-1], yields[-1]
    assert all(count == size for count in full) and last < size
    hop = size - keep
    assert len(full) == (max(0, len(stream) - keep) // hop if len(stream) >= size else 0)
    for k, frame in enumerate(frames_seen[:-1]):
        np.testing.assert_array_equal(frame, stream[k * hop : k * hop + size])
    np.testing.assert_array_equal(frames_seen[-1], stream[len(full) * hop :])
