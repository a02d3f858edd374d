"""A row of numbered wizard steps; the current one in the accent colour, each one clickable."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from rigready.desktop.theme import MUTED, SELECTED_TEXT, SELECTION, current_theme


class StepBar(QWidget):
    """``1 Goal  >  2 Constraints  >  3 Plans  >  4 Buy or rent``."""

    #: Emitted with the index of the step the user clicked.
    step_clicked = Signal(int)

    def __init__(self, titles: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: list[QPushButton] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for i, title in enumerate(titles):
            if i:
                arrow = QLabel("›")
                arrow.setStyleSheet(f"color: {MUTED[current_theme()]}; font-size: 16px;")
                row.addWidget(arrow)
            button = QPushButton(f"{i + 1}  {title}")
            button.setCheckable(True)
            button.setFlat(True)
            button.clicked.connect(lambda _checked=False, n=i: self.step_clicked.emit(n))
            self.buttons.append(button)
            row.addWidget(button)
        row.addStretch(1)
        self.current = 0
        self.set_current(0)

    def retheme(self, _theme: str) -> None:
        """A live theme switch: the current step in the new theme's selection colours."""
        self.set_current(self.current)

    def set_current(self, index: int) -> None:
        """Mark step ``index`` as the current one."""
        self.current = index
        theme = current_theme()
        for i, button in enumerate(self.buttons):
            button.setChecked(i == index)
            if i == index:
                style = (f"background: {SELECTION[theme]}; color: {SELECTED_TEXT};"
                         " border-radius: 12px;"
                         " padding: 4px 12px; font-weight: 600;")
            else:
                style = ("border: 1px solid palette(mid); border-radius: 12px; padding: 4px 12px;"
                         f" color: {'palette(text)' if i < index else MUTED[theme]};")
            button.setStyleSheet(f"QPushButton {{ {style} }}")
