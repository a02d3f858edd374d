"""A titled card of label/value rows, the building block of the This PC page."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rigready.desktop.theme import MUTED, current_theme


class Card(QFrame):
    """A rounded panel with a title, an optional subtitle and rows of facts.

    A value of ``None`` is shown as "unknown" in a muted colour; ``source`` becomes the row's
    tooltip so a person can see where each fact came from.
    """

    def __init__(self, title: str, subtitle: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "QFrame#card { border: 1px solid palette(mid); border-radius: 10px;"
            " background: palette(base); }"
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 14)
        outer.setSpacing(6)
        self.title_label = QLabel(title)
        self.title_label.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.title_label.setWordWrap(True)
        outer.addWidget(self.title_label)
        self.subtitle_label = QLabel(subtitle)
        self.subtitle_label.setWordWrap(True)
        self.subtitle_label.setStyleSheet(f"color: {MUTED[current_theme()]};")
        self.subtitle_label.setVisible(bool(subtitle))
        outer.addWidget(self.subtitle_label)
        self._grid = QGridLayout()
        self._grid.setHorizontalSpacing(16)
        self._grid.setVerticalSpacing(4)
        self._grid.setColumnStretch(1, 1)
        outer.addLayout(self._grid)
        outer.addStretch(1)
        self._rows = 0

    def compact(self, text: str) -> QLabel:
        """A small card: the title and subtitle on one line, then ``text`` (Readiness page)."""
        self.title_label.setStyleSheet("font-size: 14px; font-weight: 600;")
        head = QHBoxLayout()
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.removeWidget(self.title_label)
        layout.removeWidget(self.subtitle_label)
        head.addWidget(self.title_label)
        head.addWidget(self.subtitle_label, 1)
        layout.insertLayout(0, head)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        value = QLabel(text)
        value.setWordWrap(True)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._grid.addWidget(value, self._rows, 0, 1, 2)
        self._rows += 1
        return value

    def add_row(self, label: str, value: str | None, source: str | None = None) -> QLabel:
        """Append ``label: value``; returns the value label (tests read its text)."""
        name = QLabel(label)
        name.setStyleSheet(f"color: {MUTED[current_theme()]};")
        name.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        shown = QLabel(value if value is not None else "unknown")
        shown.setWordWrap(True)
        shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if value is None:
            shown.setStyleSheet(f"color: {MUTED[current_theme()]}; font-style: italic;")
        if source:
            shown.setToolTip(f"Source: {source}")
            name.setToolTip(f"Source: {source}")
        self._grid.addWidget(name, self._rows, 0)
        self._grid.addWidget(shown, self._rows, 1)
        self._rows += 1
        return shown

    def row_texts(self) -> dict[str, str]:
        """Label -> value text of every row (for tests and copy)."""
        out: dict[str, str] = {}
        for row in range(self._rows):
            name_item = self._grid.itemAtPosition(row, 0)
            value_item = self._grid.itemAtPosition(row, 1)
            if name_item is None or value_item is None:
                continue
            name, value = name_item.widget(), value_item.widget()
            if isinstance(name, QLabel) and isinstance(value, QLabel):
                out[name.text()] = value.text()
        return out
