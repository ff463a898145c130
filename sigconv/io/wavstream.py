"""WAV read from and written to pipes block by block, without seeking.

python-soundfile (libsndfile) needs to seek to read or write WAV, so pipes
are handled here: the header is parsed as it arrives and the samples are
decoded in blocks; on output a streaming header is written first, with the
RIFF and data sizes set to 0xFFFFFFFF as ffmpeg does when it cannot seek
back (libsndfile, sox and ffmpeg read such files, and sigconv repairs them).
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ..errors import UnreadableSignalError
from .formats import MAX_AUDIO_RATE

__all__ = [
    "WavFormat",
    "read_wav_header",
    "decode_frames",
    "encode_frames",
    "encode_measuring",
    "pack_int24",
    "unpack_int24",
    "streaming_header",
    "sized_header_fits",
    "finish_wav_file",
    "PIPE_SUBTYPES",
]

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_UNKNOWN_SIZE = 0xFFFFFFFF

#: Subtypes sigconv can write to a pipe as WAV, with (format tag, bits).
PIPE_SUBTYPES = {
    "PCM_U8": (_PCM, 8),
    "PCM_16": (_PCM, 16),
    "PCM_24": (_PCM, 24),
    "PCM_32": (_PCM, 32),
    "FLOAT": (_FLOAT, 32),
    "DOUBLE": (_FLOAT, 64),
}
_SUBTYPE_OF = {value: key for key, value in PIPE_SUBTYPES.items()}


@dataclass(frozen=True)
class WavFormat:
    """What a WAV header says about its samples."""

    channels: int
    rate: int
    subtype: str
    data_size: int | None  # None when the writer could not know it

    @property
    def frame_bytes(self) -> int:
        return self.channels * PIPE_SUBTYPES[self.subtype][1] // 8


def _read_exact(stream: BinaryIO, count: int, what: str) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise UnreadableSignalError(f"the WAV stream ended inside its {what}; is the input complete?")
    return data


# A fmt chunk is 16 to 40 bytes; a size field beyond this is corrupt, and
# other chunks before the samples are skipped in pieces of this size, so a
# corrupt size never makes sigconv allocate it.
_MAX_FMT_SIZE = 1 << 16
_SKIP_PIECE = 1 << 16


def _skip(stream: BinaryIO, count: int, what: str) -> None:
    while count > 0:
        piece = stream.read(min(count, _SKIP_PIECE))
        if not piece:
            raise UnreadableSignalError(f"the WAV stream ended inside its {what}; is the input complete?")
        count -= len(piece)


def _parse_fmt(body: bytes) -> tuple[int, int, int, int]:
    """Format tag (the sub-format's for WAVE_FORMAT_EXTENSIBLE), channels, rate and bits of a fmt chunk."""
    if len(body) < 16:
        raise UnreadableSignalError(
            f"the WAV stream's 'fmt ' chunk is {len(body)} bytes long, shorter than the 16 every WAV "
            "header has; the stream is corrupt or not WAV"
        )
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack_from("<H", body, 24)[0]
    if channels < 1:
        raise UnreadableSignalError("the WAV stream's header gives 0 channels; the stream is corrupt")
    if not 1 <= rate <= MAX_AUDIO_RATE:
        raise UnreadableSignalError(
            f"the WAV stream's header gives a sample rate of {rate} Hz, outside the 1 to {MAX_AUDIO_RATE} Hz "
            "an audio file can have; the stream is corrupt"
        )
    return tag, channels, rate, bits


def read_wav_header(stream: BinaryIO, first: bytes = b"") -> WavFormat:
    """Consume a WAV header from ``stream`` up to the first sample.

    Parameters
    ----------
    stream : binary file object
        Positioned at the start of the file, after the bytes in ``first``.
    first : bytes
        Bytes already read from the start (at most 12).

    Raises
    ------
    UnreadableSignalError
        Not RIFF/WAVE, an encoding other than PCM or IEEE float, a fmt
        chunk shorter than 16 bytes, 0 channels, a sample rate outside 1 Hz
        to :data:`~sigconv.io.formats.MAX_AUDIO_RATE`, or a truncated
        header.
    """
    head = first + _read_exact(stream, 12 - len(first), "header")
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise UnreadableSignalError("standard input is not a RIFF/WAVE stream")
    fmt = None
    while True:
        chunk_id, size = struct.unpack("<4sI", _read_exact(stream, 8, "chunk header"))
        if chunk_id == b"data":
            break
        if size == _UNKNOWN_SIZE:
            size = 0
        what = f"{chunk_id!r} chunk"
        if chunk_id == b"fmt ":
            if size > _MAX_FMT_SIZE:
                raise UnreadableSignalError(
                    f"the WAV stream's 'fmt ' chunk claims {size} bytes; the stream is corrupt"
                )
            fmt = _parse_fmt(_read_exact(stream, size + (size & 1), what))
        else:
            _skip(stream, size + (size & 1), what)
    if fmt is None:
        raise UnreadableSignalError("the WAV stream has no 'fmt ' chunk before its samples")
    tag, channels, rate, bits = fmt
    subtype = _SUBTYPE_OF.get((tag, bits))
    if subtype is None:
        raise UnreadableSignalError(
            f"the WAV stream holds format tag {tag} with {bits}-bit samples; sigconv streams PCM "
            "(8/16/24/32-bit) and IEEE float (32/64-bit) WAV through pipes"
        )
    data_size = None if size in (0, _UNKNOWN_SIZE) or size >= 0x7FFFF000 else size
    return WavFormat(channels, rate, subtype, data_size)


def decode_frames(raw: bytes, fmt: WavFormat, dtype=np.float64) -> np.ndarray:
    """Samples of whole frames in ``raw`` as ``(frames, channels)`` floats, ints scaled to [-1, 1)."""
    usable = len(raw) - len(raw) % fmt.frame_bytes
    raw = memoryview(raw)[:usable]
    sub = fmt.subtype
    if sub == "FLOAT":
        data = np.frombuffer(raw, dtype="<f4").astype(dtype)
    elif sub == "DOUBLE":
        data = np.frombuffer(raw, dtype="<f8").astype(dtype)
    elif sub == "PCM_16":
        data = np.multiply(np.frombuffer(raw, dtype="<i2"), 1 / 32768.0, dtype=dtype)
    elif sub == "PCM_32":
        data = np.multiply(np.frombuffer(raw, dtype="<i4"), 1 / 2147483648.0, dtype=dtype)
    elif sub == "PCM_U8":
        data = (np.frombuffer(raw, dtype=np.uint8).astype(dtype) - 128.0) / 128.0
    else:  # PCM_24
        data = np.empty(len(raw) // 3, dtype=dtype)
        for start in range(0, data.size, CODEC_CHUNK):
            part = raw[3 * start : 3 * (start + CODEC_CHUNK)]
            # in the output's dtype: 24-bit integers are exact in float32
            np.multiply(unpack_int24(part), data.dtype.type(1 / 8388608.0), out=data[start : start + CODEC_CHUNK],
                        dtype=data.dtype)
    return data.reshape(-1, fmt.channels)


#: Samples converted at a time: the steps of a conversion then pass over
#: data that is still in the core's cache, not in memory that the
#: engine's transforms keep busy (the encoder of a 24-bit output took 3x
#: its time alone while the transforms ran).
CODEC_CHUNK = 1 << 16


def unpack_int24(raw) -> np.ndarray:
    """Little-endian 3-byte two's complement samples as int32.

    Sample ``k`` is the top three bytes of the 32-bit word read at byte
    ``3k - 1``: the words of a strided view overlap, so one arithmetic
    shift decodes them (0.37 ms for half a million samples, 4.5x faster
    than assembling them byte by byte).
    """
    count = len(raw) // 3
    out = np.empty(count, dtype=np.int32)
    if count:
        out[0] = int.from_bytes(bytes(raw[:3]), "little", signed=True)
        words = np.ndarray((count - 1,), dtype="<i4", buffer=raw, offset=2, strides=(3,))
        np.right_shift(words, 8, out=out[1:])
    return out


def pack_int24(ints: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """int32 samples in [-2^23, 2^23) as their little-endian 3-byte form, a uint8 array.

    Each sample is stored as a 32-bit word at byte ``3k``. Stored in
    order, each word's fourth byte (the sample's sign) is overwritten by
    the next sample's first, so one strided copy packs them. NumPy does
    not promise that order: where :func:`_strided_stores_run_forward` finds
    another, each word carries the next sample's first byte as its fourth,
    so that the overlapping stores agree in any order. ``out``, where
    given, holds ``3 * len(ints) + 1`` bytes (the last store's fourth byte)
    and receives the samples in its first ``3 * len(ints)``.
    """
    samples = np.ascontiguousarray(ints, dtype=np.int32).reshape(-1).view(np.uint32)
    if out is None:
        out = np.empty(3 * samples.size + 1, dtype=np.uint8)
    words = samples
    if not _strided_stores_run_forward():
        words = np.bitwise_and(samples, 0xFFFFFF)
        words[:-1] |= samples[1:] << 24
    _word_view(out, samples.size)[...] = words
    return out[: 3 * samples.size]


def _word_view(out: np.ndarray, count: int) -> np.ndarray:
    """``count`` little-endian 32-bit words over the bytes ``out``, each 3 bytes after the one before."""
    return np.ndarray((count,), dtype="<u4", buffer=out, strides=(3,))


@functools.lru_cache(maxsize=1)
def _strided_stores_run_forward() -> bool:
    """Whether NumPy copies into :func:`_word_view` from the first word to the last.

    It does (a plain loop), and then :func:`pack_int24` needs no masking
    (the 24-bit encoder takes 20% less time). Checked once on a block of
    the encoder's size whose samples' bytes all differ.
    """
    count = CODEC_CHUNK + 5
    low = (np.arange(count, dtype=np.uint32) * 0x010203 + 0x10) & 0xFFFFFF
    signed = (low.astype(np.int64) - ((low & 0x800000).astype(np.int64) << 1)).astype(np.int32)
    out = np.empty(3 * count + 1, dtype=np.uint8)
    _word_view(out, count)[...] = signed.view(np.uint32)
    return bool(np.array_equal(out[: 3 * count], low.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3].reshape(-1)))


def encode_frames(data: np.ndarray, subtype: str) -> np.ndarray:
    """``(frames, channels)`` samples as a contiguous array of a WAV subtype's bytes.

    Integers are scaled by 2^(bits-1), rounded to nearest and clipped.
    (libsndfile truncates instead, a bias of -0.5 LSB, so the two can differ
    by one LSB.) The result supports the buffer protocol: pass it to ``file.write`` as is
    (``.tobytes()`` would only copy it).
    """
    return encode_measuring(data, subtype)[0]


def encode_measuring(data: np.ndarray, subtype: str) -> tuple[np.ndarray, float, int]:
    """:func:`encode_frames`, with the samples' peak ``max |x|`` (NaN if one is NaN) and the count of those beyond ±1.

    The levels are taken from each cache-sized piece as it is encoded:
    taking them beforehand read the whole block from memory three more
    times. A block with NaN, or with samples beyond float32's range for
    FLOAT, is encoded without warnings, for the caller to refuse.
    """
    samples = np.asarray(data).reshape(-1)
    if subtype in ("FLOAT", "DOUBLE"):
        scale = 1.0
        dtype = np.dtype("<f4" if subtype == "FLOAT" else "<f8")
        # samples already in the subtype's layout are their own bytes
        out = samples if samples.dtype == dtype and samples.flags.c_contiguous else np.empty(samples.size, dtype)
    else:
        scale = float(1 << (PIPE_SUBTYPES[subtype][1] - 1))
        if subtype == "PCM_24":
            out = np.empty(3 * samples.size + 1, dtype=np.uint8)  # see pack_int24
        else:
            out = np.empty(samples.size, dtype={"PCM_U8": np.uint8, "PCM_16": "<i2", "PCM_32": "<i4"}[subtype])
    with np.errstate(invalid="ignore", over="ignore"):
        high, low, beyond = _encode_pieces(samples, subtype, scale, out)
        peak = max(high, -low) / scale
        if np.isinf(peak):  # beyond float64 once scaled, or infinite: the peak of the samples themselves
            peak = float(np.max(np.abs(samples)))
    return (out[: 3 * samples.size] if subtype == "PCM_24" else out), peak, beyond


def _encode_pieces(samples: np.ndarray, subtype: str, scale: float, out: np.ndarray) -> tuple[float, float, int]:
    """Encode ``samples`` into ``out`` a :data:`CODEC_CHUNK` at a time; ``(max, min, beyond)`` of the scaled samples."""
    piece = min(samples.size, CODEC_CHUNK)
    scaled = np.empty(piece, dtype=np.float64) if scale != 1.0 else None
    ints = np.empty(piece, dtype=np.int32) if subtype == "PCM_24" else None
    highs, lows, beyond = [0.0], [0.0], 0
    for start in range(0, samples.size, CODEC_CHUNK):
        part = samples[start : start + CODEC_CHUNK]
        buffer = part
        if scaled is not None:
            buffer = scaled[: part.size]
            # ``scale`` is a power of two: the product of a float32 or float64
            # sample is exact and rounds as the sample would
            np.multiply(part, scale, out=buffer)
        highs.append(buffer.max())
        lows.append(buffer.min())
        if highs[-1] > scale or lows[-1] < -scale:
            beyond += int(np.count_nonzero(buffer > scale)) + int(np.count_nonzero(buffer < -scale))
        if scaled is None:
            if out is not samples:
                out[start : start + part.size] = part
            continue
        np.rint(buffer, out=buffer)
        if highs[-1] > scale - 1 or lows[-1] < -scale:  # else every sample rounds to a code of the subtype
            np.clip(buffer, -scale, scale - 1, out=buffer)
        if subtype == "PCM_24":
            np.copyto(ints[: part.size], buffer, casting="unsafe")
            # in order: a piece's last store writes a byte of the next piece, which that piece rewrites
            pack_int24(ints[: part.size], out[3 * start : 3 * (start + part.size) + 1])
        elif subtype == "PCM_U8":
            np.add(buffer, 128, out=out[start : start + part.size], casting="unsafe")
        else:
            np.copyto(out[start : start + part.size], buffer, casting="unsafe")
    return float(np.max(highs)), float(np.min(lows)), beyond


def streaming_header(channels: int, rate: int, subtype: str, reserve_ds64: bool = False,
                     data_bytes: int | None = None) -> bytes:
    """A WAV header for writing to a pipe: with the true sizes where ``data_bytes`` is known, else unknown ones.

    An unknown size is 0xFFFFFFFF, as ffmpeg writes to a pipe: ffmpeg,
    libsndfile and sigconv read such a stream to its end, however long;
    sox does too, but warns "Premature EOF" at the end. (sox's own
    placeholder, 0x7FFFF000, keeps sox quiet, but ffmpeg takes it at its
    word and stops after 2 GiB.) With ``data_bytes`` (when it fits in 32
    bits) the header is that of a complete file, which every reader takes
    without a warning; an odd size is followed by RIFF's pad byte, counted
    in the RIFF size but not in ``data_bytes``.

    ``reserve_ds64`` puts a 28-byte JUNK chunk first, which
    :func:`finish_wav_file` turns into RF64's ds64 chunk if the file grows
    past 4 GiB (the EBU Tech 3306 way).

    Examples
    --------
    >>> len(streaming_header(2, 48000, "FLOAT")), len(streaming_header(2, 48000, "FLOAT", reserve_ds64=True))
    (46, 82)
    >>> import struct
    >>> struct.unpack_from("<I", streaming_header(1, 8000, "PCM_16", data_bytes=200), 40)[0]
    200
    """
    tag, bits = PIPE_SUBTYPES[subtype]
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    if tag == _FLOAT:
        fmt += struct.pack("<H", 0)
    junk = b"JUNK" + struct.pack("<I", _DS64_SIZE) + bytes(_DS64_SIZE) if reserve_ds64 else b""
    chunks = b"WAVE" + junk + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data"
    riff = data = _UNKNOWN_SIZE
    if data_bytes is not None and len(chunks) + 4 + data_bytes + (data_bytes & 1) < _UNKNOWN_SIZE:
        data, riff = data_bytes, len(chunks) + 4 + data_bytes + (data_bytes & 1)
    return b"RIFF" + struct.pack("<I", riff) + chunks + struct.pack("<I", data)


def sized_header_fits(channels: int, subtype: str, frames: int) -> bool:
    """True where a WAV of ``frames`` frames has sizes that a plain (32-bit) header holds."""
    data = frames * channels * PIPE_SUBTYPES[subtype][1] // 8
    return data + (data & 1) + 128 < _UNKNOWN_SIZE


_DS64_SIZE = 28  # RIFF size, data size, sample count (64-bit each), table length (32-bit)


def finish_wav_file(f: BinaryIO, header_length: int, frame_bytes: int) -> None:
    """Fill in the sizes of a WAV file written with ``streaming_header(..., reserve_ds64=True)``.

    ``f`` is open for writing and positioned at the end of the samples.
    Files up to 4 GiB get plain RIFF sizes; larger ones become RF64.
    """
    end = f.tell()
    data = end - header_length
    riff = end - 8
    if riff <= 0xFFFFFFFF - 1:
        f.seek(4)
        f.write(struct.pack("<I", riff))
        f.seek(header_length - 4)
        f.write(struct.pack("<I", data))
    else:
        f.seek(0)
        f.write(b"RF64" + struct.pack("<I", _UNKNOWN_SIZE) + b"WAVE")
        f.write(b"ds64" + struct.pack("<I", _DS64_SIZE) + struct.pack("<QQQI", riff, data, data // frame_bytes, 0))
        f.seek(header_length - 4)
        f.write(struct.pack("<I", _UNKNOWN_SIZE))
    f.seek(end)
