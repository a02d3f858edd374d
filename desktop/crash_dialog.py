"""The window's side of crash reporting: a dialog with the log file's location.

:func:`install_gui_crash_handler` configures the log file and installs a
:class:`~desktop.crash.CrashHandler` whose reports reach :class:`CrashNotifier`. The notifier
lives in the GUI thread and receives reports through a signal, so an exception in a worker thread
is shown safely by the GUI thread.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QEventLoop, QObject, QThread, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from rigready.desktop.crash import CrashHandler, CrashReport, cli_message, crash_message, install
from rigready.desktop.logging_setup import configure_logging

DIALOG_TITLE = "rigready: unexpected error"


class CrashNotifier(QObject):
    """Shows one dialog per unexpected error (later ones while it is open are counted in it).

    Args:
        block_without_loop: when no event loop runs (an error while starting or after the loop
            ended), wait in a local loop until the user closes the dialog, so the process does
            not end before it is read. Tests turn this off.
    """

    #: A :class:`CrashReport`, emitted from any thread.
    crashed = Signal(object)

    def __init__(self, parent: QObject | None = None, *, block_without_loop: bool = True) -> None:
        super().__init__(parent)
        self.block_without_loop = block_without_loop
        self.window: QWidget | None = None
        self.box: QMessageBox | None = None
        self._extra = 0
        self._base_text = ""
        self.crashed.connect(self._show)

    def notify(self, report: CrashReport) -> None:
        """Hand a report to the GUI thread (safe to call from any thread)."""
        self.crashed.emit(report)

    @Slot(object)
    def _show(self, report: CrashReport) -> None:
        if QApplication.instance() is None:
            sys.stderr.write(cli_message(report) + "\n")
            return
        if self.box is not None and self.box.isVisible():
            self._extra += 1
            self.box.setText(f"{self._base_text}\n\n{self._extra} more error(s) happened since; "
                             "the log has them all.")
            return
        box = QMessageBox(QMessageBox.Icon.Critical, DIALOG_TITLE, crash_message(report),
                          QMessageBox.StandardButton.Close, self.window)
        box.setInformativeText("rigready keeps running, but what it was doing did not finish.")
        box.setDetailedText(report.details)
        if report.log_file is not None:
            folder = report.log_file.parent
            button = box.addButton("Open log folder", QMessageBox.ButtonRole.ActionRole)
            button.clicked.connect(
                lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
        self.box, self._extra, self._base_text = box, 0, box.text()
        box.open()
        headless = QGuiApplication.platformName() in ("offscreen", "minimal")
        if self.block_without_loop and not headless and QThread.currentThread().loopLevel() == 0:
            loop = QEventLoop()
            box.finished.connect(loop.quit)
            loop.exec()


def install_gui_crash_handler(*, block_without_loop: bool = True) -> CrashNotifier:
    """Configure the log file and route unexpected exceptions to a dialog.

    Call it once the ``QApplication`` exists; set the returned notifier's ``window`` to parent
    the dialog on the main window.
    """
    log_file = configure_logging(role="gui")
    notifier = CrashNotifier(QApplication.instance(), block_without_loop=block_without_loop)
    install(CrashHandler(log_file, notify=notifier.notify))
    return notifier
