"""Compute backends and the registry that names them.

Built in: ``direct`` (time domain) and ``fft`` (frequency domain). Others
come from the ``sigconv.backends`` entry-point group or
:func:`register_backend`. ```"auto"`` picks by the cost model in
:mod:`sigconv.backends.planner`.
"""

from ..lazy import lazy_exports
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


# the planner imports the cost tables: loaded on first use
__getattr__, _ = lazy_exports(__name__, {"choose_backend": "planner"})
