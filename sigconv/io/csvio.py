"""Signals as CSV text: one column per channel, optional header and time column."""

from __future__ import annotations

import io
import re

import numpy as np

from ..errors import InvalidSignalError, UsageError

__all__ = ["parse_csv", "format_csv", "TIME_COLUMN_NAMES"]

#: Header names (case-insensitive, units in brackets ignored) that mark a time column.
TIME_COLUMN_NAMES = ("t", "time")

# A time column may deviate from a uniform grid by this fraction of the
# sample period (covers times printed with few decimals); a dropped or
# doubled sample deviates by a whole period and is caught.
_GRID_TOLERANCE = 0.05


# A byte-order mark, which Excel and Notepad put before UTF-8 text.
_BOM = "\ufeff"

# What a byte that is not UTF-8 was decoded as (sigconv.io.reading.csv_text).
_REPLACED = "\ufffd"


def _encoding_hint(field: str) -> str:
    if _REPLACED in field:
        return " (bytes that are not UTF-8 text: save the CSV as UTF-8, or is it a binary file?)"
    return ""


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _delimiter(line: str) -> str | None:
    for delim in (",", ";", "\t"):
        if delim in line:
            return delim
    return None  # whitespace-separated


def _split(line: str, delim: str | None) -> list[str]:
    return [f.strip() for f in (line.split(delim) if delim else line.split())]


def _is_time_name(name: str) -> bool:
    bare = re.sub(r"[\(\[].*?[\)\]]", "", name).strip().strip('"').strip().lower()
    return bare in TIME_COLUMN_NAMES


def _rate_from_times(times: np.ndarray, source: str) -> float:
    if times.size < 2:
        raise InvalidSignalError(
            f"{source}: a time column needs at least two rows to give a sample rate; give --rate HZ instead"
        )
    with np.errstate(over="ignore", divide="ignore"):
        period = (times[-1] - times[0]) / (times.size - 1)
        rate = 1.0 / period if period > 0 else 0.0
    if not period > 0:
        raise InvalidSignalError(f"{source}: the time column does not increase; times must rise row by row")
    if not (np.isfinite(period) and np.isfinite(rate)):
        raise InvalidSignalError(
            f"{source}: the time column's step of {period:g} s gives no finite sample rate; "
            "write the times in seconds, or drop the column and give --rate HZ"
        )
    grid = times[0] + period * np.arange(times.size)
    worst = int(np.argmax(np.abs(times - grid)))
    if abs(times[worst] - grid[worst]) > _GRID_TOLERANCE * period:
        raise InvalidSignalError(
            f"{source}: the time column is not uniformly spaced (row {worst + 1} is at "
            f"{times[worst]:g} s, expected {grid[worst]:g} s for a period of {period:g} s); "
            "sigconv needs uniformly sampled data: resample it first"
        )
    rate = 1.0 / period
    nearest = round(rate)
    if nearest > 0 and abs(rate - nearest) <= 1e-6 * rate:
        return float(nearest)
    return rate


def parse_csv(text: str, rate: float | None = None, source: str = "CSV input") -> tuple[np.ndarray, float]:
    """Parse CSV text into ``(frames, channels)`` samples and a sample rate.

    Parameters
    ----------
    text : str
        The CSV document. Delimiter ``,``, ``;``, tab or whitespace; lines
        starting with ``#`` are comments; an optional first row of names.
        A leading byte-order mark (U+FEFF) is ignored.
    rate : float, optional
        Sample rate in Hz. Required unless the header names a time column
        (``t`` or ``time``), from which the rate is derived.
    source : str, optional
        Name used in error messages.

    Returns
    -------
    data : numpy.ndarray
        Float64 samples, one column per channel (the time column removed).
    rate : float
        Sample rate in Hz.

    Raises
    ------
    InvalidSignalError
        Empty input, a non-numeric cell, ragged rows, or a time column that
        is not uniformly spaced.
    UsageError
        No time column and no `rate`.

    Examples
    --------
    >>> data, rate = parse_csv("time,x\\n0,1\\n0.5,2\\n1.0,3\\n")
    >>> rate, data.ravel().tolist()
    (2.0, [1.0, 2.0, 3.0])
    """
    text = text.removeprefix(_BOM)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InvalidSignalError(f"{source}: the CSV has no data rows")
    delim = _delimiter(lines[0])
    first = _split(lines[0], delim)
    header = None if all(_is_number(f) for f in first) else first
    body = lines[1:] if header else lines
    if not body:
        raise InvalidSignalError(f"{source}: the CSV has a header but no data rows")
    width = len(first)
    rows = []
    for number, line in enumerate(body, start=2 if header else 1):
        fields = _split(line, delim)
        if len(fields) != width:
            raise InvalidSignalError(
                f"{source}: line {number} has {len(fields)} columns, expected {width} like the first line"
            )
        rows.append(fields)
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        for number, fields in enumerate(rows, start=2 if header else 1):
            bad = [f for f in fields if not _is_number(f)]
            if bad:
                raise InvalidSignalError(
                    f"{source}: line {number} has a value that is not a number: "
                    f"{bad[0]!r}{_encoding_hint(bad[0])}"
                ) from None
        raise InvalidSignalError(f"{source}: the values could not be read as numbers ({exc})") from exc
    time_index = None
    if header:
        named = [i for i, name in enumerate(header) if _is_time_name(name)]
        time_index = named[0] if named else None
    if time_index is not None:
        derived = _rate_from_times(table[:, time_index], source)
        table = np.delete(table, time_index, axis=1)
        if table.shape[1] == 0:
            raise InvalidSignalError(f"{source}: the CSV has a time column but no signal column")
        if rate is not None and abs(rate - derived) > 1e-6 * derived:
            raise UsageError(
                f"{source}: --rate {rate:g} disagrees with the time column, which gives {derived:g} Hz; "
                "drop --rate or fix the times"
            )
        rate = derived
    elif rate is None:
        raise UsageError(
            f"{source}: the CSV has no time column ('t' or 'time' in a header row), so its sample rate "
            "is unknown; give it with --rate HZ"
        )
    if not rate > 0:
        raise UsageError(f"sample rate must be positive, not {rate:g} Hz")
    return np.ascontiguousarray(table), float(rate)


def format_csv(data: np.ndarray, rate: float, names: list[str] | None = None, start: int = 0) -> str:
    """Render samples as CSV with a ``time`` column and a header row.

    Digits are enough to read back the same values: 9 significant digits
    for float32 data, 17 for float64 (and always 17 for the time column).

    Parameters
    ----------
    data : numpy.ndarray
        ``(frames, channels)`` samples.
    rate : float
        Sample rate in Hz; the time column is ``frame / rate``.
    names : list of str, optional
        Channel column names (default ``ch1``, ``ch2``...).
    start : int, optional
        Frame number of the first row (for writing in blocks).

    Returns
    -------
    str
        The CSV document.

    Examples
    --------
    >>> print(format_csv(np.array([[0.5], [0.25]], dtype=np.float32), 2.0), end="")
    time,ch1
    0,0.5
    0.5,0.25
    """
    frames, channels = data.shape
    names = names or [f"ch{i + 1}" for i in range(channels)]
    digits = 9 if data.dtype == np.float32 else 17
    table = np.column_stack([np.arange(start, start + frames) / float(rate), data.astype(np.float64)])
    out = io.StringIO()
    out.write(",".join(["time", *names]) + "\n")
    np.savetxt(out, table, fmt=["%.17g"] + [f"%.{digits}g"] * channels, delimiter=",")
    return out.getvalue()
