"""Entry point of the PyInstaller bundle: the same ``main`` as the ``rigready`` console script."""

from __future__ import annotations

import sys

from rigready.desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
