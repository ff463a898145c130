"""Richardson–Lucy deconvolution for non-negative data (spectra, histograms, intensity profiles).

Each iteration multiplies the estimate by the back-projected ratio of the
data to the current model,

.. math:: x \\leftarrow x \\cdot \\frac{H^T (y / (H x))}{H^T 1},

which is the EM step of the Poisson likelihood of ``y`` given ``x ⊗ h``.
Every factor is non-negative, so the estimate never goes negative and
never becomes NaN: model values are floored at a tiny positive number
before dividing, and the back-projection is clipped at 0 against FFT
round-off. Only the samples of ``y`` that exist enter the likelihood (the
full product may be longer than the data when a longer output is asked
for).
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidSignalError
from ..limits import check_iterations

__all__ = ["DEFAULT_ITERATIONS", "NEGATIVE_TOLERANCE", "check_non_negative", "richardson_lucy"]

#: Default ``--iterations``: scikit-image's default too. RL converges slowly;
#: stopping early is its regularisation (more iterations sharpen, and amplify noise).
#: At most :data:`sigconv.limits.MAX_ITERATIONS`.
DEFAULT_ITERATIONS = 50
#: Negative samples down to this fraction of the peak are taken as round-off
#: (an FFT convolution of non-negative data leaves some) and set to 0.
NEGATIVE_TOLERANCE = 1e-9


def check_non_negative(data: np.ndarray, name: str) -> np.ndarray:
    """``data`` with round-off negatives set to 0; :class:`InvalidSignalError` for real ones.

    Examples
    --------
    >>> check_non_negative(np.array([[1.0], [-1e-12]]), "signal").ravel().tolist()
    [1.0, 0.0]
    """
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    lowest = float(np.min(data)) if data.size else 0.0
    if lowest < -NEGATIVE_TOLERANCE * peak:
        frame = int(np.flatnonzero((data < -NEGATIVE_TOLERANCE * peak).any(axis=1))[0])
        raise InvalidSignalError(
            f"--method lucy needs a non-negative {name}, and it has {lowest:.6g} at frame {frame}; "
            "Richardson-Lucy is for intensities, counts and spectra; use --method wiener for signed signals"
        )
    return np.maximum(data, 0.0)


def richardson_lucy(y: np.ndarray, h: np.ndarray, n: int, iterations: int = DEFAULT_ITERATIONS,
                    ops=None) -> np.ndarray:
    """``iterations`` Richardson–Lucy steps for a length-``n`` ``x`` with ``y ≈ x ⊗ h`` (1-D, non-negative).

    Starts from the flat estimate with the data's total (``sum(y) / (n
    sum(h))``); all-zero data give all zeros. ``iterations`` is 1 to
    :data:`sigconv.limits.MAX_ITERATIONS`. ``y`` and ``h`` are host
    arrays; the iterations run through ``ops`` (default: NumPy and
    scipy.fft) and the estimate comes back on the host.

    Examples
    --------
    >>> x = np.array([0.0, 4.0, 0.0, 0.0, 1.0])
    >>> y = np.convolve(x, [0.5, 0.5])
    >>> np.round(richardson_lucy(y, np.array([0.5, 0.5]), 5, 2000), 3).tolist()
    [0.0, 4.0, 0.0, 0.0, 1.0]
    """
    check_iterations(iterations)
    if ops is None:
        from ..compute.ops import ArrayOps

        ops = ArrayOps()
    xp = ops.xp
    m = h.shape[0]
    rows = n + m - 1
    observed = min(rows, y.shape[0])
    total = float(np.sum(y[:observed]))
    if total <= 0:
        return np.zeros(n)
    size = ops.next_fast_len(rows)
    spectrum = ops.rfft(ops.to_device(h), size)
    conjugate = xp.conj(spectrum)
    data = ops.zeros(rows)
    data[:observed] = ops.to_device(y[:observed])
    mask = ops.zeros(rows)
    mask[:observed] = 1.0

    def back_project(r):
        return xp.maximum(ops.irfft(conjugate * ops.rfft(r, size), size)[:n], 0.0)

    weight = back_project(mask)  # H^T 1 over the observed rows: sum(h) away from the edges
    reach = weight > 1e-12 * float(np.sum(h))
    x = xp.where(reach, total / (n * float(np.sum(h))), 0.0)
    divisor = xp.where(reach, weight, 1.0)
    for _ in range(iterations):
        model = ops.irfft(spectrum * ops.rfft(x, size), size)[:rows]
        floor = 1e-12 * xp.maximum(xp.max(model), 1e-300)  # stays on the device: no sync per iteration
        ratio = mask * data / xp.maximum(model, floor)
        x = xp.where(reach, x * back_project(ratio) / divisor, 0.0)
    return ops.to_host(x)
