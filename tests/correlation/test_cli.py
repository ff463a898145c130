"""``sigconv correlate`` through CliRunner: output lines, JSON, files written, and every refusal with its exit code."""

from __future__ import annotations

import io
import json
import pickle
import re

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from sigconv import UsageError, correlate, correlate_files, drift_files, estimate_drift, locate, locate_file
from sigconv.correlation.files import CorrelateJob, CorrelateSettings, DriftSettings, LocateSettings
from sigconv.io.options import FileOptions

from ..conftest import read_float, run_sigconv

RATE = 48000


@pytest.fixture
def delayed(write_audio, rng):
    """A (1 s of noise) and B = A delayed by 480 samples (10 ms), as float WAV files."""
    source = rng.standard_normal(RATE + 1000)
    a, b = source[1000:], source[520 : RATE + 520]  # b[n] = a[n - 480]
    return a, b, write_audio("a.wav", a), write_audio("b.wav", b)


def test_help_states_the_sign_convention_and_examples(cli):
    result = cli("correlate", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "if B is A delayed by d seconds, the delay is +d" in text
    assert "Examples:" in result.stdout and "sigconv correlate" in result.stdout
    for option in ("--method", "--max-lag", "--min-lag", "--lag-range", "--ref-channel", "--min-confidence",
                   "--drift", "--window", "--locate", "--threshold", "--json", "--normalize", "--refine",
                   "--backend", "-b,"):
        assert option in result.stdout
    group = " ".join(cli("--help").stdout.split())
    assert "correlate" in group and "7 no reliable delay found" in group and "8 no correlation peak" in group


def test_one_line_per_pair(cli, delayed):
    *_, a, b = delayed
    result = cli("correlate", a, b)
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(r"delay: \+480\.00 samples \(\+0\.010000 s\)  peak [01]\.\d+  confidence \d+\.\d\n", result.stdout)
    assert result.stderr == ""


def test_json_shape_and_values(cli, delayed):
    *_, a, b = delayed
    result = cli("correlate", a, b, "--json", "--max-lag", "0.05")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["method"] == "gcc-phat" and document["rate"] == RATE
    assert document["search"] == {"lo_samples": -2400, "hi_samples": 2400, "min_abs_samples": 0, "form": "one transform"}
    (pair,) = document["pairs"]
    assert pair.keys() >= {"ref_channel", "channel", "delay_samples", "delay_seconds", "peak", "confidence"}
    assert (pair["ref_channel"], pair["channel"]) == (0, 0)
    assert pair["delay_samples"] == pytest.approx(480, abs=0.01)
    assert pair["delay_seconds"] == pytest.approx(pair["delay_samples"] / RATE, rel=1e-12)
    assert 0 < pair["peak"] <= 1 and pair["confidence"] > 10


def test_sign_flips_with_the_order(cli, delayed):
    *_, a, b = delayed
    document = json.loads(cli("correlate", b, a, "--json").stdout)
    assert document["pairs"][0]["delay_samples"] == pytest.approx(-480, abs=0.01)


def test_multichannel_b_against_a_reference_channel(cli, write_audio, rng):
    source = rng.standard_normal(30000)
    a = np.stack([rng.standard_normal(20000), source[5000:25000]], axis=1)  # the reference is channel 1
    b = np.stack([source[5000 - d : 25000 - d] for d in (12, -7, 0)], axis=1)
    result = cli("correlate", write_audio("a.wav", a), write_audio("b.wav", b), "--ref-channel", "1")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["channel 0", "channel 1", "channel 2"]
    assert [float(re.search(r"delay: ([+-][\d.]+) samples", line).group(1)) for line in lines] == [12.0, -7.0, 0.0]


def test_normalized_cc_written_as_csv(cli, write_audio, rng, tmp_path):
    a, b = rng.standard_normal(300), rng.standard_normal(200)
    out = tmp_path / "xcorr.csv"
    result = cli("correlate", write_audio("a.wav", a, rate=1000, subtype="DOUBLE"),
                 write_audio("b.wav", b, rate=1000, subtype="DOUBLE"), "--method", "cc", "--normalize", "-o", out,
                 "--min-confidence", "0")
    assert result.exit_code == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "lag_samples,lag_seconds,a0_b0"
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    expected = scipy.signal.correlate(b, a) / np.sqrt(np.sum(a**2) * np.sum(b**2))
    np.testing.assert_array_equal(table[:, 0], scipy.signal.correlation_lags(200, 300))
    np.testing.assert_allclose(table[:, 1], table[:, 0] / 1000, rtol=1e-15)
    np.testing.assert_allclose(table[:, 2], expected, atol=1e-12)
    assert result.stdout.startswith("delay: ")  # the report still goes to stdout


def test_function_as_audio_and_to_stdout(cli, delayed, tmp_path):
    *_, a, b = delayed
    result = cli("correlate", a, b, "--max-lag", "0.02", "-o", tmp_path / "r.wav")
    assert result.exit_code == 0, result.stderr
    values, rate = read_float(tmp_path / "r.wav")
    assert rate == RATE and values.shape == (1921, 1) and sf.info(str(tmp_path / "r.wav")).subtype == "FLOAT"
    assert np.argmax(values[:, 0]) == 960 + 480  # frame 0 is lag -960
    piped = cli("correlate", a, b, "--max-lag", "0.02", "-o", "-", "-f", "csv")
    assert piped.exit_code == 0
    assert piped.stdout.startswith("lag_samples,lag_seconds,a0_b0\n-960,")
    assert piped.stderr.startswith("delay: +480.00 samples")  # stdout carries the data, so the report moves


def test_output_over_an_input_is_refused(cli, delayed):
    *_, a, b = delayed
    before = open(b, "rb").read()
    result = cli("correlate", a, b, "-o", b, "-f", "wav")
    assert result.exit_code == 6 and "refusing to write over the input" in result.stderr
    assert open(b, "rb").read() == before


def test_standard_input(cli, delayed):
    _, b_data, a, b = delayed
    buf = io.BytesIO()
    sf.write(buf, b_data, RATE, format="WAV", subtype="FLOAT")
    result = cli("correlate", a, "-", "--json", input=buf.getvalue())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pairs"][0]["delay_samples"] == pytest.approx(480, abs=0.01)
    both = cli("correlate", "-", "-", input=buf.getvalue())
    assert both.exit_code == 2 and "cannot both be standard input" in both.stderr


def test_different_rates(cli, write_audio, rng):
    x = rng.standard_normal(44100)
    a = write_audio("a.wav", x, rate=44100)
    b = write_audio("b.wav", scipy.signal.resample_poly(np.concatenate([np.zeros(441), x]), 160, 147), rate=48000)
    refused = cli("correlate", a, b)
    assert refused.exit_code == 4
    assert "44100 Hz" in refused.stderr and "48000 Hz" in refused.stderr and "--resample" in refused.stderr
    result = cli("correlate", a, b, "--resample", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["rate"] == 44100 and document["pairs"][0]["delay_seconds"] == pytest.approx(0.01, abs=2e-5)
    assert "resampled B from 48000 Hz to 44100 Hz" in result.stderr


def test_nan_is_an_input_error(cli, write_audio, rng):
    x = rng.standard_normal(1000)
    x[10] = np.nan
    result = cli("correlate", write_audio("a.wav", rng.standard_normal(1000)), write_audio("nan.wav", x))
    assert result.exit_code == 3 and "NaN" in result.stderr and "Traceback" not in result.stderr


def test_silence_has_no_correlation_peak(cli, write_audio, rng):
    result = cli("correlate", write_audio("a.wav", rng.standard_normal(1000)), write_audio("s.wav", np.zeros(1000)))
    assert result.exit_code == 8
    assert "silent" in result.stderr and "no correlation peak" in result.stderr and result.stdout == ""


def test_low_confidence_prints_no_delay(cli, write_audio, rng):
    a = write_audio("a.wav", rng.standard_normal(20000))
    b = write_audio("b.wav", rng.standard_normal(20000))
    result = cli("correlate", a, b)
    assert result.exit_code == 7 and "delay:" not in result.stdout  # the line says why there is no delay
    assert re.fullmatch(r"no reliable delay \(best lag [+-]\d+ samples, [+-][\d.]+ s, peak \S+, confidence [01]\.\d\)\n",
                        result.stdout)
    assert "no reliable delay found" in result.stderr and "--min-confidence 1.5" in result.stderr
    assert cli("correlate", a, b, "--min-confidence", "0").exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--normalize"], "--normalize applies to --method cc"),
    (["--ref-channel", "3"], "--ref-channel 3 does not exist"),
    (["--max-lag", "1", "--lag-range", "0", "1"], "either --max-lag or --lag-range"),
    (["--max-lag", "-1"], "--max-lag must be zero or more"),
    (["--drift", "--locate"], "--drift and --locate"),
    (["--window", "3"], "--window applies to --drift"),
    (["--threshold", "0.5"], "--threshold applies to --locate"),
    (["--locate", "--max-lag", "1"], "--max-lag does not apply to --locate"),
    (["--drift", "-o", "x.csv"], "-o does not apply to --drift"),
])
def test_usage_errors(cli, delayed, args, message):
    *_, a, b = delayed
    result = cli("correlate", a, b, *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_drift_report_and_json(cli, write_audio, rng):
    rate = 8000
    a = rng.standard_normal(30 * rate)
    b = np.concatenate([rng.standard_normal(400), scipy.signal.resample_poly(a, 10001, 10000)])
    af, bf = write_audio("a.wav", a, rate=rate), write_audio("b.wav", b, rate=rate)
    result = cli("correlate", af, bf, "--drift", "--window", "2")
    assert result.exit_code == 0, result.stderr
    match = re.fullmatch(r"offset: \+(\S+) samples \(\+(\S+) s\)  drift \+(\S+) ppm  \((\d+) of (\d+) windows, "
                         r"residual \S+ samples\)\n", result.stdout)
    assert match and float(match.group(1)) == pytest.approx(400, abs=0.3)
    assert float(match.group(3)) == pytest.approx(100, abs=1)
    document = json.loads(cli("correlate", af, bf, "--drift", "--window", "2", "--json").stdout)
    (pair,) = document["pairs"]
    assert pair["drift_ppm"] == pytest.approx(100, abs=1) and pair["offset_seconds"] == pytest.approx(0.05, abs=1e-4)
    assert len(pair["windows"]) == 29 and all("delay_seconds" in w for w in pair["windows"])


def test_locate_lines_json_and_no_match(cli, write_audio, rng):
    rate = 8000
    clip = rng.standard_normal(rate // 2)
    x = 0.3 * rng.standard_normal(20 * rate)
    for start in (12_000, 100_001):
        x[start : start + clip.size] += clip
    clip_path, recording = write_audio("clip.wav", clip, rate=rate), write_audio("rec.wav", x, rate=rate)
    result = cli("correlate", "--locate", clip_path, recording)
    assert result.exit_code == 0, result.stderr
    assert [line.split(" s ")[0] for line in result.stdout.splitlines()] == ["1.500000", "12.500125"]
    assert [line.split("  ")[1] for line in result.stdout.splitlines()] == ["00:00:01.500", "00:00:12.500"]
    assert all(re.fullmatch(r"\S+ s  \d\d:\d\d:\d\d\.\d{3}  score 0\.9\d\d", line)
               for line in result.stdout.splitlines())
    document = json.loads(cli("correlate", "--locate", clip_path, recording, "--json").stdout)
    assert [m["start_samples"] for m in document["matches"]] == [12_000, 100_001] and document["threshold"] == 0.5
    assert [m["start_clock"] for m in document["matches"]] == ["00:00:01.500", "00:00:12.500"]
    none = cli("correlate", "--locate", clip_path, recording, "--threshold", "0.99")
    assert none.exit_code == 0 and none.stdout == "" and "no occurrence reached --threshold 0.99" in none.stderr


def test_locate_reads_the_recording_from_a_pipe(write_audio, rng, tmp_path):
    rate = 8000
    clip = rng.standard_normal(rate // 4)
    x = 0.3 * rng.standard_normal(5 * rate)
    x[9000 : 9000 + clip.size] += clip
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype="PCM_16")
    proc = run_sigconv("correlate", "--locate", write_audio("clip.wav", clip, rate=rate), "-", input=buf.getvalue())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split(" s ")[0] == "1.125000"


# --- backends ---------------------------------------------------------------------------------------------------



@pytest.mark.parametrize("options", [{}, {"max_lag": 0.02}, {"max_lag": 0.002, "block": 5000},
                                     {"method": "scot", "max_lag": 0.002}])
@pytest.mark.parametrize("channels", [1, 2])
def test_correlate_files_on_the_strict_backend(write_audio, rng, strict, options, channels):
    """Files streamed into the transforms (whole or block by block) give what the arrays give."""
    source = rng.standard_normal(RATE + 2000)
    a = source[1000 : RATE + 1000]
    b = np.stack([source[1000 - d : RATE + 1000 - d] for d in (48, -30)[:channels]], axis=1)
    a_path, b_path = write_audio("a.wav", a, subtype="DOUBLE"), write_audio("b.wav", b, subtype="DOUBLE")
    result = correlate_files(a_path, b_path, backend=strict, keep_function=True, rate=None, **options)
    reference = correlate(a, b, RATE, **options)
    np.testing.assert_array_equal(result.lags, reference.lags)
    np.testing.assert_allclose(result.values, reference.values, rtol=0, atol=1e-9 * np.abs(reference.values).max())
    assert [p.lag for p in result.pairs] == [p.lag for p in reference.pairs] == [48, -30][:channels]
    np.testing.assert_allclose([p.delay_samples for p in result.pairs], [p.delay_samples for p in reference.pairs],
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose([p.delay_samples for p in result.pairs], [48, -30][:channels], atol=0.01)


def test_settings_jobs_and_keywords(delayed, strict):
    *_, a, b = delayed
    settings = CorrelateSettings(max_lag=0.02, backend=strict)
    job = CorrelateJob(a, b, settings, FileOptions())
    assert pickle.loads(pickle.dumps(job)) == job
    by_job = job.run(context=1)
    by_keywords = correlate_files(a, b, max_lag=0.02, backend=strict)
    by_settings = correlate_files(a, b, settings, context=1)
    assert by_job.pairs == by_keywords.pairs == by_settings.pairs
    assert by_job.pairs[0].delay_samples == pytest.approx(480, abs=0.01)
    with pytest.raises(UsageError, match="unknown option.*max_lags"):
        correlate_files(a, b, max_lags=0.02)
    with pytest.raises(UsageError, match="--ref-channel 1 does not exist"):
        correlate_files(a, b, ref_channel=1)


def test_drift_and_locate_files_on_the_strict_backend(write_audio, rng, strict):
    rate = 8000
    a = rng.standard_normal(12 * rate)
    b = np.concatenate([rng.standard_normal(400), scipy.signal.resample_poly(a, 10001, 10000)])
    af, bf = write_audio("a.wav", a, rate=rate, subtype="DOUBLE"), write_audio("b.wav", b, rate=rate, subtype="DOUBLE")
    result, notes = drift_files(af, bf, DriftSettings(window=2.0, backend=strict))
    expected = estimate_drift(a, b, rate, window=2.0)
    assert notes == [] and result.pairs[0].drift_ppm == pytest.approx(expected.pairs[0].drift_ppm, abs=1e-6)
    assert result.pairs[0].offset_samples == pytest.approx(400, abs=0.3)
    clip = a[rate : 2 * rate]
    clip_path = write_audio("clip.wav", clip, rate=rate, subtype="DOUBLE")
    found, notes = locate_file(clip_path, af, LocateSettings(threshold=0.9, backend=strict), files=FileOptions())
    assert [m.start_samples for m in found.matches] == [rate]
    assert found.matches[0].score == pytest.approx(locate(clip, a, rate, threshold=0.9).matches[0].score, abs=1e-9)
    keywords, _ = locate_file(clip_path, af, threshold=0.9, backend=strict)
    assert keywords.matches == found.matches


@pytest.mark.parametrize("mode", ["plain", "drift", "locate"])
def test_backend_option(cli, delayed, write_audio, mode):
    a_data, _, a, b = delayed
    args = {"plain": [a, b], "drift": [a, b, "--drift", "--window", "0.25"],
            "locate": ["--locate", write_audio("clip.wav", a_data[1000:5800]), a]}[mode]
    result = cli("correlate", *args, "--backend", "fft", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    if mode == "plain":
        assert document["pairs"][0]["delay_samples"] == pytest.approx(480, abs=0.01)
    elif mode == "drift":
        assert document["pairs"][0]["offset_samples"] == pytest.approx(480, abs=0.05)
    else:
        assert [m["start_samples"] for m in document["matches"]] == [1000]
    direct = cli("correlate", *args, "-b", "direct")
    assert direct.exit_code == 5 and direct.stdout == ""
    message = " ".join(direct.stderr.split())
    assert "'direct' does not run correlate" in message and "fft" in message, message
    unknown = cli("correlate", *args, "--backend", "nope")
    assert unknown.exit_code == 5 and "nope" in unknown.stderr and "Traceback" not in unknown.stderr


# --- every pair reported, whatever fails ------------------------------------------------------------------------


@pytest.fixture
def half_related(write_audio, rng):
    """A, and a stereo B whose channel 0 is A 480 samples later and whose channel 1 is unrelated noise."""
    source = rng.standard_normal(RATE + 1000)
    a = source[1000:]
    b = np.stack([source[520 : RATE + 520], rng.standard_normal(RATE)], axis=1)
    return write_audio("a.wav", a), write_audio("b.wav", b)


def test_json_reports_every_pair_when_one_fails(cli, half_related):
    a, b = half_related
    result = cli("correlate", a, b, "--json")
    assert result.exit_code == 7
    document = json.loads(result.stdout)
    good, bad = document["pairs"]
    assert good["status"] == "ok" and good["reason"] is None and good["delay_samples"] == pytest.approx(480, abs=0.01)
    assert bad["status"] == "unreliable" and bad["delay_samples"] is None and bad["confidence"] < 1.5
    assert "B channel 1 against A channel 0" in bad["reason"] and "--min-confidence 1.5" in bad["reason"]
    assert "no reliable delay found (B channel 1" in result.stderr


def test_text_reports_every_pair_when_one_fails(cli, half_related):
    a, b = half_related
    result = cli("correlate", a, b)
    assert result.exit_code == 7
    first, second = result.stdout.splitlines()
    assert first.startswith("channel 0: delay: +480.00 samples (+0.010000 s)")
    assert second.startswith("channel 1: no reliable delay (best lag ")
    both_fail = cli("correlate", a, b, "--json", "--min-confidence", "1e9")
    assert both_fail.exit_code == 7 and [p["status"] for p in json.loads(both_fail.stdout)["pairs"]] == [
        "unreliable", "unreliable"]


def test_the_function_is_written_even_when_the_delay_is_unreliable(cli, half_related, tmp_path):
    a, b = half_related
    out = tmp_path / "r.csv"
    result = cli("correlate", a, b, "--max-lag", "0.02", "-o", out)
    assert result.exit_code == 7
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (1921, 4) and table[np.argmax(table[:, 2]), 0] == 480
    assert f"Warning: wrote the correlation function to {out}, but 1 channel pair has no reliable delay" in result.stderr


def test_an_inverted_b_is_said(cli, write_audio, rng):
    source = rng.standard_normal(RATE + 1000)
    a, b = write_audio("a.wav", source[1000:]), write_audio("b.wav", -0.5 * source[520 : RATE + 520])
    result = cli("correlate", a, b)
    assert result.exit_code == 0
    assert re.fullmatch(r"delay: \+480\.00 samples \(\+0\.010000 s\)  peak -0\.\d+  confidence \d+\.\d  inverted\n",
                        result.stdout)
    assert "Note: B channel 0 is inverted against A channel 0" in result.stderr
    assert json.loads(cli("correlate", a, b, "--json").stdout)["pairs"][0]["polarity"] == "inverted"


def test_help_says_what_exit_7_still_delivers(cli):
    text = " ".join(cli("correlate", "--help").stdout.split())
    assert "exits with status 7 after printing every channel, with --json too" in text
    assert "-o still writes the correlation function" in text
    assert "Written even when a delay is unreliable (with a warning and exit status 7)" in text
    assert "hh:mm:ss.mmm" in text
