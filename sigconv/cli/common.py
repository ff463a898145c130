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
