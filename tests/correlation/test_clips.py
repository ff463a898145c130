"""sigconv.correlation.clips: a clip inserted at known places in a long noise recording, found in a stream of blocks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from sigconv import (
    BackendUnavailableError,
    IncompatibleSignalsError,
    InvalidSignalError,
    NoCorrelationPeakError,
    UsageError,
    locate,
)
from sigconv.compute.frames import array_blocks

from ..conftest import REPO

RATE = 8000


def recording_with(rng, clip, starts, seconds=30.0, gains=None, noise=0.3):
    """Noise of ``seconds`` with ``clip`` added at each of ``starts`` (in samples)."""
    x = noise * rng.standard_normal(int(seconds * RATE))
    for start, gain in zip(starts, gains or [1.0] * len(starts)):
        x[start : start + clip.size] += gain * clip
    return x


def pearson(clip, window):
    c, w = clip - clip.mean(), window - window.mean()
    return float(np.dot(c, w) / np.sqrt(np.dot(c, c) * np.dot(w, w)))


@pytest.mark.parametrize("block", [None, 3000, 20011])
def test_every_occurrence_in_a_stream_of_blocks(rng, block):
    clip = rng.standard_normal(RATE)  # 1 s
    starts = [25_600, 93_601, 180_000, 231_999]  # one across each kind of block boundary, one near the end
    x = recording_with(rng, clip, starts)
    result = locate(clip, array_blocks(x[:, None], 4096), RATE, block=block)
    assert [round(m.start_samples) for m in result.matches] == starts
    for m, start in zip(result.matches, starts):
        assert abs(m.start_samples - start) < 0.5
        assert m.start_seconds == pytest.approx(start / RATE, abs=1e-4)
        assert m.score == pytest.approx(pearson(clip, x[start : start + clip.size]), abs=0.02)
    assert result.recording_frames == x.size and result.best.score == max(m.score for m in result.matches)


def test_scores_are_pearson_coefficients(rng):
    clip = rng.standard_normal(300)
    x = 0.7 * rng.standard_normal(5000) + 0.2  # a DC offset does not matter
    x[1000:1300] = 4.0 * clip + 1.0  # gain and offset do not matter either
    result = locate(clip, x, threshold=-1.0)
    top = max(result.matches, key=lambda m: m.score)
    assert top.start_samples == pytest.approx(1000, abs=1e-6) and top.score == pytest.approx(1.0)
    positions = [m.start_samples for m in result.matches]
    assert np.all(np.diff(positions) >= clip.size)  # matches are at least a clip length apart


def test_threshold_and_best(rng):
    clip = rng.standard_normal(800)
    x = recording_with(rng, clip, [4000, 20000], seconds=4.0, gains=[1.0, 0.25])
    strong = pearson(clip, x[4000:4800])
    weak = pearson(clip, x[20000:20800])
    assert weak < 0.7 < strong
    assert [round(m.start_samples) for m in locate(clip, x, threshold=0.7).matches] == [4000]
    assert [round(m.start_samples) for m in locate(clip, x, threshold=weak - 0.1).matches] == [4000, 20000]
    nothing = locate(clip, x, threshold=0.99)
    assert nothing.matches == () and round(nothing.best.start_samples) == 4000


def test_multichannel_is_mixed_to_mono(rng):
    clip = rng.standard_normal((500, 2))
    x = 0.2 * rng.standard_normal((9000, 2))
    x[6000:6500] += clip
    assert [round(m.start_samples) for m in locate(clip, x).matches] == [6000]


def test_refusals(rng):
    with pytest.raises(NoCorrelationPeakError, match="constant"):
        locate(np.zeros(100), rng.standard_normal(1000))
    with pytest.raises(IncompatibleSignalsError, match="shorter than the clip"):
        locate(rng.standard_normal(1000), rng.standard_normal(999))
    x = rng.standard_normal(1000)
    x[500] = np.nan
    with pytest.raises(InvalidSignalError, match="NaN"):
        locate(rng.standard_normal(100), x)
    with pytest.raises(UsageError, match="--threshold"):
        locate(rng.standard_normal(100), x, threshold=2.0)



@pytest.mark.parametrize("block", [None, 3000])
def test_strict_backend_gives_the_default_matches(rng, strict, block):
    clip = rng.standard_normal(RATE // 2)
    starts = [5_000, 33_333, 70_001]
    x = recording_with(rng, clip, starts, seconds=10.0, gains=[1.0, 0.5, 0.8])
    result = locate(clip, array_blocks(x[:, None], 4096), RATE, block=block, threshold=0.2, backend=strict)
    reference = locate(clip, array_blocks(x[:, None], 4096), RATE, block=block, threshold=0.2)
    assert [m.start_samples for m in result.matches] == [m.start_samples for m in reference.matches] == starts
    np.testing.assert_allclose([m.score for m in result.matches], [m.score for m in reference.matches], rtol=0,
                               atol=1e-9)
    for m, start in zip(result.matches, starts):  # Pearson's coefficient, computed directly
        assert m.score == pytest.approx(pearson(clip, x[start : start + clip.size]), abs=1e-9)
    assert result.block == reference.block and result.best.start_samples == reference.best.start_samples


def test_a_backend_that_does_not_correlate_is_refused(rng):
    with pytest.raises(BackendUnavailableError, match=r"'direct' does not run correlate"):
        locate(rng.standard_normal(100), rng.standard_normal(1000), backend="direct")


# The child's own high-water mark: ru_maxrss would start from the parent's (pytest's) peak, which Linux
# carries over into a child made by vfork + exec, as subprocess does.
MEASURE = """
import resource, sys
from sigconv.cli import main
try:
    main(sys.argv[1:], prog_name="sigconv")
except SystemExit as exit:
    code = exit.code
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak, file=sys.stderr)
sys.exit(code)
"""


def test_locate_streams_a_long_file_in_bounded_memory(tmp_path):
    """An hour at 8 kHz (230 MB as float64) is searched with a peak RSS far below what holding it would take."""
    rng = np.random.default_rng(5)
    clip = rng.standard_normal(RATE)
    frames = 3600 * RATE
    starts = [123_456, frames // 2 + 777, frames - 3 * RATE]
    with sf.SoundFile(tmp_path / "long.wav", "w", RATE, 1, "PCM_16") as f:
        for start in range(0, frames, 1 << 20):
            block = 0.1 * rng.standard_normal(min(1 << 20, frames - start))
            for s in starts:
                lo, hi = max(s, start), min(s + clip.size, start + block.size)
                if hi > lo:
                    block[lo - start : hi - start] += 0.2 * clip[lo - s : hi - s]
            f.write(block)
    sf.write(tmp_path / "clip.wav", 0.2 * clip, RATE, subtype="FLOAT")
    proc = subprocess.run([sys.executable, "-c", MEASURE, "correlate", "--locate", tmp_path / "clip.wav",
                           tmp_path / "long.wav", "--json"], capture_output=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    found = json.loads(proc.stdout)
    assert [round(m["start_samples"]) for m in found["matches"]] == starts
    peak_rss_mb = int(proc.stderr.decode().strip().splitlines()[-1]) / 1024
    assert peak_rss_mb < 200, f"peak RSS {peak_rss_mb:.0f} MB"


def test_the_reader_stays_a_bounded_number_of_blocks_ahead_of_a_slow_search(rng, monkeypatch):
    """With a background reader (read_ahead), a search slowed down (a busy machine) never lets the queue
    between them grow: the reader is at most read_ahead blocks, plus the one it holds, past what the search
    has taken."""
    import time

    from sigconv.correlation import clips

    clip = rng.standard_normal(2000)
    x = recording_with(rng, clip, [30_000, 150_000], seconds=25.0)
    block = 4096
    produced, consumed, ahead = [0], [0], []

    def source():
        for start in range(0, x.size, block):
            produced[0] += 1
            ahead.append(produced[0] - consumed[0])
            yield x[start : start + block, None]

    def counted(blocks):
        for b in blocks:
            consumed[0] += 1
            yield b

    original = clips._Scorer.__call__

    def slow(self, used, numerator):
        time.sleep(0.02)
        return original(self, used, numerator)

    monkeypatch.setattr(clips._Scorer, "__call__", slow)
    real_read_ahead = clips._read_ahead
    monkeypatch.setattr(clips, "_read_ahead", lambda blocks, depth: counted(real_read_ahead(blocks, depth)))
    result = locate(clip, source(), RATE, block=8192, read_ahead=3)
    assert [m.start_samples for m in result.matches] == [30_000, 150_000]
    assert produced[0] == -(-x.size // block) and max(ahead) <= 3 + 2
