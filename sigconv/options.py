"""Settings that travel together, as frozen dataclasses built from keyword arguments.

A file job's parameters are a few small dataclasses (how to compute, how
to read and write files) instead of twenty keyword arguments passed from
function to function; they pickle, so a batch or a Dask cluster ships them
as they are. The library functions still take the fields as keywords for
convenience: :func:`gather` sorts those into the dataclasses.
"""

from __future__ import annotations

import dataclasses

from .errors import UsageError

__all__ = ["gather"]


def gather(options: dict, *settings):
    """Fill each of ``settings`` (dataclass instances) with the keywords in ``options`` that name its fields.

    Parameters
    ----------
    options : dict
        Keyword arguments; every one must name a field of one of ``settings``.
    *settings : dataclass instances
        The defaults (or the caller's own instances) to update.

    Returns
    -------
    tuple
        The updated instances, in order (one instance alone when one is given).

    Raises
    ------
    UsageError
        A keyword names no field.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Mix:
    ...     wet: float = 1.0
    ...     dry: float = 0.0
    >>> gather({"dry": 0.5}, Mix())
    Mix(wet=1.0, dry=0.5)
    """
    remaining = dict(options)
    updated = []
    for instance in settings:
        names = {field.name for field in dataclasses.fields(instance)}
        mine = {name: remaining.pop(name) for name in list(remaining) if name in names}
        updated.append(dataclasses.replace(instance, **mine) if mine else instance)
    if remaining:
        known = sorted({field.name for instance in settings for field in dataclasses.fields(instance)})
        raise UsageError(f"unknown option(s) {', '.join(sorted(remaining))}; known: {', '.join(known)}")
    return updated[0] if len(updated) == 1 else tuple(updated)
