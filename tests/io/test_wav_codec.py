"""sigconv's own WAV sample codec and integer-WAV file reader, against libsndfile on the same bytes."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from sigconv.io import stream, wavstream
from sigconv.io.stream import open_reader
from sigconv.io.wavstream import WavFormat, decode_frames, encode_frames, pack_int24, unpack_int24

INT_SUBTYPES = ["PCM_U8", "PCM_16", "PCM_24", "PCM_32"]


@given(st.lists(st.integers(-(2**23), 2**23 - 1), max_size=40), st.booleans())
def test_int24_packing_is_the_low_three_bytes_of_each_sample(values, forward):
    # both packings: stores in order (NumPy's, checked at run time) and stores that agree in any order
    ints = np.array(values, dtype=np.int32)
    expected = b"".join(struct.pack("<i", v)[:3] for v in values)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wavstream, "_strided_stores_run_forward", lambda: forward)
        assert pack_int24(ints).tobytes() == expected
    np.testing.assert_array_equal(unpack_int24(expected), ints)


def test_the_check_of_the_store_order_notices_an_order_that_would_break_the_packing(monkeypatch):
    assert wavstream._strided_stores_run_forward()  # NumPy's strided copy runs forward
    real_word_view = wavstream._word_view

    class Backwards(np.ndarray):
        """Words whose assignment stores them from the last to the first."""

        def __setitem__(self, key, value):
            value = np.broadcast_to(value, self.shape)
            for k in range(self.size - 1, -1, -1):
                np.ndarray.__setitem__(self, k, value[k])

    monkeypatch.setattr(wavstream, "_word_view", lambda out, count: real_word_view(out, count).view(Backwards))
    wavstream._strided_stores_run_forward.cache_clear()
    try:
        assert not wavstream._strided_stores_run_forward()
        ints = np.array([-1, 0x123456, -0x400000, 7, -(2**23)], dtype=np.int32)
        assert pack_int24(ints).tobytes() == b"".join(struct.pack("<i", int(v))[:3] for v in ints)
    finally:
        wavstream._strided_stores_run_forward.cache_clear()


def _reference_bytes(x, subtype):
    """The bytes of a WAV subtype written the plain way: whole-array rounding and clipping, then the layout."""
    if subtype in ("FLOAT", "DOUBLE"):
        return x.astype("<f4" if subtype == "FLOAT" else "<f8").tobytes()
    bits = {"PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}[subtype]
    codes = np.clip(np.rint(x.reshape(-1) * 2.0 ** (bits - 1)), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1).astype("<i8")
    if subtype == "PCM_U8":
        return (codes + 128).astype(np.uint8).tobytes()
    return codes.view(np.uint8).reshape(-1, 8)[:, : bits // 8].tobytes()


@pytest.mark.parametrize("subtype", [*INT_SUBTYPES, "FLOAT", "DOUBLE"])
@given(data=st.data())
def test_encoding_measures_the_peak_and_the_samples_beyond_full_scale(subtype, data):
    # pieces of the encoder within full scale and beyond it, in any order
    gains = data.draw(st.lists(st.sampled_from([0.3, 0.999, 1.6]), min_size=1, max_size=3))
    piece = wavstream.CODEC_CHUNK // 2  # frames of two channels
    lengths = [piece] * (len(gains) - 1) + [data.draw(st.integers(1, piece))]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = np.concatenate([rng.uniform(-g, g, (n, 2)) for g, n in zip(gains, lengths)])
    if subtype in INT_SUBTYPES and data.draw(st.booleans()):
        # within full scale, yet rounding to the code just beyond the largest: clipped all the same
        lsb = 2.0 ** -(wavstream.PIPE_SUBTYPES[subtype][1] - 1)
        x[data.draw(st.integers(0, len(x) - 1)), 1] = 1.0 - 0.3 * lsb
    encoded, peak, beyond = wavstream.encode_measuring(x, subtype)
    assert peak == np.max(np.abs(x))
    assert beyond == np.count_nonzero(np.abs(x) > 1.0)
    assert np.asarray(encoded).tobytes() == _reference_bytes(x, subtype)


@pytest.mark.parametrize("subtype", [*INT_SUBTYPES, "FLOAT"])
def test_a_block_that_cannot_be_written_is_encoded_without_warnings_and_its_peak_tells(subtype):
    x = np.zeros((100, 2))
    x[7, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(wavstream.encode_measuring(x, subtype)[1])
        x[7, 1] = 1e300  # beyond float32, and beyond float64 once scaled to PCM_32
        assert wavstream.encode_measuring(x, subtype)[1] == 1e300
        x[7, 1] = -np.inf
        assert wavstream.encode_measuring(x, subtype)[1] == np.inf


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
