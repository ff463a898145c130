"""Output names from a template, and the refusal of two pairs that would write one file."""

from __future__ import annotations

import os
import string

from ..errors import UsageError

__all__ = ["DEFAULT_TEMPLATE", "FIELDS", "output_name", "check_outputs"]

#: Output name of a pair unless told otherwise.
DEFAULT_TEMPLATE = "{stem}__{ir}.{ext}"
#: The fields a template may use.
FIELDS = ("stem", "ir", "ext", "index", "parent")

_EXT_OF_FORMAT = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg", "AIFF": "aiff", "CSV": "csv"}


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def check_template(template: str) -> str:
    """Refuse a template with an unknown field or broken braces (:class:`UsageError`)."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise UsageError(f"--name template {template!r} is malformed ({exc}); e.g. {DEFAULT_TEMPLATE!r}") from None
    unknown = [name for name in names if name not in FIELDS]
    if unknown or not names:
        raise UsageError(f"--name template {template!r} may use the fields {{{'}, {'.join(FIELDS)}}}"
                         + (f", not {{{unknown[0]}}}" if unknown else " and must use at least one"))
    if "/" in template or "\\" in template:
        raise UsageError(f"--name template {template!r} must name a file in the output folder, without '/'")
    return template


def output_name(template: str, input_path: str, ir_path: str, index: int, output_format: str | None = None) -> str:
    """The file name a pair writes.

    Fields: ``{stem}`` the input's name without extension, ``{ir}`` the IR's,
    ``{ext}`` the input's extension (or that of ``output_format``),
    ``{index}`` the pair's number in the batch, ``{parent}`` the name of
    the input's folder.

    Examples
    --------
    >>> output_name("{stem}__{ir}.{ext}", "clips/a.flac", "irs/hall.wav", 0)
    'a__hall.flac'
    >>> output_name("{index:05d}-{stem}.{ext}", "clips/a.flac", "irs/hall.wav", 7, "WAV")
    '00007-a.wav'
    """
    ext = os.path.splitext(input_path)[1].lstrip(".") or "wav"
    if output_format:
        ext = _EXT_OF_FORMAT.get(output_format.upper(), output_format.lower())
    parent = os.path.basename(os.path.dirname(os.path.abspath(input_path)))
    return template.format(stem=_stem(input_path), ir=_stem(ir_path), ext=ext, index=index, parent=parent)


def check_outputs(outputs: list[tuple[str, str, str]]) -> None:
    """Refuse, before any work, two pairs with one output or an output that is one of the inputs.

    Parameters
    ----------
    outputs : list of (output, input, ir)

    Raises
    ------
    UsageError
        Naming both pairs and the remedy.
    """
    seen: dict[str, tuple[str, str]] = {}
    sources = {os.path.realpath(p) for _, x, h in outputs for p in (x, h)}
    for output, x, h in outputs:
        key = os.path.realpath(output)
        if key in sources:
            raise UsageError(f"the output {output!r} of {x!r} with {h!r} would overwrite an input; "
                             "choose another output folder or --name template")
        if key in seen:
            other = seen[key]
            raise UsageError(f"{x!r} with {h!r} and {other[0]!r} with {other[1]!r} would both write {output!r}; "
                             "use a --name template that tells them apart (e.g. with {parent} or {index})")
        seen[key] = (x, h)
