"""samples/ is small, readable, and exactly what scripts/make_samples.py makes."""

from __future__ import annotations

import subprocess
import sys

import sigconv

from .conftest import REPO, SAMPLES


def test_samples_are_reproducible_from_the_script(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "make_samples.py"), str(tmp_path)],
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in SAMPLES.iterdir())
    for name in made:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_samples_are_small_and_readable():
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 1_000_000
    dry = sigconv.read(SAMPLES / "dry.wav")
    ir = sigconv.read(SAMPLES / "room-ir.wav")
    assert (dry.rate, dry.channels, dry.subtype) == (48000, 1, "PCM_16")
    assert (ir.rate, ir.channels, ir.subtype) == (48000, 2, "PCM_24")
    sensor = sigconv.read(SAMPLES / "sensor.csv")
    fir = sigconv.read(SAMPLES / "lowpass-fir.csv")
    assert sensor.rate == fir.rate == 100.0 and sensor.frames == 1000 and fir.frames == 31
    assert abs(fir.data.sum() - 1.0) < 1e-5  # unity DC gain
