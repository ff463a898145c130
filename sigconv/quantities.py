"""One grammar for times and levels, shared by every command and the library.

Times are a number and a unit: ``20ms``, ``0.5s``, ``480smp`` (samples);
levels are a number in dB (``-6dB``, ``-1dBTP`` for a true peak,
``-0.1dBFS`` for a sample peak, ``-23LUFS`` for loudness) or a linear
factor (``0.5``). A bare number takes the unit the option documents (the
``default`` of the parser), so ``--predelay 20`` is 20 ms wherever a
pre-delay is asked for. Nothing here imports click: ``sigconv.cli.options``
wraps these parsers as click parameter types.

Examples
--------
>>> parse_time("20ms").seconds(48000)
0.02
>>> parse_time("480smp").seconds(48000)
0.01
>>> parse_time("2.5", default="s")
Duration(value=2.5, unit='s')
>>> parse_level("-6dB").gain
0.501187
>>> format_level(parse_level("-1dbtp"))
'-1dBTP'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import UsageError

__all__ = ["TIME_UNITS", "LEVEL_UNITS", "Duration", "Level", "parse_time", "parse_level", "format_time",
           "format_level"]

#: Time units and their length in seconds (``smp``: one sample, which needs a rate).
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "smp": None}
#: Level units: ``linear`` (a factor), ``dB`` (a change or a level re full scale), ``dBFS`` (sample peak),
#: ``dBTP`` (true peak, ITU-R BS.1770-4 Annex 2), ``LUFS`` (integrated loudness, ITU-R BS.1770).
LEVEL_UNITS = ("linear", "dB", "dBFS", "dBTP", "LUFS")

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z]*)\s*$")
_TIME_ALIASES = {"s": "s", "sec": "s", "ms": "ms", "us": "us", "smp": "smp", "sample": "smp", "samples": "smp"}
_LEVEL_ALIASES = {unit.lower(): unit for unit in LEVEL_UNITS if unit != "linear"}


@dataclass(frozen=True)
class Duration:
    """A time as written: ``value`` in ``unit`` (``s``, ``ms``, ``us`` or ``smp``).

    A duration in samples needs the signal's rate to become seconds, and
    one in seconds needs it to become samples; both conversions take it.
    """

    value: float
    unit: str = "s"

    def __post_init__(self):
        if self.unit not in TIME_UNITS:
            raise UsageError(f"unknown time unit {self.unit!r}; use one of {', '.join(TIME_UNITS)}")

    def seconds(self, rate: float | None = None) -> float:
        """The duration in seconds; ``rate`` (Hz) is needed only for samples."""
        if self.unit == "smp":
            if not rate:
                raise UsageError(f"{format_time(self)} is a number of samples, and no sample rate is known here; "
                                 "give the time in seconds (0.5s) or milliseconds (20ms)")
            return self.value / rate
        return self.value * TIME_UNITS[self.unit]

    def samples(self, rate: float) -> int:
        """The duration in whole samples at ``rate`` Hz (rounded to the nearest)."""
        if self.unit == "smp":
            return int(round(self.value))
        return int(round(self.seconds() * rate))

    def __str__(self) -> str:
        return format_time(self)


@dataclass(frozen=True)
class Level:
    """A level as written: ``value`` in ``unit`` (one of :data:`LEVEL_UNITS`)."""

    value: float
    unit: str = "dB"

    def __post_init__(self):
        if self.unit not in LEVEL_UNITS:
            raise UsageError(f"unknown level unit {self.unit!r}; use one of {', '.join(LEVEL_UNITS)}")

    @property
    def db(self) -> float:
        """The level in dB (``-inf`` for a linear 0; a negative linear factor has no dB value)."""
        if self.unit != "linear":
            return self.value
        if self.value < 0:
            raise UsageError(f"a negative factor ({self.value:g}) has no level in dB")
        return 20 * math.log10(self.value) if self.value > 0 else -math.inf

    @property
    def gain(self) -> float:
        """The linear factor (for dB units, ``10 ** (dB / 20)``); LUFS is a loudness, not a gain."""
        if self.unit == "LUFS":
            raise UsageError(f"{format_level(self)} is a loudness, not a gain; give dB or a linear factor")
        return self.value if self.unit == "linear" else 10.0 ** (self.value / 20.0)

    def __str__(self) -> str:
        return format_level(self)


def _split(text, what: str, option: str) -> tuple[float, str]:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        number, unit = float(text), ""
    else:
        match = _QUANTITY.match(str(text))
        if not match:
            raise UsageError(f"{option} takes {what}, not {text!r}")
        number, unit = float(match.group(1)), match.group(2)
    if not math.isfinite(number):
        raise UsageError(f"{option} must be a finite number, not {text!r}")
    return number, unit


def parse_time(text, default: str = "s", option: str = "a time") -> Duration:
    """Read a time: ``20ms``, ``0.5s``, ``480smp``, or a bare number in ``default``.

    Parameters
    ----------
    text : str or float
        What the user wrote (a float is a bare number).
    default : {'s', 'ms', 'us', 'smp'}
        The unit of a bare number.
    option : str
        The option's name, for error messages.

    Raises
    ------
    UsageError
        Not a number with a known time unit, or not finite.

    Examples
    --------
    >>> parse_time("480 samples")
    Duration(value=480.0, unit='smp')
    >>> parse_time("20", default="ms").seconds()
    0.02
    """
    return _parse(text, default, option, Duration, _TIME_ALIASES, "time",
                  "a time such as 20ms, 0.5s or 480smp")


def parse_level(text, default: str = "dB", option: str = "a level") -> Level:
    """Read a level: ``-6dB``, ``-1dBTP``, ``-0.1dBFS``, ``-23LUFS``, or a bare number in ``default``.

    Parameters
    ----------
    text : str or float
        What the user wrote (a float is a bare number).
    default : {'dB', 'linear', 'dBFS', 'dBTP', 'LUFS'}
        The unit of a bare number.
    option : str
        The option's name, for error messages.

    Examples
    --------
    >>> parse_level("0.5", default="linear").db
    -6.0206
    >>> parse_level("-23 lufs")
    Level(value=-23.0, unit='LUFS')
    """
    return _parse(text, default, option, Level, _LEVEL_ALIASES, "level",
                  "a level such as -6dB, -1dBTP, -23LUFS or a linear factor such as 0.5")


def _parse(text, default: str, option: str, kind, aliases: dict, noun: str, what: str):
    """``kind(number, unit)`` from ``text``: the unit found through ``aliases``, else ``default``."""
    number, unit = _split(text, what, option)
    if not unit:
        return kind(number, default)
    canonical = aliases.get(unit.lower())
    if canonical is None:
        raise UsageError(f"{option} takes {what}; {unit!r} in {text!r} is not a {noun} unit")
    return kind(number, canonical)


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def format_time(duration: Duration) -> str:
    """``duration`` as :func:`parse_time` reads it back exactly (``'20ms'``)."""
    return f"{_number(duration.value)}{duration.unit}"


def format_level(level: Level) -> str:
    """``level`` as :func:`parse_level` reads it back exactly (``'-6dB'``; a linear factor bare)."""
    return _number(level.value) if level.unit == "linear" else f"{_number(level.value)}{level.unit}"
