"""Turn sigconv's exceptions into ``Error: ...`` and an exit code, in one place."""

from __future__ import annotations

import os
import sys

import click

from ..errors import SigconvError

__all__ = ["SigconvGroup"]


def _debug_requested(ctx: click.Context) -> bool:
    return bool((ctx.obj or {}).get("debug")) or os.environ.get("SIGCONV_DEBUG", "") not in ("", "0")


class SigconvGroup(click.Group):
    """A click group whose subcommands report :class:`SigconvError` without a traceback.

    Subcommands named in ``lazy`` (name to ``"module:attribute"``, relative
    to this package) are imported only when they run or are listed, so a
    command does not pay start-up time for the others' modules.
    """

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str):
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module, __package__), attribute), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SigconvError as exc:
            if _debug_requested(ctx):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            # the reader of our stdout went away (e.g. `| head`): not an error of ours
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(141)
        except MemoryError:
            if _debug_requested(ctx):
                raise
            click.echo("Error: out of memory; try --precision 32 or shorter inputs", err=True)
            ctx.exit(1)
