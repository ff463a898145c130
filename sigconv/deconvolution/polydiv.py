"""Exact deconvolution: polynomial division that stays stable, and says when it is not exact.

``scipy.signal.deconvolve`` divides by running ``lfilter`` with the kernel
as the denominator: a recursion whose poles are the kernel's zeros, so it
explodes as soon as one lies outside the unit circle (errors of 1e141 for
a random two-tap kernel). Here the quotient is the least-squares solution
of the convolution system ``y ≈ x ⊗ h`` for an ``x`` of the given length,
solved by LSQR with FFT products, right-preconditioned by the zero-phase
filter ``1 / sqrt(|H|² + ε)`` (which makes the system's singular values
cluster near 1). For short kernels (up to :data:`ROOT_SPLIT_TAPS` taps) a
first estimate comes from splitting the kernel at its roots into a
minimum-phase part, divided by a forward recursion, and a maximum-phase
part, divided by a recursion run backwards in time; both are stable. The
LSQR rounds then correct what inaccurate roots left. The remainder
(its RMS per degree of freedom against the signal's RMS) decides: above the tolerance the signal was not an
exact FIR product and :class:`~sigconv.errors.InexactDivisionError` is
raised instead of returning a quotient that does not reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InexactDivisionError

__all__ = ["DEFAULT_TOLERANCE", "ILL_CONDITIONED", "ROOT_SPLIT_TAPS", "Division", "check_remainder", "divide",
           "kernel_condition"]

#: Default largest remainder, relative to the signal's RMS (-120 dB): far above
#: float64 round-off, above float32 storage (3e-8) and far below any real noise.
DEFAULT_TOLERANCE = 1e-6
#: Kernels up to this many taps get the root-splitting first estimate
#: (numpy.roots costs O(m³) and loses accuracy beyond).
ROOT_SPLIT_TAPS = 64
_PRECONDITIONER_EPS = 1e-10
_ROUNDS = 3
_ITERATIONS = 300


@dataclass(frozen=True)
class Division:
    """Quotient of one channel, its remainder and the LSQR iterations used.

    ``remainder`` is the RMS of ``y - x ⊗ h`` over its ``rows - n`` degrees
    of freedom (the ``m - 1`` samples of a polynomial remainder), relative
    to the RMS of ``y``: about the noise-to-signal amplitude ratio of a
    noisy product, about 1e-16 for an exact one in float64.
    """

    quotient: np.ndarray
    remainder: float
    iterations: int


def _root_split(y: np.ndarray, h: np.ndarray, n: int) -> np.ndarray | None:
    """Quotient by stable recursions on the kernel's minimum- and maximum-phase factors (None if unusable)."""
    from scipy.signal import lfilter

    nonzero = np.flatnonzero(h)
    delay = int(nonzero[0])
    core = h[delay : nonzero[-1] + 1]
    y = y[delay:]
    if core.shape[0] == 1:
        x = np.zeros(n)
        x[: min(n, y.shape[0])] = y[:n]
        return x / core[0]
    roots = np.roots(core)
    inside, outside = roots[np.abs(roots) <= 1.0], roots[np.abs(roots) > 1.0]
    minimum = np.real(np.poly(inside)) if inside.size else np.ones(1)
    maximum = np.real(np.poly(outside)) if outside.size else np.ones(1)
    k = maximum.shape[0] - 1
    padded = np.zeros(n + k)
    padded[: min(n + k, y.shape[0])] = y[: n + k]
    with np.errstate(all="ignore"):
        w = lfilter([1.0], minimum, padded)  # = x ⊗ maximum, forwards
        x = lfilter([1.0], maximum[::-1], w[::-1])[:n][::-1] if k else w[:n]  # backwards: roots 1/r inside
        x = x / core[0]
    return x if np.isfinite(x).all() else None


def divide(y: np.ndarray, h: np.ndarray, n: int, ops=None) -> Division:
    """The length-``n`` least-squares quotient of ``y`` by ``h`` (1-D float64 host arrays).

    ``y`` is taken as zero beyond its end, as the full product of an
    ``n``-sample ``x`` with ``h`` is ``n + len(h) - 1`` samples long. The
    FFT products run through ``ops`` (default: NumPy and scipy.fft); LSQR
    itself (scipy's) iterates on the host, so each product's vector
    crosses with ``to_device`` and ``to_host`` (no copy on the host).

    Examples
    --------
    >>> d = divide(np.convolve([1.0, 2.0, 3.0], [0.5, 1.0]), np.array([0.5, 1.0]), 3)
    >>> np.round(d.quotient, 12).tolist(), d.remainder < 1e-14
    ([1.0, 2.0, 3.0], True)
    """
    from scipy.sparse.linalg import LinearOperator, lsqr

    if ops is None:
        from ..compute.ops import ArrayOps

        ops = ArrayOps()
    xp = ops.xp
    m = h.shape[0]
    rows = max(y.shape[0], n + m - 1)
    size = ops.next_fast_len(rows)
    spectrum = ops.rfft(ops.to_device(h), size)
    conjugate = xp.conj(spectrum)
    power = xp.square(spectrum.real) + xp.square(spectrum.imag)
    weights = 1.0 / xp.sqrt(power + _PRECONDITIONER_EPS * xp.max(power))
    target = ops.zeros(rows)
    target[: y.shape[0]] = ops.to_device(y)

    def convolve(x):
        return ops.irfft(spectrum * ops.rfft(x, size), size)[:rows]

    def correlate(r):
        return ops.irfft(conjugate * ops.rfft(r, size), size)[:n]

    def precondition(z):
        return ops.irfft(weights * ops.rfft(z, size), size)[:n]

    def norm_of(v) -> float:
        return float(xp.sqrt(xp.sum(xp.square(v))))

    system = LinearOperator(
        (rows, n), dtype=np.float64,
        matvec=lambda z: ops.to_host(convolve(precondition(ops.to_device(np.ravel(z))))),
        rmatvec=lambda r: ops.to_host(precondition(correlate(ops.to_device(np.ravel(r))))))
    start = _root_split(y, h, n) if m <= ROOT_SPLIT_TAPS else None
    x = ops.zeros(n) if start is None else ops.to_device(start)
    norm = norm_of(target)
    if norm == 0:
        return Division(np.zeros(n), 0.0, 0)
    iterations = 0
    remainder = norm_of(target - convolve(x)) / norm
    for _ in range(_ROUNDS):
        if remainder <= 1e-14:
            break
        result = lsqr(system, ops.to_host(target - convolve(x)), atol=1e-15, btol=1e-15, iter_lim=_ITERATIONS)
        candidate = x + precondition(ops.to_device(result[0]))
        iterations += int(result[2])
        better = norm_of(target - convolve(candidate)) / norm
        if not better < remainder:
            break
        x, remainder = candidate, better
    # the least-squares remainder lives in rows - n dimensions (m - 1 for
    # the full product): compare its RMS there with the signal's RMS, so
    # that noise of a given level reads the same whatever the lengths
    freedom = rows - n
    per_sample = remainder * np.sqrt(rows / freedom) if freedom > 0 else 0.0
    return Division(ops.to_host(x), float(per_sample), iterations)


#: A kernel whose smallest spectral magnitude is below this fraction of its
#: largest (-120 dB) is named as the likely cause of a remainder: float64
#: division loses about that much of the signal where the kernel is weakest.
ILL_CONDITIONED = 1e-6


def kernel_condition(h: np.ndarray, ops=None) -> float:
    """The kernel's smallest spectral magnitude over its largest, on a grid of at least 4 kernel lengths.

    Examples
    --------
    >>> kernel_condition(np.array([1.0, 0.5])), kernel_condition(np.array([1.0, -1.0]))
    (0.3333333333333333, 0.0)
    """
    if ops is None:
        from ..compute.ops import ArrayOps

        ops = ArrayOps()
    size = ops.next_fast_len(max(4 * h.shape[0], 4096))
    magnitude = ops.to_host(ops.xp.abs(ops.rfft(ops.to_device(h), size)))
    return float(magnitude.min() / magnitude.max()) if magnitude.max() > 0 else 0.0


def check_remainder(remainders: list[float], tolerance: float, conditions: list[float] | None = None) -> None:
    """Raise :class:`InexactDivisionError` if any channel's remainder exceeds ``tolerance``.

    ``conditions`` (:func:`kernel_condition` per channel) tell an
    ill-conditioned kernel from a signal that is no product: below
    :data:`ILL_CONDITIONED` the message names the kernel's condition and
    suggests ``wiener`` with a high ``--snr`` instead of blaming the signal.
    """
    worst = max(remainders)
    if worst > tolerance:
        channel = remainders.index(worst)
        where = f" (channel {channel})" if len(remainders) > 1 else ""
        condition = conditions[channel % len(conditions)] if conditions else 1.0
        if condition < ILL_CONDITIONED:
            depth = "an exact zero" if condition == 0 else f"{-20 * np.log10(condition):.0f} dB"
            raise InexactDivisionError(
                f"the division left a remainder of {20 * np.log10(worst):.1f} dB of the signal{where}, above the "
                f"tolerance of {20 * np.log10(tolerance):.1f} dB, but the kernel is ill-conditioned: its smallest "
                f"spectral magnitude is {depth} below its largest (condition {condition:.3g}), so even an exact "
                "product cannot be divided to that tolerance; use --method wiener with a high --snr (e.g. --snr 120), "
                "or raise --tolerance"
            )
        raise InexactDivisionError(
            f"the signal is not an exact FIR product of the kernel: the remainder of the division is "
            f"{20 * np.log10(worst):.1f} dB of the signal{where}, above the tolerance of "
            f"{20 * np.log10(tolerance):.1f} dB; for recordings with noise use "
            "--method wiener (or raise --tolerance)"
        )
