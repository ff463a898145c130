"""Clock drift on real recurring material: music loops and spoken phrases from Debian's packages
(:mod:`tests.correlation.recurring_material`), B made from A by scipy's polyphase resampler so that the truth is exact.

The case of issue 14: ten minutes at 16 kHz, B starting 0.25 s later on a
recorder 50 ppm slow (``resample_poly(x, 19999, 20000)``), 30 dB SNR,
10 s windows. Whole 10 s stretches recur every 8 s bar and in every later
section of the same loop, so a window's best lag over the whole range is
often a recurrence.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sigconv import correlate, estimate_drift
from sigconv.correlation.drift import UnreliableDriftError

from . import recurring_material

pytestmark = pytest.mark.network

RATE = 16000
BAR = 8 * RATE * 19999 / 20000  # a bar of the programme, in B's samples


@pytest.fixture(scope="module")
def programme():
    reason = recurring_material.fetch()
    if reason:
        pytest.skip(reason)
    return recurring_material.programme(600, RATE)


def test_ten_minutes_of_recurring_loops_and_speech(programme):
    a, b = recurring_material.drifting_pair(programme, RATE, 0.25, 19999, 20000, snr_db=30)
    # hard material: some windows correlate best with another bar than the one they were recorded in
    best = [correlate(a[s : s + 10 * RATE:10], b[::10], RATE / 10, refine="none", keep_function=False)
            .pairs[0].delay_samples * 10 - s for s in range(0, 590 * RATE, 30 * RATE)]
    assert sum(abs(d - 4000) > 1000 for d in best) >= 2
    fit = estimate_drift(a, b, RATE, window=10).pairs[0]
    assert fit.offset_samples == pytest.approx(4000, abs=0.1)  # issue 14 asks for 1 sample
    assert fit.drift_ppm == pytest.approx(-50, abs=0.05)  # and 1 ppm
    assert fit.reliable and fit.windows_used >= 0.95 * len(fit.windows) == 0.95 * 119
    # the lines voted down are the recurrences, whole bars away, each with fewer windows
    rivals = fit.alternatives[1:]
    assert rivals and all(abs((x.offset_samples - fit.offset_samples) / BAR - round((x.offset_samples
                          - fit.offset_samples) / BAR)) < 0.01 for x in rivals)
    assert all(x.windows < 0.9 * fit.alternatives[0].windows for x in rivals)


def test_unrelated_real_material_is_refused(programme):
    """B holds the same loops and phrases, played backwards: the same sounds, no line of delays (exit 7).

    Even with every window counted (--min-confidence 0): the drum hits of a
    loop and of its reversal line up now and then, but not along one line.
    """
    a, b = recurring_material.drifting_pair(programme[: 120 * RATE], RATE, 0.25, 19999, 20000, snr_db=30)
    with pytest.raises(UnreliableDriftError, match="at least") as caught:
        estimate_drift(a, b[::-1].copy(), RATE, window=10, min_confidence=0)
    found = caught.value.result.pairs[0]
    assert not found.reliable and found.windows_used < len(found.windows) / 2


def test_syncing_two_recorders_is_one_pipeline(programme, cli, write_audio, tmp_path):
    """--drift --aligned: B comes back on A's clock; measured again, it lags A by nothing, start to end."""
    a, b = recurring_material.drifting_pair(programme[: 100 * RATE], RATE, 0.25, 19999, 20000, snr_db=30)
    af, bf = write_audio("a.wav", a, RATE, "PCM_24"), write_audio("b.wav", b, RATE, "PCM_24")
    result = cli("correlate", af, bf, "--drift", "--aligned", tmp_path / "b-synced.wav")
    assert result.exit_code == 0, result.stderr
    synced, rate = sf.read(tmp_path / "b-synced.wav")
    assert rate == RATE and synced.shape == a.shape and sf.info(tmp_path / "b-synced.wav").subtype == "PCM_24"
    for start in (RATE, 45 * RATE, 89 * RATE):  # the first, a middle and the last 10 s
        left = correlate(a[start : start + 10 * RATE], synced[start : start + 10 * RATE], RATE, max_lag=0.01)
        assert left.pairs[0].delay_samples == pytest.approx(0, abs=0.05)
    clean = programme[: 100 * RATE]
    error = synced[RATE:-RATE] - clean[RATE:-RATE]
    assert 10 * np.log10(np.mean(error ** 2) / np.mean(clean ** 2)) < -20  # B's own noise is -30 dB
