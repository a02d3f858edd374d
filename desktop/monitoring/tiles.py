"""Value tiles: a caption, one big number, a detail line and an optional sparkline, and the
Monitor page's row of them (:class:`GpuTileRow`).

The page uses them small; the training monitor scales their fonts with the window so the number
can be read across a room.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rigready.desktop.monitoring.text import tile_levels, tile_texts
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


#: (key, caption) of the Monitor page's tiles.
PAGE_TILES = (("gpu", "GPU"), ("vram", "VRAM"), ("temp", "Temperature"), ("power", "Power"),
              ("clocks", "SM clock"), ("host", "CPU"))


class GpuTileRow(QWidget):
    """The Monitor page's six tiles in a row: the GPU's values (a replay: its peaks) and CPU."""

    def __init__(self, theme: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self.tiles = {key: ValueTile(caption, theme, value_px=22) for key, caption in PAGE_TILES}
        for tile in self.tiles.values():
            row.addWidget(tile)

    def show_values(self, row: Sequence[float] | None, peaks: bool) -> None:
        """Show one ring row (``peaks``: a replay's column peaks, said in the captions)."""
        texts, levels = tile_texts(row), tile_levels(row)
        for key, caption in PAGE_TILES:
            self.tiles[key].caption.setText(f"{caption} · peak" if peaks else caption)
            self.tiles[key].set_text(*texts[key], levels[key])

    def show_gpu(self, gpu: bool) -> None:
        """Without GPU readings only the CPU tile is shown."""
        for key, _caption in PAGE_TILES:
            self.tiles[key].setVisible(gpu or key == "host")
        self.tiles["host"].setMaximumWidth(16777215 if gpu else 280)

    def fit(self, width: int) -> None:
        """Size the numbers to a row ``width`` wide, so "1980 MHz" is never cut at 1024 px."""
        shown = [t for t in self.tiles.values() if not t.isHidden()] or list(self.tiles.values())
        room = (width - 10 * (len(shown) - 1)) / max(1, len(shown)) - 26
        font = QFont(self.font())
        font.setBold(True)
        px = 22
        while px > 14:
            font.setPixelSize(px)
            if QFontMetrics(font).horizontalAdvance("8888 MHz") <= room:
                break
            px -= 1
        for tile in self.tiles.values():
            if tile._value_px != px:
                tile.set_value_px(px)
