"""Small screens and contrast (issue 23, item 9): the first window fits its screen, wizard step
3 needs no sideways scrolling at 1024x640, benchmark rows without an expectation draw no bar,
selected items keep 4.5:1 contrast in both themes. (Readiness's eight rows at 1024x640:
tests/gui/test_readiness_page.py; the completer popup: tests/gui/test_can_i_run_sources.py;
the first CPU sample: tests/test_monitor_host.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from PySide6.QtCore import QByteArray, QRect, QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from rigready.assess.profile import load_profile
from rigready.desktop.context import AppContext
from rigready.desktop.pages.benchmarks_results import ResultBar
from rigready.desktop.pages.upgrade import UpgradePage
from rigready.desktop.theme import (
    SELECTED_TEXT,
    SELECTION,
    apply_theme,
    contrast_ratio,
)
from rigready.desktop.window import MainWindow, navigation_style

pytestmark = pytest.mark.gui
HOBBYIST = Path(__file__).parent.parent / "data" / "profiles" / "hobbyist"


@pytest.fixture
def window(tmp_path: Path, qtbot: QtBot) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(AppContext(settings=settings, db_path=tmp_path / "db.sqlite3"))
    win.remember_state = False
    qtbot.addWidget(win)
    return win


@pytest.mark.parametrize("screen", [QRect(0, 0, 1024, 600), QRect(0, 0, 1366, 728),
                                    QRect(1920, 0, 1280, 984)])
def test_the_first_window_fits_the_screen_it_opens_on(window: MainWindow,
                                                      screen: QRect) -> None:
    window.resize(1200, 780)  # the first size when nothing is remembered
    window.fit_to_screen(screen)
    assert window.width() <= screen.width() and window.height() < screen.height()
    assert window.minimumWidth() <= screen.width() and window.minimumHeight() < screen.height()
    assert screen.contains(window.frameGeometry().topLeft())
    assert window.x() + window.width() <= screen.right() + 1


def test_a_remembered_geometry_from_a_bigger_monitor_is_clamped(window: MainWindow,
                                                                tmp_path: Path) -> None:
    window.setGeometry(QRect(2500, 100, 2400, 1300))  # saved on a 4K monitor to the right
    saved = window.saveGeometry()
    window.context.settings.setValue("window/geometry", QByteArray(saved))
    window.restore_state()  # fits the screen the window is on (offscreen: 800x800)
    area = (window.screen() or QApplication.primaryScreen()).availableGeometry()
    assert window.width() <= area.width() and window.height() < area.height()
    assert area.contains(window.frameGeometry().topLeft())


def test_wizard_step3_never_scrolls_sideways_at_1024x640(window: MainWindow,
                                                         qtbot: QtBot) -> None:
    window.resize(1024, 640)
    window.show()
    window.context.set_profile(load_profile(HOBBYIST / "desktop-rtx3060-12gb-32gb-ddr4.json"))
    window.show_page("upgrade")
    page = window.page("upgrade")
    assert isinstance(page, UpgradePage)
    # LoRA of Llama 3.1 8B with $3,000: three plans (cheapest, best value, best within budget);
    # the default QLoRA goal now has two, a used RTX A4000 being both cheapest and best value
    page.goal_step.method.setCurrentText("lora")
    page.constraints_step.budget.setValue(3000)
    page.go_to(2)
    qtbot.wait(50)
    assert len(page.cards) >= 3
    bar = page.plans_scroll.horizontalScrollBar()
    assert bar.maximum() == 0 and not bar.isVisible()
    grid = page.card_grid
    assert grid.columns == 2 and grid.width() <= page.plans_scroll.viewport().width()
    for card in page.cards:  # every card wholly inside the viewport's width
        assert card.geometry().right() < page.plans_scroll.viewport().width()
    window.resize(1920, 1080)
    qtbot.wait(50)
    assert grid.columns == 3  # side by side where they fit


def test_a_row_without_an_expectation_draws_no_bar(qtbot: QtBot) -> None:
    measured = ResultBar("CPU fp32 (n=2048)", 0.43, "171.8 of 400 GFLOP/s", "below")
    bare = ResultBar("SEQ1M Q8T1 read", None, "3,400.0 MB/s, 3,400 IOPS, 100 µs", "unknown")
    for widget in (measured, bare):
        qtbot.addWidget(widget)
        widget.show()
    assert measured.bar.isVisible() and measured.bar.format() == "43%"
    assert not bare.bar.isVisible()  # an empty track read as a failed 0 %
    assert bare.text.isVisible()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_selected_items_have_at_least_4_5_to_1_contrast(theme: str, qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    try:
        apply_theme(app, theme)
        palette = app.palette()
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            back = palette.color(group, QPalette.ColorRole.Highlight).name()
            text = palette.color(group, QPalette.ColorRole.HighlightedText).name()
            assert contrast_ratio(back, text) >= 4.5, (theme, group, back, text)
        # the navigation's current page and the wizard's current step use the same pair
        assert f"background: {SELECTION[theme]}" in navigation_style(theme)
        assert contrast_ratio(SELECTION[theme], SELECTED_TEXT) >= 4.5
    finally:
        apply_theme(app, "light")


def test_a_live_switch_keeps_the_accent_apart_from_the_selection(qtbot: QtBot) -> None:
    """The light selection is the light accent: swapping it to the dark selection turned every
    accent (plan labels, borders) dark blue on the dark theme."""
    from rigready.desktop.theme import ACCENT, swap_colours
    from rigready.desktop.widgets.step_bar import StepBar

    assert swap_colours(f"color: {ACCENT['light']};", "dark") == f"color: {ACCENT['dark']};"
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    bar = StepBar(("Goal", "Plans"))
    qtbot.addWidget(bar)
    bar.show()
    try:
        apply_theme(app, "light")
        bar.set_current(1)
        apply_theme(app, "dark")  # re-styles open widgets
        assert SELECTION["dark"] in bar.buttons[1].styleSheet()
    finally:
        apply_theme(app, "light")


def test_contrast_ratio_matches_wcag() -> None:
    assert round(contrast_ratio("#ffffff", "#000000"), 1) == 21.0
    assert round(contrast_ratio("#60a5fa", "#ffffff"), 2) == 2.54  # the old dark selection
