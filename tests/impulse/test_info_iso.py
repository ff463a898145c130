"""``impulse info`` as acousticians use it: flags instead of nulls, fit ranges, onset, Ts, band-limited broadband,
refusal of what is no impulse response, the noise floor, and the plot (PNG and SVG)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import sigconv

from ..conftest import SAMPLES

RATE = 16000


def decay(rng, rt60: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return rng.standard_normal(t.size) * 10 ** (-3 * t / rt60)


def schroeder_db(h: np.ndarray) -> np.ndarray:
    e = np.cumsum((h ** 2)[::-1])[::-1]
    return 10 * np.log10(e / e[0])


def line_fit(edc: np.ndarray, top: float, bottom: float, rate: float):
    """-60/slope and the regression's r of the EDC between `top` and `bottom` dB."""
    first = int(np.argmax(edc <= top)) if top < 0 else 0
    last = int(np.argmax(edc <= bottom))
    t = np.arange(first, last + 1) / rate
    slope = np.polyfit(t, edc[first:last + 1], 1)[0]
    return -60 / slope, np.corrcoef(t, edc[first:last + 1])[0, 1]


def test_curvature_and_non_linearity_of_a_double_slope_decay_are_flagged(rng):
    t = np.arange(3 * RATE) / RATE
    h = rng.standard_normal(t.size) * (10 ** (-3 * t / 0.4) + 0.05 * 10 ** (-3 * t / 2.0))
    band = sigconv.impulse_info(h, RATE, bands=(1000,), broadband="Z").channels[0].bands["broadband"]
    t20, t30 = band.values["T20"], band.values["T30"]
    assert band.curvature == pytest.approx(100 * (t30 / t20 - 1))
    assert band.curvature > 10 and any(f.startswith("curvature C") for f in band.flags["T30"])
    edc = schroeder_db(h)
    for name, (top, bottom) in (("T20", (-5, -25)), ("T30", (-5, -35))):
        seconds, r = line_fit(edc, top, bottom, RATE)
        assert band.values[name] == pytest.approx(seconds, rel=0.02)
        assert band.fits[name].xi == pytest.approx(1000 * (1 - r * r), rel=0.05, abs=0.5)
    assert any(f.startswith("non-linearity xi") for f in band.flags["T30"])
    strict = sigconv.impulse_info(h, RATE, bands=(1000,), broadband="Z", strict=True).channels[0].bands["broadband"]
    assert strict.values["T30"] is None and "curvature" in strict.reasons["T30"]


def test_a_straight_decay_has_no_flags_and_its_centre_time(rng):
    h = decay(rng, 0.6, 1.5)
    band = sigconv.impulse_info(h, RATE, bands=(1000,), broadband="Z").channels[0].bands["broadband"]
    assert band.flags == {} and band.fits["T30"].xi < 10
    # energy exp(-13.8 t / T): its first moment over its sum is T / 13.8 (ISO 3382-1 Ts)
    assert band.values["Ts"] == pytest.approx(0.6 / (6 * math.log(10)), rel=0.05)
    e = h ** 2
    assert band.values["Ts"] == pytest.approx(np.dot(np.arange(e.size) / RATE, e) / e.sum(), rel=0.01)


def test_fit_ranges_and_onset_threshold(rng, cli, tmp_path):
    h = np.concatenate([np.zeros(800), decay(rng, 0.8, 2.0)])
    h[800] = 10.0  # direct sound
    h[640] = 10.0 * 10 ** (-15 / 20)  # 10 ms before it, 15 dB down
    info = sigconv.impulse_info(h, RATE, bands=(1000,), broadband="Z", ranges={"T30": (-5, -15)})
    assert info.channels[0].onset_s == pytest.approx(640 / RATE)  # within 20 dB of the peak: the pre-echo
    band = info.channels[0].bands["broadband"]
    assert band.values["T30"] == pytest.approx(line_fit(schroeder_db(h[640:]), -5, -15, RATE)[0], rel=0.02)
    assert band.fits["T30"].stop < band.fits["T20"].stop
    later = sigconv.impulse_info(h, RATE, bands=(1000,), onset_threshold_db=-10)
    assert later.channels[0].onset_s == pytest.approx(800 / RATE)
    path = tmp_path / "ir.wav"
    sf.write(path, h / 20, RATE, subtype="FLOAT")
    document = json.loads(cli("impulse", "info", path, "--json", "--t30-range", "-5:-15", "--onset-threshold",
                              "-10", "--bands", "1000").stdout)
    assert document["ranges_db"]["T30"] == [-5.0, -15.0] and document["channels"][0]["onset_s"] == 0.05
    result = cli("impulse", "info", path, "--t30-range", "-25:-5")
    assert result.exit_code == 2 and "must fall from its start to its end" in result.stderr
    result = cli("impulse", "info", path, "--edt-range", "0-10")
    assert result.exit_code == 2 and "--edt-range takes START:END" in result.stderr


def test_broadband_is_band_limited_or_weighted_and_highpass_removes_rumble(rng):
    """A 0.5 s room over a strong 8 Hz rumble (the recorded living room whose response peaks at 11 Hz)."""
    t = np.arange(2 * RATE) / RATE
    sos = scipy.signal.butter(4, [100, 5000], "bandpass", fs=RATE, output="sos")
    h = scipy.signal.sosfiltfilt(sos, decay(rng, 0.5, 2.0))
    h = h + 0.3 * np.sin(2 * np.pi * 8 * t) * 10 ** (-3 * t / 4.0)
    unweighted = sigconv.impulse_info(h, RATE, bands=(1000,), broadband="Z").channels[0].bands["broadband"]
    assert unweighted.values["T30"] != pytest.approx(0.5, rel=0.2) and unweighted.flags["T30"]
    for options in ({}, {"broadband": "A"}, {"broadband": "Z", "highpass": 40.0}):
        info = sigconv.impulse_info(h, RATE, bands=(1000,), **options)
        band = info.channels[0].bands["broadband"]
        assert band.values["T30"] == pytest.approx(0.5, rel=0.05), options
        assert "T30" not in band.flags
    assert sigconv.impulse_info(h, RATE, bands=(1000,)).as_dict()["broadband"].startswith(
        "the analysed bands' span, 707.1 Hz to 1414 Hz")


def test_speech_is_refused_unless_forced(cli, tmp_path):
    dry = SAMPLES / "dry.wav"  # a plucked-string phrase, not an impulse response
    x, rate = sf.read(dry)
    with pytest.raises(sigconv.SigconvError, match="does not look like an impulse response: no dominant peak"):
        sigconv.impulse_info(x, rate)
    result = cli("impulse", "info", dry)
    assert result.exit_code == 3 and result.stdout == ""
    assert "does not look like an impulse response: no dominant peak" in result.stderr and "--force" in result.stderr
    forced = cli("impulse", "info", dry, "--force", "--json", "--bands", "1000")
    assert forced.exit_code == 0
    warnings = json.loads(forced.stdout)["channels"][0]["warnings"]
    assert len(warnings) == 1 and "no dominant peak" in warnings[0]


def test_noise_floor_is_stated_in_dbfs_and_re_peak(rng):
    h = 0.5 * decay(rng, 0.4, 2.0)
    noise_rms = 10 ** (-70 / 20)
    h = h + noise_rms * rng.standard_normal(h.size)
    channel = sigconv.impulse_info(h, RATE, bands=(1000,)).channels[0]
    assert channel.noise_floor_db == pytest.approx(-70, abs=0.5) and not channel.noise_is_bound
    assert channel.noise_re_peak_db == pytest.approx(-70 - 20 * math.log10(np.max(np.abs(h))), abs=0.5)
    document = sigconv.impulse_info(h, RATE, bands=(1000,)).as_dict()["channels"][0]
    assert document["noise_floor_dbfs"] == pytest.approx(-70, abs=0.5) and document["inr_db"] > 40
    # cut where the decay meets the noise, the response holds no noise: its end's level is an upper bound
    cut = sigconv.impulse_info(h[: int(0.45 * RATE)], RATE, bands=(1000,)).channels[0]
    assert cut.noise_is_bound and cut.noise_floor_db >= channel.noise_floor_db - 1


def test_measure_states_the_noise_floor_as_info_does(rng):
    from sigconv.impulse.acoustics import lundeby

    h = decay(rng, 0.3, 1.0, 48000)[:, None] * 0.1
    recording = np.pad(sigconv.exponential_sweep(48000, 1.0, 50, 10000, silence=1.5), (0, 0))
    y = scipy.signal.fftconvolve(recording, h[:, 0])[: recording.size] + 1e-5 * rng.standard_normal(recording.size)
    result = sigconv.measure_ir(y, recording, 48000, trim_end=False)
    onset = sigconv.impulse_info(result.ir, 48000, bands=(1000,)).channels[0]
    assert result.noise_floor_db == pytest.approx(onset.noise_floor_db, abs=0.01)  # one definition, same value
    assert result.peak_dbfs == pytest.approx(onset.peak_dbfs, abs=1e-9)
    assert lundeby(result.ir[int(onset.onset_s * 48000):, 0], 48000).noise_db == pytest.approx(result.noise_floor_db,
                                                                                                abs=0.01)


def test_plot_svg(cli, tmp_path, rng):
    pytest.importorskip("matplotlib")
    from xml.etree import ElementTree

    room = tmp_path / "room.wav"
    stereo = np.stack([decay(rng, 0.3, 0.6, 24000), decay(rng, 0.35, 0.6, 24000)], axis=1)
    sf.write(room, 0.3 * stereo, 24000, subtype="FLOAT")
    svg = tmp_path / "ir.svg"
    assert cli("impulse", "info", room, "--plot", svg).exit_code == 0
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")
    axes = [g for g in root.iter() if g.get("id", "").startswith("axes_")]
    assert len(axes) >= 7  # six panels and the D50 axis
    lines = [g for g in root.iter() if g.get("id", "").startswith("line2d_")]
    assert len(lines) > 50
    result = cli("impulse", "info", room, "--plot", tmp_path / "ir.pdf")
    assert result.exit_code == 2 and "PNG or SVG" in result.stderr and not (tmp_path / "ir.pdf").exists()
