"""Make ``build/pkgroot/rigready/``: links to the five top-level folders under their import names.

rigready's folders (``gpu/``, ``catalog/``, ``assess/``, ``monitor/``, ``desktop/``) are
installed as ``rigready.gpu`` and so on through setuptools' package-dir mapping. An editable install
serves that mapping through an import hook, which static tools cannot follow; mypy (and a
checkout run without installing, such as the GPU machine's) reads the packages through this tree
instead. The links are relative, so the tree survives moving the checkout.

    python packaging/pkgroot.py        # prints the tree's root, to put on PYTHONPATH
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gpu", "catalog", "assess", "monitor", "desktop")
TREE = ROOT / "build" / "pkgroot"


def make_tree() -> Path:
    """Create (or repair) the link tree and return the folder to put on the module path."""
    namespace = TREE / "rigready"
    namespace.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        link = namespace / name
        target = Path("..", "..", "..", name)
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    return TREE


if __name__ == "__main__":
    print(make_tree())
    sys.exit(0)
