"""Outputs never damage what the user did not ask to replace, and no run leaves a file behind.

Real processes, real signals, real special files: a FIFO read by another
thread, /dev/null and /dev/full, symbolic links, ``ulimit -f``.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from sigconv.errors import OutputError
from sigconv.io import write
from sigconv.io.atomic import atomic_path, is_stream_target, scratch_path
from sigconv.io.writing import write_together

from ..conftest import read_float, run_sigconv

SIGCONV = [sys.executable, "-m", "sigconv"]


@pytest.fixture
def signal_pair(tmp_path, rng):
    """A minute of stereo noise and a 1 s stereo IR: long enough to stop a run half way."""
    x = (0.1 * rng.standard_normal((48000 * 60, 2))).astype(np.float32)
    h = (rng.standard_normal((48000, 2)) * np.exp(-np.arange(48000) / 6000)[:, None]).astype(np.float32)
    sf.write(tmp_path / "x.wav", x, 48000, subtype="FLOAT")
    sf.write(tmp_path / "h.wav", h, 48000, subtype="FLOAT")
    return tmp_path / "x.wav", tmp_path / "h.wav"


def _folder_listing(folder):
    return sorted(os.listdir(folder))


def _has_output_open(pid: int, folder) -> bool:
    """Whether process ``pid`` holds a file in ``folder`` open for writing (an unnamed or temporary file)."""
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)) and not target.endswith(("x.wav", "h.wav")):
            return True
    return False


def _start_and_stop(command, folder, how, env=None):
    """Start ``command``, wait until it writes its output, then send it ``how``; returns (status, stderr)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while not _has_output_open(process.pid, folder):
        assert process.poll() is None, f"finished before it could be stopped: {process.stderr.read().decode()}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(how)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr.decode()


@pytest.mark.parametrize("how, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130),
                                         (signal.SIGKILL, -signal.SIGKILL)])
def test_a_stopped_run_leaves_no_file_and_keeps_the_old_output(signal_pair, tmp_path, how, status):
    x, h = signal_pair
    out = tmp_path / "out.wav"
    out.write_bytes(b"the previous mix")
    before = _folder_listing(tmp_path)
    returncode, stderr = _start_and_stop([*SIGCONV, "convolve", str(x), str(h), "-o", str(out), "-q"], tmp_path,
                                         how)
    assert returncode == status, stderr
    assert "Traceback" not in stderr
    assert _folder_listing(tmp_path) == before
    assert out.read_bytes() == b"the previous mix"


def test_a_stopped_deconvolution_of_stdin_leaves_no_spool(signal_pair, tmp_path):
    """``deconvolve -`` with ``--noise`` copies standard input to a scratch file: it goes with the process."""
    x, h = signal_pair
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    noise = tmp_path / "noise.wav"
    sf.write(noise, 0.001 * np.random.default_rng(5).standard_normal((48000, 2)), 48000, subtype="FLOAT")
    env = {**os.environ, "TMPDIR": str(scratch)}
    with open(x, "rb") as stdin:
        process = subprocess.Popen([*SIGCONV, "deconvolve", "-", str(h), "--noise", str(noise), "-o",
                                    str(tmp_path / "y.wav"), "-q"], stdin=stdin, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        while not _has_output_open(process.pid, scratch):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert os.listdir(scratch) == []
    assert not (tmp_path / "y.wav").exists()


def test_a_fifo_output_is_written_through(signal_pair, tmp_path):
    x, h = signal_pair
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run_sigconv("convolve", tmp_path / "x.wav", h, "-o", fifo, "-q")
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    (tmp_path / "piped.wav").write_bytes(received[0])
    assert run_sigconv("convolve", x, h, "-o", tmp_path / "file.wav", "-q").returncode == 0
    np.testing.assert_array_equal(read_float(tmp_path / "piped.wav")[0], read_float(tmp_path / "file.wav")[0])


def test_dev_null_stays_a_device_and_dev_full_is_an_output_error(tmp_path):
    data = np.zeros((100, 1))
    assert is_stream_target("/dev/null")
    write("/dev/null", data, 8000, format="WAV")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    result = run_sigconv("impulse", "synth", "dirac", "--rate", "8000", "-f", "wav", "-o", "/dev/full")
    assert result.returncode == 6
    assert result.stderr.decode().count("Error:") == 1 and b"Traceback" not in result.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_block_device_is_refused():
    device = next((os.path.join("/dev", name) for name in sorted(os.listdir("/dev"))
                   if stat.S_ISBLK(os.lstat(os.path.join("/dev", name)).st_mode)), None)
    if device is None:
        pytest.skip("no block device on this machine")
    with pytest.raises(OutputError, match="block device"):
        write(device, np.zeros(10), 8000, format="WAV")


def test_a_symbolic_link_stays_and_its_target_is_replaced(tmp_path):
    target = tmp_path / "takes" / "mix.wav"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "latest.wav"
    link.symlink_to(target)
    write(link, np.full(10, 0.25), 8000, subtype="FLOAT")
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(read_float(target)[0][:, 0], np.full(10, 0.25))
    assert _folder_listing(tmp_path) == ["latest.wav", "takes"]
    assert _folder_listing(target.parent) == ["mix.wav"]


def test_names_up_to_the_file_system_limit_are_written(tmp_path):
    name = "n" * 251 + ".wav"
    write(tmp_path / name, np.ones(4), 8000, subtype="FLOAT")
    assert _folder_listing(tmp_path) == [name]


def test_a_new_file_gets_the_usual_permissions_and_a_replaced_one_keeps_its_own(tmp_path):
    umask = os.umask(0o022)
    try:
        write(tmp_path / "new.wav", np.ones(4), 8000)
        assert stat.S_IMODE(os.stat(tmp_path / "new.wav").st_mode) == 0o644
        os.chmod(tmp_path / "new.wav", 0o600)
        write(tmp_path / "new.wav", np.zeros(4), 8000)
        assert stat.S_IMODE(os.stat(tmp_path / "new.wav").st_mode) == 0o600
    finally:
        os.umask(umask)


def test_a_failed_write_leaves_nothing_and_the_old_file_whole(tmp_path):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    with pytest.raises(RuntimeError):
        with atomic_path(out) as path:
            with open(path, "wb") as f:
                f.write(b"half a file")
            raise RuntimeError("the computation failed")
    assert _folder_listing(tmp_path) == ["out.wav"] and out.read_bytes() == b"keep me"


def test_scratch_files_vanish(tmp_path):
    with scratch_path(str(tmp_path)) as path:
        with open(path, "wb") as f:
            f.write(b"spooled")
        with open(path, "rb") as f:
            assert f.read() == b"spooled"
    assert os.listdir(tmp_path) == []


def test_outputs_written_together_are_committed_together(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"old a")
    with pytest.raises(Exception):
        # the second output cannot be written (its folder is missing): the first must not appear either
        write_together([(tmp_path / "a.wav", np.ones(4), None, None),
                        (tmp_path / "missing" / "b.wav", np.ones(4), None, None)], 8000)
    assert (tmp_path / "a.wav").read_bytes() == b"old a"
    assert _folder_listing(tmp_path) == ["a.wav"]


def test_file_size_limit_is_an_output_error_that_leaves_nothing(signal_pair, tmp_path):
    x, h = signal_pair

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))

    before = _folder_listing(tmp_path)
    result = subprocess.run([*SIGCONV, "convolve", str(x), str(h), "-o", str(tmp_path / "y.wav"), "-q"],
                            capture_output=True, preexec_fn=small_files, timeout=120)
    assert result.returncode == 6, result.stderr.decode()
    assert b"Traceback" not in result.stderr and b"File too large" in result.stderr
    assert _folder_listing(tmp_path) == before


@pytest.mark.parametrize("args", [["--help"], ["convolve", "--help"], ["impulse", "synth", "--help"], ["backends"],
                                  ["impulse", "synth", "dirac", "--rate", "8000", "-o", "-"]])
def test_standard_output_full_or_closed_is_one_error_line(args):
    with open("/dev/full", "wb") as full:
        result = subprocess.run([*SIGCONV, *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert result.returncode == 6, result.stderr.decode()
    assert result.stderr.decode().strip().splitlines() == [
        "Error: writing standard output failed: No space left on device"]
    if args[-1] == "-":
        closed = subprocess.run([*SIGCONV, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60,
                                pass_fds=(), preexec_fn=lambda: os.close(1))
        assert closed.returncode == 6
        assert b"standard output is closed" in closed.stderr and b"Traceback" not in closed.stderr


def test_ctrl_c_in_process_is_exit_130(monkeypatch):
    from sigconv import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.main, "main", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        cli.run(["backends"])
    assert exit_info.value.code == 130


def test_sd2_whose_header_lives_in_a_sidecar_is_refused(tmp_path):
    result = run_sigconv("impulse", "synth", "dirac", "--rate", "8000", "-o", tmp_path / "x.sd2")
    assert result.returncode == 2 and b"resource fork" in result.stderr
    assert os.listdir(tmp_path) == []


def test_an_immutable_output_is_an_output_error_that_leaves_nothing(tmp_path):
    out = tmp_path / "locked.wav"
    write(out, np.ones(4), 8000)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(out)], capture_output=True).returncode:
        pytest.skip("chattr +i is not possible here (needs root and a file system with the flag)")
    try:
        before = out.read_bytes()
        result = run_sigconv("impulse", "synth", "dirac", "--rate", "8000", "-o", out)
        assert result.returncode == 6 and b"Operation not permitted" in result.stderr
        assert b"Traceback" not in result.stderr
        assert out.read_bytes() == before and os.listdir(tmp_path) == ["locked.wav"]
    finally:
        subprocess.run(["chattr", "-i", str(out)], capture_output=True)
