"""The crash dialog: errors in slots and worker threads show the log's location."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from rigready.desktop.crash import CrashHandler, CrashReport, restore
from rigready.desktop.crash_dialog import DIALOG_TITLE, CrashNotifier, install_gui_crash_handler
from rigready.desktop.logging_setup import LOG_FILE_NAME, remove_logging

pytestmark = pytest.mark.gui


@pytest.fixture
def hooks() -> Iterator[None]:
    previous = (sys.excepthook, threading.excepthook)
    yield
    restore(previous)
    remove_logging()


def _buttons(box: QMessageBox) -> list[str]:
    return [b.text() for b in box.buttons()]


def test_dialog_names_the_log_file_and_counts_later_errors(tmp_path: Path, qtbot: QtBot) -> None:
    notifier = CrashNotifier(block_without_loop=False)
    log_file = tmp_path / "logs" / LOG_FILE_NAME
    notifier.notify(CrashReport("ValueError: boom", "Traceback: line 1", log_file))
    box = notifier.box
    assert box is not None
    qtbot.addWidget(box)
    assert box.isVisible() and box.windowTitle() == DIALOG_TITLE
    assert str(log_file) in box.text() and "ValueError: boom" in box.text()
    assert box.detailedText() == "Traceback: line 1"
    assert "Open log folder" in _buttons(box)
    notifier.notify(CrashReport("KeyError: 'x'", "Traceback: line 2", log_file))
    assert notifier.box is box  # one dialog, not a pile of them
    assert "1 more error(s)" in box.text()
    box.close()


def test_no_log_file_means_no_open_folder_button(qtbot: QtBot) -> None:
    notifier = CrashNotifier(block_without_loop=False)
    notifier.notify(CrashReport("OSError: full", "Traceback", None))
    assert notifier.box is not None
    qtbot.addWidget(notifier.box)
    assert "Open log folder" not in _buttons(notifier.box)
    assert "No log file could be written" in notifier.box.text()
    notifier.box.close()


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_slot_shows_the_dialog_and_is_logged(
        rigready_home: Path, qtbot: QtBot, hooks: None) -> None:
    notifier = install_gui_crash_handler(block_without_loop=False)
    assert isinstance(sys.excepthook, CrashHandler)
    log_file = rigready_home / "logs" / LOG_FILE_NAME

    def broken_slot() -> None:
        raise RuntimeError("the chart lost its data")

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: notifier.box is not None and notifier.box.isVisible(), timeout=3000)
    assert notifier.box is not None
    qtbot.addWidget(notifier.box)
    assert "RuntimeError: the chart lost its data" in notifier.box.text()
    assert str(log_file) in notifier.box.text()
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "gui started" in text
    assert "in broken_slot" in text and "RuntimeError: the chart lost its data" in text
    notifier.box.close()


def test_an_error_in_a_worker_thread_reaches_the_gui_thread(
        qtbot: QtBot, hooks: None) -> None:
    notifier = install_gui_crash_handler(block_without_loop=False)
    shown_in: list[threading.Thread] = []
    notifier.crashed.connect(lambda _r: shown_in.append(threading.current_thread()))

    def work() -> None:
        raise ConnectionError("the exporter port closed")

    thread = threading.Thread(target=work, name="exporter")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: notifier.box is not None and notifier.box.isVisible(), timeout=3000)
    assert notifier.box is not None
    qtbot.addWidget(notifier.box)
    assert "background task 'exporter'" in notifier.box.text()
    assert shown_in == [threading.main_thread()]
    notifier.box.close()
