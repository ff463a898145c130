"""The command line, in-process through CliRunner and as real subprocesses."""

from __future__ import annotations

import io
import os
import pty
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from sigconv import __version__, read

from ..conftest import REPO, read_float, run_sigconv

COMMANDS = ["convolve", "backends", "tune", "correlate"]


def conv(x, h):
    """scipy's direct method per channel (the oracle)."""
    x2, h2 = x.reshape(len(x), -1), h.reshape(len(h), -1)
    channels = max(x2.shape[1], h2.shape[1])
    return np.stack(
        [scipy.signal.convolve(x2[:, c % x2.shape[1]], h2[:, c % h2.shape[1]], method="direct") for c in range(channels)],
        axis=1,
    )


@pytest.fixture
def pair(write_audio, rng):
    """A stereo float input and a mono IR with a clear onset at sample 4."""
    x = 0.3 * rng.standard_normal((2000, 2))
    h = 0.01 * rng.standard_normal(300)
    h[4] = 0.8
    return x, h, write_audio("in.wav", x, subtype="DOUBLE"), write_audio("ir.wav", h, subtype="DOUBLE")


def test_version_and_help(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"sigconv, version {__version__}"
    result = cli("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and f"sigconv {command}" in result.stdout


def test_python_dash_m_works():
    result = run_sigconv("--version")
    assert result.returncode == 0 and result.stdout.decode().startswith("sigconv, version")


def test_convolve_file_to_file_equals_the_oracle(cli, pair, tmp_path):
    x, h, xin, hin = pair
    result = cli("convolve", xin, hin, "-o", tmp_path / "out.wav")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # data only goes to stdout with -o -
    y, rate = read_float(tmp_path / "out.wav")
    assert rate == 48000 and sf.info(str(tmp_path / "out.wav")).subtype == "DOUBLE"
    np.testing.assert_allclose(y, conv(x, h), atol=1e-12)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("backend", ["auto", "direct", "fft"])
def test_modes_and_backends(cli, pair, tmp_path, mode, backend):
    x, h, xin, hin = pair
    out = tmp_path / "o.wav"
    assert cli("convolve", xin, hin, "--mode", mode, "--backend", backend, "-o", out).exit_code == 0
    expected = np.stack([scipy.signal.convolve(x[:, c], h, mode=mode, method="direct") for c in range(2)], axis=1)
    np.testing.assert_allclose(read_float(out)[0], expected, atol=1e-11)


def test_wet_dry_and_gain(cli, pair, tmp_path):
    x, h, xin, hin = pair
    out = tmp_path / "o.wav"
    assert cli("convolve", xin, hin, "--wet", "0.5", "--dry", "0.25", "--gain", "-6", "-o", out).exit_code == 0
    dry = np.zeros((x.shape[0] + h.size - 1, 2))
    dry[4 : 4 + x.shape[0]] = x  # aligned with the onset at sample 4
    expected = (0.5 * conv(x, h) + 0.25 * dry) * 10 ** (-6 / 20)
    np.testing.assert_allclose(read_float(out)[0], expected, atol=1e-11)


def test_normalize_choices(cli, pair, tmp_path):
    x, h, xin, hin = pair
    assert cli("convolve", xin, hin, "--normalize", "peak", "-o", tmp_path / "p.wav").exit_code == 0
    assert np.max(np.abs(read_float(tmp_path / "p.wav")[0])) == pytest.approx(1.0)
    assert cli("convolve", xin, hin, "--normalize", "ir-energy", "-o", tmp_path / "e.wav").exit_code == 0
    np.testing.assert_allclose(read_float(tmp_path / "e.wav")[0], conv(x, h / np.sqrt(np.sum(h**2))), atol=1e-11)


def test_precision_32(cli, pair, tmp_path):
    x, h, xin, hin = pair
    assert cli("convolve", xin, hin, "--precision", "32", "--subtype", "FLOAT", "-o", tmp_path / "o.wav").exit_code == 0
    y = read_float(tmp_path / "o.wav")[0]
    np.testing.assert_allclose(y, conv(x, h), atol=1e-5 * np.max(np.abs(y)))


def test_int_input_keeps_its_subtype_and_format_option_converts(cli, write_audio, rng, tmp_path):
    x = rng.uniform(-0.3, 0.3, 1000)
    xin = write_audio("in16.wav", x, subtype="PCM_16")
    hin = write_audio("h.wav", np.array([0.5, 0.25]), subtype="PCM_16")
    assert cli("convolve", xin, hin, "-o", tmp_path / "o.wav").exit_code == 0
    assert sf.info(str(tmp_path / "o.wav")).subtype == "PCM_16"
    assert cli("convolve", xin, hin, "--format", "flac", "--subtype", "PCM_24", "-o", tmp_path / "o.bin").exit_code == 0
    info = sf.info(str(tmp_path / "o.bin"))
    assert (info.format, info.subtype) == ("FLAC", "PCM_24")
    x16 = read_float(xin)[0]
    np.testing.assert_allclose(read_float(tmp_path / "o.bin")[0], conv(x16, np.array([0.5, 0.25])), atol=2**-22)


def test_csv_in_and_out_with_rate(cli, tmp_path, rng):
    x = rng.standard_normal(200)
    (tmp_path / "x.csv").write_text("accel\n" + "\n".join(repr(float(v)) for v in x) + "\n")
    (tmp_path / "h.csv").write_text("h\n0.25\n0.5\n0.25\n")
    result = cli("convolve", tmp_path / "x.csv", tmp_path / "h.csv", "--rate", "100", "-o", tmp_path / "y.csv")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "y.csv").read_text().splitlines()
    assert lines[0] == "time,ch1" and len(lines) == 1 + 202
    table = np.loadtxt(tmp_path / "y.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 0], np.arange(202) / 100)
    np.testing.assert_allclose(table[:, 1], np.convolve(x, [0.25, 0.5, 0.25]), atol=1e-12)


def test_csv_without_rate_is_a_clear_error(cli, tmp_path):
    (tmp_path / "x.csv").write_text("1\n2\n")
    result = cli("convolve", tmp_path / "x.csv", tmp_path / "x.csv", "-o", tmp_path / "y.wav")
    assert result.exit_code == 2 and "--rate HZ" in result.stderr


def test_csv_from_stdin_with_format_csv(cli, tmp_path):
    (tmp_path / "h.csv").write_text("t,h\n0,1\n0.1,0.5\n")
    result = cli("convolve", "-", tmp_path / "h.csv", "--format", "csv", "-o", "-", input="t,x\n0,1\n0.1,2\n")
    assert result.exit_code == 0, result.stderr
    table = np.loadtxt(io.StringIO(result.stdout), delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1], [1.0, 2.5, 1.0])


def test_resample_option(cli, write_audio, tmp_path):
    x = np.zeros(1000)
    x[100] = 1.0
    xin = write_audio("x48.wav", x, rate=48000, subtype="DOUBLE")
    h = np.zeros(64)
    h[32] = 1.0
    hin = write_audio("h44.wav", h, rate=44100, subtype="DOUBLE")
    result = cli("convolve", xin, hin, "-o", tmp_path / "o.wav")
    assert result.exit_code == 4 and "48000 Hz" in result.stderr and "44100 Hz" in result.stderr
    assert cli("convolve", xin, hin, "--resample", "-o", tmp_path / "o.wav").exit_code == 0
    y, rate = read_float(tmp_path / "o.wav")
    assert rate == 48000
    assert np.argmax(np.abs(y[:, 0])) == 100 + round(32 * 48000 / 44100)
    assert np.sum(y[:, 0]) == pytest.approx(1.0, abs=2e-3)


def test_output_defaults_to_stdout_when_it_is_not_a_terminal(cli, pair):
    x, h, xin, hin = pair
    result = cli("convolve", xin, hin)
    assert result.exit_code == 0
    y, rate = sf.read(io.BytesIO(result.stdout_bytes), always_2d=True)
    info = sf.info(io.BytesIO(result.stdout_bytes))
    assert info.format == "WAV" and info.subtype == "FLOAT"  # pipes default to float
    np.testing.assert_allclose(y, conv(x, h), atol=1e-6)


def test_output_is_required_when_stdout_is_a_terminal(pair):
    _, _, xin, hin = pair
    controller, terminal = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "sigconv", "convolve", xin, hin], stdout=terminal,
                          stderr=subprocess.PIPE, timeout=60)
    os.close(terminal)
    os.close(controller)
    assert proc.returncode == 2
    assert b"no output given: add -o FILE" in proc.stderr


def _sigconv_command():
    exe = shutil.which("sigconv")
    return exe if exe else f"{sys.executable} -m sigconv"


def test_real_pipeline_equals_file_to_file(pair, tmp_path):
    x, h, xin, hin = pair
    file_out = tmp_path / "file.wav"
    assert run_sigconv("convolve", xin, hin, "--subtype", "FLOAT", "-o", file_out).returncode == 0
    piped = tmp_path / "piped.wav"
    cmd = f"cat '{xin}' | {_sigconv_command()} convolve - '{hin}' -o - > '{piped}'"
    proc = subprocess.run(cmd, shell=True, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""  # no progress or chatter when stderr is not a terminal
    a, _ = read_float(file_out)
    b, _ = read_float(piped)
    np.testing.assert_array_equal(a, b)


def test_pipeline_of_two_sigconv_processes(pair, tmp_path):
    x, h, xin, hin = pair
    cmd = f"{_sigconv_command()} convolve '{xin}' '{hin}' -o - | {_sigconv_command()} convolve - '{hin}' -o '{tmp_path}/twice.wav'"
    proc = subprocess.run(cmd, shell=True, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    y, _ = read_float(tmp_path / "twice.wav")
    np.testing.assert_allclose(y, conv(conv(x, h), h), atol=1e-5)


def test_progress_only_on_a_terminal_and_quiet_silences_it(pair, tmp_path):
    _, _, xin, hin = pair

    def stderr_on_terminal(*extra):
        controller, terminal = pty.openpty()
        proc = subprocess.run([sys.executable, "-m", "sigconv", "convolve", xin, hin, "-o", tmp_path / "o.wav", *extra],
                              stderr=terminal, stdout=subprocess.PIPE, timeout=60)
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(controller)
        assert proc.returncode == 0
        return b"".join(chunks)

    assert b"reading inputs" in stderr_on_terminal() or b"convolving" in stderr_on_terminal()
    assert stderr_on_terminal("--quiet") == b""


# --- errors ---------------------------------------------------------------------------------


@pytest.fixture
def existing_output(tmp_path):
    out = tmp_path / "existing.wav"
    out.write_bytes(b"good output from an earlier run")
    return out


def _assert_clean_error(result, code, *words):
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr
    for w in words:
        assert w in result.stderr
    assert result.stdout == ""


def test_error_cases_leave_the_existing_output_untouched(cli, pair, tmp_path, existing_output, write_audio):
    x, h, xin, hin = pair
    (tmp_path / "text.wav").write_bytes(b"\x00\x01 not audio" * 100)
    (tmp_path / "empty.wav").write_bytes(b"")
    write_audio("nan.wav", np.array([0.0, np.nan]), subtype="FLOAT")
    write_audio("three.wav", np.zeros((10, 3)))
    write_audio("rate44.wav", np.zeros(10), rate=44100)
    cases = [
        (["convolve", tmp_path / "missing.wav", hin], 3, ["does not exist"]),
        (["convolve", tmp_path / "text.wav", hin], 3, ["cannot read", "as audio"]),
        (["convolve", tmp_path / "empty.wav", hin], 3, ["is empty"]),
        (["convolve", tmp_path / "nan.wav", hin], 3, ["NaN"]),
        (["convolve", xin, tmp_path / "three.wav"], 4, ["3 channels", "2 channels"]),
        (["convolve", xin, tmp_path / "rate44.wav"], 4, ["--resample"]),
        (["convolve", xin, hin, "--backend", "warp"], 5, ["unknown backend 'warp'", "available: auto, direct, fft"]),
        (["convolve", xin, hin, "--subtype", "NOPE"], 2, ["cannot hold subtype 'NOPE'"]),
    ]
    before = existing_output.read_bytes()
    for args, code, words in cases:
        result = cli(*args, "-o", existing_output)
        _assert_clean_error(result, code, *words)
        assert existing_output.read_bytes() == before, args
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["existing.wav", "in.wav", "ir.wav", "text.wav", "empty.wav", "nan.wav", "three.wav", "rate44.wav"]
    )


def test_overwriting_an_input_is_refused(cli, pair):
    x, h, xin, hin = pair
    before = open(xin, "rb").read()
    result = cli("convolve", xin, hin, "-o", xin)
    _assert_clean_error(result, 6, "refusing to write over the input file")
    assert open(xin, "rb").read() == before


def test_missing_output_folder(cli, pair, tmp_path):
    _, _, xin, hin = pair
    _assert_clean_error(cli("convolve", xin, hin, "-o", tmp_path / "no" / "o.wav"), 6, "does not exist")


def test_bad_choice_is_a_click_usage_error(cli, pair):
    _, _, xin, hin = pair
    result = cli("convolve", xin, hin, "--mode", "middle", "-o", "x.wav")
    assert result.exit_code == 2 and "'middle' is not one of" in result.stderr


def test_clipping_is_reported_on_stderr(cli, write_audio, tmp_path):
    xin = write_audio("loud.wav", np.full(100, 0.9), subtype="PCM_16")
    hin = write_audio("h.wav", np.array([1.0, 1.0]), subtype="PCM_16")
    result = cli("convolve", xin, hin, "-o", tmp_path / "o.wav")
    assert result.exit_code == 0
    assert "Warning: 99 samples exceeded full scale" in result.stderr
    assert "+5.1" in result.stderr and "--normalize peak" in result.stderr
    y, _ = read_float(tmp_path / "o.wav")
    assert y.min() >= 0.0 and y.max() <= 1.0  # clipped, never wrapped


def test_debug_shows_the_traceback(pair, tmp_path):
    _, _, xin, hin = pair
    proc = run_sigconv("--debug", "convolve", tmp_path / "missing.wav", hin, "-o", tmp_path / "o.wav")
    assert proc.returncode != 0 and b"Traceback" in proc.stderr and b"SignalNotFoundError" in proc.stderr
    proc = run_sigconv("convolve", tmp_path / "missing.wav", hin, "-o", tmp_path / "o.wav", "--debug")
    assert b"Traceback" in proc.stderr
    proc = run_sigconv("convolve", tmp_path / "missing.wav", hin, "-o", tmp_path / "o.wav")
    assert proc.returncode == 3 and b"Traceback" not in proc.stderr


def test_backends_command_lists_built_ins(cli):
    result = cli("backends")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert rows["direct"] == "yes" and rows["fft"] == "yes"


def test_repo_root_has_the_promised_layout():
    for name in ("sigconv", "tests", "samples", "pyproject.toml", "README.md", "CHANGELOG.md", ".ci/run"):
        assert (REPO / name).exists(), name


def test_flac_from_stdin_and_flac_to_stdout(cli, rng, tmp_path):
    x = rng.uniform(-0.4, 0.4, (3000, 2))
    buf = io.BytesIO()
    sf.write(buf, x, 44100, format="FLAC", subtype="PCM_24")
    h = tmp_path / "h.wav"
    sf.write(h, np.array([0.5, 0.25]), 44100, subtype="DOUBLE")
    result = cli("convolve", "-", h, "--format", "flac", "-o", "-", input=buf.getvalue())
    assert result.exit_code == 0, result.stderr
    info = sf.info(io.BytesIO(result.stdout_bytes))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_24", 44100, 2)
    y, _ = sf.read(io.BytesIO(result.stdout_bytes), always_2d=True)
    x24, _ = sf.read(io.BytesIO(buf.getvalue()), always_2d=True)
    np.testing.assert_allclose(y, conv(x24, np.array([0.5, 0.25])), atol=2**-22)


def test_wav_from_stdin_to_csv_on_stdout(cli, rng, tmp_path):
    x = rng.uniform(-0.4, 0.4, 50)
    buf = io.BytesIO()
    sf.write(buf, x, 1000, format="WAV", subtype="DOUBLE")
    h = tmp_path / "h.wav"
    sf.write(h, np.array([1.0, -1.0]), 1000, subtype="DOUBLE")
    result = cli("convolve", "-", h, "--format", "csv", input=buf.getvalue())
    assert result.exit_code == 0, result.stderr
    table = np.loadtxt(io.StringIO(result.stdout), delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 0], np.arange(51) / 1000)
    np.testing.assert_allclose(table[:, 1], np.convolve(x, [1.0, -1.0]), atol=1e-15)


def test_input_format_option_reads_a_csv_with_another_extension(cli, tmp_path):
    (tmp_path / "x.dat").write_text("t,x\n0,1\n0.5,2\n")
    (tmp_path / "h.dat").write_text("t,h\n0,1\n0.5,1\n")
    result = cli("convolve", tmp_path / "x.dat", tmp_path / "h.dat", "--input-format", "csv", "-o",
                 tmp_path / "y.csv")
    assert result.exit_code == 0, result.stderr
    assert read(tmp_path / "y.csv").data[:, 0].tolist() == [1.0, 3.0, 2.0]


def test_stream_options_from_the_cli(cli, pair, tmp_path):
    x, h, xin, hin = pair
    out = tmp_path / "b.wav"
    assert cli("convolve", xin, hin, "--block", "64", "--backend", "fft", "-o", out).exit_code == 0
    np.testing.assert_allclose(read_float(out)[0], conv(x, h), atol=1e-11)
    assert cli("convolve", xin, hin, "--normalize", "rms-match", "-o", out).exit_code == 0
    y = read_float(out)[0]
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-9)
    assert cli("convolve", xin, hin, "--predelay", "1", "--wet", "1", "-o", out).exit_code == 0
    shifted = np.zeros((x.shape[0] + h.size - 1 + 48, 2))
    shifted[48:] = conv(x, h)  # 1 ms at 48 kHz
    np.testing.assert_allclose(read_float(out)[0], shifted, atol=1e-11)
    result = cli("convolve", xin, hin, "--block", "0", "-o", out)
    assert result.exit_code == 2 and "0 is not in the range x>=1" in result.stderr


@pytest.mark.parametrize("given, expected", [(None, "1"), ("3", "3")])
def test_the_cli_asks_blas_for_one_thread_unless_the_user_chose(given, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    if given:
        env["OPENBLAS_NUM_THREADS"] = given
    probe = "import os, sigconv.cli, numpy; print(os.environ['OPENBLAS_NUM_THREADS'])"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.strip() == expected, result.stderr
