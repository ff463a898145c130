"""Malformed inputs, format limits, non-finite results: one ``Error:`` line and a documented exit status each.

Commands that could crash the test process (libvorbis segfaults) or that
must be seen as a real pipeline run as ``python -m sigconv`` subprocesses;
the rest go through click's runner, which re-raises any exception that is
not one of sigconv's, so a traceback fails the test there too.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from sigconv import Signal, read, write
from sigconv.errors import InputError, OutputError, UnreadableSignalError, UsageError
from sigconv.io.csvio import parse_csv
from sigconv.io.formats import FLOAT32_MAX, MAX_AUDIO_RATE, check_format_limits, format_limits
from sigconv.io.reading import looks_like_text
from sigconv.io.stream import open_reader, open_writer
from sigconv.io.wavstream import read_wav_header

from ..conftest import run_sigconv

RATE = 8000


def one_error_line(stderr: str | bytes) -> str:
    """The single ``Error:`` line of ``stderr``; fails on a traceback or on more or fewer lines."""
    text = stderr.decode("utf-8", errors="replace") if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, text
    return errors[0]


def _streaming_wav(fmt_body: bytes, samples: bytes = bytes(200), extra_chunks: bytes = b"") -> bytes:
    """A WAV as a pipe writer makes it (unknown sizes), with the given fmt chunk body."""
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + extra_chunks
            + b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body
            + b"data" + struct.pack("<I", 0xFFFFFFFF) + samples)


def _pcm16_fmt(rate=RATE, channels=1) -> bytes:
    return struct.pack("<HHIIHH", 1, channels, rate, (rate * 2 * channels) & 0xFFFFFFFF, 2 * channels, 16)


def _flac_bytes(data, rate=RATE) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def _unknown_length(flac: bytes) -> bytes:
    """``flac`` as ffmpeg writes it to a pipe, where it cannot seek back: STREAMINFO's length and MD5 zero."""
    out = bytearray(flac)
    assert out[:4] == b"fLaC" and out[4] & 0x7F == 0  # STREAMINFO is the first metadata block
    info = 8  # "fLaC" + the block header
    # the low 36 bits of these 8 bytes are the total samples
    packed = int.from_bytes(out[info + 10 : info + 18], "big") & ~((1 << 36) - 1)
    out[info + 10 : info + 18] = packed.to_bytes(8, "big")
    out[info + 18 : info + 34] = bytes(16)
    return bytes(out)


@pytest.fixture
def ir(tmp_path):
    path = tmp_path / "ir.wav"
    sf.write(path, np.array([1.0, 0.5, 0.25]), RATE, subtype="FLOAT")
    return path


@pytest.fixture
def noise(rng):
    return 0.05 * rng.standard_normal((20000, 1))


# ---------------------------------------------------------------- 1. FLAC that breaks while decoding


@pytest.fixture
def truncated_flac(tmp_path, noise):
    flac = _flac_bytes(noise)
    path = tmp_path / "cut.flac"
    path.write_bytes(flac[: len(flac) * 6 // 10])
    assert sf.info(str(path)).frames == len(noise)  # it opens: the damage shows only while decoding
    return path


@pytest.mark.parametrize("command", [
    ["convolve", "{x}", "{ir}", "-o", "{out}"],
    ["deconvolve", "{x}", "{ir}", "-o", "{out}"],
    ["correlate", "{x}", "{ir}"],
    ["impulse", "info", "{x}"],
])
def test_a_truncated_flac_is_exit_3_naming_the_file(cli, tmp_path, truncated_flac, ir, command):
    out = tmp_path / "out.wav"
    result = cli(*(a.format(x=truncated_flac, ir=ir, out=out) for a in command))
    assert result.exit_code == 3
    line = one_error_line(result.stderr)
    assert str(truncated_flac) in line and "damaged" in line
    assert not out.exists()


def test_reading_a_truncated_flac_raises_an_input_error(truncated_flac):
    with pytest.raises(UnreadableSignalError, match="cut.flac"):
        read(truncated_flac)
    reader = open_reader(str(truncated_flac))
    try:
        with pytest.raises(UnreadableSignalError, match=r"decoding failed after frame [1-9]\d*"):
            for _ in reader.blocks(4096):
                pass
    finally:
        reader.close()


# ---------------------------------------------------------------- 2. WAV headers on standard input


@pytest.mark.parametrize("body, message", [
    (struct.pack("<HHI", 1, 1, RATE), "'fmt ' chunk is 8 bytes long"),
    (b"", "'fmt ' chunk is 0 bytes long"),
    (_pcm16_fmt(rate=0), "sample rate of 0 Hz"),
    (_pcm16_fmt(rate=4_000_000_000), "sample rate of 4000000000 Hz"),
    (_pcm16_fmt(channels=0), "0 channels"),
])
def test_a_bad_wav_header_on_stdin_is_refused_at_parse(body, message):
    with pytest.raises(UnreadableSignalError, match=message):
        read_wav_header(io.BytesIO(_streaming_wav(body)))


@pytest.mark.parametrize("command", [["convolve", "-", "{ir}", "-o", "{out}"], ["correlate", "-", "{ir}"]])
@pytest.mark.parametrize("body", [struct.pack("<HHI", 1, 1, RATE), _pcm16_fmt(rate=0),
                                  _pcm16_fmt(rate=4_000_000_000)])
def test_a_bad_wav_header_on_stdin_is_exit_3(cli, tmp_path, ir, command, body):
    out = tmp_path / "out.wav"
    result = cli(*(a.format(ir=ir, out=out) for a in command), input=_streaming_wav(body))
    assert result.exit_code == 3
    assert "WAV stream" in one_error_line(result.stderr)
    assert not out.exists()


def test_the_highest_rate_a_wav_stream_may_give_is_read():
    fmt = read_wav_header(io.BytesIO(_streaming_wav(_pcm16_fmt(rate=MAX_AUDIO_RATE))))
    assert fmt.rate == MAX_AUDIO_RATE


def test_a_huge_chunk_before_the_samples_is_skipped_without_allocating_it():
    junk = b"LIST" + struct.pack("<I", 0xFFFFFFF0) + bytes(100)
    with pytest.raises(UnreadableSignalError, match="ended inside its b'LIST' chunk"):
        read_wav_header(io.BytesIO(_streaming_wav(_pcm16_fmt(), extra_chunks=junk)))
    small = b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd sizes are padded to even
    assert read_wav_header(io.BytesIO(_streaming_wav(_pcm16_fmt(), extra_chunks=small))).rate == RATE


def test_a_huge_fmt_chunk_is_refused():
    raw = b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", 0x7FFFFFFF)
    with pytest.raises(UnreadableSignalError, match="claims 2147483647 bytes"):
        read_wav_header(io.BytesIO(raw))


# ---------------------------------------------------------------- 3. other containers on standard input


def _pipe_into_sigconv(producer_bytes: bytes, *args, cwd=None) -> subprocess.CompletedProcess:
    """``producer | python -m sigconv ARGS``, the producer a real process that writes ``producer_bytes``."""
    copy = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    producer = subprocess.Popen([sys.executable, "-c", copy], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    consumer = subprocess.Popen([sys.executable, "-m", "sigconv", *map(str, args)], stdin=producer.stdout,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    producer.stdout.close()
    producer.stdin.write(producer_bytes)
    producer.stdin.close()
    stdout, stderr = consumer.communicate(timeout=120)
    producer.wait(timeout=30)
    return subprocess.CompletedProcess(consumer.args, consumer.returncode, stdout, stderr)


@pytest.mark.parametrize("length", ["known", "unknown"])
def test_flac_piped_into_convolve_is_read_whole(tmp_path, noise, ir, length):
    flac = _flac_bytes(noise)
    if length == "unknown":
        flac = _unknown_length(flac)
        assert sf.info(io.BytesIO(flac)).frames > 2**62  # libsndfile's "unknown", which numpy cannot allocate
    proc = _pipe_into_sigconv(flac, "convolve", "-", ir, "-o", tmp_path / "y.wav", "--subtype", "DOUBLE")
    assert proc.returncode == 0, proc.stderr.decode()
    y, rate = sf.read(tmp_path / "y.wav", always_2d=True)
    x, _ = sf.read(io.BytesIO(_flac_bytes(noise)), always_2d=True)
    assert rate == RATE
    np.testing.assert_allclose(y[:, 0], np.convolve(x[:, 0], [1.0, 0.5, 0.25]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("command", [["correlate", "-", "{ref}"], ["impulse", "info", "-", "--force"]])
def test_flac_of_unknown_length_on_stdin_works_for_every_reader(tmp_path, noise, command):
    ref = tmp_path / "ref.flac"
    ref.write_bytes(_flac_bytes(noise))
    proc = _pipe_into_sigconv(_unknown_length(_flac_bytes(noise)), *(a.format(ref=ref) for a in command))
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr


def test_flac_of_unknown_length_by_path_is_read_to_its_end(tmp_path, noise):
    path = tmp_path / "streamed.flac"
    path.write_bytes(_unknown_length(_flac_bytes(noise)))
    np.testing.assert_array_equal(read(path).data, read(_flac_bytes(noise)).data)
    reader = open_reader(str(path))
    try:
        assert reader.frames is None  # unknown: the engines must not plan on libsndfile's 2**63 - 1
        assert sum(block.shape[0] for block in reader.blocks(3000)) == len(noise)
    finally:
        reader.close()


def test_a_flac_that_claims_more_frames_than_it_holds_is_an_input_error(tmp_path, noise):
    flac = bytearray(_flac_bytes(noise[:5000]))
    packed = int.from_bytes(flac[18:26], "big") | ((1 << 36) - 1)  # 68.7 billion frames
    flac[18:26] = packed.to_bytes(8, "big")
    path = tmp_path / "liar.flac"
    path.write_bytes(bytes(flac))
    with pytest.raises(InputError, match="liar.flac"):
        read(path)


# ---------------------------------------------------------------- found by tests/test_fuzz.py


def _wav_claiming(frames_held: int, claimed_bytes: int, rng) -> bytes:
    """A mono PCM_16 WAV whose data chunk says ``claimed_bytes`` but holds ``frames_held`` frames."""
    samples = (rng.standard_normal(frames_held) * 3000).astype("<i2").tobytes()
    return (b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE"
            + b"fmt " + struct.pack("<I", 16) + _pcm16_fmt()
            + b"data" + struct.pack("<I", claimed_bytes) + samples)


@pytest.fixture
def stdin_from(monkeypatch):
    """Make standard input read ``source`` (a path: a regular file; bytes: a real pipe)."""
    opened = []

    def _use(source):
        if isinstance(source, bytes):
            read_end, write_end = os.pipe()
            os.write(write_end, source)  # small: fits the pipe's buffer
            os.close(write_end)
            stream = open(read_end, "rb")
        else:
            stream = open(source, "rb")
        opened.append(stream)
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stream))

    yield _use
    for stream in opened:
        stream.close()


@pytest.mark.parametrize("via", ["regular file", "pipe"])
def test_a_wav_stream_claiming_a_gibibyte_does_not_make_engines_plan_for_it(tmp_path, rng, stdin_from, via):
    # fuzz seed 1, cases 183 and 1966: one flipped bit in the data size made correlate plan
    # transforms of 2**27 frames for 300, and run for a minute
    raw = _wav_claiming(700, 0x40000578, rng)
    path = tmp_path / "claims.wav"
    path.write_bytes(raw)
    stdin_from(path if via == "regular file" else raw)
    reader = open_reader("-")
    assert reader.frames == 700  # what arrived: the file's size, or the pipe's end within the look-ahead
    assert sum(block.shape[0] for block in reader.blocks(256)) == 700


def test_a_wav_stream_that_holds_less_than_its_header_says_is_read_to_its_end(rng, stdin_from):
    stdin_from(_wav_claiming(6, 600, rng))
    reader = open_reader("-")
    assert reader.frames == 6
    assert sum(block.shape[0] for block in reader.blocks(256)) == 6


def test_an_honest_header_on_a_pipe_gives_the_length(rng, stdin_from):
    # deconvolve designs its inverse filter on the length: a pipe must give the file's result
    stdin_from(_wav_claiming(700, 1400, rng))
    assert open_reader("-").frames == 700


def test_a_long_pipe_is_taken_at_its_word_and_fails_if_it_ends_early(rng, stdin_from, monkeypatch):
    import sigconv.io.stream as stream

    monkeypatch.setattr(stream, "WAV_LOOK_AHEAD", 64)  # "long": past the look-ahead
    stdin_from(_wav_claiming(700, 1400, rng))
    reader = open_reader("-")
    assert reader.frames == 700
    assert sum(block.shape[0] for block in reader.blocks(100)) == 700
    stdin_from(_wav_claiming(300, 1400, rng))
    reader = open_reader("-")
    assert reader.frames == 700
    with pytest.raises(UnreadableSignalError, match="ended after frame 300, but its header says 700 frames"):
        for _ in reader.blocks(100):
            pass


@pytest.mark.parametrize("claimed_bytes", [600, 0x40000578])
def test_correlate_of_a_stream_shorter_than_its_header_ends_cleanly(tmp_path, rng, claimed_bytes):
    # fuzz seed 1, case 1627: 6 frames under a 300-frame header on stdin was a ValueError
    # ("could not broadcast ... (6,) into (300,)") in correlate's transform
    sf.write(tmp_path / "ref.wav", rng.standard_normal(300), RATE, subtype="FLOAT")
    command = [sys.executable, "-m", "sigconv", "correlate", "ref.wav", "-"]
    for source in ("pipe", "file"):
        raw = _wav_claiming(6, claimed_bytes, rng)
        if source == "file":
            (tmp_path / "short.wav").write_bytes(raw)
            with open(tmp_path / "short.wav", "rb") as stdin:
                proc = subprocess.run(command, stdin=stdin, capture_output=True, cwd=tmp_path, timeout=60)
        else:
            proc = subprocess.run(command, input=raw, capture_output=True, cwd=tmp_path, timeout=60)
        assert b"Traceback" not in proc.stderr
        if proc.returncode:
            assert proc.returncode in (7, 8), proc.stderr.decode()
            one_error_line(proc.stderr)


class _ShortFile:
    """A stand-in for ``soundfile.SoundFile`` that holds ``held`` frames whatever its header said."""

    def __init__(self, held: int):
        self.left = held

    def read(self, frames, dtype, always_2d):
        n = min(frames, self.left)
        self.left -= n
        return np.zeros((n, 1), dtype=dtype)


def test_a_file_that_ends_before_its_header_count_is_an_error_before_the_short_block():
    from sigconv.io.reading import soundfile_blocks

    blocks = soundfile_blocks(_ShortFile(1500), "short.flac", 1000, "float64", frames=9000)
    assert next(blocks).shape == (1000, 1)
    with pytest.raises(UnreadableSignalError, match="ends after frame 1500, but its header says 9000 frames"):
        next(blocks)
    whole = list(soundfile_blocks(_ShortFile(1500), "fine.flac", 1000, "float64", frames=1500))
    assert [b.shape[0] for b in whole] == [1000, 500]


@pytest.mark.parametrize("cut", [33, 36, 37, 39])
def test_a_truncated_aiff_on_stdin_prints_no_traceback(tmp_path, rng, cut):
    # a fuzz run with AIFF seeds (seed 11, case 242): libsndfile seeks before the start of the
    # buffer, and BytesIO's ValueError was printed from inside python-soundfile's cffi callback
    sf.write(tmp_path / "x.aiff", 0.1 * rng.standard_normal((2000, 2)), RATE, subtype="PCM_16")
    damaged = (tmp_path / "x.aiff").read_bytes()[:cut]
    proc = run_sigconv("impulse", "info", "-", input=damaged)
    assert proc.returncode == 3
    assert "'-'" in one_error_line(proc.stderr)


def test_a_named_pipe_is_read_like_standard_input(tmp_path, rng):
    # `sigconv convolve <(ffmpeg ...) ir.wav` passes /dev/fd/63, a FIFO of size 0: it was "empty"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    flac = _unknown_length(_flac_bytes(0.1 * rng.standard_normal(3000)))

    def feed():
        with open(fifo, "wb") as f:
            f.write(flac)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        sig = read(fifo)
    finally:
        writer.join(timeout=30)
    assert (sig.frames, sig.rate, sig.name) == (3000, RATE, str(fifo))


# ---------------------------------------------------------------- 4. and 5. text that is not quite UTF-8 CSV


def _csv(frames: int, rate: float = RATE) -> bytes:
    return ("time,x\n" + "".join(f"{i / rate!r},{0.001 * (i % 7):.3f}\n" for i in range(frames))).encode()


@pytest.mark.parametrize("command", [["impulse", "info", "{x}"], ["convolve", "{x}", "{x}", "-o", "{out}"]])
def test_invalid_utf8_after_the_sniffed_head_is_exit_3(cli, tmp_path, command):
    text = _csv(400)
    assert len(text) > 4096
    path = tmp_path / "trace.txt"  # no .csv: the content is sniffed
    path.write_bytes(text + b"0.06,\xff\xfe\n")
    out = tmp_path / "out.csv"
    result = cli(*(a.format(x=path, out=out) for a in command))
    assert result.exit_code == 3
    line = one_error_line(result.stderr)
    assert "not UTF-8" in line and "line 402" in line
    assert not out.exists()


def test_a_multibyte_character_cut_by_the_sniffing_limit_is_still_text():
    text = b"# " + b"a" * 4093 + "é".encode() + b"\ntime,x\n0,1\n0.5,2\n"
    assert text[4095:4097] == "é".encode()  # the sniffed head ends inside the character
    assert looks_like_text(text)
    assert read(text).rate == 2.0


def test_a_utf8_byte_order_mark_does_not_hide_the_time_header():
    data, rate = parse_csv("\ufefftime,x\n0,1\n0.5,2\n")
    assert rate == 2.0 and data.shape == (2, 1)


@pytest.mark.parametrize("name", ["bom.csv", "bom.txt"])
def test_a_csv_with_a_byte_order_mark_reads_its_rate_and_one_channel(cli, tmp_path, ir, name):
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + _csv(200))
    sig = read(path)
    assert (sig.rate, sig.channels) == (RATE, 1)
    result = cli("convolve", path, ir, "-o", tmp_path / "out.wav")
    assert result.exit_code == 0, result.stderr
    assert sf.info(str(tmp_path / "out.wav")).channels == 1


@pytest.mark.parametrize("times", [("0", "1e-320", "2e-320"), ("-1e308", "1e308")])
def test_a_time_column_that_gives_no_finite_rate_is_exit_3(cli, tmp_path, times):
    # 1e-320 s steps were an OverflowError traceback (round(inf)); a span past float64 a rate of 0 Hz
    path = tmp_path / "times.csv"
    path.write_text("time,x\n" + "".join(f"{t},{i}\n" for i, t in enumerate(times)))
    with pytest.raises(InputError, match="gives no finite sample rate"):
        read(path)
    result = cli("impulse", "info", path)
    assert result.exit_code == 3
    assert "time column" in one_error_line(result.stderr)


# ---------------------------------------------------------------- 6. what an output format can hold


@pytest.mark.parametrize("args, limit", [
    (["impulse", "synth", "dirac", "--rate", "5e9", "-o", "x.wav"], "2147483647 Hz"),
    (["impulse", "synth", "dirac", "--rate", "5e9", "-o", "-"], "2147483647 Hz"),
    (["impulse", "synth", "dirac", "--channels", "9", "-o", "x.flac"], "at most 8"),
    (["impulse", "sweep", "--rate", "384000", "--duration", "1", "-o", "out.ogg"], "1 to 200000 Hz"),
    (["impulse", "sweep", "--rate", "44100", "--duration", "1", "--subtype", "opus", "-o", "x.ogg"],
     "48000 Hz"),
])
def test_an_output_format_limit_is_refused_before_any_work(tmp_path, args, limit):
    proc = run_sigconv(*args, cwd=tmp_path)
    assert proc.returncode == UsageError.exit_code  # not a segfault (-11) in libvorbis
    assert limit in one_error_line(proc.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt, subtype, rate, channels", [
    ("OGG", "VORBIS", 200000, 2),
    ("OGG", "OPUS", 24000, 1),
    ("FLAC", "PCM_16", 655350, 8),
    ("WAV", "FLOAT", 384000, 2),
])
def test_the_limits_themselves_are_accepted_and_written(tmp_path, fmt, subtype, rate, channels):
    check_format_limits(fmt, subtype, rate, channels)
    data = 0.1 * np.sin(np.linspace(0, 200, rate // 20))[:, None].repeat(channels, axis=1)
    report = write(tmp_path / f"edge.{fmt.lower()}", data, rate, format=fmt, subtype=subtype)
    info = sf.info(str(tmp_path / f"edge.{fmt.lower()}"))
    assert (info.samplerate, info.channels, report.subtype) == (rate, channels, subtype)


@pytest.mark.parametrize("fmt, subtype, rate, channels", [
    ("OGG", "VORBIS", 200001, 1),
    ("OGG", "VORBIS", 48000, 256),
    ("OGG", "OPUS", 44100, 1),
    ("FLAC", "PCM_24", 655351, 1),
    ("FLAC", "PCM_24", 48000, 9),
    ("WAV", "FLOAT", MAX_AUDIO_RATE + 1, 1),
    ("WAV", "FLOAT", 48000, 1025),
    ("WAV", "DOUBLE", 600_000_000, 1),  # a byte rate past 2**32 - 1
    ("AIFF", "FLOAT", 48000, 1025),
])
def test_beyond_a_limit_is_a_usage_error_naming_it(tmp_path, fmt, subtype, rate, channels):
    with pytest.raises(UsageError, match=f"{fmt}/{subtype} cannot hold"):
        check_format_limits(fmt, subtype, rate, channels)
    with pytest.raises(UsageError):
        with open_writer(str(tmp_path / "x.out"), rate, channels, format=fmt, subtype=subtype):
            pytest.fail("the writer opened")
    assert list(tmp_path.iterdir()) == []


def test_70000_channels_do_not_reach_the_wav_header(tmp_path):
    with pytest.raises(UsageError, match="cannot hold 70000 channels .*at most 1024"):
        write(tmp_path / "wide.wav", np.zeros((1, 70000)), RATE)
    assert list(tmp_path.iterdir()) == []


def test_csv_has_no_format_limits():
    assert format_limits("CSV") is None
    check_format_limits("CSV", None, 5e9, 70000)


# ---------------------------------------------------------------- 7. no non-finite sample is written


def test_a_result_beyond_float32_is_refused_for_a_float_wav(cli, tmp_path):
    sf.write(tmp_path / "loud.wav", np.full(100, 3e38), RATE, subtype="FLOAT")
    sf.write(tmp_path / "ir.wav", np.array([1.0, 0.5]), RATE, subtype="FLOAT")
    out = tmp_path / "out.wav"
    result = cli("convolve", tmp_path / "loud.wav", tmp_path / "ir.wav", "-o", out)
    assert result.exit_code == OutputError.exit_code
    line = one_error_line(result.stderr)
    assert "overflowed float32" in line and "--subtype DOUBLE" in line and "4.5e+38" in line
    assert not out.exists()
    result = cli("convolve", tmp_path / "loud.wav", tmp_path / "ir.wav", "-o", out, "--subtype", "DOUBLE")
    assert result.exit_code == 0, result.stderr
    y, _ = sf.read(out)
    assert np.isfinite(y).all() and y.max() == pytest.approx(4.5e38)


@pytest.mark.parametrize("destination", ["out.wav", "out.aiff", "-"])
def test_a_csv_of_1e308_written_as_float_is_refused(cli, tmp_path, destination):
    (tmp_path / "huge.csv").write_text("time,x\n" + "".join(f"{i / RATE},1e308\n" for i in range(50)))
    sf.write(tmp_path / "ir.wav", np.array([1.0]), RATE, subtype="FLOAT")
    out = destination if destination == "-" else tmp_path / destination
    result = cli("convolve", tmp_path / "huge.csv", tmp_path / "ir.wav", "-o", out, "--subtype", "FLOAT")
    assert result.exit_code == OutputError.exit_code
    assert "overflowed float32 (peak 1e+308" in one_error_line(result.stderr)
    assert not (tmp_path / destination).exists()


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE", "PCM_16"])
def test_the_writer_refuses_non_finite_samples_whatever_the_subtype(tmp_path, bad, subtype):
    block = np.zeros((10, 2))
    block[7, 1] = bad
    with pytest.raises(OutputError, match="NaN or infinite samples"):
        write(tmp_path / "x.wav", Signal(block, RATE), subtype=subtype)
    assert list(tmp_path.iterdir()) == []


def test_the_overflow_is_caught_in_a_later_block_and_nothing_is_committed(tmp_path):
    path = tmp_path / "x.wav"
    with pytest.raises(OutputError, match="after frame 100"):
        with open_writer(str(path), RATE, 1, subtype="FLOAT") as writer:
            writer.write(np.ones((100, 1)))
            writer.write(np.full((5, 1), 2 * FLOAT32_MAX))
    assert not path.exists()


def test_integer_subtypes_still_clip_huge_finite_samples(tmp_path):
    with pytest.warns(UserWarning, match="clipped"):
        report = write(tmp_path / "x.wav", np.array([0.5, 1e300, -1e300]), RATE, subtype="PCM_16")
    assert report.clipped == 2
    y, _ = sf.read(tmp_path / "x.wav")
    assert y[1] == pytest.approx(1.0, abs=1e-4) and y[2] == -1.0
