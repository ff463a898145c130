"""Every channel layout convolve accepts, undone by deconvolve: ``convolve | deconvolve`` round trips ≥ 60 dB.

Recorded material (:mod:`tests.deconvolution.material`): speech through a
recorded street's stereo IR (mono → stereo), music through a recorded 2×2
crosstalk canceller (true stereo). The oracle is the dry recording.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf

import sigconv
from sigconv.errors import IncompatibleSignalsError, UsageError

from .material import load, recorded  # noqa: F401  (fixture)


def snr_db(estimate, truth):
    return 10 * np.log10(np.sum(np.square(truth)) / np.sum(np.square(estimate - truth)))


def _case(layout):
    street = np.concatenate([load("street2-L.wav"), load("street2-R.wav")], axis=1)
    speech = load("Front_Left.wav")
    music = load("loop_garzul.flac")[:48000]
    # speech for the street IR: the music, resampled from 44.1 kHz, has nothing above 22 kHz, where the street's
    # response is 105 dB down, and at --snr 100 its inverse needs more taps than the limit (47.5 dB measured)
    if layout == "shared":
        return np.concatenate([speech, speech[::-1]], axis=1), street[:, :1], []
    if layout == "parallel":
        return np.concatenate([speech, speech[::-1]], axis=1), street, []
    if layout == "split":
        return speech, street, ["--from-mono"]
    return music, np.concatenate([load("EYCv2L48.wav"), load("EYCv2R48.wav")], axis=1), []  # LL LR RL RR


@pytest.mark.parametrize("layout", ["shared", "parallel", "split", "matrix"])
def test_convolve_then_deconvolve_round_trips_every_layout(cli, recorded, tmp_path, layout):
    x, h, flags = _case(layout)
    sf.write(tmp_path / "x.wav", x, 48000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 48000, subtype="DOUBLE")
    wet = cli("convolve", tmp_path / "x.wav", tmp_path / "h.wav", "--subtype", "DOUBLE", "-o", tmp_path / "y.wav")
    assert wet.exit_code == 0, wet.stderr
    dry = cli("deconvolve", tmp_path / "y.wav", tmp_path / "h.wav", "--snr", "100", *flags, "--subtype", "DOUBLE",
              "-o", tmp_path / "back.wav", "-q")
    assert dry.exit_code == 0, dry.stderr
    back, _ = sf.read(tmp_path / "back.wav", always_2d=True)
    assert back.shape == x.shape
    assert snr_db(back, x) >= 60


def test_mono_to_stereo_combines_both_channels_for_snr(recorded, rng):
    """Least squares over both channels beats inverting either channel alone, with independent noise in each."""
    x, h, _ = _case("split")
    y = sigconv.convolve(x, h)
    y = y + 0.1 * np.sqrt(np.mean(y**2)) * rng.standard_normal(y.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = sigconv.deconvolve(y, h, snr_db=20, from_mono=True)
        single = [sigconv.deconvolve(y[:, c], h[:, c], snr_db=20) for c in range(2)]
    assert snr_db(both[:, 0], x[:, 0]) > max(snr_db(s, x[:, 0]) for s in single) + 1


def test_true_stereo_through_the_strict_backend(recorded, strict):
    x, h, _ = _case("matrix")
    x = x[:8000]
    y = sigconv.convolve(x, h)
    assert snr_db(sigconv.deconvolve(y, h, snr_db=100, backend=strict), x) >= 60


def test_layout_refusals(rng):
    y = rng.standard_normal((400, 2))
    with pytest.raises(IncompatibleSignalsError, match="--from-mono"):
        sigconv.deconvolve(y, rng.standard_normal((8, 3)))
    with pytest.raises(UsageError, match="true-stereo kernel is inverted by --method wiener"):
        sigconv.deconvolve(y, rng.standard_normal((8, 4)), "exact")
    with pytest.raises(UsageError, match="--noise takes one kernel channel"):
        sigconv.deconvolve(y, rng.standard_normal((8, 2)), noise=rng.standard_normal(1000), from_mono=True)
