"""The one planner: which backend runs a job (``auto``), and how the FFT engine partitions a convolution.

:func:`choose_backend` asks every available backend that runs the job's
operation for an :class:`~sigconv.backends.base.Estimate` of its
:class:`~sigconv.backends.base.Workload` and takes the cheapest; the
estimate carries the backend's plan, so the job is planned once. Integer
inputs stay exact: above 2^52 (the float64 mantissa) only exact backends
qualify, as ``scipy.signal.choose_conv_method`` keeps them.

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
import functools
import math
from dataclasses import dataclass

import numpy as np

from ..errors import BackendUnavailableError
from .base import EXACT_FLOAT_LIMIT, Backend, Estimate, Workload
from .calibration import load_tuned_costs
from .hop_costs import HOP_SECONDS

__all__ = ["Plan", "plan_fft", "plan_convolution", "predict_direct", "predict_transforms", "choose_backend",
           "choose_plan"]

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


def _hop_table(dtype: str, library: str) -> dict[int, float]:
    """Seconds per 2-channel hop by transform length for ``library`` ("pyfftw" or "scipy").

    Where ``sigconv tune`` made FFTW plans it also timed the engine with
    them on this machine, and those timings count.
    """
    from ..compute.fftw import wisdom_available

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
             partition: int | None = None, library: str = "scipy", in_memory: bool = False) -> Plan:
    """Cheapest overlap-save plan for ``total`` output frames and an ``m``-tap IR.

    Candidates: one partition with each measured transform length whose
    hop is at least a quarter of it (one transform of the whole result
    when that is short), and uniform partitions of 2^5 .. 2^17 samples with
    transforms of twice their length. Lengths are the 5-smooth ones of the
    cost table (powers of two below it). ``partition`` forces the partition
    length (the ``--block`` option).
    """
    candidates: list[Plan] = []
    table = _hop_table(dtype, library)
    keys = sorted(table)

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
        # set-up: the IR partitions' spectra, and FFTW's plans (which an
        # in-memory call of one transform takes from the calls before it)
        cached = in_memory and hops == 1 and parts == 1
        planning = _PLAN_SECONDS + _PLAN_SECONDS_PER_POINT * size if library == "pyfftw" and not cached else 0.0
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
        if whole is not None and size > 2 * whole:
            break  # one hop either way: longer transforms only cost more
        if size - m + 1 >= size // 4:
            consider(m, size)
        if size % 2 == 0 and 32 <= size // 2 < m and size // 2 <= 1 << 17:
            consider(size // 2, size)
    return min(candidates, key=lambda p: p.seconds)


def plan_convolution(workload: Workload, library: str) -> Plan:
    """The overlap-save plan for a convolution :class:`Workload` on the FFT library ``library``.

    Jobs longer than 2^25 output frames get the plan of that length, so
    that their memory (set by the transform size) does not grow with the
    input: 1 h of mono through a 3 s stereo IR chose 2^19 points and
    120 MB, 10 min 409,600 and 100 MB. Plans are remembered (a loop that
    convolves arrays of one size plans once); the tuned costs on disk are
    part of the key, so ``sigconv tune`` takes effect at once.
    """
    from ..compute.fftw import wisdom_available

    tuned = library == "pyfftw" and wisdom_available()
    return _plan_convolution(workload, library, tuned, id(load_tuned_costs()) if tuned else 0)


@functools.lru_cache(maxsize=512)
def _plan_convolution(workload: Workload, library: str, _tuned: bool, _costs: int) -> Plan:
    n, m = workload.known_frames, workload.taps
    total = n + m - 1
    planned = min(total, _PLAN_HORIZON)
    plan = plan_fft(planned, m, workload.in_channels, workload.out_channels, workload.paths, workload.dtype,
                    workload.partition, library, workload.in_memory)
    if planned < total:
        plan = dataclasses.replace(plan, seconds=plan.seconds * total / planned)
    return plan


def predict_transforms(workload: Workload, library: str) -> float:
    """Seconds of a spectral operation (correlate, deconvolve, measure): transforms of the whole signals.

    Priced as three transforms per channel at the fast length covering
    both signals, from the same hop-cost table as convolution. Only
    backends that run transforms give these estimates, so the figure
    matters when several of them (CPU and GPU) compete.
    """
    size = max(64, workload.known_frames + workload.taps)
    table = _hop_table(workload.dtype, library)
    channels = workload.in_channels + workload.out_channels
    return 3 * channels * _transform_seconds(size, table, sorted(table)) + _HOP_OVERHEAD


def predict_direct(total_inputs: int, m: int, paths: int, dtype: str) -> float:
    """Predicted seconds of the direct method."""
    return paths * (total_inputs * m * _DIRECT_SECONDS[dtype] + (total_inputs + m) * _DIRECT_SAMPLE_SECONDS[dtype]) + 2.5e-6


def choose_backend(name: str, workload: Workload, context=None, needs_ops: bool = False
                   ) -> tuple[Backend, Estimate | None]:
    """The backend that runs ``workload``, and its estimate (with its plan) when it gave one.

    Parameters
    ----------
    name : str
        A backend name, or ``"auto"``: the cheapest estimate among the
        available backends that run ``workload.operation``.
    workload : Workload
    context : ExecutionContext, optional
    needs_ops : bool, optional
        With ``auto``, consider only backends with array operations
        (:attr:`~sigconv.backends.base.Backend.has_ops`): the caller
        computes with them itself.

    Raises
    ------
    BackendUnavailableError
        Unknown or unavailable backend, or one that does not run the
        operation; for ``auto``, no backend runs it.

    Examples
    --------
    >>> choose_backend("auto", Workload("convolve", 10**6, 3))[0].name
    'direct'
    >>> choose_backend("auto", Workload("convolve", 10**6, 10**4))[0].name
    'fft'
    >>> choose_backend("auto", Workload("correlate", 10**6, 10**6))[0].name
    'fft'
    """
    from .registry import AUTO, available_backends, get_backend

    operation = workload.operation
    if name != AUTO:
        backend = get_backend(name)
        if not backend.supports(operation):
            runs = ", ".join(sorted(b.name for b in available_backends() if b.supports(operation)))
            raise BackendUnavailableError(
                f"backend {name!r} does not run {operation} (it runs {', '.join(sorted(backend.operations))}); "
                f"use auto or one of: {runs}"
            )
        return backend, backend.estimate(workload, context)
    exact_only = workload.integer_bound is not None and workload.integer_bound > EXACT_FLOAT_LIMIT
    best, unpriced = None, None
    for backend in available_backends():
        if not backend.supports(operation) or (exact_only and not backend.exact) or (needs_ops and not backend.has_ops):
            continue
        estimate = backend.estimate(workload, context)
        if estimate is None:
            unpriced = unpriced or backend  # used only when no backend prices the job
        elif best is None or estimate.seconds < best[1].seconds:
            best = (backend, estimate)
    if best is None and unpriced is not None:
        return unpriced, None
    if best is None:
        raise BackendUnavailableError(f"no available backend runs {operation}; see `sigconv backends`")
    return best


def choose_plan(n: int, m: int, in_channels: int, out_channels: int, paths: int, dtype=np.float64,
                method: str = "auto", partition: int | None = None) -> Plan:
    """The plan :func:`choose_backend` makes for convolving ``n`` input frames with an ``m``-tap IR.

    Parameters
    ----------
    n, m : int
        Input and IR lengths in frames.
    in_channels, out_channels, paths : int
        Channel counts and number of input-to-output paths.
    dtype : numpy dtype
        Computation precision.
    method : str
        A backend name (``direct``, ``fft``) or ``auto``.
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
    workload = Workload("convolve", n, m, in_channels, out_channels, paths, np.dtype(dtype).name,
                        partition=partition)
    backend, estimate = choose_backend(method, workload)
    if isinstance(getattr(estimate, "plan", None), Plan):
        return estimate.plan
    seconds = estimate.seconds if estimate is not None else math.nan
    return Plan(backend.name, m, 0, n, seconds)
