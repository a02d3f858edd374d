"""The main window: navigation on the left, one page at a time on the right."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Generator
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QSize, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QWidget,
)

from rigready.assess.hardware import RigProfile
from rigready.assess.profile import ProfileError, load_profile, save_profile
from rigready.catalog.userfiles import UserFileError
from rigready.desktop.context import AppContext
from rigready.desktop.pages import PAGES, PageSpec
from rigready.desktop.theme import SELECTED_TEXT, SELECTION, current_theme
from rigready.desktop.theme_menu import ThemeMenu
from rigready.desktop.worker import GeneratorWorker

log = logging.getLogger(__name__)

#: The size the window is designed for; a smaller screen gets a smaller minimum (a 1024x600
#: netbook, a 1366x768 laptop whose panel takes 40 px).
DESIGN_MINIMUM = QSize(960, 640)
#: The first window's size when nothing is remembered (within the screen).
FIRST_SIZE = QSize(1200, 780)


def _detect_job() -> Generator[str, None, RigProfile]:
    from rigready.assess.detect import detect_rig

    yield "Detecting hardware…"
    return detect_rig()


def navigation_style(theme: str) -> str:
    """Style sheet of the navigation list: roomy rows, the current page in the accent colour."""
    # Without an explicit ::item:selected rule a styled item loses its highlight background
    # but keeps the highlighted (white) text, so the current page would look blank.
    return (
        "QListWidget#navigation { border: none; font-size: 14px; padding-top: 12px; }"
        "QListWidget#navigation::item {"
        " padding: 9px 14px; border-radius: 6px; margin: 1px 8px; }"
        f"QListWidget#navigation::item:selected {{ background: {SELECTION[theme]};"
        f" color: {SELECTED_TEXT}; }}"
        "QListWidget#navigation::item:hover:!selected { background: rgba(128, 128, 128, 40); }"
    )


class MainWindow(QMainWindow):
    """Navigation list plus a stack of pages; owns detection and profile loading."""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.setWindowTitle("rigready")
        self.setMinimumSize(DESIGN_MINIMUM)
        self.pages: dict[str, QWidget] = {}
        self._specs: list[PageSpec] = []
        self._detect_worker: GeneratorWorker | None = None
        #: Off for screenshots, so rendering a page does not move the user's window or page.
        self.remember_state = True

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setFixedWidth(200)
        self.nav.setStyleSheet(navigation_style(current_theme()))
        self.stack = QStackedWidget()
        for spec in PAGES:
            if importlib.util.find_spec(spec.module) is None:
                continue  # that area is not built in this version
            self._specs.append(spec)
            # Pages are built when first shown (the monitor's charts alone import pyqtgraph and
            # numpy): a placeholder holds each one's place until then.
            self.stack.addWidget(QWidget())
            item = QListWidgetItem(spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self._on_row_changed)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._status = QLabel("")
        self.statusBar().addWidget(self._status, 1)
        self._build_menus()
        self.nav.setCurrentRow(0)

    # --- pages -----------------------------------------------------------------------------

    def page_keys(self) -> list[str]:
        """Keys of the pages this build has, in navigation order (built or not yet)."""
        return [s.key for s in self._specs]

    def page(self, key: str) -> QWidget:
        """The page ``key``, built now if it has not been shown yet (ValueError if unknown)."""
        existing = self.pages.get(key)
        if existing is not None:
            return existing
        index = self.page_keys().index(key)
        spec = self._specs[index]
        module = importlib.import_module(spec.module)
        page: QWidget = getattr(module, spec.class_name)(self.context)
        page.setObjectName(f"page-{spec.key}")
        redetect = getattr(page, "redetect_requested", None)
        if redetect is not None:
            redetect.connect(self.start_detection)
        saved = getattr(page, "results_saved", None)
        if saved is not None:
            saved.connect(self._on_results_saved)
        placeholder = self.stack.widget(index)
        self.stack.insertWidget(index, page)
        if placeholder is not None:
            self.stack.removeWidget(placeholder)
            placeholder.deleteLater()
        self.pages[key] = page
        return page

    @Slot()
    def _on_results_saved(self) -> None:
        """New benchmark results: the pages built so far that read them look again (a page
        built later reads them when it is built)."""
        for page in self.pages.values():
            look_again = getattr(page, "measurements_changed", None)
            if callable(look_again):
                look_again()

    @Slot(int)
    def _on_row_changed(self, row: int) -> None:
        if 0 <= row < len(self._specs):
            self.page(self._specs[row].key)
            self.stack.setCurrentIndex(row)

    def show_page(self, key: str) -> None:
        """Switch to the page ``key`` (raises ValueError for an unknown key)."""
        self.nav.setCurrentRow(self.page_keys().index(key))

    def current_page_key(self) -> str:
        """Key of the page on show."""
        row = self.nav.currentRow()
        return self._specs[row].key if 0 <= row < len(self._specs) else ""

    # --- menus -----------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open profile…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._on_open_profile)
        save_action = QAction("&Save profile as…", self)
        save_action.setShortcut(QKeySequence.StandardKey.SaveAs)
        save_action.triggered.connect(self._on_save_profile)
        detect_action = QAction("&Detect this PC again", self)
        detect_action.setShortcut(QKeySequence("F5"))
        detect_action.triggered.connect(self.start_detection)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for action in (open_action, save_action, detect_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        self.view_menu = self.menuBar().addMenu("&View")
        self.theme_menu = ThemeMenu(self.context.settings, self)
        self.theme_menu.theme_changed.connect(
            lambda theme: self.nav.setStyleSheet(navigation_style(theme)))
        self.view_menu.addMenu(self.theme_menu)
        if "monitor" in self.page_keys():
            self.view_menu.addSeparator()
            training_action = QAction("&Training monitor (full screen)…", self)
            training_action.setShortcut(QKeySequence("F11"))
            training_action.triggered.connect(self.open_training_monitor)
            self.view_menu.addAction(training_action)
        self.help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About rigready", self)
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.triggered.connect(self.show_about)
        self.help_menu.addAction(about_action)

    @Slot()
    def show_about(self) -> None:
        """Open the About dialog (non-blocking)."""
        from rigready.desktop.about import AboutDialog

        dialog = AboutDialog(self.context, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.about_dialog = dialog

    @Slot()
    def open_training_monitor(self) -> None:
        """View menu: the full-screen training monitor (builds the Monitor page if needed)."""
        open_dialog = getattr(self.page("monitor"), "open_training_monitor_dialog", None)
        if callable(open_dialog):
            open_dialog()

    # --- detection and profiles ------------------------------------------------------------

    @Slot()
    def start_detection(self) -> None:
        """Detect this PC on the thread pool; the pages update when it finishes."""
        if self._detect_worker is not None and self._detect_worker.running:
            return
        self._status.setText("Detecting hardware…")
        worker = GeneratorWorker(_detect_job, self)
        worker.finished.connect(self._on_detected)
        worker.errored.connect(self._on_detect_failed)
        self._detect_worker = worker
        worker.start()

    @Slot(object)
    def _on_detected(self, profile: RigProfile) -> None:
        self.context.set_profile(profile)
        count = len(profile.warnings)
        self._status.setText(
            "Detected this PC" + (f" — {count} warning(s), see This PC" if count else "")
        )

    @Slot(str)
    def _on_detect_failed(self, message: str) -> None:
        self._status.setText(f"Detection failed: {message}")

    def load_profile_file(self, path: Path) -> bool:
        """Load a saved profile; shows the problem in the status bar and returns False if bad."""
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            self._status.setText(str(exc))
            box = QMessageBox(QMessageBox.Icon.Warning, "Cannot load profile", str(exc),
                              QMessageBox.StandardButton.Ok, self)
            box.open()
            return False
        self.context.set_profile(profile)
        self._status.setText(f"Loaded profile {path}")
        return True

    @Slot()
    def _on_open_profile(self) -> None:
        dialog = QFileDialog(self, "Open rig profile", "", "Rig profiles (*.json)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.load_profile_file(Path(name)))
        dialog.open()

    @Slot()
    def _on_save_profile(self) -> None:
        profile = self.context.profile
        if profile is None:
            self._status.setText("Nothing to save yet: detection has not finished")
            return
        dialog = QFileDialog(self, "Save rig profile", "my-pc.json", "Rig profiles (*.json)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")

        def save(name: str) -> None:
            try:  # the dialog asked before replacing a file
                save_profile(profile, Path(name), force=True)
            except UserFileError as exc:
                self._status.setText(f"Could not save the profile: {exc}")
                return
            self._status.setText(f"Saved profile to {name}")

        dialog.fileSelected.connect(save)
        dialog.open()

    # --- window state ----------------------------------------------------------------------

    def restore_state(self) -> None:
        """Geometry and last page from settings."""
        settings = self.context.settings
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(FIRST_SIZE)
        self.fit_to_screen()
        last = settings.value("window/page")
        if isinstance(last, str) and last in self.page_keys():
            self.show_page(last)

    def fit_to_screen(self, available: QRect | None = None) -> None:
        """Keep the window inside the screen it opens on: no larger than its available area
        (less the title bar the window manager adds), on it, and with a minimum size that fits.

        A remembered geometry from a bigger monitor, or the first size on a small laptop
        screen, opened a window whose bottom (the status bar, the wizard's buttons) was off
        screen. ``available``: the area to fit (tests); the window's screen's by default.
        """
        if available is None:
            screen = self.screen() or QGuiApplication.primaryScreen()
            if screen is None:
                return
            available = screen.availableGeometry()
        frame = self.frameGeometry()
        inner = self.geometry()
        border_w = frame.width() - inner.width()
        border_h = frame.height() - inner.height()
        if border_h <= 0:  # not shown yet: the window manager's title bar is not known
            style = self.style() or QApplication.style()
            border_h = style.pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight) + 8
            border_w = max(border_w, 8)
        room = QSize(max(1, available.width() - border_w), max(1, available.height() - border_h))
        self.setMinimumSize(DESIGN_MINIMUM.boundedTo(room))
        self.resize(self.size().boundedTo(room))
        left = min(max(frame.left(), available.left()),
                   available.right() + 1 - self.width() - border_w)
        top = min(max(frame.top(), available.top()),
                  available.bottom() + 1 - self.height() - border_h)
        self.move(max(left, available.left()), max(top, available.top()))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember geometry and page, and let pages stop their background work."""
        if self.remember_state:
            settings = self.context.settings
            settings.setValue("window/geometry", self.saveGeometry())
            settings.setValue("window/page", self.current_page_key())
            settings.sync()
        for page in self.pages.values():
            shutdown = getattr(page, "shutdown", None)
            if callable(shutdown):
                shutdown()
        super().closeEvent(event)
