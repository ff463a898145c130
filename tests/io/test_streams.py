"""Every format and stream a user brings (issue 16, goal 4): lossy inputs to WAV, FLAC/OGG/MP3 on standard
input, named pipes and process substitution, formats only ffmpeg reads, raw PCM, and WAV streams that sox
and ffmpeg read without a warning.

Oracles: ``scipy.signal.convolve`` on what python-soundfile decodes, numpy's own decoding of raw bytes,
ffmpeg's decoding of the same file, and sox and ffmpeg reading what sigconv writes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf
from scipy import signal as sps

from sigconv import read
from sigconv.errors import OutputError
from sigconv.io.formats import output_subtype
from sigconv.io.raw import RawFormat

RATE = 8000
DELAY = 40  # samples by which B lags A

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (Debian: ffmpeg)")
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed (Debian: sox)")
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


@pytest.fixture
def noise(rng):
    return 0.3 * rng.standard_normal(4000)


@pytest.fixture
def ir(rng):
    return 0.5 * np.exp(-np.arange(64) / 10.0) * rng.standard_normal(64)


def _encoded(data, fmt, subtype=None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, RATE, format=fmt, subtype=subtype)
    return buf.getvalue()


def _decoded(raw: bytes) -> np.ndarray:
    return sf.read(io.BytesIO(raw), always_2d=True)[0]


# ---------------------------------------------------------------- lossy input, WAV output


def test_a_lossy_codec_stays_in_its_own_container_and_becomes_float_elsewhere():
    assert output_subtype("WAV", source="MPEG_LAYER_III") == "FLOAT"
    assert output_subtype("AIFF", source="VORBIS") == "FLOAT"
    assert output_subtype("FLAC", source="OPUS") == "PCM_24"
    assert output_subtype("MP3", source="MPEG_LAYER_III") == "MPEG_LAYER_III"
    assert output_subtype("OGG", source="VORBIS") == "VORBIS"
    assert output_subtype("WAV", source="PCM_16") == "PCM_16"


def test_mp3_in_wav_out_keeps_the_decoded_samples_as_float(cli, tmp_path, noise, ir):
    (tmp_path / "x.mp3").write_bytes(_encoded(noise, "MP3"))
    sf.write(tmp_path / "ir.wav", ir, RATE, subtype="DOUBLE")
    result = cli("convolve", tmp_path / "x.mp3", tmp_path / "ir.wav", "-o", tmp_path / "y.wav", "-q")
    assert result.exit_code == 0, result.stderr
    assert sf.info(tmp_path / "y.wav").subtype == "FLOAT"
    expected = sps.convolve(sf.read(tmp_path / "x.mp3", always_2d=True)[0], ir[:, None])
    np.testing.assert_allclose(sf.read(tmp_path / "y.wav", always_2d=True)[0], expected, atol=1e-6)


# ---------------------------------------------------------------- FLAC, OGG, MP3 on standard input


@pytest.mark.parametrize("fmt", ["FLAC", "OGG", "MP3"])
def test_compressed_standard_input_is_convolved_as_its_file_would_be(cli, tmp_path, noise, ir, fmt):
    encoded = _encoded(noise, fmt)
    sf.write(tmp_path / "ir.wav", ir, RATE, subtype="DOUBLE")
    result = cli("convolve", "-", tmp_path / "ir.wav", "-o", tmp_path / "y.wav", "--subtype", "DOUBLE", "-q",
                 input=encoded)
    assert result.exit_code == 0, result.stderr
    expected = sps.convolve(_decoded(encoded), ir[:, None])
    np.testing.assert_allclose(sf.read(tmp_path / "y.wav", always_2d=True)[0], expected, atol=1e-6)


@pytest.mark.parametrize("fmt", ["OGG", "MP3"])
def test_compressed_standard_input_is_correlated_and_deconvolved(cli, tmp_path, noise, ir, fmt):
    # the codec's own delay is the same in A and B, so the delay between them survives
    delayed = np.concatenate([np.zeros(DELAY), noise])[: noise.size]
    (tmp_path / f"b.{fmt.lower()}").write_bytes(_encoded(delayed, fmt))
    result = cli("correlate", "-", tmp_path / f"b.{fmt.lower()}", "--json", input=_encoded(noise, fmt))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pairs"][0]["delay_samples"] == pytest.approx(DELAY, abs=0.5)
    sf.write(tmp_path / "ir.wav", ir, RATE, subtype="DOUBLE")
    result = cli("deconvolve", "-", tmp_path / "ir.wav", "-o", tmp_path / "x.wav", "-q",
                 input=_encoded(noise, fmt))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("fmt", ["FLAC", "OGG", "MP3"])
def test_compressed_standard_input_is_analysed_by_impulse_info(cli, ir, fmt):
    result = cli("impulse", "info", "-", "--json", input=_encoded(ir, fmt))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rate"] == RATE


# ---------------------------------------------------------------- named pipes (<(command), mkfifo)


class _Fifo:
    """A named pipe at ``path`` fed ``data`` by a thread, as a shell's ``<(command)`` is."""

    def __init__(self, path, data: bytes):
        self.path = str(path)
        os.mkfifo(self.path)
        self._thread = threading.Thread(target=self._feed, args=(data,), daemon=True)
        self._thread.start()

    def _feed(self, data):
        try:
            with open(self.path, "wb") as f:
                f.write(data)
        except BrokenPipeError:
            pass

    def finish(self):
        """Unblock the writer if sigconv never opened the pipe (a failed test must not hang)."""
        if self._thread.is_alive():
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self._thread.join(5)
            os.close(fd)


@pytest.fixture
def fifo(tmp_path):
    made = []

    def _make(name, data):
        made.append(_Fifo(tmp_path / name, data))
        return made[-1].path

    yield _make
    for f in made:
        f.finish()


def _wav(data, subtype="DOUBLE") -> bytes:
    return _encoded(data, "WAV", subtype)


def test_convolve_reads_input_and_ir_from_named_pipes(cli, tmp_path, fifo, noise, ir):
    result = cli("convolve", fifo("x", _wav(noise)), fifo("ir", _wav(ir)), "-o", tmp_path / "y.wav", "-q")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(sf.read(tmp_path / "y.wav", always_2d=True)[0], sps.convolve(noise, ir)[:, None],
                               atol=1e-6)


def test_deconvolve_reads_signal_kernel_and_noise_from_named_pipes(cli, tmp_path, fifo, noise, ir, rng):
    y = sps.convolve(noise, ir)
    quiet = 1e-4 * rng.standard_normal(2000)
    result = cli("deconvolve", fifo("y", _wav(y)), fifo("h", _wav(ir)), "--noise", fifo("n", _wav(quiet)),
                 "-o", tmp_path / "x.wav", "-q")
    assert result.exit_code == 0, result.stderr
    assert sf.info(tmp_path / "x.wav").frames > 0


def test_correlate_reads_two_named_pipes_at_once(cli, fifo, noise):
    delayed = np.concatenate([np.zeros(DELAY), noise])[: noise.size]
    result = cli("correlate", fifo("a", _wav(noise)), fifo("b", _wav(delayed)), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pairs"][0]["delay_samples"] == pytest.approx(DELAY, abs=0.01)


def test_impulse_info_and_measure_read_named_pipes(cli, tmp_path, fifo, ir):
    result = cli("impulse", "info", fifo("ir", _wav(ir)), "--json")
    assert result.exit_code == 0, result.stderr
    sweep = tmp_path / "sweep.wav"
    made = cli("impulse", "sweep", "-o", sweep, "--rate", RATE, "--duration", "0.5", "--f1", "3000", "-q")
    assert made.exit_code == 0, made.stderr
    recording = _wav(sps.convolve(np.concatenate([sf.read(sweep)[0], np.zeros(2000)]), ir))
    (tmp_path / "rec.wav").write_bytes(recording)
    # the oracle: the same measurement from regular files
    assert cli("impulse", "measure", tmp_path / "rec.wav", sweep, "-o", tmp_path / "h.wav", "-q").exit_code == 0
    result = cli("impulse", "measure", fifo("rec", recording), fifo("sweep", sweep.read_bytes()),
                 "-o", tmp_path / "h_fifo.wav", "-q")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(sf.read(tmp_path / "h_fifo.wav")[0], sf.read(tmp_path / "h.wav")[0])


# ---------------------------------------------------------------- raw PCM


@pytest.mark.parametrize("subtype,dtype,scale", [("PCM_16", "<i2", 2**15), ("PCM_32", "<i4", 2**31),
                                                 ("FLOAT", "<f4", 1), ("DOUBLE", "<f8", 1), ("PCM_16", ">i2", 2**15)])
def test_raw_pcm_decodes_as_numpy_reads_the_bytes(rng, subtype, dtype, scale):
    ints = rng.integers(-(2**15), 2**15, size=(300, 2)) if scale != 1 else rng.standard_normal((300, 2))
    samples = np.asarray(ints, dtype=dtype)
    endian = "big" if dtype.startswith(">") else "little"
    sig = read(samples.tobytes(), format=RawFormat(RATE, channels=2, subtype=subtype, endian=endian))
    np.testing.assert_array_equal(sig.data, samples.astype(np.float64) / scale)
    assert (sig.rate, sig.channels, sig.subtype) == (RATE, 2, subtype)


def _raw_cli(*extra):
    return ("--input-format", "raw", "--rate", RATE, "--input-channels", "2", "--input-subtype", "PCM_16", *extra)


def test_raw_pcm_from_a_file_and_from_standard_input_is_convolved(cli, tmp_path, rng, ir):
    pcm = rng.integers(-8000, 8000, size=(70000, 2)).astype("<i2")  # more than one 65536-frame block
    (tmp_path / "x.raw").write_bytes(pcm.tobytes())
    sf.write(tmp_path / "ir.wav", ir, RATE, subtype="DOUBLE")  # a .wav beside raw input is read as WAV
    expected = sps.convolve(pcm / 32768.0, ir[:, None])
    for source, stdin in ((tmp_path / "x.raw", None), ("-", pcm.tobytes())):
        result = cli("convolve", source, tmp_path / "ir.wav", "-o", tmp_path / "y.wav", "--subtype", "DOUBLE", "-q",
                     *_raw_cli(), input=stdin)
        assert result.exit_code == 0, result.stderr
        np.testing.assert_allclose(sf.read(tmp_path / "y.wav")[0], expected, atol=1e-9)


def test_raw_pcm_options_are_checked(cli, tmp_path):
    (tmp_path / "x.raw").write_bytes(bytes(10))
    (tmp_path / "ir.wav").write_bytes(_wav(np.ones(3)))
    args = ("convolve", tmp_path / "x.raw", tmp_path / "ir.wav", "-o", tmp_path / "y.wav")
    result = cli(*args, "--input-format", "raw", "--rate", RATE)
    assert result.exit_code == 2 and "--input-subtype" in result.stderr
    result = cli(*args, "--input-channels", "2")
    assert result.exit_code == 2 and "--input-format raw" in result.stderr
    result = cli(*args, "--input-format", "raw", "--rate", RATE, "--input-channels", "3", "--input-subtype", "PCM_16")
    assert result.exit_code == 3 and "10 bytes" in result.stderr and "6 bytes each" in result.stderr
    assert not (tmp_path / "y.wav").exists()


# ---------------------------------------------------------------- what only ffmpeg decodes


@needs_ffmpeg
def test_m4a_is_decoded_by_ffmpeg_as_ffmpeg_decodes_it(tmp_path, noise):
    sf.write(tmp_path / "x.wav", noise, RATE, subtype="FLOAT")
    subprocess.run(["ffmpeg", "-v", "error", "-i", tmp_path / "x.wav", "-c:a", "aac", tmp_path / "x.m4a"], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-i", tmp_path / "x.m4a", "-c:a", "pcm_f32le", tmp_path / "ref.wav"],
                   check=True)
    reference = sf.read(tmp_path / "ref.wav", always_2d=True)[0]
    from sigconv.io.stream import open_reader, read_all

    reader = open_reader(str(tmp_path / "x.m4a"))  # streamed, as the commands read it
    try:
        assert (reader.rate, reader.channels, reader.subtype) == (RATE, 1, "FLOAT")
        decoded = read_all(reader)
    finally:
        reader.close()
    np.testing.assert_array_equal(decoded, reference)
    # and it is the signal: AAC keeps most of the noise's waveform
    n = min(noise.size, decoded.shape[0])
    assert np.corrcoef(decoded[:n, 0], noise[:n])[0, 1] > 0.9
    # from a pipe (bytes), through a temporary file: the same samples
    np.testing.assert_array_equal(read((tmp_path / "x.m4a").read_bytes()).data, reference)


def test_a_format_libsndfile_refuses_names_ffmpeg_as_the_remedy(cli, tmp_path, monkeypatch, ir):
    (tmp_path / "x.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(200))
    (tmp_path / "ir.wav").write_bytes(_wav(ir))
    monkeypatch.setenv("SIGCONV_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    result = cli("convolve", tmp_path / "x.m4a", tmp_path / "ir.wav", "-o", tmp_path / "y.wav")
    assert result.exit_code == 3 and "SIGCONV_FFMPEG" in result.stderr and "Traceback" not in result.stderr
    monkeypatch.delenv("SIGCONV_FFMPEG")
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("impulse", "info", tmp_path / "x.m4a")
    assert result.exit_code == 3 and "install ffmpeg" in result.stderr


@needs_ffmpeg
def test_what_ffmpeg_cannot_decode_either_is_an_input_error(cli, tmp_path, ir):
    (tmp_path / "x.bin").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "ir.wav").write_bytes(_wav(ir))
    result = cli("convolve", tmp_path / "x.bin", tmp_path / "ir.wav", "-o", tmp_path / "y.wav")
    assert result.exit_code == 3 and "ffmpeg could not decode" in result.stderr and "x.bin" in result.stderr


# ---------------------------------------------------------------- WAV streams with true sizes


def _data_size(wav: bytes) -> int:
    return struct.unpack_from("<I", wav, wav.index(b"data") + 4)[0]


def test_a_wav_stream_states_its_true_size_when_it_is_known(cli, tmp_path, rng, ir):
    long = 0.1 * rng.standard_normal(70000)  # more than one block: the length is promised by the job
    sf.write(tmp_path / "x.wav", long, RATE, subtype="DOUBLE")
    sf.write(tmp_path / "ir.wav", ir, RATE, subtype="DOUBLE")
    out = cli("convolve", tmp_path / "x.wav", tmp_path / "ir.wav", "-o", "-", "-q").stdout_bytes
    data_at = out.index(b"data") + 8
    assert _data_size(out) == len(out) - data_at == 4 * (long.size + ir.size - 1)
    assert struct.unpack_from("<I", out, 4)[0] == len(out) - 8
    np.testing.assert_allclose(_decoded(out)[:, 0], sps.convolve(long, ir), atol=1e-6)


def test_a_stream_of_unknown_length_in_several_blocks_leaves_its_sizes_unknown():
    from sigconv.io.writers import _WavPipeWriter

    stream = io.BytesIO()
    writer = _WavPipeWriter(stream, "-", "FLOAT", RATE, 1)
    writer.write(np.full((4, 1), 0.25))
    writer.write(np.full((3, 1), -0.5))
    writer.close()
    out = stream.getvalue()
    assert _data_size(out) == 0xFFFFFFFF == struct.unpack_from("<I", out, 4)[0]
    assert np.frombuffer(out[out.index(b"data") + 8 :], "<f4").tolist() == [0.25] * 4 + [-0.5] * 3


def test_a_signal_written_in_one_block_states_its_size_and_pads_an_odd_one():
    from sigconv.io.writers import _WavPipeWriter

    stream = io.BytesIO()
    writer = _WavPipeWriter(stream, "-", "PCM_U8", RATE, 1)
    writer.write(np.full((5, 1), 0.5))
    writer.close()
    out = stream.getvalue()
    assert _data_size(out) == 5 and len(out) % 2 == 0 and struct.unpack_from("<I", out, 4)[0] == len(out) - 8
    np.testing.assert_allclose(_decoded(out)[:, 0], np.full(5, 0.5), atol=1 / 128)


def test_a_promised_length_is_kept():
    from sigconv.io.writers import _WavPipeWriter

    writer = _WavPipeWriter(io.BytesIO(), "-", "FLOAT", RATE, 1, frames=10)
    writer.write(np.zeros((6, 1)))
    with pytest.raises(OutputError, match="more than the 10 frames"):
        writer.write(np.zeros((6, 1)))
    writer.write(np.zeros((3, 1)))
    with pytest.raises(OutputError, match="9 frames came of the 10"):
        writer.close()


# ---------------------------------------------------------------- real pipelines with ffmpeg, sox and bash


@needs_ffmpeg
@needs_sox
@needs_bash
def test_real_pipelines_through_ffmpeg_sigconv_and_sox(tmp_path, rng, ir):
    x = 0.1 * rng.standard_normal((6000, 2))
    sf.write(tmp_path / "x.wav", x, RATE, subtype="FLOAT")
    sf.write(tmp_path / "a.wav", x[:, 0], RATE, subtype="FLOAT")
    sf.write(tmp_path / "b.wav", np.concatenate([np.zeros(DELAY), x[:, 0]])[: x.shape[0]], RATE, subtype="FLOAT")
    sf.write(tmp_path / "ir.wav", ir, RATE, subtype="DOUBLE")
    sigconv = f"{sys.executable} -m sigconv"
    ffmpeg = "ffmpeg -nostdin -hide_banner -loglevel warning -i"
    script = f"""
        set -e -o pipefail
        {ffmpeg} x.wav -f flac - | {sigconv} convolve - ir.wav -o - -q | tee y.stream | sox -t wav - y.wav 2> sox.txt
        {ffmpeg} - -f f32le - < y.stream > y.f32 2> ffmpeg.txt
        {sigconv} correlate <({ffmpeg} a.wav -f wav -) <({ffmpeg} b.wav -f wav -) --json > delays.json
        {ffmpeg} x.wav -f s16le - | tee x.s16 | {sigconv} convolve /dev/stdin ir.wav -o raw.wav -q \\
            --input-format raw --rate {RATE} --input-channels 2 --input-subtype PCM_16 --subtype DOUBLE
    """
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    # neither sox nor ffmpeg complains of the stream sigconv wrote ("Premature EOF", "Packet corrupt")
    assert (tmp_path / "sox.txt").read_text() == ""
    said = (tmp_path / "ffmpeg.txt").read_text().splitlines()
    assert [line for line in said if "Guessed Channel Layout" not in line] == []
    expected = sps.convolve(x, ir[:, None])
    np.testing.assert_allclose(sf.read(tmp_path / "y.wav")[0], expected, atol=1e-4)  # FLAC's 16 bits
    assert np.fromfile(tmp_path / "y.f32", "<f4").size == expected.size
    delays = [pair["delay_samples"] for pair in json.loads((tmp_path / "delays.json").read_text())["pairs"]]
    assert delays == pytest.approx([DELAY], abs=0.01)
    pcm = np.fromfile(tmp_path / "x.s16", "<i2").reshape(-1, 2) / 32768.0
    np.testing.assert_allclose(sf.read(tmp_path / "raw.wav")[0], sps.convolve(pcm, ir[:, None]), atol=1e-9)
