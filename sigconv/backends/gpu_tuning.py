"""What the ``gpu`` backend costs on this machine: measured by ``sigconv tune --backend gpu``, used by ``auto``.

:func:`tune_gpu` times, on the device, one overlap-save hop of a stereo
job at each power-of-two transform length (the host-to-device copy of the
hop's input and the copy of its output back included), the spectral
multiply-accumulate per bin, and host-device copies per byte, and stores
them next to FFTW's wisdom (:func:`sigconv.compute.fftw.wisdom_folder`).
:func:`predict_gpu` prices a :class:`~sigconv.backends.base.Workload` from
them. Without the file there is no estimate, and ``auto`` never picks the
GPU: its speed against the CPU depends on the card, the bus and the
driver too much to guess.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time

import numpy as np

from .base import Workload

__all__ = ["tune_gpu", "load_gpu_costs", "save_gpu_costs", "predict_gpu", "gpu_costs_path"]

_FILE = "gpu-costs.json"
_STANDIN_FILE = "gpu-standin-costs.json"


def gpu_costs_path(standin: bool = False) -> str:
    """Where the measured costs are kept (the stand-in's apart from a real device's)."""
    from ..compute.fftw import wisdom_folder

    return os.path.join(wisdom_folder(), _STANDIN_FILE if standin else _FILE)


def save_gpu_costs(costs: dict, standin: bool = False) -> str:
    """Write ``costs`` (as :func:`tune_gpu` measures them) atomically; returns the path."""
    path = gpu_costs_path(standin)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(costs, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
    return path


def load_gpu_costs(standin: bool = False) -> dict:
    """The costs :func:`tune_gpu` stored, or ``{}`` when there are none (or they are unreadable)."""
    path = gpu_costs_path(standin)
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    return _parse(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _parse(path: str, _mtime: int, _size: int) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        hops = {dtype: {int(k): float(v) for k, v in table.items()} for dtype, table in raw["hop_seconds"].items()}
        return {
            "hop_seconds": hops,
            "mac_seconds": {dtype: float(v) for dtype, v in raw["mac_seconds"].items()},
            "to_device_byte": float(raw["to_device_byte"]),
            "to_host_byte": float(raw["to_host_byte"]),
            "call_seconds": float(raw["call_seconds"]),
            "device": str(raw.get("device", "")),
        }
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return {}


def _transform_seconds(table: dict[int, float], size: int) -> float:
    """One channel's share of a stereo hop at ``size`` points (a quarter: two forward, two inverse)."""
    keys = sorted(table)
    if size <= keys[0]:
        base = table[keys[0]]
    elif size >= keys[-1]:
        base = table[keys[-1]] * size * math.log2(size) / (keys[-1] * math.log2(keys[-1]))
    else:
        above = next(k for k in keys if k >= size)
        below = max(k for k in keys if k <= size)
        if above == below:
            base = table[above]
        else:
            frac = math.log(size / below) / math.log(above / below)
            base = math.exp(math.log(table[below]) * (1 - frac) + math.log(table[above]) * frac)
    return base / 4


def predict_gpu(costs: dict, workload: Workload, fft_size: int | None = None, partition: int | None = None) -> float:
    """Predicted seconds of ``workload`` on the device, the host-device copies included.

    A convolution costs its hops (each priced from the measured hop of
    that length, which includes the copies of a hop's input and output)
    and the spectral products of its partitions; a spectral operation
    (correlate, deconvolve, measure) three transforms per channel of the
    whole signals plus the copies of its inputs and result.
    """
    dtype = workload.dtype if workload.dtype in costs["hop_seconds"] else "float64"
    table = costs["hop_seconds"][dtype]
    itemsize = np.dtype(dtype).itemsize
    n, m = workload.known_frames, workload.taps
    channels = workload.in_channels + workload.out_channels
    if workload.operation == "convolve" and fft_size:
        parts = 1 if partition is None or partition >= m else -(-m // partition)
        hop = fft_size - m + 1 if parts == 1 else partition
        hops = -(-(n + m - 1) // hop)
        bins = fft_size // 2 + 1
        per_hop = channels * _transform_seconds(table, fft_size) + costs["call_seconds"]
        per_hop += workload.paths * (parts - 1) * bins * costs["mac_seconds"].get(dtype, 1e-9)
        setup = parts * workload.paths * _transform_seconds(table, fft_size) + m * itemsize * costs["to_device_byte"]
        return hops * per_hop + setup
    size = 1 << max(6, (n + m - 1).bit_length())
    moved = (n * workload.in_channels + m * max(1, workload.out_channels)) * itemsize
    returned = (n + m) * workload.out_channels * itemsize
    return (3 * channels * _transform_seconds(table, size) + moved * costs["to_device_byte"]
            + returned * costs["to_host_byte"] + costs["call_seconds"])


def _best_of(action, sync, budget: float = 0.2) -> float:
    """Fastest mean seconds of ``action`` over three batches that fill ``budget`` seconds."""
    action()
    sync()
    started = time.perf_counter()
    action()
    sync()
    single = time.perf_counter() - started
    reps = max(1, min(200, int(budget / 3 / max(single, 1e-6))))
    best = single
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(reps):
            action()
        sync()
        best = min(best, (time.perf_counter() - started) / reps)
    return best


def tune_gpu(max_size: int = 1 << 22, dtypes=(np.float64, np.float32), progress=None, backend=None) -> str:
    """Measure the ``gpu`` backend on this machine's device and store the costs for ``auto``.

    Parameters
    ----------
    max_size : int
        Longest transform to time (powers of two from 2^12).
    dtypes : sequence of numpy dtypes
    progress : callable, optional
        ``progress(done, total, text)``.
    backend : GPUBackend, optional
        Default: the registered ``gpu`` backend (which must be available).

    Returns
    -------
    str
        The file the costs were written to.
    """
    from ..compute.engine import OverlapSave
    from ..compute.routing import routes_for
    from .registry import get_backend

    backend = backend if backend is not None else get_backend("gpu")
    ops = backend.ops()
    cp = ops.cp

    def sync():
        cp.cuda.Stream.null.synchronize()

    sizes = [1 << k for k in range(12, max(12, int(max_size).bit_length() - 1) + 1)]
    total = len(sizes) * len(dtypes) + 2
    done = 0
    hops: dict[str, dict[str, float]] = {}
    macs: dict[str, float] = {}
    rng = np.random.default_rng(0)
    for dt in dtypes:
        name = np.dtype(dt).name
        hops[name] = {}
        for size in sizes:
            if progress:
                progress(done, total, f"gpu {name} hop at {size}")
            taps = size // 2
            h = rng.standard_normal((taps, 2)).astype(dt)
            routes, outputs = routes_for(2, 2)
            engine = OverlapSave(h, routes, 2, outputs, taps, size, dtype=dt, ops=ops)
            engine.output_dtype = np.dtype(np.float32)
            block = rng.standard_normal((engine.hop, 2)).astype(np.float32)
            hops[name][str(size)] = _best_of(lambda: engine.push(block), sync)
            done += 1
        bins = 1 << 20
        complex_dtype = np.result_type(dt, np.complex64)
        a, b = ops.zeros(bins, complex_dtype), ops.zeros(bins, complex_dtype)
        acc = ops.zeros(bins, complex_dtype)

        def mac():
            acc.__iadd__(a * b)

        macs[name] = _best_of(mac, sync) / bins
    if progress:
        progress(done, total, "gpu transfers")
    # 64 MB copies (4 MB when only short transforms are tuned): long enough for the bus's full speed
    host = np.ones((16 if max_size >= 1 << 20 else 1) << 20, dtype=np.float32)
    device = ops.to_device(host)
    to_device = _best_of(lambda: ops.to_device(host), sync) / host.nbytes
    to_host = _best_of(lambda: ops.to_host(device), sync) / host.nbytes
    small = np.ones(16, dtype=np.float32)
    call = _best_of(lambda: ops.to_host(ops.rfft(ops.to_device(small))), sync)
    done += 2
    try:
        device_name = cp.cuda.runtime.getDeviceProperties(0)["name"]
        device_name = device_name.decode() if isinstance(device_name, bytes) else str(device_name)
    except Exception:  # only a label
        device_name = ""
    costs = {"hop_seconds": hops, "mac_seconds": macs, "to_device_byte": to_device, "to_host_byte": to_host,
             "call_seconds": call, "device": device_name}
    path = save_gpu_costs(costs, standin=backend.standin)
    if progress:
        progress(total, total, "done")
    return path
