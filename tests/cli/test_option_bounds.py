"""Option values and bounds: non-finite, absurd and huge values are usage errors; former crashes run (issue 13)."""

from __future__ import annotations

import json

import click
import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import sigconv.limits
from sigconv.cli import main
from sigconv.cli.options import FiniteFloat, LevelType, TimeType

from ..conftest import read_float

RATE = 8000


@pytest.fixture
def files(tmp_path, rng):
    """Paths of small inputs: a mono signal, a short IR, a long IR, a stereo PCM_16 signal."""
    paths = {}

    def put(name, data, rate=RATE, subtype="FLOAT"):
        paths[name] = str(tmp_path / name)
        sf.write(paths[name], data, rate, subtype=subtype)

    put("x.wav", 0.1 * rng.standard_normal(RATE // 2))
    put("ir.wav", np.exp(-np.arange(40) / 8.0) * rng.standard_normal(40))
    put("long-ir.wav", 0.01 * rng.standard_normal(20_000))
    put("st16.wav", 0.1 * rng.standard_normal((RATE, 2)), subtype="PCM_16")
    return paths


def assert_usage_error(result, *words):
    """Exit 2 and one ``Error:`` line, the last one, that names ``words``; no traceback, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: ")
    assert sum(line.startswith("Error:") for line in lines) == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for word in words:
        assert word in lines[-1], (word, lines[-1])


def _float_params(command: click.Command, path: str = ""):
    """``(command path, parameter)`` for every parameter of ``command`` and its subcommands."""
    name = f"{path} {command.name}".strip()
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for sub in command.list_commands(ctx):
            yield from _float_params(command.get_command(ctx, sub), name)
        return
    for param in command.params:
        yield name, param


def test_every_float_option_refuses_nan_and_infinity():
    floats = []
    for command, param in _float_params(main):
        types = param.type.types if isinstance(param.type, click.Tuple) else [param.type]
        for t in types:
            if isinstance(t, (click.types.FloatParamType, click.FloatRange)):
                floats.append(f"{command} {param.opts[0]}")
                assert isinstance(t, FiniteFloat), f"{command} {param.opts[0]} takes NaN/Inf"
            elif isinstance(t, (TimeType, LevelType)):  # quantities: sigconv.quantities refuses NaN and Inf
                floats.append(f"{command} {param.opts[0]}")
    assert len(floats) > 30  # every command was found, lazily loaded ones too


def _cases(f):
    """``(args, option)``: the value is not finite, or huge; each must be refused naming the option."""
    x, ir, out = f["x.wav"], f["ir.wav"], f["out"]
    conv = ["convolve", x, ir, "-o", out]
    corr = ["correlate", x, x]
    deconv = ["deconvolve", x, ir, "-o", out]
    sweep = ["impulse", "sweep", "-o", out]
    synth = ["impulse", "synth"]
    return [
        (conv + ["--wet", "nan"], "--wet"), (conv + ["--dry", "nan"], "--dry"), (conv + ["--gain", "inf"], "--gain"),
        (conv + ["--gain", "nan"], "--gain"), (conv + ["--predelay", "nan"], "--predelay"),
        (conv + ["--predelay", "inf"], "--predelay"), (conv + ["--trim-ir", "--trim-db", "nan"], "--trim-db"),
        (conv + ["--rate", "inf"], "--rate"),
        (conv + ["--gain", "1e6"], "--gain"), (conv + ["--wet", "1e308"], "--wet"), (conv + ["--dry", "-1e12"], "--dry"),
        (corr + ["--max-lag", "nan"], "--max-lag"), (corr + ["--min-lag", "inf"], "--min-lag"),
        (corr + ["--lag-range", "nan", "1"], "--lag-range"), (corr + ["--lag-range", "0", "inf"], "--lag-range"),
        (corr + ["--min-confidence", "nan"], "--min-confidence"), (corr + ["--drift", "--window", "inf"], "--window"),
        (corr + ["--locate", "--threshold", "nan"], "--threshold"), (corr + ["--block", "8"], "--block"),
        (deconv + ["--snr", "nan"], "--snr"), (deconv + ["-m", "tikhonov", "--reg", "inf"], "--reg"),
        (deconv + ["-m", "tikhonov", "--band", "nan", "100"], "--band"),
        (deconv + ["-m", "exact", "--tolerance", "nan"], "--tolerance"),
        (deconv + ["-m", "lucy", "--iterations", "1000000"], "--iterations"),
        (sweep + ["--duration", "nan"], "--duration"), (sweep + ["--f0", "inf"], "--f0"),
        (sweep + ["--f1", "nan"], "--f1"), (sweep + ["--silence", "inf"], "--silence"),
        (sweep + ["--fade", "nan"], "--fade"), (sweep + ["--fade", "0.1,inf"], "--fade"),
        (sweep + ["--amplitude", "1e999dB"], "--amplitude"), (sweep + ["--rate", "nan"], "--rate"),
        (["impulse", "measure", x, x, "-o", out, "--length", "nan"], "--length"),
        (["impulse", "measure", x, x, "-o", out, "--keep-predelay", "inf"], "--keep-predelay"),
        (synth + ["delay", "--seconds", "inf", "-o", out], "--seconds"),
        (synth + ["reverb", "--rt60", "1", "--predelay", "nan", "-o", out], "--predelay"),
        (synth + ["reverb", "--rt60", "nan", "-o", out], "--rt60"),
        (synth + ["reverb", "--rt60", "1", "--seed", "-1", "-o", out], "--seed"),
        (synth + ["reverb", "--rt60", "1", "--channels", "100000", "-o", out], "--channels"),
        (synth + ["dirac", "--length", "inf", "-o", out], "--length"),
        (synth + ["gaussian", "--sigma", "nan", "-o", out], "--sigma"),
        (synth + ["lowpass", "--cutoff", "nan", "-o", out], "--cutoff"),
        (synth + ["dirac", "--rate", "inf", "-o", out], "--rate"),
        (["impulse", "info", ir, "--rate", "nan"], "--rate"),
    ]


def test_non_finite_and_absurd_values_are_usage_errors_naming_the_option(cli, files, tmp_path):
    files["out"] = str(tmp_path / "out.wav")
    for args, option in _cases(files):
        assert_usage_error(cli(*args), option)
        assert not (tmp_path / "out.wav").exists(), args


@pytest.mark.parametrize("args, words", [
    (["impulse", "sweep", "--duration", "1e9"], ["--duration", "4.8e+13 frames", "2^31"]),
    (["impulse", "sweep", "--rate", "1e12"], ["--rate", "frames", "2^31"]),
    (["impulse", "synth", "dirac", "--length", "1e9"], ["--length", "frames", "2^31"]),
    (["impulse", "synth", "reverb", "--rt60", "1", "--predelay", "1e9"], ["--predelay", "2^31"]),
    (["impulse", "synth", "delay", "--seconds", "1e12"], ["--seconds", "2^31"]),
    (["impulse", "synth", "gaussian", "--sigma", "1e9"], ["--sigma", "2^31"]),
])
def test_huge_generated_lengths_are_refused_with_the_figure(cli, tmp_path, args, words):
    result = cli(*args, "-o", tmp_path / "out.wav")
    assert_usage_error(result, *words)
    assert not (tmp_path / "out.wav").exists()


def test_lengths_that_would_not_fit_in_memory_are_refused(cli, files, tmp_path, monkeypatch):
    monkeypatch.setattr(sigconv.limits, "memory_budget", lambda: 1 << 20)
    out = tmp_path / "out.wav"
    assert_usage_error(cli("impulse", "synth", "lowpass", "--cutoff", "1000", "--taps", "1000000000", "-o", out),
                       "--taps", "of memory", "the limit is 1.05 MB")
    assert_usage_error(cli("impulse", "synth", "reverb", "--rt60", "1", "--channels", "1024", "-o", out),
                       "--channels", "of memory")
    result = cli("convolve", files["x.wav"], files["long-ir.wav"], "-o", out)
    assert result.exit_code == 3 and "long-ir.wav' (20000 frames × 1 channel)" in result.stderr
    assert "--precision 32" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_predelay_and_length_beyond_the_frame_limit(cli, files, tmp_path):
    out = tmp_path / "out.wav"
    assert_usage_error(cli("convolve", files["x.wav"], files["ir.wav"], "--predelay", "1e9", "-o", out),
                       "--predelay", "8e+09 frames", "2^31")
    assert_usage_error(cli("deconvolve", files["x.wav"], files["ir.wav"], "--length", "1e9s", "-o", out),
                       "--length", "8e+12 frames", "2^31")
    assert not out.exists()


@pytest.mark.parametrize("args, words", [
    (["--block", "1"], ["--block", "64"]),
    (["--block", "8", "-b", "fft"], ["--block", "64"]),
    (["--block", "100000000"], ["--block", str(sigconv.limits.MAX_BLOCK)]),
    (["--block", "64", "-b", "direct"], ["--block 79", "256 partitions"]),  # 20000 taps / 256
])
def test_block_bounds_are_stated_and_enforced(cli, files, tmp_path, args, words):
    result = cli("convolve", files["x.wav"], files["long-ir.wav"], *args, "-o", tmp_path / "out.wav")
    assert_usage_error(result, *words)


def test_the_smallest_block_still_convolves(cli, files, tmp_path):
    out = tmp_path / "out.wav"
    assert cli("convolve", files["x.wav"], files["ir.wav"], "--block", "64", "-b", "direct", "-o", out,
               "--subtype", "DOUBLE").exit_code == 0
    x, h = sf.read(files["x.wav"])[0], sf.read(files["ir.wav"])[0]
    np.testing.assert_allclose(read_float(out)[0][:, 0], scipy.signal.convolve(x, h, method="direct"), atol=1e-12)


@pytest.mark.parametrize("backend", ["direct", "auto"])
def test_stereo_pcm16_output_on_the_direct_backend(cli, files, tmp_path, backend):
    lowpass = tmp_path / "lp.wav"
    assert cli("impulse", "synth", "lowpass", "--cutoff", "1000", "--taps", "31", "--rate", RATE,
               "-o", lowpass).exit_code == 0
    out = tmp_path / "out.wav"
    result = cli("convolve", files["st16.wav"], lowpass, "-b", backend, "-o", out)
    assert result.exit_code == 0, result.stderr
    x, h = sf.read(files["st16.wav"])[0], sf.read(lowpass)[0]
    expected = np.stack([scipy.signal.convolve(x[:, c], h, method="direct") for c in range(2)], axis=1)
    y, _ = sf.read(out)
    assert sf.info(str(out)).subtype == "PCM_16"
    np.testing.assert_allclose(y, expected, atol=2 / 32768)


def test_impulse_info_of_a_short_fir_gives_nulls_with_reasons(cli, tmp_path):
    lowpass = tmp_path / "lp.wav"
    assert cli("impulse", "synth", "lowpass", "--cutoff", "1000", "--taps", "101", "-o", lowpass).exit_code == 0
    result = cli("impulse", "info", lowpass, "--json")
    assert result.exit_code == 0, result.stderr
    broadband = json.loads(result.stdout)["channels"][0]["bands"]["broadband"]
    assert broadband["T30"] is None and "too short" in broadband["reasons"]["T30"]


@pytest.mark.parametrize("signal_rate", [1, 2])
def test_resample_the_ir_to_a_1_or_2_hz_signal(cli, tmp_path, rng, signal_rate):
    sf.write(tmp_path / "slow.wav", rng.standard_normal(50), signal_rate, subtype="FLOAT")
    sf.write(tmp_path / "ir.wav", np.exp(-np.arange(800) / 100.0), 800, subtype="FLOAT")
    out = tmp_path / "out.wav"
    result = cli("convolve", tmp_path / "slow.wav", tmp_path / "ir.wav", "--resample", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert sf.info(str(out)).samplerate == signal_rate
    assert np.all(np.isfinite(read_float(out)[0]))


def test_deconvolving_an_empty_or_too_short_signal(cli, files, tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros((0, 1)), RATE, subtype="FLOAT")
    result = cli("deconvolve", tmp_path / "empty.wav", files["ir.wav"], "-o", tmp_path / "out.wav")
    assert result.exit_code == 3 and result.stderr.startswith("Error: the signal is empty (0 frames)")
    result = cli("deconvolve", files["ir.wav"], files["x.wav"], "-o", tmp_path / "out.wav")
    assert result.exit_code == 4 and "(40 frames) is shorter than the kernel (4000 frames)" in result.stderr
    assert "-99" not in result.stderr and "Traceback" not in result.stderr
