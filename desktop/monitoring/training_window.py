"""The second-screen training monitor: a full-screen window of large numbers and charts.

Without a run it shows the GPU in six big tiles (utilisation, VRAM, temperature, power, clock,
session time; without GPU readings, CPU and RAM). While a run is followed or replayed, the run
is the largest thing on it: step / total with a progress bar, the loss chart (raw faint,
smoothed bold, eval points), ETA, elapsed, loss, learning rate, throughput and the run's own
VRAM; the GPU tiles move to one row underneath. It is a separate top-level window shown full
screen on the screen the user picks (:mod:`.training_link`). Numbers scale with the window so
they can be read across a room, and always fit their tiles. Esc closes it. It always uses dark
colours: a bright full-screen panel beside a training run is tiring.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFont, QFontMetrics, QKeyEvent, QPalette, QScreen
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rigready.desktop.monitoring.run_widgets import RunPanel
from rigready.desktop.monitoring.snapshots import SPARK_SECONDS
from rigready.desktop.monitoring.text import (
    ALERT_TITLES,
    MonitorSnapshot,
    alert_level,
    clock_text,
    format_elapsed,
    tile_levels,
    tile_texts,
)
from rigready.desktop.monitoring.tiles import ValueTile
from rigready.desktop.theme import BAD, FIXED_THEME_PROPERTY, GOOD, MUTED, WARN
from rigready.monitor.ring import COLUMN

THEME = "dark"
FOREGROUND, PANEL, BACKDROP = "#f1f3f5", "#1b1e22", "#111316"
#: The widest big numbers a tile shows (VRAM of a 141 GiB card, a 2 GHz clock, a day-long
#: session): the font is sized so that each fits its column.
WIDEST_VALUES = ("188.8 GiB", "8888 MHz", "1000 W", "99:59:59")
#: The widest of the run's tiles (VRAM, a day-long ETA, a learning rate, a throughput).
RUN_WIDEST = ("188.8 GiB", "99:59:59", "2.0e-04", "12,345")
MARGINS, GRID_SPACING, TILE_PADDING = (28, 20, 28, 14), 16, 12 + 12 + 2 * 2
#: Share of the width the run's tiles get beside the loss chart (stretch 4 of 9).
RUN_TILE_SHARE = 4 / 9
#: Below this height the GPU tiles under a run drop their sparklines.
SPARKS_WITH_RUN_PX = 900
#: (tile key, caption, sparkline column, fixed y range)
TILES: tuple[tuple[str, str, str | None, tuple[float, float] | None], ...] = (
    ("gpu", "GPU UTILISATION", "gpu_util_pct", (0, 105)),
    ("vram", "VRAM USED", "vram_used_gib", None),
    ("temp", "TEMPERATURE", "temp_c", None),
    ("power", "POWER", "power_w", None),
    ("clocks", "SM CLOCK", "sm_clock_mhz", None),
    ("cpu", "CPU", "cpu_pct", (0, 105)),
    ("ram", "RAM", "ram_pct", (0, 105)),
    ("elapsed", "SESSION TIME", None, None),
)
GPU_TILES = ("gpu", "vram", "temp", "power", "clocks")
HOST_TILES = ("cpu", "ram")
#: Sparkline y tops come from these limit columns.
_TOPS = {"vram": "vram_total_gib", "temp": "temp_slowdown_c", "power": "power_limit_w",
         "clocks": "sm_clock_max_mhz"}
_GPU_COLUMNS = tuple(c for k, _t, c, _r in TILES if k in GPU_TILES and c)
_LEVEL_COLOURS = {"ok": GOOD, "good": GOOD, "warn": WARN, "bad": BAD, "none": MUTED}


def dark_palette() -> QPalette:
    """Colours of the training monitor, whatever the app's theme."""
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#111316"),
                         (QPalette.ColorRole.WindowText, "#f1f3f5"),
                         (QPalette.ColorRole.Base, "#1b1e22"),
                         (QPalette.ColorRole.Text, "#f1f3f5"),
                         (QPalette.ColorRole.Button, "#1b1e22"),
                         (QPalette.ColorRole.ButtonText, "#f1f3f5"),
                         (QPalette.ColorRole.Mid, "#3a3d42")):
        palette.setColor(role, QColor(colour))
    return palette


def gpu_read(row: list[float] | None) -> bool:
    """Whether a ring row holds any GPU reading."""
    return row is not None and any(not math.isnan(row[COLUMN[c]]) for c in _GPU_COLUMNS)


class TrainingMonitorWindow(QWidget):
    """Full-screen big-number view. Feed it :class:`MonitorSnapshot` objects via :meth:`refresh`.

    Signals:
        closed: The window was closed (Esc or the window manager).
    """

    closed = Signal()

    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setObjectName("training-monitor")
        self.setWindowTitle("rigready — training monitor")
        self.setPalette(dark_palette())
        self.setProperty(FIXED_THEME_PROPERTY, True)  # dark in either app theme (a 2nd screen)
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"QWidget#training-monitor {{ background: {BACKDROP}; }}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(*MARGINS)
        outer.setSpacing(14)
        top = QHBoxLayout()
        self.title = QLabel("—")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.source = QLabel("")
        top.addWidget(self.title, 1)
        top.addWidget(self.source)
        outer.addLayout(top)
        self.alert_bar = QLabel("Waiting for the first reading")  # nothing is "clear" yet
        self.alert_bar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.alert_bar.setWordWrap(True)  # several alerts at once never widen the window
        outer.addWidget(self.alert_bar)
        self.run_panel = RunPanel(THEME, compact=False, colours=(FOREGROUND, PANEL))
        self.run_panel.setVisible(False)
        outer.addWidget(self.run_panel, 3)
        self.grid = QGridLayout()
        self.grid.setSpacing(GRID_SPACING)
        self.tiles: dict[str, ValueTile] = {}
        for key, caption, column, y_range in TILES:
            tile = ValueTile(caption, THEME, sparkline=column is not None, y_range=y_range,
                             colours=(FOREGROUND, PANEL))
            tile.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            if tile.sparkline is not None:
                # a chart is as wide as its column: its 600 px size hint would make the layout
                # shrink the columns unevenly from their hints instead of splitting them evenly
                tile.sparkline.setSizePolicy(QSizePolicy.Policy.Ignored,
                                             tile.sparkline.sizePolicy().verticalPolicy())
            tile.setVisible(False)
            self.tiles[key] = tile
        outer.addLayout(self.grid, 1)
        self.hint = QLabel("Esc leaves full screen · rigready")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight)
        outer.addWidget(self.hint)
        self.alert_state = "none"
        #: (run shown, GPU tiles shown)
        self.mode: tuple[bool, bool] | None = None
        self._fonts: tuple[int, int, tuple[bool, bool]] | None = None
        self._small = 14
        self._arrange(False, True)
        self._scale_fonts()

    # -- showing -------------------------------------------------------------------------

    def show_on(self, screen: QScreen, stay_on_top: bool = False) -> None:
        """Go full screen on ``screen``, optionally above other windows."""
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, stay_on_top)
        self.setScreen(screen)
        geometry = screen.geometry()
        self.setGeometry(geometry)
        self._scale_fonts(geometry.width(), geometry.height())
        self.showFullScreen()
        self.raise_()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc closes the window."""
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Tell the page, which stops feeding it."""
        self.closed.emit()
        super().closeEvent(event)

    def shown_tiles(self) -> tuple[str, ...]:
        """Keys of the tiles laid out now, in order."""
        run, gpu = self.mode or (False, True)
        return (GPU_TILES if gpu else HOST_TILES) + (() if run else ("elapsed",))

    def _arrange(self, run: bool, gpu: bool) -> None:
        """Lay the tiles out: three columns alone; one row under a run."""
        if self.mode == (run, gpu):
            return
        self.mode = (run, gpu)
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
            tile.setVisible(False)
        keys = self.shown_tiles()
        columns = len(keys) if run else 3
        for i, key in enumerate(keys):
            self.grid.addWidget(self.tiles[key], i // columns, i % columns)
            self.tiles[key].setVisible(True)
        for column in range(8):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)
        self.run_panel.setVisible(run)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.setStretchFactor(self.grid, 1)
        self._fonts = None

    def _scale_fonts(self, width: int | None = None, height: int | None = None) -> None:
        # Called from show_on() and refresh() rather than from a resizeEvent override: PySide
        # may deliver resize events to Python while the interpreter shuts down.
        width = self.width() if width is None else width
        height = self.height() if height is None else height
        mode = self.mode or (False, True)
        if self._fonts == (width, height, mode):
            return
        self._fonts = (width, height, mode)
        run, _gpu = mode
        keys = self.shown_tiles()
        if run:
            px = max(16, min(height // 24, value_px_for(width, len(keys), WIDEST_VALUES)))
            run_px = max(20, min(height // 15, run_value_px(width)))
            self.run_panel.set_scale(run_px)
            small = max(14, run_px // 3)
        else:
            px = max(28, min(height // 9, value_px_for(width, 3, WIDEST_VALUES)))
            small = max(14, px // 4)
        sparks = not run or height >= SPARKS_WITH_RUN_PX
        for key in keys:
            self.tiles[key].set_value_px(px)
            spark = self.tiles[key].sparkline
            if spark is not None:
                spark.setVisible(sparks)
        self._small = small
        self.title.setStyleSheet(f"font-size: {small + 6}px; font-weight: 700;"
                                 f" color: {FOREGROUND};")
        self.source.setStyleSheet(f"font-size: {small}px; color: {MUTED[THEME]};")
        self.hint.setStyleSheet(f"font-size: {max(11, small // 2 + 4)}px; color: {MUTED[THEME]};")
        self._style_alert_bar()

    def _style_alert_bar(self) -> None:
        colour = _LEVEL_COLOURS[self.alert_state][THEME]
        px = max(16, self._small + 2)
        self.alert_bar.setStyleSheet(
            f"background: {colour}; color: {BACKDROP}; font-size: {px}px; font-weight: 700;"
            " border-radius: 10px; padding: 8px;")

    # -- data ----------------------------------------------------------------------------

    def refresh(self, snapshot: MonitorSnapshot) -> None:
        """Show a new snapshot."""
        row = snapshot.latest()
        run = snapshot.run
        self._arrange(run is not None, row is None or gpu_read(row))
        self._scale_fonts()
        self._set_titles(snapshot)
        texts, levels = tile_texts(row), tile_levels(row)
        for key in self.shown_tiles():
            if key in texts:
                self.tiles[key].set_text(*texts[key], levels[key])
        since = "not logging" if snapshot.elapsed_s is None else ""
        if snapshot.elapsed_s is not None and snapshot.times.size:
            since = "since " + clock_text(float(snapshot.times[-1]) - snapshot.elapsed_s)
        self.tiles["elapsed"].set_text(format_elapsed(snapshot.elapsed_s), since)
        if run is not None:
            self.run_panel.show_run(run)
        self._set_sparklines(snapshot, row)
        self._set_alert_bar(snapshot, row)

    def _set_titles(self, snapshot: MonitorSnapshot) -> None:
        run = snapshot.run
        if run is None:
            self.title.setText(snapshot.title)
            self.source.setText(snapshot.source)
            return
        self.source.setText(f"{snapshot.source} · {snapshot.title}")
        font = QFont(self.title.font())
        font.setPixelSize(self._small + 6)
        source = QFont(self.source.font())
        source.setPixelSize(self._small)
        room = self.width() - MARGINS[0] - MARGINS[2] - 32 - QFontMetrics(
            source).horizontalAdvance(self.source.text())
        heading = f"{run.title} — {run.command}" if run.command else run.title
        self.title.setText(QFontMetrics(font).elidedText(heading, Qt.TextElideMode.ElideRight,
                                                         max(100, room)))
        self.title.setToolTip(heading)

    def _set_sparklines(self, snapshot: MonitorSnapshot, row: list[float] | None) -> None:
        for key, _caption, column, _range in TILES:
            spark = self.tiles[key].sparkline
            if spark is None or column is None or not spark.isVisible():
                continue
            top = None
            if key in _TOPS and row is not None:
                limit = row[COLUMN[_TOPS[key]]]
                top = None if np.isnan(limit) else limit * (1.08 if key != "temp" else 1.0)
            spark.set_series(snapshot.times, snapshot.values[COLUMN[column]], SPARK_SECONDS, top)

    def _set_alert_bar(self, snapshot: MonitorSnapshot, row: list[float] | None) -> None:
        if snapshot.alerts:
            self.alert_state = alert_level(kind for kind, _ in snapshot.alerts)
            lines = [f"{ALERT_TITLES.get(k, k)} — {m}" for k, m in snapshot.alerts]
            self.alert_bar.setText("   ·   ".join(lines))
        elif row is None:
            # nothing is read, so nothing is "clear": say so in a neutral colour
            self.alert_state = "none"
            self.alert_bar.setText("Waiting for the first reading")
        elif not gpu_read(row):
            self.alert_state = "none"
            self.alert_bar.setText("No GPU readings: CPU and RAM shown")
        else:
            self.alert_state = "ok"
            self.alert_bar.setText("All clear")
        self._style_alert_bar()


def _fit_px(inner: int, texts: tuple[str, ...], start: int) -> int:
    font = QFont()
    font.setBold(True)
    px = max(12, start)
    while px > 12:
        font.setPixelSize(px)
        metrics = QFontMetrics(font)
        if max(metrics.horizontalAdvance(text) for text in texts) <= inner:
            break
        px -= 1
    return px


@functools.lru_cache(maxsize=64)  # refresh() asks every second; the answer depends on width only
def value_px_for(width: int, columns: int, texts: tuple[str, ...] = WIDEST_VALUES) -> int:
    """The largest font size (px) at which ``texts`` fit a tile of ``columns`` equal columns
    across a ``width`` window.

    A tile's minimum width is its widest number, so a font bounded by the height only made a
    1024 px screen's window 1047 px wide and its columns uneven (issue 15).
    """
    inner = (width - MARGINS[0] - MARGINS[2] - (columns - 1) * GRID_SPACING) // columns \
        - TILE_PADDING
    return _fit_px(inner, texts, width * 3 // (columns * 14))


def value_px_for_width(width: int) -> int:
    """:func:`value_px_for` three columns (the monitor without a run)."""
    return value_px_for(width, 3)


@functools.lru_cache(maxsize=32)
def run_value_px(width: int) -> int:
    """The largest font size (px) at which :data:`RUN_WIDEST` fit the run's tiles (two columns
    beside the loss chart)."""
    share = int((width - MARGINS[0] - MARGINS[2] - 16) * RUN_TILE_SHARE)
    inner = (share - 14) // 2 - TILE_PADDING
    return _fit_px(inner, RUN_WIDEST, width // 20)
