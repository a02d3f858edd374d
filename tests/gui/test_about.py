"""Help → About (version, catalog dates, licences) and View → Theme (remembered, applied)."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from rigready.catalog import BUILTIN_DATA_DIR, load_catalog
from rigready.desktop.about import (
    FALLBACK_LICENCES,
    AboutDialog,
    catalog_file_dates,
    dependency_licences,
    licence_from_fields,
    normalize,
    requirement_name,
)
from rigready.desktop.app import create_window
from rigready.desktop.context import AppContext
from rigready.desktop.theme import apply_theme, current_theme
from rigready.desktop.theme_menu import THEME_KEY, ThemeMenu, saved_theme
from rigready.desktop.window import MainWindow

pytestmark = pytest.mark.gui


@pytest.fixture
def context(tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return AppContext(settings=settings, db_path=tmp_path / "db.sqlite3")


@pytest.fixture(autouse=True)
def _light_afterwards(qapp: QApplication) -> Iterator[None]:
    yield
    apply_theme(qapp, "light")


def _direct_requirements() -> list[str]:
    lines = metadata.requires("rigready") or []
    names = [re.split(r"[<>=!~ ;\[]", line, maxsplit=1)[0].strip()
             for line in lines if "extra" not in line]
    return list(dict.fromkeys(names))  # PySide6 is listed twice, once per Python range


# --- pure parts ---------------------------------------------------------------------------------


def test_licence_fields_in_order_of_preference() -> None:
    assert licence_from_fields("MIT AND Zlib", "BSD", ["License :: OSI Approved :: BSD License"]) \
        == ("MIT AND Zlib", "License-Expression")
    assert licence_from_fields(None, "BSD-3-Clause License\n\nCopyright (c) someone\n...", []) \
        == ("BSD-3-Clause License", "License")
    long_text = "Permission is hereby granted, free of charge, to any person obtaining a copy " * 2
    assert licence_from_fields(None, long_text, ["License :: OSI Approved :: MIT License"]) \
        == ("MIT License", "classifiers")
    assert licence_from_fields("", "UNKNOWN", ["License :: Public Domain"]) \
        == ("Public Domain", "classifiers")
    assert licence_from_fields(None, None, ["Programming Language :: Python"]) is None


def test_requirement_names_skip_extras_only() -> None:
    assert requirement_name("numpy>=1.26") == "numpy"
    assert requirement_name("PySide6-Essentials>=6.6") == "PySide6-Essentials"
    assert requirement_name('pytest>=8.0; extra == "test"') is None
    assert requirement_name('tomli; python_version < "3.11"') == "tomli"
    assert normalize("Prometheus_Client") == normalize("prometheus.client") == "prometheus-client"


def test_licences_cover_every_runtime_dependency_from_installed_metadata() -> None:
    entries = {normalize(e.name): e for e in dependency_licences()}
    direct = _direct_requirements()
    assert direct, "rigready's metadata lists its runtime dependencies"
    for name in direct:
        entry = entries[normalize(name)]
        assert entry.required_by is None
        assert entry.version == metadata.version(name)
        assert entry.licence not in ("", "unknown")
    numpy = entries["numpy"]
    assert [numpy.licence] == metadata.metadata("numpy").get_all("License-Expression")
    assert "pytest" not in entries and "hypothesis" not in entries  # test extras are not shipped
    shiboken = entries["shiboken6"]
    assert shiboken.required_by is not None
    assert normalize(shiboken.required_by) == "pyside6-essentials"


def test_licences_fall_back_to_the_table_when_rigready_is_not_installed() -> None:
    entries = dependency_licences("no-such-distribution-rigready-test")
    names = [normalize(e.name) for e in entries[:len(FALLBACK_LICENCES)]]
    assert names == list(FALLBACK_LICENCES)
    assert all(e.licence != "unknown" for e in entries[:len(FALLBACK_LICENCES)])


def test_catalog_file_dates_read_the_meta_table(tmp_path: Path) -> None:
    good = tmp_path / "mine.toml"
    good.write_text('[meta]\nupdated = 2027-01-05\ndescription = "my parts"\n')
    broken = tmp_path / "broken.toml"
    broken.write_text("[meta\n")
    no_meta = tmp_path / "bare.toml"
    no_meta.write_text('[[gpu]]\nid = "x"\n')
    builtin = sorted(BUILTIN_DATA_DIR.glob("*.toml"))
    dates = catalog_file_dates([*builtin, good, broken, no_meta])
    by_name = {d.name: d for d in dates}
    assert by_name["mine"].updated == date(2027, 1, 5) and not by_name["mine"].builtin
    assert by_name["broken"].updated is None and by_name["bare"].updated is None
    assert by_name["gpus"].builtin
    assert max(d.updated for d in dates[:len(builtin)] if d.updated) == load_catalog(None).updated


# --- the dialog and the menus ------------------------------------------------------------------


def test_about_dialog_shows_version_catalog_date_and_licences(
        context: AppContext, qtbot: QtBot) -> None:
    dialog = AboutDialog(context)
    qtbot.addWidget(dialog)
    assert f"rigready {metadata.version('rigready')}" in dialog.title.text()
    newest = load_catalog(None).updated.isoformat()
    assert f"files last edited {newest}" in dialog.catalog_label.text()
    assert "prices dated" in dialog.catalog_label.text()
    assert "no newer data pack installed" in dialog.catalog_label.text()
    assert "logs" in dialog.folders_label.text()
    def cell(row: int, column: int) -> str:
        item = dialog.table.item(row, column)
        assert item is not None
        return item.text()

    packages = {cell(r, 0): cell(r, 2) for r in range(dialog.table.rowCount())}
    assert packages["pyqtgraph"] == "MIT"
    assert packages["Python"] == "PSF-2.0"
    assert {normalize(p) for p in packages} >= {normalize(n) for n in _direct_requirements()}


def test_help_about_opens_without_blocking(context: AppContext, qtbot: QtBot) -> None:
    window = MainWindow(context)
    qtbot.addWidget(window)
    actions = {a.text(): a for a in window.help_menu.actions()}
    actions["&About rigready"].trigger()  # returns at once: the dialog is opened, not exec'd
    dialog = window.about_dialog
    assert dialog.isVisible() and dialog.parent() is window
    dialog.reject()
    assert not dialog.isVisible()


def test_theme_choice_is_stored_applied_and_restored(
        context: AppContext, qtbot: QtBot, qapp: QApplication) -> None:
    window = MainWindow(context)
    qtbot.addWidget(window)
    menu = window.theme_menu
    assert [a.text() for a in menu.actions()] == ["&System", "&Light", "&Dark"]
    assert menu.actions_by_theme["system"].isChecked()
    menu.actions_by_theme["dark"].trigger()
    assert context.settings.value(THEME_KEY) == "dark"
    assert current_theme() == "dark"
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == "#2b2d31"
    # the dark selection (the dark accent under white text read 2.5:1; issue 23, item 9)
    assert "#1d4ed8" in window.nav.styleSheet()

    apply_theme(qapp, "light")
    again = create_window(qapp, context)  # a new start reads the stored choice
    qtbot.addWidget(again)
    assert current_theme() == "dark"
    assert again.theme_menu.actions_by_theme["dark"].isChecked()
    assert not again.theme_menu.actions_by_theme["system"].isChecked()


def test_unknown_stored_theme_means_system(tmp_path: Path, qtbot: QtBot) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue(THEME_KEY, "neon")
    assert saved_theme(settings) == "system"
    menu = ThemeMenu(settings)
    assert menu.actions_by_theme["system"].isChecked()
    with pytest.raises(ValueError, match="unknown theme 'neon'"):
        menu.choose("neon")
