"""Pairing and level draws: every mode, reproducible by seed, independent of order."""

from __future__ import annotations

import numpy as np
import pytest

from sigconv.batch.pairing import Range, draw, pair_up
from sigconv.errors import UsageError

INPUTS = [f"clips/c{i:03d}.wav" for i in range(200)]
IRS = [f"irs/r{j}.wav" for j in range(7)]


def test_all_pairs_every_input_with_every_ir():
    pairs = pair_up(INPUTS[:5], IRS, "all")
    assert len(pairs) == 5 * len(IRS) and len(set(pairs)) == len(pairs)
    assert set(pairs) == {(x, h) for x in INPUTS[:5] for h in IRS}


def test_zip_pairs_in_order_and_needs_equal_lengths():
    assert pair_up(INPUTS[:7], IRS, "zip") == list(zip(INPUTS[:7], IRS))
    with pytest.raises(UsageError, match="as many IRs as inputs"):
        pair_up(INPUTS[:3], IRS, "zip")


def test_random_pairing_is_reproducible_uses_every_ir_and_ignores_order():
    first = pair_up(INPUTS, IRS, "random", seed=5)
    assert first == pair_up(INPUTS, IRS, "random", seed=5)
    assert [x for x, _ in first] == INPUTS  # each input exactly once
    counts = np.array([sum(h == ir for _, h in first) for ir in IRS])
    # 200 draws over 7 IRs: each is chosen, none dominates (a uniform choice; binomial sd ~5.3 about 28.6)
    assert counts.min() > 5 and counts.max() < 60
    other = pair_up(INPUTS, IRS, "random", seed=6)
    assert sum(a != b for a, b in zip(first, other)) > 100  # another seed, other draws
    shuffled = list(reversed(INPUTS))
    assert dict(pair_up(shuffled, IRS, "random", seed=5)) == dict(first)
    assert dict(pair_up(INPUTS[:50], IRS, "random", seed=5)) == dict(first[:50])  # adding inputs keeps draws


def test_level_draws_are_uniform_in_range_and_reproducible():
    level = Range.parse("0.3:1.0")
    values = np.array([draw(level, 11, "wet", x, "irs/r0.wav") for x in INPUTS])
    assert values.min() >= 0.3 and values.max() <= 1.0
    assert abs(values.mean() - 0.65) < 0.05 and values.std() > 0.15  # uniform on [0.3, 1): mean 0.65, sd 0.20
    again = np.array([draw(level, 11, "wet", x, "irs/r0.wav") for x in INPUTS])
    np.testing.assert_array_equal(values, again)
    wet_and_dry = [draw(level, 11, "dry", x, "irs/r0.wav") for x in INPUTS]
    assert not np.allclose(values, wet_and_dry)  # wet and dry are drawn apart
    assert draw(Range.parse("0.5"), 11, "wet", INPUTS[0], IRS[0]) == 0.5


@pytest.mark.parametrize("text", ["", "a:b", "1:2:3", "1.0:0.5", "nan", "0:inf"])
def test_bad_ranges_are_refused(text):
    with pytest.raises(UsageError):
        Range.parse(text)


def test_unknown_pairing_is_refused():
    with pytest.raises(UsageError, match="--pairs"):
        pair_up(INPUTS, IRS, "cartesian")
