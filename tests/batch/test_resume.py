"""A run killed with SIGKILL leaves no partial file, and running it again completes the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import soundfile as sf

from sigconv.batch import convolve_batch

from .material import dataset, tree_bytes


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_run_leaves_no_partial_files_and_a_rerun_completes(tmp_path, rng):
    clips, irs = dataset(tmp_path, rng, clips=12, irs=2, frames=16000, ir_frames=4000, rate=16000)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sigconv", "batch", str(clips), "--ir", str(irs), "-o", str(out), "-j", "1", "-q"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if out.exists() and sum(not name.startswith(".") for name in os.listdir(out)) >= 3:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = sorted(os.listdir(out))
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert 3 <= len(written) < 24
    assert all(not name.startswith(".") and name.endswith(".wav") for name in written)  # no temporary file left
    for name in written:  # whatever is there is whole
        clip, ir = int(name[4:name.index("__")]), int(name[-5])
        assert sf.info(out / name).frames == (16000 + 100 * clip) + (4000 + 50 * ir) - 1
    rerun = subprocess.run(command[:-1], check=False, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"done {24 - len(written)}, skipped {len(written)}, failed 0" in rerun.stderr
    clean = tmp_path / "clean"
    convolve_batch([str(clips)], [str(irs)], str(clean), jobs=1)
    assert tree_bytes(out) == tree_bytes(clean) and len(tree_bytes(clean)) == 24
