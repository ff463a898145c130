"""The bounds of sigconv.limits: each refuses past its limit with the figure, and passes within it."""

from __future__ import annotations

import math

import pytest

from sigconv import limits
from sigconv.errors import InvalidSignalError, UsageError


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "x"])
def test_check_finite_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(UsageError, match="--opt must be a"):
        limits.check_finite(value, "--opt")


def test_gains_have_a_bound_both_ways():
    assert limits.check_gain_db(-limits.MAX_GAIN_DB) == -limits.MAX_GAIN_DB
    assert limits.check_linear_gain(-limits.MAX_LINEAR_GAIN, "--wet") == -limits.MAX_LINEAR_GAIN
    with pytest.raises(UsageError, match=r"--gain 1e\+06 dB is beyond"):
        limits.check_gain_db(1e6)
    with pytest.raises(UsageError, match=r"--dry -1e\+11 is beyond"):
        limits.check_linear_gain(-1e11, "--dry")
    # the largest gain keeps a full-scale float64 sample far from overflow
    assert math.isfinite(10 ** (limits.MAX_GAIN_DB / 20) * limits.MAX_LINEAR_GAIN ** 2)


def test_frames_pass_up_to_the_limit_and_are_refused_past_it():
    assert limits.check_frames(limits.MAX_FRAMES, "it", "fix it") == limits.MAX_FRAMES
    with pytest.raises(UsageError) as caught:
        limits.check_frames(limits.MAX_FRAMES + 1, "the output", "give a shorter --length", 48000)
    message = str(caught.value)
    assert "2.15e+09 frames" in message and "17.2 GB per channel" in message and "12.4 h at 48000 Hz" in message
    assert message.endswith("give a shorter --length")
    with pytest.raises(UsageError, match="no finite length"):
        limits.check_frames(math.nan, "the output", "fix it")


def test_channels_and_iterations():
    assert limits.check_channels(limits.MAX_CHANNELS) == limits.MAX_CHANNELS
    assert limits.check_iterations(limits.MAX_ITERATIONS) == limits.MAX_ITERATIONS
    for bad in (0, limits.MAX_CHANNELS + 1):
        with pytest.raises(UsageError, match="--channels must be 1 to 1024"):
            limits.check_channels(bad)
    with pytest.raises(UsageError, match="--iterations must be 1 to 10000, not 1000000"):
        limits.check_iterations(10**6)


def test_block_bounds_and_the_partition_rule():
    assert limits.check_block(None, 10**9) is None
    assert limits.check_block(limits.MIN_BLOCK, limits.MIN_BLOCK * limits.MAX_PARTITIONS) == limits.MIN_BLOCK
    for bad in (limits.MIN_BLOCK - 1, limits.MAX_BLOCK + 1):
        with pytest.raises(UsageError, match=f"--block must be {limits.MIN_BLOCK} to {limits.MAX_BLOCK}"):
            limits.check_block(bad)
    with pytest.raises(UsageError, match="give --block 188 or more"):
        limits.check_block(64, taps=48000)


def test_memory_limits_follow_the_budget(monkeypatch):
    monkeypatch.setattr(limits, "memory_budget", lambda: 10**6)
    samples = 10**6 // (8 * limits.GENERATED_MEMORY_FACTOR)
    assert limits.check_generated(samples, 1, "it", "fix it") == samples
    with pytest.raises(UsageError, match=r"it would need about 2 MB of memory .* the limit is 1 MB .*: fix it"):
        limits.check_generated(samples, 2, "it", "fix it")
    ir_frames = 10**6 // (8 * limits.IR_MEMORY_FACTOR)
    limits.check_ir_memory(ir_frames, 1)
    with pytest.raises(InvalidSignalError, match="impulse response .* channels\\) would need .*--precision 32"):
        limits.check_ir_memory(ir_frames, 2)
    limits.check_ir_memory(ir_frames, 2, itemsize=4)  # float32 computation: half the memory
    with pytest.raises(UsageError, match="shorter --predelay"):
        limits.check_ir_memory(ir_frames * 4, 1, error=UsageError, remedy="give a shorter --predelay")


def test_the_memory_budget_is_a_fraction_of_this_machines_memory():
    budget = limits.memory_budget()
    assert 0 < budget < 1 << 50


@pytest.mark.parametrize("size, text", [(0, "0 B"), (999, "999 B"), (1000, "1 kB"), (3.84e14, "384 TB"),
                                        (2.5e18, "2.5e+03 PB")])
def test_format_bytes(size, text):
    assert limits.format_bytes(size) == text
