"""The bounds sigconv enforces before any work starts, in one place.

Each limit is a named constant; the ``check_*`` functions refuse a value
beyond one with a message that gives the figure, the limit and the remedy.
They take plain numbers, so every layer can call them (this module imports
no other part of sigconv but :mod:`sigconv.errors`).

Memory limits compare what a job would hold against a budget: half of the
machine's physical memory (or of the container's limit, where a cgroup sets
one lower), from :func:`memory_budget`.
"""

from __future__ import annotations

import functools
import math
import os

from .errors import InvalidSignalError, UsageError

__all__ = [
    "MAX_FRAMES",
    "MAX_CHANNELS",
    "MAX_GAIN_DB",
    "MAX_LINEAR_GAIN",
    "MAX_ITERATIONS",
    "MIN_BLOCK",
    "MAX_BLOCK",
    "MAX_PARTITIONS",
    "MEMORY_FRACTION",
    "IR_MEMORY_FACTOR",
    "GENERATED_MEMORY_FACTOR",
    "ARRAY_MEMORY_FACTOR",
    "memory_budget",
    "format_bytes",
    "format_duration",
    "check_finite",
    "check_gain_db",
    "check_linear_gain",
    "check_frames",
    "check_channels",
    "check_iterations",
    "check_block",
    "check_memory",
    "check_generated",
    "check_ir_memory",
    "IR_REMEDY",
]

#: Most frames of any signal sigconv is asked to generate or produce: 2^31,
#: 12.4 hours at 48 kHz and 17 GB per channel as float64 (a 32-bit frame count
#: holds no more; longer requests are typing mistakes, not signals).
MAX_FRAMES = 1 << 31
#: Most channels of a signal: libsndfile's own limit.
MAX_CHANNELS = 1024
#: Largest level change in dB (``--gain``), either way: more than the
#: dynamic range of any integer format (24-bit spans 144 dB).
MAX_GAIN_DB = 200.0
#: Largest linear gain (``--wet``, ``--dry``): the same 200 dB.
MAX_LINEAR_GAIN = 1e10
#: Most Richardson-Lucy iterations (``--iterations``).
MAX_ITERATIONS = 10_000
#: Shortest engine block or partition (``--block``): below it the per-block
#: overhead dominates (1 s of stereo against a 1 s IR took 12 s at 64 frames,
#: over 60 s at 8).
MIN_BLOCK = 64
#: Longest engine block or partition (22 s at 48 kHz): 8 times the planner's
#: longest uniform partition. 1 s of stereo against a 1 s IR took 1.1 s and
#: 190 MB at this block, 13 s and 2 GB at 2^24.
MAX_BLOCK = 1 << 20
#: Most partitions of a partitioned convolution, so that ``--block`` is at
#: least the IR length over this: every hop visits every partition.
MAX_PARTITIONS = 256
#: Fraction of the machine's memory one job may plan to hold.
MEMORY_FRACTION = 0.5
#: Bytes held per float64 IR sample while convolving with it: the IR as
#: read, the prepared copy and the partitions' spectra (about 6 to 10 times
#: the samples, measured; 10 covers the read).
IR_MEMORY_FACTOR = 10
#: Bytes held per float64 sample while generating a signal (``impulse synth``,
#: ``impulse sweep``): up to 18 times the samples were measured (the band-wise
#: reverb tail, the inverse sweep's spectra); also for ``exact`` and ``lucy``
#: deconvolution of a whole signal (8 and 10 times, measured).
GENERATED_MEMORY_FACTOR = 20
#: Bytes held per float64 sample of the longest array of a whole-signal
#: operation (resampling: the longer of the signal and its resampled form;
#: the array API's Wiener or Tikhonov deconvolution): 1.4 to 3.3 times, measured.
ARRAY_MEMORY_FACTOR = 4

_FLOAT64 = 8


def memory_budget() -> int:
    """Bytes one job may plan to hold: :data:`MEMORY_FRACTION` of the memory it can have.

    The memory it can have is the machine's physical memory
    (``os.sysconf``), or a control group's limit where one is set lower.
    """
    return int(MEMORY_FRACTION * _usable_memory())


@functools.lru_cache(maxsize=1)
def _usable_memory() -> int:
    """Physical memory, or a lower cgroup limit, in bytes (read once: small library calls check it too)."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        physical = 8 << 30
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            physical = min(physical, int(text))
    return physical


def format_bytes(size: float) -> str:
    """``size`` bytes in decimal units, to 2 significant figures.

    Examples
    --------
    >>> format_bytes(3.84e14), format_bytes(512)
    ('384 TB', '512 B')
    """
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if size < 999.5 or unit == "PB":
            break
        size /= 1000
    return f"{size:.3g} {unit}"


def format_duration(seconds: float) -> str:
    """``seconds`` in the largest unit of h, min, s and ms that keeps it at 1 or more (3 figures).

    Examples
    --------
    >>> format_duration(44739.2), format_duration(0.002)
    ('12.4 h', '2 ms')
    """
    for unit, size in (("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds * 1000:.3g} ms"


def check_finite(value: float, option: str, unit: str = "") -> float:
    """``value`` as a float if it is a finite number, else :class:`UsageError` naming ``option``.

    Examples
    --------
    >>> check_finite(2, "--wet")
    2.0
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise UsageError(f"{option} must be a finite number{unit}, not {value!r}")
    return number


def check_gain_db(gain_db: float, option: str = "--gain") -> float:
    """A level change in dB, finite and within ±:data:`MAX_GAIN_DB`."""
    gain_db = check_finite(gain_db, option, " of dB")
    if abs(gain_db) > MAX_GAIN_DB:
        raise UsageError(f"{option} {gain_db:g} dB is beyond the ±{MAX_GAIN_DB:g} dB that sigconv allows; "
                         "give a smaller level change")
    return gain_db


def check_linear_gain(gain: float, option: str) -> float:
    """A linear gain, finite and of magnitude at most :data:`MAX_LINEAR_GAIN`."""
    gain = check_finite(gain, option)
    if abs(gain) > MAX_LINEAR_GAIN:
        raise UsageError(f"{option} {gain:g} is beyond the ±{MAX_LINEAR_GAIN:g} (±{MAX_GAIN_DB:g} dB) that sigconv "
                         "allows; give a smaller gain")
    return gain


def check_frames(frames: float, what: str, remedy: str, rate: float | None = None) -> int:
    """``frames`` as an int if it is at most :data:`MAX_FRAMES`, else :class:`UsageError`.

    Parameters
    ----------
    frames : float
        The length asked for (possibly not whole, or huge).
    what : str
        What would have that length, e.g. ``"the sweep"``.
    remedy : str
        What to change, e.g. ``"give a shorter --duration"``.
    rate : float, optional
        Sample rate, to state the limit in hours too.

    Examples
    --------
    >>> check_frames(4.8e13, "the sweep", "give a shorter --duration", 48000)
    Traceback (most recent call last):
    ...
    sigconv.errors.UsageError: the sweep would be 4.8e+13 frames long (384 TB per channel as 64-bit floats); the limit is 2147483648 frames (2^31, 12.4 h at 48000 Hz): give a shorter --duration
    """
    if math.isnan(frames):
        raise UsageError(f"{what} has no finite length: {remedy}")
    if frames > MAX_FRAMES:
        during = f", {format_duration(MAX_FRAMES / rate)} at {rate:g} Hz" if rate else ""
        raise UsageError(f"{what} would be {frames:.3g} frames long ({format_bytes(frames * _FLOAT64)} per channel "
                         f"as 64-bit floats); the limit is {MAX_FRAMES} frames (2^31{during}): {remedy}")
    return int(frames)


def check_channels(channels: int, option: str = "--channels") -> int:
    """``channels`` if it is 1 to :data:`MAX_CHANNELS`, else :class:`UsageError`."""
    if not 1 <= channels <= MAX_CHANNELS:
        raise UsageError(f"{option} must be 1 to {MAX_CHANNELS} (libsndfile's limit), not {channels}")
    return int(channels)


def check_iterations(iterations: int, option: str = "--iterations") -> int:
    """An iteration count of 1 to :data:`MAX_ITERATIONS`."""
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise UsageError(f"{option} must be 1 to {MAX_ITERATIONS}, not {iterations}")
    return int(iterations)


def check_block(block: int | None, taps: int | None = None, option: str = "--block") -> int | None:
    """An engine block or partition length: :data:`MIN_BLOCK` to :data:`MAX_BLOCK` frames.

    With ``taps`` (the IR's length) the block must also keep the IR within
    :data:`MAX_PARTITIONS` partitions. None (the planner chooses) passes.

    Examples
    --------
    >>> check_block(None), check_block(4096, taps=48000)
    (None, 4096)
    """
    if block is None:
        return None
    if not MIN_BLOCK <= block <= MAX_BLOCK:
        raise UsageError(f"{option} must be {MIN_BLOCK} to {MAX_BLOCK} frames, not {block} (shorter blocks cost more "
                         "in overhead than they save, longer ones only memory); leave it out to let the planner "
                         "choose")
    if taps is not None and block * MAX_PARTITIONS < taps:
        shortest = -(-taps // MAX_PARTITIONS)
        raise UsageError(f"{option} {block} cuts the {taps}-tap impulse response into more than {MAX_PARTITIONS} "
                         f"partitions, each of which every block visits; give --block {shortest} or more, or leave "
                         "it out to let the planner choose")
    return int(block)


def _over_budget(samples: float, factor: float) -> str | None:
    """None if ``samples`` float64 samples times ``factor`` fit the budget, else "would need ...; the limit is ..."."""
    need = samples * _FLOAT64 * factor
    budget = memory_budget()
    if need <= budget:
        return None
    return (f"would need about {format_bytes(need)} of memory ({samples:.3g} samples × {_FLOAT64} bytes × "
            f"{factor:g}); the limit is {format_bytes(budget)} ({MEMORY_FRACTION:.0%} of this machine's memory)")


def check_memory(samples: float, factor: float, what: str, remedy: str, error: type = UsageError) -> None:
    """Refuse work that would hold ``samples`` float64 samples ``factor`` times over more than :func:`memory_budget`.

    Raises
    ------
    UsageError (or ``error``)
        "``what`` would need about ... of memory ...; the limit is ...: ``remedy``".
    """
    excess = _over_budget(samples, factor)
    if excess:
        raise error(f"{what} {excess}: {remedy}")


def check_generated(frames: float, channels: int, what: str, remedy: str, rate: float | None = None) -> int:
    """Refuse a signal to generate that is longer than :data:`MAX_FRAMES` or would not fit in memory.

    Returns
    -------
    int
        ``frames``, as an int.

    Raises
    ------
    UsageError
        With the figure, the limit and ``remedy``.
    """
    frames = check_frames(frames, what, remedy, rate)
    check_memory(float(frames) * channels, GENERATED_MEMORY_FACTOR, what, remedy)
    return frames


#: What to do about an impulse response too large to hold.
IR_REMEDY = ("use a shorter one (cut its tail where it meets the noise floor: sigconv impulse info shows where), "
             "fewer channels, or --precision 32")


def check_ir_memory(frames: int, channels: int, what: str = "the impulse response", *, itemsize: int = _FLOAT64,
                    error: type = InvalidSignalError, remedy: str = IR_REMEDY) -> None:
    """Refuse an impulse response (or kernel) that would not fit in memory while a job holds it whole.

    Parameters
    ----------
    frames, channels : int
        Its shape, from the file's header where possible (before reading).
    what : str
        How the message names it.
    itemsize : int, optional
        Bytes per sample of the computation (8, or 4 for ``--precision 32``).
    error : type, optional
        The error to raise: :class:`InvalidSignalError` for an input (exit
        3), :class:`UsageError` where an option made it long (exit 2).
    remedy : str, optional
        What to change (default :data:`IR_REMEDY`).
    """
    plural = "s" if channels != 1 else ""
    check_memory(float(frames) * channels, IR_MEMORY_FACTOR * itemsize / _FLOAT64,
                 f"{what} ({frames} frames × {channels} channel{plural})", remedy, error)
