"""sigconv's own WAV sample codec and integer-WAV file reader, against libsndfile on the same bytes."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from sigconv.io import stream
from sigconv.io.stream import open_reader
from sigconv.io.wavstream import WavFormat, decode_frames, encode_frames, pack_int24, unpack_int24

INT_SUBTYPES = ["PCM_U8", "PCM_16", "PCM_24", "PCM_32"]


@given(st.lists(st.integers(-(2**23), 2**23 - 1), max_size=40))
def test_int24_packing_is_the_low_three_bytes_of_each_sample(values):
    ints = np.array(values, dtype=np.int32)
    expected = b"".join(struct.pack("<i", v)[:3] for v in values)
    assert pack_int24(ints).tobytes() == expected
    np.testing.assert_array_equal(unpack_int24(expected), ints)


def _libsndfile_wav(x, subtype, rate=8000, container="WAV"):
    buffer = io.BytesIO()
    sf.write(buffer, x, rate, subtype=subtype, format=container)
    raw = buffer.getvalue()
    return raw, raw[raw.index(b"data") + 8 :]


@pytest.mark.parametrize("subtype", INT_SUBTYPES)
@pytest.mark.parametrize("frames", [1, 3, 4, 1001, 30001])  # 90,003 samples: more than one CODEC_CHUNK
def test_codec_reads_and_writes_the_bytes_libsndfile_does(rng, subtype, frames):
    # beyond full scale too: both clip
    x = rng.uniform(-1.3, 1.3, (frames, 3))
    raw, data = _libsndfile_wav(x, subtype)
    expected, _ = sf.read(io.BytesIO(raw), dtype="float64", always_2d=True)
    fmt = WavFormat(3, 8000, subtype, len(data))
    for dtype in (np.float64, np.float32):
        decoded = decode_frames(data, fmt, dtype)
        assert decoded.dtype == dtype
        np.testing.assert_array_equal(decoded, expected.astype(dtype))
    # libsndfile's own samples encode back to its bytes: exact multiples of the LSB round to themselves
    samples = data[: fmt.frame_bytes * frames]  # without RIFF's pad byte
    exact_in_float32 = subtype != "PCM_32"  # float32 holds 24 bits
    for source in (expected, expected.astype(np.float32)) if exact_in_float32 else (expected,):
        assert np.asarray(encode_frames(source, subtype)).tobytes() == samples


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_encoding_rounds_to_nearest_and_clips(subtype):
    lsb = 2.0 ** -(15 if subtype == "PCM_16" else 23)
    x = np.array([[0.49 * lsb], [0.51 * lsb], [-0.51 * lsb], [2.0], [-2.0], [1.0 - lsb]])
    fmt = WavFormat(1, 8000, subtype, None)
    y = decode_frames(np.asarray(encode_frames(x, subtype)).tobytes(), fmt)
    np.testing.assert_array_equal(y[:, 0], [0.0, lsb, -lsb, 1.0 - lsb, -1.0, 1.0 - lsb])


def _with_extra_chunks(raw: bytes) -> bytes:
    """The same WAV with a LIST chunk of odd size (and its pad byte) before the samples."""
    data_at = raw.index(b"data")
    listing = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"
    body = raw[12:data_at] + listing + raw[data_at:]
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32"])
@pytest.mark.parametrize("extra_chunk", [False, True])
@pytest.mark.parametrize("container", ["WAV", "WAVEX"])  # WAVE_FORMAT_EXTENSIBLE: sox's and ffmpeg's 24-bit
def test_integer_wav_files_are_decoded_here_as_libsndfile_reads_them(tmp_path, rng, subtype, extra_chunk, container):
    x = rng.uniform(-1, 1, (70001, 2))
    raw, _ = _libsndfile_wav(x, subtype, 48000, container)
    path = tmp_path / "x.wav"
    path.write_bytes(_with_extra_chunks(raw) if extra_chunk else raw)
    expected, _ = sf.read(path, dtype="float64", always_2d=True)
    reader = open_reader(str(path))
    try:
        assert isinstance(reader, stream._WavFileReader)
        assert (reader.frames, reader.channels, reader.rate, reader.subtype, reader.format) == (
            70001, 2, 48000, subtype, container)
        blocks = list(reader.blocks(30000))
    finally:
        reader.close()
    assert [b.shape[0] for b in blocks] == [30000, 30000, 10001]
    np.testing.assert_array_equal(np.concatenate(blocks), expected)


def test_a_wav_file_whose_header_sizes_are_unknown_is_left_to_libsndfile(tmp_path, rng):
    """ffmpeg's streaming header saved to a file: libsndfile finds the length, sigconv's header reader would not."""
    x = rng.uniform(-1, 1, (5000, 2))
    raw, _ = _libsndfile_wav(x, "PCM_24")
    raw = bytearray(raw)
    raw[4:8] = b"\xff\xff\xff\xff"
    data_at = raw.index(b"data")
    raw[data_at + 4 : data_at + 8] = b"\xff\xff\xff\xff"
    path = tmp_path / "x.wav"
    path.write_bytes(bytes(raw))
    reader = open_reader(str(path))
    try:
        assert isinstance(reader, stream._SoundFileReader)
        y = np.concatenate(list(reader.blocks(4096)))
    finally:
        reader.close()
    np.testing.assert_array_equal(y, sf.read(path, dtype="float64", always_2d=True)[0].astype(y.dtype))
