"""Value tiles: a caption, one big number, a detail line and an optional sparkline.

The page uses them small; the training monitor scales their fonts with the window so the number
can be read across a room.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from rigready.desktop.theme import ACCENT, BAD, GOOD, MUTED, WARN
from rigready.monitor.ring import FloatArray

LEVEL_COLOURS = {"ok": None, "good": GOOD, "warn": WARN, "bad": BAD}


class Sparkline(pg.PlotWidget):  # type: ignore[misc]
    """A bare line chart: no axes, no mouse, a fixed y range."""

    def __init__(self, theme: str, y_range: tuple[float, float] | None = None,
                 background: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=background)
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        for name in ("left", "bottom"):
            self.hideAxis(name)
        self.getPlotItem().layout.setContentsMargins(0, 0, 0, 0)
        self.theme = theme
        self.curve = self.plot(pen=pg.mkPen(ACCENT[theme], width=3), connect="finite")
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self._fixed = y_range
        if y_range is not None:
            self.setYRange(*y_range, padding=0)

    def retheme(self, theme: str) -> None:
        """The line in ``theme``'s accent colour (live theme switch)."""
        self.theme = theme
        self.curve.setPen(pg.mkPen(ACCENT[theme], width=3))

    def set_series(self, times: FloatArray, values: np.ndarray, span_s: float,
                   top: float | None = None) -> None:
        """Show ``values`` over at most the last ``span_s`` seconds (y from 0 to ``top``)."""
        self.curve.setData(times, values, connect="finite")
        if times.size:
            end = float(times[-1])
            self.setXRange(max(float(times[0]), end - span_s), max(end, float(times[0]) + 1),
                           padding=0)
        if self._fixed is None and top:
            self.setYRange(0, top, padding=0.02)


class ValueTile(QFrame):
    """Caption, value, detail and (optionally) a sparkline, coloured by level."""

    def __init__(self, caption: str, theme: str, *, sparkline: bool = False,
                 y_range: tuple[float, float] | None = None, value_px: int = 26,
                 colours: tuple[str, str] = ("palette(window-text)", "palette(base)"),
                 parent: QWidget | None = None) -> None:
        """Create a tile.

        Args:
            caption: Small heading.
            theme: "light" or "dark" (level colours).
            sparkline: Add a sparkline under the numbers.
            y_range: Fixed y range of the sparkline.
            value_px: Font size of the value.
            colours: (text, background) when not ok-coloured; style-sheet colour values.
            parent: Qt parent.
        """
        super().__init__(parent)
        self.theme = theme
        self._colours = colours
        self.setObjectName("tile")
        self.level = "ok"
        self._value_px = value_px
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(0)
        self.caption = QLabel(caption)
        self.value = QLabel("–")
        self.detail = QLabel("")
        self.detail.setWordWrap(False)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        self.sparkline: Sparkline | None = None
        if sparkline:
            background = None if colours[1].startswith("palette(") else colours[1]
            self.sparkline = Sparkline(theme, y_range, background)
            layout.addWidget(self.sparkline, 1)
        self.set_value_px(value_px)

    def set_value_px(self, px: int) -> None:
        """Scale the fonts: the value at ``px`` pixels, caption and detail in proportion."""
        self._value_px = max(12, px)
        self._restyle()

    def _restyle(self) -> None:
        colour = LEVEL_COLOURS.get(self.level)
        value_colour = colour[self.theme] if colour else self._colours[0]
        border = colour[self.theme] if colour else "palette(mid)"
        small = max(10, round(self._value_px * 0.32))
        self.setStyleSheet(
            f"QFrame#tile {{ border: {2 if colour else 1}px solid {border};"
            f" border-radius: 10px; background: {self._colours[1]}; }}")
        self.caption.setStyleSheet(f"color: {MUTED[self.theme]}; font-size: {small}px;"
                                   " font-weight: 600;")
        self.value.setStyleSheet(f"color: {value_colour}; font-size: {self._value_px}px;"
                                 " font-weight: 700;")
        self.detail.setStyleSheet(f"color: {MUTED[self.theme]}; font-size: {small}px;")

    def set_text(self, value: str, detail: str, level: str = "ok") -> None:
        """Show a value and its detail line; ``level`` is "ok", "good", "warn" or "bad"."""
        self.value.setText(value)
        self.detail.setText(detail)
        if level != self.level:
            self.level = level
            self._restyle()

    def value_text(self) -> str:
        """The big number as shown."""
        return self.value.text()
