"""The manifest of a batch: one row per output with everything needed to make it again.

Each row holds the output, the input and IR paths, the levels drawn for
the pair, every convolution setting, the status and the error. CSV (for
``.csv``) or JSON Lines (anything else, e.g. ``.jsonl``); written
atomically. :func:`read_manifest` turns rows back into pairs and settings,
so that ``sigconv batch --from-manifest`` rebuilds a dataset exactly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import fields

from ..convolution.files import ConvolveSettings
from ..errors import InputError, SignalNotFoundError
from ..io.atomic import atomic_path
from ..io.options import FileOptions
from .jobs import PairJob, PairResult

__all__ = ["COLUMNS", "manifest_rows", "write_manifest", "read_manifest"]

# every setting of a convolution but the levels (each pair has its own) and the experts' block length
_SETTINGS = tuple(f.name for f in fields(ConvolveSettings) if f.name not in ("wet", "dry", "block"))
_FILES = ("format", "subtype", "input_format", "rate")
#: The columns of a manifest, in order.
COLUMNS = ("output", "input", "ir", "wet", "dry", *_SETTINGS, *_FILES, "status", "error")


def manifest_rows(entries: Iterable[tuple[PairJob, ConvolveSettings, FileOptions]],
                  results: dict[str, PairResult]) -> list[dict]:
    """One row per pair: the pair, its settings, and its result (``pending`` when it has none)."""
    rows = []
    for pair, settings, files in entries:
        result = results.get(pair.output)
        row = {"output": pair.output, "input": pair.input, "ir": pair.ir, "wet": pair.wet, "dry": pair.dry}
        row.update({name: _plain(getattr(settings, name)) for name in _SETTINGS})
        row.update({name: getattr(files, name) for name in _FILES})
        row["status"] = result.status if result else "pending"
        row["error"] = result.error if result else ""
        rows.append(row)
    return rows


def write_manifest(path: str, rows: list[dict]) -> None:
    """Write ``rows`` to ``path`` atomically: CSV for a ``.csv`` name, JSON Lines otherwise."""
    if path.lower().endswith(".csv"):
        text = io.StringIO()
        writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if value is None else _csv_value(value) for key, value in row.items()})
        data = text.getvalue()
    else:
        data = "".join(json.dumps(row) + "\n" for row in rows)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(data)


def _plain(value):
    """A setting as JSON holds it: numbers, text, booleans and None as they are, anything else as its text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def _csv_value(value):
    return repr(value) if isinstance(value, float) else value


def read_manifest(path: str) -> list[tuple[PairJob, ConvolveSettings, FileOptions]]:
    """The pairs of a manifest, each with the settings it was made with.

    Raises
    ------
    SignalNotFoundError
        No such file.
    InputError
        A row that lacks a column or holds a value of the wrong kind; the
        message names the line.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise SignalNotFoundError(f"manifest {path!r} does not exist") from None
    if path.lower().endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(text)))
        start = 2
    else:
        rows, start = [], 1
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"manifest {path!r} line {number} is not JSON: {exc}") from None
    pairs = []
    for number, row in enumerate(rows, start):
        try:
            pairs.append(_from_row(row))
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"manifest {path!r} row {number} is malformed ({type(exc).__name__}: {exc}); "
                             f"it needs the columns {', '.join(COLUMNS[:-2])}") from None
    return pairs


def _from_row(row: dict) -> tuple[PairJob, ConvolveSettings, FileOptions]:
    kinds = {f.name: str(f.type) for f in fields(ConvolveSettings)}
    values = {name: _value(row[name], kinds[name]) for name in _SETTINGS if name in row}
    settings = ConvolveSettings(**values)
    files = FileOptions(**{name: _value(row.get(name), "str | None" if name != "rate" else "float | None")
                           for name in _FILES})
    pair = PairJob(str(row["input"]), str(row["ir"]), str(row["output"]), float(row["wet"]), float(row["dry"]))
    return pair, settings, files


def _value(raw, kind: str):
    """A manifest cell as the type the setting takes (CSV gives text, JSON gives the value)."""
    optional = "None" in kind or kind == "object"
    if raw is None or (raw == "" and optional):
        return None
    if kind == "object":  # a number, or text with a unit ("20ms", "-1dBTP")
        try:
            return float(raw)
        except (TypeError, ValueError):
            return str(raw)
    if kind.startswith("bool"):
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("true", "1", "yes")
    if kind.startswith("int"):
        return int(raw)
    if kind.startswith("float"):
        return float(raw)
    return str(raw)
