"""The estimator's modules import without leaning on each other's import order.

Before the split into families the package was one import loop held together by imports inside
functions; a module imported first in a fresh interpreter could fail half-initialised. Each
module is imported here alone, in a fresh interpreter, *without* the package's ``__init__``
(the facade that re-exports the public API and would otherwise import everything first in its
own order), so a cycle or a module that borrows a name from the facade shows up as an
ImportError. ``lint-imports`` checks the same layering statically (pyproject.toml's estimator
contracts).
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import rigready.assess.estimate as estimate_pkg

PACKAGE = estimate_pkg.__name__
ROOT = Path(estimate_pkg.__file__).parent

#: Imports ``sys.argv[1]`` with the estimator package present but its ``__init__`` never run.
_ALONE = """
import importlib, importlib.util, sys, types
spec = importlib.util.find_spec("rigready.assess.estimate")
stub = types.ModuleType(spec.name)
stub.__path__ = list(spec.submodule_search_locations)
sys.modules[spec.name] = stub
importlib.import_module(sys.argv[1])
loaded = sorted(m for m in sys.modules if m.startswith(spec.name + "."))
print(len(loaded))
"""


def _modules() -> list[str]:
    found = [m.name for m in pkgutil.walk_packages([str(ROOT)], prefix=PACKAGE + ".")]
    return sorted(found)


def test_the_package_has_both_families() -> None:
    names = _modules()
    assert f"{PACKAGE}.language.estimate" in names and f"{PACKAGE}.image.estimate" in names
    assert len(names) > 30


@pytest.mark.parametrize("module", _modules())
def test_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", _ALONE, module], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) >= 1  # at least the module itself was loaded


def _function_level_estimator_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                found.append(f"{path.name}:{node.lineno} from {node.module}")
            elif isinstance(node, ast.Import):
                found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names
                          if a.name.startswith(PACKAGE)]
    return found


def test_no_import_inside_a_function_dodges_a_cycle() -> None:
    files = sorted(ROOT.rglob("*.py"))
    assert len(files) > 30
    found = [hit for path in files for hit in _function_level_estimator_imports(path)]
    assert found == []


def test_the_facade_is_never_imported_from_inside() -> None:
    """Modules of the package import each other by their own names, never the facade's."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if path == ROOT / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
                # ``from rigready.assess.estimate import kernels`` names a submodule: allowed
                found += [f"{path.name}: {a.name}" for a in node.names
                          if not (ROOT / f"{a.name}.py").exists()
                          and not (ROOT / a.name).is_dir()]
    assert found == []
