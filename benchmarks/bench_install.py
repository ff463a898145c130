"""The main job as a new user meets it: README's install in a fresh venv, against ffmpeg afir and numpy.

Run:  python benchmarks/bench_install.py                  (10 min of stereo, 5 rounds; ~9 min)
      python benchmarks/bench_install.py --minutes 1 --rounds 3   (a quick look)
      python benchmarks/bench_install.py --venv DIR        (reuse a venv built before)
      python benchmarks/bench_install.py --jobs reverb recorded   (some of the jobs)

It builds a virtual environment with README's first command (``python3 -m
pip install .`` from this checkout, nothing else), then times whole
processes on the same files (48 kHz float32 WAV, full-length output with
the tail), in rounds (every tool once, then again: A B A B ...):

  reverb  stereo input ⊗ 3 s stereo IR        fir  stereo input ⊗ 64-tap FIR
  reverb24  the same input as 24-bit PCM ⊗ the IR's first channel (24-bit),
            written as 24-bit (afir: pcm_s24le): a studio recording
  recorded  recorded music (Debian's asc-music songs, 22.05 kHz stereo MP3s,
            resampled to 48 kHz and written as 24-bit) ⊗ guitarix's recorded
            concert hall (2.3 s, two microphones, 24-bit), written as 24-bit;
            fetched with apt-get download as the tests do (skipped where
            that fails). The output clips, as a reverb at full level does.
  sigconv new     the output file does not exist yet
  sigconv replace the output file exists (a user re-rendering a mix)
  afir new/replace  ffmpeg's afir, run to compute the same thing (shared/PEERS.md):
                  apad keeps the tail; irnorm=-1:irgain=1 (ffmpeg 7+) or
                  gtype=none:irgain=0.5 (5.1) undoes the IR normalization;
                  checked against scipy on the first seconds before timing
  numpy           the plain script (fir): soundfile.read + numpy.convolve + write

ffmpeg: ``--ffmpeg PATH``, else imageio-ffmpeg's static build if installed
(``pip install imageio-ffmpeg``), else ``ffmpeg`` on PATH. Printed: median
wall time and peak RSS per tool, and ratios to afir (the issue's bound is
≤ 1.0) and, for the FIR, to the numpy script (≤ 0.5).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convolve import NUMPY_SCRIPT, RATE, error_vs, make_inputs, timed  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def build_venv(folder: Path) -> Path:
    """A venv with README's install (``python3 -m pip install .``); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    started = time.perf_counter()
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(REPO)], check=True)
    print(f"# README install into a fresh venv: {time.perf_counter() - started:.0f} s")
    return python


def find_ffmpeg(given: str | None) -> str | None:
    if given:
        return given
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:
        return shutil.which("ffmpeg")


def afir_command(ffmpeg: str, x: Path, ir: Path, out: Path, codec: str = "pcm_f32le") -> list[str]:
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout
    major = int(re.search(r"version n?(\d+)", version).group(1))
    gain = "irnorm=-1:irgain=1" if major >= 7 else "gtype=none:irgain=0.5"
    info = sf.info(str(ir))
    ir_chain = "[1:a]pan=stereo|c0=c0|c1=c0[h]" if info.channels == 1 else "[1:a]anull[h]"
    graph = f"[0:a]apad=pad_len={info.frames - 1}[a];{ir_chain};[a][h]afir={gain}"
    return [ffmpeg, "-nostdin", "-y", "-v", "error", "-i", str(x), "-i", str(ir), "-filter_complex", graph,
            "-c:a", codec, str(out)]


def check_afir(ffmpeg: str, ir: Path, work: Path) -> float:
    """afir's error against scipy on 5 s of noise, relative to the peak (must be float32-small)."""
    import scipy.signal

    x = (0.05 * np.random.default_rng(3).standard_normal((5 * RATE, 2))).astype(np.float32)
    sf.write(work / "check.wav", x, RATE, subtype="FLOAT")
    subprocess.run(afir_command(ffmpeg, work / "check.wav", ir, work / "check-out.wav"), check=True)
    h, _ = sf.read(ir, dtype="float64", always_2d=True)
    reference = np.stack([scipy.signal.oaconvolve(x[:, c].astype(np.float64), h[:, c % h.shape[1]])
                          for c in range(2)], axis=1)
    return error_vs(reference, work / "check-out.wav")


JOBS = ("reverb", "fir", "reverb24", "recorded")


def recorded_music(work: Path, minutes: float) -> tuple[Path, Path] | None:
    """(music, hall IR): recorded material from Debian's packages, or None (with a message) where it cannot be fetched."""
    sys.path.insert(0, str(REPO))
    from scipy.signal import resample_poly

    from tests.correlation import takes

    reason = takes.fetch()
    if reason:
        print(f"# recorded: skipped ({reason})")
        return None
    songs = []
    for name in takes.SONGS:
        song, rate = sf.read(takes.CACHE / f"{name}.mp3", dtype="float64", always_2d=True)
        songs.append(resample_poly(song, RATE // 150, rate // 150, axis=0))  # 22,050 -> 48,000 Hz
    music = np.concatenate(songs)
    frames = int(minutes * 60 * RATE)
    music = np.tile(music, (-(-frames // music.shape[0]), 1))[:frames]
    path = work / "recorded.wav"
    sf.write(path, np.clip(music, -1, 1), RATE, subtype="PCM_24")
    return path, takes.CACHE / "greathall.wav"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--venv", help="a venv made before with README's install (default: build one)")
    parser.add_argument("--ffmpeg")
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sigconv-install-"))
    try:
        python = Path(args.venv) / "bin" / "python" if args.venv else build_venv(work / "venv")
        paths = make_inputs(work, args.minutes)
        ffmpeg = find_ffmpeg(args.ffmpeg)
        inputs = {"reverb": paths["x"], "fir": paths["x"]}
        codecs = {"reverb": "pcm_f32le", "fir": "pcm_f32le", "reverb24": "pcm_s24le", "recorded": "pcm_s24le"}
        jobs = list(args.jobs)
        if "reverb24" in jobs:
            # a 24-bit recording through a mono IR, written as 24-bit (afir: pcm_s24le), as studios deliver them
            x24, _ = sf.read(paths["x"], dtype="float64")
            sf.write(work / "x24.wav", x24, RATE, subtype="PCM_24")
            h24, _ = sf.read(paths["reverb"], dtype="float64", always_2d=True)
            sf.write(work / "reverb24-ir.wav", h24[:, 0], RATE, subtype="PCM_24")
            inputs["reverb24"], paths["reverb24"] = work / "x24.wav", work / "reverb24-ir.wav"
        if "recorded" in jobs:
            recorded = recorded_music(work, args.minutes)
            if recorded is None:
                jobs.remove("recorded")
            else:
                inputs["recorded"], paths["recorded"] = recorded
        for job in jobs:
            ir, x, codec = paths[job], inputs[job], codecs[job]
            # the `sigconv` command that the install puts on the venv's PATH, as README runs it
            sigconv = str(python.parent / "sigconv")
            tools = {
                "sigconv new": (lambda out: [sigconv, "convolve", str(x), str(ir), "-o", str(out)], True),
                "sigconv replace": (lambda out: [sigconv, "convolve", str(x), str(ir), "-o", str(out)], False),
            }
            if ffmpeg:
                error = check_afir(ffmpeg, ir, work)
                if not error < 1e-5:
                    raise SystemExit(f"afir does not compute the plain convolution here (error {error:.2g})")
                tools["afir new"] = (lambda out: afir_command(ffmpeg, x, ir, out, codec), True)
                tools["afir replace"] = (lambda out: afir_command(ffmpeg, x, ir, out, codec), False)
            if job == "fir":
                script = work / "numpy_fir.py"
                script.write_text(NUMPY_SCRIPT)
                tools["numpy script"] = (lambda out: [str(python), str(script), str(paths["x"]), str(ir), str(out)],
                                         True)
            samples = {name: [] for name in tools}
            rss = {name: [] for name in tools}
            for _ in range(args.rounds):
                for name, (command, fresh) in tools.items():
                    out = work / f"{job}-{name.replace(' ', '-')}.wav"
                    if fresh and out.exists():
                        out.unlink()
                    elif not fresh and not out.exists():
                        subprocess.run(command(out), check=True, capture_output=True)
                    wall, peak = timed(command(out))
                    samples[name].append(wall)
                    rss[name].append(peak)
            print(f"\n{job}: {args.minutes:g} min stereo, {args.rounds} interleaved rounds, medians")
            print(f"{'tool':<16} {'s':>6} {'MB':>6} {'x afir new':>10} {'x numpy':>8}")
            for name in tools:
                median = statistics.median(samples[name])
                vs_afir = f"{median / statistics.median(samples['afir new']):.2f}" if "afir new" in samples else "-"
                vs_numpy = (f"{median / statistics.median(samples['numpy script']):.2f}"
                            if "numpy script" in samples else "-")
                print(f"{name:<16} {median:>6.2f} {max(rss[name]):>6.0f} {vs_afir:>10} {vs_numpy:>8}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
