"""Errors in sigconv's threads: reader, writer, channel lanes, and a whole file run that uses them all.

Each test checks that the error reaches the caller with its own type and
that no ``sigconv-*`` thread it started is left running afterwards.
"""

from __future__ import annotations

import errno
import os
import threading
import time

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import sigconv
from sigconv.compute.context import ExecutionContext
from sigconv.compute.engine import ChannelLanes, OverlapSave
from sigconv.compute.routing import routes_for
from sigconv.errors import OutputError, UsageError
from sigconv.io import stream, writers
from sigconv.io.background import BackgroundWriter, prefetch


class SourceFailure(ValueError):
    pass


class WriterFailure(OSError):
    pass


class LaneFailure(RuntimeError):
    pass


@pytest.fixture
def new_sigconv_threads():
    """A function listing the names of ``sigconv-*`` threads alive now that were not before the test."""
    before = set(threading.enumerate())

    def alive() -> list[str]:
        return sorted(t.name for t in threading.enumerate()
                      if t not in before and t.name.startswith("sigconv-"))

    return alive


# --- prefetch ---------------------------------------------------------------------------------


def test_prefetch_yields_every_item_in_order(new_sigconv_threads):
    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))
    assert new_sigconv_threads() == []


def test_prefetch_raises_the_sources_error_itself_after_the_items_before_it(new_sigconv_threads):
    raised = []

    def source():
        yield 1
        yield 2
        raised.append(SourceFailure("bad block 3"))
        raise raised[0]

    received = []
    with pytest.raises(SourceFailure, match="bad block 3") as excinfo:
        for item in prefetch(source()):
            received.append(item)
    assert received == [1, 2]
    assert excinfo.value is raised[0]
    assert new_sigconv_threads() == []


def test_prefetch_reader_is_running_while_consumed_and_gone_after_a_break(new_sigconv_threads):
    closed = threading.Event()

    def source():
        try:
            yield from range(1000)
        finally:
            closed.set()

    for item in prefetch(source(), depth=2):
        assert new_sigconv_threads() == ["sigconv-reader"]
        if item == 3:
            break
    assert new_sigconv_threads() == []
    assert closed.is_set()  # the source was closed too, so its own clean-up ran


def test_prefetch_close_stops_a_reader_waiting_to_hand_over_the_end(new_sigconv_threads):
    # the source is exhausted while the queue is full: the reader waits to
    # put the end marker for a consumer that will never take it
    exhausted = threading.Event()

    def source():
        yield from range(3)
        exhausted.set()

    items = prefetch(source(), depth=2)
    assert next(items) == 0
    assert exhausted.wait(5)
    started = time.perf_counter()
    items.close()
    assert time.perf_counter() - started < 2
    assert new_sigconv_threads() == []


def test_prefetch_consumer_error_stops_the_reader(new_sigconv_threads):
    with pytest.raises(KeyError):
        for item in prefetch(iter(range(1000)), depth=2):
            if item == 5:
                raise KeyError("the consumer's own error")
    assert new_sigconv_threads() == []


def test_prefetch_never_iterated_starts_no_thread(new_sigconv_threads):
    items = prefetch(iter(range(10)))
    assert new_sigconv_threads() == []
    items.close()


# --- BackgroundWriter -------------------------------------------------------------------------


class _Writer:
    """Records blocks; raises ``error`` at call ``fail_at`` (1-based); waits for ``gate`` first when given."""

    def __init__(self, fail_at=None, gate=None):
        self.written, self.calls = [], 0
        self.fail_at, self.gate = fail_at, gate
        self.error = WriterFailure(errno.ENOSPC, "No space left on device")

    def write(self, block):
        self.calls += 1
        if self.gate is not None:
            assert self.gate.wait(5)
        if self.calls == self.fail_at:
            raise self.error
        self.written.append(block)


def test_background_writer_writes_every_block_in_order(new_sigconv_threads):
    writer = _Writer()
    background = BackgroundWriter(writer, depth=2)
    assert new_sigconv_threads() == ["sigconv-writer"]
    for k in range(20):
        background.write(k)
    background.close()
    assert writer.written == list(range(20))
    assert new_sigconv_threads() == []


def test_background_writer_error_surfaces_at_the_next_write(new_sigconv_threads):
    writer = _Writer(fail_at=2)
    background = BackgroundWriter(writer)
    background.write(0)
    background.write(1)
    error = None
    for k in range(2, 500):  # the thread reports the failure soon after it happens
        try:
            background.write(k)
        except WriterFailure as exc:
            error = exc
            break
        time.sleep(0.01)
    assert error is writer.error
    background.close()  # reported once: close does not raise it again
    assert writer.written == [0]  # nothing after the failed block is written
    assert new_sigconv_threads() == []


def test_background_writer_error_surfaces_at_close(new_sigconv_threads):
    writer = _Writer(fail_at=1)
    background = BackgroundWriter(writer)
    background.write(0)
    with pytest.raises(WriterFailure) as excinfo:
        background.close()
    assert excinfo.value is writer.error and excinfo.value.errno == errno.ENOSPC
    background.close()  # a second close is harmless
    assert new_sigconv_threads() == []
    with pytest.raises(UsageError, match="closed"):
        background.write(1)


def test_background_writer_leaving_with_on_an_error_drops_the_queue_and_ends(new_sigconv_threads):
    gate = threading.Event()
    writer = _Writer(gate=gate)
    opener = threading.Timer(0.2, gate.set)  # lets the first write finish while the caller aborts
    with pytest.raises(KeyError, match="the caller's own"):
        with BackgroundWriter(writer, depth=2) as background:
            for k in range(3):  # one in the writer, two queued
                background.write(k)
            opener.start()
            raise KeyError("the caller's own error")
    opener.join()
    assert writer.written == [0]
    assert new_sigconv_threads() == []


def test_background_writer_abort_after_a_writer_error_raises_nothing(new_sigconv_threads):
    writer = _Writer(fail_at=1)
    background = BackgroundWriter(writer)
    background.write(0)
    background.abort()
    background.close()
    assert new_sigconv_threads() == []


# --- ChannelLanes -----------------------------------------------------------------------------


def _pools(names) -> set[str]:
    """``sigconv-lane0_0`` -> ``sigconv-lane0``: the thread pools that the named threads belong to."""
    return {name.rsplit("_", 1)[0] for name in names}


def _lanes(rng, taps=1000):
    h = rng.standard_normal((taps, 2))
    routes, out_channels = routes_for(2, 2)
    return h, ChannelLanes(h, routes, 2, out_channels, partition=512, fft_size=1024, workers=2)


def _failing_hop(raised):
    def boom(out=None):
        raised.append(LaneFailure("lane 1 failed"))
        raise raised[-1]

    return boom


def test_channel_lanes_run_in_their_threads_and_match_scipy(rng, new_sigconv_threads):
    h, engine = _lanes(rng)
    x = rng.standard_normal((5000, 2))
    with engine:
        y = np.concatenate([engine.push(x[:2048]), engine.push(x[2048:]), engine.finish()])
        assert _pools(new_sigconv_threads()) == {"sigconv-lane0", "sigconv-lane1"}
    expected = np.stack([scipy.signal.convolve(x[:, c], h[:, c], method="direct") for c in range(2)], axis=1)
    np.testing.assert_allclose(y, expected, atol=1e-9)
    assert new_sigconv_threads() == []


def test_channel_lanes_error_in_a_lane_is_raised_by_push(rng, new_sigconv_threads):
    _, engine = _lanes(rng)
    raised = []
    engine.lanes[1]._process_hop = _failing_hop(raised)
    block = rng.standard_normal((2048, 2))
    with pytest.raises(LaneFailure, match="lane 1 failed") as excinfo:
        for _ in range(3):  # push returns the work of the push before, so the second one collects the error
            engine.push(block)
    assert excinfo.value is raised[0]
    engine.close()
    assert new_sigconv_threads() == []
    with pytest.raises(UsageError, match="closed"):
        engine.push(block)


def test_channel_lanes_error_in_a_lane_is_raised_by_finish_and_with_ends_threads(rng, new_sigconv_threads):
    _, engine = _lanes(rng)
    raised = []
    with pytest.raises(LaneFailure) as excinfo:
        with engine:
            engine.push(rng.standard_normal((100, 2)))  # less than a hop: no lane work yet
            engine.lanes[0]._process_hop = _failing_hop(raised)
            engine.finish()
    assert excinfo.value is raised[0]
    assert new_sigconv_threads() == []


# --- a whole file run -------------------------------------------------------------------------

RATE = 48000


@pytest.fixture
def long_job(tmp_path, rng):
    """5 s of stereo and a 3 s stereo IR: long transforms, so a run uses reader, writer and lane threads."""
    x = tmp_path / "x.wav"
    h = tmp_path / "h.wav"
    sf.write(x, 0.1 * rng.standard_normal((5 * RATE, 2)), RATE, subtype="FLOAT")
    decay = np.exp(-np.arange(3 * RATE) / (0.4 * RATE))[:, None]
    sf.write(h, 0.01 * rng.standard_normal((3 * RATE, 2)) * decay, RATE, subtype="FLOAT")
    return str(x), str(h), tmp_path


# the cost model picks 2^17-point transforms for this job, below the
# threaded-I/O threshold; a longer partition gives 2^18
_LONG_TRANSFORMS = {"block": 1 << 17, "context": ExecutionContext(threads=2)}


@pytest.fixture
def thread_log(monkeypatch):
    """Names of the threads that read, transform and write, recorded while a run goes."""
    log = {"read": set(), "hop": set(), "write": set()}
    raw_blocks = stream._SoundFileReader._raw_blocks
    process_hop = OverlapSave._process_hop

    def logged_blocks(self, size):
        for block in raw_blocks(self, size):
            log["read"].add(threading.current_thread().name)
            yield block

    def logged_hop(self, out=None):
        log["hop"].add(threading.current_thread().name)
        return process_hop(self, out)

    monkeypatch.setattr(stream._SoundFileReader, "_raw_blocks", logged_blocks)
    monkeypatch.setattr(OverlapSave, "_process_hop", logged_hop)
    return log


def _fail_writes_after(monkeypatch, log, good_writes):
    """Make the WAV file writer raise ENOSPC after ``good_writes`` blocks; returns the errors it raised."""
    raised = []
    original = writers._WavFileWriter._write_encoded

    def write(self, data, frames):
        log["write"].add(threading.current_thread().name)
        if len(log.setdefault("blocks", [])) >= good_writes:
            raised.append(OSError(errno.ENOSPC, "No space left on device"))
            raise raised[-1]
        log["blocks"].append(frames)
        original(self, data, frames)

    monkeypatch.setattr(writers._WavFileWriter, "_write_encoded", write)
    return raised


def _threads_used(log) -> bool:
    return (log["read"] == {"sigconv-reader"} and log["write"] == {"sigconv-writer"}
            and _pools(log["hop"]) == {"sigconv-lane0", "sigconv-lane1"})


def test_convolve_file_write_failure_mid_stream(long_job, thread_log, monkeypatch, new_sigconv_threads):
    x, h, folder = long_job
    raised = _fail_writes_after(monkeypatch, thread_log, good_writes=1)
    output = folder / "y.wav"
    error = None
    try:
        sigconv.convolve_file(x, h, str(output), **_LONG_TRANSFORMS)
    except OSError as exc:
        error = exc  # held, as a caller that logs it would: the threads must be gone all the same
    assert _threads_used(thread_log), thread_log
    assert isinstance(error, OutputError) and error.__cause__ is raised[0]
    assert "No space left on device" in str(error) and "y.wav" in str(error)
    assert new_sigconv_threads() == []
    assert sorted(os.listdir(folder)) == ["h.wav", "x.wav"]  # neither the output nor its temporary file


def test_convolve_file_write_failure_leaves_an_existing_output_as_it_was(long_job, thread_log, monkeypatch,
                                                                         new_sigconv_threads):
    x, h, folder = long_job
    output = folder / "y.wav"
    sf.write(output, np.zeros(10), RATE)
    before = output.read_bytes()
    _fail_writes_after(monkeypatch, thread_log, good_writes=0)
    with pytest.raises(OutputError):
        sigconv.convolve_file(x, h, str(output), **_LONG_TRANSFORMS)
    assert output.read_bytes() == before
    assert sorted(os.listdir(folder)) == ["h.wav", "x.wav", "y.wav"]
    assert new_sigconv_threads() == []


def test_convolve_file_lane_failure_mid_stream(long_job, thread_log, monkeypatch, new_sigconv_threads):
    x, h, folder = long_job
    logged_hop = OverlapSave._process_hop
    raised = []

    def hop(self, out=None):
        if len(thread_log["hop_calls"]) >= 3:
            raised.append(LaneFailure("a lane failed"))
            raise raised[-1]
        thread_log["hop_calls"].append(1)
        return logged_hop(self, out)

    thread_log["hop_calls"] = []
    monkeypatch.setattr(OverlapSave, "_process_hop", hop)
    with pytest.raises(LaneFailure) as excinfo:
        sigconv.convolve_file(x, h, str(folder / "y.wav"), **_LONG_TRANSFORMS)
    assert any(excinfo.value is error for error in raised)  # both lanes fail; either may be collected first
    assert thread_log["read"] == {"sigconv-reader"}
    assert new_sigconv_threads() == []
    assert sorted(os.listdir(folder)) == ["h.wav", "x.wav"]


def test_cli_convolve_write_failure_is_an_output_error(cli, long_job, thread_log, monkeypatch,
                                                       new_sigconv_threads):
    x, h, folder = long_job
    _fail_writes_after(monkeypatch, thread_log, good_writes=1)
    result = cli("convolve", x, h, "-o", folder / "y.wav", "--block", 1 << 17, "--quiet")
    assert result.exit_code == 6, result.stderr
    assert result.stderr.startswith("Error: writing") and "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert thread_log["write"] == {"sigconv-writer"}
    assert new_sigconv_threads() == []
    assert sorted(os.listdir(folder)) == ["h.wav", "x.wav"]
