"""Render the training monitor replaying a saved session to a PNG (for the docs).

    python -m rigready.desktop.monitoring.screenshot \\
        --db COPY_OF_SESSION.sqlite3 --at 45 --out docs/screenshots/training-monitor.png

Open a *copy* of a committed database: SQLite creates ``-shm``/``-wal`` files beside a WAL
database it reads.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from rigready.catalog.userfiles import UserFileError
from rigready.desktop.context import AppContext
from rigready.desktop.monitoring.controller import MonitorController
from rigready.desktop.pages.monitor import MonitorPage
from rigready.desktop.png import save_widget_png
from rigready.desktop.qt_platform import PlatformError, prepare_qt_platform
from rigready.desktop.theme import apply_theme


def _wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(argv: Sequence[str] | None = None) -> int:
    """Render and save; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m rigready.desktop.monitoring.screenshot")
    parser.add_argument("--db", type=Path, required=True, help="monitoring database")
    parser.add_argument("--session", type=int, help="session id (default: the newest)")
    parser.add_argument("--at", type=float, default=None,
                        help="seconds into the session to show (default: peak power)")
    parser.add_argument("--size", default="1920x1080", help="window size, WxH")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)
    width, height = (int(x) for x in args.size.lower().split("x"))
    try:
        prepare_qt_platform(screenshot=True)
    except PlatformError as exc:
        print(f"rigready: error: {exc}", file=sys.stderr)
        return 2
    app = QApplication(sys.argv[:1])
    apply_theme(app, "light")
    scratch = tempfile.TemporaryDirectory(prefix="rigready-shot-")
    settings = QSettings(str(Path(scratch.name) / "settings.ini"), QSettings.Format.IniFormat)
    context = AppContext(settings=settings, db_path=args.db)
    page = MonitorPage(context, controller=MonitorController(args.db, providers=lambda: ([], [])),
                       autostart=False)
    page.resize(1080, 760)
    page.show()
    loaded = QEventLoop()
    page.replay_loaded.connect(loaded.quit)
    page.load_session(args.db, args.session)
    QTimer.singleShot(10000, loaded.quit)
    loaded.exec()
    if page.source.replay is None:
        print(f"could not replay {args.db}: {page.status.text()}", file=sys.stderr)
        return 1
    if args.at is not None:
        page.seek(page.source.replay.session.started + args.at)
    screen = app.primaryScreen()
    window = page.training.open(screen.name())
    window.showNormal()  # a fixed size, whatever the offscreen screen is
    window.resize(width, height)
    page.training.refresh()
    _wait(300)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:  # a developer tool that regenerates docs images: replacing them is its job
        save_widget_png(window, args.out, force=True)
        ok = True
    except UserFileError as exc:
        print(f"cannot write {args.out}: {exc}", file=sys.stderr)
        ok = False
    window.close()
    page.shutdown()
    scratch.cleanup()
    print(f"Saved the training monitor to {args.out}" if ok else f"cannot write {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
