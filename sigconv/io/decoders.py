"""Audio that libsndfile cannot read (MP4, M4A, AAC, Opus in WebM/MKV...), decoded by an ffmpeg subprocess.

No Python package is needed: the ``ffmpeg`` program is found through the
``SIGCONV_FFMPEG`` environment variable, else on ``PATH``. It decodes the
first audio stream to 32-bit float WAV on a pipe, which is parsed block by
block with :mod:`sigconv.io.wavstream` as it arrives, so a long recording
never sits whole in memory. Every codec ffmpeg decodes (AAC, Opus, AC-3,
ALAC...) yields at most 24 bits of resolution or float samples, which
float32 holds exactly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import numpy as np

from ..errors import UnreadableSignalError
from .wavstream import WavFormat, decode_frames, read_wav_header

__all__ = ["FFMPEG_ENV", "find_ffmpeg", "FfmpegDecoder", "decode_bytes_with_ffmpeg", "ffmpeg_hint"]

#: Environment variable naming the ffmpeg program to decode with.
FFMPEG_ENV = "SIGCONV_FFMPEG"


def find_ffmpeg() -> str | None:
    """The ffmpeg program: ``$SIGCONV_FFMPEG`` if set (a path or a name on ``PATH``), else ``ffmpeg`` on ``PATH``; None if neither."""
    named = os.environ.get(FFMPEG_ENV)
    if named:
        return shutil.which(named) or (named if os.access(named, os.X_OK) else None)
    return shutil.which("ffmpeg")


def ffmpeg_hint() -> str:
    """The remedy for a format libsndfile does not read, when ffmpeg is missing."""
    named = os.environ.get(FFMPEG_ENV)
    if named:
        return f"${FFMPEG_ENV} is set to {named!r}, which is not an executable program; point it at ffmpeg"
    return (f"for MP4, M4A, AAC, Opus in WebM and other formats, install ffmpeg (apt-get install ffmpeg, "
            f"brew install ffmpeg) or name it in ${FFMPEG_ENV}")


class FfmpegDecoder:
    """The first audio stream of a file, decoded by ffmpeg to float32 WAV on a pipe.

    Parameters
    ----------
    path : str
        A regular file (ffmpeg may need to seek: an MP4 keeps its index at
        the end).
    name : str
        How messages name the input.
    program : str, optional
        The ffmpeg to run; default :func:`find_ffmpeg`.

    Attributes
    ----------
    format : WavFormat
        Rate and channels of the decoded stream.

    Raises
    ------
    UnreadableSignalError
        ffmpeg is missing, or could not decode the file (its own message is
        quoted).
    """

    def __init__(self, path: str, name: str, program: str | None = None):
        self._path = path
        program = program or find_ffmpeg()
        if program is None:
            raise UnreadableSignalError(f"cannot read {name!r}: libsndfile does not read it; {ffmpeg_hint()}")
        self.name = name
        self._errors = tempfile.TemporaryFile()
        command = [program, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path, "-vn", "-map", "0:a:0",
                   "-c:a", "pcm_f32le", "-f", "wav", "-"]
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                             stderr=self._errors)
        except OSError as exc:
            self._errors.close()
            raise UnreadableSignalError(f"cannot run {program!r} to decode {name!r}: {exc.strerror or exc}") from exc
        try:
            self.format: WavFormat = read_wav_header(self._process.stdout)
        except UnreadableSignalError as exc:
            message = self._failure()
            self.close()
            raise UnreadableSignalError(message or f"ffmpeg gave no audio for {name!r}: {exc}") from exc

    def _failure(self) -> str | None:
        """ffmpeg's error, as a message naming the input, once it has exited with one; else None."""
        code = self._process.wait()
        if code == 0:
            return None
        self._errors.seek(0)
        lines = [line for line in self._errors.read().decode("utf-8", "replace").splitlines() if line.strip()]
        said = lines[-1].strip().replace(self._path, self.name) if lines else f"exit status {code}"
        return (f"cannot read {self.name!r} as audio: ffmpeg could not decode it ({said}); is it an "
                "audio or video file, complete and with an audio stream?")

    def blocks(self, size: int, dtype=np.float64) -> Iterator[np.ndarray]:
        """``(frames, channels)`` blocks of at most ``size`` frames, to the end of the stream.

        Raises
        ------
        UnreadableSignalError
            ffmpeg stopped with an error (a damaged file): the blocks
            already given are all there is.
        """
        fmt, stream = self.format, self._process.stdout
        leftover = b""
        while True:
            chunk = stream.read(size * fmt.frame_bytes - len(leftover))
            raw = leftover + chunk
            whole = len(raw) - len(raw) % fmt.frame_bytes
            if whole:
                yield decode_frames(raw[:whole], fmt, dtype)
            leftover = raw[whole:]
            if not chunk:
                break
        message = self._failure()
        if message:
            raise UnreadableSignalError(message)

    def close(self) -> None:
        """Stop ffmpeg (if it still runs) and release its pipes."""
        process = self._process
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(OSError):
            process.stdout.close()
        process.wait()
        self._errors.close()


def decode_bytes_with_ffmpeg(buf: bytes, name: str, dtype=np.float64) -> tuple[np.ndarray, int]:
    """Decode a whole stream read from a pipe with ffmpeg: ``(frames, channels)`` samples and the rate.

    The bytes go through a temporary file, as ffmpeg must seek in some
    containers (an MP4 whose index comes last).
    """
    with tempfile.NamedTemporaryFile(prefix="sigconv-", suffix=".in") as spool:
        spool.write(buf)
        spool.flush()
        decoder = FfmpegDecoder(spool.name, name)
        try:
            blocks = list(decoder.blocks(1 << 16, dtype))
        finally:
            decoder.close()
    channels = decoder.format.channels
    data = np.concatenate(blocks) if blocks else np.empty((0, channels), dtype=dtype)
    return data, decoder.format.rate
