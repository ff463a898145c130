"""``wiener --noise`` on recorded speech and music through a recorded street IR, and the SNR it reports.

The oracle for "as good as the best guess" is ``--snr`` itself, tried at
the levels around the true one; recovered SNR is measured against the dry
recording. Noise is white, pink (1/f) or low-pass (4th-order Butterworth at
2 kHz), a separate second of the same noise goes to ``noise=``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import sigconv
from sigconv.deconvolution.wiener import NoiseSpectra, Welch

from .material import load, recorded  # noqa: F401  (fixture)

RATE = 48000


def snr_db(estimate, truth):
    return 10 * np.log10(np.sum(np.square(truth)) / np.sum(np.square(estimate - truth)))


def coloured_noise(kind, frames, rng):
    w = rng.standard_normal(frames + 4800)
    if kind == "lowpass":
        b, a = scipy.signal.butter(4, 2000 / (RATE / 2))
        w = scipy.signal.lfilter(b, a, w)
    elif kind == "pink":
        spectrum = np.fft.rfft(w)
        freqs = np.fft.rfftfreq(w.size)
        spectrum[1:] /= np.sqrt(freqs[1:])
        spectrum[0] = 0
        w = np.fft.irfft(spectrum, w.size)
    return w[4800:]  # past the filter's start-up


def noisy_recording(x, h, kind, level_db, seed):
    """``x ⊗ h`` plus noise at ``level_db`` below it, and a second of the same noise alone."""
    rng = np.random.default_rng(seed)
    clean = scipy.signal.fftconvolve(x, h)
    w = coloured_noise(kind, clean.size + RATE, rng)
    gain = np.sqrt(np.mean(clean**2) / np.mean(w[: clean.size] ** 2) / 10 ** (level_db / 10))
    return clean + gain * w[: clean.size], gain * w[clean.size :]


def best_guess(y, h, x, level_db):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the best guess was never above the true level in the grid (nor at 10 dB above it)
        return max(snr_db(sigconv.deconvolve(y, h, snr_db=s), x) for s in (level_db - 20, level_db - 10, level_db))


def measured(y, h, noise):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sigconv.deconvolve(y, h, noise=noise)


@pytest.mark.parametrize("level_db", [0, 10, 20])
@pytest.mark.parametrize("kind", ["white", "pink", "lowpass"])
def test_noise_sample_beats_every_snr_guess_on_recorded_speech(recorded, kind, level_db):
    x = load("Front_Left.wav")[:, 0]
    h = load("street2-L.wav")[:, 0]
    y, noise = noisy_recording(x, h, kind, level_db, seed=level_db + len(kind))
    assert snr_db(measured(y, h, noise), x) >= best_guess(y, h, x, level_db)


@pytest.mark.parametrize("kind", ["white", "pink", "lowpass"])
def test_noise_sample_beats_every_snr_guess_on_recorded_music(recorded, kind):
    x = load("loop_garzul.flac")[: 2 * RATE, 0]
    h = load("street2-R.wav")[:, 0]
    y, noise = noisy_recording(x, h, kind, 10, seed=len(kind))
    assert snr_db(measured(y, h, noise), x) >= best_guess(y, h, x, 10)


def _spectra(noise, recording, segment=4096):
    welches = []
    for data in (noise, recording):
        welch = Welch(segment, 1)
        welch.add(data[:, None])
        welches.append(welch)
    return NoiseSpectra.from_welch(*welches)


@pytest.mark.parametrize("seed", range(4))
def test_a_recording_of_noise_alone_is_given_up_everywhere(seed):
    """The cause of issue 15: estimation noise in S_y - S_n read as signal. Pure noise must show no signal."""
    rng = np.random.default_rng(seed)
    b, a = scipy.signal.butter(4, 0.08)
    noise = scipy.signal.lfilter(b, a, rng.standard_normal(6 * RATE))
    _, clean = _spectra(noise[:RATE], noise[RATE:]).smoothed()
    assert not clean.any()


def test_band_snr_matches_the_true_band_snr(rng):
    """Signal and low-pass noise of known spectra through a unit kernel: the report against scipy's Welch."""
    clean = scipy.signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(20 * RATE))  # a falling spectrum
    b, a = scipy.signal.butter(4, 2000 / (RATE / 2))
    noise = 0.05 * scipy.signal.lfilter(b, a, rng.standard_normal(22 * RATE))
    rows = _spectra(noise[: 2 * RATE], clean + noise[2 * RATE :]).band_snr(RATE)
    freqs, signal_psd = scipy.signal.welch(clean, RATE, nperseg=4096)
    _, noise_psd = scipy.signal.welch(noise, RATE, nperseg=4096)
    assert [row["centre_hz"] for row in rows] == [31.25 * 2**k for k in range(len(rows))]
    for row in rows:
        inside = (freqs >= row["centre_hz"] / np.sqrt(2)) & (freqs < row["centre_hz"] * np.sqrt(2))
        truth = 10 * np.log10(signal_psd[inside].sum() / noise_psd[inside].sum())
        (value,) = row["snr_db"]
        if truth < 30:  # above that the noise sample's floor (100 dB range) and over-subtraction do not matter
            assert value == pytest.approx(truth, abs=1.0), row


def test_cli_prints_the_band_snr_it_assumed(cli, recorded, tmp_path):
    x = load("Front_Left.wav")[:, 0]
    h = load("street2-L.wav")[:, 0]
    y, noise = noisy_recording(x, h, "lowpass", 20, seed=3)
    for name, data in (("y.wav", y), ("n.wav", noise), ("h.wav", h)):
        sf.write(tmp_path / name, data, RATE, subtype="DOUBLE")
    paths = [str(tmp_path / n) for n in ("y.wav", "h.wav")]
    result = cli("deconvolve", *paths, "--noise", tmp_path / "n.wav", "-o", "-", "--json", "-v", "-q")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stderr[result.stderr.index("{"):])  # JSON on stderr, as the audio is on stdout
    assert report["method"] == "wiener" and report["snr_db"] is None
    bands = {row["centre_hz"]: row["snr_db"][0] for row in report["band_snr"]}
    assert 15 < bands[500.0] < 35 and bands[8000.0] > bands[2000.0]  # the noise is low-pass: less of it at 8 kHz
    assert "recording SNR per octave band" in result.stderr and "  500 Hz" in result.stderr
    flat = cli("deconvolve", *paths, "--snr", "25", "-o", str(tmp_path / "x.wav"), "--json", "-q")
    assert json.loads(flat.stdout)["snr_db"] == 25.0 and json.loads(flat.stdout)["band_snr"] is None
