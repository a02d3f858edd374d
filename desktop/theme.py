"""Light and dark palettes that follow the system colour scheme (or the user's choice), applied
live to every open widget."""

from __future__ import annotations

import re

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLabel, QWidget

THEMES = ("system", "light", "dark")

#: Semantic colours used by pages (verdicts, charts), per theme.
ACCENT = {"light": "#2563eb", "dark": "#60a5fa"}
GOOD = {"light": "#15803d", "dark": "#4ade80"}
WARN = {"light": "#b45309", "dark": "#fbbf24"}
BAD = {"light": "#b91c1c", "dark": "#f87171"}
MUTED = {"light": "#6b7280", "dark": "#9ca3af"}
#: The background of selected items (list rows, the current page and wizard step) under white
#: text: at least 4.5:1 against it (WCAG AA), which the dark theme's light ACCENT is not (2.5:1).
SELECTION = {"light": "#2563eb", "dark": "#1d4ed8"}
#: Text on a selected item.
SELECTED_TEXT = "#ffffff"
#: A second series colour (charts), the text and the background of plots.
SECOND = {"light": "#9333ea", "dark": "#c084fc"}
TEXT = {"light": "#1f2328", "dark": "#e6e6e6"}
BACKGROUND = {"light": "#ffffff", "dark": "#1e1f22"}

#: Every per-theme colour: a live switch rewrites one theme's colours into the other's in the
#: style sheets and rich texts of open widgets (see :func:`retheme_widgets`).
#: (Not SELECTION: its light colour is ACCENT's, so the swap could not tell them apart; what
#: uses it re-styles itself on a switch.)
_THEMED: tuple[dict[str, str], ...] = (ACCENT, GOOD, WARN, BAD, MUTED, SECOND, TEXT, BACKGROUND)
#: A widget (and its children) with this property set keeps its own colours on a switch (the
#: training monitor is always dark).
FIXED_THEME_PROPERTY = "rigready_fixed_theme"
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


def effective_theme(choice: str) -> str:
    """'light' or 'dark' for a choice of 'system', 'light' or 'dark'."""
    if choice in ("light", "dark"):
        return choice
    return system_scheme()


def system_scheme() -> str:
    """The desktop's light/dark preference (Qt 6.5+ style hints); 'light' when it is unknown."""
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
    palette.setColor(QPalette.ColorRole.Highlight, QColor(SELECTION[theme]))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(SELECTED_TEXT))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(base))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(text))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(MUTED[theme]))
    # setColor(role, ...) paints every colour group alike, so a disabled button looked like an
    # enabled one (the wizard's Back on step 1): disabled text gets its own, fainter colour
    faint = QColor("#a0a5ab" if theme == "light" else "#6b6f76")
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, faint)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Light, QColor(window))
    previous = app.property("rigready_theme")
    app.setPalette(palette)
    app.setProperty("rigready_theme", theme)
    if previous in ("light", "dark") and previous != theme:
        retheme_widgets(app, theme)
    return theme


class ThemeSignals(QObject):
    """Emits :attr:`changed` ('light' or 'dark') after a live switch repainted the widgets."""

    changed = Signal(str)


_signals: ThemeSignals | None = None


def theme_signals() -> ThemeSignals:
    """The one :class:`ThemeSignals` of the application."""
    global _signals
    if _signals is None:
        _signals = ThemeSignals()
    return _signals


def swap_colours(text: str, theme: str) -> str:
    """``text`` with every other-theme colour of the palette dicts replaced by ``theme``'s."""
    other = "dark" if theme == "light" else "light"
    table = {d[other].lower(): d[theme] for d in _THEMED}
    return _HEX.sub(lambda m: table.get(m.group(0).lower(), m.group(0)), text)


def _fixed(widget: QWidget) -> bool:
    node: QWidget | None = widget
    while node is not None:
        if node.property(FIXED_THEME_PROPERTY):
            return True
        node = node.parentWidget()
    return False


def _open_widgets(app: QApplication) -> list[QWidget]:
    """Every widget of the windows on screen (and their hidden pages); closed windows waiting
    to be deleted are left alone."""
    out: list[QWidget] = []
    for top in app.topLevelWidgets():
        if shiboken6.isValid(top) and top.isVisible():
            out.append(top)
            out.extend(w for w in top.findChildren(QWidget) if shiboken6.isValid(w))
    return out


def retheme_widgets(app: QApplication, theme: str) -> None:
    """Repaint every open widget in ``theme``, as if it had been built in it.

    A widget styled by a style sheet (its own or a parent's) keeps the palette it was polished
    with, so titles stayed dark on a dark window: each is re-polished. Colours written into
    style sheets and rich text are swapped to the new theme's; a widget's ``theme`` attribute
    is updated so its next refresh uses the new colours, and a ``retheme(theme)`` method
    (charts) is called.
    """
    for widget in _open_widgets(app):
        if _fixed(widget):
            continue
        sheet = widget.styleSheet()
        swapped = swap_colours(sheet, theme) if sheet else sheet
        if swapped != sheet:
            widget.setStyleSheet(swapped)
        else:  # also the children of a styled parent (a card's rows), which have no sheet
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        if isinstance(widget, QLabel) and "#" in widget.text():
            widget.setText(swap_colours(widget.text(), theme))
        # looked up on the instance and its class only: pyqtgraph widgets forward unknown
        # attribute names to their plot items
        if getattr(widget, "__dict__", {}).get("theme") in ("light", "dark"):
            widget.theme = theme  # type: ignore[attr-defined]
        hook = getattr(type(widget), "retheme", None)
        if callable(hook):
            hook(widget, theme)
        if isinstance(widget, QAbstractItemView):
            widget.viewport().update()
        widget.update()
    theme_signals().changed.emit(theme)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21; body text needs 4.5)."""
    def luminance(colour: str) -> float:
        c = QColor(colour)
        channels = []
        for value in (c.redF(), c.greenF(), c.blueF()):
            channels.append(value / 12.92 if value <= 0.04045
                            else ((value + 0.055) / 1.055) ** 2.4)
        red, green, blue = channels
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def current_theme() -> str:
    """The theme last applied ('light' when none was)."""
    app = QApplication.instance()
    value = app.property("rigready_theme") if app is not None else None
    return value if value in ("light", "dark") else "light"


#: The style of every page's title, so the pages read as one app.
PAGE_TITLE_STYLE = "font-size: 22px; font-weight: 700;"
#: The object name of every page's title (a value tile can share the title's style).
PAGE_TITLE_NAME = "pageTitle"


def page_title(text: str) -> QLabel:
    """A page's title label: :data:`PAGE_TITLE_STYLE`, named :data:`PAGE_TITLE_NAME`."""
    label = QLabel(text)
    label.setObjectName(PAGE_TITLE_NAME)
    label.setStyleSheet(PAGE_TITLE_STYLE)
    return label
