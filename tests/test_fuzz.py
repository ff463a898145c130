"""A seeded, bounded mutation fuzzer over every command that reads a signal.

Small real WAV, FLAC and CSV files (and AIFF and Ogg Vorbis ones) are
damaged byte by byte (flipped bits, truncation, splices, huge length
fields, inserted bytes, text garbage) and fed, by path and on standard
input, to sigconv's command line in a process of its own: convolve,
deconvolve, correlate, ``impulse info`` and ``impulse measure``, the damaged
file in each place a signal is read. A run fails the test when it prints a
traceback, runs past its time limit, exits with a status that README does
not document (1 is kept for bugs), or fails without exactly one ``Error:``
line or with its output file left behind.

Every case is derived from ``SIGCONV_FUZZ_SEED`` and its number, so a
failure reproduces: the report names the seed, the case and its mutations,
and keeps the damaged file. ``SIGCONV_FUZZ_CASES`` sets how many cases run
(300 by default, 20 to 40 seconds on two cores); raise it for a longer
hunt, e.g. ``SIGCONV_FUZZ_SEED=7 SIGCONV_FUZZ_CASES=3000``.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sigconv import exponential_sweep
from sigconv.errors import EXIT_CODES, SigconvError

SEED = int(os.environ.get("SIGCONV_FUZZ_SEED", "20261125"))
CASES = int(os.environ.get("SIGCONV_FUZZ_CASES", "300"))
RUN_TIMEOUT = 40  # seconds for one command on a small damaged file; a hang runs into it
WORKERS = 2

#: What a run may exit with: success, or the status of one of sigconv's errors (1 means a bug).
DOCUMENTED = {0} | set(EXIT_CODES.values()) - {SigconvError.exit_code}

RATE = 8000

# Values a damaged length or rate field is given: zero, one, the signed and
# unsigned extremes of 32 bits, and sizes just past them.
HUGE = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFF0, 0x10000, 0xFFFF)


# ---------------------------------------------------------------- the seeds


def _seed_files(folder: Path) -> dict[str, bytes]:
    """Small valid inputs, as bytes, keyed by file name (the extension tells the kind)."""
    rng = np.random.default_rng(7)
    noise = 0.05 * rng.standard_normal((700, 2))
    files = {}
    for name, data, subtype in [
        ("mono16.wav", noise[:, :1], "PCM_16"),
        ("stereo-float.wav", noise[:300], "FLOAT"),
        ("mono.flac", 0.01 * rng.standard_normal(5000), "PCM_16"),
        ("stereo.aiff", noise[:400], "PCM_24"),
        ("stereo.ogg", noise, "VORBIS"),
    ]:
        sf.write(folder / name, data, RATE, subtype=subtype)
        files[name] = (folder / name).read_bytes()
    rows = "".join(f"{i / RATE!r},{v:.6f}\n" for i, v in enumerate(noise[:120, 0]))
    files["signal.csv"] = ("time,x\n" + rows).encode()
    return files


@pytest.fixture(scope="module")
def partners(tmp_path_factory):
    """Valid second inputs (IR, kernel, sweep, reference) and the seeds, in one folder."""
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    seeds = _seed_files(folder)
    sf.write(folder / "ir.wav", np.array([1.0, 0.5, 0.25]), RATE, subtype="FLOAT")
    sf.write(folder / "ref.wav", 0.05 * np.random.default_rng(3).standard_normal(700), RATE, subtype="FLOAT")
    # shorter than the seeds, so that a recording that survives its damage is measured
    sweep = exponential_sweep(RATE, 0.02, 200, 3000, fade=(0.002, 0.002), silence=0.01)
    sf.write(folder / "sweep.wav", sweep, RATE, subtype="FLOAT")
    return folder, seeds


# ---------------------------------------------------------------- mutations


def _position(rng: random.Random, data: bytes) -> int:
    # headers hold most of what can go wrong: three in four positions fall in the first 128 bytes
    if rng.random() < 0.75:
        return rng.randrange(min(len(data), 128))
    return rng.randrange(len(data))


def _flip(rng, data, seeds):
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[_position(rng, out)] ^= 1 << rng.randrange(8)
    return bytes(out), "flip"


def _truncate(rng, data, seeds):
    at = _position(rng, data)
    return data[:at], f"truncate@{at}"


def _splice(rng, data, seeds):
    donor = seeds[rng.choice(sorted(seeds))]
    start, length = rng.randrange(len(donor)), rng.randint(1, 64)
    at = _position(rng, data)
    return data[:at] + donor[start : start + length] + data[at + length :], f"splice@{at}"


def _huge_field(rng, data, seeds):
    """A 32-bit field (little- or big-endian, as WAV and FLAC store them) set to an extreme."""
    value = rng.choice(HUGE)
    order = rng.choice("<>")
    at = _position(rng, data) & ~1
    field = struct.pack(order + "I", value)
    return data[:at] + field + data[at + 4 :], f"field@{at}={value:#x}{order}"


def _insert(rng, data, seeds):
    at = _position(rng, data)
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    return data[:at] + junk + data[at:], f"insert@{at}"


# Text that breaks CSVs: non-numbers, overflow, invalid UTF-8, a BOM, NULs, ragged rows, a huge line.
_TEXT_JUNK = [b"nan", b"1e309", b"-inf", b"\xff\xfe", b"\xef\xbb\xbf", b",", b";", b"\n", b"\r", b"time",
              b"#", b"\x00", b"9" * 400, b"0x10", b"1e308", b"1e-320", b"-", b" ", b'"']


def _text(rng, data, seeds):
    at = rng.randrange(len(data) + 1)
    junk = rng.choice(_TEXT_JUNK) * rng.choice((1, 1, 3, 2000))
    return data[:at] + junk + data[at:], f"text@{at}"


def _drop_lines(rng, data, seeds):
    lines = data.split(b"\n")
    keep = [ln for ln in lines if rng.random() > 0.3]
    return b"\n".join(keep), "drop-lines"


_BINARY = [_flip, _truncate, _splice, _huge_field, _insert]
_TEXTUAL = [_text, _drop_lines, _flip, _truncate, _splice]


def mutate(rng: random.Random, name: str, seeds: dict[str, bytes]) -> tuple[bytes, list[str]]:
    """A damaged copy of seed ``name``: one to three mutations, and their descriptions."""
    data, recipe = seeds[name], []
    kinds = _TEXTUAL if name.endswith(".csv") else _BINARY
    for _ in range(rng.choice((1, 1, 2, 3))):
        if not data:
            break
        data, what = rng.choice(kinds)(rng, data, seeds)
        recipe.append(what)
    return data, recipe


# ---------------------------------------------------------------- the commands

# Each reads the damaged file where {x} is, by path or (where "-" may stand
# there) on standard input; {out} is an output that must not survive a failure.
COMMANDS = [
    ("convolve {x} {ir} -o {out}", True),
    ("convolve {ref} {x} -o {out}", False),
    ("deconvolve {x} {ir} -o {out}", True),
    ("deconvolve {ref} {x} -o {out} --method wiener", False),
    ("correlate {x} {ref}", True),
    ("correlate {ref} {x}", True),
    ("impulse info {x}", True),
    ("impulse measure {x} {sweep} -o {out}", True),
    ("impulse measure {ref} {x} -o {out}", False),
]


@dataclass
class Case:
    number: int
    seed: str
    recipe: list[str]
    command: str
    stdin: bool
    data: bytes

    def describe(self) -> str:
        how = "stdin" if self.stdin else "path"
        return (f"case {self.number} (SIGCONV_FUZZ_SEED={SEED}): {self.seed} {'+'.join(self.recipe)} "
                f"via {how}: sigconv {self.command}")


def make_cases(seeds: dict[str, bytes], count: int) -> list[Case]:
    cases = []
    for number in range(count):
        rng = random.Random(f"{SEED}:{number}")
        name = rng.choice(sorted(seeds))
        command, stdin_ok = rng.choice(COMMANDS)
        data, recipe = mutate(rng, name, seeds)
        cases.append(Case(number, name, recipe, command, stdin_ok and rng.random() < 0.4, data))
    return cases


# Most cases run in processes forked from a server that has imported
# sigconv and its dependencies once: scipy alone takes over a second to
# import, which would allow only a few dozen cases a minute. A forked child
# is a real process all the same (a crash, a hang, a traceback and its exit
# status are its own) and runs ``python -m sigconv``'s own entry point;
# every REAL_EVERY-th case runs as a fresh ``python -m sigconv`` to check
# that both agree.
REAL_EVERY = 20

_FORK_SERVER = r"""
import atexit, importlib, io, json, os, pkgutil, runpy, signal, sys, time, traceback

import sigconv
for module in pkgutil.walk_packages(sigconv.__path__, "sigconv."):
    try:
        importlib.import_module(module.name)
    except Exception:  # optional back-ends (CuPy, Dask...) that are not installed
        pass
import scipy.signal, scipy.stats

requests, replies = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 0)
os.dup2(null, 1)


def child(request):
    requests.close()
    replies.close()
    for fd, (path, flags) in enumerate([(request["stdin"], os.O_RDONLY),
                                        (request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                        (request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)]):
        os.dup2(os.open(path, flags, 0o644), fd)
    sys.stdin, sys.stdout, sys.stderr = (open(0, "r", closefd=False), open(1, "w", closefd=False),
                                         open(2, "w", closefd=False))
    os.chdir(request["cwd"])
    sys.argv = ["sigconv", *request["args"]]
    code = 0
    try:
        runpy.run_module("sigconv", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def wait(pid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.005)


for line in requests:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(request)
    replies.write(json.dumps({"status": wait(pid, request["timeout"])}).encode() + b"\n")
    replies.flush()
"""


class ForkServer:
    """A Python process that runs ``python -m sigconv``'s entry point in a forked child per request."""

    def __init__(self):
        self._proc = subprocess.Popen([sys.executable, "-c", _FORK_SERVER], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE)

    def run(self, args: list[str], stdin: Path, stdout: Path, stderr: Path, cwd: Path) -> int | None:
        """The child's exit status (negative: killed by that signal), or None if it ran past RUN_TIMEOUT."""
        request = {"args": args, "stdin": str(stdin), "stdout": str(stdout), "stderr": str(stderr),
                   "cwd": str(cwd), "timeout": RUN_TIMEOUT}
        self._proc.stdin.write(json.dumps(request).encode() + b"\n")
        self._proc.stdin.flush()
        reply = self._proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"the fuzz fork server died (status {self._proc.wait()})")
        return json.loads(reply)["status"]

    def close(self) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


def _run_real(args: list[str], stdin: Path, stdout: Path, stderr: Path, cwd: Path) -> int | None:
    with open(stdin, "rb") as i, open(stdout, "wb") as o, open(stderr, "wb") as e:
        try:
            return subprocess.run([sys.executable, "-m", "sigconv", *args], stdin=i, stdout=o, stderr=e,
                                  cwd=cwd, timeout=RUN_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            return None


def run_case(case: Case, folder: Path, work: Path, server: ForkServer) -> str | None:
    """Run one case in its own folder; None if sigconv behaved, else what went wrong."""
    here = work / f"case{case.number}"
    here.mkdir()
    damaged = here / f"damaged{Path(case.seed).suffix}"
    damaged.write_bytes(case.data)
    out = here / "out.wav"
    args = case.command.format(x="-" if case.stdin else damaged, ir=folder / "ir.wav", ref=folder / "ref.wav",
                               sweep=folder / "sweep.wav", out=out).split()
    logs = work / f"case{case.number}.stdout", work / f"case{case.number}.stderr"
    stdin = damaged if case.stdin else Path(os.devnull)
    real = case.number % REAL_EVERY == 0
    status = (_run_real if real else server.run)(args, stdin, *logs, here)
    how = "python -m sigconv" if real else "a fork of the fuzz server"
    if status is None:
        return f"{case.describe()}\n  hung in {how}: no exit within {RUN_TIMEOUT} s; input kept at {damaged}"
    stderr = logs[1].read_bytes().decode("utf-8", errors="replace")
    problems = []
    if "Traceback" in stderr:
        problems.append("printed a traceback")
    if status not in DOCUMENTED:
        problems.append(f"exit status {status} is not a documented one {sorted(DOCUMENTED)}")
    if status != 0:
        errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
        if len(errors) != 1:
            problems.append(f"{len(errors)} 'Error:' lines instead of one")
        left = sorted(p.name for p in here.iterdir() if p != damaged)
        if left:
            problems.append(f"a failed run left {left} behind")
    if not problems:
        return None
    tail = "\n    ".join(stderr.strip().splitlines()[-4:])
    return f"{case.describe()}\n  {'; '.join(problems)} (in {how}); input kept at {damaged}\n    {tail}"


@pytest.fixture(scope="module")
def fork_servers():
    """One fork server per worker thread (they start together: about five seconds)."""
    servers = [ForkServer() for _ in range(WORKERS)]
    yield servers
    for server in servers:
        server.close()


def test_damaged_inputs_get_a_documented_exit_and_one_error_line(partners, fork_servers, tmp_path):
    folder, seeds = partners
    cases = make_cases(seeds, CASES)

    def run_share(worker: int) -> list[str | None]:
        return [run_case(case, folder, tmp_path, fork_servers[worker]) for case in cases[worker::WORKERS]]

    with ThreadPoolExecutor(WORKERS) as pool:
        failures = [f for share in pool.map(run_share, range(WORKERS)) for f in share if f]
    assert not failures, f"{len(failures)} of {len(cases)} fuzz cases failed:\n" + "\n".join(failures)


def test_the_fuzzer_is_seeded():
    seeds = {"a.wav": bytes(range(256)) * 4, "b.csv": b"time,x\n0,1\n0.5,2\n"}
    first, again = make_cases(seeds, 20), make_cases(seeds, 20)
    assert [(c.data, c.command, c.stdin) for c in first] == [(c.data, c.command, c.stdin) for c in again]
    assert len({c.data for c in first}) > 10  # and the cases differ from each other


def test_the_mutations_damage_every_kind_of_seed():
    seeds = {"a.wav": bytes(range(256)) * 4, "b.csv": b"time,x\n0,1\n0.5,2\n"}
    for name in seeds:
        damaged = [mutate(random.Random(i), name, seeds)[0] for i in range(30)]
        assert sum(d != seeds[name] for d in damaged) >= 25
        assert len(set(damaged)) > 20


def test_a_fork_of_the_server_reports_what_python_dash_m_reports(fork_servers, tmp_path, monkeypatch):
    server = fork_servers[0]
    missing = ["impulse", "info", "missing.wav"]
    for args in (["--version"], missing, ["--debug", *missing]):
        forked = server.run(args, Path(os.devnull), tmp_path / "f.out", tmp_path / "f.err", tmp_path)
        real = _run_real(args, Path(os.devnull), tmp_path / "r.out", tmp_path / "r.err", tmp_path)
        assert forked == real
        assert (tmp_path / "f.out").read_bytes() == (tmp_path / "r.out").read_bytes()
        forked_err, real_err = (tmp_path / "f.err").read_text(), (tmp_path / "r.err").read_text()
        assert ("Traceback" in forked_err) == ("Traceback" in real_err) == ("--debug" in args)
    # a run that never ends is killed and reported as such
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)
    monkeypatch.setattr(sys.modules[__name__], "RUN_TIMEOUT", 1)
    hung = server.run(["impulse", "info", "-"], fifo, tmp_path / "h.out", tmp_path / "h.err", tmp_path)
    assert hung is None
