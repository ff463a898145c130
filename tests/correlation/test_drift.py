"""sigconv.correlation.drift: a recording resampled by a known ratio (scipy's polyphase resampler) drifts by a known ppm."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from sigconv import BackendUnavailableError, NoReliableDelayError, UsageError, estimate_drift

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
