"""Predicted run time of each built-in backend, used by ``backend="auto"``.

The idea is scipy.signal.choose_conv_method's: an operation count per
method, weighted by constants fitted to measurements. The constants here
were fitted by ``python benchmarks/fit_cost_model.py`` (median of up to 7
runs per point, lengths 10..10^6 × kernels 1..10^4, float64, one channel)
on the 2-core development machine, 2026-11-25.

On that grid the FFT time was proportional to the samples touched (the
fitted weight of the operation count came out 0: at these sizes memory
traffic, not arithmetic, dominates), and the choice below was never more
than 1.24x slower than the faster method (only near the crossover, at
about 0.1 ms).
"""

from __future__ import annotations

import math

__all__ = ["direct_features", "fft_features", "predict_seconds", "choose_method"]

# Seconds per feature of the models below (see the module docstring).
DIRECT_COEFFICIENTS = (9.799e-11, 3.144e-10, 2.561e-06)  # median relative error 10%
FFT_COEFFICIENTS = (0.0, 1.545e-08, 1.828e-05)  # median relative error 28%


def direct_features(n: int, m: int) -> tuple[float, float, float]:
    """Multiply-adds, samples touched, and a constant for one direct convolution."""
    return (float(n) * m, float(n + m), 1.0)


def fft_features(n: int, m: int) -> tuple[float, float, float]:
    """FFT operation count of the plan :func:`~sigconv.backends.fft.plan_fft` picks, samples, constant."""
    from .fft import plan_fft

    size, step = plan_fft(n, m)
    long = max(n, m)
    transforms = 3 if step >= long else 2 * math.ceil(long / step) + 1
    return (transforms * size * math.log2(max(size, 2)), float(n + m), 1.0)


def predict_seconds(method: str, n: int, m: int, channels: int = 1) -> float:
    """Predicted seconds for ``method`` ('direct' or 'fft') on lengths ``n``, ``m``."""
    feats, coef = (
        (direct_features(n, m), DIRECT_COEFFICIENTS) if method == "direct" else (fft_features(n, m), FFT_COEFFICIENTS)
    )
    return channels * sum(f * c for f, c in zip(feats, coef))


def choose_method(n: int, m: int, channels: int = 1) -> str:
    """The built-in method predicted to be fastest: ``'direct'`` or ``'fft'``.

    Examples
    --------
    >>> choose_method(48000, 3)
    'direct'
    >>> choose_method(480000, 48000)
    'fft'
    """
    if min(n, m) <= 1:
        return "direct"
    direct = predict_seconds("direct", n, m, channels)
    fft = predict_seconds("fft", n, m, channels)
    return "direct" if direct <= fft else "fft"
