"""Where the training monitor goes: the screen dialog, the remembered screen, and the link that
opens the monitor for the Monitor page and feeds it snapshots."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QSettings, Slot
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from rigready.desktop.monitoring.text import MonitorSnapshot, choose_screen
from rigready.desktop.monitoring.training_window import TrainingMonitorWindow

SCREEN_KEY = "training_monitor/screen"
ON_TOP_KEY = "training_monitor/on_top"
MAIN_SCREEN_KEY = "window/screen"


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
                 owner: QWidget, on_open: Callable[[], None] | None = None) -> None:
        """Create it; ``snapshot`` builds what the monitor shows now; ``on_open`` is called
        when the monitor opens (the page starts sampling and following runs, even if it was
        never shown)."""
        super().__init__(owner)
        self._settings = settings
        self._snapshot = snapshot
        self._owner = owner
        self._on_open = on_open
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
        if self._on_open is not None:
            self._on_open()
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
