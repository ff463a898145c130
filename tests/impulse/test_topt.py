"""Topt (the decay time over the straightest stretch of the EDC) against analytic decays and a brute-force search."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sigconv
from sigconv.impulse.acoustics import decay_time
from sigconv.impulse.topt import optimal_decay_time

RATE = 2000


def piecewise_edc(knee_db: float, early_t: float, late_t: float, seconds: float = 5.0) -> np.ndarray:
    """An EDC in dB that falls 60 dB per `early_t` seconds down to `knee_db`, then 60 dB per `late_t`."""
    t = np.arange(int(seconds * RATE)) / RATE
    knee = -knee_db * early_t / 60
    return np.where(t < knee, -60 * t / early_t, knee_db - 60 * (t - knee) / late_t)


def brute_force(edc: np.ndarray, rate: float, floor: float):
    """The same search written the slow, plain way: every whole-dB range from starts -5..-25 dB, 20 dB or more,
    ending above `floor` (and -65 dB); np.polyfit and np.corrcoef; the lowest 1000 (1 - r^2), the longest on ties."""
    best = None
    for top in range(-5, -26, -1):
        for bottom in range(top - 20, max(int(np.ceil(floor)), -65) - 1, -1):
            first, last = int(np.argmax(edc <= top)), int(np.argmax(edc <= bottom))
            t, y = np.arange(first, last + 1) / rate, edc[first:last + 1]
            xi = 1000 * (1 - np.corrcoef(t, y)[0, 1] ** 2)
            if best is None or xi < best[0] - 1e-9 or (abs(xi - best[0]) <= 1e-9 and bottom < best[2]):
                best = (xi, top, bottom, -60 / np.polyfit(t, y, 1)[0])
    return best


def test_a_single_slope_decay_gives_topt_equal_to_its_decay_time():
    for seconds in (0.4, 1.0, 2.5):
        edc = piecewise_edc(-200, seconds, seconds, seconds * 1.5)
        fit, (top, bottom) = optimal_decay_time(edc, RATE)
        assert fit.seconds == pytest.approx(seconds, rel=1e-9)
        assert (top, bottom) == (-5, -65) and fit.flags == ()  # straight all the way: the widest range


def test_a_double_slope_decay_gives_the_straight_part_and_matches_a_brute_force_search():
    # 0.3 s down to -17 dB (early reflections), then a 1.8 s decay: ISO's T30 range straddles the knee
    edc = piecewise_edc(-17, 0.3, 1.8)
    fit, (top, bottom) = optimal_decay_time(edc, RATE)
    assert fit.seconds == pytest.approx(1.8, rel=1e-6) and top <= -17
    _, oracle_top, oracle_bottom, oracle_seconds = brute_force(edc, RATE, floor=-200)
    assert (top, bottom) == (oracle_top, oracle_bottom)
    assert fit.seconds == pytest.approx(oracle_seconds, rel=1e-9)
    t30 = decay_time(edc, RATE, "T30")
    assert t30.seconds < 1.6 and t30.xi > 10 > fit.xi  # the fixed range mixes both slopes


def test_a_curved_decay_and_the_noise_margin_set_the_search_floor():
    # a smoothly curved decay: no straight stretch, the oracle's choice under the same floor
    t = np.arange(4 * RATE) / RATE
    edc = 10 * np.log10(0.8 * 10 ** (-6 * t / 0.5) + 0.2 * 10 ** (-6 * t / 2.5))
    fit, (top, bottom) = optimal_decay_time(edc, RATE, range_db=55.0)
    _, oracle_top, oracle_bottom, oracle_seconds = brute_force(edc, RATE, floor=-45.0)
    assert (top, bottom) == (oracle_top, oracle_bottom) and bottom >= -45
    assert fit.seconds == pytest.approx(oracle_seconds, rel=1e-9)
    short, limits = optimal_decay_time(edc, RATE, range_db=30.0)
    assert short.seconds is None and limits is None and "Topt needs 20 dB" in short.reason


def test_impulse_info_reports_topt_per_band_with_its_range(rng):
    rate = 16000
    t = np.arange(3 * rate) / rate
    # a room whose early energy falls fast (0.4 s) over a weaker, slower tail (2 s)
    h = rng.standard_normal(t.size) * (10 ** (-3 * t / 0.4) + 0.05 * 10 ** (-3 * t / 2.0))
    info = sigconv.impulse_info(h, rate, bands=(1000,), broadband="Z")
    band = info.channels[0].bands["broadband"]
    assert band.values["Topt"] == pytest.approx(2.0, rel=0.05) and band.values["T30"] < 1.2
    top, bottom = band.topt_range_db
    assert top <= -15 and top - bottom >= 20
    edc = band.edc_db
    assert band.fits["Topt"].start == int(np.argmax(edc <= top)) / rate
    document = json.loads(json.dumps(info.as_dict()))["channels"][0]["bands"]["broadband"]
    assert document["Topt"] == round(band.values["Topt"], 4) and document["topt_range_db"] == [top, bottom]
    assert document["fit_ranges_s"]["Topt"][0] == pytest.approx(band.fits["Topt"].start, abs=1e-6)
    assert f"broadband {top:g}:{bottom:g}" in info.as_text()


def test_topt_of_a_straight_decay_is_its_t30(rng):
    rate = 16000
    t = np.arange(2 * rate) / rate
    h = rng.standard_normal(t.size) * 10 ** (-3 * t / 0.6)
    band = sigconv.impulse_info(h, rate, bands=(1000,), broadband="Z").channels[0].bands["broadband"]
    assert band.values["Topt"] == pytest.approx(band.values["T30"], rel=0.03)
    assert band.values["Topt"] == pytest.approx(0.6, rel=0.03) and "Topt" not in band.flags
