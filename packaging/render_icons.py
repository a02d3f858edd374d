"""Render ``desktop/resources/rigready.svg`` to the PNG icons in ``packaging/linux/icons/``.

Run from the repository root after changing the SVG (Qt renders offscreen, no display needed)::

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "desktop" / "resources" / "rigready.svg"
APP_ID = "io.github.rigready.rigready"
SIZES = (64, 128, 256)


def render(source: Path, size: int, target: Path) -> None:
    """Draw the SVG ``source`` into a transparent ``size`` x ``size`` PNG at ``target``."""
    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {source} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(target)):  # the .png suffix picks the format
        raise SystemExit(f"render_icons: cannot write {target}")


def main() -> int:
    """Render every size; print what was written."""
    _app = QGuiApplication(sys.argv[:1])
    for size in SIZES:
        target = ROOT / "packaging" / "linux" / "icons" / str(size) / f"{APP_ID}.png"
        render(SOURCE, size, target)
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
