"""Package attributes that load their module on first use (PEP 562), so that start-up imports little."""

from __future__ import annotations

import importlib
import sys

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package``, whose ``exports`` map a name to the submodule that defines it.

    A name is imported from its submodule (relative to ``package``) the
    first time it is asked for and kept in the package's namespace, so
    later look-ups cost nothing.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("sigconv", {"Signal": "signal"})
    >>> getattr_("Signal").__name__
    'Signal'
    """

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        vars(sys.modules[package])[name] = value
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
