"""convolve_file and the new convolve options: streaming, trimming, pre-delay, normalizations."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from sigconv.errors import IncompatibleSignalsError, InvalidSignalError, UsageError
from sigconv.convolution.files import READ_BLOCK, convolve_file

from ..conftest import read_float, run_sigconv


def conv(x, h):
    x2, h2 = x.reshape(len(x), -1), h.reshape(len(h), -1)
    channels = max(x2.shape[1], h2.shape[1])
    return np.stack([scipy.signal.fftconvolve(x2[:, c % x2.shape[1]], h2[:, c % h2.shape[1]])
                     for c in range(channels)], axis=1)


@pytest.fixture
def long_pair(tmp_path, rng):
    """An input several read blocks long and a reverb-like IR."""
    x = 0.1 * rng.standard_normal((3 * READ_BLOCK + 123, 2))
    h = rng.standard_normal((20_000, 2)) * np.exp(-np.arange(20_000) / 3000)[:, None] * 0.05
    sf.write(tmp_path / "x.wav", x, 48000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 48000, subtype="DOUBLE")
    return x, h, str(tmp_path / "x.wav"), str(tmp_path / "h.wav")


@pytest.mark.parametrize("backend", ["auto", "fft", "direct"])
@pytest.mark.parametrize("precision", [64, 32])
def test_streamed_file_equals_the_oracle(long_pair, tmp_path, backend, precision):
    x, h, xin, hin = long_pair
    if backend == "direct":
        h = h[:300]
        sf.write(hin, h, 48000, subtype="DOUBLE")
    out = str(tmp_path / "y.wav")
    report = convolve_file(xin, hin, out, backend=backend, precision=precision, subtype="DOUBLE")
    y, _ = read_float(out)
    expected = conv(x, h)
    assert report.frames_in == x.shape[0] and report.frames_out == expected.shape[0] == y.shape[0]
    tolerance = 1e-9 if precision == 64 else 1e-5
    np.testing.assert_allclose(y, expected, rtol=0, atol=tolerance * np.max(np.abs(expected)))


@pytest.mark.parametrize("mode", ["same", "valid"])
def test_streamed_modes(long_pair, tmp_path, mode):
    x, h, xin, hin = long_pair
    out = str(tmp_path / "y.wav")
    convolve_file(xin, hin, out, mode=mode, subtype="DOUBLE")
    expected = np.stack([scipy.signal.fftconvolve(x[:, c], h[:, c], mode=mode) for c in range(2)], axis=1)
    np.testing.assert_allclose(read_float(out)[0], expected, atol=1e-9 * np.max(np.abs(expected)))


def test_valid_mode_with_an_input_shorter_than_the_ir(tmp_path, rng):
    x, h = rng.standard_normal(50), rng.standard_normal(400)
    sf.write(tmp_path / "x.wav", x, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "y.wav"), mode="valid")
    np.testing.assert_allclose(read_float(tmp_path / "y.wav")[0][:, 0],
                               scipy.signal.convolve(x, h, mode="valid", method="direct"), atol=1e-7)


def test_expert_block_gives_the_same_result(long_pair, tmp_path):
    x, h, xin, hin = long_pair
    for block in (512, 4096, 100_000):
        out = str(tmp_path / f"y{block}.wav")
        report = convolve_file(xin, hin, out, block=block, subtype="DOUBLE", backend="fft")
        assert str(min(block, h.shape[0])) in report.detail
        np.testing.assert_allclose(read_float(out)[0], conv(x, h), atol=1e-9)


@pytest.mark.parametrize("normalize", ["peak", "rms-match"])
def test_two_pass_normalizations(long_pair, tmp_path, normalize):
    x, h, xin, hin = long_pair
    out = tmp_path / "y.wav"
    convolve_file(xin, hin, str(out), normalize=normalize, gain_db=-3.0, subtype="DOUBLE")
    y = read_float(out)[0]
    expected = conv(x, h)
    if normalize == "peak":
        expected = expected / np.max(np.abs(expected))
    else:
        expected = expected * np.sqrt(np.mean(x**2) / np.mean(expected**2))
    expected *= 10 ** (-3 / 20)
    np.testing.assert_allclose(y, expected, atol=1e-9)
    assert sorted(os.listdir(tmp_path)) == ["h.wav", "x.wav", "y.wav"]  # scratch files are gone


def test_rms_match_keeps_loudness(long_pair, tmp_path):
    x, h, xin, hin = long_pair
    convolve_file(xin, hin, str(tmp_path / "y.wav"), normalize="rms-match", subtype="DOUBLE")
    y = read_float(tmp_path / "y.wav")[0]
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-9)


def test_trim_ir_drops_leading_silence_and_reports_it(tmp_path, rng):
    x = rng.standard_normal((1000, 1))
    h = np.zeros(600)
    h[:250] = 1e-5 * rng.standard_normal(250)  # -100 dB: below the -60 dB threshold
    h[250:] = rng.standard_normal(350) * np.exp(-np.arange(350) / 50)
    h[250] = 1.0
    sf.write(tmp_path / "x.wav", x, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    report = convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "y.wav"), trim_db=-60)
    assert report.trimmed == 250
    np.testing.assert_allclose(read_float(tmp_path / "y.wav")[0], conv(x, h[250:]), atol=1e-12)
    proc = run_sigconv("convolve", tmp_path / "x.wav", tmp_path / "h.wav", "--trim-ir", "-o", tmp_path / "z.wav")
    assert proc.returncode == 0
    # the command's default threshold is the onset's, -20 dB: the same 250 samples here
    assert b"Note: trimmed 250 leading samples (31.25 ms) below -20 dB from the IR" in proc.stderr


def test_predelay_delays_the_wet_path_only(tmp_path, rng):
    x = rng.standard_normal((500, 1))
    h = np.zeros(40)
    h[10] = 1.0
    h[30] = 0.5
    sf.write(tmp_path / "x.wav", x, 1000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 1000, subtype="DOUBLE")
    convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "y.wav"), predelay_ms=20,
                  wet=0.5, dry=1.0)
    y = read_float(tmp_path / "y.wav")[0][:, 0]
    expected = np.zeros(500 + 60 - 1)
    expected[10:510] += x[:, 0]  # dry at the onset (sample 10)
    expected[30:530] += 0.5 * x[:, 0]  # wet direct sound: onset + 20 ms
    expected[50:550] += 0.25 * x[:, 0]
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_nan_in_the_middle_of_a_stream_leaves_the_old_output(tmp_path):
    x = np.zeros(3 * READ_BLOCK)
    x[2 * READ_BLOCK + 5] = np.nan
    sf.write(tmp_path / "x.wav", x, 8000, subtype="FLOAT")
    sf.write(tmp_path / "h.wav", np.ones(3), 8000, subtype="FLOAT")
    (tmp_path / "y.wav").write_bytes(b"old")
    with pytest.raises(InvalidSignalError, match=f"first at frame {2 * READ_BLOCK + 5}"):
        convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "y.wav"))
    assert (tmp_path / "y.wav").read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["h.wav", "x.wav", "y.wav"]


def test_bad_arguments(long_pair, tmp_path):
    _, _, xin, hin = long_pair
    with pytest.raises(UsageError, match="--predelay"):
        convolve_file(xin, hin, str(tmp_path / "y.wav"), predelay_ms=-1)
    with pytest.raises(UsageError, match="--block"):
        convolve_file(xin, hin, str(tmp_path / "y.wav"), block=0)
    sf.write(tmp_path / "h44.wav", np.ones(3), 44100)
    with pytest.raises(IncompatibleSignalsError, match="--resample"):
        convolve_file(xin, str(tmp_path / "h44.wav"), str(tmp_path / "y.wav"))


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_wav_stream_of_unknown_length_through_a_pipe(tmp_path, rng, subtype):
    """A WAV stream with placeholder sizes, as ffmpeg writes, goes in; a streaming WAV comes out."""
    # several reads and writes: a short FIR reads 16 hops of 2^14-point transforms at a time
    x = rng.uniform(-0.5, 0.5, (2 * (1 << 18) + 7, 2))
    sf.write(tmp_path / "x.wav", x, 48000, subtype=subtype)
    raw = bytearray((tmp_path / "x.wav").read_bytes())
    raw[4:8] = b"\xff\xff\xff\xff"
    data = raw.index(b"data")
    raw[data + 4 : data + 8] = b"\xff\xff\xff\xff"
    h = rng.standard_normal(100) * 0.1
    sf.write(tmp_path / "h.wav", h, 48000, subtype="DOUBLE")
    proc = subprocess.run([sys.executable, "-m", "sigconv", "convolve", "-", str(tmp_path / "h.wav"), "-o", "-",
                           "--subtype", "DOUBLE"], input=bytes(raw), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout[4:8] == b"\xff\xff\xff\xff"  # a streaming header: sizes unknown when it was written
    (tmp_path / "y.wav").write_bytes(proc.stdout)
    y = read_float(tmp_path / "y.wav")[0]
    x_file = read_float(tmp_path / "x.wav")[0]
    np.testing.assert_allclose(y, conv(x_file, h), atol=1e-9)


def test_two_pass_normalization_to_standard_output(long_pair):
    x, h, xin, hin = long_pair
    proc = subprocess.run([sys.executable, "-m", "sigconv", "convolve", xin, hin, "--normalize", "peak", "-o", "-",
                           "--subtype", "DOUBLE"], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import io

    y, _ = sf.read(io.BytesIO(proc.stdout), always_2d=True)
    expected = conv(x, h)
    np.testing.assert_allclose(y, expected / np.max(np.abs(expected)), atol=1e-9)


@pytest.mark.parametrize("backend", ["fft", "direct", "auto"])
def test_a_block_that_cuts_the_ir_too_finely_is_refused_on_every_backend(tmp_path, backend):
    sf.write(tmp_path / "x.wav", np.zeros(1000), 8000, subtype="FLOAT")
    sf.write(tmp_path / "h.wav", np.ones(64 * 300), 8000, subtype="FLOAT")
    with pytest.raises(UsageError, match="partitions"):
        convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "y.wav"), block=64,
                      backend=backend)
    assert not (tmp_path / "y.wav").exists()


def test_an_ir_too_large_for_memory_is_refused_from_its_header(tmp_path, monkeypatch):
    import sigconv.io.stream
    import sigconv.limits

    sf.write(tmp_path / "x.wav", np.zeros(1000), 8000, subtype="FLOAT")
    sf.write(tmp_path / "h.wav", np.ones((20_000, 2)), 8000, subtype="FLOAT")
    monkeypatch.setattr(sigconv.limits, "memory_budget", lambda: 20_000 * 2 * 8 * 9)  # under the factor of 10

    def must_not_read(*args, **kwargs):
        raise AssertionError("the IR was read before its size was checked")

    monkeypatch.setattr(sigconv.io.stream, "read", must_not_read)
    with pytest.raises(InvalidSignalError, match=r"20000 frames × 2 channels.*shorter"):
        convolve_file(str(tmp_path / "x.wav"), str(tmp_path / "h.wav"), str(tmp_path / "y.wav"))


@pytest.mark.parametrize("mode, align", [("keep", "wet"), ("keep", "dry"), ("full", "dry")])
def test_streamed_keep_and_align(long_pair, tmp_path, mode, align):
    x, h, xin, hin = long_pair
    h = h.copy()
    h[:250] *= 1e-3  # 250 samples of latency before the direct sound
    sf.write(hin, h, 48000, subtype="DOUBLE")
    out = str(tmp_path / "y.wav")
    report = convolve_file(xin, hin, out, mode=mode, align=align, wet=0.5, dry=0.25, subtype="DOUBLE")
    from sigconv.compute.onsets import ir_onset

    onset = ir_onset(h)
    assert onset >= 250
    full = 0.5 * np.stack([scipy.signal.fftconvolve(x[:, c], h[:, c]) for c in range(2)], axis=1)
    full[onset:onset + x.shape[0]] += 0.25 * x  # the dry path meets the direct sound...
    advance = onset if align == "dry" else 0  # ...and --align dry moves both to put it at time zero
    expected = full[advance:advance + x.shape[0]] if mode == "keep" else full[advance:]
    y = read_float(out)[0]
    assert report.frames_out == y.shape[0] == expected.shape[0]
    np.testing.assert_allclose(y, expected, atol=1e-9 * np.max(np.abs(expected)))


def test_two_pass_lufs_and_ceiling_through_a_pipe(long_pair, tmp_path, cli):
    from sigconv.loudness import integrated_loudness, true_peak

    x, h, xin, hin = long_pair
    with open(xin, "rb") as stdin:
        data = stdin.read()
    result = cli("convolve", "-", hin, "--mode", "keep", "--loudness", "-6LUFS", "--ceiling", "-1dBTP", "--subtype",
                 "DOUBLE", "-o", "-", input=data)
    assert result.exit_code == 0, result.stderr
    y, _ = sf.read(io.BytesIO(result.stdout_bytes), always_2d=True)
    assert y.shape == x.shape
    # -6 LUFS would put the true peak above -1 dBTP here: the ceiling wins, as the last gain
    assert 20 * np.log10(true_peak(y)) == pytest.approx(-1.0, abs=1e-9)
    assert integrated_loudness(y, 48000) < -6.0
