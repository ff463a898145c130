"""README.md stays true: its set-up commands, its console examples and its Python session."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys

import pytest

from .conftest import REPO

README = (REPO / "README.md").read_text()


def console_examples():
    """(command, expected output) pairs from the ```console blocks."""
    pairs = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        command, expected = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    pairs.append((command, "\n".join(expected)))
                command, expected = line[2:], []
            else:
                expected.append(line)
        if command is not None:
            pairs.append((command, "\n".join(expected)))
    return pairs


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A folder with samples/ and a `sigconv` on PATH that runs this checkout."""
    root = tmp_path_factory.mktemp("readme")
    (root / "samples").symlink_to(REPO / "samples")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "sigconv"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sigconv "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return root, env


def test_readme_opens_with_the_two_setup_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, flags=re.S).group(1).strip().splitlines()
    assert len(first_block) == 2
    install_and_run, install_and_test = first_block
    assert "pip install ." in install_and_run and "sigconv convolve samples/" in install_and_run
    assert "pip install -e '.[test]'" in install_and_test and "pytest" in install_and_test
    ci = (REPO / ".ci" / "run").read_text()
    assert install_and_test in ci.splitlines(), ".ci/run must run README's test command verbatim"


@pytest.mark.parametrize("command, expected", console_examples(), ids=[c for c, _ in console_examples()])
def test_console_example(sandbox, command, expected):
    root, env = sandbox
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)
    shown = (proc.stdout + proc.stderr).rstrip("\n")
    assert shown == expected.rstrip("\n")
    # a failure ends in one "Error:" line (after whatever results were printed: correlate prints every pair)
    last = shown.splitlines()[-1] if shown else ""
    assert (proc.returncode == 0) == (not last.startswith("Error:"))


def test_python_session_in_readme(monkeypatch):
    monkeypatch.chdir(REPO)
    block = re.search(r"```python\n(.*?)```", README, flags=re.S).group(1)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block, {}, "README.md", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 8


def test_what_the_examples_write_is_ignored_by_git():
    """A user who runs the examples in a checkout sees no new untracked files."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    written = set()
    for command, _ in console_examples():
        written.update(re.findall(r"(?:-o|--aligned|--plot|>)\s+([\w./-]+)", command))
        written.update(f"{folder}/x.wav" for folder in re.findall(r"--harmonics\s+([\w-]+)", command))
    written -= {"-"}
    assert written, "no example writes a file?"
    checked = subprocess.run(["git", "check-ignore", "--no-index", *sorted(written)], cwd=REPO,
                             capture_output=True, text=True)
    assert sorted(checked.stdout.split()) == sorted(written), f"not ignored: {written - set(checked.stdout.split())}"
