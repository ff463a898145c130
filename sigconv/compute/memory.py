"""Handing freed memory back to the operating system between the stages of a long job.

The command-line process asks glibc to keep freed blocks of up to 32 MiB
for reuse (:func:`sigconv.cli.process.reuse_freed_blocks`: fewer page
faults in the streaming loops), so the large temporaries of a set-up stage
(designing a deconvolution's inverse filter: grids of millions of bins)
stay in the process's resident memory after they are freed, and the
engine that streams next adds its own on top. :func:`release_free_memory`
returns the free pages (``malloc_trim``) without changing any allocator
setting, so that a stage's peak is not carried into the next.
:func:`release_fft_plans` drops what scipy.fft keeps of a stage's long
one-off transforms: pocketfft caches the twiddle factors of the last 16
transform lengths it planned, about 8 bytes per point (24 MB for the
lengths of 0.6 to 1.3 million points that a 3 s kernel's inverse is
designed on), for as long as the process lives.
"""

from __future__ import annotations

import ctypes
import functools
import sys

__all__ = ["release_fft_plans", "release_free_memory"]

#: Transform lengths pocketfft keeps plans for, per kind of transform (its ``POCKETFFT_CACHE_SIZE``).
FFT_PLAN_CACHE = 16


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the pages of freed heap memory to the OS (glibc's ``malloc_trim(0)``); False where unavailable.

    Memory in use is untouched; the cost is one pass over the heap.

    Examples
    --------
    >>> release_free_memory() in (True, False)
    True
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def release_fft_plans() -> bool:
    """Drop scipy.fft's cached plans of long real transforms; False where scipy.fft was never imported.

    pocketfft offers no call that empties its plan cache, which holds the
    last :data:`FFT_PLAN_CACHE` lengths of each kind of transform; real
    transforms of that many short distinct lengths (float64, float32)
    push out the long ones, whose twiddle factors are then freed. Results
    of later transforms are unchanged: a plan is remade when its length
    comes again. Costs well under a millisecond.

    Examples
    --------
    >>> release_fft_plans() in (True, False)
    True
    """
    fft = sys.modules.get("scipy.fft")
    if fft is None:
        return False
    import numpy as np

    for dtype in (np.float64, np.float32):
        for size in range(2, 2 + FFT_PLAN_CACHE):
            fft.rfft(np.zeros(size, dtype=dtype))
    return True
