"""Third-party backends through the real ``sigconv.backends`` entry-point group.

Each test installs a tiny distribution (a ``*.dist-info`` folder with
``entry_points.txt``, as pip would leave it) into a temporary folder put on
PYTHONPATH, then runs sigconv in a subprocess.
"""

from __future__ import annotations

import json
import os
import textwrap

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from ..conftest import run_sigconv

PLUGIN = '''
import numpy as np
from sigconv.backends import Backend

class ReversedTwice(Backend):
    """Correct convolution computed a roundabout way, so we know it ran."""
    name = "reversed"
    description = "test plugin: time-reversal identity"

    def convolve_full(self, x, h):
        channels = max(x.shape[1], h.shape[1])
        return np.stack([np.convolve(x[::-1, c % x.shape[1]], h[::-1, c % h.shape[1]])[::-1]
                         for c in range(channels)], axis=1)

class Unavailable(ReversedTwice):
    name = "missing-lib"
    description = "test plugin whose library is absent"
    def unavailable_reason(self):
        return "libmissing is not installed (pip install missing)"
'''


@pytest.fixture
def plugin_path(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sigconv_testplugin.py").write_text(PLUGIN)
    (site / "sigconv_brokenplugin.py").write_text("raise ImportError('needs libfoo, which is missing')\n")
    dist = site / "sigconv_testplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sigconv-testplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """
            [sigconv.backends]
            reversed = sigconv_testplugin:ReversedTwice
            missing-lib = sigconv_testplugin:Unavailable
            broken = sigconv_brokenplugin:Backend
            direct = sigconv_testplugin:ReversedTwice
            """
        )
    )
    existing = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), existing]))}


def test_backends_lists_plugins_with_availability_and_reasons(plugin_path):
    result = run_sigconv("backends", "--json", env=plugin_path)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["reversed"]["available"] is True
    assert rows["reversed"]["origin"] == "plugin (sigconv-testplugin)"
    assert rows["missing-lib"]["available"] is False
    assert "pip install missing" in rows["missing-lib"]["reason"]
    assert rows["broken"]["available"] is False
    assert "needs libfoo" in rows["broken"]["reason"]
    # a plugin cannot shadow a built-in
    assert rows["direct"]["origin"] == "built-in"
    assert rows["direct"]["available"] and rows["fft"]["available"]


def test_table_output_shows_yes_and_no(plugin_path):
    result = run_sigconv("backends", env=plugin_path)
    lines = {line.split()[0]: line for line in result.stdout.decode().splitlines()[1:]}
    assert lines["reversed"].split()[1] == "yes"
    assert lines["broken"].split()[1] == "no" and "needs libfoo" in lines["broken"]


def test_convolve_runs_on_a_plugin_backend(plugin_path, tmp_path, rng):
    x = rng.standard_normal((400, 2)) * 0.1
    h = rng.standard_normal(33) * 0.1
    sf.write(tmp_path / "x.wav", x, 8000, subtype="DOUBLE")
    sf.write(tmp_path / "h.wav", h, 8000, subtype="DOUBLE")
    out = tmp_path / "y.wav"
    result = run_sigconv("convolve", tmp_path / "x.wav", tmp_path / "h.wav", "--backend", "reversed", "-o", out,
                         env=plugin_path)
    assert result.returncode == 0, result.stderr
    y, _ = sf.read(out, always_2d=True)
    expected = np.stack([scipy.signal.convolve(x[:, c], h, method="direct") for c in range(2)], axis=1)
    np.testing.assert_allclose(y, expected, atol=1e-12)


@pytest.mark.parametrize("name, words", [("broken", "failed to load"), ("missing-lib", "pip install missing")])
def test_broken_or_unavailable_plugin_is_a_clear_error(plugin_path, tmp_path, name, words):
    sf.write(tmp_path / "x.wav", np.zeros(10), 8000)
    result = run_sigconv("convolve", tmp_path / "x.wav", tmp_path / "x.wav", "--backend", name, "-o",
                         tmp_path / "y.wav", env=plugin_path)
    stderr = result.stderr.decode()
    assert result.returncode == 5
    assert stderr.startswith("Error: ") and words in stderr and "available: auto, direct, fft, reversed" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "y.wav").exists()


def test_a_command_without_plugins_skips_the_metadata_scan(tmp_path):
    """No installed distribution names the group: the command does not import importlib.metadata."""
    probe = ("import sys; sys.argv = ['sigconv', 'backends', '--json']\n"
             "from sigconv.cli import run\n"
             "try:\n    run()\n"
             "except SystemExit:\n    pass\n"
             "print('importlib.metadata' in sys.modules, file=sys.stderr)\n")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().splitlines()[-1] == "False", result.stderr
    assert {row["name"] for row in json.loads(result.stdout)} >= {"direct", "fft"}


def test_the_quick_look_sees_a_plugin_the_full_scan_would_find(plugin_path, monkeypatch):
    from sigconv.backends import registry

    site = plugin_path["PYTHONPATH"].split(os.pathsep)[0]
    # what the folders say; a finder that other tests' imports left on sys.meta_path would answer True for all
    monkeypatch.setattr(registry, "_standard_finders_only", lambda: True)
    monkeypatch.setattr("sys.path", [site])
    assert registry._metadata_may_name_plugins()
    monkeypatch.setattr("sys.path", [os.path.dirname(site)])  # a folder with no distributions
    assert not registry._metadata_may_name_plugins()
    archive = os.path.join(os.path.dirname(site), "plugins.zip")
    open(archive, "wb").close()
    monkeypatch.setattr("sys.path", [archive])  # only the full scan reads inside a zip
    assert registry._metadata_may_name_plugins()
