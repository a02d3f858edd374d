"""Light and dark palettes that follow the system colour scheme (or the user's choice)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")

#: Semantic colours used by pages (verdicts, charts), per theme.
ACCENT = {"light": "#2563eb", "dark": "#60a5fa"}
GOOD = {"light": "#15803d", "dark": "#4ade80"}
WARN = {"light": "#b45309", "dark": "#fbbf24"}
BAD = {"light": "#b91c1c", "dark": "#f87171"}
MUTED = {"light": "#6b7280", "dark": "#9ca3af"}


def effective_theme(choice: str) -> str:
    """'light' or 'dark' for a choice of 'system', 'light' or 'dark'."""
    if choice in ("light", "dark"):
        return choice
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, choice: str) -> str:
    """Apply the Fusion style with a palette for ``choice``; returns 'light' or 'dark'."""
    theme = effective_theme(choice)
    app.setStyle("Fusion")
    palette = QPalette()
    if theme == "dark":
        base, window, text, mid = "#1e1f22", "#2b2d31", "#e6e6e6", "#3a3d42"
    else:
        base, window, text, mid = "#ffffff", "#f4f5f7", "#1f2328", "#d0d4da"
    palette.setColor(QPalette.ColorRole.Window, QColor(window))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(text))
    palette.setColor(QPalette.ColorRole.Base, QColor(base))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor(window))
    palette.setColor(QPalette.ColorRole.Text, QColor(text))
    palette.setColor(QPalette.ColorRole.Button, QColor(window))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(text))
    palette.setColor(QPalette.ColorRole.Mid, QColor(mid))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT[theme]))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(base))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(text))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(MUTED[theme]))
    app.setPalette(palette)
    app.setProperty("rigready_theme", theme)
    return theme


def current_theme() -> str:
    """The theme last applied ('light' when none was)."""
    app = QApplication.instance()
    value = app.property("rigready_theme") if app is not None else None
    return value if value in ("light", "dark") else "light"


#: The style of every page's title, so the pages read as one app.
PAGE_TITLE_STYLE = "font-size: 22px; font-weight: 700;"
