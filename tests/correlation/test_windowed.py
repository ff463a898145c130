"""sigconv.correlation.windowed: whole-range proposals against numpy's direct correlation, drift-compensated bands
against delays made with scipy's polyphase resampler."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from sigconv.compute.ops import ArrayOps
from sigconv.correlation.windowed import BandRow, band_peaks, decimate, decimation_factor, proposals, top_peaks
from sigconv.testing import StrictOps


def direct(a, b, start, frames, lo, hi):
    """r[d] = sum_n a[start + n] b[start + n + d] for d in lo..hi, by numpy (zeros outside B)."""
    padded = np.concatenate([np.zeros(max(0, -(start + lo))), b, np.zeros(frames + hi)])
    base = max(0, -(start + lo))
    window = a[start : start + frames]
    return np.array([window @ padded[base + start + d : base + start + d + frames] for d in range(lo, hi + 1)])


@pytest.mark.parametrize("ops", [ArrayOps(), StrictOps()], ids=["numpy", "strict"])
def test_proposals_are_the_highest_peaks_of_the_direct_correlation(rng, ops):
    a = rng.standard_normal(6000)
    b = rng.standard_normal(40000)  # B holds A's window 3 times (a recurrence), across chunks of 16384
    for at in (1000, 17000, 30000):
        b[at : at + 1000] += a[2000:3000]
    frames, lo, hi = 1000, -2500, 38000
    found = proposals(ops, a, b, [2000, 0], frames, lo, hi, "cc", 4, radius=20)
    oracle = direct(a, b, 2000, frames, lo, hi)
    lags, heights = found[0]
    assert sorted(np.round(lags).astype(int).tolist()[:3]) == [-1000, 15000, 28000]
    np.testing.assert_allclose(heights, oracle[np.round(lags).astype(int) - lo], rtol=1e-9, atol=1e-9)
    assert heights[0] == pytest.approx(oracle.max())
    # the fourth is the best lag at least 20 lags from the first three
    masked = oracle.copy()
    for lag in np.round(lags[:3]).astype(int):
        masked[max(0, lag - lo - 20) : lag - lo + 21] = -np.inf
    assert heights[3] == pytest.approx(masked.max())
    silent = proposals(ops, np.zeros(6000), b, [0], frames, lo, hi, "cc", 4, 20)
    assert silent == [None]


def test_top_peaks_keep_their_distance():
    values = np.array([0.0, 9, 8.9, 8.8, 0, 0, 5, 0, 0, 7.0])
    assert top_peaks(values, 3, 2)[0].tolist() == [1, 9, 6]
    assert top_peaks(values, 5, 7)[0].tolist() == [1, 9]


@pytest.mark.parametrize("ops", [ArrayOps(), StrictOps()], ids=["numpy", "strict"])
def test_a_band_with_the_drift_removed_finds_the_delay_at_the_window_centre(rng, ops):
    a = rng.standard_normal(80000)
    b = np.concatenate([np.zeros(500), resample_poly(a, 1001, 1000)])  # +1000 ppm: 16 samples over a window
    start, frames = 40000, 16000
    truth = 500 + 1e-3 * (start + (frames - 1) / 2)
    rows = [BandRow(0, 500, 1e-3), BandRow(0, 500, 0.0)]
    compensated, smeared = band_peaks(ops, a, b[:, None], start, frames, rows, 200, "gcc-phat", "bandlimited", 8 + 16)
    assert compensated.delay == pytest.approx(truth, abs=0.05)
    assert compensated.confidence > 5 and compensated.peak > 2 * smeared.peak  # the smear flattens the peak
    assert abs(smeared.delay - truth) < 8 and not compensated.at_edge


def test_decimation_keeps_the_band_and_the_factor_fits_the_target():
    x = np.sin(2 * np.pi * 0.01 * np.arange(20000))[:, None]
    y = decimate(x, 10)
    np.testing.assert_allclose(y[50:-50, 0], x[500:-500:10, 0], atol=1e-3)
    assert decimation_factor(19_200_000, 160_000, 16000.0, 1 << 21) == 10
    assert decimation_factor(19_200_000, 160_000, 4000.0, 1 << 21) == 5  # keeps 800 Hz of band
    assert decimation_factor(19_200_000, 2_000, 1.0, 1 << 21) == 3  # keeps 512 samples a window
