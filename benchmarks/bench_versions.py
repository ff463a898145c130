"""Two versions of sigconv side by side: the same jobs, interleaved, medians and ratios.

Run:  python benchmarks/bench_versions.py OLD_TREE [NEW_TREE]   (~4 min)

OLD_TREE and NEW_TREE are source trees (a ``git worktree add /tmp/old REF``
makes one; NEW_TREE defaults to this checkout). Each job runs as a fresh
process with that tree first on ``PYTHONPATH`` (and the working directory
outside both, so neither shadows the other), in rounds: A B A B ..., so a
slow spell of a shared machine falls on both. Printed per job: the median
wall time of each version, the median of the per-round ratios (new / old)
and the peak RSS (GNU time, when installed).

Jobs (48 kHz float32 WAV files made once, outputs rewritten each round):
  convolve reverb   10 min stereo ⊗ 3 s stereo IR
  convolve fir      10 min stereo ⊗ 64-tap FIR
  correlate         10 min mono pair, B low-passed and 1.2 s later, whole lag range
  correlate window  the same, --max-lag 2
  deconvolve        1 min stereo through the 3 s IR, --snr 60
  library loop      sigconv.convolve on 16,000 x 4,000 (1 s of speech, 250 ms IR), median of 200 calls
  library small     sigconv.convolve on 100 x 100, median of 2,000 calls
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parents[1]
RATE = 48000

LOOP = """
import time, numpy as np, sigconv
rng = np.random.default_rng(0)
x, h = rng.standard_normal({n}), rng.standard_normal({m})
sigconv.convolve(x, h)
times = []
for _ in range({calls}):
    t = time.perf_counter(); sigconv.convolve(x, h); times.append(time.perf_counter() - t)
times.sort(); print(times[len(times) // 2])
"""


def make_files(work: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    n = RATE * 600
    t = np.arange(3 * RATE) / RATE
    ir = (rng.standard_normal((t.size, 2)) * np.exp(-t / 0.5)[:, None] * 0.05).astype(np.float32)
    ir[0] = 1.0
    x = (0.1 * rng.standard_normal((n, 2))).astype(np.float32)
    files = {"x": work / "x.wav", "ir": work / "ir.wav", "fir": work / "fir.wav", "a": work / "a.wav",
             "b": work / "b.wav", "short": work / "short.wav"}
    sf.write(files["x"], x, RATE, subtype="FLOAT")
    sf.write(files["ir"], ir, RATE, subtype="FLOAT")
    sf.write(files["fir"], np.hanning(66)[1:-1, None].repeat(2, axis=1) / 32, RATE, subtype="FLOAT")
    from scipy.signal import lfilter

    a = x[:, 0]
    b = np.concatenate([np.zeros(int(1.2 * RATE), np.float32), lfilter([0.3, 0.3], [1, -0.4], a)[: n - int(1.2 * RATE)]])
    b = b + 0.01 * rng.standard_normal(n)
    sf.write(files["a"], a, RATE, subtype="FLOAT")
    sf.write(files["b"], b.astype(np.float32), RATE, subtype="FLOAT")
    sf.write(files["short"], x[: 60 * RATE], RATE, subtype="FLOAT")
    return files


def jobs(files: dict[str, Path], out: Path) -> dict[str, list[str]]:
    py = [sys.executable, "-m", "sigconv"]
    return {
        "convolve reverb": [*py, "convolve", str(files["x"]), str(files["ir"]), "-o", str(out / "reverb.wav")],
        "convolve fir": [*py, "convolve", str(files["x"]), str(files["fir"]), "-o", str(out / "fir-out.wav")],
        "correlate": [*py, "correlate", str(files["a"]), str(files["b"]), "--json"],
        "correlate window": [*py, "correlate", str(files["a"]), str(files["b"]), "--max-lag", "2", "--json"],
        "deconvolve": [*py, "deconvolve", str(files["short"]), str(files["ir"]), "--snr", "60", "-o",
                       str(out / "dry.wav")],
        "library loop": [sys.executable, "-c", LOOP.format(n=16000, m=4000, calls=200)],
        "library small": [sys.executable, "-c", LOOP.format(n=100, m=100, calls=2000)],
    }


def run(command: list[str], tree: str, cwd: Path) -> tuple[float, float | None]:
    """(seconds, peak RSS in MB); a library job reports its own median call time."""
    env = {**os.environ, "PYTHONPATH": tree}
    timer = shutil.which("time") and os.path.exists("/usr/bin/time")
    wrapped = ["/usr/bin/time", "-f", "%e %M", *command] if timer else command
    proc = subprocess.run(wrapped, capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode not in (0, 7):
        raise SystemExit(f"{' '.join(command)} failed in {tree}:\n{proc.stderr}")
    rss = None
    seconds = None
    if timer:
        wall, kb = proc.stderr.strip().splitlines()[-1].split()
        seconds, rss = float(wall), int(kb) / 1024
    if command[1] == "-c":
        seconds = float(proc.stdout.split()[-1])
    return seconds, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new", nargs="?", default=str(HERE))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", nargs="*", help="job names to run (default all)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sigconv-versions-"))
    try:
        files = make_files(work)
        table = jobs(files, work)
        names = args.only or list(table)
        trees = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
        print(f"# old: {trees['old']}\n# new: {trees['new']}\n# {args.rounds} interleaved rounds; ratio = new / old")
        print(f"{'job':<18} {'old':>10} {'new':>10} {'ratio':>7} {'old MB':>7} {'new MB':>7}")
        for name in names:
            samples = {"old": [], "new": []}
            rss = {"old": [], "new": []}
            for _ in [run(table[name], trees[v], work) for v in trees]:  # warm both (page cache, pyc)
                pass
            for _ in range(args.rounds):
                for version, tree in trees.items():
                    seconds, peak = run(table[name], tree, work)
                    samples[version].append(seconds)
                    if peak is not None:
                        rss[version].append(peak)
            ratio = statistics.median(n / o for o, n in zip(samples["old"], samples["new"]))
            unit, scale = ("ms", 1e3) if name.startswith("library") else ("s", 1)
            if name == "library small":
                unit, scale = ("us", 1e6)
            cells = [f"{statistics.median(samples[v]) * scale:.3g} {unit}" for v in trees]
            mem = [f"{max(rss[v]):.0f}" if rss[v] and not name.startswith("library") else "-" for v in trees]
            print(f"{name:<18} {cells[0]:>10} {cells[1]:>10} {ratio:>7.2f} {mem[0]:>7} {mem[1]:>7}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
