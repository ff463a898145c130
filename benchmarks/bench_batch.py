"""``sigconv batch`` against a plain Python loop over scipy.signal.oaconvolve and soundfile.

Run:  python benchmarks/bench_batch.py                 (1,000 clips; several minutes)
      python benchmarks/bench_batch.py --clips 100     (a quick look)

The material: N ten-second 16 kHz mono clips of coloured noise (white noise
through a leaky integrator, the spectral tilt of speech and music), written as
PCM_16 WAV as speech corpora are, and 10 decaying-noise room IRs of 0.5 to
2 s (float WAV). Pairing is ``random``: each clip goes through one IR drawn
by the seed, so a run makes N outputs (PCM_16, the clips' subtype).

Contenders, all writing the same N files (every round overwrites them):

* ``loop``: what a user writes instead: for each pair, ``soundfile.read``
  the clip, ``scipy.signal.oaconvolve`` it with the IR (the 10 IRs are read
  once and kept, float64 as soundfile gives them), ``soundfile.write``.
* ``jobs1``, ``jobs2``: ``sigconv.convolve_batch(..., jobs=1 | 2)``, the
  process pool (start-up included).
* ``dask``: the same tasks sent to a running Dask scheduler with 2
  single-threaded worker processes (``dask scheduler`` and ``dask worker
  --nworkers 2 --nthreads 1 --preload sigconv.batch.preload`` on loopback,
  started once before the rounds), as ``--scheduler ADDRESS`` does; their
  start-up time is printed apart. (``--scheduler local`` adds a
  LocalCluster's start, 3-20 s on this machine, to every run.)

The contenders take turns round by round (loop, jobs1, jobs2, dask, loop,
...), so a slow spell of the shared machine falls on all alike; the table
gives the median files per second of each, its ratio to the loop's, and the
CPU milliseconds spent per file (this process, plus the workers' time on
the pairs for jobs2 and dask). Each round also prints how many cores stood
idle during each contender (/proc/stat): two workers can only beat one
where two cores are free, so compare ``jobs2`` with ``jobs1`` in rounds
where the idle figure of ``jobs1`` is near 1. ``--precision64`` adds
``jobs1-64``: jobs1 at float64, the precision ``sigconv convolve`` uses.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# scipy.signal, soundfile and sigconv are imported in the functions that use them, not here: the pool's
# workers (fork server / spawn) run this script's top level again, each of them, every run, as
# multiprocessing does for the main module; importing scipy.signal there cost jobs2 about 2.5 s a run

RATE = 16_000
SEED = 1


def make_material(root: Path, clips: int, seconds: float = 10.0) -> tuple[Path, Path]:
    import scipy.signal
    import soundfile as sf

    rng = np.random.default_rng(0)
    clip_dir, ir_dir = root / "clips", root / "irs"
    clip_dir.mkdir(parents=True)
    ir_dir.mkdir()
    frames = int(seconds * RATE)
    for i in range(clips):
        x = scipy.signal.lfilter([1.0], [1.0, -0.97], rng.standard_normal(frames))
        sf.write(clip_dir / f"clip{i:05d}.wav", 0.3 * x / np.max(np.abs(x)), RATE, subtype="PCM_16")
    for j, length in enumerate(np.linspace(0.5, 2.0, 10)):
        n = int(length * RATE)
        h = rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 6))
        h[0] = 1.0
        sf.write(ir_dir / f"room{j}.wav", 0.3 * h / np.sqrt(np.sum(h ** 2)), RATE, subtype="FLOAT")
    return clip_dir, ir_dir


def idle_seconds() -> float:
    """Idle CPU-seconds of the whole machine since boot (all cores; /proc/stat), or NaN where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return float("nan")
    return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")


def run_loop(clip_dir: Path, ir_dir: Path, out: Path) -> int:
    import scipy.signal
    import soundfile as sf

    from sigconv.batch.pairing import pair_up

    clips, irs = sorted(map(str, clip_dir.glob("*.wav"))), sorted(map(str, ir_dir.glob("*.wav")))
    responses = {h: sf.read(h)[0] for h in irs}
    out.mkdir(exist_ok=True)
    for x_path, h_path in pair_up(clips, irs, "random", SEED):
        x, rate = sf.read(x_path)
        y = scipy.signal.oaconvolve(x, responses[h_path])
        sf.write(out / f"{Path(x_path).stem}__{Path(h_path).stem}.wav", y, rate, subtype="PCM_16")
    return len(clips)


def run_batch(clip_dir: Path, ir_dir: Path, out: Path, jobs: int, scheduler=None, precision=32) -> tuple[int, float]:
    """The outputs made and the CPU seconds of the workers' pairs (0 when they ran in this process)."""
    import sigconv

    summary = sigconv.convolve_batch([str(clip_dir)], [str(ir_dir)], str(out), pairs="random", seed=SEED,
                                     jobs=jobs, scheduler=scheduler, force=True, precision=precision)
    assert summary.failed == 0, summary.failures[:1]
    return summary.done, (summary.cpu_seconds if jobs > 1 or scheduler else 0.0)


class DaskProcesses:
    """``dask scheduler`` and ``dask worker --nworkers 2 --nthreads 1`` on loopback, as processes of their own."""

    def __init__(self, root: Path):
        import json
        import subprocess

        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        worker = [sys.executable, "-m", "distributed.cli.dask_worker"]
        info = root / "scheduler.json"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.processes = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                            "--scheduler-file", str(info)], **quiet)]
        while not info.exists() or not info.read_text().strip():
            time.sleep(0.1)
        self.address = json.loads(info.read_text())["address"]
        self.processes.append(subprocess.Popen([*worker, self.address, "--nworkers", "2", "--nthreads", "1",
                                                "--no-dashboard", "--preload", "sigconv.batch.preload"], **quiet))
        import distributed

        with distributed.Client(self.address) as client:
            client.wait_for_workers(2, timeout=120)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000, help="clips (and outputs); default 1000")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every contender; default 3")
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask cluster")
    parser.add_argument("--precision64", action="store_true", help="add jobs1 at --precision 64 (convolve's default)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    cluster = None
    try:
        started = time.perf_counter()
        clip_dir, ir_dir = make_material(root, args.clips)
        print(f"{args.clips} clips of 10 s at 16 kHz (PCM_16) x 10 IRs of 0.5-2 s, random pairing: {args.clips} "
              f"outputs; material made in {time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs")
        contenders = {
            "loop": lambda: (run_loop(clip_dir, ir_dir, root / "loop"), 0.0),
            "jobs1": lambda: run_batch(clip_dir, ir_dir, root / "jobs1", 1),
            "jobs2": lambda: run_batch(clip_dir, ir_dir, root / "jobs2", 2),
        }
        if args.precision64:
            contenders["jobs1-64"] = lambda: run_batch(clip_dir, ir_dir, root / "jobs1-64", 1, precision=64)
        cluster = None
        if not args.no_dask:
            started = time.perf_counter()
            cluster = DaskProcesses(root)
            print(f"Dask scheduler and 2 workers started in {time.perf_counter() - started:.1f} s")
            contenders["dask"] = lambda: run_batch(clip_dir, ir_dir, root / "dask", 2, scheduler=cluster.address)
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        cpu_ms: dict[str, list[float]] = {name: [] for name in contenders}
        for round_number in range(args.rounds):
            free = []
            for name, contender in contenders.items():
                started, cpu, idle = time.perf_counter(), time.process_time(), idle_seconds()
                files, worker_cpu = contender()
                wall = time.perf_counter() - started
                rates[name].append(files / wall)
                cpu_ms[name].append(1000 * (time.process_time() - cpu + worker_cpu) / files)
                free.append(f"{name} {(idle_seconds() - idle) / wall:.2f}")
            print(f"round {round_number + 1}: " + "  ".join(f"{n} {r[-1]:.1f}" for n, r in rates.items())
                  + "  files/s;  idle cores during each: " + "  ".join(free))
        for name in ("jobs1", "jobs2", "dask"):  # (jobs1-64 differs by float32 rounding: at most 1 LSB)
            if name in contenders:
                same = all((root / name / p.name).read_bytes() == p.read_bytes()
                           for p in sorted((root / "jobs1").glob("*.wav")))
                print(f"{name}: outputs byte-identical to jobs1: {same}")
        loop = statistics.median(rates["loop"])
        print(f"\n{'contender':<10}{'files/s (median)':>18}{'x loop':>9}{'CPU ms/file':>13}")
        for name, values in rates.items():
            median = statistics.median(values)
            print(f"{name:<10}{median:>18.1f}{median / loop:>9.2f}{statistics.median(cpu_ms[name]):>13.1f}")
        print("CPU ms/file: this process's CPU time plus, for jobs2 and dask, the workers' CPU time on the pairs "
              "(their start-up not counted)")
        if "dask" in rates:
            ratio = statistics.median(rates["dask"]) / statistics.median(rates["jobs2"])
            print(f"dask / jobs2: {ratio:.2f}")
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
