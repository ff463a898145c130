"""sigconv.correlation.drift: a recording resampled by a known ratio (scipy's polyphase resampler) drifts by a known
ppm; recurring material, strong drift and unrelated signals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import resample_poly

from sigconv import BackendUnavailableError, NoReliableDelayError, UsageError, correlate, estimate_drift
from sigconv.correlation.drift import UnreliableDriftError

RATE = 8000


def drifting_pair(rng, seconds, offset, up, down, snr_db=30):
    """A and B = A resampled by up/down (B's clock runs fast by up/down - 1) after ``offset`` samples of noise."""
    a = rng.standard_normal(int(seconds * RATE))
    b = np.concatenate([rng.standard_normal(offset), resample_poly(a, up, down)])
    noise = 10 ** (-snr_db / 20)
    return a + noise * rng.standard_normal(a.size), b + noise * rng.standard_normal(b.size)


@pytest.mark.parametrize("up, down, ppm", [(10001, 10000, 100.0), (9999, 10000, -100.0), (1, 1, 0.0)])
def test_offset_and_drift(rng, up, down, ppm):
    a, b = drifting_pair(rng, 40, 800, up, down)
    result = estimate_drift(a, b, RATE, window=2.0)
    fit = result.pairs[0]
    assert fit.drift_ppm == pytest.approx(ppm, abs=0.5)
    assert fit.offset_samples == pytest.approx(800, abs=0.2)
    assert fit.offset_seconds == pytest.approx(0.1, abs=0.2 / RATE)
    assert fit.windows_used >= len(fit.windows) - 2 and len(fit.windows) == 39
    # each window's delay lies on the line: offset + drift * (centre time)
    used = [w for w in fit.windows if w.used]
    for w in used:
        assert w.delay_samples == pytest.approx(800 + ppm * 1e-6 * RATE * w.time, abs=0.2)
    document = result.as_dict()
    assert document["drift"] is True and document["pairs"][0]["windows"][0].keys() >= {
        "time_seconds", "delay_samples", "delay_seconds", "peak", "confidence", "used"}


def test_a_given_search_window_is_used(rng):
    a, b = drifting_pair(rng, 20, 400, 10002, 10000)  # +200 ppm
    result = estimate_drift(a, b, RATE, window=2.0, lag_range=(0.0, 0.1))
    assert (result.lo, result.hi) == (0, 800)
    assert result.pairs[0].drift_ppm == pytest.approx(200, abs=1)


def test_wrong_windows_are_left_out(rng):
    a, b = drifting_pair(rng, 40, 800, 10001, 10000)
    b[int(12 * RATE) : int(20 * RATE)] = rng.standard_normal(int(8 * RATE))  # 8 s of B replaced by other noise
    fit = estimate_drift(a, b, RATE, window=4.0).pairs[0]
    assert fit.drift_ppm == pytest.approx(100, abs=0.5)
    assert fit.windows_used < len(fit.windows)


def test_errors(rng):
    a = rng.standard_normal(4000)
    with pytest.raises(UsageError, match="--window"):
        estimate_drift(a, a, RATE, window=1.0)  # 0.5 s of A cannot hold two 1 s windows
    with pytest.raises(NoReliableDelayError, match="windows"):
        estimate_drift(rng.standard_normal(40000), rng.standard_normal(40000), RATE, window=1.0, max_lag=0.1)



@pytest.mark.parametrize("method, lag_range", [("gcc-phat", None), ("scot", (0.0, 0.2)), ("cc", (0.0, 0.2))])
def test_strict_backend_gives_the_default_fit(rng, strict, method, lag_range):
    """Coarse search, windows and drift compensation on arrays that refuse implicit host transfers."""
    a, b = drifting_pair(rng, 16, 800, 10002, 10000)  # +200 ppm: the second pass compensates within windows
    options = {"window": 2.0, "method": method, "lag_range": lag_range}
    result = estimate_drift(a, b, RATE, backend=strict, **options)
    reference = estimate_drift(a, b, RATE, **options)
    assert (result.lo, result.hi) == (reference.lo, reference.hi)
    fit, expected = result.pairs[0], reference.pairs[0]
    assert fit.offset_samples == pytest.approx(expected.offset_samples, abs=1e-6)
    assert fit.drift_ppm == pytest.approx(expected.drift_ppm, abs=1e-6)
    np.testing.assert_allclose([w.delay_samples for w in fit.windows], [w.delay_samples for w in expected.windows],
                               rtol=0, atol=1e-6)
    assert [w.used for w in fit.windows] == [w.used for w in expected.windows]
    assert fit.offset_samples == pytest.approx(800, abs=0.3) and fit.drift_ppm == pytest.approx(200, abs=1)


def test_a_backend_that_does_not_correlate_is_refused(rng):
    a, b = drifting_pair(rng, 4, 10, 1, 1)
    with pytest.raises(BackendUnavailableError, match=r"'direct' does not run correlate"):
        estimate_drift(a, b, RATE, window=1.0, backend="direct")


@pytest.mark.parametrize("window", [float("inf"), float("nan")])
def test_a_non_finite_window_is_refused(window):
    a = np.random.default_rng(0).standard_normal(4000)
    with pytest.raises(UsageError, match="--window must be a"):
        estimate_drift(a, a, 100.0, window=window)


def recurring_pair(rng, seconds=90, ppm_ratio=(19999, 20000), delay=0.25, snr_db=30):
    """A programme of 2 s "bars" of three noise patterns repeated in sections (and some unique noise), and B:
    the programme on a clock ``up / down`` as fast, ``delay`` s later. Most windows recur elsewhere."""
    bar = 2 * RATE
    patterns = [rng.standard_normal(bar) for _ in range(3)]
    parts = []
    while sum(p.size for p in parts) < seconds * RATE:
        kind = rng.integers(4)
        bars = int(rng.integers(2, 6))
        parts.append(np.tile(patterns[kind], bars) if kind < 3 else rng.standard_normal(bars * bar))
    programme = np.concatenate(parts)[: seconds * RATE]
    b = np.concatenate([rng.standard_normal(int(delay * RATE)), resample_poly(programme, *ppm_ratio)])
    noise = 10 ** (-snr_db / 20)
    return programme + noise * rng.standard_normal(programme.size), b + noise * rng.standard_normal(b.size)


def test_recurring_material_gives_the_line_most_windows_agree_on(rng):
    a, b = recurring_pair(rng)
    # the material recurs: a window's best lag over the whole range is often a recurrence
    best = [correlate(a[s : s + 2 * RATE], b, RATE, refine="none", keep_function=False).pairs[0].delay_samples - s
            for s in range(0, 88 * RATE, 8 * RATE)]
    assert sum(abs(d - 2000) > 100 for d in best) >= 3
    result = estimate_drift(a, b, RATE, window=2.0)
    fit = result.pairs[0]
    assert fit.offset_samples == pytest.approx(2000, abs=0.1) and fit.drift_ppm == pytest.approx(-50, abs=0.1)
    assert fit.reliable and fit.problem is None and fit.residual_samples < 0.1
    assert len(fit.alternatives) > 1 and fit.alternatives[0].windows > max(x.windows for x in fit.alternatives[1:])
    assert fit.windows_used >= 0.9 * len(fit.windows)


def test_a_strong_drift_smears_no_window_out(rng):
    """1000 ppm smears a 4 s window's peak over 32 samples: the smear is one peak, and the drift is removed."""
    a, b = drifting_pair(rng, 40, 1234, 1001, 1000)
    fit = estimate_drift(a, b, RATE, window=4.0).pairs[0]
    assert fit.drift_ppm == pytest.approx(1000, abs=0.05) and fit.offset_samples == pytest.approx(1234, abs=0.05)
    assert fit.windows_used == len(fit.windows) and min(w.confidence for w in fit.windows) > 10


@pytest.mark.parametrize("min_confidence", [1.5, 0.0])
def test_an_unrelated_b_is_refused_with_what_was_found(rng, min_confidence):
    a = rng.standard_normal(40 * RATE)
    b = rng.standard_normal(40 * RATE)
    with pytest.raises(UnreliableDriftError, match=r"no reliable drift found .* windows of 2 s") as caught:
        estimate_drift(a, b, RATE, window=2.0, min_confidence=min_confidence)
    assert isinstance(caught.value, NoReliableDelayError) and caught.value.exit_code == 7
    found = caught.value.result.pairs[0]
    assert not found.reliable and "at least" in found.problem and found.windows_used < 0.25 * len(found.windows)
    assert caught.value.result.as_dict()["reliable"] is False


def test_windows_that_scatter_from_the_line_are_refused(rng):
    """Every window finds its delay, but B's clock wanders (+-3 samples): no straight line within 1.5 RMS."""
    a = rng.standard_normal(40 * RATE)
    pieces, at = [], 0
    for k in range(20):  # 2 s pieces of A, each shifted by a wandering whole number of samples
        shift = int(round(3 * np.sin(k)))
        pieces.append(a[max(0, at - shift) : at - shift + 2 * RATE])
        at += 2 * RATE
    b = np.concatenate([np.zeros(400), *pieces])
    with pytest.raises(UnreliableDriftError) as caught:
        estimate_drift(a, b, RATE, window=1.0, max_lag=0.2)
    assert "RMS" in str(caught.value) or "agree" in str(caught.value)


def test_the_cli_exits_7_and_prints_what_was_found(cli, write_audio, rng):
    af = write_audio("a.wav", rng.standard_normal(20 * RATE) * 0.1, RATE)
    bf = write_audio("b.wav", rng.standard_normal(20 * RATE) * 0.1, RATE)
    result = cli("correlate", af, bf, "--drift", "--window", "2", "--json")
    assert result.exit_code == 7
    document = json.loads(result.stdout)
    assert document["reliable"] is False and document["pairs"][0]["reliable"] is False
    assert "windows of 2 s" in document["error"] and "windows of 2 s" in result.stderr
    plain = cli("correlate", af, bf, "--drift", "--window", "2")
    assert plain.exit_code == 7 and plain.stdout == "" and "no reliable drift" in plain.stderr


def test_two_windows_cannot_check_a_line(rng):
    """A line through two windows always fits: at least three must agree, and the advice is shorter windows."""
    a = rng.standard_normal(15 * RATE)
    b = np.concatenate([np.zeros(80), a])
    with pytest.raises(UnreliableDriftError, match=r"only 2 of 2 windows .* Use shorter windows"):
        estimate_drift(a, b, RATE, window=10.0)
    assert estimate_drift(a, b, RATE, window=4.0).pairs[0].offset_samples == pytest.approx(80, abs=0.05)
