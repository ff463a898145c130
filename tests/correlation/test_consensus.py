"""sigconv.correlation.consensus: the line most windows agree on, against lines drawn by hand and numpy's polyfit."""

from __future__ import annotations

import numpy as np
import pytest

from sigconv.correlation.consensus import consensus_line, consensus_lines


def proposals(rng, windows=40, intercept=4000.0, slope=-5e-5, rivals=3, recurrence=128000.0, scatter=0.05,
              truth_kept=0.7):
    """Each window: the truth (kept in ``truth_kept`` of them) and ``rivals`` recurrences of it.

    The recurrences lie ``recurrence`` apart (as a loop's repeats do) and
    are shared by runs of neighbouring windows, so they form lines too,
    each with fewer windows than the truth.
    """
    t, y, group = [], [], []
    for k in range(windows):
        centre = 80000.0 * (k + 1)
        truth = intercept + slope * centre
        if rng.random() < truth_kept:
            t.append(centre), y.append(truth + scatter * rng.standard_normal()), group.append(k)
        for _ in range(rivals):
            shift = recurrence * rng.integers(-3, 4) if rng.random() < 0.6 else rng.uniform(-1e6, 1e6)
            if shift:
                t.append(centre), y.append(truth + shift + scatter * rng.standard_normal()), group.append(k)
    return np.array(t), np.array(y), np.array(group)


def test_the_line_most_windows_agree_on_beats_its_recurrences(rng):
    t, y, group = proposals(rng)
    found = consensus_line(t, y, group, tolerance=1.0, max_slope=2e-3)
    assert found.line.intercept == pytest.approx(4000, abs=0.1)
    assert found.line.slope == pytest.approx(-5e-5, abs=1e-8)
    truth = np.abs(y - (4000 - 5e-5 * t)) < 0.5
    assert found.support == truth.sum() and np.array_equal(found.inliers, truth)
    slope, intercept = np.polyfit(t[truth], y[truth], 1)  # the refit is least squares through the inliers
    assert (found.line.slope, found.line.intercept) == pytest.approx((slope, intercept), rel=1e-9)
    assert found.rms == pytest.approx(np.sqrt(np.mean((y[truth] - intercept - slope * t[truth]) ** 2)))


def test_distinct_lines_come_best_first_and_each_window_counts_once(rng):
    t, y, group = proposals(rng, rivals=0, truth_kept=1.0)
    t = np.concatenate([t, t[:25], t[:25]])  # a recurrence in 25 windows, proposed twice by each
    y = np.concatenate([y, y[:25] + 128000, y[:25] + 128000.2])
    group = np.concatenate([group, group[:25], group[:25]])
    lines = consensus_lines(t, y, group, tolerance=1.0, max_slope=2e-3, count=3)
    assert [round(c.line.intercept) for c in lines] == [4000, 132000]
    assert [c.support for c in lines] == [40, 25]


def test_a_steep_line_is_not_tried_and_a_lone_window_gives_none():
    t = np.array([0.0, 1.0, 2.0])
    assert consensus_line(t, [0.0, 10.0, 20.0], [0, 1, 2], tolerance=0.5, max_slope=1.0) is None
    assert consensus_line(t, [0.0, 10.0, 20.0], [0, 1, 2], tolerance=0.5, max_slope=20.0).support == 3
    assert consensus_line(t, [0.0, 1.0, 2.0], [0, 0, 0], tolerance=0.5) is None


def test_weights_decide_between_lines_of_equal_support():
    t = np.repeat(np.arange(4.0), 2)
    y = np.array([0, 50, 1, 51, 2, 52, 3, 53.0])
    weight = np.tile([1.0, 2.0], 4)
    assert consensus_line(t, y, np.repeat(np.arange(4), 2), 0.1, 10, weight).line.intercept == pytest.approx(50)
