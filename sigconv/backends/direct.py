"""The ``direct`` backend: time-domain convolution, exact and best for short kernels."""

from __future__ import annotations

import numpy as np

from ..limits import check_block
from .base import Backend, Estimate, Workload

__all__ = ["DirectBackend"]


class DirectBackend(Backend):
    """Time-domain sum of products (numpy's C loop), one channel at a time.

    Cost grows as ``len(x) * len(h)``; no transform round-off, so integer
    inputs give exact results as long as the sums fit the float mantissa.
    It runs convolutions only: the other operations are spectral.
    """

    name = "direct"
    description = "time domain (numpy), exact; best for short kernels"
    exact = True

    def estimate(self, workload: Workload, context=None) -> Estimate | None:
        if workload.operation != "convolve":
            return None
        from .planner import predict_direct

        return Estimate(predict_direct(workload.known_frames, workload.taps, workload.paths, workload.dtype))

    def convolve_full(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Full convolution as a C-contiguous ``(frames, channels)`` array, the layout writers take."""
        channels = max(x.shape[1], h.shape[1])
        if channels == 1:  # numpy's result as it is: copying it into place cost 10% of a long job
            return np.convolve(x[:, 0], h[:, 0])[:, None]
        # numpy's loop wants contiguous rows, and strided column access costs as much as
        # the arithmetic: channel-major inputs, each result written into its column
        xt, ht = np.ascontiguousarray(x.T), np.ascontiguousarray(h.T)
        out = np.empty((x.shape[0] + h.shape[0] - 1, channels), dtype=np.result_type(x, h))
        for c in range(channels):
            out[:, c] = np.convolve(xt[c % xt.shape[0]], ht[c % ht.shape[0]])
        return out

    def stream(self, h, routes, in_channels, out_channels, dtype=np.float64, n_hint=None, block=None,
               context=None, plan=None):
        """Block overlap-add (:class:`~sigconv.compute.engine.BlockOverlapAdd`) with ``block`` checked.

        Each block costs ``(block + m - 1) * m`` multiply-adds and holds as
        many frames, so a ``block`` given by the user must be at least
        :data:`sigconv.limits.MIN_BLOCK` and keep the ``m``-tap IR within
        :data:`sigconv.limits.MAX_PARTITIONS` blocks.
        """
        check_block(block, h.shape[0])
        return super().stream(h, routes, in_channels, out_channels, dtype=dtype, n_hint=n_hint, block=block,
                              context=context, plan=plan)
