"""Bounded memory of ``sigconv deconvolve`` (issue 15, goal 2).

The peak resident memory of a real ``sigconv deconvolve`` child process on
a long stereo signal with a 3 s stereo kernel at 48 kHz stays under 200 MB;
the partitioned stream that achieves it gives what scipy's
``fftconvolve`` of the same inverse FIR gives, for every channel layout,
from a file and from a pipe; ``exact`` and ``lucy`` refuse signals they
would have to hold beyond their limit, naming the streaming methods.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import sigconv
from sigconv.compute.routing import Route
from sigconv.deconvolution import budget
from sigconv.deconvolution.arrays import inverse_filter, kernel_layout
from sigconv.deconvolution.files import deconvolve_file
from sigconv.deconvolution.settings import DeconvolveSettings
from sigconv.errors import UsageError

RATE = 48000
LIMIT_MIB = 200
# runs its argv[2:] with argv[1] (or nothing) as standard input and prints the child's peak RSS in KiB
_MEASURE = (
    "import resource, subprocess, sys\n"
    "stdin = open(sys.argv[1], 'rb') if sys.argv[1] else subprocess.DEVNULL\n"
    "done = subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "sys.stderr.write(done.stderr.decode())\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_mib(args, stdin_path=None, cwd=None) -> float:
    """Peak RSS (MiB) of ``python -m sigconv ARGS``, measured by a parent of its own (no other children counted)."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, stdin_path or "", sys.executable, "-m", "sigconv",
                           *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600, check=True)
    code, kib = done.stdout.split()
    assert code == "0", done.stderr
    return int(kib) / 1024


def room_kernel(rng, seconds=3.0, channels=2):
    """Decaying noise after a direct sound (RT60 2.5 s): an inverse that needs every tap the budget allows."""
    n = int(seconds * RATE)
    h = rng.standard_normal((n, channels)) * np.exp(-6.91 * np.arange(n) / (2.5 * RATE))[:, None]
    h[0] = 4.0
    return h / np.sqrt(np.sum(h**2, axis=0))


def write_long(path, minutes, rng):
    """``minutes`` of stereo float32 noise at 48 kHz, written a minute at a time (never held whole)."""
    with sf.SoundFile(path, "w", RATE, 2, subtype="FLOAT") as f:
        for _ in range(int(minutes)):
            f.write(0.1 * rng.standard_normal((60 * RATE, 2), dtype=np.float32))
        rest = round((minutes - int(minutes)) * 60 * RATE)
        f.write(0.1 * rng.standard_normal((rest, 2), dtype=np.float32))


@pytest.fixture
def kernel(tmp_path, rng):
    path = tmp_path / "ir.wav"
    sf.write(path, room_kernel(rng), RATE, subtype="FLOAT")
    return path


def test_two_minutes_by_a_3s_kernel_under_200_mb(tmp_path, rng, kernel):
    signal = tmp_path / "y.wav"
    write_long(signal, 2, rng)
    peak = peak_mib(["deconvolve", signal, kernel, "-o", tmp_path / "x.wav"])
    print(f"peak RSS {peak:.0f} MiB")
    assert peak < LIMIT_MIB
    assert sf.info(str(tmp_path / "x.wav")).frames == 2 * 60 * RATE - 3 * RATE + 1


@pytest.mark.slow
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_twenty_minutes_under_200_mb(tmp_path, rng, kernel, source):
    """20 min of stereo (230 MB as float32, 460 MB as float64) in the same memory as 2 min."""
    signal = tmp_path / "y.wav"
    write_long(signal, 20, rng)
    args = ["deconvolve", signal if source == "file" else "-", kernel, "-o", tmp_path / "x.wav"]
    assert peak_mib(args, stdin_path=signal if source == "stdin" else None) < LIMIT_MIB
    assert sf.info(str(tmp_path / "x.wav")).frames == 20 * 60 * RATE - 3 * RATE + 1


@pytest.mark.slow
@pytest.mark.parametrize("case", ["true-stereo", "noise-stdin", "from-mono"])
def test_ten_minutes_of_every_layout_under_200_mb(tmp_path, rng, case):
    """The layouts and --noise, whose designs and engines hold more than one kernel column's grids."""
    signal, kernel = tmp_path / "y.wav", tmp_path / "ir.wav"
    write_long(signal, 10, rng)
    sf.write(kernel, room_kernel(rng, channels=4 if case == "true-stereo" else 2), RATE, subtype="FLOAT")
    options = {"true-stereo": [], "from-mono": ["--from-mono"]}.get(case, ["--noise", tmp_path / "n.wav"])
    if case == "noise-stdin":
        sf.write(tmp_path / "n.wav", 0.01 * rng.standard_normal((5 * RATE, 2)), RATE, subtype="FLOAT")
    stdin = signal if case == "noise-stdin" else None
    args = ["deconvolve", "-" if stdin else signal, kernel, "-o", tmp_path / "x.wav", *options]
    peak = peak_mib(args, stdin_path=stdin)
    print(f"{case}: peak RSS {peak:.0f} MiB")
    assert peak < LIMIT_MIB
    out = sf.info(str(tmp_path / "x.wav"))
    assert (out.frames, out.channels) == (10 * 60 * RATE - 3 * RATE + 1, 1 if case == "from-mono" else 2)


@pytest.fixture
def short_partitions(monkeypatch):
    """Stream every inverse longer than 8192 taps in partitions of 4096 (the long-kernel path, on small data)."""
    monkeypatch.setattr(budget, "STREAM_PARTITION", 4096)


def _layout_case(rng, layout):
    x = 0.1 * rng.standard_normal((20000, 1 if layout == "split" else 2))
    taps = rng.standard_normal((300, {"shared": 1, "parallel": 2, "split": 2, "matrix": 4}[layout]))
    taps *= np.exp(-np.arange(300) / 60)[:, None]
    taps[0] = 1.0
    if layout == "matrix":  # cross paths (LR, RL) 10 dB down: a well-conditioned 2x2 system
        taps[:, 1:3] *= 0.3
    return x, taps


def _oracle(y, h, layout, settings):
    """Frames ``[delay, delay + len(y) - len(h) + 1)`` of the inverse FIR applied by scipy's fftconvolve, per route."""
    inverse = inverse_filter(h, settings.checked(8000.0), 8000.0, span=y.shape[0],
                             layout=kernel_layout(y.shape[1], h.shape[1], layout == "split"), channels=y.shape[1])
    routes = inverse.routes or [Route(c, c % inverse.taps.shape[1], c) for c in range(y.shape[1])]
    out = np.zeros((y.shape[0] + inverse.taps.shape[0] - 1, inverse.out_channels or y.shape[1]))
    for route in routes:
        out[:, route.target] += scipy.signal.fftconvolve(y[:, route.source], inverse.taps[:, route.kernel])
    assert inverse.taps.shape[0] > 2 * budget.STREAM_PARTITION  # the partitioned path is the one tested
    return out[inverse.delay : inverse.delay + y.shape[0] - h.shape[0] + 1]


@pytest.mark.parametrize("layout", ["shared", "parallel", "split", "matrix"])
def test_partitioned_stream_is_the_whole_convolution(tmp_path, rng, short_partitions, layout, cli):
    x, h = _layout_case(rng, layout)
    y = sigconv.convolve(x, h) if layout != "matrix" else np.stack(
        [scipy.signal.fftconvolve(x[:, 0], h[:, 0]) + scipy.signal.fftconvolve(x[:, 1], h[:, 2]),
         scipy.signal.fftconvolve(x[:, 0], h[:, 1]) + scipy.signal.fftconvolve(x[:, 1], h[:, 3])], axis=1)
    sf.write(tmp_path / "y.wav", y, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    settings = DeconvolveSettings("tikhonov", reg=1e-4, from_mono=layout == "split")
    expected = _oracle(y, h, layout, settings)
    peak = np.max(np.abs(expected))
    deconvolve_file(str(tmp_path / "y.wav"), str(tmp_path / "h.wav"), str(tmp_path / "x.wav"), settings)
    from_file, _ = sf.read(tmp_path / "x.wav", always_2d=True)
    np.testing.assert_allclose(from_file, expected, rtol=0, atol=1e-9 * peak)
    from_array = sigconv.deconvolve(y, h, "tikhonov", reg=1e-4, from_mono=layout == "split")
    np.testing.assert_allclose(from_array.reshape(expected.shape), expected, rtol=0, atol=1e-9 * peak)
    options = ["--from-mono"] if layout == "split" else []
    result = cli("deconvolve", "-", tmp_path / "h.wav", "-m", "tikhonov", "--reg", "1e-4", *options,
                 "--subtype", "DOUBLE", "-o", tmp_path / "piped.wav", input=(tmp_path / "y.wav").read_bytes())
    assert result.exit_code == 0, result.output
    piped, _ = sf.read(tmp_path / "piped.wav", always_2d=True)
    np.testing.assert_allclose(piped, expected, rtol=0, atol=1e-9 * peak)
    assert 10 * np.log10(np.sum(x**2) / np.sum((from_file[:, : x.shape[1]] - x) ** 2)) > 30  # and it deconvolves


def test_inverse_is_cut_to_the_memory_budget(rng, monkeypatch):
    """Where the budget is below twice the first length, the first length is kept with its measured truncation."""
    h = rng.standard_normal((2000, 2)) * np.exp(-np.arange(2000) / 1500)[:, None]
    settings = DeconvolveSettings(snr_db=80).checked(8000.0)
    free = inverse_filter(h, settings, 8000.0, channels=2)
    # 80 bytes a tap (2 columns on 2 paths): room for 1.5 first lengths
    monkeypatch.setattr(budget, "INVERSE_MEMORY", 80 * 24576)
    cut = inverse_filter(h, settings, 8000.0, channels=2)
    assert free.taps.shape[0] > cut.taps.shape[0] == 16384
    assert cut.truncation > free.truncation


@pytest.mark.parametrize("method", ["exact", "lucy"])
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_whole_signal_methods_refuse_beyond_their_limit(tmp_path, rng, monkeypatch, cli, method, source):
    monkeypatch.setattr(budget, "WHOLE_SIGNAL_SAMPLES", 1000)
    h = np.array([1.0, 0.5, 0.25])
    y = np.abs(rng.standard_normal((600, 2)))
    sf.write(tmp_path / "y.wav", y, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    refusal = r"at most 0\.1 s \(500 frames\).*--method wiener"
    if source == "file":
        with pytest.raises(UsageError, match=refusal):
            deconvolve_file(str(tmp_path / "y.wav"), str(tmp_path / "h.wav"), str(tmp_path / "x.wav"),
                            method=method)
    else:
        result = cli("deconvolve", "-", tmp_path / "h.wav", "-m", method, "-o", tmp_path / "x.wav",
                     input=(tmp_path / "y.wav").read_bytes())
        assert result.exit_code != 0
        assert re.search(refusal, " ".join(result.output.split()))
    assert not (tmp_path / "x.wav").exists()
    sf.write(tmp_path / "y.wav", y[:500], 8000, subtype="DOUBLE")  # at the limit: accepted
    deconvolve_file(str(tmp_path / "y.wav"), str(tmp_path / "h.wav"), str(tmp_path / "x.wav"), method=method,
                    **({"tolerance": 1.0} if method == "exact" else {}))
    assert (tmp_path / "x.wav").exists()
