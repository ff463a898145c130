"""STI with a background-noise recording: octave levels of tones of known level, and the CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

import sigconv
from sigconv.impulse.noise import octave_noise_levels

RATE = 24000
RMS_DBFS = np.array([-30.0, -34.0, -38.0, -42.0, -46.0, -50.0, -54.0])  # a falling noise spectrum
SPEECH = "63,63,59,53,47,41,35"


def tones(seconds: float = 2.0, channels: int = 1) -> np.ndarray:
    """One tone per octave at its centre (1000 * 2**k Hz), of RMS level RMS_DBFS."""
    t = np.arange(int(seconds * RATE)) / RATE
    centres = 1000 * 2.0 ** np.arange(-3, 4)
    x = sum(10 ** (level / 20) * np.sqrt(2) * np.sin(2 * np.pi * f * t + f) for f, level in zip(centres, RMS_DBFS))
    return np.tile(x[:, None], (1, channels))


def test_octave_levels_of_tones_are_their_rms_levels_plus_the_calibration():
    levels = octave_noise_levels(tones(channels=2), RATE, calibration_db=110.0)
    assert levels.shape == (2, 7)
    # each band holds its own tone; the neighbours, an octave away, add < 0.2 dB through class 1 filters
    np.testing.assert_allclose(levels, np.tile(RMS_DBFS + 110.0, (2, 1)), atol=0.2)


def test_octave_levels_refuse_a_short_or_low_rate_recording():
    with pytest.raises(sigconv.UsageError, match="at least 1 s"):
        octave_noise_levels(tones(0.5), RATE)
    with pytest.raises(sigconv.UsageError, match="8 kHz"):
        octave_noise_levels(np.ones((3 * 16000, 1)), 16000)


@pytest.fixture
def files(tmp_path, rng):
    t = np.arange(RATE) / RATE
    ir = tmp_path / "ir.wav"
    sf.write(ir, 0.5 * rng.standard_normal(t.size) * 10 ** (-3 * t / 0.4), RATE, subtype="FLOAT")
    noise = tmp_path / "noise.wav"
    sf.write(noise, tones(), RATE, subtype="FLOAT")
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, tones(channels=2), RATE, subtype="FLOAT")
    return ir, noise, stereo


def test_a_noise_file_gives_the_sti_of_its_octave_levels(cli, files):
    ir, noise, _ = files
    calibration = 100.0
    result = cli("impulse", "info", ir, "--bands", "1000", "--json", "--speech-levels", SPEECH,
                 "--noise-file", noise, "--calibration", str(calibration))
    assert result.exit_code == 0, result.stderr
    from_file = json.loads(result.stdout)["channels"][0]["STI"]
    expected = ",".join(f"{v:g}" for v in RMS_DBFS + calibration)
    from_levels = json.loads(cli("impulse", "info", ir, "--bands", "1000", "--json", "--speech-levels", SPEECH,
                                 "--noise-levels", expected).stdout)["channels"][0]["STI"]
    assert from_file["STI"] == pytest.approx(from_levels["STI"], abs=0.005)
    np.testing.assert_allclose(from_file["noise_levels_db"], RMS_DBFS + calibration, atol=0.2)
    quiet = json.loads(cli("impulse", "info", ir, "--bands", "1000", "--json").stdout)["channels"][0]["STI"]
    assert from_file["STI"] < quiet["STI"] - 0.05  # noise 20 to 30 dB under the speech costs intelligibility


def test_noise_file_refusals(cli, files):
    ir, noise, stereo = files
    base = ("impulse", "info", ir, "--bands", "1000")
    result = cli(*base, "--speech-levels", SPEECH, "--noise-file", noise)
    assert result.exit_code == 2 and "--calibration" in result.stderr
    result = cli(*base, "--noise-file", noise, "--calibration", "100")
    assert result.exit_code == 2 and "--speech-levels" in result.stderr
    result = cli(*base, "--speech-levels", SPEECH, "--noise-file", noise, "--calibration", "100",
                 "--noise-levels", "40,40,40,40,40,40,40")
    assert result.exit_code == 2 and "not two of them" in result.stderr
    result = cli(*base, "--calibration", "100")
    assert result.exit_code == 2 and "--noise-file" in result.stderr
    result = cli(*base, "--speech-levels", SPEECH, "--noise-file", stereo, "--calibration", "100")
    assert result.exit_code != 0 and "2 channels and the impulse response 1" in result.stderr
