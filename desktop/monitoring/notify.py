"""Desktop notifications for alerts through a system-tray icon, when the desktop has a tray.

The tray icon is created the first time an alert needs it (so a session without alerts adds
nothing to the tray). Tests pass their own object with ``showMessage``.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QSystemTrayIcon

from rigready.desktop.monitoring.text import ALERT_TITLES, BAD_ALERTS
from rigready.monitor.alerts import AlertEvent

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
    """Turns raised alerts into tray notifications; cleared alerts stay quiet."""

    def __init__(self, tray: Tray | None = None, *, enabled: bool = True,
                 parent: QObject | None = None) -> None:
        """Create it.

        Args:
            tray: Object to notify through; None makes a :class:`QSystemTrayIcon` on first use
                when :meth:`QSystemTrayIcon.isSystemTrayAvailable` says there is a tray.
            enabled: Whether to notify at all (the user's setting).
            parent: Owner of the tray icon.
        """
        super().__init__(parent)
        self._tray = tray
        self.enabled = enabled
        self.shown = 0

    @property
    def available(self) -> bool:
        """Whether notifications can be shown on this desktop."""
        return self._tray is not None or QSystemTrayIcon.isSystemTrayAvailable()

    def _ensure_tray(self) -> Tray | None:
        if self._tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            icon = QSystemTrayIcon(QIcon(tray_icon_pixmap()), self)
            icon.setToolTip("rigready monitor")
            icon.show()
            self._tray = icon
        return self._tray

    def notify(self, event: AlertEvent) -> bool:
        """Show ``event`` if it was raised and notifications are on; returns whether shown."""
        if not self.enabled or event.state != "raised":
            return False
        tray = self._ensure_tray()
        if tray is None:
            return False
        level = (QSystemTrayIcon.MessageIcon.Critical if event.kind in BAD_ALERTS
                 else QSystemTrayIcon.MessageIcon.Warning)
        title = f"rigready: {ALERT_TITLES.get(event.kind, event.kind)}"
        try:
            tray.showMessage(title, event.message, level, 10000)
        except RuntimeError:  # the icon was deleted with its parent
            log.debug("tray notification failed", exc_info=True)
            return False
        self.shown += 1
        return True
