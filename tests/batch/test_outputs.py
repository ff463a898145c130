"""What a batch writes, against scipy: levels, modes, normalizations, channel layouts, recorded material."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from sigconv import convolve_file
from sigconv.batch import convolve_batch, plan_batch
from sigconv.errors import SignalNotFoundError, UsageError

from .material import coloured, recorded, room


def _onset(h):
    """First sample within 20 dB of the peak, over all channels (the dry path's alignment)."""
    level = np.max(np.abs(h), axis=1)
    return int(np.argmax(level >= 0.1 * level.max()))


def _expected(x, h, wet=1.0, dry=0.0, predelay=0, mode="full"):
    """``wet * (x ⊗ [0]*predelay + h) + dry * x[t - onset]`` per output channel, from scipy."""
    hd = np.vstack([np.zeros((predelay, h.shape[1])), h])
    outputs = max(x.shape[1], h.shape[1])
    full = np.stack([wet * scipy.signal.fftconvolve(x[:, c % x.shape[1]], hd[:, c % h.shape[1]])
                     for c in range(outputs)], axis=1)
    if dry:
        k = _onset(h)
        for c in range(outputs):
            full[k:k + x.shape[0], c] += dry * x[:, c % x.shape[1]]
    n, m = x.shape[0], hd.shape[0]
    if mode == "same":
        start = (m - 1) // 2
        return full[start:start + n]
    if mode == "valid":
        return full[min(n, m) - 1:max(n, m)]
    return full


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_levels_predelay_and_mode_match_scipy(tmp_path, rng, mode):
    x, h = coloured(rng, 1500), room(rng, 300, onset=25)
    sf.write(tmp_path / "x.wav", x, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    summary = convolve_batch([str(tmp_path / "x.wav")], [str(tmp_path / "h.wav")], str(tmp_path / "out"), jobs=1,
                             wet=0.7, dry=0.4, predelay_ms=5, mode=mode, precision=64)
    assert (summary.done, summary.failed) == (1, 0)
    y, rate = sf.read(tmp_path / "out" / "x__h.wav", always_2d=True)
    expected = _expected(x, h, 0.7, 0.4, predelay=40, mode=mode)
    assert rate == 8000 and sf.info(tmp_path / "out" / "x__h.wav").subtype == "DOUBLE"
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12 * np.max(np.abs(expected)))


@pytest.mark.parametrize("x_channels, h_channels, outputs", [(2, 1, 2), (1, 2, 2), (2, 2, 2), (2, 4, 2)])
def test_channel_layouts_match_scipy(tmp_path, rng, x_channels, h_channels, outputs):
    x, h = coloured(rng, 800, x_channels), room(rng, 200, h_channels)
    sf.write(tmp_path / "x.wav", x, 8000, subtype="FLOAT")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="FLOAT")
    convolve_batch([str(tmp_path / "x.wav")], [str(tmp_path / "h.wav")], str(tmp_path / "out"), jobs=1, dry=0.5)
    y, _ = sf.read(tmp_path / "out" / "x__h.wav", always_2d=True)
    x32, h32 = sf.read(tmp_path / "x.wav", always_2d=True)[0], sf.read(tmp_path / "h.wav", always_2d=True)[0]
    if h_channels == 4:  # true stereo LL, LR, RL, RR: each output sums two paths, the dry path only the direct one
        conv = scipy.signal.fftconvolve
        full = np.stack([conv(x32[:, 0], h32[:, o]) + conv(x32[:, 1], h32[:, 2 + o]) for o in range(2)], axis=1)
        k = _onset(h32)
        full[k:k + x32.shape[0]] += 0.5 * x32
        expected = full
    else:
        expected = _expected(x32, h32, dry=0.5)
    assert y.shape == (x.shape[0] + h.shape[0] - 1, outputs)
    np.testing.assert_allclose(y, expected, rtol=0, atol=2e-6 * np.max(np.abs(expected)))  # float32 computation


def test_normalizations_and_gain(tmp_path, rng):
    x, h = coloured(rng, 1000), room(rng, 250)
    sf.write(tmp_path / "x.wav", x, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    paths = [str(tmp_path / "x.wav")], [str(tmp_path / "h.wav")]
    plain = _expected(x, h)
    for normalize, gain_db, expected in [
        ("peak", -6.0, plain / np.max(np.abs(plain)) * 10 ** (-6 / 20)),
        ("rms-match", 0.0, plain * np.sqrt(np.mean(x ** 2) / np.mean(plain ** 2))),
        ("ir-energy", 0.0, _expected(x, h / np.sqrt(np.sum(h ** 2)))),
    ]:
        out = tmp_path / normalize
        convolve_batch(*paths, str(out), jobs=1, normalize=normalize, gain_db=gain_db, precision=64)
        y, _ = sf.read(out / "x__h.wav", always_2d=True)
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12, err_msg=normalize)


def test_trim_and_resample_as_convolve_file_does(tmp_path, rng):
    """The per-pair options give what `sigconv convolve` gives for the same pair (its own tests check it)."""
    x, h = coloured(rng, 1200), room(rng, 500, onset=60)
    sf.write(tmp_path / "x.wav", x, 16000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")  # another rate: needs --resample
    convolve_batch([str(tmp_path / "x.wav")], [str(tmp_path / "h.wav")], str(tmp_path / "out"), jobs=1,
                   trim_db=-40, resample_ir=True, dry=0.2, precision=64)
    convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "single.wav"), trim_db=-40,
                  resample_ir=True, dry=0.2)
    y, _ = sf.read(tmp_path / "out" / "x__h.wav")
    single, _ = sf.read(tmp_path / "single.wav")
    assert y.shape == single.shape
    np.testing.assert_allclose(y, single, rtol=0, atol=1e-12)


def test_recorded_speech_through_recorded_rooms(tmp_path):
    material = recorded()
    if isinstance(material, str):
        pytest.skip(material)
    speech, rate = sf.read(material["speech.wav"], always_2d=True)
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(3):  # three one-second pieces of the recording, as a dataset's clips
        sf.write(clips / f"speech{i}.wav", speech[i * rate // 2:(i * rate) // 2 + rate], rate, subtype="PCM_16")
    summary = convolve_batch([str(clips)], [material["greathall.wav"], material["cabinet.wav"]], str(tmp_path / "out"),
                             jobs=1, resample_ir=True, subtype="DOUBLE", precision=64)
    assert (summary.done, summary.failed) == (6, 0)
    hall, _ = sf.read(material["greathall.wav"], always_2d=True)
    for i in range(3):
        x, _ = sf.read(clips / f"speech{i}.wav", always_2d=True)
        y, _ = sf.read(tmp_path / "out" / f"speech{i}__greathall.wav", always_2d=True)
        expected = _expected(x, hall)
        assert y.shape == expected.shape == (x.shape[0] + hall.shape[0] - 1, 2)
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * np.max(np.abs(expected)))
        single = tmp_path / f"single{i}.wav"  # resampled from 44.1 kHz: as `sigconv convolve --resample` makes it
        convolve_file(str(clips / f"speech{i}.wav"), material["cabinet.wav"], str(single), resample_ir=True,
                      subtype="DOUBLE")
        np.testing.assert_allclose(sf.read(tmp_path / "out" / f"speech{i}__cabinet.wav")[0], sf.read(single)[0],
                                   rtol=0, atol=1e-12)


def test_files_that_are_not_there_are_refused_before_any_work(tmp_path, rng):
    with pytest.raises(SignalNotFoundError, match="no input file matches"):
        plan_batch([str(tmp_path / "*.wav")], [str(tmp_path)], str(tmp_path / "out"))
    with pytest.raises(UsageError, match="template"):
        plan_batch([str(tmp_path)], [str(tmp_path)], str(tmp_path / "out"), template="{stem}_{room}.wav")
    assert not (tmp_path / "out").exists()


def test_settings_beyond_the_prepared_path_run_as_convolve_file(tmp_path, rng):
    """An option the prepared IR does not apply (here: dry alignment) makes each pair with ConvolveJob."""
    from dataclasses import fields

    from sigconv.convolution.files import ConvolveSettings

    if "align" not in {f.name for f in fields(ConvolveSettings)}:
        pytest.skip("this sigconv has no align setting")
    x, h = coloured(rng, 900), room(rng, 200, onset=30)
    sf.write(tmp_path / "x.wav", x, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    summary = convolve_batch([str(tmp_path / "x.wav")], [str(tmp_path / "h.wav")], str(tmp_path / "out"), jobs=1,
                             align="dry", dry=0.5, precision=64)
    assert summary.failed == 0, summary.failures
    convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "single.wav"), align="dry",
                  dry=0.5)
    assert (tmp_path / "out" / "x__h.wav").read_bytes() == (tmp_path / "single.wav").read_bytes()
