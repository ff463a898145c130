"""`sigconv convolve` as a mix needs it (issue 16): alignment, levels and units, on recorded material.

Recorded speech (alsa-utils) through a recorded concert hall (guitarix), fetched
from Debian as tests/test_real_material.py does; the oracles are scipy's
convolution, pyloudnorm and an 8x polyphase interpolator.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from sigconv.compute.onsets import ir_onset
from sigconv.loudness import integrated_loudness, true_peak

from ..test_real_material import material  # noqa: F401  (the fixture: the Debian recordings, fetched once)


@pytest.fixture(scope="module")
def speech(material, tmp_path_factory):
    """The first second of the recorded speech (PCM_16, 48 kHz), and the array."""
    x, rate = sf.read(material["speech.wav"], dtype="int16", always_2d=True)
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    sf.write(path, x[:rate], rate, subtype="PCM_16")
    return str(path), x[:rate]


@pytest.fixture(scope="module")
def hall(material):
    h, _ = sf.read(material["greathall.wav"], always_2d=True)
    return material["greathall.wav"], h


def _oracle(x, h):
    x = x.astype(np.float64) / 32768
    return np.stack([scipy.signal.fftconvolve(x[:, 0], h[:, c]) for c in range(h.shape[1])], axis=1)


@pytest.mark.parametrize("align", ["dry", "none"])
def test_dry_only_with_keep_is_the_input_sample_for_sample(cli, speech, hall, tmp_path, align):
    out = tmp_path / "dry.wav"
    result = cli("convolve", speech[0], hall[0], "--mode", "keep", "--align", align, "--dry", "1", "--wet", "0",
                 "-o", out)
    assert result.exit_code == 0, result.stderr
    y, _ = sf.read(out, dtype="int16", always_2d=True)
    assert sf.info(out).subtype == "PCM_16" and y.shape == (speech[1].shape[0], 2)  # mono in, stereo hall
    np.testing.assert_array_equal(y, np.repeat(speech[1], 2, axis=1))


def test_align_dry_says_how_far_it_moved(cli, speech, hall, tmp_path):
    result = cli("convolve", speech[0], hall[0], "--mode", "keep", "--align", "dry", "--dry", "1", "--wet", "-20dB",
                 "-o", tmp_path / "mix.wav")
    assert result.exit_code == 0, result.stderr
    assert f"advanced the output by the IR's onset, {ir_onset(hall[1])} samples" in result.stderr


def test_keep_and_align_against_scipy(cli, speech, hall, tmp_path):
    n, onset = speech[1].shape[0], ir_onset(hall[1])
    full = _oracle(speech[1], hall[1])
    dry = speech[1].astype(np.float64) / 32768
    for args, expected in [
        (["--mode", "keep"], full[:n]),
        (["--mode", "keep", "--align", "dry", "--dry", "-6dB", "--wet", "0.5"],
         0.5 * full[onset:onset + n] + 10 ** (-6 / 20) * dry),
        (["--mode", "keep", "--dry", "0.3"], full[:n] + 0.3 * np.vstack([np.zeros((onset, 1)), dry[:n - onset]])),
    ]:
        out = tmp_path / "y.wav"
        result = cli("convolve", speech[0], hall[0], *args, "--subtype", "DOUBLE", "-o", out)
        assert result.exit_code == 0, result.stderr
        y, _ = sf.read(out, always_2d=True)
        np.testing.assert_allclose(y, expected, atol=1e-9, err_msg=" ".join(args))


def test_same_on_a_hall_warns_what_it_cuts(cli, speech, hall, tmp_path):
    result = cli("convolve", speech[0], hall[0], "--mode", "same", "-o", tmp_path / "same.wav")
    assert result.exit_code == 0
    centre = (hall[1].shape[0] - 1) // 2
    assert f"Warning: --mode same drops the first {centre} frames of the result" in result.stderr
    assert "--mode keep" in result.stderr


def test_trim_ir_trims_to_the_onset_that_impulse_info_reports(cli, speech, hall, tmp_path):
    early = tmp_path / "early.wav"  # the hall's first 0.3 s (its direct sound and peak), to keep the analysis short
    sf.write(early, hall[1][:14400], 48000, subtype="DOUBLE")
    info = cli("impulse", "info", early, "--json", "--bands", "1000")
    assert info.exit_code == 0, info.stderr
    reported = [round(channel["onset_s"] * 48000) for channel in json.loads(info.stdout)["channels"]]
    assert len(set(reported)) == 2  # the channels' direct sounds differ: the earliest is the IR's onset
    result = cli("convolve", speech[0], hall[0], "--trim-ir", "-o", tmp_path / "t.wav")
    assert result.exit_code == 0
    assert f"trimmed {min(reported)} leading samples" in result.stderr
    assert min(reported) == ir_onset(hall[1]) > 0


def test_ceiling_keeps_a_loud_hall_out_of_clipping(cli, speech, hall, tmp_path):
    loud = cli("convolve", speech[0], hall[0], "--gain", "18", "-o", tmp_path / "loud.wav")
    assert "clipped while writing PCM_16" in loud.stderr and "--ceiling" in loud.stderr
    out = tmp_path / "capped.wav"
    result = cli("convolve", speech[0], hall[0], "--gain", "18", "--ceiling", "-1dBTP", "--subtype", "DOUBLE",
                 "-o", out)
    assert result.exit_code == 0 and "clipped" not in result.stderr
    assert "lowered" in result.stderr and "to the ceiling, -1dBTP" in result.stderr
    y, _ = sf.read(out, always_2d=True)
    assert 20 * np.log10(true_peak(y)) == pytest.approx(-1.0, abs=1e-9)
    oversampled = scipy.signal.resample_poly(y, 8, 1, axis=0)  # an independent interpolator
    assert 20 * np.log10(np.max(np.abs(oversampled))) == pytest.approx(-1.0, abs=0.2)
    # the same result as the unlimited one, scaled: a gain, not a limiter
    reference = _oracle(speech[1], hall[1]) * 10 ** (18 / 20)
    np.testing.assert_allclose(y, reference * (10 ** (-1 / 20) / true_peak(reference)), atol=1e-9)


def test_ceiling_combines_with_rms_match(cli, speech, hall, tmp_path):
    out = tmp_path / "rms.wav"
    result = cli("convolve", speech[0], hall[0], "--normalize", "rms-match", "--ceiling", "-3dBFS",
                 "--subtype", "DOUBLE", "-o", out)
    assert result.exit_code == 0, result.stderr
    y, _ = sf.read(out, always_2d=True)
    full = _oracle(speech[1], hall[1])
    dry = speech[1].astype(np.float64) / 32768
    matched = full * np.sqrt(np.mean(dry ** 2) / np.mean(full ** 2))
    np.testing.assert_allclose(y, matched * min(1.0, 10 ** (-3 / 20) / np.max(np.abs(matched))), atol=1e-9)


def test_loudness_target(cli, speech, hall, tmp_path):
    out = tmp_path / "lufs.wav"
    result = cli("convolve", speech[0], hall[0], "--loudness", "-20LUFS", "--subtype", "DOUBLE", "-o", out)
    assert result.exit_code == 0, result.stderr
    y, rate = sf.read(out, always_2d=True)
    pyloudnorm = pytest.importorskip("pyloudnorm")
    assert pyloudnorm.Meter(rate, filter_class="DeMan").integrated_loudness(y) == pytest.approx(-20.0, abs=1e-3)
    assert integrated_loudness(y, rate) == pytest.approx(-20.0, abs=1e-6)
    refused = cli("convolve", speech[0], hall[0], "--loudness", "-20", "--normalize", "peak", "-o", out)
    assert refused.exit_code == 2 and "--loudness" in refused.stderr


@pytest.mark.parametrize("name, words, not_words", [
    ("out.flac", ["FLAC has no float subtype", "--ceiling"], ["--subtype FLOAT"]),
    ("out.ogg", ["over full scale", "players", "--ceiling"], []),
])
def test_level_advice_fits_the_output_format(cli, speech, hall, tmp_path, name, words, not_words):
    result = cli("convolve", speech[0], hall[0], "--gain", "18", "--mode", "keep", "-o", tmp_path / name)
    assert result.exit_code == 0, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    for word in not_words:
        assert word not in result.stderr, result.stderr


def test_one_pre_delay_in_any_unit(cli, speech, hall, tmp_path):
    outputs = []
    for value in ("10", "10ms", "0.01s", "480smp"):
        out = tmp_path / f"p{len(outputs)}.wav"
        assert cli("convolve", speech[0], hall[0], "--mode", "keep", "--predelay", value, "-o", out).exit_code == 0
        outputs.append(out.read_bytes())
    assert len(set(outputs)) == 1
    assert cli("convolve", speech[0], hall[0], "--mode", "keep", "-o", tmp_path / "none.wav").exit_code == 0
    assert (tmp_path / "none.wav").read_bytes() != outputs[0]


def test_synth_predelay_is_milliseconds_like_convolve(cli, tmp_path):
    out = tmp_path / "r.wav"
    result = cli("impulse", "synth", "reverb", "--rt60", "0.2", "--predelay", "20", "--seed", "1", "-o", out)
    assert result.exit_code == 0, result.stderr
    h, rate = sf.read(out)
    assert np.all(h[: int(0.02 * rate)] == 0) and h[int(0.02 * rate)] != 0
    trap = cli("impulse", "synth", "reverb", "--rt60", "0.2", "--predelay", "0.02", "-o", out)
    assert trap.exit_code == 2 and "0.02s" in trap.stderr
