"""Cards in as many columns as the width holds, in rows below: never a horizontal scroll bar.

The upgrade wizard's plan cards sat in one row, three cards of at least 300 px: at 1024x640 the
third was behind a horizontal scroll bar. Here each resize puts as many cards side by side as
fit (at least one), the rest wrap to the next row, and every column stretches alike.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QWidget


class CardGrid(QWidget):
    """A grid of cards that reflows with its width (the cards keep their minimum width)."""

    def __init__(self, spacing: int = 12, max_columns: int = 3,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(spacing)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.max_columns = max_columns
        self.cards: list[QWidget] = []
        self.columns = 0

    def set_cards(self, cards: list[QWidget]) -> None:
        """Show ``cards`` (the caller disposes of the old ones)."""
        for card in self.cards:
            self.grid.removeWidget(card)
        self.cards = list(cards)
        self.columns = 0  # lay out again whatever the width
        self._reflow(self.width())

    def columns_for(self, width: int) -> int:
        """How many cards fit side by side in ``width`` pixels (1 to ``max_columns``)."""
        widest = max([1, *(c.minimumSizeHint().width() for c in self.cards),
                      *(c.minimumWidth() for c in self.cards)])
        spacing = self.grid.horizontalSpacing()
        return max(1, min(self.max_columns, (width + spacing) // (widest + spacing)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Reflow when the width changes the number of columns."""
        super().resizeEvent(event)
        self._reflow(event.size().width())

    def _reflow(self, width: int) -> None:
        columns = self.columns_for(width)
        if columns == self.columns:
            return
        for card in self.cards:
            self.grid.removeWidget(card)
        for i, card in enumerate(self.cards):
            self.grid.addWidget(card, i // columns, i % columns, Qt.AlignmentFlag.AlignTop)
        # every column that fits shares the width alike, used or not: a lone card is no wider
        # than one of several
        for column in range(max(self.grid.columnCount(), columns)):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)
        self.columns = columns


def discard(widget: QWidget) -> None:
    """Take a widget off the screen now and delete it later (a replaced card)."""
    widget.hide()
    widget.setParent(None)
    widget.deleteLater()
