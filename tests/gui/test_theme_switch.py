"""Live theme switching repaints every page, chart and the training monitor (issue 15, item 2).

The checks compare pixel colours of grabbed widgets: titles must be light on a dark background in
the dark theme and dark on light in the light theme, right after the switch (no restart).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QRect, QSettings
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from rigready.assess.profile import load_profile
from rigready.desktop.context import AppContext
from rigready.desktop.theme import PAGE_TITLE_NAME, apply_theme, swap_colours
from rigready.desktop.window import MainWindow

pytestmark = pytest.mark.gui
RTX3060 = Path(__file__).parents[1] / "data/profiles/hobbyist/desktop-rtx3060-12gb-32gb-ddr4.json"


def _luma(colour: QColor) -> float:
    return 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()


def _ink_and_paper(widget: QWidget) -> tuple[float, float]:
    """(luma of the text pixels, luma of the background) of a grabbed widget.

    The background is the most common colour; the ink is the pixel furthest from it.
    """
    top = widget.window()  # grab from the window: a child alone is drawn without its backdrop
    area = QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())
    image = top.grab(area).toImage().convertToFormat(QImage.Format.Format_RGB32)
    counts: dict[int, int] = {}
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            rgb = image.pixel(x, y)
            counts[rgb] = counts.get(rgb, 0) + 1
    paper = QColor.fromRgb(max(counts, key=lambda k: counts[k]))
    ink = max((QColor.fromRgb(k) for k in counts), key=lambda c: abs(_luma(c) - _luma(paper)))
    return _luma(ink), _luma(paper)


def _titles(window: MainWindow) -> list[QLabel]:
    # by name, not by style: a monitor value tile at 22 px shares the title's style sheet and
    # hides itself on the page's timer (a flaky 'ink 245 on 245' in CI)
    return [label for label in window.findChildren(QLabel, PAGE_TITLE_NAME)
            if label.isVisibleTo(window)]


@pytest.fixture
def window(tmp_path: Path, qtbot: QtBot) -> Iterator[MainWindow]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "light")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    context = AppContext(settings=settings, db_path=tmp_path / "db.sqlite3")
    win = MainWindow(context)
    win.remember_state = False
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    context.set_profile(load_profile(RTX3060))
    for key in win.page_keys():
        win.show_page(key)
    yield win
    apply_theme(app, "light")


def _check(widget: QWidget, theme: str, what: str) -> None:
    QApplication.processEvents()  # lay out a page just shown before grabbing it
    ink, paper = _ink_and_paper(widget)
    # light ink on dark paper, or dark on light, with a readable gap (muted text included)
    if theme == "dark":
        assert paper < 90 and ink - paper > 100, f"{what}: ink {ink:.0f} on {paper:.0f} in dark"
    else:
        assert paper > 170 and paper - ink > 100, f"{what}: ink {ink:.0f} on {paper:.0f} in light"


@pytest.mark.parametrize("theme_order", [("dark", "light"), ("light", "dark", "light")])
def test_every_page_title_follows_a_live_switch(window: MainWindow, qtbot: QtBot,
                                                theme_order: tuple[str, ...]) -> None:
    for theme in theme_order:
        window.theme_menu.choose(theme)
        for key in window.page_keys():
            window.show_page(key)
            qtbot.wait(10)
            titles = [t for t in _titles(window) if t.isVisible()]
            assert titles, f"no visible title on {key}"
            for title in titles:
                _check(title, theme, f"{key} title")


def test_readiness_score_cards_and_wizard_pills_repaint(window: MainWindow, qtbot: QtBot) -> None:
    window.theme_menu.choose("dark")
    window.show_page("readiness")
    readiness = window.page("readiness")
    _check(readiness.score_label, "dark", "readiness score")  # type: ignore[attr-defined]
    window.show_page("this-pc")
    card = window.page("this-pc").cards[0]  # type: ignore[attr-defined]
    _check(card.title_label, "dark", "This PC card title")
    value = card._grid.itemAtPosition(0, 1).widget()  # a row's value has no style sheet
    _check(value, "dark", "This PC card value")
    window.show_page("upgrade")
    steps = window.page("upgrade").steps  # type: ignore[attr-defined]
    others = [b for i, b in enumerate(steps.buttons) if i != steps.current]
    for button in others:  # not the current step: white on the accent colour by design
        _check(button, "dark", f"step pill {button.text()}")
    window.theme_menu.choose("light")
    for button in others:
        _check(button, "light", f"step pill {button.text()}")
    window.show_page("readiness")
    _check(readiness.score_label, "light", "readiness score")  # type: ignore[attr-defined]


def test_monitor_charts_and_training_monitor_repaint(window: MainWindow, qtbot: QtBot) -> None:
    window.show_page("monitor")
    monitor = window.page("monitor")
    charts = monitor.charts  # type: ignore[attr-defined]
    window.theme_menu.choose("dark")
    qtbot.wait(10)
    _, paper = _ink_and_paper(charts.view)
    assert paper < 60, f"chart background {paper:.0f} in dark"
    window.theme_menu.choose("light")
    qtbot.wait(10)
    _, paper = _ink_and_paper(charts.view)
    assert paper > 200, f"chart background {paper:.0f} in light"
    screen = QApplication.primaryScreen().name()
    training = monitor.training.open(screen)  # type: ignore[attr-defined]
    training.showNormal()
    training.resize(1280, 800)
    qtbot.wait(10)
    for theme in ("dark", "light"):
        window.theme_menu.choose(theme)
        qtbot.wait(10)
        _check(training.title, "dark", f"training monitor title after switching to {theme}")
    training.close()


def test_swap_colours_maps_every_palette_colour_both_ways() -> None:
    sheet = "color: #6b7280; border: 1px solid #2563EB; background: #123456;"
    dark = swap_colours(sheet, "dark")
    assert dark == "color: #9ca3af; border: 1px solid #60a5fa; background: #123456;"
    assert swap_colours(dark, "light") == "color: #6b7280; border: 1px solid #2563eb; " \
        "background: #123456;"


def test_following_the_system_scheme_repaints_live(tmp_path: Path, qtbot: QtBot,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import Qt

    from rigready.desktop import app as app_module
    from rigready.desktop import theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    monkeypatch.setattr(theme, "system_scheme", lambda: "light")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    context = AppContext(settings=settings, db_path=tmp_path / "db.sqlite3")
    win = app_module.create_window(app, context)  # no saved choice: follow the system
    win.remember_state = False
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    title = _titles(win)[0]
    _check(title, "light", "title before the desktop turns dark")
    monkeypatch.setattr(theme, "system_scheme", lambda: "dark")
    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    _check(title, "dark", "title after the desktop turned dark")
    win.theme_menu.choose("light")  # an explicit choice then wins over the desktop's
    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    _check(title, "light", "title with Light chosen")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_disabled_controls_look_disabled(theme: str, window: MainWindow) -> None:
    # The wizard's Back on step 1 was disabled but drawn like an enabled button.
    from PySide6.QtGui import QPalette

    window.theme_menu.choose(theme)
    window.show_page("upgrade")
    back = window.page("upgrade").back_button  # type: ignore[attr-defined]
    assert not back.isEnabled()
    palette = back.palette()
    role = QPalette.ColorRole.ButtonText
    off = palette.color(QPalette.ColorGroup.Disabled, role)
    on = palette.color(QPalette.ColorGroup.Active, role)
    button = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Button)
    assert abs(_luma(on) - _luma(off)) > 40
    assert abs(_luma(off) - _luma(button)) < abs(_luma(on) - _luma(button))
