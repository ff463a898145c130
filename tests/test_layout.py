"""The shape of the package: layers that import only downwards, lazy start-up, names that say what they hold."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import sigconv

ROOT = Path(sigconv.__file__).parent

#: Each top-level part of the package and its layer: a module may import its own part and lower layers only.
LAYERS = {
    "errors": 0, "lazy": 0,
    "signal": 1, "validation": 1, "options": 1, "progress": 1, "limits": 1, "quantities": 1, "loudness": 1,
    "compute": 2, "io": 2,
    "backends": 3,
    "convolution": 4, "correlation": 4, "deconvolution": 4, "impulse": 4,
    "testing": 5, "batch": 5,
    "cli": 6,
    "__main__": 7,
}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path, module: str):
    """Every sigconv module that ``path`` imports, at the top or inside functions."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("sigconv"):
                names = [alias.name for alias in node.names]
                yield node.lineno, target, names
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sigconv"):
                    yield node.lineno, alias.name, []


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield path, ".".join(parts)


def test_every_part_has_a_layer():
    parts = {_part(module) for _, module in _modules()} - {"__init__"}
    assert parts <= set(LAYERS), parts - set(LAYERS)


def test_layers_import_only_downwards():
    wrong = []
    for path, module in _modules():
        part = _part(module)
        if part == "__init__":
            continue  # the lazy root names everything
        for line, target, names in _imports(path, module):
            target_part = _part(target)
            if target_part == "__init__":
                target_part = "__init__" if not names else None
                if target_part is None:  # "from sigconv import x": x's own part
                    targets = [n for n in names if n in LAYERS]
                    if not targets:
                        continue
                    target_part = targets[0]
            if target_part == part:
                continue
            if target_part == "__init__" or LAYERS[target_part] >= LAYERS[part]:
                wrong.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_module_is_named_like_a_function_its_package_exports():
    clashes = []
    for info in pkgutil.walk_packages([str(ROOT)], "sigconv."):
        if not info.ispkg:
            continue
        package = importlib.import_module(info.name)
        submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
        clashes += [f"{info.name}.{name}" for name in getattr(package, "__all__", ()) if name in submodules]
    root_modules = {m.name for m in pkgutil.iter_modules([str(ROOT)])}
    clashes += [f"sigconv.{name}" for name in sigconv.__all__ if name in root_modules]
    assert not clashes


@pytest.mark.parametrize("code", [
    "import sigconv",
    "import sigconv.cli as c\ntry:\n    c.main(['--help'])\nexcept SystemExit:\n    pass",
    "import sigconv.cli as c\ntry:\n    c.main(['--version'])\nexcept SystemExit:\n    pass",
])
def test_start_up_imports_no_numpy(code):
    check = code + "\nimport sys\nprint(sorted(m for m in ('numpy', 'scipy', 'soundfile', 'rich') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_every_public_name_loads():
    for name in sigconv.__all__:
        assert getattr(sigconv, name) is not None, name
