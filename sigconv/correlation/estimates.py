"""From a correlation function to a delay: polarity, the cluster of arrivals, refinement and confidence.

The rules, the same for the whole-range, windowed, block-by-block and
coarse-to-fine searches:

* **Polarity.** The largest ``|value|`` is the strongest arrival; where it
  is negative, B is inverted against A and the peaks below are those of
  ``-values``. For ``cc`` and ``scot`` the sign is that of the GCC-PHAT
  correlation's strongest arrival (their broad lobes have either sign).
* **Cluster.** Arrivals within :data:`CLUSTER_SECONDS` (5 ms) of the
  strongest are one event: the direct path and its early reflections.
  The delay reported is the cluster's *earliest strong arrival*: the first
  local maximum, away from the echoes' side, that reaches half the
  strongest and lies at least :data:`GAP_SECONDS` (1 ms) from it (closer
  maxima are the ringing of one band-limited peak) (:func:`~sigconv.correlation.peaks.arrival_cluster`). For
  ``cc``, whose broad peak has lobes that are no separate arrivals, it is
  the strongest.
* **Echoes.** Beyond the cluster, on the side whose correlation holds more
  energy (the side of the more reverberant recording), up to
  :data:`ECHO_SECONDS` (at most :data:`ECHO_SHARE` of the window) are the
  room's later reflections of the same event.
* **Confidence.** The cluster's height over the largest ``|value|``
  outside the cluster and its echoes, measured on the GCC-PHAT
  correlation of the same data whatever the method: PHAT divides out A's
  own spectrum, so a ``cc`` peak whose shape is A's autocorrelation (broad
  lobes, a voice's pitch period) is one sharp arrival there, and a ``cc``
  peak that is not where the arrivals are finds no PHAT peak under it.
  Unrelated signals give 1.0-1.4.
"""

from __future__ import annotations

import math

import numpy as np

from .peaks import GUARD_SAMPLES, arrival_cluster, bandlimited_peak, parabolic_offset, peak_confidence
from .results import DelayEstimate

__all__ = ["CLUSTER_SECONDS", "GAP_SECONDS", "ECHO_SECONDS", "ECHO_SHARE", "cluster_sizes", "estimate_peak", "rate_arrival"]

#: Arrivals within this many seconds of the strongest are one cluster (the direct path and early reflections).
CLUSTER_SECONDS = 0.005
#: An earlier arrival of the cluster lies at least this many seconds (and 3 samples) from the strongest: closer
#: maxima are lobes of the strongest peak itself (a band-limited peak rings).
GAP_SECONDS = 0.001
#: Beyond the cluster, on the reverberant side, this many seconds hold its echoes (no rivals in the confidence).
ECHO_SECONDS = 0.1
#: ... but the echoes take at most this share of the searched window.
ECHO_SHARE = 0.25


def cluster_sizes(rate: float, width: int) -> tuple[int, int]:
    """``(cluster, echoes)`` in lags at ``rate`` for a window of ``width`` lags.

    The cluster is at least :data:`~sigconv.correlation.peaks.GUARD_SAMPLES`
    lags (with ``rate=1``, delays in samples, it is just that, and there
    are no echoes).

    Examples
    --------
    >>> cluster_sizes(48000.0, 10**6), cluster_sizes(48000.0, 2000), cluster_sizes(1.0, 10**6)
    ((240, 4800), (240, 500), (8, 0))
    """
    cluster = max(GUARD_SAMPLES, round(CLUSTER_SECONDS * rate))
    echoes = max(0, math.floor(min(ECHO_SECONDS * rate, ECHO_SHARE * width))) if rate > 1 else 0
    return cluster, echoes


def rate_arrival(reference: np.ndarray, near: int, allowed, cluster: int, echoes: int):
    """The confidence of the arrival at ``near`` measured on ``reference`` (a PHAT correlation over the same lags).

    The reference's strongest ``|value|`` within ``cluster`` lags of
    ``near`` is the arrival; its cluster and echoes are left out of the
    rivals. Returns :class:`~sigconv.correlation.peaks.PeakConfidence`.
    """
    n = reference.shape[0]
    first, last = max(0, near - cluster), min(n - 1, near + cluster)
    part = np.abs(reference[first : last + 1])
    if allowed is not None:
        part = np.where(allowed[first : last + 1], part, -1.0)
    top = first + int(np.argmax(part))
    found = arrival_cluster(reference, allowed, cluster=cluster, echoes=echoes, earliest=False, strongest=top)
    return peak_confidence(reference, top, allowed, leave_out=found.leave_out, polarity=found.polarity)


def _strongest_with_polarity_of(reference, values, allowed) -> int:
    """The largest of ``values`` with the sign of the reference's strongest ``|value|``.

    The polarity is the PHAT reference's: a ``cc`` or SCOT correlation has
    broad lobes of either sign (a high-pass leaves negative ones beside the
    peak), whose largest magnitude says little about the sign of the arrival.
    """
    magnitude = np.abs(reference) if allowed is None else np.where(allowed, np.abs(reference), -1.0)
    sign = -1.0 if reference[int(np.argmax(magnitude))] < 0 else 1.0
    signed = sign * values if allowed is None else np.where(allowed, sign * values, -np.inf)
    return int(np.argmax(signed))


def estimate_peak(values, spectrum, maker, allowed, refine, rate, ref, channel, full_lo, full_hi, *,
                  reference=None, strongest: int | None = None, polarity: int | None = None) -> DelayEstimate:
    """Find, refine and rate the direct path in one channel pair's correlation ``values`` (lags ``maker.lo``...).

    Parameters
    ----------
    values : numpy.ndarray
        The correlation over the searched lags (host).
    spectrum : numpy.ndarray or None
        Its spectrum (for the band-limited refinement; sample 0 is lag ``maker.origin``).
    maker : CurveMaker
        What made it: ``lo``, ``size``, ``origin``, ``method``.
    allowed : numpy.ndarray of bool or None
        Lags that take part (``--min-lag``).
    refine : str
    rate : float
    ref, channel : int
    full_lo, full_hi : int
        The lags at which A and B overlap at all (a peak at the window's
        edge inside them may have its top outside the window).
    reference : numpy.ndarray, optional
        The GCC-PHAT correlation over the same lags, for the confidence
        (default: ``values``, right for ``gcc-phat``).
    strongest : int, optional
        Position of the strongest arrival, where the caller knows better
        than the largest ``|value|``.
    polarity : {1, -1}, optional
        The polarity a wider search found: the strongest arrival is then
        the largest of ``polarity * values``.
    """
    lo = maker.lo
    n = values.shape[0]
    cluster, echoes = cluster_sizes(rate, n)
    gap = max(3, round(GAP_SECONDS * rate))
    if strongest is None and polarity is not None:
        signed = polarity * values if allowed is None else np.where(allowed, polarity * values, -np.inf)
        strongest = int(np.argmax(signed))
    if strongest is None and reference is not None:
        strongest = _strongest_with_polarity_of(reference, values, allowed)
    found = arrival_cluster(values, allowed, cluster=cluster, echoes=echoes, earliest=maker.method != "cc",
                            strongest=strongest, gap=gap)
    index, polarity = found.index, found.polarity
    lag = lo + index
    rated = rate_arrival(values if reference is None else reference, index, allowed, cluster, echoes)
    edge_low = index == 0 or (allowed is not None and not allowed[index - 1])
    edge_high = index == n - 1 or (allowed is not None and not allowed[index + 1])
    at_edge = (edge_low and lag > full_lo) or (edge_high and lag < full_hi)
    delay, peak = float(lag), float(values[index])
    if refine != "none" and 0 < index < n - 1 and not at_edge:
        offset = parabolic_offset(*(polarity * values[index - 1 : index + 2]))
        delay = lag + offset
        if refine == "bandlimited" and spectrum is not None:
            found_peak = bandlimited_peak(polarity * spectrum, maker.size, lag - maker.origin,
                                          start=delay - maker.origin)
            if found_peak is not None:
                delay, peak = found_peak[0] + maker.origin, polarity * found_peak[1]
    runner_up = None if rated.runner_up is None else lo + rated.runner_up
    strongest_lag = None if found.strongest == index else lo + found.strongest
    return DelayEstimate(ref, channel, float(delay), rate, float(peak), rated.confidence, lag, bool(at_edge),
                         runner_up, polarity, strongest_lag)
