"""Make the small example signals in samples/ (deterministic; run from the repo root).

    python scripts/make_samples.py [FOLDER]     (default: samples/)

dry.wav         2.5 s mono 48 kHz PCM_16: plucked-string phrase (Karplus-Strong)
                with a little noise floor, like a close-miked dry recording.
room-ir.wav     1.0 s stereo 48 kHz PCM_24: synthetic room impulse response,
                5 ms pre-delay, a few early reflections, exponentially decaying
                noise tail with RT60 0.6 s, decorrelated left and right.
sensor.csv      10 s accelerometer-like trace at 100 Hz with a time column:
                1.3 Hz motion plus 25 Hz vibration and noise.
lowpass-fir.csv 31-tap windowed-sinc low-pass FIR (cut-off 5 Hz at 100 Hz),
                with a time column, for smoothing sensor.csv.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1] / "samples"
RATE = 48_000


def pluck(freq: float, seconds: float, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    """A Karplus-Strong plucked string (also used by benchmarks/bench_correlate.py)."""
    period = int(round(rate / freq))
    buf = rng.uniform(-1, 1, period)
    out = np.empty(int(seconds * rate))
    for i in range(out.size):
        out[i] = buf[i % period]
        buf[i % period] = 0.996 * 0.5 * (buf[i % period] + buf[(i + 1) % period])
    return out


def dry_phrase(rng: np.random.Generator) -> np.ndarray:
    notes = [(0.00, 196.0), (0.45, 246.9), (0.90, 293.7), (1.35, 392.0), (1.60, 293.7)]
    y = np.zeros(int(2.5 * RATE))
    for start, freq in notes:
        note = pluck(freq, 0.9, rng)
        i = int(start * RATE)
        y[i : i + note.size] += note[: y.size - i]
    y += 10 ** (-60 / 20) * rng.standard_normal(y.size)
    return 0.5 * y / np.max(np.abs(y))


def room_ir(rng: np.random.Generator, rt60: float = 0.6, seconds: float = 1.0) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    decay = 10 ** (-3 * t / rt60)  # -60 dB after rt60 seconds (amplitude)
    ir = rng.standard_normal((n, 2)) * decay[:, None] * 0.04
    predelay = int(0.005 * RATE)
    ir[:predelay] = 0.0
    ir[predelay] = [1.0, 0.9]
    for delay_ms, gain in [(7.3, 0.5), (11.9, -0.4), (17.2, 0.3), (23.5, -0.25)]:
        i = int(delay_ms * 1e-3 * RATE)
        ir[i] += [gain, -gain * 0.8]
    return 0.9 * ir / np.max(np.abs(ir))


def sensor_trace(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rate = 100.0
    t = np.arange(1000) / rate
    x = np.sin(2 * np.pi * 1.3 * t) + 0.3 * np.sin(2 * np.pi * 25 * t) + 0.1 * rng.standard_normal(t.size)
    return t, x


def lowpass_fir(taps: int = 31, cutoff: float = 5.0, rate: float = 100.0) -> np.ndarray:
    k = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(2 * cutoff / rate * k) * np.hamming(taps)
    return h / h.sum()


def write_csv(path: Path, t: np.ndarray, x: np.ndarray, name: str) -> None:
    rows = "\n".join(f"{ti:.2f},{xi:.6f}" for ti, xi in zip(t, x))
    path.write_text(f"time,{name}\n{rows}\n")


def main(root: Path = ROOT) -> None:
    root.mkdir(exist_ok=True)
    rng = np.random.default_rng(20261125)
    sf.write(root / "dry.wav", dry_phrase(rng), RATE, subtype="PCM_16")
    sf.write(root / "room-ir.wav", room_ir(rng), RATE, subtype="PCM_24")
    t, x = sensor_trace(rng)
    write_csv(root / "sensor.csv", t, x, "accel")
    h = lowpass_fir()
    write_csv(root / "lowpass-fir.csv", np.arange(h.size) / 100.0, h, "h")
    for path in sorted(root.iterdir()):
        print(f"{path.name}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
