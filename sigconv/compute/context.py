"""How much of the machine a job may use: the execution context every compute call takes.

The library never changes process-wide state to go faster; what a job may
use is said here and passed down. A Dask worker that runs one job per
thread gives each job ``ExecutionContext(threads=1)``; the command line
uses the default, which takes the machine.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

__all__ = ["ExecutionContext", "default_threads", "resolve_context"]

#: Most threads a job takes by default: FFTs gain little beyond this.
_MAX_DEFAULT_THREADS = 8


def default_threads() -> int:
    """Threads a job takes when its context does not say: ``$SIGCONV_THREADS``, else the CPUs (at most 8).

    ``$SIGCONV_FFT_THREADS``, the older name, is read when the new one is
    not set. A worker process of ``multiprocessing`` (a ``Pool``, a
    ``ProcessPoolExecutor``) takes one thread: its siblings share the
    cores (two workers with two-threaded transforms on 2 cores ran a
    4·10^6 × 2·10^5 convolution 0.88× scipy's time instead of under 0.5×).

    Examples
    --------
    >>> default_threads() >= 1
    True
    """
    for variable in ("SIGCONV_THREADS", "SIGCONV_FFT_THREADS"):
        configured = os.environ.get(variable, "").strip()
        if configured:
            try:
                return max(1, int(configured))
            except ValueError:
                from ..errors import UsageError

                raise UsageError(f"${variable} must be a whole number of threads, not {configured!r}") from None
    # a worker of multiprocessing has it imported already; other processes need not import it to ask
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None and multiprocessing.parent_process() is not None:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_DEFAULT_THREADS))


@dataclass(frozen=True)
class ExecutionContext:
    """What a job may use while it runs.

    Parameters
    ----------
    threads : int, optional
        Threads the job may keep busy at once: the transforms of one
        engine, or its channel lanes side by side. ``None`` (default):
        :func:`default_threads`. ``1`` runs everything on the calling
        thread (as a worker of a process pool or a Dask worker should).
    io_threads : bool, optional
        Read and write files in threads of their own, overlapping the
        computation, where the planner expects that to pay (default True).
        These threads wait on I/O and are not counted in ``threads``.

    Examples
    --------
    >>> ExecutionContext(threads=1).resolved_threads
    1
    >>> ExecutionContext.single_threaded().io_threads
    False
    """

    threads: int | None = None
    io_threads: bool = True

    def __post_init__(self):
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            from ..errors import UsageError

            raise UsageError(f"threads must be a positive whole number, not {self.threads!r}")

    @property
    def resolved_threads(self) -> int:
        """:attr:`threads`, or :func:`default_threads` when it is None."""
        return default_threads() if self.threads is None else self.threads

    @classmethod
    def single_threaded(cls) -> ExecutionContext:
        """Everything on the calling thread: for pools and cluster workers that run one job per core."""
        return cls(threads=1, io_threads=False)


def resolve_context(context: ExecutionContext | int | None) -> ExecutionContext:
    """An :class:`ExecutionContext` from one, a thread count, or None (the default context)."""
    if context is None:
        return ExecutionContext()
    if isinstance(context, ExecutionContext):
        return context
    return ExecutionContext(threads=context)
