"""The ``direct`` backend: time-domain convolution, exact and best for short kernels."""

from __future__ import annotations

import numpy as np

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
        channels = max(x.shape[1], h.shape[1])
        if channels == 1:  # numpy's result as it is: copying it into place cost 10% of a long job
            return np.convolve(x[:, 0], h[:, 0])[:, None]
        # channel-major copies: numpy's loop wants contiguous rows, and
        # strided column access costs as much as the arithmetic
        xt, ht = np.ascontiguousarray(x.T), np.ascontiguousarray(h.T)
        out = np.empty((channels, x.shape[0] + h.shape[0] - 1), dtype=np.result_type(x, h))
        for c in range(channels):
            out[c] = np.convolve(xt[c % xt.shape[0]], ht[c % ht.shape[0]])
        return out.T
