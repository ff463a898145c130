"""The regularised spectral inverse that deconvolution and impulse measurement share.

.. math:: G(f) = \\frac{H^*(f)}{|H(f)|^2 + \\lambda(f)}

is the least-squares inverse of ``H`` with Tikhonov regularisation λ
(Wiener's filter when λ is the noise-to-signal power ratio). It is
computed in place on arrays of any :class:`~sigconv.compute.ops.ArrayOps`,
since its grids run to millions of bins.
"""

from __future__ import annotations

__all__ = ["regularised_inverse"]


def regularised_inverse(ops, spectrum, lam, *, power=None):
    """``G = H* / (|H|^2 + λ)``, computed in the memory of ``spectrum`` (``H``), which it returns.

    The one form of the regularised inverse: Wiener's and Tikhonov's
    inverse filters (:func:`sigconv.deconvolution.inverse.design_inverse`)
    and the sweep inverse of :func:`sigconv.impulse.measure.inverse_filter`
    both use it.

    Parameters
    ----------
    ops : ArrayOps
        Whose array module the arrays belong to.
    spectrum : array of ``ops.xp``
        ``H``, complex; overwritten by ``G``.
    lam : array of ``ops.xp`` or float
        λ, broadcasting against ``spectrum``; positive wherever ``H`` can be 0.
    power : array of ``ops.xp``, optional
        ``|H|^2`` where the caller has it already; overwritten by the
        denominator (these grids run to millions of bins, so no copy is made).

    Examples
    --------
    >>> import numpy as np
    >>> from sigconv.compute.ops import ArrayOps
    >>> ops = ArrayOps()
    >>> g = regularised_inverse(ops, np.array([2.0 + 0j, 1j, 0j]), 1e-12)  # H = 0: G = 0, not a division by 0
    >>> (g + 0).round(6).tolist()
    [(0.5+0j), -1j, 0j]
    """
    xp = ops.xp
    if power is None:
        power = xp.square(spectrum.real)
        power += xp.square(spectrum.imag)
    power += lam
    xp.conjugate(spectrum, out=spectrum)
    spectrum /= power
    return spectrum
