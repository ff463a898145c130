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

    Subcommands named in ``lazy`` (name to ``("module:attribute", short
    help)``, the module relative to this package) are imported only when
    they run or show their own help, so a command does not pay start-up
    time for the others' modules, and ``sigconv --help`` imports no numpy.
    """

    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
            elif name in self.lazy:
                rows.append((name, self.lazy[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str):
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name][0].split(":")
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
