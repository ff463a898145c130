"""STI (IEC 60268-16 indirect method) against closed forms: exponential decays and noise-only channels."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sigconv
from sigconv.impulse.sti import modulation_transfer

F = np.array([0.63, 0.8, 1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0, 10.0, 12.5])
# IEC 60268-16:2020 Table A.1, male: octave weights and redundancy factors, 125 Hz ... 8 kHz
ALPHA = np.array([0.085, 0.127, 0.230, 0.233, 0.309, 0.224, 0.173])
BETA = np.array([0.085, 0.078, 0.065, 0.011, 0.047, 0.095])
RATE = 24000  # the 8 kHz band's upper edge (11.3 kHz) lies below Nyquist


def sti_of(m: np.ndarray) -> float:
    """STI from a (7, 14) MTF, written out from the standard's formulas."""
    snr = np.clip(10 * np.log10(m / (1 - m)), -15, 15)
    mti = ((snr + 15) / 30).mean(axis=1)
    return float(ALPHA @ mti - BETA @ np.sqrt(mti[:-1] * mti[1:]))


def exponential_mtf(t60: float) -> np.ndarray:
    return 1 / np.sqrt(1 + (2 * np.pi * F * t60 / 13.8) ** 2)


def test_mtf_of_an_exponential_energy_decay_is_the_closed_form():
    for t60 in (0.3, 1.0, 2.5):
        t = np.arange(int(4 * t60 * 2000)) / 2000
        h = 10 ** (-3 * t / t60)  # energy falls 60 dB in t60
        np.testing.assert_allclose(modulation_transfer(h, 2000), exponential_mtf(t60), atol=2e-3)


@pytest.mark.parametrize("t60", [0.5, 1.5])
def test_sti_of_a_reverberant_room_matches_the_closed_form(rng, t60):
    t = np.arange(int(2.5 * t60 * RATE)) / RATE
    h = rng.standard_normal(t.size) * 10 ** (-3 * t / t60)
    sti = sigconv.impulse_info(h, RATE, bands=(1000,)).channels[0].sti
    expected = sti_of(np.tile(exponential_mtf(t60), (7, 1)))
    assert sti.sti == pytest.approx(expected, abs=0.02)
    assert list(sti.mti) == ["125", "250", "500", "1000", "2000", "4000", "8000"]


def test_sti_of_noise_only_is_the_snr_formula():
    """A dirac through noise: m = 1 / (1 + 10**(-SNR/10)), so the effective SNR is the SNR itself."""
    h = np.zeros(RATE)
    h[100] = 1.0
    snr = np.array([-20.0, -6.0, 0.0, 3.0, 9.0, 12.0, 20.0])
    sti = sigconv.impulse_info(h, RATE, bands=(1000,), snr_db=tuple(snr)).channels[0].sti
    ti = (np.clip(snr, -15, 15) + 15) / 30
    assert sti.sti == pytest.approx(float(ALPHA @ ti - BETA @ np.sqrt(ti[:-1] * ti[1:])), abs=1e-3)
    flat = sigconv.impulse_info(h, RATE, bands=(1000,), snr_db=(0.0,) * 7).channels[0].sti
    assert flat.sti == pytest.approx(0.5, abs=1e-3)  # 0 dB everywhere: TI 0.5 in every band
    clean = sigconv.impulse_info(h, RATE, bands=(1000,)).channels[0].sti
    assert clean.sti == pytest.approx(1.0, abs=1e-3)


def test_levels_add_masking_and_threshold_which_only_lower_the_sti():
    h = np.zeros(RATE)
    h[100] = 1.0
    speech = (62.9, 62.9, 59.2, 53.2, 47.2, 41.2, 35.2)
    noise = tuple(level - 10 for level in speech)
    with_levels = sigconv.impulse_info(h, RATE, bands=(1000,), speech_levels=speech, noise_levels=noise)
    snr_only = sigconv.impulse_info(h, RATE, bands=(1000,), snr_db=(10.0,) * 7)
    assert snr_only.channels[0].sti.sti - 0.1 < with_levels.channels[0].sti.sti < snr_only.channels[0].sti.sti
    with pytest.raises(sigconv.UsageError, match="together"):
        sigconv.impulse_info(h, RATE, bands=(1000,), speech_levels=speech)


# IEC 60268-16:2011/2020 Annex A: absolute speech reception threshold per octave (dB SPL), and the auditory
# masking slope from the band below as a function of that band's level, as the ITA-Toolbox
# (ita_speech_transmission_index.m) and pyfar's sti write them.
THRESHOLD_DB = [46, 27, 12, 6.5, 7.5, 8, 12]


def masking_slope_db(level):
    if level < 63:
        return 0.5 * level - 65
    if level < 67:
        return 1.8 * level - 146.9
    if level < 100:
        return 0.5 * level - 59.8
    return -10.0


def sti_with_levels(m, speech, noise):
    """STI of a (7, 14) MTF with speech and noise octave levels, band by band as the standard's Annex A states it."""
    m = np.array(m, dtype=float)
    for k in range(7):
        intensity = 10 ** (speech[k] / 10) + 10 ** (noise[k] / 10)
        masking = 0.0
        if k > 0:
            below = 10 ** (speech[k - 1] / 10) + 10 ** (noise[k - 1] / 10)
            masking = below * 10 ** (masking_slope_db(10 * np.log10(below)) / 10)
        snr_factor = 1 / (1 + 10 ** ((noise[k] - speech[k]) / 10))
        m[k] = m[k] * snr_factor * intensity / (intensity + masking + 10 ** (THRESHOLD_DB[k] / 10))
    return sti_of(np.minimum(m, 1.0))


def test_levels_follow_the_annex_a_formulas_in_every_masking_segment():
    from sigconv.impulse.sti import sti_from_mtf

    m = np.tile(exponential_mtf(0.8), (7, 1))
    # bands below the next one at 55, 65, 80 and 105 dB: each segment of the masking slope
    speech = [55.0, 65.0, 80.0, 105.0, 70.0, 50.0, 40.0]
    noise = [40.0, 45.0, 62.0, 60.0, 66.0, 30.0, 35.0]
    assert sti_from_mtf(m, speech_levels=speech, noise_levels=noise)[0] == pytest.approx(
        sti_with_levels(m, speech, noise), abs=1e-9)
    # a perfect channel with speech exactly at the reception threshold and no noise: every m is about 1/2,
    # so every TI about 1/2 and the STI about 0.5 (masking from the band below takes a little more)
    quiet = [-300.0] * 7
    at_threshold = sti_from_mtf(np.ones((7, 14)), speech_levels=THRESHOLD_DB, noise_levels=quiet)[0]
    assert at_threshold == pytest.approx(sti_with_levels(np.ones((7, 14)), THRESHOLD_DB, quiet), abs=1e-9)
    assert 0.45 < at_threshold < 0.5


def test_sti_needs_the_8_khz_band():
    h = np.zeros(16000)
    h[10] = 1.0
    sti = sigconv.impulse_info(h, 16000, bands=(1000,)).channels[0].sti
    assert sti.sti is None and "8 kHz" in sti.reason and "Nyquist" in sti.reason


def test_cli_prints_sti_and_refuses_half_the_levels(cli, tmp_path, rng):
    import soundfile as sf

    t = np.arange(RATE) / RATE
    path = tmp_path / "ir.wav"
    sf.write(path, 0.5 * rng.standard_normal(t.size) * 10 ** (-3 * t / 0.4), RATE, subtype="FLOAT")
    result = cli("impulse", "info", path, "--bands", "1000", "--json")
    assert result.exit_code == 0, result.stderr
    sti = json.loads(result.stdout)["channels"][0]["STI"]
    assert sti["STI"] == pytest.approx(sti_of(np.tile(exponential_mtf(0.4), (7, 1))), abs=0.03)
    dirac = tmp_path / "dirac.wav"
    sf.write(dirac, np.eye(1, RATE, 100)[0], RATE, subtype="FLOAT")
    text = cli("impulse", "info", dirac, "--bands", "1000", "--snr", "0,0,0,0,0,0,0").stdout
    assert "  STI 0.50 (male, IEC 60268-16:2020, with the given SNR); MTI 125 0.50" in text
    result = cli("impulse", "info", path, "--noise-levels", "40,40,40,40,40,40,40")
    assert result.exit_code == 2 and "together" in result.stderr
    result = cli("impulse", "info", path, "--snr", "1,2")
    assert result.exit_code == 2 and "7 finite levels" in result.stderr
