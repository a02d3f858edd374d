"""The installed Qt binding keeps Python's reference counts right (why pyproject pins PySide6).

PySide6-Essentials 6.12.0 drops a reference to ``None`` on every call of a method that returns
nothing. Python 3.12+ cannot free ``None`` (PEP 683), but on 3.11 the count reaches zero after
some thousands of calls and the interpreter aborts, which a live chart did within seconds. The
pin in pyproject.toml keeps 3.11 below 6.12; this test catches a binding with such a leak.
"""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsRectItem, QLabel
from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.gui


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal on Python 3.12+")
def test_void_calls_do_not_leak_references_to_none(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    item = QGraphicsRectItem(0, 0, 1, 1)
    before = sys.getrefcount(None)
    for i in range(500):
        label.setText(str(i))
        item.setPos(QPointF(i, i))
    # Allow a little drift from unrelated objects; a leaking binding loses about 1000 here.
    assert abs(sys.getrefcount(None) - before) < 50
