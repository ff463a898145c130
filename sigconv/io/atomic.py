"""Write outputs atomically and never over an input."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator

from ..errors import OutputError

__all__ = ["atomic_path", "refuse_input_overwrite"]


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_input_overwrite(destination: str, inputs: Iterable[str]) -> None:
    """Raise :class:`OutputError` if ``destination`` is one of ``inputs``.

    Standard streams (``"-"``) are never compared.
    """
    if destination == "-":
        return
    for source in inputs:
        if source and source != "-" and _same_file(destination, source):
            raise OutputError(
                f"refusing to write over the input file {source!r}; choose another output path"
            )


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path next to ``destination``; rename it into place on success.

    The temporary file lives in the destination's folder so that the final
    :func:`os.replace` is atomic. On any exception it is removed and an
    existing ``destination`` is left exactly as it was.

    Raises
    ------
    OutputError
        If the folder does not exist or cannot be written.
    """
    destination = os.fspath(destination)
    folder = os.path.dirname(os.path.abspath(destination))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {destination!r}: the folder {folder!r} does not exist")
    if os.path.isdir(destination):
        raise OutputError(f"cannot write {destination!r}: it is a folder; give a file name")
    base = os.path.basename(destination)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write into {folder!r}: {exc.strerror}") from exc
    os.close(fd)
    try:
        yield tmp
        if os.path.exists(destination):
            # keep the permissions a user gave the file being replaced
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(destination).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
