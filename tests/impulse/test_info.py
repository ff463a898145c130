"""``impulse_info``: decay times on IRs of known decay, and C50/C80/D50/EDT/DRR against their definitions computed here."""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest
import scipy.signal

import sigconv
from sigconv.impulse.bands import OCTAVE_BANDS

from ..conftest import REPO, SAMPLES, run_sigconv

RATE = 32000
BAND_RT60 = (1.6, 1.4, 1.2, 1.0, 0.8, 0.65, 0.5)  # 125 Hz ... 8 kHz


def modal_room(rng, seconds: float = 2.5, modes: int = 20, rate: float = RATE, band_rt60=BAND_RT60) -> np.ndarray:
    """Decaying modes (sinusoids at random phases) in each octave band, all of a band's modes with its RT60.

    Modes spaced wider than their own bandwidth give a decay whose energy
    curve is smooth, so the test measures the analysis and not the scatter
    of one noise realisation (which is about 1/sqrt(bandwidth x T), 7 % at
    125 Hz for a 1.6 s decay). benchmarks/bench_impulse.py uses it too.
    """
    t = np.arange(int(seconds * rate)) / rate
    h = np.zeros(t.size)
    for centre, rt60 in zip(OCTAVE_BANDS, band_rt60):
        for f in centre * 2 ** np.linspace(-0.4, 0.4, modes):
            h += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * 10 ** (-3 * t / rt60)
    return h


def decaying_noise(rng, rt60: float, seconds: float, rate: int = RATE, direct: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    h = rng.standard_normal(t.size) * 10 ** (-3 * t / rt60)
    h[0] += direct
    return h


@pytest.fixture(scope="module")
def banded():
    h = modal_room(np.random.default_rng(7))
    return h, sigconv.impulse_info(h, RATE, bands=OCTAVE_BANDS)


@pytest.mark.parametrize("name", ["T20", "T30"])
def test_decay_times_per_band_within_5_percent(banded, name):
    _, info = banded
    bands = info.channels[0].bands
    for centre, rt60 in zip(OCTAVE_BANDS, BAND_RT60):
        assert bands[str(centre)].values[name] == pytest.approx(rt60, rel=0.05), centre


def test_single_decay_broadband_t20_t30_within_5_percent(rng):
    for rt60 in (0.3, 1.0, 2.5):
        info = sigconv.impulse_info(decaying_noise(rng, rt60, 1.5 * rt60, rate=16000), 16000, broadband="Z")
        values = info.channels[0].bands["broadband"].values
        assert values["T20"] == pytest.approx(rt60, rel=0.05) and values["T30"] == pytest.approx(rt60, rel=0.05)


def _edc_db(e: np.ndarray) -> np.ndarray:
    edc = np.cumsum(e[::-1])[::-1]
    return 10 * np.log10(edc / edc[0])


def _fit(edc_db: np.ndarray, top: float, bottom: float, rate: float) -> float:
    first = int(np.argmax(edc_db <= top)) if top < 0 else 0
    last = int(np.argmax(edc_db <= bottom))
    t = np.arange(first, last + 1) / rate
    slope = np.polyfit(t, edc_db[first: last + 1], 1)[0]
    return -60 / slope


def test_edt_c50_c80_d50_match_their_definitions(rng):
    """A direct sound, a 20 ms gap and a noise tail: the parameters computed here from ISO 3382-1's formulas."""
    rate = 16000
    h = np.zeros(int(2.0 * rate))
    h[int(0.004 * rate)] = 1.0  # direct sound at 4 ms
    tail = decaying_noise(rng, 0.9, 1.976, rate) * 0.06
    h[int(0.024 * rate):] += tail[: h.size - int(0.024 * rate)]
    values = sigconv.impulse_info(h, rate, broadband="Z").channels[0]
    onset = np.flatnonzero(np.abs(h) >= 0.1 * np.max(np.abs(h)))[0]  # first sample within 20 dB of the peak
    assert values.onset_s == pytest.approx(onset / rate)
    e = h[onset:] ** 2
    edc = _edc_db(e)
    bb = values.bands["broadband"].values
    assert bb["EDT"] == pytest.approx(_fit(edc, 0, -10, rate), rel=0.01)
    assert bb["T20"] == pytest.approx(_fit(edc, -5, -25, rate), rel=0.01)
    assert bb["T30"] == pytest.approx(_fit(edc, -5, -35, rate), rel=0.01)
    for ms, name in ((50, "C50"), (80, "C80")):
        k = int(ms * rate / 1000)
        assert bb[name] == pytest.approx(10 * math.log10(e[:k].sum() / e[k:].sum()), abs=0.05)
    k = int(0.05 * rate)
    assert bb["D50"] == pytest.approx(e[:k].sum() / e.sum(), abs=0.002)
    # DRR: the direct sound alone within +-2.5 ms of the peak, against the whole tail
    assert values.drr == pytest.approx(10 * math.log10(1.0 / np.sum(h[int(0.024 * rate):] ** 2)), abs=0.05)


def _iec_band_sos(rate, centre, edge_db):
    """A 3rd-order Butterworth band-pass, geometrically centred on the base-2 mid-band frequency, whose digital
    response is `edge_db` down at the octave's edges (found by bisection on its response, not by formula)."""
    fm = 1000 * 2.0 ** round(math.log2(centre / 1000))
    low, high = fm / math.sqrt(2), fm * math.sqrt(2)

    def excess(widen):
        sos = scipy.signal.butter(3, [low / widen, min(high * widen, 0.499 * rate)], "bandpass", fs=rate,
                                  output="sos")
        response = scipy.signal.sosfreqz(sos, [low, high], fs=rate)[1]
        return float(np.mean(-20 * np.log10(np.abs(response)))) - edge_db

    widen = scipy.optimize.brentq(excess, 1.0, 1.5)
    return scipy.signal.butter(3, [low / widen, high * widen], "bandpass", fs=rate, output="sos")


def test_band_parameters_use_zero_phase_octave_filters(rng):
    """C50 and EDT of the 1 kHz band from a Butterworth octave filter 1.5 dB down at the edges, run both ways."""
    import scipy.optimize

    rate = 16000
    h = decaying_noise(rng, 0.7, 1.5, rate, direct=8.0)
    sos = _iec_band_sos(rate, 1000, 1.5)
    pad = rate
    band = scipy.signal.sosfiltfilt(sos, np.pad(h, pad), padtype=None)[pad:-pad]
    e = band ** 2  # the onset of this h is its first sample
    k50 = int(0.05 * rate)
    values = sigconv.impulse_info(h, rate, bands=(1000,)).channels[0].bands["1000"].values
    assert values["C50"] == pytest.approx(10 * math.log10(e[:k50].sum() / e[k50:].sum()), abs=0.1)
    assert values["EDT"] == pytest.approx(_fit(_edc_db(e), 0, -10, rate), rel=0.02)


def test_lundeby_keeps_a_noisy_tail_from_inflating_t30(rng):
    rate, rt60 = 16000, 1.0
    clean = decaying_noise(rng, rt60, 3.0, rate)
    noisy = clean + 10 ** (-50 / 20) * rng.standard_normal(clean.size)  # floor 50 dB under the start
    naive = _fit(_edc_db(noisy ** 2), -5, -35, rate)  # Schroeder over the whole response, as done here
    assert naive > 1.3 * rt60
    t30_noisy = sigconv.impulse_info(noisy, rate).channels[0].bands["broadband"].values["T30"]
    t30_clean = sigconv.impulse_info(clean, rate).channels[0].bands["broadband"].values["T30"]
    assert t30_noisy == pytest.approx(t30_clean, rel=0.03)
    assert t30_noisy == pytest.approx(rt60, rel=0.05)


def test_too_little_decay_range_is_flagged_and_strict_nulls_it(rng):
    rate = 16000
    h = decaying_noise(rng, 1.0, 2.0, rate) + 10 ** (-38 / 20) * rng.standard_normal(2 * rate)
    band = sigconv.impulse_info(h, rate, broadband="Z").channels[0].bands["broadband"]
    assert band.values["T30"] == pytest.approx(1.0, rel=0.1)  # measured, as REW shows it, with a flag
    assert any("45 dB for T30" in flag for flag in band.flags["T30"]) and "T30" not in band.reasons
    assert band.values["EDT"] == pytest.approx(1.0, rel=0.1) and "EDT" not in band.flags
    document = band.as_dict()
    assert document["T30"] == pytest.approx(1.0, rel=0.1) and document["flags"]["T30"] == band.flags["T30"]
    strict = sigconv.impulse_info(h, rate, broadband="Z", strict=True).channels[0].bands["broadband"]
    assert strict.values["T30"] is None and "45 dB for T30" in strict.reasons["T30"]
    assert strict.values["EDT"] == band.values["EDT"]


def test_bands_above_nyquist_are_null_with_a_reason(rng):
    info = sigconv.impulse_info(decaying_noise(rng, 0.5, 1.0, 16000), 16000, bands=OCTAVE_BANDS)
    band = info.channels[0].bands["8000"]
    assert all(v is None for v in band.values.values())
    assert "Nyquist" in band.reasons["T30"]


def test_json_shape_has_one_object_per_channel(rng):
    rate = 16000
    h = np.stack([decaying_noise(rng, 0.5, 1.0, rate, direct=5), decaying_noise(rng, 0.8, 1.0, rate)], axis=1)
    document = sigconv.impulse_info(h, rate).as_dict()
    assert document["rate"] == rate and len(document["channels"]) == 2
    for c, channel in enumerate(document["channels"]):
        assert channel["channel"] == c and channel["length_s"] == pytest.approx(1.0)
        assert channel.keys() >= {"channel", "length_s", "peak_s", "bands", "DRR"}
        # the default octave bands from 63 Hz up to the last whose upper edge lies below Nyquist
        assert list(channel["bands"]) == ["63", "125", "250", "500", "1000", "2000", "4000", "broadband"]
        for band in channel["bands"].values():
            assert band.keys() >= {"EDT", "T20", "T30", "C50", "C80", "D50"}
    assert document["channels"][0]["peak_s"] == 0.0


# --- without matplotlib -----------------------------------------------------------------------


@pytest.fixture
def no_matplotlib(monkeypatch):
    """Make every ``import matplotlib...`` in this process fail, as when it is not installed."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)


def test_plot_without_matplotlib_is_a_missing_dependency(rng, tmp_path, no_matplotlib):
    h = decaying_noise(rng, 0.5, 1.0)
    info = sigconv.impulse_info(h, RATE)
    png = tmp_path / "ir.png"
    with pytest.raises(sigconv.SigconvError) as excinfo:
        sigconv.plot_impulse(h, RATE, info, str(png))
    error = excinfo.value
    assert type(error).__name__ == "MissingDependencyError" and error.exit_code == 10
    assert isinstance(error, ImportError) and not isinstance(error, sigconv.BackendUnavailableError)
    assert str(error) == "plotting needs matplotlib, which is not installed: pip install 'sigconv[plot]'"
    assert error.name == "matplotlib"
    assert isinstance(error.__cause__, ImportError) and not isinstance(error.__cause__, sigconv.SigconvError)
    assert not png.exists()


def test_info_file_with_plot_fails_before_analysing_without_matplotlib(tmp_path, no_matplotlib, monkeypatch):
    from sigconv.errors import MissingDependencyError
    from sigconv.impulse import files

    def analysis_must_not_run(*args, **kwargs):
        raise AssertionError("analysed although the plot cannot be drawn")

    monkeypatch.setattr(files, "impulse_info", analysis_must_not_run)
    with pytest.raises(ImportError, match=r"pip install 'sigconv\[plot\]'") as excinfo:
        sigconv.impulse_info_file(str(SAMPLES / "room-ir.wav"), plot=str(tmp_path / "ir.png"))
    assert isinstance(excinfo.value, MissingDependencyError)
    assert not (tmp_path / "ir.png").exists()


def test_cli_plot_without_matplotlib_exits_10_without_a_traceback(tmp_path):
    # a real process whose `import matplotlib` fails as it does where matplotlib is not installed
    hidden = tmp_path / "hidden"
    (hidden / "matplotlib").mkdir(parents=True)
    (hidden / "matplotlib" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'matplotlib'\", name='matplotlib')\n"
    )
    png = tmp_path / "ir.png"
    result = run_sigconv("impulse", "info", SAMPLES / "room-ir.wav", "--plot", png,
                         env={"PYTHONPATH": os.pathsep.join([str(hidden), str(REPO)])})
    stderr = result.stderr.decode()
    assert result.returncode == 10, stderr
    assert stderr == "Error: plotting needs matplotlib, which is not installed: pip install 'sigconv[plot]'\n"
    assert result.stdout == b""
    assert not png.exists()


@pytest.mark.parametrize("rate", [8000, 48000, 96000])
def test_responses_shorter_than_a_few_lundeby_intervals_give_nulls_not_errors(rate):
    from sigconv.impulse.acoustics import lundeby

    rng = np.random.default_rng(5)
    width = round(0.01 * rate)  # Lundeby's first intervals: 10 ms
    for frames in (16, width, 2 * width):
        h = rng.standard_normal(frames) * np.exp(-4 * np.arange(frames) / frames)
        assert lundeby(h, rate) is None
        broadband = sigconv.impulse_info(h, rate).channels[0].bands["broadband"]
        assert broadband.values["T30"] is None and "too short" in broadband.reasons["T30"]
