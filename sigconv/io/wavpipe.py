"""WAV through pipes, which libsndfile cannot do by itself.

Programs that write WAV to a pipe cannot seek back to fill in the chunk
sizes, so they leave placeholders: ffmpeg writes ``0xFFFFFFFF``, sox a huge
value or 0. libsndfile then refuses the stream ("No 'data' chunk marker")
or reads garbage. :func:`repair_stream_sizes` rewrites those sizes from the
bytes that actually arrived so that libsndfile can decode the buffer.
"""

from __future__ import annotations

import struct

__all__ = ["is_riff_wave", "repair_stream_sizes"]

_HEADER = struct.Struct("<4sI4s")
_CHUNK = struct.Struct("<4sI")


def is_riff_wave(buf: bytes) -> bool:
    """True if ``buf`` starts like a RIFF/WAVE file."""
    return len(buf) >= 12 and buf[:4] == b"RIFF" and buf[8:12] == b"WAVE"


def _block_align(fmt_body: bytes) -> int:
    # fmt chunk: format tag, channels, rate, byte rate, block align, ...
    if len(fmt_body) < 14:
        return 1
    return max(1, struct.unpack_from("<H", fmt_body, 12)[0])


def repair_stream_sizes(buf: bytes) -> bytes:
    """Return ``buf`` with the RIFF and data sizes set to what is present.

    A ``data`` chunk whose declared size is 0, or larger than the bytes that
    follow it, is taken to run to the end of the stream (rounded down to
    whole frames). Well-formed files come back unchanged.

    Parameters
    ----------
    buf : bytes
        A complete WAV stream as read from a pipe.

    Returns
    -------
    bytes
        A buffer libsndfile can decode.

    Examples
    --------
    >>> import struct
    >>> fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    >>> body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF) + b"\\x01\\x00"
    >>> fixed = repair_stream_sizes(b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + body)
    >>> struct.unpack_from("<I", fixed, 40)[0]
    2
    """
    if not is_riff_wave(buf):
        return buf
    out = bytearray(buf)
    pos = 12
    align = 1
    while pos + _CHUNK.size <= len(out):
        chunk_id, size = _CHUNK.unpack_from(out, pos)
        body = pos + _CHUNK.size
        if chunk_id == b"fmt ":
            align = _block_align(bytes(out[body : body + size]))
        if chunk_id == b"data":
            available = len(out) - body
            if size == 0 or size > available:
                size = available - available % align
                _CHUNK.pack_into(out, pos, chunk_id, size)
                del out[body + size :]
            break
        pos = body + size + (size & 1)
    riff_size = len(out) - 8
    if struct.unpack_from("<I", out, 4)[0] != riff_size:
        struct.pack_into("<I", out, 4, riff_size)
    return bytes(out)
