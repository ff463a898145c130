"""Compute backends and the registry that names them.

Built in: ``direct`` (time domain) and ``fft`` (frequency domain). Others
come from the ``sigconv.backends`` entry-point group or
:func:`register_backend`. ```"auto"`` picks by the cost model in
:mod:`sigconv.backends.planner`.
"""

from .base import OPERATIONS, Backend, Estimate, Workload
from .registry import (
    AUTO,
    ENTRY_POINT_GROUP,
    BackendStatus,
    available_backends,
    backend_statuses,
    get_backend,
    known_backends,
    refresh_plugins,
    register_backend,
)

__all__ = [
    "OPERATIONS",
    "Estimate",
    "Workload",
    "available_backends",
    "choose_backend",
    "AUTO",
    "ENTRY_POINT_GROUP",
    "Backend",
    "BackendStatus",
    "backend_statuses",
    "get_backend",
    "known_backends",
    "refresh_plugins",
    "register_backend",
]


def __getattr__(name: str):
    # the planner imports the cost tables: loaded on first use
    if name == "choose_backend":
        from .planner import choose_backend

        return choose_backend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
