"""Progress display for long work: rich, on stderr, only when stderr is a terminal.

This is the only module that imports rich, and only when a display is
actually shown.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = ["Stage", "stages"]


def _interactive() -> bool:
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


class Stage:
    """Handle for updating the current step of a :func:`stages` display."""

    def __init__(self, status=None):
        self._status = status

    def step(self, text: str) -> None:
        """Show ``text`` as the current step (no-op when nothing is displayed)."""
        if self._status is not None:
            self._status.update(f"[bold]{text}")


@contextlib.contextmanager
def stages(first: str, quiet: bool = False) -> Iterator[Stage]:
    """Show a spinner with the current step on stderr while the block runs.

    Nothing is shown (and rich is not imported) when ``quiet`` is true or
    stderr is not a terminal, so pipelines and logs stay clean.

    Examples
    --------
    >>> with stages("reading", quiet=True) as stage:
    ...     stage.step("writing")
    """
    if quiet or not _interactive():
        yield Stage()
        return
    from rich.console import Console

    with Console(stderr=True).status(f"[bold]{first}") as status:
        yield Stage(status)
