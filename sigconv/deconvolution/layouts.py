"""Inverse filters for the channel layouts that mix channels: mono → multichannel and 2×2 true stereo.

``convolve`` turns a mono signal into several channels through a
multichannel kernel (``split``) and a stereo signal through a 4-channel
true-stereo kernel (LL, LR, RL, RR, input side first) into stereo
(``matrix``). Per frequency the recording is ``Y = M X`` with ``M`` the
kernel's ``outputs × inputs`` matrix; the regularised least-squares inverse is

.. math:: G = (M^H M + \\lambda I)^{-1} M^H,

for ``split`` (one input) ``G_c = H_c^* / (\\sum_k |H_k|^2 + λ)``: the
channels are combined, which also gains SNR; for ``matrix`` the 2×2 system
is inverted in closed form. λ is the same regularisation as for one
channel (:mod:`sigconv.deconvolution.inverse`), with the kernel's power
summed over the outputs. The result is an FIR per path (recording channel
→ output channel) that the streaming engine runs with those routes.
"""

from __future__ import annotations

import numpy as np

from ..compute.memory import release_free_memory
from ..compute.routing import Route
from .inverse import _LAMBDA_FLOOR, TRUNCATION_LIMIT, InverseFilter, _fir, _initial_size, longest_inverse

__all__ = ["LAYOUTS", "design_layout_inverse", "layout_routes"]

#: The layouts of :func:`design_layout_inverse`.
LAYOUTS = ("split", "matrix")


def layout_routes(layout: str, kernel_channels: int) -> tuple[list[Route], int]:
    """The inverse's paths ``Route(recording channel, tap column, output channel)`` and its output count.

    Examples
    --------
    >>> [tuple(r) for r in layout_routes("split", 2)[0]], layout_routes("matrix", 4)[1]
    ([(0, 0, 0), (1, 1, 0)], 2)
    """
    if layout == "split":
        return [Route(c, c, 0) for c in range(kernel_channels)], 1
    # column 2 i + j of the taps: G[i, j], from recording channel j to output channel i
    return [Route(j, 2 * i + j, i) for i in range(2) for j in range(2)], 2


def _inverse_spectra(ops, h, layout: str, regularisation, n: int) -> list:
    """The spectra of G for ``layout`` on an ``n``-point grid: one array of ``n // 2 + 1`` bins per path.

    Separate arrays, not the columns of one: each can be dropped once its
    FIR is made (the grids run to millions of bins).
    """
    xp = ops.xp
    spectra = [ops.rfft(h[:, c], n) for c in range(h.shape[1])]
    bins = n // 2 + 1
    power = xp.zeros((bins, 1))
    for column in spectra:
        power[:, 0] += xp.square(column.real) + xp.square(column.imag)
    inputs = 1 if layout == "split" else 2
    # per input channel: the mean of |M|² summed over outputs, as a (1,) array on the device
    mean_power = xp.sum(xp.sum(xp.square(h), axis=0, keepdims=True), axis=1) / inputs
    freqs = xp.arange(bins) / n
    lam = regularisation(ops, freqs, power / inputs, mean_power)
    lam = xp.maximum(lam, _LAMBDA_FLOOR * mean_power)
    if layout == "split":
        power += lam
        for column in spectra:
            xp.conjugate(column, out=column)
            column /= power[:, 0]
        return spectra
    lam = lam[:, 0] if getattr(lam, "ndim", 0) == 2 else lam
    del power
    # the 2x2 algebra is per bin: a block of bins at a time, so that its temporaries stay small
    per_bin = getattr(lam, "ndim", 0) == 1 and lam.shape[0] == bins  # else one λ for all bins
    for start in range(0, bins, _ALGEBRA_BINS):
        block = slice(start, start + _ALGEBRA_BINS)
        _matrix_inverse(xp, [column[block] for column in spectra], lam[block] if per_bin else lam)
    return spectra


#: Bins per block of the true-stereo inverse's per-bin algebra (a MB per temporary).
_ALGEBRA_BINS = 1 << 16


def _matrix_inverse(xp, spectra, lam) -> None:
    """Overwrite the spectra LL, LR, RL, RR in ``spectra`` with G00, G01, G10, G11 of the regularised 2x2 inverse."""
    ll, lr, rl, rr = spectra  # M = [[LL, RL], [LR, RR]] (rows: outputs)
    a00 = xp.abs(ll) ** 2 + xp.abs(lr) ** 2 + lam
    a11 = xp.abs(rl) ** 2 + xp.abs(rr) ** 2 + lam
    a01 = xp.conjugate(ll) * rl + xp.conjugate(lr) * rr
    det = a00 * a11 - xp.abs(a01) ** 2
    # A^-1 = [[a11, -a01], [-conj(a01), a00]] / det; M^H = [[LL*, LR*], [RL*, RR*]]
    # each pair into the kernel's columns it was made from, which are read no more
    g00 = (a11 * xp.conjugate(ll) - a01 * xp.conjugate(rl)) / det
    g10 = (a00 * xp.conjugate(rl) - xp.conjugate(a01) * xp.conjugate(ll)) / det
    ll[:], rl[:] = g00, g10
    g01 = (a11 * xp.conjugate(lr) - a01 * xp.conjugate(rr)) / det
    g11 = (a00 * xp.conjugate(rr) - xp.conjugate(a01) * xp.conjugate(lr)) / det
    lr[:], rr[:] = g01, g11


def _path_firs(ops, spectra: list, n: int):
    """The ``(n, 1)`` FIR of each path's spectrum in turn, each spectrum dropped from ``spectra`` once transformed."""
    for c in range(len(spectra)):
        column, spectra[c] = spectra[c], None
        yield _fir(ops, column[:, None], n)
        del column


def _paths_fir(ops, spectra: list, n: int):
    """``(n, paths)``: :func:`_path_firs` gathered into one array."""
    g = ops.xp.empty((n, len(spectra)), dtype=ops.xp.float64)
    for c, column in enumerate(_path_firs(ops, spectra, n)):
        g[:, c : c + 1] = column
        del column
    return g


def _difference(ops, short, long) -> float:
    """Energy of ``short`` (aligned on ``long``'s modelling delay) minus ``long``, relative to ``long``'s.

    ``long`` is an iterable of its ``(taps, 1)`` columns, taken one at a
    time (a generator makes each only when it is needed: the grids run to
    millions of taps).
    """
    xp = ops.xp
    n = short.shape[0]
    error = total = 0.0
    for c, column in enumerate(long):
        difference = -column[:, 0]
        difference[n // 2 : n // 2 + n] += short[:, c]
        error += float(xp.sum(xp.square(difference)))
        total += float(xp.sum(xp.square(column)))
        del difference, column
    return error / max(total, 1e-300)


def design_layout_inverse(h: np.ndarray, layout: str, regularisation, *, max_size: int | None = None,
                          ops=None) -> InverseFilter:
    """The FIR paths of ``G = (M^H M + λ I)^-1 M^H`` for a ``split`` or ``matrix`` kernel ``h``.

    Parameters
    ----------
    h : numpy.ndarray
        ``(m, channels)``: for ``split`` one column per recording channel;
        for ``matrix`` four (LL, LR, RL, RR).
    layout : {'split', 'matrix'}
    regularisation : callable
        As for :func:`sigconv.deconvolution.inverse.design_inverse`, given
        the kernel's power summed over the outputs, per input.
    max_size : int, optional
        Longest filter tried (default as for one channel).
    ops : ArrayOps, optional
        Where to compute (default: NumPy and scipy.fft).

    Returns
    -------
    InverseFilter
        With ``routes`` and ``out_channels``. Its ``truncation`` is the
        energy by which the taps differ from the design twice as long,
        relative to that design's (not seen through the kernel, unlike one
        channel's).
    """
    if ops is None:
        from ..compute.ops import ArrayOps

        ops = ArrayOps()
    m = h.shape[0]
    h = ops.to_device(h)
    routes, outputs = layout_routes(layout, h.shape[1])
    n = _initial_size(ops, m)
    limit = max_size or longest_inverse(m)
    fir = _paths_fir(ops, _inverse_spectra(ops, h, layout, regularisation, n), n)
    while True:
        spectrum = _inverse_spectra(ops, h, layout, regularisation, 2 * n)
        release_free_memory()  # its temporaries, before the transform back adds its own
        if 4 * n > limit:  # the last step: the longer design is made and dropped one path at a time
            truncation = _difference(ops, fir, _path_firs(ops, spectrum, 2 * n))
            return InverseFilter(ops.to_host(fir), n // 2, truncation, tuple(routes), outputs)
        longer = _paths_fir(ops, spectrum, 2 * n)
        del spectrum
        truncation = _difference(ops, fir, [longer[:, c : c + 1] for c in range(longer.shape[1])])
        release_free_memory()  # as in design_inverse
        if truncation <= TRUNCATION_LIMIT:
            return InverseFilter(ops.to_host(fir), n // 2, truncation, tuple(routes), outputs)
        n, fir = 2 * n, longer
