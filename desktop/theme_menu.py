"""View → Theme: System, Light or Dark, remembered in the settings and applied at once."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from rigready.desktop.theme import THEMES, apply_theme

THEME_KEY = "appearance/theme"
_LABELS = {"system": "&System", "light": "&Light", "dark": "&Dark"}


def saved_theme(settings: QSettings) -> str:
    """The stored theme choice; ``"system"`` when none (or an unknown one) is stored."""
    value = settings.value(THEME_KEY, "system")
    return value if isinstance(value, str) and value in THEMES else "system"


class ThemeMenu(QMenu):
    """Three exclusive, checkable theme actions; the current choice is checked.

    Choosing one stores it under ``appearance/theme``, applies it to the application and emits
    :attr:`theme_changed` with the effective theme ('light' or 'dark').
    """

    #: The effective theme after a change: 'light' or 'dark'.
    theme_changed = Signal(str)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__("&Theme", parent)
        self.settings = settings
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions_by_theme: dict[str, QAction] = {}
        current = saved_theme(settings)
        for theme in THEMES:
            action = QAction(_LABELS[theme], self)
            action.setCheckable(True)
            action.setChecked(theme == current)
            action.setData(theme)
            self.group.addAction(action)
            self.addAction(action)
            self.actions_by_theme[theme] = action
        self.group.triggered.connect(self._on_triggered)

    def choose(self, theme: str) -> str:
        """Store and apply ``theme`` (one of ``THEMES``); returns the effective theme."""
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}; themes: {', '.join(THEMES)}")
        self.actions_by_theme[theme].setChecked(True)
        self.settings.setValue(THEME_KEY, theme)
        self.settings.sync()
        app = QApplication.instance()
        effective = apply_theme(app, theme) if isinstance(app, QApplication) else "light"
        self.theme_changed.emit(effective)
        return effective

    @Slot(QAction)
    def _on_triggered(self, action: QAction) -> None:
        self.choose(str(action.data()))
