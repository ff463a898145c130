"""Whole-process benchmark of `sigconv convolve` against the tools a user would pick instead.

Run:  python benchmarks/bench_convolve.py            (10 minutes of stereo audio, 3 runs each; ~6 min)
      python benchmarks/bench_convolve.py --minutes 1 --repeat 1   (a quick look)

Needs ffmpeg, sox and GNU time for the peer rows: apt-get install ffmpeg sox time
(missing peers are skipped). sigconv runs with pyFFTW if it is installed
(pip install 'sigconv[fast]') and, in the "scipy.fft only" row, without; the
"tuned" rows use FFTW wisdom that `sigconv tune` makes first (its time is
printed; a user pays it once per machine), the others an empty cache.

Jobs (48 kHz float32 WAV in and out, full-length output with the tail):
  reverb  stereo input ⊗ 3 s stereo IR (144,000 taps per channel)
  fir     stereo input ⊗ 64-tap FIR

Peers, run so that they compute the same thing (see shared/PEERS.md):
  ffmpeg afir  apad keeps the tail; gtype=none:irgain=0.5 undoes 5.1's IR normalization
  sox fir      one process per channel, pad As Bs undoes its linear-phase shift, then sox -M
               (the "s" matters: a bare number is seconds to sox)
  scipy        the plain script: soundfile.read + oaconvolve/fftconvolve per channel + write
  numpy        the plain script with numpy.convolve (fir job), soundfile.read's default float64
  I/O floor    soundfile read + write, nothing else

Each row gives the median wall time and peak RSS (from /usr/bin/time) and the
largest difference from scipy's float64 result relative to that result's peak.
Ratios are against sigconv in the same run. The runs go in rounds (every tool
once, then again), so that a slow spell of the machine falls on all tools alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 48_000
REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

SCIPY_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, soundfile as sf, scipy.signal as ss
    fn, dtype = getattr(ss, sys.argv[4]), sys.argv[5]
    x, r = sf.read(sys.argv[1], dtype=dtype, always_2d=True)
    h, _ = sf.read(sys.argv[2], dtype=dtype, always_2d=True)
    y = np.stack([fn(x[:, c], h[:, c % h.shape[1]]) for c in range(x.shape[1])], axis=1)
    sf.write(sys.argv[3], y, r, subtype="FLOAT")
    """
)
NUMPY_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, soundfile as sf
    x, r = sf.read(sys.argv[1], always_2d=True)
    h, _ = sf.read(sys.argv[2], always_2d=True)
    y = np.stack([np.convolve(x[:, c], h[:, c % h.shape[1]]) for c in range(x.shape[1])], axis=1)
    sf.write(sys.argv[3], y, r, subtype="FLOAT")
    """
)
IO_SCRIPT = textwrap.dedent(
    """
    import sys, soundfile as sf
    x, r = sf.read(sys.argv[1], dtype="float32", always_2d=True)
    sf.write(sys.argv[3], x, r, subtype="FLOAT")
    """
)


def make_inputs(work: Path, minutes: float, seed: int = 7) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    frames = int(minutes * 60 * RATE)
    x = (0.05 * rng.standard_normal((frames, 2))).astype(np.float32)
    t = np.arange(3 * RATE) / RATE
    reverb = (rng.standard_normal((t.size, 2)) * 10 ** (-3 * t / 1.5)[:, None]).astype(np.float32)
    # unit energy per channel keeps the output well below full scale: sox
    # computes in 32-bit integers and would clip
    reverb /= np.sqrt(np.sum(reverb.astype(np.float64) ** 2, axis=0))
    k = np.arange(64) - 31.5
    fir = (np.sinc(0.25 * k) * np.hamming(64) * 0.25).astype(np.float32)
    paths = {"x": work / "x.wav", "reverb": work / "reverb-ir.wav", "fir": work / "fir.wav"}
    sf.write(paths["x"], x, RATE, subtype="FLOAT")
    sf.write(paths["reverb"], reverb, RATE, subtype="FLOAT")
    sf.write(paths["fir"], fir, RATE, subtype="FLOAT")
    return paths


def timed(cmd: list[str] | str, shell: bool = False) -> tuple[float, float]:
    """Run under /usr/bin/time; return (wall seconds, peak RSS MB) — max RSS over the processes of a shell line."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        if shell:
            # time each process of the shell line; wall time from the outer one
            inner = cmd.replace("TIME ", f"/usr/bin/time -a -o {report.name} -f '%e %M' ")
            wrapped = ["/usr/bin/time", "-a", "-o", report.name, "-f", "%e %M", "bash", "-c", inner]
        else:
            wrapped = ["/usr/bin/time", "-a", "-o", report.name, "-f", "%e %M", *cmd]
        proc = subprocess.run(wrapped, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} failed:\n{proc.stderr[-2000:]}")
        rows = [line.split() for line in report.read().splitlines() if line.strip()]
    wall = float(rows[-1][0])
    rss = max(float(r[1]) for r in rows) / 1024
    return wall, rss


def error_vs(reference: np.ndarray, path: Path) -> float:
    y, _ = sf.read(path, dtype="float64", always_2d=True)
    if y.shape != reference.shape:
        return float("nan")
    return float(np.max(np.abs(y - reference)) / np.max(np.abs(reference)))


def sox_command(x: Path, ir: Path, out: Path, work: Path) -> str:
    h, _ = sf.read(ir, dtype="float64", always_2d=True)
    m = h.shape[0]
    a = (m + 1) // 2 - 1  # ceil(m/2) - 1
    b = m - 1 - a
    parts, outs = [], []
    for c in range(2):
        coefs = work / f"coefs{c}.txt"
        np.savetxt(coefs, h[:, c % h.shape[1]], fmt="%.9g")
        part = work / f"sox{c}.wav"
        outs.append(str(part))
        parts.append(f"TIME sox -q {x} -e floating-point -b 32 {part} remix {c + 1} pad {a}s {b}s fir {coefs}")
    return " && ".join([*parts, f"TIME sox -q -M {' '.join(outs)} -e floating-point -b 32 {out}"])


def ffmpeg_command(x: Path, ir: Path, out: Path) -> list[str]:
    info = sf.info(str(ir))
    # a mono IR would be up-mixed at -3 dB: duplicate it explicitly instead
    ir_chain = "[1:a]pan=stereo|c0=c0|c1=c0[h]" if info.channels == 1 else "[1:a]anull[h]"
    graph = f"[0:a]apad=pad_len={info.frames - 1}[a];{ir_chain};[a][h]afir=gtype=none:irgain=0.5"
    return ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(x), "-i", str(ir), "-filter_complex", graph,
            "-c:a", "pcm_f32le", str(out)]


def tools_for(job: str, paths: dict[str, Path], work: Path) -> list[tuple[str, object, bool]]:
    x, ir = paths["x"], paths[job]
    out = lambda name: work / f"out-{job}-{name}.wav"  # noqa: E731

    def sigconv(name, *extra, cache="untuned"):
        return ["env", f"SIGCONV_CACHE_DIR={work / cache}", *extra, PY, "-m", "sigconv", "convolve", str(x), str(ir),
                "-o", str(out(name.replace(" ", "_"))), "--quiet"]

    rows = [
        ("sigconv", sigconv("sigconv"), False),
        ("sigconv --precision 32", sigconv("sigconv32") + ["--precision", "32"], False),
    ]
    if (work / "tuned").exists():
        rows += [
            ("sigconv, tuned", sigconv("tuned", cache="tuned"), False),
            ("sigconv -p 32, tuned", sigconv("tuned32", cache="tuned") + ["--precision", "32"], False),
        ]
    rows.append(("sigconv, scipy.fft only", sigconv("scipy", "SIGCONV_FFT=scipy"), False))
    if shutil.which("ffmpeg"):
        rows.append(("ffmpeg afir", ffmpeg_command(x, ir, out("ffmpeg")), False))
    if shutil.which("sox"):
        rows.append(("sox fir", sox_command(x, ir, out("sox"), work), True))
    if job == "reverb":
        rows.append(("scipy oaconvolve f32", [PY, "-c", SCIPY_SCRIPT, str(x), str(ir), str(out("oa")), "oaconvolve", "float32"], False))
        rows.append(("scipy fftconvolve f64", [PY, "-c", SCIPY_SCRIPT, str(x), str(ir), str(out("fft")), "fftconvolve", "float64"], False))
    else:
        rows.append(("numpy.convolve f64", [PY, "-c", NUMPY_SCRIPT, str(x), str(ir), str(out("np"))], False))
        rows.append(("scipy oaconvolve f32", [PY, "-c", SCIPY_SCRIPT, str(x), str(ir), str(out("oa")), "oaconvolve", "float32"], False))
    rows.append(("I/O floor (soundfile)", [PY, "-c", IO_SCRIPT, str(x), str(ir), str(work / "io.wav")], False))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", default="reverb,fir")
    parser.add_argument("--workdir", default=None, help="folder for the generated files (default: a temp folder)")
    parser.add_argument("--no-tune", action="store_true", help="skip the rows with FFTW wisdom from `sigconv tune`")
    args = parser.parse_args()

    env_note = os.environ.get("OPENBLAS_CORETYPE")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="sigconv-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    paths = make_inputs(work, args.minutes)
    print(f"# {args.minutes:g} min stereo {RATE} Hz float32; {args.repeat} runs each; {os.cpu_count()} cores"
          + (f"; OPENBLAS_CORETYPE={env_note}" if env_note else ""))
    tuned = work / "tuned"
    if not args.no_tune:
        started = time.perf_counter()
        proc = subprocess.run(["env", f"SIGCONV_CACHE_DIR={tuned}", PY, "-m", "sigconv", "tune", "--quiet"],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            print(f"# sigconv tune (FFTW wisdom, once per machine): {time.perf_counter() - started:.0f} s")
        else:
            print(f"# sigconv tune unavailable: {proc.stderr.strip()}")
    x, _ = sf.read(paths["x"], dtype="float64", always_2d=True)
    from scipy.signal import fftconvolve

    for job in args.jobs.split(","):
        h, _ = sf.read(paths[job], dtype="float64", always_2d=True)
        reference = np.stack([fftconvolve(x[:, c], h[:, c % h.shape[1]]) for c in range(2)], axis=1)
        print(f"\n## {job}: IR {h.shape[0]} taps x {h.shape[1]} ch")
        print(f"{'tool':<24} {'median s':>9} {'peak MB':>8} {'x sigconv':>10} {'max err/peak':>13}")
        tools = tools_for(job, paths, work)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in tools}
        errors: dict[str, float] = {}
        # rounds of one run per tool, so that a slow spell of the machine
        # (they last seconds here) falls on every tool alike
        for round_ in range(args.repeat):
            for name, cmd, shell in tools:
                runs[name].append(timed(cmd, shell))
                if round_ == 0:
                    if name.startswith("I/O"):
                        errors[name] = float("nan")
                    else:
                        produced = sorted(work.glob(f"out-{job}-*.wav"), key=os.path.getmtime)[-1]
                        errors[name] = error_vs(reference, produced)
        base = statistics.median(r[0] for r in runs["sigconv"])
        for name, _, _ in tools:
            wall = statistics.median(r[0] for r in runs[name])
            rss = max(r[1] for r in runs[name])
            print(f"{name:<24} {wall:>9.2f} {rss:>8.0f} {wall / base:>9.2f}x {errors[name]:>13.1e}", flush=True)
        del reference
    if not args.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
