"""Small datasets for the batch tests: coloured-noise clips, decaying IRs, and the recordings of tests/debian.py."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

CACHE = Path(os.environ.get("SIGCONV_TEST_DATA", Path.home() / ".cache" / "sigconv-test-data"))
RECORDED = {
    "greathall.wav": ("guitarix-common", "usr/share/gx_head/sounds/greathall.wav"),
    "cabinet.wav": ("guitarix-common", "usr/share/gx_head/sounds/amps/Marshall MG 15.wav"),
    "speech.wav": ("alsa-utils", "usr/share/sounds/alsa/Front_Center.wav"),
}
SOURCES = ("greathall.wav, cabinet.wav: Debian package guitarix-common (GPL-2+)\n"
           "speech.wav: Debian package alsa-utils, /usr/share/sounds/alsa/Front_Center.wav (GPL-2+)\n")


def recorded() -> dict[str, str] | str:
    """The recorded files by name, or why they cannot be had."""
    from ..debian import fetch_files

    reason = fetch_files(CACHE, RECORDED, SOURCES, timeout=300)
    return reason if reason else {name: str(CACHE / name) for name in RECORDED}


def coloured(rng, frames: int, channels: int = 1) -> np.ndarray:
    """Brown-ish noise (white noise through a leaky integrator), scaled to a 0.3 peak: coloured like speech or music."""
    from scipy.signal import lfilter

    out = lfilter([1.0], [1.0, -0.97], rng.standard_normal((frames, channels)), axis=0)
    return 0.3 * out / np.max(np.abs(out))


def room(rng, frames: int, channels: int = 1, onset: int = 20) -> np.ndarray:
    """A decaying noise IR with ``onset`` samples of silence before its direct sound."""
    t = np.arange(frames - onset)[:, None]
    h = np.zeros((frames, channels))
    h[onset:] = rng.standard_normal((frames - onset, channels)) * np.exp(-t / (frames / 6))
    h[onset] = 1.0
    return 0.5 * h


def dataset(root: Path, rng, clips: int = 4, irs: int = 2, frames: int = 1600, ir_frames: int = 400,
            rate: int = 8000) -> tuple[Path, Path]:
    """``root/clips`` (PCM_16 mono) and ``root/irs`` (float): folders to point a batch at."""
    clip_dir, ir_dir = root / "clips", root / "irs"
    clip_dir.mkdir(parents=True, exist_ok=True)
    ir_dir.mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        sf.write(clip_dir / f"clip{i}.wav", coloured(rng, frames + 100 * i), rate, subtype="PCM_16")
    for j in range(irs):
        sf.write(ir_dir / f"room{j}.wav", room(rng, ir_frames + 50 * j, onset=10 + 7 * j), rate, subtype="FLOAT")
    return clip_dir, ir_dir


def tree_bytes(folder: Path, pattern: str = "*.wav") -> dict[str, bytes]:
    """Every matching file of ``folder`` by name, as bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.glob(pattern))}
