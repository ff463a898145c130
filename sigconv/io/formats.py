"""Which container and subtype an output gets, and which subtypes clip."""

from __future__ import annotations

import os

from ..errors import UsageError

__all__ = [
    "CSV",
    "format_from_name",
    "output_format",
    "output_subtype",
    "clips_at_full_scale",
]

CSV = "CSV"

_EXTENSIONS = {
    ".wav": "WAV",
    ".wave": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".aif": "AIFF",
    ".aiff": "AIFF",
    ".aifc": "AIFF",
    ".csv": CSV,
}

# Subtypes whose samples are stored as floats (or coded without a hard
# integer ceiling); everything else is integer PCM-like and clips at 1.0.
_FLOAT_SUBTYPES = {"FLOAT", "DOUBLE", "VORBIS", "OPUS"}

# Where the input's subtype cannot go into the output container, the best
# lossless-enough choice for a float result.
_PREFERRED_SUBTYPE = {"WAV": "FLOAT", "AIFF": "FLOAT", "FLAC": "PCM_24", "OGG": "VORBIS", CSV: None}


def _soundfile():
    import soundfile

    return soundfile


def format_from_name(name: str) -> str | None:
    """Container implied by a file name's extension, or None if unknown.

    Examples
    --------
    >>> format_from_name("take1.FLAC")
    'FLAC'
    """
    ext = os.path.splitext(os.fspath(name))[1].lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if ext and ext[1:].upper() in _soundfile().available_formats():
        return ext[1:].upper()
    return None


def output_format(destination: str, requested: str | None = None) -> str:
    """Container to write: ``requested`` if given, else from the extension.

    Standard output (``"-"``) defaults to WAV.

    Raises
    ------
    UsageError
        If the format is unknown, or cannot be told from the name.
    """
    if requested:
        fmt = requested.upper()
        if fmt != CSV and fmt not in _soundfile().available_formats():
            known = ", ".join(sorted({*_EXTENSIONS.values(), *_soundfile().available_formats()}))
            raise UsageError(f"unknown output format {requested!r}; choose one of: {known}")
        return fmt
    if destination == "-":
        return "WAV"
    fmt = format_from_name(destination)
    if fmt is None:
        raise UsageError(
            f"cannot tell the output format from {destination!r}; use an extension "
            "such as .wav, .flac, .ogg, .aiff or .csv, or give --format"
        )
    return fmt


def output_subtype(fmt: str, requested: str | None = None, source: str | None = None) -> str | None:
    """Subtype to write in container ``fmt``.

    The explicitly ``requested`` subtype wins; otherwise the ``source``
    subtype is kept where ``fmt`` supports it; otherwise a float (or the
    container's highest-resolution) subtype.

    Raises
    ------
    UsageError
        If ``requested`` is not a subtype ``fmt`` can hold.
    """
    if fmt == CSV:
        return None
    sf = _soundfile()
    if requested:
        sub = requested.upper()
        if not sf.check_format(fmt, sub):
            valid = ", ".join(sorted(sf.available_subtypes(fmt)))
            raise UsageError(f"{fmt} files cannot hold subtype {requested!r}; choose one of: {valid}")
        return sub
    if source and sf.check_format(fmt, source):
        return source
    preferred = _PREFERRED_SUBTYPE.get(fmt)
    if preferred and sf.check_format(fmt, preferred):
        return preferred
    return sf.default_subtype(fmt)


def clips_at_full_scale(subtype: str | None) -> bool:
    """True where the subtype stores integers, so samples beyond ±1.0 clip."""
    return subtype is not None and subtype.upper() not in _FLOAT_SUBTYPES
