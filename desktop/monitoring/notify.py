"""Desktop notifications for alerts: through a system-tray icon where the desktop has a tray,
else as freedesktop notifications (``notify-send`` or ``gdbus``, as ``rigready run`` sends
them: :class:`rigready.monitor.training.notify.Notifier`; GNOME has no tray).

The tray icon is created the first time an alert needs it (so a session without alerts adds
nothing to the tray). Tests pass their own object with ``showMessage``, or their own
:class:`~rigready.monitor.training.notify.Notifier`.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QSystemTrayIcon

from rigready.desktop.monitoring.text import ALERT_TITLES, alert_level
from rigready.monitor.alerts import AlertEvent
from rigready.monitor.training.notify import Notice, Notifier, desktop_argv

log = logging.getLogger(__name__)


class Tray(Protocol):
    """The part of :class:`QSystemTrayIcon` the notifier uses."""

    def showMessage(self, title: str, msg: str, icon: QSystemTrayIcon.MessageIcon,
                    msecs: int = 10000) -> None:
        """Pop up a notification."""
        ...


def tray_icon_pixmap(colour: str = "#2563eb", size: int = 64) -> QPixmap:
    """A plain filled circle: the tray needs some icon, and this needs no resource file."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(4, 4, size - 8, size - 8)
    painter.end()
    return pixmap


class AlertNotifier(QObject):
    """Turns raised alerts into desktop notifications; cleared alerts stay quiet."""

    def __init__(self, tray: Tray | None = None, *, desktop: Notifier | None = None,
                 enabled: bool = True, parent: QObject | None = None) -> None:
        """Create it.

        Args:
            tray: Object to notify through; None makes a :class:`QSystemTrayIcon` on first use
                when :meth:`QSystemTrayIcon.isSystemTrayAvailable` says there is a tray.
            desktop: Freedesktop notifier used where there is no tray (None: one that starts
                ``notify-send``/``gdbus`` when the first alert needs it).
            enabled: Whether to notify at all (the user's setting).
            parent: Owner of the tray icon.
        """
        super().__init__(parent)
        self._tray = tray
        self._desktop = desktop
        self.enabled = enabled
        self.shown = 0

    @property
    def available(self) -> bool:
        """Whether notifications can be shown on this desktop: a tray, or a session bus and
        ``notify-send`` or ``gdbus`` for freedesktop notifications."""
        if self._tray is not None or QSystemTrayIcon.isSystemTrayAvailable():
            return True
        probe = Notice(kind="probe", state="raised", title="", message="", level="ok", time=0)
        desktop = self._desktop or Notifier()
        return desktop_argv(probe, desktop.which, desktop.env) is not None

    def _ensure_tray(self) -> Tray | None:
        if self._tray is None and self._desktop is None \
                and QSystemTrayIcon.isSystemTrayAvailable():
            icon = QSystemTrayIcon(QIcon(tray_icon_pixmap()), self)
            icon.setToolTip("rigready monitor")
            icon.show()
            self._tray = icon
        return self._tray

    def notify(self, event: AlertEvent) -> bool:
        """Show a GPU alert if it was raised and notifications are on; returns whether shown."""
        if event.state != "raised":
            return False
        return self.notify_text(event.kind, event.message, event.time)

    def notify_text(self, kind: str, message: str, when: float, label: str | None = None
                    ) -> bool:
        """Show a raised alert of ``kind`` (GPU or run) if notifications are on."""
        if not self.enabled:
            return False
        title = f"rigready: {ALERT_TITLES.get(kind, kind)}" + (f" ({label})" if label else "")
        level = alert_level([kind])
        tray = self._ensure_tray()
        if tray is None:
            if self._desktop is None:
                self._desktop = Notifier(desktop=True)
            self._desktop.notify(Notice(kind=kind, state="raised",
                                        title=ALERT_TITLES.get(kind, kind), message=message,
                                        level=level, time=when, label=label))
            self.shown += 1
            return True
        icon = {"bad": QSystemTrayIcon.MessageIcon.Critical,
                "warn": QSystemTrayIcon.MessageIcon.Warning}.get(
            level, QSystemTrayIcon.MessageIcon.Information)
        try:
            tray.showMessage(title, message, icon, 10000)
        except RuntimeError:  # the icon was deleted with its parent
            log.debug("tray notification failed", exc_info=True)
            return False
        self.shown += 1
        return True
