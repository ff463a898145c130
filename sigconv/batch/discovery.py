"""Finding a batch's files: paths, folders (searched recursively for audio) and glob patterns."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

from ..errors import SignalNotFoundError
from ..io.formats import CSV, format_from_name

__all__ = ["discover"]


def _is_audio(name: str) -> bool:
    """Whether a file met in a folder is taken: a known audio extension, not hidden (no temporary files)."""
    if os.path.basename(name).startswith("."):
        return False
    fmt = format_from_name(name)
    return fmt is not None and fmt != CSV


def _in_folder(folder: str) -> list[str]:
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(d for d in folders if not d.startswith("."))
        found += [os.path.join(root, name) for name in sorted(files) if _is_audio(name)]
    return found


def discover(sources: Iterable[str], what: str = "input") -> list[str]:
    """Every file that ``sources`` name, in order, each once.

    Parameters
    ----------
    sources : iterable of str
        Files (taken whatever their extension), folders (their audio files
        -- WAV, FLAC, OGG, AIFF -- searched recursively, sorted, hidden
        files skipped) and glob patterns (``clips/*.flac``, ``**`` allowed).
    what : str
        What the files are, for messages (``"input"``, ``"IR"``).

    Returns
    -------
    list of str

    Raises
    ------
    SignalNotFoundError
        A source that names nothing, or sources that hold no audio file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b.wav", "a.flac", "notes.txt", ".a.wav.1234.part"):
    ...     _ = (d / name).write_bytes(b"")
    >>> [os.path.basename(p) for p in discover([str(d)])]
    ['a.flac', 'b.wav']
    """
    found: list[str] = []
    for source in sources:
        source = os.fspath(source)
        if os.path.isdir(source):
            found += _in_folder(source)
        elif os.path.exists(source):
            found.append(source)
        elif glob.has_magic(source):
            matches = sorted(glob.glob(source, recursive=True))
            if not matches:
                raise SignalNotFoundError(f"no {what} file matches {source!r}; check the pattern")
            for match in matches:
                found += _in_folder(match) if os.path.isdir(match) else [match]
        else:
            raise SignalNotFoundError(f"{what} {source!r} does not exist; give a file, a folder or a glob pattern")
    unique = list(dict.fromkeys(found))
    if not unique:
        raise SignalNotFoundError(f"no {what} audio files found in {', '.join(map(repr, sources))}")
    return unique
