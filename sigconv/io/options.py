"""How a file job reads its inputs and writes its output: one small dataclass shared by every family."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FileOptions"]


@dataclass(frozen=True)
class FileOptions:
    """Formats and rates of a job's files, as :func:`sigconv.read` and :func:`sigconv.write` take them.

    Attributes
    ----------
    input_format : str, optional
        Format of the inputs when neither name nor content tells it (``"csv"``).
    rate : float, optional
        Sample rate of CSV inputs without a time column.
    format : str, optional
        Output format (default: from the output's extension; WAV for ``-``).
    subtype : str, optional
        Output sample type (default: the input's, where the format holds it).
    """

    input_format: str | None = None
    rate: float | None = None
    format: str | None = None
    subtype: str | None = None
