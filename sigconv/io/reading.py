"""Read a signal from a file, standard input, a file object or bytes."""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import stat
import sys
from collections.abc import Iterator

import numpy as np

from ..errors import InvalidSignalError, SignalNotFoundError, UnreadableSignalError
from ..signal import Signal
from ..validation import as_frames
from .csvio import parse_csv
from .formats import CSV, format_from_name
from .raw import RawFormat, applies_to, decode_raw_bytes
from .wavpipe import repair_stream_sizes

__all__ = ["read"]

# Leading bytes of the containers libsndfile reads that sigconv recognises
# in a stream with no name to go by.
_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd", b"caff", b"wvpk")

# libsndfile's frame count for a stream that does not say its length (a
# FLAC written to a pipe has 0 in STREAMINFO): SF_COUNT_MAX.
_UNKNOWN_FRAMES = 2**63 - 1

# A frame count from a header is trusted (to allocate the samples at once)
# only up to this many samples per byte of file: a lossy or lossless codec
# stays far below it, except on digital silence, which is then read in
# blocks; a corrupt FLAC or OGG header that claims billions of frames is
# never believed.
_MAX_SAMPLES_PER_BYTE = 64

_READ_BLOCK = 1 << 16


def is_named_pipe(path: str) -> bool:
    """True for a FIFO, such as the ``/dev/fd/63`` of a shell's ``<(command)``: it has no size and cannot seek."""
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def looks_like_text(buf: bytes) -> bool:
    """True if ``buf`` starts like UTF-8 text (a CSV) rather than a binary audio container.

    Only the first 4 KiB are looked at; a multi-byte character cut by that
    limit still counts as text.

    Examples
    --------
    >>> looks_like_text("time,x\\n0,1\\n".encode()), looks_like_text(b"fLaC" + bytes(4))
    (True, False)
    """
    head = buf[:4096]
    if not head or any(head.startswith(m) for m in _MAGIC):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def csv_text(raw: bytes) -> str:
    """``raw`` CSV bytes as text: UTF-8, with bytes that are not UTF-8 replaced by U+FFFD.

    Replaced bytes in a comment are harmless; in a data row they are
    reported by :func:`~sigconv.io.csvio.parse_csv` with their line. A
    byte-order mark is removed there too.
    """
    return raw.decode("utf-8", errors="replace")


def unreadable_audio(name: str, exc) -> UnreadableSignalError:
    """The error for a file libsndfile refuses, naming what sigconv does read and how to read more."""
    from .decoders import ffmpeg_hint

    return UnreadableSignalError(
        f"cannot read {name!r} as audio ({exc.error_string}); sigconv reads what libsndfile "
        "reads (WAV, FLAC, OGG, MP3, AIFF, ...) and CSV (use a .csv name or --input-format csv); "
        f"{ffmpeg_hint()}"
    )


def _decode_with_ffmpeg(buf_or_path, name: str, dtype, refusal) -> Signal:
    """Decode what libsndfile refused (``refusal``, its error) with ffmpeg; without ffmpeg, the refusal with its remedy."""
    from .decoders import FfmpegDecoder, decode_bytes_with_ffmpeg, find_ffmpeg

    if find_ffmpeg() is None:
        raise unreadable_audio(name, refusal) from refusal
    if isinstance(buf_or_path, (bytes, bytearray)):
        data, rate = decode_bytes_with_ffmpeg(bytes(buf_or_path), name, dtype)
    else:
        decoder = FfmpegDecoder(buf_or_path, name)
        try:
            blocks = list(decoder.blocks(_READ_BLOCK, dtype))
        finally:
            decoder.close()
        data = np.concatenate(blocks) if blocks else np.empty((0, decoder.format.channels), dtype=dtype)
        rate = decoder.format.rate
    if data.shape[0] == 0:
        raise InvalidSignalError(f"{name!r} holds no samples; it needs at least one frame")
    return Signal(as_frames(data, name=repr(name), dtype=dtype), rate, "FLOAT", "FFMPEG", name)


def damaged_audio(name: str, frame: int, exc) -> UnreadableSignalError:
    """The error for a file libsndfile opened but could not decode to the end (e.g. a truncated FLAC)."""
    where = f" after frame {frame}" if frame else ""
    return UnreadableSignalError(
        f"{name!r} is damaged: decoding failed{where} ({exc.error_string.strip()}); "
        "the file is truncated or corrupt: re-export or copy it again"
    )


def frames_hint(f, nbytes: int) -> int | None:
    """Frames the open ``soundfile.SoundFile`` ``f`` says it holds, or None where that cannot be trusted.

    None where libsndfile does not know the length (``f`` is then set to
    be read as a stream, to its end) and where the header claims more
    samples than ``nbytes`` of file can plausibly hold.
    """
    if f.frames == _UNKNOWN_FRAMES:
        # python-soundfile seeks after every read of a seekable file, and
        # libsndfile cannot seek to the end of a FLAC of unknown length
        # ("psf_fseek() failed" on the last block, whose samples are lost);
        # marked as a stream, it reads until libsndfile returns no frames.
        # (SF_INFO is python-soundfile's private copy; should it go, the
        # last block fails as damaged, with exit 3 and no traceback.)
        with contextlib.suppress(AttributeError):
            f._info.seekable = 0
        return None
    if f.frames * f.channels > _MAX_SAMPLES_PER_BYTE * max(nbytes, 1):
        return None
    return f.frames


def soundfile_blocks(f, name: str, size: int, dtype, frames: int | None = None) -> Iterator[np.ndarray]:
    """Blocks of at most ``size`` frames, ``(frames, channels)``, from the open ``soundfile.SoundFile`` ``f``.

    ``frames`` is the length the caller was told (:func:`frames_hint`);
    a file that ends before it is an error, raised before the short block
    reaches a caller that planned on the length.

    Raises
    ------
    UnreadableSignalError
        libsndfile failed while decoding (a FLAC whose decoder lost sync,
        a truncated file), or the file ended before ``frames``; the message
        names ``name`` and the frame.
    """
    import soundfile as sf

    done = 0
    while True:
        try:
            block = f.read(size, dtype=np.dtype(dtype).name, always_2d=True)
        except sf.LibsndfileError as exc:
            raise damaged_audio(name, done, exc) from exc
        if frames is not None and block.shape[0] < min(size, frames - done):
            raise UnreadableSignalError(
                f"{name!r} is damaged: it ends after frame {done + block.shape[0]}, but its header says "
                f"{frames} frames; the file is truncated or its header is corrupt: re-export or copy it again"
            )
        if block.shape[0] == 0:
            return
        done += block.shape[0]
        yield block


class _SoundFileBuffer(io.BytesIO):
    """Bytes that libsndfile reads through python-soundfile's virtual I/O callbacks.

    A damaged header can make libsndfile seek before the start (a truncated
    AIFF does). ``BytesIO.seek`` raises ``ValueError`` for that, and an
    exception in a callback cannot reach sigconv: cffi prints its traceback
    and libsndfile goes on. Here the position stays where it was, which
    libsndfile sees as a failed seek and reports as an error of its own.
    """

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return super().seek(offset, whence)
        except (ValueError, OverflowError):
            return self.tell()


def _decode_audio(buf_or_path, name: str, fmt: str | None, dtype) -> Signal:
    import soundfile as sf

    original = buf_or_path
    if isinstance(buf_or_path, bytes):
        nbytes = len(buf_or_path)
        buf_or_path = _SoundFileBuffer(repair_stream_sizes(buf_or_path))
    else:
        nbytes = os.path.getsize(buf_or_path)
    try:
        f = sf.SoundFile(buf_or_path)
    except sf.LibsndfileError as exc:
        return _decode_with_ffmpeg(original, name, dtype, exc)
    except (TypeError, RuntimeError) as exc:  # soundfile raises these for unknown formats
        raise UnreadableSignalError(f"cannot read {name!r} as audio: {exc}") from exc
    try:
        with f:
            rate, subtype, container = f.samplerate, f.subtype, f.format
            data = _read_whole(f, name, frames_hint(f, nbytes), dtype)
    except sf.LibsndfileError as exc:
        raise unreadable_audio(name, exc) from exc
    if data.shape[0] == 0:
        raise InvalidSignalError(f"{name!r} holds no samples; it needs at least one frame")
    return Signal(as_frames(data, name=repr(name), dtype=dtype), rate, subtype, container, name)


def _read_whole(f, name: str, frames: int | None, dtype) -> np.ndarray:
    """Every frame of ``f``: in one read where its length is known, else block by block."""
    if frames is not None:
        return next(soundfile_blocks(f, name, frames, dtype), np.empty((0, f.channels), dtype=dtype))
    blocks = list(soundfile_blocks(f, name, _READ_BLOCK, dtype))
    return np.concatenate(blocks) if blocks else np.empty((0, f.channels), dtype=dtype)


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
        accepted, and so is FLAC of unknown length; a named pipe
        (``<(command)``) is read the same way.
    format : str or RawFormat, optional
        Container, e.g. ``"WAV"`` or ``"CSV"``. Default: from the file name,
        else from the content (text is taken as CSV). A
        :class:`~sigconv.io.raw.RawFormat` reads headerless PCM, where the
        name does not tell another format. What libsndfile cannot read (MP4,
        M4A, AAC, Opus in WebM...) is decoded by ffmpeg where it is
        installed (:mod:`sigconv.io.decoders`).
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
        The content is not a format sigconv reads, or it is damaged (a
        truncated FLAC, a header that claims more than the file holds).
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
    if isinstance(format, RawFormat):
        return _read_raw(source, format, rate, dtype)
    fmt = format.upper() if format else None
    if isinstance(source, (bytes, bytearray)):
        return _decode_bytes(bytes(source), "<bytes>", fmt, rate, dtype)
    if hasattr(source, "read"):
        name = getattr(source, "name", "<stream>")
        return _decode_bytes(source.read(), str(name), fmt, rate, dtype)
    name = os.fspath(source)
    if name == "-":
        return read_standard_input(format=fmt, rate=rate, dtype=dtype)
    if not os.path.exists(name):
        raise SignalNotFoundError(f"input file {name!r} does not exist")
    if os.path.isdir(name):
        raise UnreadableSignalError(f"{name!r} is a folder, not a signal file")
    fmt = fmt or format_from_name(name)
    if is_named_pipe(name):  # a FIFO or a shell's <(command): read like standard input
        with open(name, "rb") as f:
            return _decode_bytes(f.read(), name, fmt, rate, dtype)
    if fmt == CSV:
        return _decode_csv(_read_text(name), name, rate, dtype)
    if os.path.getsize(name) == 0:
        raise InvalidSignalError(f"input file {name!r} is empty")
    with open(name, "rb") as f:
        head = f.read(4096)
    if fmt is None and looks_like_text(head):
        return _decode_csv(_read_text(name), name, rate, dtype)
    return _decode_audio(name, name, fmt, dtype)


def _read_text(name: str) -> str:
    with open(name, "rb") as f:
        return csv_text(f.read())


def read_standard_input(first: bytes = b"", format: str | None = None, rate: float | None = None,
                        dtype=np.float64) -> Signal:
    """Read standard input whole (after the bytes ``first`` already taken from it), as ``read("-")`` does.

    Any container libsndfile reads is decoded from memory, so a FLAC or OGG
    stream whose writer could not seek back to fill in its length is read
    to its end.
    """
    fmt = format.upper() if format else None
    return _decode_bytes(first + sys.stdin.buffer.read(), "-", fmt, rate, dtype)


def _decode_bytes(buf: bytes, name: str, fmt, rate, dtype) -> Signal:
    if not buf:
        raise InvalidSignalError(
            f"{'standard input' if name == '-' else repr(name)} is empty; pipe a WAV/FLAC stream or CSV text into it"
        )
    if fmt == CSV or (fmt is None and looks_like_text(buf)):
        return _decode_csv(csv_text(buf), name, rate, dtype)
    return _decode_audio(buf, name, fmt, dtype)


def _read_raw(source, raw: RawFormat, rate, dtype) -> Signal:
    """:func:`read` of headerless PCM laid out as ``raw`` (a name that tells another format is read as that)."""
    if isinstance(source, (bytes, bytearray)):
        buf, name = bytes(source), "<bytes>"
    elif hasattr(source, "read"):
        buf, name = source.read(), str(getattr(source, "name", "<stream>"))
    else:
        name = os.fspath(source)
        if not applies_to(raw, name):
            return read(name, rate=rate, dtype=dtype)
        if name == "-":
            buf = sys.stdin.buffer.read()
        elif not os.path.exists(name):
            raise SignalNotFoundError(f"input file {name!r} does not exist")
        elif os.path.isdir(name):
            raise UnreadableSignalError(f"{name!r} is a folder, not a signal file")
        else:
            with open(name, "rb") as f:
                buf = f.read()
    data = decode_raw_bytes(buf, raw, name, dtype)
    if data.shape[0] == 0:
        raise InvalidSignalError(f"{'standard input' if name == '-' else repr(name)} holds no samples; it needs at "
                                 "least one frame")
    return Signal(as_frames(data, name=repr(name), dtype=dtype), int(raw.rate), raw.subtype, "RAW", name)
