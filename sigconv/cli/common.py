"""Reading inputs and writing the result, the same way for every command."""

from __future__ import annotations

import warnings

import click

from ..errors import ClippingWarning
from ..io import read, write
from ..signal import Signal
from .options import IOOptions

__all__ = ["read_input", "write_result", "report_clipping"]


def read_input(source: str, io: IOOptions, dtype=None) -> Signal:
    """Read one command input with the command's format and rate options.

    Standard input needs no format option: CSV text and audio are told
    apart by their first bytes.
    """
    kwargs = {} if dtype is None else {"dtype": dtype}
    return read(source, format=io.input_format, rate=io.rate, **kwargs)


def write_result(destination: str, result: Signal, io: IOOptions, inputs: list[str]) -> None:
    """Write ``result``; report clipping on stderr."""
    subtype = io.subtype
    if destination == "-" and subtype is None:
        result = result.with_data(result.data, subtype=None)  # pipes default to float
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClippingWarning)
        report = write(destination, result, format=io.format, subtype=subtype, protect=inputs)
    report_clipping(report)


def report_clipping(report) -> None:
    """Say on stderr how many samples were clipped, if any."""
    if report is not None and report.clipped:
        click.echo(f"Warning: {report.clipping_message()}", err=True)
