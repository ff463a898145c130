"""Choose how to convolve: direct or FFT, and the FFT engine's partition and transform sizes.

The run time of each candidate is predicted from an operation count weighted
by costs measured on the 2-core development machine (2026-11-25):

* FFT: seconds per real transform (forward or inverse, one channel) at
  each power-of-two size, from ``python benchmarks/bench_fft.py`` — pyFFTW
  with 2 threads and FFTW_ESTIMATE plans, or scipy.fft — interpolated
  log-log between the measured sizes.
* Spectral multiply-accumulate: seconds per frequency bin per partition
  per channel path (numpy ``multiply`` then ``+=``), measured on arrays of
  4k-256k bins.
* Direct: seconds per multiply-add of numpy's convolution loop (a least
  squares fit over lengths 10..10^6 and kernels 1..10^4).
* A fixed cost per hop for the Python around the transforms.

``python benchmarks/bench_auto.py`` times both methods on signal lengths
10^2..10^8 and kernel lengths 1..10^6 next to the choice made here; on
2026-11-25 the choice was never more than 1.08x slower than the faster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .backends.fft import fast_length
from .fftlib import fft_library

__all__ = ["Plan", "plan_fft", "predict_direct", "choose_plan"]

# seconds per 4 real transforms (2 channels, forward + inverse) by log2(size)
_FFT_PAIR_SECONDS = {
    ("pyfftw", "float64"): {12: 0.016e-3, 14: 0.072e-3, 16: 0.305e-3, 18: 2.259e-3, 19: 5.438e-3, 20: 15.49e-3},
    ("pyfftw", "float32"): {12: 0.017e-3, 14: 0.046e-3, 16: 0.241e-3, 18: 1.116e-3, 19: 3.005e-3, 20: 8.512e-3},
    ("scipy", "float64"): {12: 0.034e-3, 14: 0.138e-3, 16: 0.692e-3, 18: 3.223e-3, 19: 8.156e-3, 20: 30.43e-3},
    ("scipy", "float32"): {12: 0.045e-3, 14: 0.185e-3, 16: 0.822e-3, 18: 4.009e-3, 19: 8.471e-3, 20: 17.70e-3},
}
_MAC_SECONDS = {"float64": 0.9e-9, "float32": 0.4e-9}  # per bin, partition and path
_DIRECT_SECONDS = {"float64": 9.8e-11, "float32": 6.0e-11}  # per multiply-add and path
_HOP_SECONDS = 40e-6  # Python and copies around one hop
_MAX_FFT = 1 << 22  # larger transforms only cost memory and cache misses


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
    table = _FFT_PAIR_SECONDS[(fft_library(), dtype)]
    exponent = math.log2(size)
    keys = sorted(table)
    lo = max([k for k in keys if k <= exponent], default=keys[0])
    hi = min([k for k in keys if k >= exponent], default=keys[-1])
    if lo == hi:
        base = table[lo] * (size * exponent) / (2**lo * lo)
    else:
        frac = (exponent - lo) / (hi - lo)
        base = math.exp(math.log(table[lo]) * (1 - frac) + math.log(table[hi]) * frac)
    return base / 4


def plan_fft(total: int, m: int, in_channels: int, out_channels: int, paths: int, dtype: str,
             partition: int | None = None) -> Plan:
    """Cheapest overlap-save plan for ``total`` output frames and an ``m``-tap IR.

    Candidates: one partition with power-of-two transforms from ``2 m`` up
    (plus one transform of the whole result when it is short), and uniform
    partitions of ``2^6 .. 2^17`` samples with transforms of twice that.
    ``partition`` forces the partition length (the ``--block`` option).
    """
    candidates = []

    def consider(part: int, size: int) -> None:
        parts = 1 if part >= m else -(-m // part)
        hop = size - m + 1 if parts == 1 else part
        if hop < 1 or size > _MAX_FFT and parts > 1:
            return
        hops = -(-total // hop)
        bins = size // 2 + 1
        seconds = hops * (
            (in_channels + out_channels) * _transform_seconds(size, dtype)
            + paths * parts * bins * _MAC_SECONDS[dtype]
            + _HOP_SECONDS
        )
        candidates.append(Plan("fft", min(part, m), size, hop, seconds))

    if partition:
        if partition >= m:
            consider(m, max(fast_length(m + partition - 1), 2))
        else:
            consider(partition, 2 * partition)
        return min(candidates, key=lambda p: p.seconds)
    whole = fast_length(total)
    if whole <= _MAX_FFT:
        consider(m, max(whole, 1))
    start = max(1, math.ceil(math.log2(max(2 * m, 2))))
    for exponent in range(start, 23):
        consider(m, 1 << exponent)
    for exponent in range(6, 18):
        if (1 << exponent) < m:
            consider(1 << exponent, 1 << (exponent + 1))
    return min(candidates, key=lambda p: p.seconds)


def predict_direct(total_inputs: int, m: int, paths: int, dtype: str) -> float:
    """Predicted seconds of the direct method."""
    return paths * (total_inputs * m * _DIRECT_SECONDS[dtype] + (total_inputs + m) * 3e-10) + 2.5e-6


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
