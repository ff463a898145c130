"""Options shared by several commands, as stackable decorators (the sqlite-utils way)."""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass

import click

from ..errors import UsageError

__all__ = ["FiniteFloat", "FINITE", "TimeType", "LevelType", "common_options", "io_options", "IOOptions", "resolve_output",
           "compute_options"]


class FiniteFloat(click.FloatRange):
    """A float option that refuses NaN and infinity, and optionally values outside ``min``..``max``.

    ``click.FloatRange`` lets ``nan`` through every bound (comparisons with
    NaN are false) and ``inf`` through a missing upper bound; every float
    option of sigconv takes this type instead, so a non-finite value is a
    usage error (exit 2) that names the option.

    Examples
    --------
    >>> FiniteFloat(min=0).convert("2.5", None, None)
    2.5
    """

    name = "float"

    def convert(self, value, param, ctx):
        number = value if isinstance(value, float) else click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give an ordinary number", param, ctx)
        return super().convert(number, param, ctx)

    def _describe_range(self) -> str:
        return "" if self.min is None and self.max is None else super()._describe_range()


#: Any finite float.
FINITE = FiniteFloat()


class TimeType(click.ParamType):
    """A time in the grammar of :mod:`sigconv.quantities`: ``20ms``, ``0.5s``, ``480smp`` or a bare number.

    Parameters
    ----------
    default : str
        Unit of a bare number (``"s"``, ``"ms"``, ``"smp"``): the unit the option's help states.
    into : str, optional
        Give the command a float in this unit (``"s"`` or ``"ms"``); then samples are refused, as
        the rate is not known while parsing. Default: the :class:`~sigconv.quantities.Duration` itself.
    min, max : float, optional
        Bounds in ``into``'s unit (seconds when ``into`` is None), inclusive unless ``min_open``.
    bare_min : float, optional
        Refuse a bare number above zero and below this (in ``default``'s unit): a likely unit mix-up,
        such as ``--predelay 0.02`` meant as seconds where bare numbers are milliseconds.

    Examples
    --------
    >>> TimeType("ms", into="s").convert("0.25s", None, None)
    0.25
    >>> TimeType("ms", into="s").convert("20", None, None)
    0.02
    """

    name = "time"

    def __init__(self, default: str = "s", into: str | None = None, min: float | None = None,
                 max: float | None = None, min_open: bool = False, bare_min: float | None = None):
        self.default, self.into, self.min, self.max, self.min_open = default, into, min, max, min_open
        self.bare_min = bare_min

    def convert(self, value, param, ctx):
        from ..quantities import TIME_UNITS, Duration, parse_time

        if isinstance(value, Duration) or (isinstance(value, float) and self.into):
            return value
        name = _option_name(param)
        try:
            duration = parse_time(value, self.default, name)
            bare = not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit()
            if bare and self.bare_min is not None and 0 < duration.value < self.bare_min:
                raise UsageError(f"{name} {value} means {value}{self.default} (a bare number is {self.default}); "
                                 f"write the unit if you meant another: {value}s, {value}ms or {value}smp")
            number = duration.seconds() / TIME_UNITS[self.into] if self.into else (
                duration.value if duration.unit == "smp" else duration.seconds())
        except UsageError as exc:
            self.fail(str(exc), param, ctx)
        unit = self.into or ("smp" if duration.unit == "smp" else "s")
        if self.min is not None and (number < self.min or (self.min_open and number == self.min)):
            self.fail(f"{value!r} is {'not above' if self.min_open else 'below'} {self.min:g}{unit}", param, ctx)
        if self.max is not None and number > self.max:
            self.fail(f"{value!r} is above {self.max:g}{unit}", param, ctx)
        return number if self.into else duration

    def get_metavar(self, param, ctx=None):
        return {"s": "SECONDS", "ms": "MS", "smp": "SAMPLES"}.get(self.default, "TIME")


class LevelType(click.ParamType):
    """A level in the grammar of :mod:`sigconv.quantities`: ``-6dB``, ``-1dBTP``, ``-23LUFS`` or a bare number.

    Parameters
    ----------
    default : str
        Unit of a bare number (``"dB"`` or ``"linear"``): the unit the option's help states.
    into : {'dB', 'linear'}, optional
        Give the command a float in this unit; default the :class:`~sigconv.quantities.Level`.
    units : tuple of str, optional
        The units the option accepts (default: linear and the dB units).
    min, max : float, optional
        Bounds on the float handed over (``into`` given).

    Examples
    --------
    >>> round(LevelType("linear", into="linear").convert("-6dB", None, None), 4)
    0.5012
    >>> LevelType("dB", into="dB").convert("-3", None, None)
    -3.0
    """

    name = "level"

    def __init__(self, default: str = "dB", into: str | None = None,
                 units: tuple[str, ...] = ("linear", "dB", "dBFS"), min: float | None = None,
                 max: float | None = None):
        self.default, self.into, self.units, self.min, self.max = default, into, units, min, max

    def convert(self, value, param, ctx):
        from ..quantities import Level, parse_level

        if isinstance(value, Level) or (isinstance(value, float) and self.into):
            return value
        name = _option_name(param)
        try:
            level = parse_level(value, self.default, name)
            if level.unit not in self.units:
                raise UsageError(f"{name} takes {' or '.join(u if u != 'linear' else 'a linear factor' for u in self.units)}, "
                                 f"not {value!r}")
            number = None if self.into is None else level.gain if self.into == "linear" else level.db
        except UsageError as exc:
            self.fail(str(exc), param, ctx)
        if number is not None:
            if self.min is not None and number < self.min:
                self.fail(f"{value!r} is below {self.min:g}{'' if self.into == 'linear' else ' dB'}", param, ctx)
            if self.max is not None and number > self.max:
                self.fail(f"{value!r} is above {self.max:g}{'' if self.into == 'linear' else ' dB'}", param, ctx)
            return number
        return level

    def get_metavar(self, param, ctx=None):
        return "DB" if self.default == "dB" else "LEVEL"


def _option_name(param) -> str:
    return max(param.opts, key=len) if param is not None and param.opts else "the value"


def _stack(*decorators):
    def apply(fn):
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def _remember_debug(ctx: click.Context, _param, value):
    if value:
        ctx.find_root().ensure_object(dict)["debug"] = True
    return value


def common_options(fn):
    """``--quiet`` and ``--debug``, for every command."""
    return _stack(
        click.option("-q", "--quiet", is_flag=True, help="Show no progress display."),
        click.option(
            "--debug",
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_remember_debug,
            help="Show the full traceback of an error.",
        ),
    )(fn)


@dataclass(frozen=True)
class IOOptions:
    """The input and output settings of one command invocation."""

    output: str | None
    format: str | None
    subtype: str | None
    input_format: str | None
    rate: float | None

    @property
    def files(self):
        """The library's :class:`~sigconv.io.options.FileOptions` for these settings."""
        from ..io.options import FileOptions

        return FileOptions(self.input_format, self.rate, self.format, self.subtype)


def io_options(fn):
    """``-o``, ``--format``, ``--subtype``, ``--input-format``, ``--rate``, gathered into ``io``."""

    @_stack(
        click.option(
            "-o",
            "--output",
            metavar="FILE",
            help="Output file, or - for standard output (the default when stdout is not a terminal).",
        ),
        click.option(
            "-f",
            "--format",
            "output_format",
            metavar="FMT",
            help="Output format: wav, flac, ogg, aiff, csv... (default: from the extension; wav for -).",
        ),
        click.option(
            "--subtype",
            metavar="SUBTYPE",
            help="Output sample type: FLOAT, DOUBLE, PCM_16, PCM_24... (default: the input's, if the "
            "format holds it; FLOAT for -).",
        ),
        click.option(
            "--input-format",
            metavar="FMT",
            help="Format of the inputs when neither name nor content tells it (e.g. csv).",
        ),
        click.option(
            "--rate",
            type=FiniteFloat(min=0, min_open=True),
            metavar="HZ",
            help=("Sample rate of CSV inputs that have no time column, and of raw PCM inputs "
                           "(--input-format raw)."),
        ),
    )
    @functools.wraps(fn)
    def wrapper(*args, output, output_format, subtype, input_format, rate, **kwargs):
        kwargs["io"] = IOOptions(output, output_format, subtype, input_format, rate)
        return fn(*args, **kwargs)

    return wrapper


def compute_options(fn):
    """``-b/--backend NAME`` and ``--threads N``, handed to the command as ``backend`` and ``context``."""

    @_stack(
        click.option("-b", "--backend", default="auto", show_default=True, metavar="NAME",
                     help="Compute backend (see `sigconv backends`); auto picks the fastest."),
        click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
                     help="Threads the computation may use (default: $SIGCONV_THREADS, else the CPUs, at most 8); "
                     "1 on a machine shared with other jobs."),
    )
    @functools.wraps(fn)
    def wrapper(*args, threads, **kwargs):
        from ..compute.context import ExecutionContext

        kwargs["context"] = ExecutionContext(threads=threads)
        return fn(*args, **kwargs)

    return wrapper


def resolve_output(output: str | None) -> str:
    """The output path: as given, else ``-`` when stdout is a pipe or file, else an error."""
    if output:
        return output
    if sys.stdout.isatty():
        raise UsageError("no output given: add -o FILE (or -o - to write to standard output)")
    return "-"
