"""Compute backends and the registry that names them.

Built in: ``direct`` (time domain) and ``fft`` (frequency domain). Others
come from the ``sigconv.backends`` entry-point group or
:func:`register_backend`. ```"auto"`` picks by the cost model in
:mod:`sigconv.backends.planner`.
"""

from .base import MODES, Backend, mode_slice
from .registry import (
    AUTO,
    ENTRY_POINT_GROUP,
    BackendStatus,
    backend_statuses,
    get_backend,
    known_backends,
    refresh_plugins,
    register_backend,
)

__all__ = [
    "AUTO",
    "ENTRY_POINT_GROUP",
    "MODES",
    "Backend",
    "BackendStatus",
    "backend_statuses",
    "get_backend",
    "known_backends",
    "mode_slice",
    "refresh_plugins",
    "register_backend",
    "select_backend",
]


def select_backend(name: str, n: int, m: int, channels: int = 1, dtype="float64") -> Backend:
    """The backend to use for a job: ``name`` itself, or the planner's pick for ``"auto"``.

    Examples
    --------
    >>> select_backend("auto", 10**6, 3).name
    'direct'
    """
    if name == AUTO:
        from .planner import choose_plan

        return get_backend(choose_plan(n, m, channels, channels, channels, dtype).method)
    return get_backend(name)
