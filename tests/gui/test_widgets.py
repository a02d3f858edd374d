"""Small shared widgets."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from pytestqt.qtbot import QtBot

from rigready.desktop.widgets.elided_label import ElidedLabel

pytestmark = pytest.mark.gui
READOUT = "03:51:56 · GPU 100 % · VRAM 21.3/140.4 GiB · 54 °C · 699 W · CPU 6 % · RAM 41 %"


def test_elided_label_ends_in_an_ellipsis_and_keeps_the_whole_text(qtbot: QtBot) -> None:
    label = ElidedLabel(READOUT)
    qtbot.addWidget(label)
    label.show()
    label.resize(200, 20)
    qtbot.waitUntil(lambda: label.width() == 200)
    assert label.text().endswith("…") and len(label.text()) < len(READOUT)
    assert READOUT.startswith(label.text()[:-1])
    assert label.full_text() == READOUT and label.toolTip() == READOUT
    label.resize(2000, 20)  # room again: the whole text comes back
    qtbot.waitUntil(lambda: label.width() == 2000)
    assert label.text() == READOUT
    label.set_full_text("")
    assert label.text() == " " and label.full_text() == ""
