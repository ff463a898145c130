"""``sigconv backends``."""

from __future__ import annotations

import json

import click

from ..backends import backend_statuses


@click.command(name="backends")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def backends_command(as_json):
    """List the compute backends, whether each is available here, and why not.

    Use a name with --backend on any compute command; `auto` (the default)
    picks the fastest available one for each job.

    \b
    Examples:
      sigconv backends
      sigconv backends --json
    """
    rows = backend_statuses()
    if as_json:
        click.echo(json.dumps([
            {"name": r.name, "available": r.available, "reason": r.reason, "description": r.description,
             "origin": r.origin}
            for r in rows
        ], indent=2))
        return
    width = max(len(r.name) for r in rows)
    click.echo(f"{'NAME':<{width}}  AVAILABLE  DESCRIPTION")
    for r in rows:
        detail = r.description if r.available else f"{r.description + ' - ' if r.description else ''}{r.reason}"
        click.echo(f"{r.name:<{width}}  {'yes' if r.available else 'no':<9}  {detail}")
