"""``sigconv deconvolve`` and deconvolve_file: round trips through files, pipes and real pipelines, and refusals."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from sigconv.deconvolution.files import OffsetWindow, deconvolve_file
from sigconv.errors import IncompatibleSignalsError
from sigconv.convolution.files import READ_BLOCK

from ..conftest import read_float, run_sigconv


def snr_db(estimate, truth):
    return 10 * np.log10(np.sum(np.square(truth)) / np.sum(np.square(estimate - truth)))


@pytest.fixture
def pair(tmp_path, rng):
    """A stereo broadband signal several read blocks long, a mono decaying kernel and their product, as DOUBLE WAV."""
    x = 0.1 * rng.standard_normal((2 * READ_BLOCK + 777, 2))
    h = rng.standard_normal(150) * np.exp(-np.arange(150) / 20)
    h[0] = 1.0
    y = np.stack([scipy.signal.fftconvolve(x[:, c], h) for c in range(2)], axis=1)
    paths = {}
    for name, data in (("x", x), ("h", h), ("y", y)):
        paths[name] = str(tmp_path / f"{name}.wav")
        sf.write(paths[name], data, 8000, subtype="DOUBLE")
    return x, h, y, paths


@pytest.mark.parametrize("options", [[], ["-m", "tikhonov", "--reg", "1e-10"], ["-m", "exact"], ["--snr", "100"]])
def test_cli_round_trip(cli, pair, tmp_path, options):
    x, _, _, paths = pair
    out = str(tmp_path / "out.wav")
    result = cli("deconvolve", paths["y"], paths["h"], "-o", out, "--subtype", "DOUBLE", *options)
    assert result.exit_code == 0, result.stderr
    recovered, rate = read_float(out)
    assert rate == 8000 and recovered.shape == x.shape
    # default --snr 40 is a regularised estimate; the others must give the round trip
    assert snr_db(recovered, x) >= (35 if not options else 60)


def test_streamed_file_equals_the_array_api(pair, tmp_path):
    import sigconv

    x, h, y, paths = pair
    out = str(tmp_path / "out.wav")
    report = deconvolve_file(paths["y"], paths["h"], out, snr_db=90, subtype="DOUBLE")
    expected = sigconv.deconvolve(y, h, snr_db=90)
    np.testing.assert_allclose(read_float(out)[0], expected, atol=1e-12)
    assert report.frames_in == y.shape[0] and report.frames_out == x.shape[0]
    assert report.inverse_taps >= 4 * len(h) and report.delay == report.inverse_taps // 2
    assert report.truncation_db <= -70


def test_real_pipeline_convolve_then_deconvolve(tmp_path, rng):
    """`sigconv convolve dry.wav ir.wav -o - | sigconv deconvolve - ir.wav -o dry-again.wav`, as processes."""
    dry = 0.25 * rng.standard_normal(20_000)
    ir = rng.standard_normal(300) * np.exp(-np.arange(300) / 40)
    ir[0] = 1.0
    sf.write(tmp_path / "dry.wav", dry, 16000, subtype="FLOAT")
    sf.write(tmp_path / "ir.wav", ir, 16000, subtype="FLOAT")
    exe = f"{sys.executable} -m sigconv"
    cmd = f"{exe} convolve dry.wav ir.wav -o - | {exe} deconvolve - ir.wav --snr 100 -o dry-again.wav"
    proc = subprocess.run(cmd, shell=True, capture_output=True, timeout=120, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    recovered, rate = read_float(tmp_path / "dry-again.wav")
    dry32 = sf.read(tmp_path / "dry.wav")[0]
    assert rate == 16000 and recovered.shape == (20_000, 1)
    assert snr_db(recovered[:, 0], dry32) >= 60  # the pipe carries float32: far above 60 dB still


def test_stdin_to_stdout_with_a_noise_file(tmp_path, rng):
    """--noise with a piped signal: the recording is spooled to a temporary file for its spectrum."""
    x = rng.standard_normal(30_000)
    h = np.array([1.0, 0.6, 0.2])
    clean = scipy.signal.fftconvolve(x, h)
    noise_level = np.sqrt(np.mean(clean**2)) / 10
    y = clean + noise_level * rng.standard_normal(len(clean))
    sf.write(tmp_path / "y.wav", y, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "noise.wav", noise_level * rng.standard_normal(20_000), 8000, subtype="DOUBLE")
    with open(tmp_path / "y.wav", "rb") as f:
        proc = run_sigconv("deconvolve", "-", "h.wav", "--noise", "noise.wav", "-o", "-", "--subtype", "DOUBLE",
                           input=f.read(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    from_pipe = sf.read(__import__("io").BytesIO(proc.stdout))[0]
    from_file = str(tmp_path / "x.wav")
    deconvolve_file(str(tmp_path / "y.wav"), str(tmp_path / "h.wav"), from_file,
                    noise_path=str(tmp_path / "noise.wav"), subtype="DOUBLE")
    np.testing.assert_allclose(from_pipe, read_float(from_file)[0][:, 0], atol=1e-12)
    assert snr_db(from_pipe, x) > 15


def test_exact_inexact_exits_9(cli, pair, tmp_path, rng):
    _, _, y, paths = pair
    noisy = y + 1e-4 * rng.standard_normal(y.shape)
    sf.write(tmp_path / "noisy.wav", noisy, 8000, subtype="DOUBLE")
    result = cli("deconvolve", tmp_path / "noisy.wav", paths["h"], "-m", "exact", "-o", tmp_path / "q.wav")
    assert result.exit_code == 9
    assert result.stderr.startswith("Error: the signal is not an exact FIR product") and "--method wiener" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "q.wav").exists()


def test_exact_accepts_pcm_rounding(cli, tmp_path, rng):
    """A product stored as PCM_16 carries rounding noise: one LSB is tolerated, and said so."""
    x = 0.3 * rng.standard_normal(5000)
    h = np.array([1.0, -0.7, 0.1])
    sf.write(tmp_path / "y.wav", np.convolve(x, h) / 2, 8000, subtype="PCM_16")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    result = cli("deconvolve", tmp_path / "y.wav", tmp_path / "h.wav", "-m", "exact", "-o", tmp_path / "q.wav",
                 "--subtype", "DOUBLE")
    assert result.exit_code == 0, result.stderr
    assert "tolerance raised" in result.stderr
    assert snr_db(2 * read_float(tmp_path / "q.wav")[0][:, 0], x) > 60


def test_lucy_through_csv(cli, tmp_path):
    x = np.zeros(120)
    x[[20, 70]] = [4.0, 2.0]
    h = np.array([0.25, 0.5, 0.25])
    np.savetxt(tmp_path / "y.csv", np.convolve(x, h), header="counts", comments="")
    np.savetxt(tmp_path / "h.csv", h, header="shape", comments="")
    result = cli("deconvolve", tmp_path / "y.csv", tmp_path / "h.csv", "--rate", "1", "-m", "lucy",
                 "--iterations", "3000", "-o", tmp_path / "x.csv")
    assert result.exit_code == 0, result.stderr
    table = np.loadtxt(tmp_path / "x.csv", delimiter=",", skiprows=1)
    assert table.shape == (120, 2) and np.all(table[:, 1] >= 0)
    assert sorted(np.argsort(table[:, 1])[-2:]) == [20, 70]
    # [.25 .5 .25] has a double zero at Nyquist
    assert "Warning: the kernel is more than 60 dB below its peak at 0.49-0.5 Hz" in result.stderr


def test_null_warning_names_hz_on_stderr(cli, tmp_path, rng):
    sf.write(tmp_path / "y.wav", rng.standard_normal(4000), 8000, subtype="FLOAT")
    sf.write(tmp_path / "h.wav", np.array([1.0, 0.0, 1.0]), 8000, subtype="FLOAT")
    result = cli("deconvolve", tmp_path / "y.wav", tmp_path / "h.wav", "-o", tmp_path / "x.wav")
    assert result.exit_code == 0
    assert "Warning: the kernel is more than 60 dB below its peak at 2000 Hz: these frequencies cannot be recovered" \
        in result.stderr
    x, _ = read_float(tmp_path / "x.wav")
    assert np.all(np.isfinite(x))


@pytest.mark.parametrize("args, code, message", [
    (["--reg", "0.1"], 2, "--reg applies to --method tikhonov"),
    (["-m", "lucy", "--snr", "30"], 2, "--snr applies to --method wiener"),
    (["--length", "2.5"], 2, "is neither whole frames"),
    (["-m", "lucy"], 3, "non-negative signal"),
    (["--noise", "missing.wav"], 3, "does not exist"),
])
def test_refusals(cli, pair, args, code, message):
    _, _, _, paths = pair
    result = cli("deconvolve", paths["y"], paths["h"], "-o", os.path.join(os.path.dirname(paths["y"]), "o.wav"),
                 *args)
    assert result.exit_code == code, result.stderr
    assert result.stderr.startswith("Error: ") and message in result.stderr and "Traceback" not in result.stderr


def test_all_zero_kernel_exits_3(cli, tmp_path):
    sf.write(tmp_path / "y.wav", np.ones(100), 8000)
    sf.write(tmp_path / "h.wav", np.zeros(4), 8000)
    result = cli("deconvolve", tmp_path / "y.wav", tmp_path / "h.wav", "-o", tmp_path / "x.wav")
    assert result.exit_code == 3 and "kernel is all zeros" in result.stderr


def test_kernel_longer_than_signal_exits_4_unless_length_given(cli, tmp_path):
    sf.write(tmp_path / "y.wav", np.ones(10), 8000)
    sf.write(tmp_path / "h.wav", np.ones(20) / 20, 8000)
    result = cli("deconvolve", tmp_path / "y.wav", tmp_path / "h.wav", "-o", tmp_path / "x.wav")
    assert result.exit_code == 4 and "--length" in result.stderr and not (tmp_path / "x.wav").exists()
    result = cli("deconvolve", tmp_path / "y.wav", tmp_path / "h.wav", "-o", tmp_path / "x.wav", "--length", "5ms")
    assert result.exit_code == 0 and read_float(tmp_path / "x.wav")[0].shape == (40, 1)


def test_rates_must_match_or_be_resampled(cli, pair, tmp_path):
    _, h, _, paths = pair
    sf.write(tmp_path / "h16.wav", h, 16000, subtype="DOUBLE")
    result = cli("deconvolve", paths["y"], tmp_path / "h16.wav", "-o", tmp_path / "x.wav")
    assert result.exit_code == 4 and "--resample" in result.stderr
    result = cli("deconvolve", paths["y"], tmp_path / "h16.wav", "-o", tmp_path / "x.wav", "--resample")
    assert result.exit_code == 0 and "resampled the kernel from 16000 Hz to 8000 Hz" in result.stderr


def test_never_overwrites_an_input(cli, pair):
    _, _, _, paths = pair
    with open(paths["y"], "rb") as f:
        before = f.read()
    result = cli("deconvolve", paths["y"], paths["h"], "-o", paths["y"])
    assert result.exit_code == 6 and "refusing to write over the input" in result.stderr
    with open(paths["y"], "rb") as f:
        assert f.read() == before


def test_two_standard_inputs_are_refused(cli, pair):
    _, _, _, paths = pair
    result = cli("deconvolve", "-", paths["h"], "--noise", "-", "-o", "x.wav", input=b"")
    assert result.exit_code == 2 and "cannot all be standard input" in result.stderr


def test_channel_mismatch_exits_4(pair, tmp_path, rng):
    _, _, _, paths = pair
    sf.write(tmp_path / "h3.wav", rng.standard_normal((10, 3)), 8000)
    with pytest.raises(IncompatibleSignalsError, match="mono kernel"):
        deconvolve_file(paths["y"], str(tmp_path / "h3.wav"), str(tmp_path / "x.wav"))


def test_offset_window_holds_back_until_the_length_is_known():
    window = OffsetWindow(start=3, count=None, holdback=4)
    product = np.arange(30, dtype=float)[:, None]
    out = [window.feed(product[:10], frames_in=5), window.feed(product[10:20], frames_in=9)]
    out.append(window.finish(product[20:], frames_in=12))  # 12 - 4 = 8 frames from index 3
    np.testing.assert_array_equal(np.concatenate(out)[:, 0], np.arange(3, 11))
    padded = OffsetWindow(start=2, count=6, holdback=0)
    result = np.concatenate([padded.feed(product[:4], 4), padded.finish(product[4:5], 4)])
    np.testing.assert_array_equal(result[:, 0], [2, 3, 4, 0, 0, 0])


# --- backends and settings ----------------------------------------------------------------------------------------



@pytest.mark.parametrize("options", [["--snr", "90"], ["-m", "tikhonov", "--reg", "1e-10"], ["-m", "exact"]])
def test_cli_backend_fft(cli, pair, tmp_path, options):
    x, _, _, paths = pair
    default, chosen = str(tmp_path / "default.wav"), str(tmp_path / "fft.wav")
    assert cli("deconvolve", paths["y"], paths["h"], "-o", default, "--subtype", "DOUBLE", *options).exit_code == 0
    result = cli("deconvolve", paths["y"], paths["h"], "-o", chosen, "--subtype", "DOUBLE", "--backend", "fft",
                 *options)
    assert result.exit_code == 0, result.stderr
    recovered = read_float(chosen)[0]
    assert snr_db(recovered, x) >= 60
    np.testing.assert_allclose(recovered, read_float(default)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["wiener", "tikhonov", "exact", "lucy"])
def test_cli_backend_that_does_not_deconvolve_exits_5(cli, pair, tmp_path, method):
    _, _, _, paths = pair
    out = tmp_path / "never.wav"
    result = cli("deconvolve", paths["y"], paths["h"], "-o", out, "-m", method, "-b", "direct")
    assert result.exit_code == 5
    assert result.stderr.startswith("Error: backend 'direct' does not run deconvolve")
    assert "use auto or one of: " in result.stderr and "fft" in result.stderr.split("one of: ")[1]
    assert "Traceback" not in result.stderr and not out.exists()


def test_cli_help_names_the_backend_option(cli):
    text = " ".join(cli("deconvolve", "--help").stdout.split())
    assert "-b, --backend NAME Compute backend (see `sigconv backends`); auto picks the fastest. [default: auto]" \
        in text


@pytest.mark.parametrize("method, extra", [("wiener", {"snr_db": 60}), ("wiener", {"noise": True}),
                                           ("tikhonov", {"reg": 1e-6, "band": (100.0, 3500.0)}),
                                           ("exact", {}), ("lucy", {"iterations": 20})])
def test_file_job_through_the_strict_backend_gives_the_default_result(pair, tmp_path, rng, strict, method, extra):
    """Streamed (also with the noise spectrum's pass) and whole methods, on arrays refusing implicit transfers."""
    _, h, y, paths = pair
    options = {key: value for key, value in extra.items() if key != "noise"}
    if extra.get("noise"):
        sf.write(tmp_path / "noise.wav", 1e-3 * rng.standard_normal((30_000, 2)), 8000, subtype="DOUBLE")
        options["noise_path"] = str(tmp_path / "noise.wav")
    if method == "lucy":  # non-negative data: the pair's envelope
        sf.write(tmp_path / "y.wav", np.abs(y), 8000, subtype="DOUBLE")
        sf.write(tmp_path / "h.wav", np.abs(h), 8000, subtype="DOUBLE")
        paths = {"y": str(tmp_path / "y.wav"), "h": str(tmp_path / "h.wav")}
    outputs = {}
    for backend in ("auto", strict):
        outputs[backend] = str(tmp_path / f"{backend}.wav")
        report = deconvolve_file(paths["y"], paths["h"], outputs[backend], method=method, subtype="DOUBLE",
                                 backend=backend, **options)
        assert report.frames_out == y.shape[0] - h.shape[0] + 1
    expected, result = read_float(outputs["auto"])[0], read_float(outputs[strict])[0]
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_settings_dataclass_and_keywords(pair, tmp_path):
    """deconvolve_file takes a DeconvolveSettings, keywords over it, and a job that pickles."""
    import pickle

    from sigconv.deconvolution.settings import DeconvolveSettings
    from sigconv.deconvolution.files import DeconvolveJob
    from sigconv.errors import UsageError
    from sigconv.io.options import FileOptions

    x, _, _, paths = pair
    settings = DeconvolveSettings(method="tikhonov", reg=1e-10, length=1000)
    report = deconvolve_file(paths["y"], paths["h"], str(tmp_path / "a.wav"), settings, subtype="DOUBLE")
    assert report.method == "tikhonov" and report.frames_out == 1000
    assert snr_db(read_float(tmp_path / "a.wav")[0], x[:1000]) > 60
    job = DeconvolveJob(paths["y"], paths["h"], str(tmp_path / "b.wav"), settings, FileOptions(subtype="DOUBLE"))
    pickle.loads(pickle.dumps(job)).run(context=1)
    np.testing.assert_array_equal(read_float(tmp_path / "b.wav")[0], read_float(tmp_path / "a.wav")[0])
    with pytest.raises(UsageError, match="unknown option.*snr\\b"):
        deconvolve_file(paths["y"], paths["h"], str(tmp_path / "c.wav"), snr=3)
    with pytest.raises(UsageError, match="noise_path"):
        deconvolve_file(paths["y"], paths["h"], str(tmp_path / "c.wav"), noise=True)
    assert not (tmp_path / "c.wav").exists()
