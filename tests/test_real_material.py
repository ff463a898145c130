"""Real recordings, not only synthetic arrays.

Debian ships recorded impulse responses with guitarix (a concert hall and
amplifier cabinets, GPL-2+) and recorded speech with alsa-utils (GPL-2+).
They are fetched with ``apt-get download`` into a cache on first use, not
committed; where that is impossible the tests skip and say why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from .conftest import run_sigconv
from .debian import fetch_files

pytestmark = pytest.mark.network

CACHE = Path(os.environ.get("SIGCONV_TEST_DATA", Path.home() / ".cache" / "sigconv-test-data"))
WANTED = {
    "greathall.wav": ("guitarix-common", "usr/share/gx_head/sounds/greathall.wav"),
    "cabinet.wav": ("guitarix-common", "usr/share/gx_head/sounds/amps/Marshall MG 15.wav"),
    "speech.wav": ("alsa-utils", "usr/share/sounds/alsa/Front_Center.wav"),
}


def _fetch() -> str | None:
    """Fill the cache; return None on success or the reason it failed."""
    return fetch_files(CACHE, WANTED, (
        "greathall.wav, cabinet.wav: Debian package guitarix-common (GPL-2+)\n"
        "speech.wav: Debian package alsa-utils, /usr/share/sounds/alsa/Front_Center.wav (GPL-2+)\n"
    ), timeout=300)


@pytest.fixture(scope="module")
def material():
    reason = _fetch()
    if reason:
        pytest.skip(reason)
    return {name: str(CACHE / name) for name in WANTED}


def oracle(x, h):
    channels = max(x.shape[1], h.shape[1])
    return np.stack([scipy.signal.fftconvolve(x[:, c % x.shape[1]], h[:, c % h.shape[1]]) for c in range(channels)],
                    axis=1)


def test_recorded_speech_in_a_recorded_hall(material, tmp_path):
    speech, rate = sf.read(material["speech.wav"], always_2d=True)
    hall, hall_rate = sf.read(material["greathall.wav"], always_2d=True)
    assert speech.shape[1] == 1 and hall.shape[1] == 2 and rate == hall_rate
    out = tmp_path / "wet.wav"
    proc = run_sigconv("convolve", material["speech.wav"], material["greathall.wav"], "--subtype", "DOUBLE", "-o", out)
    assert proc.returncode == 0, proc.stderr
    y, out_rate = sf.read(out, always_2d=True)
    expected = oracle(speech, hall)
    assert out_rate == rate and y.shape == (speech.shape[0] + hall.shape[0] - 1, 2)  # mono in, stereo hall out
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * np.max(np.abs(expected)))


def _response_db(h, rate, freqs):
    n = np.arange(h.size)
    return 20 * np.log10(np.abs(np.exp(-2j * np.pi * np.outer(freqs, n) / rate) @ h))


@pytest.fixture(scope="module")
def cabinet_48k(material, tmp_path_factory):
    """The 44.1 kHz cabinet IR brought to 48 kHz by `--resample` (convolving a one-sample dirac)."""
    folder = tmp_path_factory.mktemp("cab")
    sf.write(folder / "dirac.wav", np.ones(1), 48000, subtype="DOUBLE")
    out = folder / "cab48.wav"
    proc = run_sigconv("convolve", folder / "dirac.wav", material["cabinet.wav"], "--resample", "--subtype", "DOUBLE",
                       "-o", out)
    assert proc.returncode == 0, proc.stderr
    return str(out)


def test_resampled_recorded_cabinet_keeps_its_frequency_response(material, cabinet_48k):
    cab, rate = sf.read(material["cabinet.wav"], always_2d=True)
    cab48, rate48 = sf.read(cabinet_48k, always_2d=True)
    assert rate == 44100 and rate48 == 48000
    assert abs(cab48.shape[0] / 48000 - cab.shape[0] / 44100) < 0.002  # same duration (plus filter tail)
    freqs = np.geomspace(60, 16000, 120)  # the cabinet's useful band, below both Nyquists
    before = _response_db(cab[:, 0], rate, freqs)
    after = _response_db(cab48[:, 0], rate48, freqs)
    loud = before > before.max() - 40
    assert np.max(np.abs(after[loud] - before[loud])) < 0.5  # dB


@pytest.mark.parametrize("backend", ["direct", "fft"])
def test_recorded_speech_through_a_recorded_cabinet_on_both_backends(material, cabinet_48k, tmp_path, backend):
    speech, _ = sf.read(material["speech.wav"], always_2d=True)
    cab, _ = sf.read(cabinet_48k, always_2d=True)
    out = tmp_path / f"{backend}.wav"
    proc = run_sigconv("convolve", material["speech.wav"], cabinet_48k, "--backend", backend,
                       "--subtype", "DOUBLE", "-o", out)
    assert proc.returncode == 0, proc.stderr
    y, _ = sf.read(out, always_2d=True)
    expected = scipy.signal.convolve(speech[:, 0], cab[:, 0], method="direct")[:, None]
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * np.max(np.abs(expected)))


def test_real_pipeline_with_recorded_material(material, tmp_path):
    out = tmp_path / "piped.flac"
    sigconv = f"'{sys.executable}' -m sigconv"
    cmd = (f"cat '{material['speech.wav']}' | {sigconv} convolve - '{material['cabinet.wav']}' --resample -o - "
           f"| {sigconv} convolve - '{material['greathall.wav']}' --normalize peak --gain -1 -o '{out}'")
    proc = subprocess.run(cmd, shell=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    y, _ = sf.read(out, always_2d=True)
    assert y.shape[1] == 2
    assert np.max(np.abs(y)) == pytest.approx(10 ** (-1 / 20), abs=2e-4)  # FLAC PCM_24 keeps the -1 dBFS peak
