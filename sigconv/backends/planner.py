"""Choose how to convolve: direct or FFT, and the FFT engine's partition and transform sizes.

The run time of each candidate is predicted from an operation count weighted
by costs measured on the 2-core development machine (2026-11-25):

* FFT: seconds per overlap-save hop of a 2-channel job (forward and
  inverse transforms, spectral product, the copies in and out) at each
  5-smooth transform length from 2^12 to 2^21, timed inside the engine
  with pyFFTW (2 threads, FFTW_ESTIMATE plans) and with scipy.fft: the
  table in :mod:`sigconv.backends.hop_costs`, written by
  ``python benchmarks/fit_planner.py`` (:mod:`sigconv.backends.calibration`).
  ``sigconv tune`` measures the same table with its FFTW plans on the
  user's machine, and then that one counts. Some lengths with factors 3
  and 5 beat the powers of two next to them by 20-30% with FFTW_ESTIMATE
  plans (2^14 * 25 = 409,600 against 2^19 for a 3 s IR at 48 kHz).
* Spectral multiply-accumulate: seconds per frequency bin per partition
  per channel path (numpy ``multiply`` then ``+=``), measured on arrays of
  4k-256k bins.
* Direct: seconds per multiply-add of numpy's convolution loop and per
  input sample, fitted to the streamed direct engine.

``python benchmarks/bench_auto.py`` times both methods on signal lengths
10^2..10^8 and kernel lengths 1..10^6 next to the choice made here; on
2026-11-25 the choice was never more than 1.05x slower than the faster
(1.00x on the scipy.fft fallback).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .calibration import load_tuned_costs
from ..compute.transforms import fft_library, wisdom_available
from .hop_costs import HOP_SECONDS

__all__ = ["Plan", "plan_fft", "predict_direct", "choose_plan"]

_MAC_SECONDS = {"float64": 0.9e-9, "float32": 0.4e-9}  # per bin, partition and path
# direct: per multiply-add and per input sample, each per path, fitted to
# the streamed direct engine on 10^8-sample inputs (kernels of 1, 10, 100)
_DIRECT_SECONDS = {"float64": 1.2e-10, "float32": 7.5e-11}
_DIRECT_SAMPLE_SECONDS = {"float64": 1.3e-9, "float32": 1.0e-9}
_HOP_OVERHEAD = 20e-6  # Python and numpy calls per hop, whatever the channel count
# FFTW_ESTIMATE plans and their aligned buffers for the signal and the IR:
# measured 0.3 ms at 4096 points, 4 ms at 2^18, 20 ms at 2^19 (2 rows)
_PLAN_SECONDS = 50e-6
_PLAN_SECONDS_PER_POINT = 2e-8
_MAX_FFT = 1 << 22  # larger transforms only cost memory and cache misses
# scipy.fft transforms above this size lost inside the streaming pipeline
# (10 min stereo x 3 s IR: 3.0 s with one 2^19 transform per hop, 2.2 s with
# 2^14-sample partitions), although they time well alone
_MAX_SCIPY_STREAMING_FFT = 1 << 16
# Longest transform for a streamed job (many hops). Whole runs measured
# longer ones slower than the cost table says (10 min stereo x 3 s IR,
# float64, medians of 9 interleaved runs: 409,600 points 0.83 s, 614,400
# 0.85 s, 2^19 0.93 s, 819,200 1.07 s, 1,228,800 1.09 s), and their buffers
# (about 90 bytes per point for a stereo float64 job) push peak memory
# towards the 200 MB that a streamed job must stay under.
_MAX_STREAMING_FFT = 655_360


#: Output length beyond which plans no longer change (about 11.7 min at 48 kHz).
_PLAN_HORIZON = 1 << 25


@dataclass(frozen=True)
class Plan:
    """How one convolution will be computed.

    Attributes
    ----------
    method : {'direct', 'fft'}
    partition : int
        IR partition length (``>= m`` for a single partition).
    fft_size : int
        Transform length (0 for direct).
    hop : int
        Input samples consumed per step.
    seconds : float
        Predicted compute time.
    """

    method: str
    partition: int
    fft_size: int
    hop: int
    seconds: float


def _hop_table(dtype: str) -> dict[int, float]:
    """Seconds per 2-channel hop by transform length for the FFT library in use.

    Where ``sigconv tune`` made FFTW plans it also timed the engine with
    them on this machine, and those timings count.
    """
    library = fft_library()
    table = HOP_SECONDS[(library, dtype)]
    if library == "pyfftw" and wisdom_available():
        tuned = load_tuned_costs().get(dtype)
        if tuned:
            table = {**table, **tuned}
    return table


def _transform_seconds(size: int, table: dict[int, float], keys: list[int]) -> float:
    """Seconds of one channel's transform at ``size``: a quarter of a 2-channel hop less its overhead.

    ``keys`` are the table's lengths, sorted. Lengths between the measured
    ones are interpolated log-log; shorter ones cost the shortest's fixed
    overhead; longer ones scale as N log N.
    """
    if size in table:
        base = table[size]
    elif size <= keys[0]:
        base = table[keys[0]]
    elif size >= keys[-1]:
        base = table[keys[-1]] * (size * math.log2(size)) / (keys[-1] * math.log2(keys[-1]))
    else:
        above = bisect.bisect(keys, size)
        lo, hi = keys[above - 1], keys[above]
        frac = math.log(size / lo) / math.log(hi / lo)
        base = math.exp(math.log(table[lo]) * (1 - frac) + math.log(table[hi]) * frac)
    return max(base - _HOP_OVERHEAD, 0.1 * base) / 4


def plan_fft(total: int, m: int, in_channels: int, out_channels: int, paths: int, dtype: str,
             partition: int | None = None) -> Plan:
    """Cheapest overlap-save plan for ``total`` output frames and an ``m``-tap IR.

    Candidates: one partition with each measured transform length whose
    hop is at least a quarter of it (one transform of the whole result
    when that is short), and uniform partitions of 2^5 .. 2^17 samples with
    transforms of twice their length. Lengths are the 5-smooth ones of the
    cost table (powers of two below it). ``partition`` forces the partition
    length (the ``--block`` option).
    """
    candidates: list[Plan] = []
    table = _hop_table(dtype)
    keys = sorted(table)
    library = fft_library()

    def consider(part: int, size: int) -> None:
        parts = 1 if part >= m else -(-m // part)
        hop = size - m + 1 if parts == 1 else part
        if hop < 1 or size > _MAX_FFT and parts > 1:
            return
        if total > 4 * size and size > (_MAX_SCIPY_STREAMING_FFT if library == "scipy" else _MAX_STREAMING_FFT):
            return
        hops = -(-total // hop)
        bins = size // 2 + 1
        transform = _transform_seconds(size, table, keys)
        seconds = hops * (
            _HOP_OVERHEAD + (in_channels + out_channels) * transform + paths * (parts - 1) * bins * _MAC_SECONDS[dtype]
        )
        # handing the output blocks on costs per sample what it costs the
        # direct method (the same streaming loop): without this term a refit
        # of the cost table to the in-place engine had auto pick FFT for
        # 10-tap kernels on 10^7-10^8 mono samples, where direct ran 1.7x faster
        seconds += out_channels * total * _DIRECT_SAMPLE_SECONDS[dtype]
        # set-up: the IR partitions' spectra, and FFTW's plans
        planning = _PLAN_SECONDS + _PLAN_SECONDS_PER_POINT * size if library == "pyfftw" else 0.0
        seconds += parts * paths * transform + planning
        candidates.append(Plan("fft", min(part, m), size, hop, seconds))

    if partition:
        if partition >= m:
            consider(m, 1 << max(1, (m + partition - 2).bit_length()))
        else:
            consider(partition, 2 * partition)
        return min(candidates, key=lambda p: p.seconds)
    # 5-smooth lengths only: FFTW and pocketfft transform other factors
    # (7, 11...) markedly slower
    sizes = [1 << k for k in range(1, keys[0].bit_length() - 1)] + keys
    sizes += [sizes[-1] << k for k in range(1, 4) if sizes[-1] << k <= _MAX_FFT]
    # one hop for everything: the hop (size - m + 1) must cover all the output
    whole = next((size for size in sizes if size - m + 1 >= total), None)
    if whole is not None:
        consider(m, whole)
    for size in sizes:
        if size - m + 1 >= size // 4:
            consider(m, size)
        if size % 2 == 0 and 32 <= size // 2 < m and size // 2 <= 1 << 17:
            consider(size // 2, size)
    return min(candidates, key=lambda p: p.seconds)


def predict_direct(total_inputs: int, m: int, paths: int, dtype: str) -> float:
    """Predicted seconds of the direct method."""
    return paths * (total_inputs * m * _DIRECT_SECONDS[dtype] + (total_inputs + m) * _DIRECT_SAMPLE_SECONDS[dtype]) + 2.5e-6


def choose_plan(n: int, m: int, in_channels: int, out_channels: int, paths: int, dtype=np.float64,
                method: str = "auto", partition: int | None = None) -> Plan:
    """The plan for convolving ``n`` input frames with an ``m``-tap IR.

    Parameters
    ----------
    n, m : int
        Input and IR lengths in frames.
    in_channels, out_channels, paths : int
        Channel counts and number of input-to-output paths.
    dtype : numpy dtype
        Computation precision.
    method : {'auto', 'direct', 'fft'}
    partition : int, optional
        Force the partition length (``--block``).

    Examples
    --------
    >>> choose_plan(48000, 3, 1, 1, 1).method
    'direct'
    >>> plan = choose_plan(28_800_000, 144_000, 2, 2, 2)
    >>> plan.method, plan.fft_size >= 2 * plan.partition
    ('fft', True)
    """
    dtype = np.dtype(dtype).name
    total = n + m - 1
    if method == "direct" or (method == "auto" and min(n, m) <= 1):
        return Plan("direct", m, 0, n, predict_direct(n, m, paths, dtype))
    # longer jobs get the plan of this length, so that their memory (set by
    # the transform size) does not grow with the input: 1 h of mono through
    # a 3 s stereo IR chose 2^19 points and 120 MB, 10 min 409,600 and 100 MB
    planned = min(total, _PLAN_HORIZON)
    fft = plan_fft(planned, m, in_channels, out_channels, paths, dtype, partition)
    if planned < total:
        fft = dataclasses.replace(fft, seconds=fft.seconds * total / planned)
    if method == "fft":
        return fft
    direct = predict_direct(n, m, paths, dtype)
    return fft if fft.seconds < direct else Plan("direct", m, 0, n, direct)
