"""Build a catalog data pack from catalog/data (``make catalog-pack``); see catalog/pack.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "build" / "pkgroot"))

from rigready.catalog.pack import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
