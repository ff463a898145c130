"""Options shared by several commands, as stackable decorators (the sqlite-utils way)."""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass

import click

from ..errors import UsageError

__all__ = ["FiniteFloat", "FINITE", "common_options", "io_options", "IOOptions", "resolve_output",
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
            help="Sample rate of CSV inputs that have no time column.",
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
