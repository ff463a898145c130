"""``sigconv impulse`` through CliRunner (and one real pipeline): files written, reports, PNG, refusals."""

from __future__ import annotations

import json
import math
import re
import struct
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import sigconv

from ..conftest import SAMPLES, read_float, run_sigconv

RATE = 8000


@pytest.fixture
def sweep_file(cli, tmp_path):
    path = tmp_path / "sweep.wav"
    result = cli("impulse", "sweep", "-o", path, "--rate", RATE, "--duration", 2, "--f0", 40, "--f1", 3500,
                 "--silence", 1)
    assert result.exit_code == 0, result.stderr
    return str(path)


def test_help_lists_the_subcommands_and_examples(cli):
    text = cli("impulse", "--help").stdout
    for name in ("sweep", "measure", "synth", "info"):
        assert name in text
    assert "impulse" in cli("--help").stdout
    for name, options in (("sweep", ["--f0", "--f1", "--amplitude", "--fade", "--silence", "--inverse"]),
                          ("measure", ["--length", "--keep-predelay", "--harmonics", "--trim-end", "--backend"]),
                          ("synth", ["--rt60", "--cutoff", "--taps", "--sigma", "--seed"]),
                          ("info", ["--json", "--plot"])):
        text = cli("impulse", name, "--help").stdout
        assert "Examples:" in text and all(option in text for option in options), name


def test_sweep_writes_the_library_sweep_and_its_inverse(cli, tmp_path):
    out, inverse = tmp_path / "s.wav", tmp_path / "inv.wav"
    result = cli("impulse", "sweep", "-o", out, "--rate", RATE, "--duration", 1, "--f0", 50, "--f1", 3000,
                 "--amplitude", "-12dB", "--fade", "0.05,0.01", "--silence", 0.5, "--inverse", inverse)
    assert result.exit_code == 0, result.stderr
    assert str(out) in result.stdout and "1 s sweep 50-3000 Hz at -12.0 dBFS" in result.stdout
    data, rate = read_float(out)
    assert rate == RATE and sf.info(str(out)).subtype == "FLOAT"
    expected = sigconv.exponential_sweep(RATE, 1, 50, 3000, amplitude_db=-12, fade=(0.05, 0.01), silence=0.5)
    np.testing.assert_allclose(data[:, 0], expected, atol=1e-7)
    np.testing.assert_allclose(read_float(inverse)[0][:, 0],
                               sigconv.inverse_sweep(RATE, 1, 50, 3000, amplitude_db=-12, fade=(0.05, 0.01)),
                               rtol=1e-6, atol=1e-9)


def test_sweep_amplitude_as_a_linear_factor(cli, tmp_path):
    out = tmp_path / "s.wav"
    assert cli("impulse", "sweep", "-o", out, "--rate", RATE, "--duration", 1, "--f1", 3000,
               "--amplitude", "0.25").exit_code == 0
    assert np.max(np.abs(read_float(out)[0])) == pytest.approx(0.25, rel=1e-3)


@pytest.mark.parametrize("args, words", [
    (["--f1", "5000"], ["f1", "Nyquist"]),
    (["--f0", "3000", "--f1", "2000"], ["f0", "below"]),
    (["--duration", "0"], ["duration", "positive"]),
    (["--amplitude", "loud"], ["--amplitude"]),
    (["--fade", "a,b"], ["--fade"]),
])
def test_sweep_parameters_out_of_range(cli, tmp_path, args, words):
    out = tmp_path / "s.wav"
    result = cli("impulse", "sweep", "-o", out, "--rate", RATE, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert all(word in result.stderr for word in words)
    assert not out.exists()


def _room(rng, n=2000):
    """Direct sound at 25 ms and a 0.15 s decay, band-limited (zero-phase, zero-padded) inside the sweep's band."""
    t = np.arange(n) / RATE
    h = 0.1 * rng.standard_normal(n) * 10 ** (-3 * t / 0.15)
    h[:200], h[200] = 0.0, 1.0
    sos = scipy.signal.butter(4, [100, 2500], "bandpass", fs=RATE, output="sos")
    return scipy.signal.sosfiltfilt(sos, np.pad(h, n), padtype=None)[n:-n]


def test_measure_recovers_a_stereo_ir_and_writes_the_harmonics(cli, sweep_file, tmp_path, rng):
    x = read_float(sweep_file)[0][:, 0]
    truth = np.stack([_room(rng), _room(rng)], axis=1)
    recording = np.stack([scipy.signal.fftconvolve(x, truth[:, c]) for c in (0, 1)], axis=1)
    recording += 1e-4 * rng.standard_normal(recording.shape)
    rec_path, ir_path, harm = tmp_path / "rec.wav", tmp_path / "ir.wav", tmp_path / "harm"
    sf.write(rec_path, recording, RATE, subtype="FLOAT")
    result = cli("impulse", "measure", rec_path, sweep_file, "-o", ir_path, "--no-trim-start", "--no-trim-end",
                 "--length", 0.25, "--harmonics", harm, "--max-order", 3)
    assert result.exit_code == 0, result.stderr
    assert "2 channels, 0.250 s at 8000 Hz" in result.stdout and "orders 2 to 3" in result.stdout
    ir, rate = read_float(ir_path)
    assert rate == RATE and ir.shape == (2000, 2)
    for c in (0, 1):
        error = np.sum((ir[:, c] - truth[:, c]) ** 2) / np.sum(truth[:, c] ** 2)
        assert 10 * math.log10(error) < -30
    assert sorted(p.name for p in harm.iterdir()) == ["harmonic-2.wav", "harmonic-3.wav"]
    assert read_float(harm / "harmonic-2.wav")[0].shape[1] == 2


def test_measure_refusals(cli, sweep_file, tmp_path):
    x = read_float(sweep_file)[0][:, 0]
    short = tmp_path / "short.wav"
    sf.write(short, x[: RATE], RATE, subtype="FLOAT")
    result = cli("impulse", "measure", short, sweep_file, "-o", tmp_path / "ir.wav")
    assert result.exit_code == 3 and "shorter than the sweep" in result.stderr
    other_rate = tmp_path / "other.wav"
    sf.write(other_rate, x, 16000, subtype="FLOAT")
    result = cli("impulse", "measure", other_rate, sweep_file, "-o", tmp_path / "ir.wav")
    assert result.exit_code == 4 and "8000 Hz" in result.stderr and "16000 Hz" in result.stderr
    result = cli("impulse", "measure", sweep_file, sweep_file, "-o", sweep_file)
    assert result.exit_code == 6 and "refusing to write over the input" in result.stderr
    assert not (tmp_path / "ir.wav").exists()


def test_measure_from_a_pipe(sweep_file, tmp_path):
    """sigconv convolve ... -o - | sigconv impulse measure - SWEEP: the sample room's IR comes back."""
    room = tmp_path / "room.wav"
    h, _ = sf.read(SAMPLES / "room-ir.wav", always_2d=True)
    delayed = np.concatenate([np.zeros(400), scipy.signal.resample_poly(h[:, 0], 1, 6)[:4000]])  # 50 ms latency
    sf.write(room, delayed, RATE, subtype="FLOAT")
    convolve = run_sigconv("convolve", sweep_file, room, "-o", "-")
    assert convolve.returncode == 0, convolve.stderr
    measured = run_sigconv("impulse", "measure", "-", sweep_file, "-o", tmp_path / "ir.wav", "--no-trim-start",
                           "--no-trim-end", "--length", 0.4, input=convolve.stdout)
    assert measured.returncode == 0, measured.stderr
    ir = read_float(tmp_path / "ir.wav")[0][:, 0]
    truth = read_float(room)[0][: ir.size, 0]
    assert ir.size == int(0.4 * RATE)
    # the room is full-band and the sweep covers 40-3500 Hz: compare inside that band
    sos = scipy.signal.butter(6, [100, 2500], "bandpass", fs=RATE, output="sos")
    a, b = (scipy.signal.sosfiltfilt(sos, np.pad(v, 800), padtype=None)[800:-800] for v in (ir, truth))
    assert 10 * math.log10(np.sum((a - b) ** 2) / np.sum(b ** 2)) < -30


@pytest.mark.parametrize("args, expected", [
    (["dirac", "--length", "0.001"], lambda: sigconv.synthesize_ir("dirac", RATE, length=0.001)),
    (["delay", "--seconds", "0.0031"], lambda: sigconv.synthesize_ir("delay", RATE, seconds=0.0031)),
    (["reverb", "--rt60", "0.3", "--seed", "5", "--channels", "2", "--predelay", "10"],
     lambda: sigconv.synthesize_ir("reverb", RATE, rt60=0.3, seed=5, channels=2, predelay=0.01)),
    (["bandpass", "--cutoff", "300,3000", "--taps", "63"],
     lambda: sigconv.synthesize_ir("bandpass", RATE, cutoff=[300, 3000], taps=63)),
    (["moving-average", "--taps", "7"], lambda: sigconv.synthesize_ir("moving-average", RATE, taps=7)),
    (["gaussian", "--sigma", "0.0005"], lambda: sigconv.synthesize_ir("gaussian", RATE, sigma=0.0005)),
])
def test_synth_writes_the_library_kernel(cli, tmp_path, args, expected):
    out = tmp_path / "k.wav"
    result = cli("impulse", "synth", *args, "--rate", RATE, "-o", out)
    assert result.exit_code == 0, result.stderr
    data, rate = read_float(out)
    assert rate == RATE
    np.testing.assert_allclose(data, expected(), atol=1e-7)


def test_synth_to_csv_and_refusals(cli, tmp_path):
    out = tmp_path / "k.csv"
    assert cli("impulse", "synth", "moving-average", "--taps", "4", "--rate", 100, "-o", out).exit_code == 0
    assert sigconv.read(str(out)).data[:, 0].tolist() == [0.25] * 4
    result = cli("impulse", "synth", "lowpass", "--cutoff", "1000", "--rt60", "1", "-o", tmp_path / "x.wav")
    assert result.exit_code == 2 and "--rt60 does not apply to lowpass" in result.stderr
    result = cli("impulse", "synth", "wobble", "-o", tmp_path / "x.wav")
    assert result.exit_code == 2 and "unknown KIND 'wobble'" in result.stderr
    result = cli("impulse", "synth", "highpass", "--cutoff", "1000", "--taps", "64", "-o", tmp_path / "x.wav")
    assert result.exit_code == 2 and "odd number of taps" in result.stderr
    result = cli("impulse", "synth", "reverb", "--rt60", "1,2", "-o", tmp_path / "x.wav")
    assert result.exit_code == 2 and "one per octave band" in result.stderr


def test_info_text_and_json(cli):
    room = str(SAMPLES / "room-ir.wav")
    text = cli("impulse", "info", room)
    assert text.exit_code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("channel 0: 1.000 s") and "onset 0.0050 s" in lines[0]
    assert lines[1].startswith("  noise floor") and "dBFS" in lines[1] and "re peak" in lines[1] and "INR" in lines[1]
    assert lines[2].startswith("  broadband: the analysed bands' span, 44.2 Hz")
    assert lines[3].split() == ["band", "EDT", "T20", "T30", "Topt", "C50", "C80", "D50", "Ts"]
    assert [line.split()[0] for line in lines[4:14]] == ["63", "125", "250", "500", "1000", "2000", "4000", "8000",
                                                          "16000", "broadband"]
    assert any(line.startswith("  STI 0.7") for line in lines)
    document = json.loads(cli("impulse", "info", room, "--json").stdout)
    assert document["rate"] == 48000 and [c["channel"] for c in document["channels"]] == [0, 1]
    channel = document["channels"][0]
    assert channel["length_s"] == 1.0 and channel["peak_s"] == pytest.approx(0.005)
    assert channel["bands"]["broadband"]["T30"] == pytest.approx(0.6, rel=0.05)  # made with RT60 0.6 s
    expected = sigconv.impulse_info(sf.read(room, always_2d=True)[0], 48000).as_dict()
    assert document == json.loads(json.dumps(expected))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_info_plot_writes_a_png(cli, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.image

    png = tmp_path / "ir.png"
    result = cli("impulse", "info", str(SAMPLES / "room-ir.wav"), "--plot", png)
    assert result.exit_code == 0, result.stderr
    width, height = _png_size(png.read_bytes())
    assert 600 <= width <= 3000 and 400 <= height <= 3000
    pixels = matplotlib.image.imread(str(png))
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05  # not blank: lines and text on the background
    # six panels (ETC, broadband EDC, EDC per band, magnitude, decay times, C/D): each sixth has drawing on it
    for rows in (slice(0, height // 3), slice(height // 3, 2 * height // 3), slice(2 * height // 3, height)):
        for cols in (slice(0, width // 2), slice(width // 2, width)):
            assert pixels[rows, cols, :3].std() > 0.05


def test_info_plot_without_matplotlib(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    png = tmp_path / "ir.png"
    result = cli("impulse", "info", str(SAMPLES / "room-ir.wav"), "--plot", png)
    assert result.exit_code == 10 and "pip install 'sigconv[plot]'" in result.stderr  # MissingDependencyError
    assert not png.exists()


def test_info_refuses_to_draw_over_its_input(cli, tmp_path):
    pytest.importorskip("matplotlib")
    ir = tmp_path / "ir.wav"
    sf.write(ir, np.eye(1, 8000)[0], RATE, subtype="FLOAT")
    before = ir.read_bytes()
    result = cli("impulse", "info", ir, "--plot", ir)
    assert result.exit_code == 6 and "refusing to write over the input" in result.stderr
    assert ir.read_bytes() == before


def _recording(sweep_file, tmp_path, rng):
    x = read_float(sweep_file)[0][:, 0]
    recording = scipy.signal.fftconvolve(x, _room(rng)) + 1e-4 * rng.standard_normal(x.size + 1999)
    path = tmp_path / "rec.wav"
    sf.write(path, recording, RATE, subtype="DOUBLE")
    return path


def test_measure_backend_fft(cli, sweep_file, tmp_path, rng):
    recording = _recording(sweep_file, tmp_path, rng)
    default, chosen = tmp_path / "default.wav", tmp_path / "fft.wav"
    assert cli("impulse", "measure", recording, sweep_file, "-o", default, "--subtype", "DOUBLE").exit_code == 0
    result = cli("impulse", "measure", recording, sweep_file, "-o", chosen, "--subtype", "DOUBLE",
                 "--backend", "fft")
    assert result.exit_code == 0, result.stderr
    assert str(chosen) in result.stdout
    # the noise floor as impulse info states it: dBFS and relative to the peak
    assert re.search(r"noise floor -\d+\.\d dBFS \(-\d+\.\d dB re peak\)", result.stdout), result.stdout
    np.testing.assert_allclose(read_float(chosen)[0], read_float(default)[0], rtol=0, atol=1e-12)


def test_measure_backend_that_does_not_measure_exits_5(cli, sweep_file, tmp_path, rng):
    recording = _recording(sweep_file, tmp_path, rng)
    out = tmp_path / "ir.wav"
    result = cli("impulse", "measure", recording, sweep_file, "-o", out, "-b", "direct")
    assert result.exit_code == 5
    assert result.stderr.startswith("Error: backend 'direct' does not run measure")
    assert "fft" in result.stderr.split("one of: ")[1] and "Traceback" not in result.stderr
    assert not out.exists()
