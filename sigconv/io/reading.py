"""Read a signal from a file, standard input, a file object or bytes."""

from __future__ import annotations

import io
import os
import sys

import numpy as np

from ..errors import InvalidSignalError, SignalNotFoundError, UnreadableSignalError
from ..signal import Signal
from ..validation import as_frames
from .csvio import parse_csv
from .formats import CSV, format_from_name
from .wavpipe import repair_stream_sizes

__all__ = ["read"]

# Leading bytes of the containers libsndfile reads that sigconv recognises
# in a stream with no name to go by.
_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd", b"caff", b"wvpk")


def looks_like_text(buf: bytes) -> bool:
    head = buf[:4096]
    if not head or any(head.startswith(m) for m in _MAGIC):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def unreadable_audio(name: str, exc) -> UnreadableSignalError:
    """The error for a file libsndfile refuses, naming what sigconv does read."""
    return UnreadableSignalError(
        f"cannot read {name!r} as audio ({exc.error_string}); sigconv reads what libsndfile "
        "reads (WAV, FLAC, OGG, AIFF, ...) and CSV (use a .csv name or --input-format csv)"
    )


def _decode_audio(buf_or_path, name: str, fmt: str | None, dtype) -> Signal:
    import soundfile as sf

    if isinstance(buf_or_path, bytes):
        buf_or_path = io.BytesIO(repair_stream_sizes(buf_or_path))
    try:
        with sf.SoundFile(buf_or_path) as f:
            data = f.read(dtype=np.dtype(dtype).name, always_2d=True)
            rate, subtype, container = f.samplerate, f.subtype, f.format
    except sf.LibsndfileError as exc:
        raise unreadable_audio(name, exc) from exc
    except (TypeError, RuntimeError) as exc:  # soundfile raises these for unknown formats
        raise UnreadableSignalError(f"cannot read {name!r} as audio: {exc}") from exc
    if data.shape[0] == 0:
        raise InvalidSignalError(f"{name!r} holds no samples; it needs at least one frame")
    return Signal(as_frames(data, name=repr(name), dtype=dtype), rate, subtype, container, name)


def _decode_csv(text: str, name: str, rate, dtype) -> Signal:
    data, rate = parse_csv(text, rate=rate, source=repr(name))
    return Signal(as_frames(data, name=repr(name), dtype=dtype), rate, None, CSV, name)


def read(source, format: str | None = None, rate: float | None = None, dtype=np.float64) -> Signal:
    """Read a signal from a path, ``"-"`` (standard input), a binary file object or bytes.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        Where the signal is. ``"-"`` reads standard input, where WAV streams
        with unfinished headers (as ffmpeg and sox write to pipes) are
        accepted.
    format : str, optional
        Container, e.g. ``"WAV"`` or ``"CSV"``. Default: from the file name,
        else from the content (text is taken as CSV).
    rate : float, optional
        Sample rate of a CSV without a time column. Ignored for audio.
    dtype : numpy dtype, optional
        ``float64`` (default) or ``float32``. Integer audio is scaled to
        [-1, 1).

    Returns
    -------
    Signal
        Samples as ``(frames, channels)`` with rate, subtype and format.

    Raises
    ------
    SignalNotFoundError
        The path does not exist.
    UnreadableSignalError
        The content is not a format sigconv reads.
    InvalidSignalError
        No samples, NaN/Inf samples, or a malformed CSV.

    Examples
    --------
    >>> import io, numpy as np, soundfile as sf
    >>> buf = io.BytesIO()
    >>> sf.write(buf, np.zeros(100), 8000, format="WAV", subtype="PCM_16")
    >>> sig = read(buf.getvalue())
    >>> sig.rate, sig.frames, sig.channels, sig.subtype
    (8000, 100, 1, 'PCM_16')
    """
    fmt = format.upper() if format else None
    if isinstance(source, (bytes, bytearray)):
        return _decode_bytes(bytes(source), "<bytes>", fmt, rate, dtype)
    if hasattr(source, "read"):
        name = getattr(source, "name", "<stream>")
        return _decode_bytes(source.read(), str(name), fmt, rate, dtype)
    name = os.fspath(source)
    if name == "-":
        return _decode_bytes(sys.stdin.buffer.read(), "-", fmt, rate, dtype)
    if not os.path.exists(name):
        raise SignalNotFoundError(f"input file {name!r} does not exist")
    if os.path.isdir(name):
        raise UnreadableSignalError(f"{name!r} is a folder, not a signal file")
    fmt = fmt or format_from_name(name)
    if fmt == CSV:
        with open(name, encoding="utf-8", errors="replace") as f:
            return _decode_csv(f.read(), name, rate, dtype)
    if os.path.getsize(name) == 0:
        raise InvalidSignalError(f"input file {name!r} is empty")
    with open(name, "rb") as f:
        head = f.read(4096)
    if fmt is None and looks_like_text(head):
        with open(name, encoding="utf-8") as f:
            return _decode_csv(f.read(), name, rate, dtype)
    return _decode_audio(name, name, fmt, dtype)


def _decode_bytes(buf: bytes, name: str, fmt, rate, dtype) -> Signal:
    if not buf:
        raise InvalidSignalError(
            f"{'standard input' if name == '-' else repr(name)} is empty; pipe a WAV/FLAC stream or CSV text into it"
        )
    if fmt == CSV or (fmt is None and looks_like_text(buf)):
        return _decode_csv(buf.decode("utf-8", errors="replace"), name, rate, dtype)
    return _decode_audio(buf, name, fmt, dtype)
