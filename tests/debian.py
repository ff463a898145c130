"""Real recordings for tests: files out of Debian packages, fetched once with ``apt-get download``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: Where fetched files are kept between runs (``$SIGCONV_TEST_DATA`` overrides it).
DATA = Path(os.environ.get("SIGCONV_TEST_DATA", Path.home() / ".cache" / "sigconv-test-data"))


def fetch_files(cache: Path, wanted: dict[str, tuple[str, str]], sources: str, timeout: float = 600) -> str | None:
    """Put each ``name: (package, path inside it)`` of ``wanted`` into ``cache``; None on success, else why not.

    ``sources`` (their packages and licences) is written to ``cache/SOURCE.txt``.
    """
    if all((cache / name).exists() for name in wanted):
        return None
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        return "apt-get/dpkg-deb not available to fetch recordings from Debian packages"
    packages = sorted({package for package, _ in wanted.values()})
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = subprocess.run(["apt-get", "download", *packages], cwd=tmp, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return "apt-get download timed out"
        if proc.returncode != 0:
            return f"apt-get download {' '.join(packages)} failed: {proc.stderr.strip()[-300:]}"
        for deb in Path(tmp).glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / "root")], check=True)
        cache.mkdir(parents=True, exist_ok=True)
        for name, (_, inside) in wanted.items():
            shutil.copyfile(Path(tmp) / "root" / inside, cache / name)
        (cache / "SOURCE.txt").write_text(sources)
    return None
