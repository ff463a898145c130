"""Setting up a worker process for batch work: its allocator, and everything a task runs loaded once.

A task's first convolution imports the transform libraries and the planner
(sigconv imports them where they are used, so that ``sigconv --help`` stays
instant): 1.3 s of CPU, 5 s on a busy 2-core machine, paid by every worker
of every pool unless it is paid before. The local pool's workers are
forked from multiprocessing's fork server after it imported
:data:`MODULES`, and each runs :func:`setup_worker` first; a Dask worker
started with ``dask worker --preload sigconv.batch.preload`` (the
LocalCluster of ``--scheduler local`` does so) runs it through
:func:`dask_setup`. Importing this module does nothing else.
"""

from __future__ import annotations

__all__ = ["MODULES", "dask_setup", "keep_freed_blocks", "setup_worker", "warm_up"]

#: What a task imports, for a fork server to import before it forks the workers.
MODULES = ("sigconv.batch.execution", "sigconv.batch.preload", "sigconv.backends.planner", "sigconv.backends.fft",
           "sigconv.compute.fftw", "sigconv.compute.transforms", "pyfftw", "scipy.fft", "soundfile")


def warm_up() -> None:
    """Run one small convolution of each kind a task makes (transform and direct), for their imports."""
    import numpy as np

    from ..convolution.prepared import Convolver
    from . import execution  # noqa: F401  (the task's own modules)

    for taps in (4096, 8):
        Convolver(np.ones((taps, 1), dtype=np.float32), precision=32, context=1)(np.ones((8192, 1), np.float32))


#: glibc's mallopt parameters and the values of the command line's own process (sigconv/cli/process.py)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD, _TRIM_THRESHOLD = 32 << 20, 256 << 20


def keep_freed_blocks() -> bool:
    """Let glibc keep freed blocks of up to 32 MiB for reuse in this worker process; False where it cannot.

    A task allocates arrays of a clip's size for every pair; with glibc's
    defaults each is mapped fresh and its pages faulted and zeroed again.
    The command line's process makes the same setting for ``-j 1``; here it
    is made in the processes started for the batch (by the fork server,
    whose children inherit it, and by each Dask worker that preloads this
    module), never in the caller's. Two pool workers on the 2-core machine:
    200 ten-second clips in 2.6-2.9 s instead of 3.6-3.8 s.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))



def setup_worker() -> None:
    """Prepare this process, started for batch work, to run tasks: :func:`keep_freed_blocks`, :func:`warm_up`."""
    keep_freed_blocks()
    warm_up()


def dask_setup(worker=None) -> None:
    """Dask's preload hook: :func:`setup_worker` in the worker process."""
    setup_worker()
