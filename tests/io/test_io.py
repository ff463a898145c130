"""Signal I/O: formats, subtypes, CSV, pipes, clipping, atomic writes."""

from __future__ import annotations

import errno
import io
import os
import types
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf

import sigconv
from sigconv import Signal, read, write
from sigconv.errors import (
    ClippingWarning,
    InvalidSignalError,
    OutputError,
    SignalNotFoundError,
    UnreadableSignalError,
    UsageError,
)
from sigconv.io.csvio import format_csv, parse_csv
from sigconv.io.formats import output_format, output_subtype
from sigconv.io.wavpipe import repair_stream_sizes


@pytest.mark.parametrize(
    "name, fmt, subtype, channels, rate",
    [
        ("a.wav", "WAV", "PCM_16", 1, 48000),
        ("a.wav", "WAV", "PCM_24", 2, 44100),
        ("a.wav", "WAV", "FLOAT", 3, 8000),
        ("a.wav", "WAV", "DOUBLE", 2, 96000),
        ("a.flac", "FLAC", "PCM_24", 2, 48000),
        ("a.aiff", "AIFF", "PCM_16", 2, 22050),
        ("a.ogg", "OGG", "VORBIS", 2, 48000),
    ],
)
def test_read_keeps_rate_channels_subtype_and_samples(tmp_path, rng, name, fmt, subtype, channels, rate):
    data = 0.5 * rng.uniform(-1, 1, (4000, channels))
    sf.write(tmp_path / name, data, rate, subtype=subtype)
    sig = read(tmp_path / name)
    assert (sig.rate, sig.channels, sig.frames, sig.subtype, sig.format) == (rate, channels, 4000, subtype, fmt)
    assert sig.data.dtype == np.float64
    if subtype != "VORBIS":  # lossy
        expected, _ = sf.read(tmp_path / name, always_2d=True)
        np.testing.assert_array_equal(sig.data, expected)


@pytest.mark.parametrize("ext, fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("aiff", "AIFF"), ("csv", "CSV")])
def test_write_picks_format_from_extension(tmp_path, ext, fmt):
    t = np.arange(1000) / 16000
    data = 0.5 * np.column_stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)])
    report = write(tmp_path / f"out.{ext}", data, 16000)
    assert report.format == fmt
    back = read(tmp_path / f"out.{ext}")
    assert back.rate == 16000 and back.channels == 2 and back.frames == 1000
    tolerance = {"OGG": 0.1, "FLAC": 2**-22}.get(fmt, 1e-7)
    np.testing.assert_allclose(back.data, data, atol=tolerance)


def test_format_option_overrides_the_extension(tmp_path):
    write(tmp_path / "out.dat", np.zeros(10), 8000, format="flac")
    assert sf.info(str(tmp_path / "out.dat")).format == "FLAC"


def test_unknown_extension_without_format_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"cannot tell the output format .*--format"):
        write(tmp_path / "out.xyz", np.zeros(10), 8000)
    assert not os.listdir(tmp_path)


def test_output_subtype_rules():
    assert output_subtype("WAV", None, "PCM_24") == "PCM_24"  # kept
    assert output_subtype("FLAC", None, "FLOAT") == "PCM_24"  # FLAC holds no floats
    assert output_subtype("OGG", None, "PCM_16") == "VORBIS"
    assert output_subtype("WAV", "pcm_16", "FLOAT") == "PCM_16"  # explicit wins
    assert output_subtype("CSV", "PCM_16", None) is None
    with pytest.raises(UsageError, match="FLAC files cannot hold subtype 'FLOAT'"):
        output_subtype("FLAC", "FLOAT")
    assert output_format("-") == "WAV"
    with pytest.raises(UsageError, match="unknown output format 'mp9'"):
        output_format("x.wav", "mp9")


def test_signal_subtype_is_kept_on_write(tmp_path):
    sig = Signal(np.zeros((10, 1)), 8000, "PCM_24", "WAV")
    assert write(tmp_path / "o.wav", sig).subtype == "PCM_24"
    assert sf.info(str(tmp_path / "o.wav")).subtype == "PCM_24"


# --- clipping -------------------------------------------------------------------


def test_integer_subtypes_clip_instead_of_wrapping_and_say_so(tmp_path):
    data = np.array([0.5, 1.5, -2.0, 0.99, 1.0])
    with pytest.warns(ClippingWarning, match=r"2 samples exceeded full scale .*\+6\.02 dBFS.*--normalize peak"):
        report = write(tmp_path / "c.wav", data, 8000, subtype="PCM_16")
    assert report.clipped == 2 and report.peak == 2.0
    assert report.peak_dbfs == pytest.approx(6.0206, abs=1e-3)
    back = read(tmp_path / "c.wav").data[:, 0]
    assert back[1] > 0.999 and back[2] == -1.0  # clipped to full scale, sign kept
    np.testing.assert_allclose(back[[0, 3]], [0.5, 0.99], atol=1e-4)


def test_float_subtypes_keep_values_beyond_full_scale(tmp_path):
    data = np.array([0.5, 1.5, -2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = write(tmp_path / "f.wav", data, 8000, subtype="FLOAT")
    assert report.clipped == 0
    np.testing.assert_array_equal(read(tmp_path / "f.wav").data[:, 0], data)


# --- atomic writes and protection --------------------------------------------------


@pytest.mark.parametrize("name", ["keep.wav", "keep.flac"])  # sigconv's own WAV writer, and libsndfile's
def test_failed_write_leaves_the_existing_file_and_no_temporary(tmp_path, monkeypatch, name):
    target = tmp_path / name
    target.write_bytes(b"precious")

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sf.SoundFile, "write", explode)
    monkeypatch.setattr("sigconv.io.writers.encode_measuring", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write(target, np.zeros(10), 8000)
    assert target.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("name, step", [("out.wav", "_WavFileWriter._write_encoded"), ("out.csv", "format_csv")])
def test_a_refusal_of_the_system_is_an_output_error_with_its_cause(tmp_path, monkeypatch, name, step):
    full = OSError(errno.ENOSPC, "No space left on device")

    def disk_full(*args, **kwargs):
        raise full

    monkeypatch.setattr(f"sigconv.io.writers.{step}", disk_full)
    with pytest.raises(OutputError, match=rf"writing '.*{name}' failed: No space left on device") as excinfo:
        write(tmp_path / name, np.zeros(10), 8000)
    assert isinstance(excinfo.value, OSError) and excinfo.value.__cause__ is full
    assert os.listdir(tmp_path) == []


def test_a_failure_while_finishing_the_file_is_an_output_error(tmp_path, monkeypatch):
    def lost_device(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("sigconv.io.writers.finish_wav_file", lost_device)
    with pytest.raises(OutputError, match="Input/output error") as excinfo:
        write(tmp_path / "out.wav", np.zeros(10), 8000)
    assert excinfo.value.__cause__.errno == errno.EIO
    assert os.listdir(tmp_path) == []


def test_a_closed_stdout_stays_a_broken_pipe(monkeypatch):
    class ClosedAfterHeader:
        def __init__(self):
            self.writes = 0

        def write(self, data):
            self.writes += 1
            if self.writes > 1:
                raise BrokenPipeError(errno.EPIPE, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", types.SimpleNamespace(buffer=ClosedAfterHeader()))
    with pytest.raises(BrokenPipeError) as excinfo:
        write("-", np.zeros(10), 8000)
    assert not isinstance(excinfo.value, OutputError)  # the CLI exits 141 quietly for this one


def test_successful_write_replaces_the_file_atomically(tmp_path):
    target = tmp_path / "out.wav"
    target.write_bytes(b"old")
    write(target, np.ones(5) * 0.25, 8000)
    assert read(target).frames == 5
    assert os.listdir(tmp_path) == ["out.wav"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "os-replace"])
def test_replacing_an_output_keeps_its_name_whole_and_its_mode(tmp_path, monkeypatch, exchange):
    """Over an existing file the names are exchanged (or, without renameat2, renamed over it): either way the
    new file is in place, with the old file's permissions, a hard link to the old file still sees the old
    data (the old inode was not overwritten), and no temporary file is left."""
    from sigconv.io import atomic

    if not exchange:
        monkeypatch.setattr(atomic, "_renameat2", lambda: None)
    elif atomic._renameat2() is None:
        pytest.skip("no renameat2 here")
    target = tmp_path / "out.wav"
    write(target, np.zeros(7), 8000)
    os.chmod(target, 0o640)
    old = tmp_path / "old-link.wav"
    os.link(target, old)
    write(target, np.ones(5) * 0.25, 8000)
    assert read(target).frames == 5 and read(old).frames == 7
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["old-link.wav", "out.wav"]


def test_writing_over_an_input_is_refused(tmp_path):
    source = tmp_path / "in.wav"
    sf.write(source, np.zeros(10), 8000)
    before = source.read_bytes()
    link = tmp_path / "alias.wav"
    link.symlink_to(source)
    for dest in (source, link, tmp_path / "." / "in.wav"):
        with pytest.raises(OutputError, match="refusing to write over the input file"):
            write(dest, np.ones(10), 8000, protect=[str(source)])
    assert source.read_bytes() == before


def test_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write(tmp_path / "nope" / "out.wav", np.zeros(3), 8000)


def test_fractional_rate_cannot_go_to_audio_but_can_go_to_csv(tmp_path):
    with pytest.raises(UsageError, match="whole number of Hz"):
        write(tmp_path / "o.wav", np.zeros(3), 99.5)
    write(tmp_path / "o.csv", np.zeros(3), 99.5)
    assert read(tmp_path / "o.csv").rate == pytest.approx(99.5)


# --- reading errors ---------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(SignalNotFoundError, match="does not exist"):
        read(tmp_path / "ghost.wav")


def test_not_audio(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(UnreadableSignalError, match="cannot read .* as audio"):
        read(tmp_path / "x.wav")


def test_empty_file_and_zero_frames(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(InvalidSignalError, match="is empty"):
        read(tmp_path / "empty.wav")
    sf.write(tmp_path / "zero.wav", np.zeros((0, 1)), 8000)
    with pytest.raises(InvalidSignalError, match="no samples"):
        read(tmp_path / "zero.wav")


def test_nan_samples_in_a_float_file_are_rejected(tmp_path):
    sf.write(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.5]), 8000, subtype="FLOAT")
    with pytest.raises(InvalidSignalError, match="NaN or infinite"):
        read(tmp_path / "nan.wav")


# --- pipes --------------------------------------------------------------------------------


def _streamed_wav(data, rate, placeholder):
    """WAV bytes as a program writing to a pipe leaves them: sizes never filled in."""
    buf = io.BytesIO()
    sf.write(buf, data, rate, format="WAV", subtype="PCM_16")
    raw = bytearray(buf.getvalue())
    pos = raw.index(b"data")
    struct.pack_into("<I", raw, 4, placeholder)
    struct.pack_into("<I", raw, pos + 4, placeholder)
    return bytes(raw)


@pytest.mark.parametrize("placeholder", [0xFFFFFFFF, 0x7FFFF000, 0])
def test_wav_streams_with_unfinished_sizes_are_read(rng, placeholder):
    data = rng.uniform(-0.5, 0.5, (1234, 2))
    sig = read(_streamed_wav(data, 44100, placeholder))
    assert sig.frames == 1234 and sig.rate == 44100
    np.testing.assert_allclose(sig.data, data, atol=1 / 32768)


def test_repair_drops_a_partial_trailing_frame(rng):
    raw = _streamed_wav(rng.uniform(-0.5, 0.5, (10, 2)), 8000, 0xFFFFFFFF) + b"\x01"
    fixed = repair_stream_sizes(raw)
    assert struct.unpack_from("<I", fixed, fixed.index(b"data") + 4)[0] == 40


def test_read_from_stdin(monkeypatch, rng):
    data = rng.uniform(-0.5, 0.5, (100, 1))
    wav = _streamed_wav(data, 8000, 0xFFFFFFFF)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(wav)))
    assert read("-").frames == 100
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(InvalidSignalError, match="standard input is empty"):
        read("-")


def test_write_to_stdout_gives_a_readable_wav_stream(monkeypatch, rng):
    out = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(out))
    data = rng.uniform(-1, 1, (300, 2))
    write("-", data, 48000)
    back, rate = sf.read(io.BytesIO(out.getvalue()), always_2d=True)
    assert rate == 48000
    np.testing.assert_allclose(back, data, atol=1e-7)


# --- CSV -------------------------------------------------------------------------------------


def test_csv_time_column_gives_the_rate_and_is_removed():
    data, rate = parse_csv("t,x,y\n0.0,1,2\n0.001,3,4\n0.002,5,6\n")
    assert rate == 1000.0
    np.testing.assert_array_equal(data, [[1, 2], [3, 4], [5, 6]])


def test_csv_header_names_with_units_and_other_delimiters():
    data, rate = parse_csv("Time (s);a\n0;1\n0.5;2\n")
    assert rate == 2.0 and data.ravel().tolist() == [1.0, 2.0]
    data, rate = parse_csv("# comment\n1 2\n3 4\n", rate=10)
    assert data.shape == (2, 2) and rate == 10


def test_csv_without_time_column_needs_a_rate():
    with pytest.raises(UsageError, match="no time column.*--rate HZ"):
        parse_csv("x\n1\n2\n")
    data, rate = parse_csv("x\n1\n2\n", rate=50)
    assert rate == 50 and data.ravel().tolist() == [1.0, 2.0]


def test_csv_non_uniform_time_is_an_error_that_says_so():
    with pytest.raises(InvalidSignalError, match=r"not uniformly spaced \(row 3"):
        parse_csv("time,x\n0,1\n1,2\n3,3\n4,4\n")


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "no data rows"),
        ("time,x\n", "header but no data rows"),
        ("x,y\n1,2\n3\n", "line 3 has 1 columns, expected 2"),
        ("x\n1\nabc\n", "line 3 has a value that is not a number: 'abc'"),
        ("time\n0\n1\n", "time column but no signal column"),
        ("time,x\n1,1\n0,2\n", "does not increase"),
    ],
)
def test_malformed_csv(text, words):
    with pytest.raises(InvalidSignalError, match=words):
        parse_csv(text, rate=None if text.startswith("time") else 10)


def test_csv_rate_option_must_agree_with_time_column():
    with pytest.raises(UsageError, match="disagrees with the time column"):
        parse_csv("t,x\n0,1\n0.5,2\n", rate=10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csv_round_trips_exactly(tmp_path, rng, dtype):
    data = rng.standard_normal((500, 3)).astype(dtype) * 1e-3
    text = format_csv(data, 44100.0)
    assert text.splitlines()[0] == "time,ch1,ch2,ch3"
    back, rate = parse_csv(text)
    assert rate == 44100.0
    np.testing.assert_array_equal(back.astype(dtype), data)


def test_csv_stdin_is_sniffed_and_format_option_works():
    assert read(b"time,x\n0,1\n0.1,2\n").rate == 10.0
    assert read(b"1\n2\n", format="csv", rate=5).frames == 2


def test_library_exports():
    for name in ("read", "write", "convolve", "Signal", "SigconvError", "register_backend"):
        assert hasattr(sigconv, name)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_sigconvs_wav_writer_matches_libsndfile(tmp_path, rng, subtype):
    data = rng.uniform(-1.2, 1.2, (2000, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClippingWarning)
        write(tmp_path / "ours.wav", data, 44100, subtype=subtype)
        sf.write(tmp_path / "lib.wav", np.clip(data, -1, 1) if subtype.startswith("PCM") else data, 44100,
                 subtype=subtype)
    ours, rate = sf.read(tmp_path / "ours.wav", always_2d=True, dtype="float64")
    lib, _ = sf.read(tmp_path / "lib.wav", always_2d=True, dtype="float64")
    assert rate == 44100 and sf.info(str(tmp_path / "ours.wav")).subtype == subtype
    if subtype.startswith("PCM"):
        # sigconv rounds to nearest, libsndfile truncates: at most one LSB apart, and ours is the closer
        lsb = 2.0 ** (1 - int(subtype[4:]))
        np.testing.assert_allclose(ours, lib, rtol=0, atol=lsb * 1.0001)
        clipped = np.clip(data, -1, 1 - lsb)
        assert np.max(np.abs(ours - clipped)) <= 0.5 * lsb * 1.0001
        assert np.max(np.abs(ours - clipped)) <= np.max(np.abs(lib - clipped))
    else:
        np.testing.assert_array_equal(ours, lib)


def test_wav_files_past_4_gib_become_rf64(tmp_path):
    from sigconv.io.wavstream import finish_wav_file, streaming_header

    path = tmp_path / "huge.wav"
    header = streaming_header(2, 48000, "FLOAT", reserve_ds64=True)
    with open(path, "wb") as f:  # a sparse file: no 4 GiB written to disk
        f.write(header)
        f.seek(len(header) + 8 * 600_000_000)
        f.write(bytes(8))
        finish_wav_file(f, len(header), 8)
    info = sf.info(str(path))
    assert info.format == "RF64" and info.frames == 600_000_001
