"""Starting the window: QApplication, theme, logging, the first detection, screenshots."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from rigready.assess.profile import load_profile
from rigready.desktop.about import ICON_PATH
from rigready.desktop.context import AppContext
from rigready.desktop.crash_dialog import install_gui_crash_handler
from rigready.desktop.pages import page_keys
from rigready.desktop.png import save_widget_png
from rigready.desktop.theme import apply_theme
from rigready.desktop.theme_menu import saved_theme
from rigready.desktop.usecases.errors import UsageError
from rigready.desktop.window import MainWindow

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1280, 820)


def _application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv[:1])
    app.setApplicationName("rigready")
    app.setOrganizationName("rigready")
    app.setDesktopFileName("io.github.rigready.rigready")
    app.setWindowIcon(QIcon(str(ICON_PATH)))
    return app


def create_window(app: QApplication, context: AppContext | None = None) -> MainWindow:
    """Build the main window with the saved theme applied."""
    context = context or AppContext()
    settings = context.settings
    apply_theme(app, saved_theme(settings))

    def follow_system(_scheme: object) -> None:
        if saved_theme(settings) == "system":  # the choice may change in View → Theme
            apply_theme(app, "system")

    app.styleHints().colorSchemeChanged.connect(follow_system)
    return MainWindow(context)


def run_gui(page: str | None, screenshot: Path | None, profile_path: Path | None,
            db_path: Path | None = None, force: bool = False) -> int:
    """Open the window (or render ``page`` to ``screenshot`` offscreen) and run the event loop.

    ``db_path``: a monitoring database whose newest session the Monitor page replays.
    """
    if page is not None and page not in page_keys():
        raise UsageError(f"unknown page {page!r}; pages: {', '.join(page_keys())}")
    profile = load_profile(profile_path) if profile_path is not None else None
    app = _application()
    # A screenshot run (CI, docs) keeps the CLI's crash handler: one line on stderr, no dialog.
    crash_notifier = install_gui_crash_handler() if screenshot is None else None
    window = create_window(app)
    if crash_notifier is not None:
        crash_notifier.window = window
    if page is not None and page not in window.page_keys():
        raise UsageError(f"page {page!r} is not available in this build")
    if db_path is not None:
        _replay(window, db_path)
        page = page or "monitor"

    if screenshot is not None:
        return _screenshot(app, window, page, screenshot, profile, force)

    window.restore_state()  # within the screen it opens on
    if page is not None:
        window.show_page(page)
    window.show()
    # once shown, the window manager's frame is known: fit again with its real size
    QTimer.singleShot(0, window.fit_to_screen)
    if profile is not None:
        window.context.set_profile(profile)
    else:
        # Detect after the first frame is on screen, off the GUI thread.
        QTimer.singleShot(0, window.start_detection)
    return app.exec()


def _replay(window: MainWindow, db_path: Path) -> None:
    if not db_path.is_file():
        raise UsageError(f"--db: no database at {db_path}")
    if "monitor" not in window.page_keys():
        raise UsageError("--db needs the Monitor page, which is not in this build")
    load = getattr(window.page("monitor"), "load_session", None)
    if not callable(load):
        raise UsageError("--db needs the Monitor page, which is not in this build")
    load(db_path)


def _screenshot(app: QApplication, window: MainWindow, page: str | None, path: Path,
                profile: object, force: bool = False) -> int:
    from rigready.assess.hardware import RigProfile

    if isinstance(profile, RigProfile):
        rig = profile
    else:
        from rigready.assess.detect import detect_rig

        rig = detect_rig()
    window.resize(*SCREENSHOT_SIZE)
    if page is not None:
        window.show_page(page)
    window.show()
    window.context.set_profile(rig)
    # Let pages lay out and finish quick follow-up work before the grab.
    loop = QEventLoop()
    QTimer.singleShot(500, loop.quit)
    loop.exec()
    save_widget_png(window, path, force=force)  # a missing folder is refused, as elsewhere
    print(f"Saved {window.current_page_key()} page to {path}")
    window.remember_state = False
    window.close()
    return 0
