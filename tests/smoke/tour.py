"""Walk the whole window as a newcomer would and save a screenshot of every view.

    python -m tests.smoke.tour --out DIR [--sizes 1024x640,1280x800] [--themes light,dark]
                               [--profile FILE] [--db COPY_OF_SESSION.sqlite3] [--runs]

For each window size and theme (switched live, both ways): every page, the upgrade wizard's four
steps, the full-screen training monitor, and the states issue 23 added: Readiness filtered to
today's GGUF tasks, a Hub look-up in progress, an ambiguous GPU's choices, and This PC listing
the programs on its GPU (a fake NVML door, the profile taken as this PC's). With ``--runs``,
then, at 1024x640 and 1920x1080 in each theme: a training run followed live (a captured HF
Trainer run written into a scratch database a second at a time, its lock faked; GPU samples from
the fake provider on a fake clock) on the Monitor page and the training monitor, and a finished
run replayed on the Monitor page. Exits 1 and says why when Qt printed a warning, Python raised,
or a view came out blank (one colour). Run it on a real X server (Xvfb) with
``QT_QPA_PLATFORM=xcb`` (tests/gui/test_xvfb_smoke.py does), or offscreen.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEventLoop, QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:
    from rigready.assess.hardware import RigProfile
    from rigready.desktop.window import MainWindow
    from rigready.gpu.nvml import NvmlDoor

problems: list[str] = []


def _on_qt_message(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    if kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
        problems.append(f"Qt {kind.name}: {message}")


def _on_exception(kind: type[BaseException], value: BaseException,
                  tb: TracebackType | None) -> None:
    problems.append("Python exception: " + "".join(traceback.format_exception(kind, value, tb)))


def wait(ms: int) -> None:
    """Run the event loop for ``ms`` milliseconds (layout, painting, quick follow-up work)."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def colours_in(image: QImage, step: int = 7) -> int:
    """How many distinct colours a sample grid of ``image`` has (1 means blank)."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    seen = {image.pixel(x, y) for y in range(0, image.height(), step)
            for x in range(0, image.width(), step)}
    return len(seen)


def save(widget: QWidget, area: QWidget, path: Path) -> None:
    """Grab ``widget`` to ``path``; a blank ``area`` (the page itself) is a problem."""
    wait(150)
    if not widget.grab().save(str(path), "PNG"):
        problems.append(f"cannot write {path}")
    if colours_in(area.grab().toImage()) < 4:
        problems.append(f"blank view: {path.name}")


def tour(out: Path, sizes: Sequence[tuple[int, int]], themes: Sequence[str],
         profile_path: Path | None, db_path: Path | None = None, runs: bool = False
         ) -> list[str]:
    """Visit everything at every size in every theme; returns the files written."""
    from rigready.assess.profile import load_profile
    from rigready.desktop.app import _application, create_window

    app = _application()
    window = create_window(app)
    window.remember_state = False
    if profile_path is not None:
        profile = load_profile(profile_path)
    else:
        from rigready.assess.detect import detect_rig

        profile = detect_rig()
    window.show()
    window.context.set_profile(profile)
    written: list[str] = []
    for width, height in sizes:
        window.resize(width, height)
        for theme in themes:
            window.theme_menu.choose(theme)
            stem = f"{width}x{height}-{theme}"
            for key in window.page_keys():
                window.show_page(key)
                page = window.page(key)
                if key == "monitor":  # the first live sample (one a second) before the shot
                    for _ in range(30):
                        if getattr(page, "rings", None) or getattr(page, "replay", None):
                            break
                        wait(100)
                path = out / f"{stem}-{key}.png"
                save(window, page, path)
                written.append(path.name)
            written += _wizard(window, out, stem)
            written += _new_states(window, out, stem, profile)
            if db_path is not None:
                written += _replay(window, out, stem, db_path)
            written += _training_monitor(app, window, out, stem, width, height)
    if runs:
        from tests.smoke.tour_runs import run_views

        written += run_views(window, out, themes, _training_monitor, save, wait, problems)
    window.close()
    return written


def _wizard(window: QWidget, out: Path, stem: str) -> list[str]:
    window.show_page("upgrade")  # type: ignore[attr-defined]
    page = window.page("upgrade")  # type: ignore[attr-defined]
    names = []
    for step in range(4):
        page.go_to(step)
        path = out / f"{stem}-upgrade-step{step + 1}.png"
        save(window, page.stack.currentWidget(), path)
        names.append(path.name)
    page.go_to(0)
    return names


@contextmanager
def _silent_hub() -> Iterator[None]:
    """HF_ENDPOINT at a local port that accepts and never answers: a look-up stays in progress
    (the Hub client's timeout cut to a second so its thread ends soon after)."""
    from rigready.assess.estimate import hub

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    old_url, old_timeout = os.environ.get("HF_ENDPOINT"), hub.HUB_TIMEOUT_S
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    hub.HUB_TIMEOUT_S = 1.0
    try:
        yield
    finally:
        hub.HUB_TIMEOUT_S = old_timeout
        if old_url is None:
            os.environ.pop("HF_ENDPOINT", None)
        else:
            os.environ["HF_ENDPOINT"] = old_url
        sock.close()


def _fake_gpu_door() -> NvmlDoor:
    """An NVML door over a fake module: GPU 0 draws the desktop, Xorg, gnome-shell and firefox
    hold its memory."""
    from tests.helpers.fake_pynvml import FakePynvml, door, h100_like

    gib = 1024**3
    names = {1873: "Xorg", 2240: "gnome-shell", 3312: "firefox"}
    gpu = h100_like(name="NVIDIA GeForce RTX 3060", uuid="GPU-3060", display_mode=1,
                    display_active=1, procs=[],
                    gprocs=[(1873, int(0.41 * gib)), (2240, int(0.22 * gib)),
                            (3312, int(0.73 * gib))])
    return door(FakePynvml([gpu]), process_name=names.get)


def _new_states(window: MainWindow, out: Path, stem: str, profile: RigProfile) -> list[str]:
    """Issue 23's states: today's tasks, a Hub look-up in progress, an ambiguous GPU, and the
    programs on this PC's GPU."""
    from rigready.gpu.nvml import set_nvml_door

    names = []

    def shot(key: str, name: str, area: QWidget) -> None:
        path = out / f"{stem}-{name}.png"
        save(window, area, path)
        names.append(path.name)

    window.show_page("readiness")
    readiness: Any = window.page("readiness")
    readiness.tasks.search.setText("GGUF")
    shot("readiness", "readiness-gguf", readiness)
    readiness.tasks.search.clear()

    window.show_page("can-i-run")
    page: Any = window.page("can-i-run")
    edit = page.form.gpu.lineEdit()
    edit.setText("RTX 3060")
    edit.returnPressed.emit()
    if not page.answer.choice_buttons:
        problems.append("typing 'RTX 3060' offered no GPU choices")
    shot("can-i-run", "can-i-run-gpu-choices", page)
    page.form.gpu.setCurrentIndex(0)
    page.form.set_gpu_choices("", ())
    with _silent_hub():
        page.search.setText("acme/some-model")
        page.search.returnPressed.emit()
        if not page.hub_bar.running:
            problems.append("the Hub look-up did not start")
        shot("can-i-run", "can-i-run-hub-lookup", page)
        worker = page.hub_bar.worker
        page.hub_bar.cancel_button.click()
        if worker is not None:
            worker.wait(15)
    page.search.clear()
    page.select_model("llama-3.1-8b")

    old = set_nvml_door(_fake_gpu_door())
    try:
        window.context.set_profile(replace(profile, origin="detected"))
        window.show_page("this-pc")
        this_pc: Any = window.page("this-pc")
        this_pc.refresh_memory_use()
        shot("this-pc", "this-pc-gpu-processes", this_pc)
    finally:
        set_nvml_door(old)
        window.context.set_profile(profile)
    return names


def _replay(window: QWidget, out: Path, stem: str, db_path: Path) -> list[str]:
    window.show_page("monitor")  # type: ignore[attr-defined]
    monitor = window.page("monitor")  # type: ignore[attr-defined]
    if monitor.source.replay is None:
        loop = QEventLoop()
        monitor.replay_loaded.connect(loop.quit)
        QTimer.singleShot(15000, loop.quit)
        monitor.load_session(db_path)
        loop.exec()
    if monitor.source.replay is None:
        problems.append(f"could not replay {db_path}")
        return []
    path = out / f"{stem}-monitor-replay.png"
    save(window, monitor, path)
    return [path.name]


def _training_monitor(app: QApplication, window: QWidget, out: Path, stem: str, width: int,
                      height: int, suffix: str = "") -> list[str]:
    window.show_page("monitor")  # type: ignore[attr-defined]
    monitor = window.page("monitor")  # type: ignore[attr-defined]
    training = monitor.training.open(app.primaryScreen().name())
    training.showNormal()  # a fixed size, whatever the screen is
    training._scale_fonts(width, height)  # as show_on() does for a screen of that size
    for _ in range(20):  # the layout takes the smaller fonts' minimum size before a resize
        wait(50)
        layout = training.layout()
        if layout is not None:
            layout.activate()
        training.resize(width, height)
        if (training.width(), training.height()) == (width, height):
            break
    if (training.width(), training.height()) != (width, height):
        problems.append(f"training monitor is {training.width()}x{training.height()},"
                        f" not {width}x{height}")
    monitor.training.refresh()
    path = out / f"{stem}-training-monitor{suffix}.png"
    save(training, training, path)
    training.close()
    return [path.name]


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tour; 0 when nothing went wrong."""
    parser = argparse.ArgumentParser(prog="python -m tests.smoke.tour")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", default="1024x640,1280x800,1920x1080")
    parser.add_argument("--themes", default="light,dark,light")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--db", type=Path, help="a copy of a monitoring database to replay")
    parser.add_argument("--runs", action="store_true",
                        help="also a live and a replayed training run (1024x640, 1920x1080)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    qInstallMessageHandler(_on_qt_message)
    sys.excepthook = _on_exception
    try:
        written = tour(args.out, [_size(s) for s in args.sizes.split(",")],
                       args.themes.split(","), args.profile, args.db, args.runs)
    except Exception:  # noqa: BLE001 - reported as a problem, the run goes on to say so
        kind, value, tb = sys.exc_info()
        if kind is not None and value is not None:
            _on_exception(kind, value, tb)
        written = []
    print(f"tour: {len(written)} screenshots in {args.out}")
    for problem in problems:
        print(f"tour: PROBLEM: {problem}")
    return 1 if problems or not written else 0


if __name__ == "__main__":
    sys.exit(main())
