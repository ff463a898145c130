"""Progress display for long work: rich, on stderr, only when stderr is a terminal.

This is the only module that imports rich, and only when a display is
actually shown.
"""

from __future__ import annotations

import contextlib
import sys

__all__ = ["progress_bar", "task_progress"]


def _interactive() -> bool:
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(description: str, quiet: bool = False):
    """A progress bar on stderr with the speed in multiples of real time.

    Yields a function ``update(frames_done, frames_total_or_None, rate)``;
    with no total (a pipe) the bar shows the audio time done and the speed
    without a percentage.
    Nothing is shown, and rich is not imported, when ``quiet`` or when
    stderr is not a terminal.

    Examples
    --------
    >>> with progress_bar("convolving", quiet=True) as update:
    ...     update(48000, 96000, 48000.0)
    """
    if quiet or not _interactive():
        yield lambda done, total, rate: None
        return
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    started = time.perf_counter()
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[seconds]} s of audio"),
        TextColumn("{task.fields[speed]}x real time"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=_stderr_console(), transient=True) as bar:
        task = bar.add_task(description, total=None, seconds="0.0", speed="-")

        def update(done: int, total: int | None, rate: float) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done, total=total, seconds=f"{done / rate:.1f}",
                       speed=f"{done / rate / elapsed:.0f}")

        yield update


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def task_progress(description: str, quiet: bool = False):
    """A progress bar for a count of steps; yields ``update(done, total, step_description)``.

    Examples
    --------
    >>> with task_progress("planning", quiet=True) as update:
    ...     update(1, 4, "float64 2x1024")
    """
    if quiet or not _interactive():
        yield lambda done, total, what: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[what]}"), TimeElapsedColumn()]
    with Progress(*columns, console=_stderr_console(), transient=True) as bar:
        task = bar.add_task(description, total=None, what="")

        def update(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, what=what)

        yield update
