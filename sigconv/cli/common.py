"""Reporting shared by the commands."""

from __future__ import annotations

import click

__all__ = ["report_clipping", "report_notes"]


def report_clipping(report) -> None:
    """Say on stderr how many samples were clipped, if any."""
    if report is not None and report.clipped:
        click.echo(f"Warning: {report.clipping_message()}", err=True)


def report_notes(notes, quiet: bool) -> None:
    """Print each note on stderr as ``Note: ...``, unless ``quiet``."""
    if not quiet:
        for note in notes:
            click.echo(f"Note: {note}", err=True)


def raw_input_options(fn):
    """``--input-channels``, ``--input-subtype``, ``--input-endian``: the layout of ``--input-format raw`` inputs.

    Stack it below the decorator that declares ``--input-format`` and
    ``--rate`` (``io_options``, or those options themselves): with ``raw``,
    the command gets a :class:`~sigconv.io.raw.RawFormat` as its input
    format (in ``io`` or as ``input_format``), which every reader takes.
    """
    import functools

    from ..io.raw import RAW_SUBTYPES
    from ..limits import MAX_CHANNELS
    from .options import _stack

    @_stack(
        click.option("--input-channels", type=click.IntRange(1, MAX_CHANNELS), metavar="N",
                     help="Channels of raw PCM inputs (--input-format raw --rate HZ); default 1."),
        click.option("--input-subtype", type=click.Choice(RAW_SUBTYPES, case_sensitive=False), metavar="SUBTYPE",
                     help=f"Sample type of raw PCM inputs: {', '.join(RAW_SUBTYPES)} (PCM_16 is sox's -e signed "
                     "-b 16 and ffmpeg's s16le, FLOAT is f32le)."),
        click.option("--input-endian", type=click.Choice(["little", "big"]), metavar="ORDER",
                     help="Byte order of raw PCM inputs: little (default) or big."),
    )
    @functools.wraps(fn)
    def wrapper(*args, input_channels, input_subtype, input_endian, **kwargs):
        io = kwargs.get("io")
        named = io.input_format if io is not None else kwargs.get("input_format")
        rate = io.rate if io is not None else kwargs.get("rate")
        layout = _raw_layout(named, rate, input_channels, input_subtype, input_endian)
        if layout is not None:
            if io is not None:
                import dataclasses

                kwargs["io"] = dataclasses.replace(io, input_format=layout)
            else:
                kwargs["input_format"] = layout
        return fn(*args, **kwargs)

    return wrapper


def _raw_layout(named, rate, channels, subtype, endian):
    """The :class:`~sigconv.io.raw.RawFormat` of ``--input-format raw``, or None for any other format."""
    from ..errors import UsageError
    from ..io.raw import RawFormat

    given = [option for option, value in (("--input-channels", channels), ("--input-subtype", subtype),
                                          ("--input-endian", endian)) if value is not None]
    if (named or "").lower() != "raw":
        if given:
            raise UsageError(f"{' and '.join(given)} describe raw PCM inputs; add --input-format raw (with --rate "
                             "HZ), or drop them")
        return None
    if rate is None or subtype is None:
        raise UsageError("--input-format raw needs the samples' layout: --rate HZ and --input-subtype (e.g. "
                         "PCM_16), and --input-channels N for more than one channel")
    return RawFormat(rate, channels or 1, subtype, endian or "little")
