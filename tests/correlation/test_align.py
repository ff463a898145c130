"""sigconv.correlation.align and ``correlate --aligned``: B put back on A's timeline, against signals whose delay and
drift are known exactly (sums of sinusoids evaluated at the drifted times, scipy's polyphase resampler)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from sigconv import UsageError
from sigconv.correlation.align import BLOCK, align_file, align_signal, aligned_blocks

RATE = 16000


def sines(rng, times, count=40, top=0.85):
    """A sum of ``count`` sinusoids up to ``top`` of the Nyquist frequency, evaluated at ``times`` (samples)."""
    freqs = rng.uniform(0.002, top * 0.5, count)
    phases = rng.uniform(0, 2 * np.pi, count)
    return np.sin(2 * np.pi * np.outer(times, freqs) + phases).sum(axis=1) / np.sqrt(count / 2)


def error_db(x, reference):
    return 10 * np.log10(np.mean((x - reference) ** 2) / np.mean(reference ** 2))


@pytest.mark.parametrize("offset, ppm", [(1234.37, 50.0), (-851.6, -120.0), (300.25, 0.0)])
def test_a_delayed_and_drifted_copy_is_put_back_on_a_timeline(rng, offset, ppm):
    """B[m] = x((m - offset) / (1 + drift)): B lags A by offset + drift * n; aligned, it is x again."""
    n = 5 * RATE
    state = rng.bit_generator.state
    b = sines(rng, (np.arange(n + 4000) - offset) / (1 + ppm * 1e-6))
    rng.bit_generator.state = state
    x = sines(rng, np.arange(n))
    y = align_signal(b, offset / RATE, RATE, drift_ppm=ppm, length=n)[:, 0]
    inside = slice(max(0, int(-offset)) + 64, n - 64)  # where B holds A's times, away from B's edges
    assert error_db(y[inside], x[inside]) < -70


def test_real_length_drift_through_scipys_resampler(rng):
    """B = x resampled by 20001/20000 (+50 ppm) behind 0.25 s of other noise; aligned, it is x to -50 dB (the
    limit is scipy's default filter, Kaiser beta 5, that made B; the sums of sinusoids above reach -70 dB)."""
    x = resample_poly(rng.standard_normal(16 * RATE), 5, 4)[: 16 * RATE]  # band-limited to 0.8 of Nyquist
    b = np.concatenate([rng.standard_normal(4000), resample_poly(x, 20001, 20000)])
    y = align_signal(b, 0.25, RATE, drift_ppm=50, length=x.size)[:, 0]
    assert y.shape == x.shape and error_db(y[100:-100], x[100:-100]) < -50
    assert error_db(align_signal(b, 0.25, RATE, length=x.size)[-RATE:, 0], x[-RATE:]) > -10  # drift left in


def test_a_whole_sample_shift_is_a_copy_with_silence_outside_b(rng):
    b = rng.standard_normal((1000, 2))
    np.testing.assert_array_equal(align_signal(b, 7, length=900), b[7:907])
    shifted = align_signal(b, -7, length=1100)
    np.testing.assert_array_equal(shifted[:7], 0)
    np.testing.assert_array_equal(shifted[7:1007], b)
    np.testing.assert_array_equal(shifted[1007:], 0)
    assert align_signal(b, 0.5, length=0).shape == (0, 2)


def test_b_streams_through_in_bounded_memory(rng):
    """Each output block reads only the input it needs: the stream is never read ahead by more than a block."""
    taken = []

    def blocks():
        for start in range(0, 40 * BLOCK, 4096):
            taken.append(start)
            yield np.full((4096, 1), 0.5)

    stream = aligned_blocks(blocks(), 1, 100.5, 20.0, length=30 * BLOCK)
    for k in range(3):
        part = next(stream)
        assert part.shape == (BLOCK, 1)
        assert taken[-1] < (k + 2) * BLOCK + 4096  # what block k needs, and no more
    np.testing.assert_allclose(part[100:-100], 0.5, atol=1e-4)


@pytest.mark.parametrize("bad, message", [({"delay": np.nan}, "delay"), ({"drift_ppm": np.inf}, "drift"),
                                          ({"drift_ppm": 2e5}, "not a clock drift"), ({"length": -1}, "zero or more")])
def test_bad_values_are_refused(bad, message):
    options = {"delay": 1.0, "drift_ppm": 0.0, "length": 10} | bad
    with pytest.raises(UsageError, match=message):
        align_signal(np.ones(100), options["delay"], drift_ppm=options["drift_ppm"], length=options["length"])


def test_the_file_keeps_bs_sample_type_and_refuses_to_overwrite_it(tmp_path, rng):
    b = 0.5 * rng.standard_normal((4000, 2))
    path = tmp_path / "b.wav"
    sf.write(path, b, 8000, subtype="PCM_24")
    report = align_file(str(path), str(tmp_path / "out.wav"), 0.01, length=3000)
    out, rate = sf.read(tmp_path / "out.wav", always_2d=True)
    assert (rate, report.subtype, report.frames, out.shape) == (8000, "PCM_24", 3000, (3000, 2))
    stored, _ = sf.read(path, always_2d=True)
    np.testing.assert_array_equal(out, stored[80:3080])
    with pytest.raises(Exception, match="refusing to write over the input"):
        align_file(str(path), str(path), 0.01, length=3000)
    with pytest.raises(UsageError, match="standard input"):
        align_file("-", str(tmp_path / "x.wav"), 0.0, length=10)


def test_correlate_aligned_round_trip(cli, write_audio, rng, tmp_path):
    """A plain correlation and a drift fit, each writing B lined up with A (the error includes the delay's)."""
    x = resample_poly(rng.standard_normal(32 * 8000), 5, 4)[: 40 * 8000] * 0.2  # up to 0.8 of Nyquist
    af = write_audio("a.wav", x, 8000)
    plain = write_audio("plain.wav", np.concatenate([0.01 * rng.standard_normal(480), x]), 8000)
    result = cli("correlate", af, plain, "--aligned", tmp_path / "plain-synced.wav")
    assert result.exit_code == 0, result.stderr
    assert "wrote B aligned to A (shifted by +0.060000 s" in result.stderr
    y, _ = sf.read(tmp_path / "plain-synced.wav")
    assert y.shape == x.shape and error_db(y[50:-50], x[50:-50]) < -45

    drifting = write_audio("drift.wav", np.concatenate([0.01 * rng.standard_normal(400),
                                                        resample_poly(x, 9999, 10000)]), 8000)
    result = cli("correlate", af, drifting, "--drift", "--window", "4", "--json", "--aligned",
                 tmp_path / "drift-synced.wav")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pairs"][0]["drift_ppm"] == pytest.approx(-100, abs=0.1)
    y, _ = sf.read(tmp_path / "drift-synced.wav")
    assert y.shape == x.shape and error_db(y[50:-50], x[50:-50]) < -45


@pytest.mark.parametrize("args, message", [
    (["--locate"], "--aligned does not apply to --locate"),
    (["-o", "{tmp}/same.wav"], "-o and --aligned both name"),
])
def test_aligned_conflicts_are_refused(cli, write_audio, tmp_path, args, message):
    a = write_audio("a.wav", np.ones(100), 8000)
    out = str(tmp_path / "same.wav")
    result = cli("correlate", a, a, "--aligned", out, *[arg.format(tmp=tmp_path) for arg in args])
    assert result.exit_code == 2 and message in result.stderr


def test_aligned_needs_b_as_a_file_and_not_over_an_input(cli, write_audio):
    a = write_audio("a.wav", np.ones(100), 8000)
    result = cli("correlate", a, "-", "--aligned", "x.wav")
    assert result.exit_code == 2 and "--aligned needs B as a file" in result.stderr
    result = cli("correlate", a, a, "--aligned", a)
    assert result.exit_code == 6 and "refusing to write over the input" in result.stderr
    result = cli("correlate", a, a, "--aligned", "-")
    assert result.exit_code == 2 and "not standard output" in result.stderr
