"""Shared fixtures: a deterministic hypothesis profile, signal files, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from sigconv.cli import main

REPO = Path(__file__).resolve().parents[1]

# FFTW wisdom a developer made with `sigconv tune` must not change what tests run
os.environ["SIGCONV_CACHE_DIR"] = tempfile.mkdtemp(prefix="sigconv-test-cache-")
SAMPLES = REPO / "samples"

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def write_audio(tmp_path):
    """Write ``data`` to ``tmp_path/name`` and return the path as a string."""

    def _write(name, data, rate=48000, subtype="FLOAT"):
        path = tmp_path / name
        sf.write(path, data, rate, subtype=subtype)
        return str(path)

    return _write


@pytest.fixture
def cli():
    """Invoke the CLI in-process; returns click's Result (stdout and stderr separate)."""
    runner = CliRunner()

    def _invoke(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    return _invoke


def run_sigconv(*args, input=None, cwd=None, env=None):
    """Run ``python -m sigconv`` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "sigconv", *map(str, args)],
        input=input,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def read_float(path):
    data, rate = sf.read(path, dtype="float64", always_2d=True)
    return data, rate


@pytest.fixture
def strict():
    """The name of the ``strict`` backend, registered: the ``fft`` backend on NumPy arrays behind CuPy's
    rules (:mod:`sigconv.testing`), so that a missing host transfer raises."""
    from sigconv import register_backend
    from sigconv.testing import StrictBackend

    register_backend("strict", StrictBackend, clobber=True)
    return "strict"


@pytest.fixture
def strict_transforms(strict, monkeypatch):
    """How many transforms the strict backend's ops ran (``["rfft"]``): proof that it computed."""
    from sigconv.testing import StrictOps

    calls = {"rfft": 0}
    original = StrictOps.rfft

    def counted(self, *args, **kwargs):
        calls["rfft"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StrictOps, "rfft", counted)
    return calls
