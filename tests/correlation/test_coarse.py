"""Whole-range delays of long recordings coarse to fine (sigconv.correlation.coarse, .decimation).

Oracles: scipy's ``upfirdn`` for the streamed decimation (the same taps,
applied directly), analytic delays for the search, and the direct
one-transform search on the same data. The coarse stage is checked on
real material (:mod:`tests.correlation.takes`) at the decimation a pair of
1-hour 48 kHz files gets (a coarse rate of 533 Hz).
The memory test runs ``python -m sigconv correlate`` on generated files in
a subprocess and reads the child's own peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from sigconv import correlate
from sigconv.compute.frames import array_blocks
from sigconv.compute.ops import ArrayOps
from sigconv.correlation import coarse
from sigconv.correlation.decimation import Decimator, lowpass_taps
from sigconv.correlation.spectra import correlation_ops

from ..conftest import REPO
from . import takes

RATE = 16000


@pytest.mark.parametrize("factor, channels", [(2, 1), (5, 2), (30, 1)])
def test_decimator_equals_the_filter_applied_directly(rng, factor, channels):
    x = rng.standard_normal((50_003, channels))
    decimator = Decimator(ArrayOps(), factor, range(channels), channels)
    got = np.concatenate(list(decimator.run(array_blocks(x, 7000))))
    expected = np.stack([scipy.signal.upfirdn(lowpass_taps(factor), x[:, c], down=factor) for c in range(channels)],
                        axis=1)
    assert got.shape == expected.shape
    # float32 filtering; and what the filter leaves above the new Nyquist frequency (below -80 dB), which
    # upfirdn folds back into the band, the decimator drops
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


def test_the_low_pass_keeps_the_band_and_stops_what_would_alias():
    factor = 8
    response = np.abs(np.fft.rfft(lowpass_taps(factor), 1 << 16))
    frequency = np.fft.rfftfreq(1 << 16)  # cycles per input sample; the new Nyquist is 1 / (2 factor)
    nyquist = 0.5 / factor
    assert np.all(np.abs(20 * np.log10(response[frequency < 0.6 * nyquist])) < 0.1)
    assert np.all(20 * np.log10(response[frequency > nyquist] + 1e-300) < -70)


def _force_coarse(monkeypatch, points):
    monkeypatch.setattr(coarse, "WHOLE_POINTS", 1 << 10)
    monkeypatch.setattr(coarse, "COARSE_POINTS", points)


@pytest.mark.parametrize("delay", [1234.37, -40_001.3])
def test_coarse_to_fine_finds_the_delay_as_the_direct_search_does(rng, monkeypatch, delay):
    from .test_delays import delayed_pair, with_noise

    a, b = delayed_pair(rng, 120_000, delay, guard=50_000)
    a, b = with_noise(rng, a, 20), with_noise(rng, b, 20)
    direct = correlate(a, b, RATE).pairs[0]
    _force_coarse(monkeypatch, 1 << 14)  # a decimation of 15
    result = correlate(a, b, RATE, keep_function=False)
    found = result.pairs[0]
    assert result.search["form"] == "coarse to fine" and result.search["decimation"] == 15
    assert found.delay_samples == pytest.approx(delay, abs=0.02)
    assert found.delay_samples == pytest.approx(direct.delay_samples, abs=0.02)
    assert found.confidence > 5 and found.lag == direct.lag


def test_coarse_to_fine_on_the_strict_backend(rng, monkeypatch, strict):
    from .test_delays import delayed_pair

    a, b = delayed_pair(rng, 60_000, -777.25, guard=20_000)
    b = np.stack([b, -b], axis=1)
    _force_coarse(monkeypatch, 1 << 13)
    result = correlate(a, b, RATE, backend=strict, keep_function=False)
    reference = correlate(a, b, RATE, keep_function=False)
    assert result.search["form"] == reference.search["form"] == "coarse to fine"
    np.testing.assert_allclose([p.delay_samples for p in result.pairs], [-777.25, -777.25], atol=0.02)
    np.testing.assert_allclose([p.delay_samples for p in result.pairs], [p.delay_samples for p in reference.pairs],
                               atol=1e-6)
    assert [p.polarity for p in result.pairs] == [1, -1]


@pytest.fixture(scope="module")
def material():
    reason = takes.fetch()
    if reason:
        pytest.skip(reason)


@pytest.mark.network
@pytest.mark.parametrize("snr", [10, 0])
def test_the_coarse_stage_keeps_the_true_peak_among_its_candidates(material, snr):
    """Speech, music and noise, through the recorded hall and a living room: a candidate's fine window holds the
    direct path, so the fine stage can find it. The decimation is 30: a coarse rate of 533 Hz, what a pair of
    1-hour 48 kHz files gets."""
    factor = 30
    ops = correlation_ops("auto", 10**6, 10**6, 1, 1)
    cases = [(kind, room) for kind in takes.KINDS for room in ("hall left", "living room")]
    for seed, (kind, room) in enumerate(cases):
        a, b, truth = takes.take_pair(kind, room, 300 + seed, rate=RATE, seconds=20.0, snr_db=snr)
        sources = coarse.array_sources(a[:, None], b[:, None])
        lo, hi = -(a.size - 1), b.size - 1
        lo_c, hi_c = lo // factor - 2, -(-hi // factor) + 2
        _, _, candidates, _ = coarse._coarse_stage(sources, ops, factor, 0, lo_c, hi_c, 0, RATE, None, None,
                                                   ("A", "B"))
        windows = [coarse.canonical_window((lo_c + i) * factor, lo, hi, RATE) for i in candidates[0]]
        assert any(start + 80 <= truth <= start + width - 80 for start, width in windows), (kind, room, windows)


# The child's own high-water mark (VmHWM): ru_maxrss of RUSAGE_CHILDREN would start from pytest's peak, which
# Linux carries over into a child made by vfork + exec. `run` is what `python -m sigconv` runs.
MEASURE = """
import sys
from sigconv.cli import run
try:
    run(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(peak, file=sys.stderr)
sys.exit(code)
"""


def _long_pair(folder, minutes, rate=8000):
    """A (noise) and B (A low-passed, 1.2 s later, with noise) as PCM_16 files, written block by block."""
    rng = np.random.default_rng(int(minutes))
    frames, delay = int(minutes * 60 * rate), int(1.2 * rate)
    sos = scipy.signal.butter(4, 0.3 * rate, fs=rate, output="sos")
    state = np.zeros((sos.shape[0], 2))
    paths = folder / f"a{minutes}.wav", folder / f"b{minutes}.wav"
    with sf.SoundFile(paths[0], "w", rate, 1, "PCM_16") as fa, sf.SoundFile(paths[1], "w", rate, 1, "PCM_16") as fb:
        pending = np.zeros(delay)
        for start in range(0, frames, 1 << 20):
            x = 0.1 * rng.standard_normal(min(1 << 20, frames - start))
            fa.write(x)
            y, state = scipy.signal.sosfilt(sos, x, zi=state)
            stream = np.concatenate([pending, y])
            fb.write(stream[: x.size] + 0.01 * rng.standard_normal(x.size))
            pending = stream[x.size :]
    return paths


@pytest.mark.slow
def test_memory_does_not_grow_with_the_files_length(tmp_path):
    """15 and 30 minutes at 8 kHz (7.2 and 14.4 million frames per file), whole lag range, in a subprocess."""
    peaks = {}
    for minutes in (15, 30):
        a, b = _long_pair(tmp_path, minutes)
        proc = subprocess.run([sys.executable, "-c", MEASURE, "correlate", a, b, "--json"], capture_output=True,
                              cwd=REPO, timeout=600)
        assert proc.returncode == 0, proc.stderr.decode()
        (pair,) = json.loads(proc.stdout)["pairs"]
        assert pair["status"] == "ok" and abs(pair["delay_samples"] - 1.2 * 8000) < 4  # plus the low-pass's delay
        assert json.loads(proc.stdout)["search"]["form"] == "coarse to fine"
        peaks[minutes] = int(proc.stderr.decode().strip().splitlines()[-1]) / 1024
    print(f"peak RSS: {peaks}")
    assert peaks[30] < peaks[15] + 25, peaks  # MB: twice the length, the same memory
    assert max(peaks.values()) < 300, peaks
