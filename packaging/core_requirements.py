"""Print pyproject's runtime dependencies minus the GUI ones (PySide6, pyqtgraph), one per line.

The Makefile's ``core-tests`` step installs exactly these into a venv without Qt, so the core
packages are proven to run on a headless server. Needs Python 3.11+ (tomllib).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

GUI_DISTRIBUTIONS = {"pyside6-essentials", "pyside6", "pyqtgraph"}


def core_requirements(pyproject: Path) -> list[str]:
    """The ``[project] dependencies`` whose distribution is not a GUI one."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    requirements: list[str] = data["project"]["dependencies"]
    name = re.compile(r"^[A-Za-z0-9._-]+")
    kept = []
    for requirement in requirements:
        match = name.match(requirement)
        if match and match.group(0).lower() not in GUI_DISTRIBUTIONS:
            kept.append(requirement)
    return kept


if __name__ == "__main__":
    print("\n".join(core_requirements(Path(__file__).resolve().parent.parent / "pyproject.toml")))
