"""Recorded material for the deconvolution tests, fetched from Debian packages on first use.

* ``Front_Left.wav``: recorded speech, 48 kHz mono (alsa-utils, GPL-2+);
* ``street2-L.wav``, ``street2-R.wav``: a recorded street's impulse response,
  48 kHz, 18,650 taps per side (jconvolver-config-files, GPL-2+);
* ``EYCv2L48.wav``, ``EYCv2R48.wav``: a recorded crosstalk canceller, a true
  2×2 stereo filter whose first file holds the left input's paths (LL, LR)
  and the second the right input's (RL, RR), 48 kHz (jconvolver-config-files);
* ``loop_garzul.flac``: a music loop, 44.1 kHz stereo (sonic-pi-samples, CC0).

Fetched with ``apt-get download`` into a cache, as :mod:`tests.test_real_material`
does; where that is impossible the tests skip and say why.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ..debian import fetch_files

CACHE = Path(os.environ.get("SIGCONV_TEST_DATA", Path.home() / ".cache" / "sigconv-test-data")) / "deconvolution"
_JCONV = "usr/share/jconvolver/config-files"
WANTED = {
    "Front_Left.wav": ("alsa-utils", "usr/share/sounds/alsa/Front_Left.wav"),
    "street2-L.wav": ("jconvolver-config-files", f"{_JCONV}/demo-reverbs/street2-L.wav"),
    "street2-R.wav": ("jconvolver-config-files", f"{_JCONV}/demo-reverbs/street2-R.wav"),
    "EYCv2L48.wav": ("jconvolver-config-files", f"{_JCONV}/xtalk-cancel/EYCv2L48.wav"),
    "EYCv2R48.wav": ("jconvolver-config-files", f"{_JCONV}/xtalk-cancel/EYCv2R48.wav"),
    "loop_garzul.flac": ("sonic-pi-samples", "usr/share/sonic-pi/samples/loop_garzul.flac"),
}


def fetch() -> str | None:
    """Fill the cache; return None on success or the reason it failed."""
    return fetch_files(CACHE, WANTED, (
        "Front_Left.wav: Debian package alsa-utils (GPL-2+)\n"
        "street2-*.wav, EYCv2*48.wav: Debian package jconvolver-config-files (GPL-2+)\n"
        "loop_garzul.flac: Debian package sonic-pi-samples (CC0)\n"
    ), timeout=300)


def load(name: str) -> np.ndarray:
    """A cached file as ``(frames, channels)`` float64 at 48 kHz (the music loop resampled from 44.1 kHz)."""
    import scipy.signal

    data, rate = sf.read(CACHE / name, dtype="float64", always_2d=True)
    if rate == 44100:
        data = scipy.signal.resample_poly(data, 160, 147, axis=0)
    return data


@pytest.fixture(scope="session")
def recorded():
    """The cache folder, filled (or the test skipped with the reason)."""
    reason = fetch()
    if reason:
        pytest.skip(reason)
    return CACHE
