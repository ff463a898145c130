"""The one grammar of times and levels (sigconv.quantities) and its click types."""

from __future__ import annotations

import math

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from sigconv.cli.options import LevelType, TimeType
from sigconv.errors import UsageError
from sigconv.quantities import (LEVEL_UNITS, TIME_UNITS, Duration, Level, format_level, format_time, parse_level,
                                parse_time)

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


@given(finite, st.sampled_from(sorted(TIME_UNITS)))
def test_time_format_parse_round_trip(value, unit):
    duration = Duration(value, unit)
    assert parse_time(format_time(duration)) == duration


@given(finite, st.sampled_from(LEVEL_UNITS))
def test_level_format_parse_round_trip(value, unit):
    level = Level(value, unit)
    assert parse_level(format_level(level), default="linear") == level


@given(st.floats(min_value=1e-6, max_value=1e6), st.sampled_from([8000, 44100, 48000, 96000]))
def test_units_agree_with_each_other(seconds, rate):
    assert math.isclose(parse_time(f"{seconds!r}s").seconds(), parse_time(f"{seconds * 1e3!r}ms").seconds(),
                        rel_tol=1e-12)
    assert parse_time(f"{seconds!r}s").samples(rate) == round(seconds * rate)
    assert parse_time(f"{round(seconds * rate)}smp").seconds(rate) == round(seconds * rate) / rate


@given(st.floats(min_value=-120, max_value=40))
def test_db_and_linear_are_one_level(db):
    level = parse_level(f"{db!r}dB")
    assert math.isclose(level.gain, 10 ** (db / 20), rel_tol=1e-12)
    assert math.isclose(parse_level(repr(level.gain), default="linear").db, db, abs_tol=1e-9)


def test_bare_numbers_take_the_default_unit_and_case_and_spaces_do_not_matter():
    assert parse_time("20", default="ms") == Duration(20.0, "ms")
    assert parse_time(" 480 samples ") == Duration(480.0, "smp")
    assert parse_level("-1 dbtp") == Level(-1.0, "dBTP")
    assert parse_level("-23lufs") == Level(-23.0, "LUFS")
    assert parse_level("0.5", default="linear").gain == 0.5


@pytest.mark.parametrize("text", ["nan", "inf", "-infs", "20 parsecs", "ms", "", "1e999s", "2..5s"])
def test_nonsense_times_are_refused_naming_the_option(text):
    with pytest.raises(UsageError, match="--predelay"):
        parse_time(text, option="--predelay")


@pytest.mark.parametrize("text", ["nan", "-6 dBm", "loud", "1e999dB"])
def test_nonsense_levels_are_refused(text):
    with pytest.raises(UsageError, match="--gain"):
        parse_level(text, option="--gain")


def test_samples_need_a_rate_and_lufs_is_no_gain():
    with pytest.raises(UsageError, match="no sample rate"):
        parse_time("480smp").seconds()
    with pytest.raises(UsageError, match="loudness, not a gain"):
        _ = parse_level("-23LUFS").gain


def _command(**types):
    @click.command()
    @click.option("--t", type=types.get("t", TimeType("ms", into="s", min=0, bare_min=1)))
    @click.option("--l", "level", type=types.get("l", LevelType("linear", into="linear")))
    def command(t, level):
        click.echo(f"{t!r} {level!r}")

    return command


@pytest.mark.parametrize("args, expected", [
    (["--t", "20"], "0.02 None"), (["--t", "20ms"], "0.02 None"), (["--t", "0.5s"], "0.5 None"),
    (["--l", "-6dB"], f"None {10 ** (-6 / 20)!r}"), (["--l", "0.25"], "None 0.25"),
])
def test_click_types_convert_into_the_option_unit(args, expected):
    result = CliRunner().invoke(_command(), args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == expected


@pytest.mark.parametrize("args, words", [
    (["--t", "0.02"], ["0.02ms", "0.02s"]),  # a bare number that is likely meant in another unit
    (["--t", "480smp"], ["no sample rate"]),  # a float in seconds cannot come from samples here
    (["--t", "-5ms"], ["below"]),
    (["--l", "-23LUFS"], ["--l"]),
])
def test_click_types_refuse_with_the_remedy(args, words):
    result = CliRunner().invoke(_command(), args)
    assert result.exit_code == 2
    for word in words:
        assert word in result.output, result.output


def test_the_synth_library_takes_units_too():
    import numpy as np

    from sigconv.impulse.synth import reverb_tail

    seconds = reverb_tail(0.3, 8000, predelay=0.01, seed=1)
    for text in ("10ms", "0.01s", "80smp"):
        np.testing.assert_array_equal(reverb_tail(0.3, 8000, predelay=text, seed=1), seconds)
