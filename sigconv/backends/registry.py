"""The registry of compute backends: built-ins, entry-point plugins, runtime registrations.

Modelled on fsspec's registry: names map to lazy ``"module:Class"`` paths,
nothing is imported until a backend is used, plugins from the
``sigconv.backends`` entry-point group are scanned on first look-up (not at
import), and a plugin that fails to load is reported as unavailable instead
of breaking the others.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import BackendUnavailableError, UsageError
from .base import OPERATIONS, Backend

__all__ = [
    "ENTRY_POINT_GROUP",
    "AUTO",
    "BackendStatus",
    "register_backend",
    "get_backend",
    "backend_statuses",
    "available_backends",
    "known_backends",
    "refresh_plugins",
]

#: Entry-point group third-party packages use to add backends.
ENTRY_POINT_GROUP = "sigconv.backends"
#: The name that asks sigconv to choose a backend by cost.
AUTO = "auto"

_BUILTIN = {
    "direct": "sigconv.backends.direct:DirectBackend",
    "fft": "sigconv.backends.fft:FFTBackend",
    "gpu": "sigconv.backends.gpu:GPUBackend",
}

_lock = threading.RLock()
_targets: dict[str, object] = dict(_BUILTIN)
_origins: dict[str, str] = {name: "built-in" for name in _BUILTIN}
_instances: dict[str, Backend] = {}
_load_errors: dict[str, str] = {}
_plugins_scanned = False
_available: tuple[Backend, ...] | None = None  # cached for auto's look-ups; reset by any registration

#: Read-only view of every registered name and what it points to.
known_backends = MappingProxyType(_targets)


@dataclass(frozen=True)
class BackendStatus:
    """One row of ``sigconv backends``."""

    name: str
    description: str
    available: bool
    reason: str | None
    origin: str
    operations: tuple[str, ...] = ()


def _standard_finders_only() -> bool:
    """Whether every finder on ``sys.meta_path`` that lists distributions is the standard path finder."""
    from importlib.machinery import PathFinder

    return all(finder is PathFinder or not hasattr(finder, "find_distributions") for finder in sys.meta_path)


def _metadata_may_name_plugins() -> bool:
    """Whether any installed distribution might declare a ``sigconv.backends`` entry point.

    :func:`importlib.metadata.entry_points` imports the email and zip
    machinery and parses every distribution's entry points: about 35 ms of
    each command's start-up, for a group that is usually empty. This reads
    the ``entry_points.txt`` files of the folders on ``sys.path`` directly
    and answers False only when it saw every place the standard finder
    looks and none names the group; anything else (a zip on the path, a
    custom finder) answers True and the full scan decides.
    """
    if not _standard_finders_only():
        return True
    marker = f"[{ENTRY_POINT_GROUP}]"
    for entry in sys.path:
        folder = entry or "."
        try:
            listing = os.scandir(folder)
        except OSError:
            if os.path.exists(folder):
                return True  # a zip archive or something else the standard finder can read
            continue
        with listing:
            for item in listing:
                if not item.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    with open(os.path.join(item.path, "entry_points.txt"), encoding="utf-8",
                              errors="replace") as text:
                        if marker in text.read():
                            return True
                except OSError:
                    continue
    return False


def _scan_plugins() -> None:
    global _plugins_scanned
    if _plugins_scanned:
        return
    if not _metadata_may_name_plugins():
        _plugins_scanned = True
        return
    from importlib.metadata import entry_points

    with _lock:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in _targets or ep.name == AUTO:
                # a plugin may not shadow a built-in or an earlier plugin
                continue
            _targets[ep.name] = ep.value
            dist = getattr(ep, "dist", None)
            _origins[ep.name] = f"plugin ({dist.name})" if dist is not None else "plugin"
        _plugins_scanned = True


def refresh_plugins() -> None:
    """Forget the plugin scan so the next look-up reads the entry points again.

    Plugins that were already registered stay; newly installed ones appear.
    """
    global _plugins_scanned, _available
    with _lock:
        _plugins_scanned = False
        _available = None


def register_backend(name: str, backend, clobber: bool = False) -> None:
    """Register a backend under ``name``.

    Parameters
    ----------
    name : str
        Name used with ``backend=...`` and ``--backend``.
    backend : Backend, Backend subclass, callable or str
        An instance, a class or factory called with no arguments, or a lazy
        ``"module:attribute"`` path resolved on first use.
    clobber : bool, optional
        Replace an existing registration of the same name. Without it,
        registering a known name is an error.

    Raises
    ------
    UsageError
        The name is taken (and `clobber` is false) or is ``"auto"``.

    Examples
    --------
    >>> from sigconv.backends.direct import DirectBackend
    >>> class Mine(DirectBackend):
    ...     name = "mine"
    >>> register_backend("mine", Mine, clobber=True)
    >>> get_backend("mine").name
    'mine'
    """
    global _available
    if name == AUTO:
        raise UsageError("'auto' is reserved for sigconv's own choice of backend")
    _scan_plugins()
    with _lock:
        _available = None
        if name in _targets and not clobber:
            raise UsageError(f"a backend named {name!r} is already registered; pass clobber=True to replace it")
        _targets[name] = backend
        _origins[name] = "registered"
        _instances.pop(name, None)
        _load_errors.pop(name, None)


def _instantiate(name: str, target) -> Backend:
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        target = obj
    backend = target if isinstance(target, Backend) else target()
    for needed in ("name", "description", "unavailable_reason", "convolve"):
        if not hasattr(backend, needed):
            raise BackendUnavailableError(
                f"{type(backend).__name__} has no {needed!r}; a backend needs name, description, "
                "unavailable_reason() and convolve()"
            )
    return backend


def _load(name: str) -> Backend | None:
    """Instantiate ``name``; on failure remember why and return None."""
    with _lock:
        if name in _instances:
            return _instances[name]
        if name in _load_errors:
            return None
        try:
            backend = _instantiate(name, _targets[name])
        except Exception as exc:  # a broken plugin must not break the others
            _load_errors[name] = f"failed to load ({type(exc).__name__}: {exc})"
            return None
        _instances[name] = backend
        return backend


def backend_statuses() -> list[BackendStatus]:
    """Every registered backend with its availability and the reason when unavailable.

    Returns
    -------
    list of BackendStatus
        Built-ins first, then plugins and runtime registrations, by name.
    """
    _scan_plugins()
    rows = []
    for name in sorted(_targets, key=lambda n: (n not in _BUILTIN, n)):
        backend = _load(name)
        if backend is None:
            rows.append(BackendStatus(name, "", False, _load_errors[name], _origins[name]))
            continue
        try:
            reason = backend.unavailable_reason()
        except Exception as exc:
            reason = f"availability check failed ({type(exc).__name__}: {exc})"
        operations = tuple(op for op in OPERATIONS if backend.supports(op)) if hasattr(backend, "supports") else ("convolve",)
        rows.append(BackendStatus(name, backend.description, reason is None, reason, _origins[name], operations))
    return rows


def available_backends() -> tuple[Backend, ...]:
    """Every registered backend that is available here, built-ins first (cached until a registration)."""
    global _available
    _scan_plugins()
    with _lock:
        if _available is None:
            _available = tuple(get_backend(status.name) for status in backend_statuses() if status.available)
        return _available


def _available_names() -> str:
    names = [s.name for s in backend_statuses() if s.available]
    return ", ".join([AUTO, *names])


def get_backend(name: str) -> Backend:
    """Return the backend registered as ``name``, ready to use.

    Raises
    ------
    BackendUnavailableError
        Unknown name, a plugin that failed to load, or a backend whose
        availability check gives a reason; the message lists the backends
        that are available.

    Examples
    --------
    >>> get_backend("fft").name
    'fft'
    """
    _scan_plugins()
    if name not in _targets:
        raise BackendUnavailableError(f"unknown backend {name!r}; available: {_available_names()}")
    backend = _load(name)
    if backend is None:
        raise BackendUnavailableError(
            f"backend {name!r} {_load_errors[name]}; available: {_available_names()}"
        )
    reason = backend.unavailable_reason()
    if reason is not None:
        raise BackendUnavailableError(f"backend {name!r} is unavailable: {reason}; available: {_available_names()}")
    return backend
