"""What the Monitor page's GUI tests share: a tray that records its notifications, the page
put on screen, and the training monitor window fitted to a screen size (imported by tests/gui
only: it needs Qt)."""

from __future__ import annotations

from typing import Any

from rigready.desktop.context import AppContext
from rigready.desktop.monitoring.controller import MonitorController
from rigready.desktop.monitoring.notify import AlertNotifier
from rigready.desktop.monitoring.run_follower import RunFollower
from rigready.desktop.monitoring.training_window import TrainingMonitorWindow
from rigready.desktop.pages.monitor import MonitorPage


class FakeTray:
    """A tray icon that keeps each notification as (title, message) and its icon."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.icons: list[Any] = []

    def showMessage(self, title: str, msg: str, icon: Any, msecs: int = 10000) -> None:
        self.messages.append((title, msg))
        self.icons.append(icon)


def show_page(qtbot: Any, context: AppContext, controller: MonitorController, *,
              tray: FakeTray | None = None, follower: RunFollower | None = None,
              size: tuple[int, int] | None = None) -> MonitorPage:
    """A Monitor page that does not start sampling by itself, shown (at ``size`` if given)."""
    page = MonitorPage(context, controller=controller,
                       notifier=AlertNotifier(tray or FakeTray()), autostart=False,
                       follower=follower)
    qtbot.addWidget(page)
    if size is not None:
        page.resize(*size)
    page.show()
    return page


def fit_training_window(qtbot: Any, window: TrainingMonitorWindow,
                        size: tuple[int, int]) -> None:
    """Scale the window's fonts to ``size``, check that it fits there, and show it at it."""
    width, height = size
    window._scale_fonts(width, height)
    hint = window.minimumSizeHint()
    assert hint.width() <= width and hint.height() <= height, (size, hint)
    window.resize(width, height)
    window.show()
    qtbot.waitUntil(lambda: window.width() == width)
