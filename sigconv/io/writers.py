"""Block writers behind :func:`open_writer`: an atomic file, or a stream (standard output, a named pipe).

Integer subtypes are clipped and the clipped samples counted; WAV is
encoded by numpy (:mod:`sigconv.io.wavstream`), to files with their sizes
filled in at the end and to pipes with a header that states the true size
wherever it is known. (:func:`sigconv.io.writing.write` writes a whole
signal in one call through these.)
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterable, Iterator

import numpy as np

from ..errors import OutputError
from .atomic import atomic_path, is_stream_target, refuse_input_overwrite
from .csvio import format_csv
from .formats import (
    CSV,
    check_format_limits,
    clips_at_full_scale,
    largest_finite_sample,
    output_format,
    output_subtype,
)
from .report import WriteReport, audio_rate
from .wavstream import CODEC_CHUNK, PIPE_SUBTYPES, encode_measuring, finish_wav_file, sized_header_fits, streaming_header

__all__ = ["SignalWriter", "open_writer", "block_peak"]


_FLOAT64_MAX = float(np.finfo(np.float64).max)


def block_peak(block: np.ndarray) -> float:
    """Largest absolute sample of ``block`` (NaN if it holds one), without a temporary ``|block|`` array.

    A piece at a time, so that the second pass (the minimum) finds the
    samples still in the core's cache.
    """
    highs, lows = [], []
    for piece in _pieces(block):
        highs.append(piece.max())
        lows.append(piece.min())
    return float(max(np.max(highs), -np.min(lows))) if highs else 0.0


def _count_beyond_full_scale(block: np.ndarray) -> int:
    """Samples of ``block`` beyond ±1, a cache-sized piece at a time (as :func:`block_peak`)."""
    return sum(int(np.count_nonzero(np.abs(piece) > 1.0)) for piece in _pieces(block))


def _pieces(block: np.ndarray, size: int = CODEC_CHUNK):
    """The samples of ``block`` in order, ``size`` at a time (views where ``block`` is contiguous)."""
    samples = block.reshape(-1)
    return (samples[start : start + size] for start in range(0, samples.size, size))


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
        encoded = self._encode(block)
        if encoded is None:
            data, peak, beyond = None, block_peak(block), None
        else:
            data, peak, beyond = encoded
        if not peak <= self._largest:  # also true for a NaN peak
            raise self._overflow(peak)
        self.peak = max(self.peak, peak)
        if self._clips and peak > 1.0:
            if data is None:
                beyond = _count_beyond_full_scale(block)
                block = np.clip(block, -1.0, 1.0)
            self.clipped += beyond
        with self._output_errors():
            if data is None:
                self._write(block)
            else:
                self._write_encoded(data, block.shape[0])
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

    def _encode(self, block: np.ndarray) -> tuple[np.ndarray, float, int] | None:
        """``(bytes, peak, samples beyond ±1)`` where this writer encodes blocks itself (rounding and clipping
        integers), else None and :meth:`_write` takes the block."""
        return None

    def _write(self, block: np.ndarray) -> None:
        raise NotImplementedError

    def _write_encoded(self, data: np.ndarray, frames: int) -> None:
        """Append ``frames`` frames encoded by :meth:`_encode`."""
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


class _WavWriter(SignalWriter):
    """WAV encoded by sigconv (:func:`~sigconv.io.wavstream.encode_measuring`), several times faster than libsndfile."""

    def _encode(self, block):
        return encode_measuring(block, self.subtype)


class _WavPipeWriter(_WavWriter):
    """WAV onto a stream that cannot seek back, with a header that says its true size wherever that is known.

    The size is known when the caller promises ``frames``, or when the
    whole signal comes in one block (the first block is held back until a
    second one or the end arrives). Otherwise the sizes are left unknown
    (:func:`~sigconv.io.wavstream.streaming_header`).
    """

    def __init__(self, stream, destination, subtype, rate, channels, frames=None):
        super().__init__(destination, "WAV", subtype, rate, channels)
        self._stream = stream
        self._frame_bytes = channels * PIPE_SUBTYPES[subtype][1] // 8
        fits = frames is not None and sized_header_fits(channels, subtype, frames)
        self._promised = frames if fits else None
        self._held = None  # the first block's bytes, while the length may still be learnt
        self._started = self._promised is not None
        if self._started:
            stream.write(self._header(self._promised))

    def _header(self, frames):
        return streaming_header(self.channels, audio_rate(self.rate), self.subtype,
                                data_bytes=None if frames is None else frames * self._frame_bytes)

    def _write_encoded(self, data, frames):
        if self._promised is not None and self.frames + frames > self._promised:
            raise OutputError(f"cannot write {self._where()}: more than the {self._promised} frames its WAV header "
                              "announced (a bug of sigconv: please report it)")
        if self._started:
            self._stream.write(data)
        elif self._held is None:
            self._held = np.array(data, copy=True)  # the caller may reuse its block
        else:
            self._stream.write(self._header(None))
            self._stream.write(self._held)
            self._stream.write(data)
            self._held, self._started = None, True

    def _where(self):
        return "standard output" if self.destination == "-" else repr(self.destination)

    def close(self):
        if not self._started:  # at most one block: its length is the whole length
            self._stream.write(self._header(self.frames if sized_header_fits(self.channels, self.subtype,
                                                                               self.frames) else None))
            if self._held is not None:
                self._stream.write(self._held)
            self._held, self._started = None, True
        elif self._promised is not None and self.frames != self._promised:
            raise OutputError(f"cannot write {self._where()}: {self.frames} frames came of the {self._promised} its "
                              "WAV header announced (a bug of sigconv: please report it)")
        if (self.frames * self._frame_bytes) & 1:
            self._stream.write(b"\0")  # RIFF's pad byte after an odd-sized chunk
        self._stream.flush()


class _WavFileWriter(_WavWriter):
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

    def _write_encoded(self, data, frames):
        self._file.write(data)

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
                dtype=np.float64, atomic: bool = True, frames: int | None = None) -> Iterator[SignalWriter]:
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
    frames : int, optional
        How many frames will be written, where the caller knows: a WAV
        stream's header then states its true size, which sox and ffmpeg
        read without a warning (a header of unknown size makes sox warn
        "Premature EOF"). Writing more, or fewer, is an
        :class:`~sigconv.errors.OutputError`. A signal written in one block
        gets the true size without it.
    """
    fmt = output_format(destination, format)
    to_stdout = destination == "-"
    sub = output_subtype(fmt, subtype, None if to_stdout else source_subtype)
    check_format_limits(fmt, sub, rate, channels)
    refuse_input_overwrite(destination, protect)
    if to_stdout:
        with _stream_writer(_standard_output(), destination, fmt, sub, rate, channels, dtype, frames) as writer:
            yield writer
        return
    if is_stream_target(destination):  # a named pipe or /dev/null: written through, as stdout is
        try:
            target = open(destination, "wb")
        except OSError as exc:
            raise OutputError(f"cannot write {destination!r}: {exc.strerror}") from exc
        with target, _stream_writer(target, destination, fmt, sub, rate, channels, dtype, frames) as writer:
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
def _stream_writer(stream, destination, fmt, subtype, rate, channels, dtype, frames=None) -> Iterator[SignalWriter]:
    """A writer onto a stream that cannot seek: WAV with a streaming header, CSV, or a container built in memory."""
    with SignalWriter._errors_of(destination):
        if fmt == CSV:
            writer = _CsvWriter(stream, destination, rate, channels, dtype)
        elif fmt == "WAV" and subtype in PIPE_SUBTYPES:
            writer = _WavPipeWriter(stream, destination, subtype, rate, channels, frames)
        else:  # containers that need seeking are assembled in memory
            buffer = io.BytesIO()
            writer = _SoundFileWriter(buffer, destination, fmt, subtype, rate, channels)
    yield writer
    writer._close_reporting()
    if isinstance(writer, _SoundFileWriter):
        with writer._output_errors():
            stream.write(buffer.getvalue())
            stream.flush()
