"""``sigconv backends``."""

from __future__ import annotations

import json

import click

from ..backends import backend_statuses


@click.command(name="backends")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def backends_command(as_json):
    """List the compute backends, the operations each runs, whether it is available here, and why not.

    Use a name with --backend on convolve, correlate, deconvolve and
    impulse measure; `auto` (the default) picks the fastest available
    backend that runs the job.

    \b
    Examples:
      sigconv backends
      sigconv backends --json
    """
    rows = backend_statuses()
    if as_json:
        click.echo(json.dumps([
            {"name": r.name, "available": r.available, "reason": r.reason, "description": r.description,
             "origin": r.origin, "operations": list(r.operations)}
            for r in rows
        ], indent=2))
        return
    runs = [",".join(r.operations) or "-" for r in rows]
    width, runs_width = max(len(r.name) for r in rows), max(4, *(len(text) for text in runs))
    click.echo(f"{'NAME':<{width}}  AVAILABLE  {'RUNS':<{runs_width}}  DESCRIPTION")
    for r, ops in zip(rows, runs):
        detail = r.description if r.available else f"{r.description + ' - ' if r.description else ''}{r.reason}"
        click.echo(f"{r.name:<{width}}  {'yes' if r.available else 'no':<9}  {ops:<{runs_width}}  {detail}")
