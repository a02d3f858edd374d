"""The smoke tour's training-run views (``python -m tests.smoke.tour --runs``).

A captured HF Trainer LoRA run (tests/data/training/hf_steady) is written into a scratch database
as ``rigready run`` writes it, twelve seconds of it before "now"; the Monitor page follows it
through its real follower with the database lock faked (no rigready process holds it here), and
its own sampler's readings are replaced by the fake provider's on a fake clock (a GPU to show
beside the run on a machine without one). Then a finished run is replayed from history.
Screenshots: ``{size}-{theme}-monitor-run.png``, ``-training-monitor-run.png`` and
``-monitor-run-replay.png`` at 1024x640 and 1920x1080.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QWidget

RUN_SIZES = ((1024, 640), (1920, 1080))


def _fake_gpu(monitor: Any, seconds: int = 120) -> None:
    """Stop draining the real sampler and hand the page the fake provider's readings."""
    from rigready.monitor.providers.fake import FakeProvider
    from rigready.monitor.sample import HostSample, Sample

    monitor.controller.timer.stop()
    now = time.time()
    clock = [now - seconds]
    fake = FakeProvider(clock=lambda: clock[0])
    samples = []
    for i in range(seconds + 1):
        clock[0] = now - seconds + i
        reading = fake.read()
        samples.append(Sample(clock[0], reading.host or HostSample(), reading.gpus))
    monitor.controller.samples_ready.emit(samples)


def _follow_live_run(monitor: Any, scratch: Path, wait: Callable[[int], None],
                     problems: list[str]) -> None:
    from rigready.desktop.monitoring.run_follower import RunFinder, RunFollower
    from rigready.monitor.store_lock import LockRecord
    from tests.gui.run_db import RUN_PID, RunWriter
    from tests.helpers.training import replay

    first = min(e.time for e in replay("hf_steady")[0])
    now = time.time()
    db = scratch / "live.sqlite3"
    writer = RunWriter(db, "hf_steady", label="lora r16", shift=now - 12 - first)
    writer.write_until(now)
    lock = LockRecord(4200, writer.session_id)
    finder = RunFinder(db, lock_record=lambda _db: lock, lock_held=lambda _db: True,
                       process_tree=lambda pid: frozenset({pid, RUN_PID}),
                       notifies=lambda pid: True, find_every_s=0.0)
    monitor.runs.use_follower(RunFollower(db, poll_s=0.2, finder=finder, parent=monitor))
    monitor.runs.start()
    for _ in range(50):
        live = monitor.runs.live
        if live is not None and live.tracker.step:
            return
        wait(100)
    problems.append("the live run was not followed")


def _replay_run(window: Any, monitor: Any, scratch: Path, wait: Callable[[int], None],
                problems: list[str]) -> bool:
    from tests.gui.run_db import write_run

    db = scratch / "history.sqlite3"
    if not db.exists():
        write_run(db, "hf_steady", label="lora r16")
    loop = QEventLoop()
    monitor.replay_loaded.connect(loop.quit)
    QTimer.singleShot(15000, loop.quit)
    monitor.load_session(db)
    loop.exec()
    monitor.replay_loaded.disconnect(loop.quit)
    if monitor.source.replay is None or monitor.source.replay.run is None:
        problems.append("could not replay the run")
        return False
    monitor.seek(monitor.source.replay.run.record.started + 15)
    wait(100)
    return True


def run_views(window: QWidget, out: Path, themes: Sequence[str],
              training_monitor: Callable[..., list[str]],
              save: Callable[[QWidget, QWidget, Path], None], wait: Callable[[int], None],
              problems: list[str]) -> list[str]:
    """Shoot the run views; returns the files written."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window.show_page("monitor")  # type: ignore[attr-defined]
    monitor = window.page("monitor")  # type: ignore[attr-defined]
    if monitor.source.mode != "live":
        monitor.show_live()
    written: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rigready-tour-runs-") as folder:
        scratch = Path(folder)
        _fake_gpu(monitor)
        _follow_live_run(monitor, scratch, wait, problems)
        for width, height in RUN_SIZES:
            window.resize(width, height)
            for theme in themes:
                window.theme_menu.choose(theme)  # type: ignore[attr-defined]
                stem = f"{width}x{height}-{theme}"
                if monitor.source.mode != "live":
                    monitor.show_live()
                monitor.refresh()
                path = out / f"{stem}-monitor-run.png"
                save(window, monitor, path)
                written.append(path.name)
                written += training_monitor(app, window, out, stem, width, height, "-run")
                if _replay_run(window, monitor, scratch, wait, problems):
                    path = out / f"{stem}-monitor-run-replay.png"
                    save(window, monitor, path)
                    written.append(path.name)
        monitor.runs.stop()
    return written
