"""Headerless PCM input (what ``sox -t raw`` and ``ffmpeg -f s16le`` write): the layout is given, not read."""

from __future__ import annotations

import io
import math
import numbers
from dataclasses import dataclass

from ..errors import InvalidSignalError, UsageError
from ..limits import MAX_CHANNELS
from .formats import MAX_AUDIO_RATE, format_from_name

__all__ = ["RawFormat", "RAW_SUBTYPES", "applies_to", "open_raw", "decode_raw_bytes"]

#: Sample types a raw input can have (libsndfile's RAW subtypes, less the ADPCM and GSM codecs).
RAW_SUBTYPES = ("PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW")

_ENDIANS = {"LITTLE", "BIG", "CPU", "FILE"}


@dataclass(frozen=True)
class RawFormat:
    """The layout of headerless PCM samples, passed as ``format=`` to :func:`sigconv.read` and the readers.

    It applies to an input whose name does not tell another format
    (standard input, a named pipe, ``.raw``, ``.pcm`` or no extension); a
    ``.wav`` or ``.flac`` beside it is read as what it is.

    Parameters
    ----------
    rate : float
        Sample rate in Hz (a whole number).
    channels : int
        Interleaved channels per frame.
    subtype : str
        One of :data:`RAW_SUBTYPES`, e.g. ``"PCM_16"`` (``sox -e signed -b
        16``, ffmpeg ``s16le``) or ``"FLOAT"`` (ffmpeg ``f32le``).
    endian : str
        ``"little"`` (default, as ffmpeg's ``s16le``) or ``"big"``.

    Raises
    ------
    UsageError
        A rate that is not a whole number of Hz, a channel count outside
        1..MAX_CHANNELS, or an unknown subtype or byte order.

    Examples
    --------
    >>> import numpy as np
    >>> from sigconv import read
    >>> pcm = (np.array([[0, 16384], [-16384, 0]], dtype="<i2")).tobytes()
    >>> read(pcm, format=RawFormat(8000, channels=2, subtype="pcm_16")).data.tolist()
    [[0.0, 0.5], [-0.5, 0.0]]
    """

    rate: float
    channels: int = 1
    subtype: str = "PCM_16"
    endian: str = "LITTLE"

    def __post_init__(self):
        subtype, endian = str(self.subtype).upper(), str(self.endian).upper()
        object.__setattr__(self, "subtype", subtype)
        object.__setattr__(self, "endian", endian)
        rate = self.rate
        if rate is None or not math.isfinite(rate) or rate != round(rate) or not 1 <= rate <= MAX_AUDIO_RATE:
            raise UsageError(f"raw input needs its sample rate as a whole number of Hz (--rate HZ), not {rate!r}")
        if not isinstance(self.channels, numbers.Integral) or not 1 <= self.channels <= MAX_CHANNELS:
            raise UsageError(f"raw input needs 1 to {MAX_CHANNELS} channels (--input-channels N), not "
                             f"{self.channels!r}")
        if subtype not in RAW_SUBTYPES:
            raise UsageError(f"raw input cannot have subtype {self.subtype!r}; choose one of: "
                             f"{', '.join(RAW_SUBTYPES)} (--input-subtype)")
        if endian not in _ENDIANS:
            raise UsageError(f"raw input's byte order must be little or big, not {self.endian!r}")

    @property
    def frame_bytes(self) -> int:
        """Bytes per frame."""
        return self.channels * _SAMPLE_BYTES[self.subtype]

    def soundfile_args(self) -> dict:
        """Keyword arguments that make ``soundfile.SoundFile`` read these samples."""
        return dict(format="RAW", samplerate=int(self.rate), channels=int(self.channels), subtype=self.subtype,
                    endian=self.endian)


_SAMPLE_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8,
                 "ULAW": 1, "ALAW": 1}


def applies_to(raw: RawFormat, name: str) -> bool:
    """True where ``raw`` describes the input ``name``: its name does not tell another format."""
    if name == "-":
        return True
    told = format_from_name(name)
    return told is None or told == "RAW" or name.lower().endswith(".pcm")


def check_whole_frames(nbytes: int, raw: RawFormat, name: str) -> None:
    """Refuse raw input whose length is not a whole number of frames: its layout was given wrong."""
    if nbytes % raw.frame_bytes:
        raise InvalidSignalError(
            f"{'standard input' if name == '-' else repr(name)} holds {nbytes} bytes, not a whole number of "
            f"{raw.channels}-channel {raw.subtype} frames ({raw.frame_bytes} bytes each); check --input-channels "
            "and --input-subtype"
        )


def open_raw(source, raw: RawFormat, name: str):
    """An open ``soundfile.SoundFile`` reading ``source`` (a path, or bytes) as ``raw`` describes."""
    import soundfile as sf

    if isinstance(source, (bytes, bytearray)):
        check_whole_frames(len(source), raw, name)
        source = io.BytesIO(source)
    return sf.SoundFile(source, **raw.soundfile_args())


def decode_raw_bytes(buf: bytes, raw: RawFormat, name: str, dtype="float64"):
    """Every frame of raw PCM bytes, as a ``(frames, channels)`` float array (integers scaled to [-1, 1))."""
    import numpy as np

    with open_raw(buf, raw, name) as f:
        return f.read(dtype=np.dtype(dtype).name, always_2d=True)
