"""Block-by-block readers and writers, so long signals never sit whole in memory.

:func:`open_reader` streams audio files through libsndfile and WAV from
standard input through :mod:`sigconv.io.wavstream`; anything else (CSV,
FLAC on a pipe) is read whole and served in blocks. :func:`open_writer`
streams to an atomic temporary file or to standard output.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
from collections.abc import Iterable, Iterator

import numpy as np

from ..errors import InvalidSignalError, OutputError, SignalNotFoundError, UnreadableSignalError
from ..limits import check_ir_memory
from ..signal import Signal
from .atomic import atomic_path, is_stream_target, refuse_input_overwrite
from .csvio import format_csv
from .formats import (
    CSV,
    check_format_limits,
    clips_at_full_scale,
    format_from_name,
    largest_finite_sample,
    output_format,
    output_subtype,
)
from .reading import (
    frames_hint,
    is_named_pipe,
    looks_like_text,
    read,
    read_standard_input,
    soundfile_blocks,
    unreadable_audio,
)
from .wavpipe import is_riff_wave
from .report import WriteReport, audio_rate
from .wavstream import (
    PIPE_SUBTYPES,
    decode_frames,
    encode_frames,
    finish_wav_file,
    read_wav_header,
    streaming_header,
)

__all__ = ["SignalReader", "ArrayReader", "open_reader", "SignalWriter", "open_writer", "block_peak", "read_all"]


class SignalReader:
    """Blocks of ``(frames, channels)`` samples with the signal's facts.

    Attributes
    ----------
    rate : float
    channels : int
    frames : int or None
        Total frames, or None where a pipe does not say.
    subtype, format : str or None
    name : str
    """

    def __init__(self, name, rate, channels, frames, subtype, fmt, dtype):
        self.name, self.rate, self.channels, self.frames = name, rate, channels, frames
        self.subtype, self.format, self.dtype = subtype, fmt, np.dtype(dtype)
        self.frames_read = 0

    def _raw_blocks(self, size: int) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        """Yield validated blocks of at most ``size`` frames; raise if there were none."""
        for block in self._raw_blocks(size):
            if not np.isfinite(block).all():
                bad = int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
                raise InvalidSignalError(
                    f"{self.name!r} contains NaN or infinite samples (first at frame {self.frames_read + bad}); "
                    "clean or trim the signal first"
                )
            self.frames_read += block.shape[0]
            yield block
        if self.frames_read == 0:
            raise InvalidSignalError(f"{self.name!r} holds no samples; it needs at least one frame")

    def close(self) -> None:
        """Release the underlying file."""


# subtypes whose every sample float32 represents exactly
_READ_AS_FLOAT32 = {"FLOAT", "PCM_16", "PCM_24", "PCM_S8", "PCM_U8", "ALAW", "ULAW"}


class _SoundFileReader(SignalReader):
    def __init__(self, path: str, dtype):
        import soundfile as sf

        try:
            self._file = sf.SoundFile(path)
        except sf.LibsndfileError as exc:
            raise unreadable_audio(path, exc) from exc
        f = self._file
        frames = frames_hint(f, os.path.getsize(path))
        super().__init__(path, f.samplerate, f.channels, frames, f.subtype, f.format, dtype)
        # float32 holds FLOAT, PCM_16 and PCM_24 samples exactly and decodes
        # faster; the engine widens them when it copies them into its frames
        self._read_dtype = "float32" if f.subtype in _READ_AS_FLOAT32 else self.dtype.name

    def _raw_blocks(self, size):
        return soundfile_blocks(self._file, self.name, size, self._read_dtype, self.frames)

    def close(self):
        self._file.close()


#: Bytes of samples read ahead from a WAV pipe to check its header's data size.
WAV_LOOK_AHEAD = 16 << 20


class _WavPipeReader(SignalReader):
    """WAV from standard input, decoded block by block as it arrives.

    The data size in a header is only a claim: a damaged or cut stream says
    more than it holds, and the engines plan their transforms on the
    length. So the length is what a regular file (``< x.wav``) holds, or
    what a pipe delivers within its first :data:`WAV_LOOK_AHEAD` bytes (read
    ahead); only a longer stream is taken at its word, and fails if it ends
    early. Sizes that pipe writers leave unknown stay unknown.
    """

    def __init__(self, stream, first: bytes, dtype):
        self._stream = stream
        self._format = fmt = read_wav_header(stream, first)
        self._ahead, self._taken = memoryview(b""), 0
        self._size, self._claimed = self._data_size(fmt.data_size)
        frames = None if self._size is None else self._size // fmt.frame_bytes
        super().__init__("-", fmt.rate, fmt.channels, frames, fmt.subtype, "WAV", dtype)

    def _data_size(self, claim: int | None) -> tuple[int | None, bool]:
        """Bytes of samples to read, and whether that rests on the header's word alone."""
        if claim is None:
            return None, False
        left = _bytes_left(self._stream)
        if left is not None:
            return min(claim, left), False
        want = min(claim, WAV_LOOK_AHEAD)
        ahead = self._stream.read(want)
        self._ahead = memoryview(ahead)
        if len(ahead) < want or want == claim:  # the stream ended, or it holds all it claims
            return len(ahead), False
        return claim, True

    def _read(self, count: int) -> bytes:
        if self._taken < len(self._ahead):
            out = bytes(self._ahead[self._taken : self._taken + count])
            self._taken += len(out)
            if self._taken == len(self._ahead):
                self._ahead = memoryview(b"")
            return out + (self._stream.read(count - len(out)) if len(out) < count else b"")
        return self._stream.read(count)

    def _raw_blocks(self, size):
        fmt = self._format
        remaining = self._size
        leftover = b""
        while remaining is None or remaining > 0:
            want = size * fmt.frame_bytes - len(leftover)
            if remaining is not None:
                want = min(want, remaining - len(leftover))
            chunk = self._read(want) if want > 0 else b""
            if self._claimed and len(chunk) < want:
                arrived = self.frames_read + (len(leftover) + len(chunk)) // fmt.frame_bytes
                raise UnreadableSignalError(
                    f"the WAV stream on standard input ended after frame {arrived}, but its header says "
                    f"{self.frames} frames; is the input complete?"
                )
            if not chunk and not leftover:
                return
            raw = leftover + chunk
            whole = len(raw) - len(raw) % fmt.frame_bytes
            raw, leftover = raw[:whole], raw[whole:]
            if remaining is not None:
                remaining -= whole
            if whole:
                yield decode_frames(raw, fmt, self.dtype)
            if not chunk:
                return


def _bytes_left(stream) -> int | None:
    """Bytes from the position of ``stream`` to its end, where it is a regular file; else None."""
    try:
        info = os.fstat(stream.fileno())
        return max(info.st_size - stream.tell(), 0) if stat.S_ISREG(info.st_mode) else None
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None


class ArrayReader(SignalReader):
    """Blocks of a signal already in memory (CSV, or a whole pipe that could not stream)."""

    def __init__(self, signal: Signal):
        self._data = signal.data
        super().__init__(signal.name, signal.rate, signal.channels, signal.frames, signal.subtype, signal.format,
                         signal.data.dtype)

    def _raw_blocks(self, size):
        for start in range(0, self._data.shape[0], size):
            yield self._data[start : start + size]


def open_reader(source: str, format: str | None = None, rate: float | None = None, dtype=np.float64) -> SignalReader:
    """Open ``source`` (a path or ``"-"``) for block-by-block reading.

    Audio files and WAV on standard input stream; CSV, other formats on
    standard input and named pipes (``<(command)``) are read whole (they
    are small, or cannot be decoded without seeking).

    Raises
    ------
    SignalNotFoundError, UnreadableSignalError, InvalidSignalError
        As :func:`sigconv.read`.
    """
    fmt = format.upper() if format else None
    if source == "-":
        stream = sys.stdin.buffer
        first = stream.read(12)
        if fmt in (None, "WAV") and is_riff_wave(first):
            return _WavPipeReader(stream, first, dtype)
        return ArrayReader(read_standard_input(first, format=fmt, rate=rate, dtype=dtype))
    if not os.path.exists(source):
        raise SignalNotFoundError(f"input file {source!r} does not exist")
    fmt = fmt or format_from_name(source)
    if fmt == CSV or os.path.isdir(source) or is_named_pipe(source) or os.path.getsize(source) == 0:
        return ArrayReader(read(source, format=fmt, rate=rate, dtype=dtype))
    with open(source, "rb") as f:
        if fmt is None and looks_like_text(f.read(4096)):
            return ArrayReader(read(source, format=CSV, rate=rate, dtype=dtype))
    return _SoundFileReader(source, dtype)


_FLOAT64_MAX = float(np.finfo(np.float64).max)


def block_peak(block: np.ndarray) -> float:
    """Largest absolute sample of ``block``, without a temporary ``|block|`` array."""
    return float(max(block.max(), -block.min()))


class SignalWriter:
    """Takes ``(frames, channels)`` blocks; clips integer subtypes and counts what it clipped."""

    def __init__(self, destination: str, fmt: str, subtype: str | None, rate: float, channels: int):
        self.destination, self.format, self.subtype = destination, fmt, subtype
        self.rate, self.channels = rate, channels
        self.frames = 0
        self.clipped = 0
        self.peak = 0.0
        self._clips = clips_at_full_scale(subtype)
        # integer subtypes clip, so any finite sample can be written to them
        self._largest = min(largest_finite_sample(subtype), _FLOAT64_MAX)

    def _overflow(self, peak: float) -> OutputError:
        """The error for a block that cannot be written as finite samples.

        An :class:`OutputError` (exit 6), not an input error: the inputs
        were finite, and it is the result that the output cannot hold.
        """
        at = f"after frame {self.frames}" if self.frames else "in its first block"
        if not np.isfinite(peak):
            what = "holds NaN or infinite samples: the computation overflowed float64"
            remedy = "lower --gain, or scale the inputs down"
        else:
            what = (f"overflowed float32 (peak {peak:.3g}, the largest {self.subtype} sample is "
                    f"{self._largest:.3g})")
            double = "--subtype DOUBLE" if self.subtype == "FLOAT" else "WAV with --subtype DOUBLE"
            remedy = f"lower --gain, or write {double}"
        return OutputError(f"cannot write {self.destination!r}: the result {what} {at}; {remedy}")

    def write(self, block: np.ndarray) -> None:
        """Append ``block``.

        Raises
        ------
        OutputError
            The block holds NaN or infinite samples, or samples too large
            for the subtype (beyond float32's range for FLOAT): nothing of
            it is written. Or the system refused the write (a full disk, a
            lost device...); the :class:`OSError` is its ``__cause__``. A
            closed standard output is raised as the :class:`BrokenPipeError`
            it is.
        """
        if block.shape[0] == 0:
            return
        peak = block_peak(block)
        if not peak <= self._largest:  # also true for a NaN peak
            raise self._overflow(peak)
        self.peak = max(self.peak, peak)
        if self._clips and peak > 1.0:
            self.clipped += int(np.count_nonzero(np.abs(block) > 1.0))
            block = np.clip(block, -1.0, 1.0)
        with self._output_errors():
            self._write(block)
        self.frames += block.shape[0]

    def _output_errors(self):
        """Raise an :class:`OSError` of the system as :class:`OutputError` (a closed stdout stays itself)."""
        return self._errors_of(self.destination)

    @staticmethod
    @contextlib.contextmanager
    def _errors_of(destination: str) -> Iterator[None]:
        try:
            yield
        except (BrokenPipeError, OutputError):
            raise
        except OSError as exc:
            where = "standard output" if destination == "-" else repr(destination)
            raise OutputError(f"writing {where} failed: {exc.strerror or exc}") from exc

    def _write(self, block: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (flush buffers, write trailers)."""

    def _close_reporting(self) -> None:
        """:meth:`close`, with a refusal of the system raised as :class:`OutputError` as in :meth:`write`."""
        with self._output_errors():
            self.close()

    def report(self) -> WriteReport:
        return WriteReport(self.destination, self.format, self.subtype, self.frames, self.channels, self.clipped,
                           self.peak)


class _SoundFileWriter(SignalWriter):
    def __init__(self, target, destination, fmt, subtype, rate, channels):
        import soundfile as sf

        super().__init__(destination, fmt, subtype, rate, channels)
        try:
            self._file = sf.SoundFile(target, "w", samplerate=audio_rate(rate), channels=channels, subtype=subtype,
                                      format=fmt)
        except sf.LibsndfileError as exc:
            raise OutputError(f"libsndfile could not write {fmt}/{subtype}: {exc.error_string}") from exc

    def _write(self, block):
        # libsndfile converts float64 to FLOAT half as fast as numpy does
        # (the same rounding either way)
        if self.subtype == "FLOAT" and block.dtype != np.float32:
            block = block.astype(np.float32)
        self._file.write(block)

    def close(self):
        self._file.close()


class _WavPipeWriter(SignalWriter):
    def __init__(self, stream, destination, subtype, rate, channels):
        super().__init__(destination, "WAV", subtype, rate, channels)
        self._stream = stream
        stream.write(streaming_header(channels, audio_rate(rate), subtype))

    def _write(self, block):
        self._stream.write(encode_frames(block, self.subtype))

    def close(self):
        self._stream.flush()


class _WavFileWriter(SignalWriter):
    """WAV written by sigconv itself: numpy encodes blocks several times faster than libsndfile."""

    def __init__(self, path, destination, subtype, rate, channels):
        super().__init__(destination, "WAV", subtype, rate, channels)
        # "r+b", not "wb": the atomic writer's temporary file exists and is
        # empty, and truncating it on open makes ext4 (auto_da_alloc) flush
        # the whole file to disk on close: 55 ms for 230 MB here
        self._file = open(path, "r+b")
        header = streaming_header(channels, audio_rate(rate), subtype, reserve_ds64=True)
        self._header_length = len(header)
        self._file.write(header)

    def _write(self, block):
        self._file.write(encode_frames(block, self.subtype))

    def close(self):
        if not self._file.closed:
            finish_wav_file(self._file, self._header_length, self.channels * PIPE_SUBTYPES[self.subtype][1] // 8)
            self._file.close()


class _CsvWriter(SignalWriter):
    def __init__(self, stream, destination, rate, channels, dtype):
        super().__init__(destination, CSV, None, rate, channels)
        self._stream = stream
        self._dtype = np.dtype(dtype)
        self._header_written = False

    def _write(self, block):
        text = format_csv(block.astype(self._dtype, copy=False), self.rate, start=self.frames)
        if self._header_written:
            text = text.split("\n", 1)[1]
        self._header_written = True
        self._stream.write(text.encode("utf-8"))

    def close(self):
        if not self._header_written:
            self._stream.write(format_csv(np.zeros((0, self.channels)), self.rate).encode("utf-8"))
        self._stream.flush()


@contextlib.contextmanager
def open_writer(destination: str, rate: float, channels: int, *, format: str | None = None,
                subtype: str | None = None, source_subtype: str | None = None, protect: Iterable[str] = (),
                dtype=np.float64, atomic: bool = True) -> Iterator[SignalWriter]:
    """Open ``destination`` (a path or ``"-"``) for block-by-block writing.

    A file is written to an unnamed (or hidden temporary) file in its folder
    that replaces the destination when the ``with`` block ends without an
    exception (:func:`~sigconv.io.atomic.atomic_path`); on an exception it
    is removed and an existing file is left as it was. Standard output, a
    named pipe or a character device gets WAV with a streaming header
    (float by default), CSV text, or, for other containers, the whole file
    at the end.

    Parameters
    ----------
    destination : str
        Output path or ``"-"``.
    rate : float
        Sample rate.
    channels : int
        Channel count.
    format, subtype : str, optional
        As for :func:`sigconv.write`; ``source_subtype`` is kept where the
        format holds it (files only: pipes default to float).
    protect : iterable of str
        Inputs that must not be overwritten.
    dtype : numpy dtype
        Precision of the data, for the digits of CSV output.
    atomic : bool
        False writes ``destination`` in place: for a scratch file of
        :func:`~sigconv.io.atomic.scratch_path`, which has no name to keep.
    """
    fmt = output_format(destination, format)
    to_stdout = destination == "-"
    sub = output_subtype(fmt, subtype, None if to_stdout else source_subtype)
    check_format_limits(fmt, sub, rate, channels)
    refuse_input_overwrite(destination, protect)
    if to_stdout:
        with _stream_writer(_standard_output(), destination, fmt, sub, rate, channels, dtype) as writer:
            yield writer
        return
    if is_stream_target(destination):  # a named pipe or /dev/null: written through, as stdout is
        try:
            target = open(destination, "wb")
        except OSError as exc:
            raise OutputError(f"cannot write {destination!r}: {exc.strerror}") from exc
        with target, _stream_writer(target, destination, fmt, sub, rate, channels, dtype) as writer:
            yield writer
        return
    if not atomic:
        with _file_writer(destination, destination, fmt, sub, rate, channels, dtype) as writer:
            yield writer
        return
    with atomic_path(destination) as tmp, _file_writer(tmp, destination, fmt, sub, rate, channels, dtype) as writer:
        yield writer


@contextlib.contextmanager
def _file_writer(path, destination, fmt, subtype, rate, channels, dtype) -> Iterator[SignalWriter]:
    """A writer onto the file at ``path`` (which the messages call ``destination``)."""
    if fmt == CSV:
        with open(path, "wb") as f:
            writer = _CsvWriter(f, destination, rate, channels, dtype)
            yield writer
            writer._close_reporting()
        return
    if fmt == "WAV" and subtype in PIPE_SUBTYPES:
        writer = _WavFileWriter(path, destination, subtype, rate, channels)
    else:
        writer = _SoundFileWriter(path, destination, fmt, subtype, rate, channels)
    try:
        yield writer
    finally:
        writer._close_reporting()


def _standard_output():
    """The binary standard output, or :class:`OutputError` when the process was started with it closed."""
    if sys.stdout is None:
        raise OutputError("standard output is closed; give an output file with -o FILE")
    return sys.stdout.buffer


@contextlib.contextmanager
def _stream_writer(stream, destination, fmt, subtype, rate, channels, dtype) -> Iterator[SignalWriter]:
    """A writer onto a stream that cannot seek: WAV with a streaming header, CSV, or a container built in memory."""
    with SignalWriter._errors_of(destination):
        if fmt == CSV:
            writer = _CsvWriter(stream, destination, rate, channels, dtype)
        elif fmt == "WAV" and subtype in PIPE_SUBTYPES:
            writer = _WavPipeWriter(stream, destination, subtype, rate, channels)
        else:  # containers that need seeking are assembled in memory
            buffer = io.BytesIO()
            writer = _SoundFileWriter(buffer, destination, fmt, subtype, rate, channels)
    yield writer
    writer._close_reporting()
    if isinstance(writer, _SoundFileWriter):
        with writer._output_errors():
            stream.write(buffer.getvalue())
            stream.flush()


def read_whole(path: str, format: str | None, rate: float | None, dtype, what: str) -> Signal:
    """:func:`~sigconv.io.read` for a signal a job holds whole (an IR, a kernel), checked from its header first.

    Raises
    ------
    InvalidSignalError
        Its header says it would not fit in memory
        (:func:`~sigconv.limits.check_ir_memory`); nothing was read.
    """
    if path != "-" and (format or format_from_name(path) or "").upper() != CSV:
        header = open_reader(path, format, rate, dtype)
        header.close()
        if header.frames is not None:
            check_ir_memory(header.frames, header.channels, f"{what} {path!r}", itemsize=np.dtype(dtype).itemsize)
    return read(path, format=format, rate=rate, dtype=dtype)


def read_all(reader: SignalReader) -> np.ndarray:
    """Every frame of ``reader`` as one float64 ``(frames, channels)`` array (no intermediate copies when its length is known)."""
    if reader.frames is None:
        return np.concatenate([np.asarray(b, dtype=np.float64) for b in reader.blocks(1 << 16)])
    out = np.empty((reader.frames, reader.channels))
    filled = 0
    for block in reader.blocks(1 << 16):
        if filled + block.shape[0] > out.shape[0]:  # more than the header said
            out = np.concatenate([out[:filled], block, *reader.blocks(1 << 16)])
            return out
        out[filled : filled + block.shape[0]] = block
        filled += block.shape[0]
    return out[:filled]
