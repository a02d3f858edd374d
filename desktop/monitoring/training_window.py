"""The second-screen training monitor: a full-screen window of large numbers and sparklines.

It is a separate top-level window shown full screen on the screen the user picks in
:class:`TrainingMonitorDialog` (remembered in settings; by default a screen other than the main
window's). Numbers scale with the window height so they can be read across a room. Esc closes
it. It always uses dark colours: a bright full-screen panel beside a training run is tiring.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QPalette,
    QScreen,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rigready.desktop.monitoring.snapshots import SPARK_SECONDS
from rigready.desktop.monitoring.text import (
    ALERT_TITLES,
    MonitorSnapshot,
    alert_level,
    choose_screen,
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
SCREEN_KEY = "training_monitor/screen"
ON_TOP_KEY = "training_monitor/on_top"
MAIN_SCREEN_KEY = "window/screen"
#: The widest big numbers a tile shows (VRAM of a 141 GiB card, a 2 GHz clock, a day-long
#: session): the font is sized so that each fits its column.
WIDEST_VALUES = ("188.8 GiB", "8888 MHz", "1000 W", "99:59:59")
MARGINS, GRID_SPACING, TILE_PADDING = (28, 20, 28, 14), 16, 12 + 12 + 2 * 2
#: (tile key, caption, sparkline column, fixed y range)
TILES: tuple[tuple[str, str, str | None, tuple[float, float] | None], ...] = (
    ("gpu", "GPU UTILISATION", "gpu_util_pct", (0, 105)),
    ("vram", "VRAM USED", "vram_used_gib", None),
    ("temp", "TEMPERATURE", "temp_c", None),
    ("power", "POWER", "power_w", None),
    ("clocks", "SM CLOCK", "sm_clock_mhz", None),
    ("elapsed", "SESSION TIME", None, None),
)
#: Sparkline y tops come from these limit columns.
_TOPS = {"vram": "vram_total_gib", "temp": "temp_slowdown_c", "power": "power_limit_w",
         "clocks": "sm_clock_max_mhz"}


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
        self.source = QLabel("")
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.source)
        outer.addLayout(top)
        self.alert_bar = QLabel("Waiting for the first reading")  # nothing is "clear" yet
        self.alert_bar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.alert_bar.setWordWrap(True)  # several alerts at once never widen the window
        outer.addWidget(self.alert_bar)
        grid = QGridLayout()
        grid.setSpacing(GRID_SPACING)
        self.tiles: dict[str, ValueTile] = {}
        for i, (key, caption, column, y_range) in enumerate(TILES):
            tile = ValueTile(caption, THEME, sparkline=column is not None, y_range=y_range,
                             colours=(FOREGROUND, PANEL))
            if tile.sparkline is not None:
                # a chart is as wide as its column: its 600 px size hint would make the layout
                # shrink the columns unevenly from their hints instead of splitting them evenly
                tile.sparkline.setSizePolicy(QSizePolicy.Policy.Ignored,
                                             tile.sparkline.sizePolicy().verticalPolicy())
            self.tiles[key] = tile
            grid.addWidget(tile, i // 3, i % 3)
        for grid_column in range(3):
            grid.setColumnStretch(grid_column, 1)
        outer.addLayout(grid, 1)
        self.hint = QLabel("Esc leaves full screen · rigready")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight)
        outer.addWidget(self.hint)
        self.alert_state = "none"
        self._base_px = 0
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

    def _scale_fonts(self, width: int | None = None, height: int | None = None) -> None:
        # Called from show_on() and refresh() rather than from a resizeEvent override: PySide
        # may deliver resize events to Python while the interpreter shuts down.
        width = self.width() if width is None else width
        height = self.height() if height is None else height
        px = max(28, min(height // 9, value_px_for_width(width)))
        if px == self._base_px:
            return
        self._base_px = px
        for tile in self.tiles.values():
            tile.set_value_px(px)
        small = max(14, px // 4)
        self.title.setStyleSheet(f"font-size: {small + 6}px; font-weight: 700;"
                                 f" color: {FOREGROUND};")
        self.source.setStyleSheet(f"font-size: {small}px; color: {MUTED[THEME]};")
        self.hint.setStyleSheet(f"font-size: {max(11, small // 2 + 4)}px; color: {MUTED[THEME]};")
        self._style_alert_bar()

    def _style_alert_bar(self) -> None:
        colour = {"ok": GOOD, "warn": WARN, "bad": BAD, "none": MUTED}[self.alert_state][THEME]
        px = max(16, self._base_px // 3)
        self.alert_bar.setStyleSheet(
            f"background: {colour}; color: {BACKDROP}; font-size: {px}px; font-weight: 700;"
            " border-radius: 10px; padding: 10px;")

    # -- data ----------------------------------------------------------------------------

    def refresh(self, snapshot: MonitorSnapshot) -> None:
        """Show a new snapshot."""
        self._scale_fonts()
        self.title.setText(snapshot.title)
        self.source.setText(snapshot.source)
        row = snapshot.latest()
        texts = tile_texts(row)
        levels = tile_levels(row)
        for key, (value, detail) in texts.items():
            if key in self.tiles:
                self.tiles[key].set_text(value, detail, levels[key])
        since = "not logging" if snapshot.elapsed_s is None else ""
        if snapshot.elapsed_s is not None and snapshot.times.size:
            since = "since " + clock_text(float(snapshot.times[-1]) - snapshot.elapsed_s)
        self.tiles["elapsed"].set_text(format_elapsed(snapshot.elapsed_s), since)
        for key, _caption, column, _range in TILES:
            spark = self.tiles[key].sparkline
            if spark is None or column is None:
                continue
            top = None
            if key in _TOPS and row is not None:
                limit = row[COLUMN[_TOPS[key]]]
                top = None if np.isnan(limit) else limit * (1.08 if key != "temp" else 1.0)
            spark.set_series(snapshot.times, snapshot.values[COLUMN[column]], SPARK_SECONDS, top)
        kinds = [kind for kind, _message in snapshot.alerts]
        self.alert_state = alert_level(kinds)
        read = [] if row is None else [row[COLUMN[c]] for _k, _t, c, _r in TILES if c]
        if not read or all(np.isnan(v) for v in read):
            # nothing is read, so nothing is "clear": say so in a neutral colour
            self.alert_state = "none"
            self.alert_bar.setText("No GPU readings: nothing to watch on this screen")
        elif snapshot.alerts:
            lines = [f"{ALERT_TITLES.get(k, k)} — {m}" for k, m in snapshot.alerts]
            self.alert_bar.setText("   ·   ".join(lines))
        else:
            self.alert_bar.setText("All clear")
        self._style_alert_bar()


@functools.lru_cache(maxsize=32)  # refresh() asks every second; the answer depends on width only
def value_px_for_width(width: int) -> int:
    """The largest font size (px) at which :data:`WIDEST_VALUES` fit a tile of a ``width`` window.

    The three columns share what the margins and spacing leave; a tile's minimum width is its
    widest number, so a font bounded by the height only made a 1024 px screen's window 1047 px
    wide and its columns uneven (issue 15).
    """
    inner = (width - MARGINS[0] - MARGINS[2] - 2 * GRID_SPACING) // 3 - TILE_PADDING
    font = QFont()
    font.setBold(True)
    px = max(12, width // 14)
    while px > 12:
        font.setPixelSize(px)
        metrics = QFontMetrics(font)
        if max(metrics.horizontalAdvance(text) for text in WIDEST_VALUES) <= inner:
            break
        px -= 1
    return px


def screen_label(screen: QScreen) -> str:
    """A screen as a person recognises it: name, model and size."""
    size = screen.geometry()
    model = screen.model() or screen.manufacturer()
    name = screen.name() + (f" ({model})" if model and model not in screen.name() else "")
    return f"{name} — {size.width()}×{size.height()}"


class TrainingMonitorDialog(QDialog):
    """Pick the screen (and stay-on-top) for the training monitor; open it with ``open()``."""

    def __init__(self, settings: QSettings, main_screen: str | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Training monitor")
        self.screens = list(QGuiApplication.screens())
        layout = QVBoxLayout(self)
        intro = QLabel("Shows large numbers full screen, for a second screen beside a training "
                       "run. Press Esc on it to leave.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.screen_box = QComboBox()
        for screen in self.screens:
            mark = " · main window" if screen.name() == main_screen else ""
            self.screen_box.addItem(screen_label(screen) + mark, screen.name())
        saved = settings.value(SCREEN_KEY)
        index = choose_screen([s.name() for s in self.screens],
                              saved if isinstance(saved, str) else None, main_screen)
        self.screen_box.setCurrentIndex(max(0, index))
        form.addRow("Screen", self.screen_box)
        self.on_top = QCheckBox("Stay on top of other windows")
        raw = settings.value(ON_TOP_KEY, False)
        self.on_top.setChecked(raw is True or str(raw).lower() == "true")
        form.addRow("", self.on_top)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Show full screen")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def value(self) -> tuple[str, bool]:
        """(screen name, stay on top)."""
        return str(self.screen_box.currentData() or ""), self.on_top.isChecked()


def find_screen(name: str) -> QScreen | None:
    """The connected screen called ``name``, else the primary screen."""
    for screen in QGuiApplication.screens():
        if screen.name() == name:
            return screen
    return QGuiApplication.primaryScreen()


class TrainingMonitorLink(QObject):
    """Opens the training monitor for a page, remembers the screen and feeds it snapshots."""

    def __init__(self, settings: QSettings, snapshot: Callable[[], MonitorSnapshot],
                 owner: QWidget) -> None:
        """Create it; ``snapshot`` builds what the monitor shows now."""
        super().__init__(owner)
        self._settings = settings
        self._snapshot = snapshot
        self._owner = owner
        self.window: TrainingMonitorWindow | None = None

    def main_screen(self) -> str | None:
        """Name of the screen the main window is on (also saved in settings)."""
        screen = self._owner.window().screen()
        if screen is None:
            return None
        self._settings.setValue(MAIN_SCREEN_KEY, screen.name())
        return screen.name()

    def open_dialog(self) -> TrainingMonitorDialog:
        """Ask for the screen with a dialog opened by ``open()``; show the monitor on OK."""
        dialog = TrainingMonitorDialog(self._settings, self.main_screen(), self._owner)
        dialog.accepted.connect(lambda: self.open(*dialog.value()))
        dialog.open()
        return dialog

    def open(self, screen_name: str, stay_on_top: bool = False) -> TrainingMonitorWindow:
        """Show the monitor full screen on ``screen_name`` and remember the choice."""
        self._settings.setValue(SCREEN_KEY, screen_name)
        self._settings.setValue(ON_TOP_KEY, stay_on_top)
        self._settings.sync()
        if self.window is None:
            self.window = TrainingMonitorWindow()
            self.window.closed.connect(self._on_closed)
        screen = find_screen(screen_name)
        if screen is not None:
            self.window.show_on(screen, stay_on_top)
        self.window.refresh(self._snapshot())
        return self.window

    def refresh(self) -> None:
        """Feed the open monitor (no-op when closed)."""
        if self.window is not None:
            self.window.refresh(self._snapshot())

    def close(self) -> None:
        """Close the monitor if open."""
        if self.window is not None:
            self.window.close()

    @Slot()
    def _on_closed(self) -> None:
        if self.window is not None:
            self.window.deleteLater()
        self.window = None
