"""Which line of delays the windows agree on: proposals over the whole lag range at a coarse rate, then a vote.

The first two steps of :func:`sigconv.estimate_drift` (see
:mod:`sigconv.correlation.drift` for the whole method), on A's reference
channel and one channel of B, both decimated by ``factor``
(:func:`~sigconv.correlation.windowed.decimate`):

1. Up to :data:`PROBES` windows spread over A each propose their
   :data:`PROPOSALS` best lags over the whole search range
   (:func:`~sigconv.correlation.windowed.proposals`), and a RANSAC fit over
   all pairs of them (:func:`~sigconv.correlation.consensus.consensus_lines`)
   keeps the :data:`LINES` lines that the most windows' proposals lie on.
2. Every window votes: its peak near each line is measured with the line's
   drift removed (to within a coarse sample) and its height interpolated between samples (so that
   heights compare fairly), and it votes for each line whose peak is at
   least :data:`VOTE_RATIO` of its highest (an exact recurrence ties with
   the truth and gets the vote too). The line with the most votes wins;
   the true one collects every window, a recurrence only those it repeats.

Where no line gets enough votes (a drift so strong that it smears whole
windows' peaks away), both steps run again on windows a quarter and a
sixteenth as long, centred where the windows asked for are, so that the
votes still count those windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import NoCorrelationPeakError
from .consensus import Line, consensus_line, consensus_lines
from .peaks import GUARD_SAMPLES
from .windowed import BandRow, band_peaks, proposals, window_lags

__all__ = ["SearchPlan", "Vote", "choose_line", "MAX_SLOPE", "PROBES", "PROPOSALS", "LINES", "VOTE_RATIO"]

#: The steepest line searched: 2000 ppm.
MAX_SLOPE = 2e-3
#: Windows that propose lags over the whole range.
PROBES = 24
#: Lags each of them proposes.
PROPOSALS = 8
#: Lines the windows vote between.
LINES = 4
#: A window votes for each line whose peak is at least this share of its highest.
VOTE_RATIO = 0.9
_SHORTER = 2  # times the windows are made a quarter as long where too few vote for a line
_MIN_COARSE = 512  # samples a window keeps at the coarse rate


@dataclass(frozen=True)
class SearchPlan:
    """What the search needs to know.

    Attributes
    ----------
    ops : ArrayOps
    frames : int
        Window length at the full rate.
    centres : tuple of float
        Centres of the windows (frames of A at the full rate).
    lo, hi : int
        Delays searched (full-rate samples).
    method : str
    factor : int
        Decimation of the coarse rate.
    """

    ops: object
    frames: int
    centres: tuple
    lo: int
    hi: int
    method: str
    factor: int

    def starts(self, frames: int, na: int) -> list[int]:
        """Starts (full-rate frames) of windows of ``frames`` frames centred at :attr:`centres`, inside A."""
        return [min(max(int(round(c - (frames - 1) / 2)), 0), na - frames) for c in self.centres]


@dataclass(frozen=True)
class Vote:
    """The outcome of :func:`choose_line`.

    Attributes
    ----------
    line : Line or None
        The line with the most votes (full-rate samples against frames of A).
    support : int
        Windows whose votes lie on it.
    eligible : int
        Windows where both signals hold sound near it.
    lines : tuple of (Line, int)
        Every line voted on and its support, the winner first.
    points : tuple of (float, float, float, bool)
        Every window's peak near the winner: ``(centre, delay, peak, on the line)``.
    frames : int
        The window length the vote was held with.
    """

    line: Line | None
    support: int
    eligible: int
    lines: tuple
    points: tuple
    frames: int


def coarse_tolerance(factor: int, frames: int, slope: float = MAX_SLOPE) -> float:
    """How far (full-rate samples) a coarse delay may lie from its line: a few coarse samples and half a smear."""
    return 1.5 * factor + 0.5 * abs(slope) * frames


def _spread(count: int, wanted: int) -> list[int]:
    """``wanted`` indices out of ``count``, evenly spread (all of them where fewer)."""
    if count <= wanted:
        return list(range(count))
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, wanted)})


def _candidate_lines(plan: SearchPlan, a_c, b_c, frames: int) -> list[Line]:
    """Lines through the lags a few windows of ``frames`` frames propose over the whole range."""
    d = plan.factor
    starts = plan.starts(frames, d * a_c.shape[0])
    picks = [starts[i] for i in _spread(len(starts), PROBES)]
    frames_c = frames // d
    radius = max(math.ceil(GUARD_SAMPLES / d), math.ceil(MAX_SLOPE * frames_c)) + 1
    found = proposals(plan.ops, a_c, b_c, [s // d for s in picks], frames_c, math.floor(plan.lo / d),
                      math.ceil(plan.hi / d), plan.method, PROPOSALS, radius)
    t, y, group, weight = [], [], [], []
    for k, (start, got) in enumerate(zip(picks, found)):
        if got is not None:
            lags, heights = got
            t += [start + (frames - 1) / 2] * lags.size
            y += (lags * d).tolist()
            group += [k] * lags.size
            weight += heights.tolist()
    if not group:
        return []
    found = consensus_lines(t, y, group, coarse_tolerance(d, frames), MAX_SLOPE, weight, LINES)
    return [c.line for c in found]


def _vote(plan: SearchPlan, a_c, b_c, frames: int, lines: list[Line]):
    """Every window's votes between ``lines``: per line ``(Consensus or None, eligible, points)``."""
    d = plan.factor
    frames_c = frames // d
    lo_c, hi_c = math.floor(plan.lo / d), math.ceil(plan.hi / d)
    half = math.ceil(2 * coarse_tolerance(d, frames) / d) + 4
    points = [[] for _ in lines]
    eligible = [0] * len(lines)
    for k, start in enumerate(plan.starts(frames, d * a_c.shape[0])):
        centre = start + (frames - 1) / 2
        rows, width = [], 1
        for line in lines:
            first, last = window_lags(lo_c, hi_c, line.at(centre) / d, half)
            rows.append(BandRow(0, first, line.slope))
            width = last - first + 1
        try:
            peaks = band_peaks(plan.ops, a_c, b_c[:, None], start // d, frames_c, rows, width, plan.method,
                               "parabolic", GUARD_SAMPLES, smear=1.0, exact_height=True)
        except NoCorrelationPeakError:  # A is silent here
            continue
        heights = [p.peak for p in peaks if p is not None and not p.at_edge]
        for h, p in enumerate(peaks):
            if p is None:
                continue
            eligible[h] += 1
            voted = not p.at_edge and p.peak >= VOTE_RATIO * max(heights)
            points[h].append((k, centre, p.delay * d, p.peak, voted))
    out = []
    for h, line in enumerate(lines):
        votes = [point for point in points[h] if point[4]]
        if len(votes) < 2:
            out.append((None, eligible[h], points[h]))
            continue
        group, t, y, w, _ = (np.array(column) for column in zip(*votes))
        # the line's drift was removed within the windows: their peaks are sharp again
        found = consensus_line(t, y, group, 2.0 * d, MAX_SLOPE, w)
        on_line = set() if found is None else set(group[found.inliers].tolist())
        out.append((found, eligible[h], [(c, y, w, k in on_line) for k, c, y, w, _ in points[h]]))
    return out


def choose_line(plan: SearchPlan, a_c: np.ndarray, b_c: np.ndarray, needed) -> Vote:
    """The line most windows vote for; shorter windows are tried where fewer than ``needed(eligible)`` do.

    Parameters
    ----------
    plan : SearchPlan
    a_c, b_c : numpy.ndarray
        A's reference channel and one channel of B at the coarse rate (1-D host arrays).
    needed : callable
        ``needed(eligible)``: the votes a line needs out of ``eligible`` windows.

    Returns
    -------
    Vote
        The first vote with enough windows on its line, else the vote with
        the windows asked for.
    """
    frames = plan.frames
    first = None
    for _ in range(_SHORTER + 1):
        lines = _candidate_lines(plan, a_c, b_c, frames)
        votes = _vote(plan, a_c, b_c, frames, lines) if lines else []
        ranked = sorted(((c.support, c.weight, h) for h, (c, _, _) in enumerate(votes) if c is not None),
                        reverse=True)
        if ranked:
            winner, eligible, points = votes[ranked[0][2]]
            vote = Vote(winner.line, winner.support, eligible,
                        tuple((votes[h][0].line, votes[h][0].support) for _, _, h in ranked), tuple(points), frames)
        else:
            vote = Vote(None, 0, max((e for _, e, _ in votes), default=0), (), (), frames)
        if vote.line is not None and vote.support >= needed(vote.eligible):
            return vote
        first = first or vote
        if frames // 4 < _MIN_COARSE * plan.factor:
            break
        frames //= 4
    return first
