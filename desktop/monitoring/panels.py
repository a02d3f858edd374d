"""Small widgets of the Monitor page: the recent-events list, the alert banner and the
time-window selector."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rigready.desktop.monitoring.text import (
    WINDOWS,
    alert_level,
    event_level,
    format_event,
    titled,
)
from rigready.desktop.theme import BAD, GOOD, MUTED, WARN, page_title
from rigready.monitor.store_read import EventRecord

LEVEL = {"ok": GOOD, "good": GOOD, "warn": WARN, "bad": BAD}
MAX_EVENTS = 200


class EventsPanel(QWidget):
    """"Recent events": alerts, throttle episodes and gaps, newest first."""

    def __init__(self, theme: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Recent events")
        title.setStyleSheet("font-weight: 600;")
        layout.addWidget(title)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(False)
        layout.addWidget(self.list, 1)
        self.empty = QLabel("Nothing yet: alerts, throttling and sensor gaps appear here.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(f"color: {MUTED[theme]};")
        layout.addWidget(self.empty)
        self._shown: tuple[int, float] = (-1, 0.0)

    def set_events(self, events: Sequence[EventRecord]) -> None:
        """Show the newest :data:`MAX_EVENTS` events (skips work when nothing changed)."""
        key = (len(events), events[-1].time if events else 0.0)
        if key == self._shown:
            return
        self._shown = key
        self.list.clear()
        for event in reversed(events[-MAX_EVENTS:]):
            item = QListWidgetItem(format_event(event))
            level = event_level(event)
            if level != "ok":
                item.setForeground(QColor(LEVEL[level][self.theme]))
            item.setToolTip(f"{event.kind} · {event.name} · {event.state or 'change'}")
            self.list.addItem(item)
        self.empty.setVisible(not events)

    def messages(self) -> list[str]:
        """The lines as shown, newest first."""
        return [self.list.item(i).text() for i in range(self.list.count())]


class AlertBanner(QLabel):
    """A coloured strip naming the active alerts; hidden when there are none."""

    def __init__(self, theme: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.setWordWrap(True)
        self.setVisible(False)
        self.level = "ok"

    def show_alerts(self, alerts: Sequence[tuple[str, str]], prefix: str = "") -> None:
        """``alerts`` as (kind, message); an empty list hides the banner."""
        if not alerts:
            self.level = "ok"
            self.setVisible(False)
            return
        self.level = alert_level(kind for kind, _ in alerts)
        colour = LEVEL[self.level][self.theme]
        lines = [titled(kind, message) for kind, message in alerts]
        self.setText(prefix + "\n".join(lines))
        self.setToolTip("\n".join(lines))
        self.setStyleSheet(f"color: {colour}; border: 1px solid {colour}; border-radius: 6px;"
                           " padding: 6px 10px; font-weight: 600;")
        self.setVisible(True)


class WindowSelector(QWidget):
    """Segmented buttons 1 min … 30 d and "Session". Signal ``chosen(key)``."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        label = QLabel("Show")
        row.addWidget(label)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        for choice in WINDOWS:
            button = QToolButton()
            button.setText(choice.key)
            button.setCheckable(True)
            button.setAutoRaise(False)
            if choice.from_store:
                button.setToolTip("1-minute averages from the database")
            self.group.addButton(button)
            self.buttons[choice.key] = button
            button.clicked.connect(lambda _checked=False, k=choice.key: self.chosen.emit(k))
            row.addWidget(button)
        row.addStretch(1)

    def set_current(self, key: str) -> None:
        """Check ``key``'s button without emitting."""
        self.buttons[key].setChecked(True)

    def current(self) -> str:
        """The checked key."""
        for key, button in self.buttons.items():
            if button.isChecked():
                return key
        return ""


class SourceControls(QWidget):
    """Logging (label, Start logging, Stop), replay (Open database…, session picker, Back to
    live) and the GPU picker, in one row. The page connects the buttons; ``database_chosen``
    (a path) fires when a database file was picked, ``session_chosen`` (an id) when a session
    of the replayed database was."""

    database_chosen = Signal(str)
    session_chosen = Signal(int)

    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._folder = folder
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("Session label (optional)")
        self.label_edit.setToolTip("A name for the logged session, e.g. 'lora run 3'")
        self.label_edit.setMinimumWidth(170)
        self.label_edit.setMaximumWidth(220)
        self.start_button = QPushButton("Start logging")
        self.stop_button = QPushButton("Stop")
        self.open_button = QPushButton("Open database…")
        self.session_box = QComboBox()
        self.session_box.setMinimumWidth(220)
        self.session_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.session_box.setVisible(False)
        self.live_button = QPushButton("Back to live")
        self.live_button.setVisible(False)
        self.gpu_box = QComboBox()
        self.gpu_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        logging: tuple[QWidget, ...] = (self.label_edit, self.start_button, self.stop_button)
        replay: tuple[QWidget, ...] = (self.open_button, self.session_box, self.live_button)
        for widget in logging:
            row.addWidget(widget)
        row.addSpacing(16)
        for widget in replay:
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.gpu_box)
        self.open_button.clicked.connect(self._ask_database)
        self.session_box.activated.connect(self._on_session_picked)

    def _ask_database(self) -> None:
        dialog = QFileDialog(self, "Open monitoring database", str(self._folder),
                             "SQLite databases (*.sqlite3 *.sqlite *.db);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.database_chosen.emit)
        dialog.open()

    def _on_session_picked(self, index: int) -> None:
        session_id = self.session_box.itemData(index)
        if isinstance(session_id, int):
            self.session_chosen.emit(session_id)

    def set_replaying(self, replaying: bool) -> None:
        """Show the session picker and Back to live only while replaying, and the logging
        controls only while live (the row had no room for both at 1024 px)."""
        self.session_box.setVisible(replaying)
        self.live_button.setVisible(replaying)
        for widget in (self.label_edit, self.start_button, self.stop_button):
            widget.setVisible(not replaying)

    def fill_sessions(self, sessions: Sequence[tuple[int, str]], current: int) -> None:
        """(id, text) entries; selects ``current`` without emitting."""
        self.session_box.blockSignals(True)
        self.session_box.clear()
        for session_id, text in sessions:
            self.session_box.addItem(text, session_id)
        self.session_box.setCurrentIndex(max(0, self.session_box.findData(current)))
        self.session_box.blockSignals(False)

    def fill_gpus(self, names: dict[int, str], current: int) -> int:
        """List the GPUs (unchanged lists are left alone); returns the GPU now selected."""
        wanted = [(i, f"GPU {i}: {names[i]}") for i in sorted(names)] or [(0, "No GPU")]
        shown = [(self.gpu_box.itemData(i), self.gpu_box.itemText(i))
                 for i in range(self.gpu_box.count())]
        if current not in names:
            current = min(names, default=0)
        if wanted != shown:
            self.gpu_box.blockSignals(True)
            self.gpu_box.clear()
            for index, text in wanted:
                self.gpu_box.addItem(text, index)
            self.gpu_box.blockSignals(False)
            self.gpu_box.setEnabled(len(names) > 1)
        self.gpu_box.setCurrentIndex(max(0, self.gpu_box.findData(current)))
        return current


class PageHeader(QWidget):
    """Title, a status line and the Alert settings… / Training monitor… buttons."""

    def __init__(self, theme: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        title = page_title("Monitor")
        row.addWidget(title)
        self.status = QLabel("")
        self.status.setWordWrap(True)  # a long replay line wraps rather than being cut
        row.addWidget(self.status, 1)
        self.settings_button = QPushButton("Alert settings…")
        self.training_button = QPushButton("Training monitor…")
        self.training_button.setToolTip("Large numbers, full screen, for a second screen")
        row.addWidget(self.settings_button)
        row.addWidget(self.training_button)

    def say(self, text: str, *, bad: bool = False) -> None:
        """Show ``text`` in the status line (red when ``bad``)."""
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {(BAD if bad else MUTED)[self.theme]};")
