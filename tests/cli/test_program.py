"""The executable's entry point (:func:`sigconv.cli.program`): it leaves with ``os._exit`` once the command is done.

What must still happen on that way out: every byte written to standard
output and error reaches the pipe, ``atexit`` functions run, and the exit
status is the one :class:`SystemExit` would have given.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

import sigconv
from sigconv.cli import _exit_status

from ..conftest import SAMPLES


def _program(*args: str, prelude: str = "", entry: str = "program") -> subprocess.CompletedProcess:
    code = f"import sys\n{prelude}\nsys.argv = ['sigconv', *{list(args)!r}]\nfrom sigconv.cli import {entry}\n{entry}()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)


@pytest.mark.parametrize("args", [["backends"], ["impulse", "info", str(SAMPLES / "room-ir.wav"), "--json"]])
def test_everything_printed_reaches_the_pipe(args):
    # the oracle: the same command through run(), whose SystemExit lets the interpreter flush and shut down
    ordinary = _program(*args, entry="run")
    piped = subprocess.run([sys.executable, "-m", "sigconv", *args], capture_output=True, timeout=120)
    assert piped.returncode == ordinary.returncode == 0
    assert len(piped.stdout) > 200 and piped.stdout == ordinary.stdout


def test_samples_written_to_standard_output_all_arrive():
    wav = subprocess.run([sys.executable, "-m", "sigconv", "convolve", str(SAMPLES / "dry.wav"),
                          str(SAMPLES / "room-ir.wav"), "-o", "-", "--subtype", "PCM_16"], capture_output=True,
                         timeout=120)
    assert wav.returncode == 0
    x, h = sigconv.read(SAMPLES / "dry.wav"), sigconv.read(SAMPLES / "room-ir.wav")
    y = sigconv.read(io.BytesIO(wav.stdout))
    assert y.rate == x.rate and y.data.shape[0] == x.data.shape[0] + h.data.shape[0] - 1
    # the last block is not lost: the tail's final samples are those of the full convolution
    expected = sigconv.convolve(x.data, h.data)
    assert np.max(np.abs(y.data[-4000:] - expected[-4000:])) < 2 / 32768


def test_exit_statuses_and_atexit_functions_survive_the_quick_exit():
    said = "import atexit\natexit.register(lambda: print('atexit ran', file=sys.stderr))"
    ok = _program("--version", prelude=said)
    assert ok.returncode == 0 and b"sigconv" in ok.stdout and b"atexit ran" in ok.stderr
    usage = _program("convolve", "--no-such-option", prelude=said)
    assert usage.returncode == 2 and b"no such option" in usage.stderr.lower() and b"atexit ran" in usage.stderr
    missing = _program("impulse", "info", "no-such-file.wav")
    assert missing.returncode == 3 and missing.stderr.startswith(b"Error:")


def test_exit_status_matches_what_system_exit_gives(capsys):
    assert _exit_status(None) == 0
    assert _exit_status(7) == 7
    assert _exit_status(256 + 3) == 3
    assert _exit_status("stopped: reason") == 1
    assert "stopped: reason" in capsys.readouterr().err
