"""Choose how to convolve: direct or FFT, and the FFT engine's partition and transform sizes.

The run time of each candidate is predicted from an operation count weighted
by costs measured on the 2-core development machine (2026-11-25):

* FFT: seconds per overlap-save hop (forward and inverse transforms of a
  2-channel job and the copies around them) at each power-of-two size,
  timed inside the engine with pyFFTW (2 threads, FFTW_ESTIMATE plans) and
  with scipy.fft, interpolated log-log between the measured sizes.
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

import math
from dataclasses import dataclass

import numpy as np

from .fftlib import fft_library

__all__ = ["Plan", "plan_fft", "predict_direct", "choose_plan"]

# seconds per overlap-save hop of a 2-channel job (2 forward and 2 inverse
# real transforms of 2^k points, one partition, the copies around them),
# by k, measured inside the engine: transforms alone time faster (see
# sigconv/fftlib.py), but not with the reader and writer threads running
# and fresh output arrays (scipy.fft) each hop
_HOP_SECONDS = {
    ("pyfftw", "float64"): {12: 4.4e-05, 13: 5.2e-05, 14: 1.02e-04, 15: 2.16e-04, 16: 4.25e-04, 17: 1.157e-03,
                            18: 3.645e-03, 19: 7.257e-03, 20: 1.804e-02, 21: 5.306e-02},
    ("pyfftw", "float32"): {12: 3.5e-05, 13: 4.1e-05, 14: 7.6e-05, 15: 1.67e-04, 16: 3.39e-04, 17: 6.77e-04,
                            18: 1.584e-03, 19: 4.443e-03, 20: 9.753e-03, 21: 2.723e-02},
    ("scipy", "float64"): {12: 6.5e-05, 13: 1.17e-04, 14: 4.65e-04, 15: 1.089e-03, 16: 2.307e-03, 17: 5.146e-03,
                           18: 1.081e-02, 19: 2.211e-02, 20: 6.079e-02, 21: 1.355e-01},
    ("scipy", "float32"): {12: 7.1e-05, 13: 1.29e-04, 14: 2.41e-04, 15: 4.84e-04, 16: 9.78e-04, 17: 2.134e-03,
                           18: 6.623e-03, 19: 1.063e-02, 20: 2.083e-02, 21: 5.892e-02},
}
_MAC_SECONDS = {"float64": 0.9e-9, "float32": 0.4e-9}  # per bin, partition and path
# direct: per multiply-add and per input sample, each per path, fitted to
# the streamed direct engine on 10^8-sample inputs (kernels of 1, 10, 100)
_DIRECT_SECONDS = {"float64": 1.2e-10, "float32": 7.5e-11}
_DIRECT_SAMPLE_SECONDS = {"float64": 1.3e-9, "float32": 1.0e-9}
_HOP_OVERHEAD = 20e-6  # Python and numpy calls per hop, whatever the channel count
_PLAN_SECONDS = 50e-6  # three FFTW_ESTIMATE plans and their aligned buffers
_MAX_FFT = 1 << 22  # larger transforms only cost memory and cache misses
# scipy.fft transforms above this size lost inside the streaming pipeline
# (10 min stereo x 3 s IR: 3.0 s with one 2^19 transform per hop, 2.2 s with
# 2^14-sample partitions), although they time well alone
_MAX_SCIPY_STREAMING_FFT = 1 << 16


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


def _transform_seconds(size: int, dtype: str) -> float:
    """Seconds of one channel's transform at length ``size``: a quarter of a 2-channel hop less its overhead."""
    table = _HOP_SECONDS[(fft_library(), dtype)]
    exponent = math.log2(size)
    keys = sorted(table)
    lo = max([k for k in keys if k <= exponent], default=keys[0])
    hi = min([k for k in keys if k >= exponent], default=keys[-1])
    if exponent <= keys[0]:
        base = table[keys[0]]  # small hops cost their fixed overhead
    elif lo == hi:
        base = table[lo] * (size * exponent) / (2**lo * lo)
    else:
        frac = (exponent - lo) / (hi - lo)
        base = math.exp(math.log(table[lo]) * (1 - frac) + math.log(table[hi]) * frac)
    return max(base - _HOP_OVERHEAD, 0.1 * base) / 4


def plan_fft(total: int, m: int, in_channels: int, out_channels: int, paths: int, dtype: str,
             partition: int | None = None) -> Plan:
    """Cheapest overlap-save plan for ``total`` output frames and an ``m``-tap IR.

    Candidates: one partition with power-of-two transforms from ``2 m`` up
    (plus one transform of the whole result when it is short), and uniform
    partitions of ``2^6 .. 2^17`` samples with transforms of twice that.
    ``partition`` forces the partition length (the ``--block`` option).
    """
    candidates: list[Plan] = []

    def consider(part: int, size: int) -> None:
        parts = 1 if part >= m else -(-m // part)
        hop = size - m + 1 if parts == 1 else part
        if hop < 1 or size > _MAX_FFT and parts > 1:
            return
        if fft_library() == "scipy" and size > _MAX_SCIPY_STREAMING_FFT and total > 4 * size:
            return
        hops = -(-total // hop)
        bins = size // 2 + 1
        transform = _transform_seconds(size, dtype)
        seconds = hops * (
            _HOP_OVERHEAD + (in_channels + out_channels) * transform + paths * (parts - 1) * bins * _MAC_SECONDS[dtype]
        )
        # set-up: the IR partitions' spectra, and FFTW's plans
        seconds += parts * paths * transform + (_PLAN_SECONDS if fft_library() == "pyfftw" else 0.0)
        candidates.append(Plan("fft", min(part, m), size, hop, seconds))

    if partition:
        if partition >= m:
            consider(m, 1 << max(1, (m + partition - 2).bit_length()))
        else:
            consider(partition, 2 * partition)
        return min(candidates, key=lambda p: p.seconds)
    # powers of two only: the measured tables are, and FFTW plans odd
    # factors (7, 11...) of "fast" lengths slowly
    whole = 1 << max(0, (total - 1).bit_length())
    if whole <= _MAX_FFT:
        consider(m, whole)
    start = max(1, math.ceil(math.log2(max(2 * m, 2))))
    for exponent in range(start, 23):
        consider(m, 1 << exponent)
    for exponent in range(6, 18):
        if (1 << exponent) < m:
            consider(1 << exponent, 1 << (exponent + 1))
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
    fft = plan_fft(total, m, in_channels, out_channels, paths, dtype, partition)
    if method == "fft":
        return fft
    direct = predict_direct(n, m, paths, dtype)
    return fft if fft.seconds < direct else Plan("direct", m, 0, n, direct)
