"""What :func:`sigconv.correlate` returns: a delay per channel pair, each judged on its own.

:class:`DelayEstimate` is one pair's delay, peak, polarity and confidence;
:class:`Correlation` holds them with the search that found them.
:func:`judge` marks each pair reliable or not against ``--min-confidence``
(with the reason), so that a stereo B whose channel 0 is clear and whose
channel 1 is not still reports channel 0; :func:`require_confidence`
raises :class:`~sigconv.errors.NoReliableDelayError` naming every pair
that failed, with the judged result attached as its ``result``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import NoReliableDelayError

__all__ = ["DelayEstimate", "Correlation", "judge", "require_confidence", "NO_DELAY_ADVICE"]

#: What to try when a delay is not reliable (the end of every such message).
NO_DELAY_ADVICE = ("Use longer or cleaner recordings, narrow the search with --max-lag or --lag-range, try another "
                   "--method, use --drift if the recorders' clocks differ (the peak smears), or lower --min-confidence")


@dataclass(frozen=True)
class DelayEstimate:
    """The delay of one channel of B relative to the reference channel of A.

    Attributes
    ----------
    ref_channel, channel : int
        Channel of A and channel of B.
    delay_samples : float
        Estimated delay of B after A, in samples (sub-sample refined): the
        direct path, the earliest strong arrival of the cluster around the
        strongest peak (:func:`sigconv.correlation.peaks.arrival_cluster`).
    rate : float
        Sample rate in Hz.
    peak : float
        Correlation at the estimated delay (interpolated; negative for an
        inverted B).
    confidence : float or None
        The cluster's height over the largest correlation magnitude outside
        it and its echoes, measured on the GCC-PHAT correlation whatever
        the method (:func:`sigconv.correlation.peaks.peak_confidence`).
    lag : int
        Whole-sample lag of the direct path.
    at_edge : bool
        The direct path lies at the edge of the search window: the true
        peak may be outside it.
    runner_up_lag : int or None
        Lag of the largest value outside the cluster and its echoes.
    polarity : int
        1, or -1 where B is inverted against A (the strongest arrival is negative).
    strongest_lag : int or None
        Lag of the strongest arrival of the cluster (None: the direct path itself).
    reliable : bool or None
        Whether the confidence reached the required minimum (None: not judged, see :func:`judge`).
    reason : str or None
        Why the pair is not reliable.
    """

    ref_channel: int
    channel: int
    delay_samples: float
    rate: float
    peak: float
    confidence: float | None
    lag: int
    at_edge: bool = False
    runner_up_lag: int | None = None
    polarity: int = 1
    strongest_lag: int | None = None
    reliable: bool | None = None
    reason: str | None = None

    @property
    def delay_seconds(self) -> float:
        """The delay in seconds."""
        return self.delay_samples / self.rate

    @property
    def inverted(self) -> bool:
        """B is inverted against A."""
        return self.polarity < 0

    def as_dict(self) -> dict:
        """A JSON-ready dict (an infinite confidence becomes None); an unreliable pair has no delay."""
        confidence = self.confidence
        if confidence is not None and not math.isfinite(confidence):
            confidence = None
        usable = self.reliable is not False
        return {
            "ref_channel": self.ref_channel,
            "channel": self.channel,
            "status": "ok" if usable else "unreliable",
            "reason": self.reason,
            "delay_samples": self.delay_samples if usable else None,
            "delay_seconds": self.delay_seconds if usable else None,
            "peak": self.peak,
            "confidence": confidence,
            "polarity": "inverted" if self.inverted else "normal",
            "lag_samples": self.lag,
            "strongest_lag_samples": self.lag if self.strongest_lag is None else self.strongest_lag,
            "runner_up_lag_samples": self.runner_up_lag,
            "at_edge": self.at_edge,
        }

    def why_unreliable(self, min_confidence: float) -> str:
        """The reason this pair fails ``min_confidence``, naming its best lag and the lag that rivals it."""
        other = ("" if self.runner_up_lag is None
                 else f"; another lag, {self.runner_up_lag:+d} samples, correlates nearly as well")
        return (f"B channel {self.channel} against A channel {self.ref_channel}: the best lag, {self.lag:+d} samples "
                f"({self.lag / self.rate:+.6f} s), has confidence {self.confidence:.2f}, below --min-confidence "
                f"{min_confidence:g}{other}")


@dataclass(frozen=True)
class Correlation:
    """The result of :func:`sigconv.correlate`.

    Attributes
    ----------
    method : str
    rate : float
    pairs : tuple of DelayEstimate
        One per channel of B.
    lo, hi : int
        The lag window searched, in samples (inclusive).
    min_lag : int
        Lags closer to zero than this many samples were left out.
    lags : numpy.ndarray or None
        ``lo..hi`` (None when the function was not kept).
    values : numpy.ndarray or None
        ``(len(lags), pairs)``: the (weighted) correlation per channel pair.
    normalized : bool
        ``cc`` values are divided by ``sqrt(sum(a**2) * sum(b**2))``.
    refine : str
    frames_a, frames_b : int
    search : dict
        How the lags were searched: ``{"form": "one transform" | "blocks" |
        "coarse to fine", ...}``; the coarse-to-fine search adds its
        ``decimation`` factor and the ``candidates`` it refined.
    notes : list of str
    """

    method: str
    rate: float
    pairs: tuple
    lo: int
    hi: int
    min_lag: int = 0
    lags: np.ndarray | None = None
    values: np.ndarray | None = None
    normalized: bool = False
    refine: str = "bandlimited"
    frames_a: int = 0
    frames_b: int = 0
    notes: list = field(default_factory=list, compare=False)
    search: dict = field(default_factory=dict, compare=False)

    @property
    def delays(self) -> np.ndarray:
        """Delay of each pair in seconds."""
        return np.array([p.delay_seconds for p in self.pairs])

    @property
    def failed(self) -> tuple:
        """The pairs judged unreliable."""
        return tuple(p for p in self.pairs if p.reliable is False)

    def as_dict(self) -> dict:
        """A JSON-ready summary (without the correlation function)."""
        return {
            "method": self.method,
            "rate": self.rate,
            "normalized": self.normalized,
            "refine": self.refine,
            "frames_a": self.frames_a,
            "frames_b": self.frames_b,
            "search": {"lo_samples": self.lo, "hi_samples": self.hi, "min_abs_samples": self.min_lag, **self.search},
            "pairs": [p.as_dict() for p in self.pairs],
        }


def judge(result: Correlation, min_confidence: float | None) -> Correlation:
    """``result`` with every pair marked reliable or not (and why) against ``min_confidence``.

    A pair whose confidence cannot be measured (the window holds nothing
    outside the peak's neighbourhood) passes; None or 0 passes every pair.

    Examples
    --------
    >>> weak = DelayEstimate(0, 0, 5.0, 100.0, 0.2, 1.1, 5)
    >>> strong = dataclasses.replace(weak, channel=1, confidence=9.0)
    >>> judged = judge(Correlation("gcc-phat", 100.0, (weak, strong), -10, 10), 1.5)
    >>> [p.reliable for p in judged.pairs], len(judged.failed)
    ([False, True], 1)
    """
    pairs = []
    for p in result.pairs:
        weak = bool(min_confidence) and p.confidence is not None and p.confidence < min_confidence
        pairs.append(dataclasses.replace(p, reliable=not weak,
                                         reason=p.why_unreliable(min_confidence) if weak else None))
    return dataclasses.replace(result, pairs=tuple(pairs), notes=result.notes)


def require_confidence(result: Correlation, min_confidence: float) -> Correlation:
    """The judged ``result`` (:func:`judge`); raise :class:`NoReliableDelayError` if any pair failed.

    The error names every pair below ``min_confidence`` and carries the
    judged result as its ``result`` attribute, so that callers can still
    report the pairs that passed.
    """
    judged = judge(result, min_confidence)
    if judged.failed:
        error = NoReliableDelayError(
            f"no reliable delay found ({'; '.join(p.reason for p in judged.failed)}). {NO_DELAY_ADVICE}"
        )
        error.result = judged
        raise error
    return judged
