"""The straight line most windows agree on: a consensus fit (RANSAC over all pairs) through proposed delays.

Each window of a recording proposes one or a few delays (its best
correlation peaks); where material recurs, a window's best peak is as
often a recurrence as the true delay. The true delays of all windows lie
on one line, ``delay(t) = intercept + slope * t``, while a recurrence
lies on it only for the windows it repeats. :func:`consensus_line` tries
the line through every pair of proposals from two different windows
(with ``|slope| <= max_slope``), counts the windows with a proposal within
``tolerance`` of it (its *support*), keeps the line with the most support
(ties go to the larger summed weight), and refits it by least squares
through those proposals (one per window, the nearest) until the inliers
stop changing. :func:`consensus_lines` finds the best few distinct lines,
each from the proposals the previous ones did not explain.

Everything here is host NumPy on a few hundred points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Line", "Consensus", "consensus_line", "consensus_lines"]

_MAX_PAIRS = 1 << 16  # pairs tried at most (a fixed-seed sample beyond that)
_CHUNK = 1 << 22  # pair x point residuals evaluated at a time
_REFITS = 5


@dataclass(frozen=True)
class Line:
    """``value(t) = intercept + slope * t``."""

    intercept: float
    slope: float

    def at(self, t):
        """The line's value at ``t`` (a number or an array)."""
        return self.intercept + self.slope * t


@dataclass(frozen=True)
class Consensus:
    """A line and the proposals that agree with it.

    Attributes
    ----------
    line : Line
        Least-squares line through the inliers.
    inliers : numpy.ndarray of bool
        Per proposal: within the tolerance of the line and the nearest one of its window.
    support : int
        Windows with an inlier.
    weight : float
        Summed weights of the inliers.
    rms : float
        Root-mean-square distance of the inliers from the line.
    """

    line: Line
    inliers: np.ndarray
    support: int
    weight: float
    rms: float


def _group_starts(group: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, group[1:] != group[:-1]])


def _nearest_per_group(distance: np.ndarray, group: np.ndarray, tolerance: float) -> np.ndarray:
    """Per group, the proposal nearest the line if within ``tolerance``: a boolean mask."""
    mask = np.zeros(distance.size, bool)
    order = np.lexsort((distance, group))
    first = order[_group_starts(group[order])]
    mask[first[distance[first] <= tolerance]] = True
    return mask


def _fit(t, y, inliers) -> Line:
    if np.ptp(t[inliers]) == 0:
        return Line(float(np.mean(y[inliers])), 0.0)
    slope, intercept = np.polyfit(t[inliers], y[inliers], 1)
    return Line(float(intercept), float(slope))


def _candidate_pairs(t, y, group, tolerance, max_slope):
    """Index pairs ``(i, j)`` of proposals in different windows whose line is not too steep."""
    n = t.size
    i, j = np.triu_indices(n, 1)
    keep = group[i] != group[j]
    keep &= np.abs(y[j] - y[i]) <= max_slope * np.abs(t[j] - t[i]) + 2 * tolerance
    i, j = i[keep], j[keep]
    if i.size > _MAX_PAIRS:
        chosen = np.sort(np.random.default_rng(0).choice(i.size, _MAX_PAIRS, replace=False))
        i, j = i[chosen], j[chosen]
    return i, j


def consensus_line(t, y, group, tolerance: float, max_slope: float = np.inf, weight=None) -> Consensus | None:
    """The line through the proposals that the most windows agree with.

    Parameters
    ----------
    t, y : array_like
        Time and proposed value of each proposal.
    group : array_like of int
        The window each proposal comes from (sorted or not).
    tolerance : float
        Largest distance from the line, in units of ``y``, of a proposal that agrees.
    max_slope : float
        Steepest line tried.
    weight : array_like, optional
        Per proposal (a peak's height): decides between lines of equal support.

    Returns
    -------
    Consensus or None
        None where no two windows propose anything (or every pair is too steep).

    Examples
    --------
    Five windows on ``y = 10 + 2 t``, four of them with a rival proposal 50 away, and one stray window:

    >>> t = np.repeat(np.arange(6.0), 2)
    >>> y = np.array([10, 60, 12, 62, 14, 64, 16, 66, 18, 90, -40, 7.0])
    >>> c = consensus_line(t, y, np.repeat(np.arange(6), 2), tolerance=0.5, max_slope=10)
    >>> round(c.line.intercept, 6), round(c.line.slope, 6), c.support
    (10.0, 2.0, 5)
    """
    t, y = np.asarray(t, float), np.asarray(y, float)
    group = np.asarray(group)
    w = np.ones(t.size) if weight is None else np.asarray(weight, float)
    order = np.argsort(group, kind="stable")
    t, y, group, w = t[order], y[order], group[order], w[order]
    if np.unique(group).size < 2:
        return None
    i, j = _candidate_pairs(t, y, group, tolerance, max_slope)
    if not i.size:
        return None
    starts = _group_starts(group)
    slope = (y[j] - y[i]) / np.where(t[j] == t[i], np.nan, t[j] - t[i])
    intercept = y[i] - slope * t[i]
    best_key, best = None, None
    step = max(1, _CHUNK // t.size)
    for k in range(0, i.size, step):
        s, c = slope[k : k + step, None], intercept[k : k + step, None]
        close = np.abs(y[None, :] - (c + s * t[None, :])) <= tolerance  # NaN slopes: never close
        support = np.logical_or.reduceat(close, starts, axis=1).sum(axis=1)
        score = np.where(close, w[None, :], 0.0).sum(axis=1)
        m = int(np.lexsort((score, support))[-1])
        key = (int(support[m]), float(score[m]))
        if best_key is None or key > best_key:
            best_key, best = key, Line(float(c[m, 0]), float(s[m, 0]))
    if best_key[0] < 2:
        return None
    line, inliers = best, None
    for _ in range(_REFITS):
        found = _nearest_per_group(np.abs(y - line.at(t)), group, tolerance)
        if found.sum() < 2 or (inliers is not None and np.array_equal(found, inliers)):
            break
        inliers = found
        line = _fit(t, y, inliers)
    if inliers is None:
        return None
    residual = y[inliers] - line.at(t[inliers])
    back = np.empty_like(inliers)
    back[order] = inliers
    return Consensus(line, back, int(inliers.sum()), float(w[inliers].sum()), float(np.sqrt(np.mean(residual ** 2))))


def consensus_lines(t, y, group, tolerance: float, max_slope: float = np.inf, weight=None,
                    count: int = 4) -> list[Consensus]:
    """Up to ``count`` distinct lines, best first: each is :func:`consensus_line` of the proposals
    that no earlier line passes within ``tolerance`` of (its ``inliers`` index the full arrays).

    Examples
    --------
    >>> t = np.repeat(np.arange(6.0), 2)
    >>> y = np.array([10, 60, 12, 62, 14, 64, 16, 66, 18, 90, -40, 7.0])
    >>> lines = consensus_lines(t, y, np.repeat(np.arange(6), 2), 0.5, max_slope=10)
    >>> [(round(c.line.intercept), c.support) for c in lines]
    [(10, 5), (60, 4)]
    """
    t, y = np.asarray(t, float), np.asarray(y, float)
    group = np.asarray(group)
    w = np.ones(t.size) if weight is None else np.asarray(weight, float)
    left = np.ones(t.size, bool)
    lines = []
    while len(lines) < count and left.sum() >= 2:
        index = np.flatnonzero(left)
        found = consensus_line(t[index], y[index], group[index], tolerance, max_slope, w[index])
        if found is None:
            break
        inliers = np.zeros(t.size, bool)
        inliers[index[found.inliers]] = True
        lines.append(Consensus(found.line, inliers, found.support, found.weight, found.rms))
        left &= np.abs(y - found.line.at(t)) > tolerance
    return lines
