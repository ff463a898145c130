"""What the command-line process sets for itself: signals, BLAS threads, glibc's allocator, the GIL switch interval.

A streaming job allocates and frees the same few block sizes (hundreds of
kilobytes to a few megabytes) thousands of times. glibc serves them with
fresh ``mmap`` pages at first and returns freed memory to the kernel, so
every block costs page faults and zeroing again. Raising the mmap
threshold to its 32 MiB maximum and the trim threshold to 256 MiB lets
the heap keep and reuse those blocks: 10 minutes of stereo through a 3 s
IR measured 0.76 s against 0.86 s (medians of 11 interleaved whole runs,
2 cores), with the same peak RSS (100 MB). Only the CLI does this: a
library should not change its host process's allocator.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
from collections.abc import Iterator

__all__ = ["reuse_freed_blocks", "one_blas_thread", "shorten_switch_interval", "collect_garbage_rarely", "Terminated",
           "signals_unwind"]


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM, SIGHUP): raised in the main thread so every cleanup runs.

    A :class:`BaseException`, as :class:`KeyboardInterrupt` is, so that no
    ``except Exception`` on the way swallows it.

    Attributes
    ----------
    signal_number : int
    """

    def __init__(self, signal_number: int):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


#: Signals turned into an exception: the run unwinds, removing what it made, and exits 128 + the number.
UNWINDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _unwind(signal_number: int, _frame) -> None:
    # further signals wait until the cleanups of this one have run
    for number in (*UNWINDING_SIGNALS, signal.SIGINT):
        signal.signal(number, signal.SIG_IGN)
    if signal_number == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signal_number)


@contextlib.contextmanager
def signals_unwind() -> Iterator[None]:
    """Within the block, SIGTERM, SIGHUP and SIGINT unwind the main thread and SIGXFSZ is ignored.

    Python's default handlers would kill the process on SIGTERM or SIGHUP
    without running ``finally`` blocks, and a second Ctrl-C could cut a
    cleanup short. With SIGXFSZ ignored, a write past ``ulimit -f`` fails
    with ``EFBIG`` (an output error) instead of killing the process.
    """
    numbers = (*UNWINDING_SIGNALS, signal.SIGINT) + ((signal.SIGXFSZ,) if hasattr(signal, "SIGXFSZ") else ())
    previous = {number: signal.getsignal(number) for number in numbers}
    for number in numbers:
        signal.signal(number, signal.SIG_IGN if number == getattr(signal, "SIGXFSZ", None) else _unwind)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)

#: Variables that set the thread pools of the BLAS libraries numpy may be built on.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread() -> None:
    """Ask the BLAS library numpy loads for one thread, unless the user chose a number.

    numpy's OpenBLAS starts a thread per core when numpy is imported: 0.1 s
    of CPU time (0.17 s against 0.12 s wall for ``import numpy`` here, on 2
    cores) in every command, none of which multiplies large matrices; the
    transforms have their own threads. Must run before numpy is imported.
    """
    for variable in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # glibc's upper limit on 64-bit systems
_TRIM_THRESHOLD = 256 << 20


def reuse_freed_blocks() -> bool:
    """Ask glibc to keep freed blocks of up to 32 MiB for reuse; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


#: GIL switch interval for the command-line process. The reader and writer
#: threads of a long FFT job (:mod:`sigconv.io.pump`) need the GIL back
#: quickly after each transform; Python's default 5 ms convoys them behind
#: the main thread (10 min stereo x 3 s IR: 0.90 s with 0.2 ms, 1.11 s
#: serial). A library call leaves its host's interval alone.
SWITCH_INTERVAL = 0.0002


def shorten_switch_interval() -> None:
    """Set :data:`SWITCH_INTERVAL` for this process (the CLI's, never the library's)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


#: Allocations between the cycle collector's youngest-generation passes in the command-line process.
GC_THRESHOLD = 50_000


def collect_garbage_rarely() -> None:
    """Run the cycle collector every :data:`GC_THRESHOLD` allocations instead of Python's 700.

    Importing numpy, click and sigconv makes tens of thousands of objects,
    none of them garbage: with the default threshold the collector ran 52
    times over them in every command (11 + 12 ms of a 64-tap FIR job on a
    busy machine); with this one, not once. Cycles that do become garbage
    are still collected, in larger batches.
    """
    gc.set_threshold(GC_THRESHOLD, 20, 20)
