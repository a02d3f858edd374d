"""Training runs in the window (issue 21, items 3 and 4; issue 22, item 1): a run followed live
from the monitor database, replayed from history, its alerts, and per-process GPU memory.

The runs are the captured fixtures (tests/data/training: real HF Trainer, Lightning and tqdm
output) written into a database as ``rigready run`` writes them (tests/gui/run_db.py); the
database lock that says a run's rigready is still recording is faked, so is the clock.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytestmark = pytest.mark.gui

from PySide6.QtCore import QSettings  # noqa: E402

from rigready.desktop.context import AppContext  # noqa: E402
from rigready.desktop.monitoring.controller import MonitorController  # noqa: E402
from rigready.desktop.monitoring.notify import AlertNotifier  # noqa: E402
from rigready.desktop.monitoring.run_follower import RunFinder, RunFollower  # noqa: E402
from rigready.desktop.pages.monitor import MonitorPage  # noqa: E402
from rigready.monitor.providers.base import Reading  # noqa: E402
from rigready.monitor.providers.fake import ScriptedProvider  # noqa: E402
from rigready.monitor.sample import HostSample  # noqa: E402
from rigready.monitor.store import Store  # noqa: E402
from rigready.monitor.store_lock import LockRecord  # noqa: E402
from rigready.monitor.training.events import RunEnded  # noqa: E402
from tests.gui.run_db import DESKTOP_PID, RUN_PID, RunWriter, gpu_sample, write_run  # noqa: E402
from tests.helpers.monitor_gui import FakeTray, fit_training_window, show_page  # noqa: E402

T0 = 1_800_000_000.0
WRAPPER_PID = 4200
H200 = Path(__file__).parents[1] / "data" / "monitor" / "h200-2026-11-22" / "h200-session.sqlite3"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Lock:
    """The database lock as a running ``rigready run`` leaves it (pid, session), faked."""

    def __init__(self) -> None:
        self.session: int | None = None
        self.held = True

    def record(self, _db: Path) -> LockRecord | None:
        return None if self.session is None else LockRecord(WRAPPER_PID, self.session)

    def holds(self, _db: Path) -> bool:
        return self.held


def finder(db: Path, lock: Lock, clock: Clock, notifies: bool | None = False) -> RunFinder:
    return RunFinder(db, clock=clock, lock_record=lock.record, lock_held=lock.holds,
                     process_tree=lambda pid: frozenset({pid, RUN_PID}),
                     notifies=lambda pid: notifies, find_every_s=0.0)


Make = Callable[..., MonitorPage]


@pytest.fixture
def make_page(qtbot: Any, tmp_path: Path) -> Iterator[Make]:
    pages: list[MonitorPage] = []

    def make(clock: Clock, *, lock: Lock | None = None, tray: FakeTray | None = None,
             notifies: bool | None = False, gpu: bool = True) -> MonitorPage:
        db = tmp_path / "db.sqlite3"
        context = AppContext(settings=QSettings(str(tmp_path / "s.ini"),
                                                QSettings.Format.IniFormat), db_path=db)
        reading = Reading(host=HostSample(cpu_pct=30.0, ram_used_bytes=8 << 30,
                                          ram_total_bytes=32 << 30),
                          gpus=(gpu_sample(clock(), 7.5),) if gpu else ())
        controller = MonitorController(db, providers=lambda: ([ScriptedProvider([reading])], []),
                                       clock=clock, interval_s=0.2, poll_ms=40)
        follower = RunFollower(db, poll_s=0.05,
                               finder=finder(db, lock or Lock(), clock, notifies))
        page = show_page(qtbot, context, controller, tray=tray, follower=follower,
                         size=(1100, 800))
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.shutdown()


def start(page: MonitorPage) -> None:
    page.controller.watch()
    page.runs.start()


def test_a_live_run_is_followed_from_the_database(qtbot: Any, make_page: Make,
                                                  tmp_path: Path) -> None:
    clock, lock, tray = Clock(), Lock(), FakeTray()
    page = make_page(clock, lock=lock, tray=tray)
    start(page)
    writer = RunWriter(tmp_path / "db.sqlite3", "hf_steady", label="lora r16",
                       shift=T0 - 1_796_571_811.0 + 5)  # the run starts 4 s after the window
    lock.session = writer.session_id
    writer.write_until(writer.started + 10)
    clock.now = writer.started + 10.2
    qtbot.waitUntil(lambda: page.runs.live is not None and page.runs.panel.isVisible(),
                    timeout=5000)
    qtbot.waitUntil(lambda: page.runs.panel.step.text().endswith("/ 120"), timeout=5000)
    panel = page.runs.panel
    step = int(panel.step.text().split("/")[0].replace(",", ""))
    assert 0 < step < 120 and 0 < panel.bar.value() < 1000
    assert panel.heading.text() == "Run 'lora r16' · running"
    assert panel.tiles["loss"].value_text() not in ("–", "")
    assert panel.tiles["vram"].value_text() == "7.0 GiB"  # the run's own, not the card's
    assert "of 24.0 GiB" in panel.tiles["vram"].detail.text()
    points = panel.chart.points()
    assert points > 3
    # the ETA is the recorder's (stored each second), counted down, and it does not jump
    etas = []
    for now in (writer.started + 10.4, writer.started + 10.9):
        clock.now = now
        page.refresh()
        etas.append(panel.tiles["eta"].value_text())
    assert etas[0] != "–" and len(set(etas)) <= 2
    # the process list marks the run's own process tree
    qtbot.waitUntil(lambda: page.runs.processes.isVisible(), timeout=5000)
    rows = page.runs.processes.texts()
    assert rows[0].startswith(f"python3 (pid {RUN_PID}) · 7.50 GiB") and \
        rows[0].endswith("· this run")
    assert rows[1] == f"Xorg (pid {DESKTOP_PID}) · 0.40 GiB"
    # more rows arrive: only the new ones are read, the chart grows
    writer.write_until(writer.last_time)
    qtbot.waitUntil(lambda: panel.chart.points() > points, timeout=5000)
    writer.finish()
    qtbot.waitUntil(lambda: panel.heading.text().endswith("finished"), timeout=5000)
    assert panel.step.text() == "120 / 120" and panel.bar.value() == 1000
    assert panel.tiles["eta"].value_text() == "done"
    assert "Finished" in page.banner.text() and page.banner.level == "good"
    lines = page.events_panel.messages()
    assert any("Finished in" in line for line in lines)
    assert not any("Finished: Finished" in line for line in lines)  # the title said once
    assert tray.messages == [("rigready: Finished (lora r16)",
                              tray.messages[0][1])] and "final loss" in tray.messages[0][1]


def test_the_training_monitor_puts_the_run_first(qtbot: Any, make_page: Make,
                                                 tmp_path: Path) -> None:
    clock, lock = Clock(), Lock()
    page = make_page(clock, lock=lock)
    start(page)
    writer = RunWriter(tmp_path / "db.sqlite3", "tqdm_loop", label="loop",
                       shift=T0 - 1_796_571_000.0)
    lock.session = writer.session_id
    writer.write_until(writer.started + 12)
    clock.now = writer.started + 12
    qtbot.waitUntil(lambda: page.runs.live is not None, timeout=5000)
    qtbot.waitUntil(lambda: len(page.source.rings.get(0, ())) > 0, timeout=5000)
    window = page.training.open(page.screen().name())
    window.showNormal()
    window._scale_fonts(1920, 1080)
    window.resize(1920, 1080)
    page.refresh()
    assert window.run_panel.isVisible() and window.mode == (True, True)
    assert window.title.text().startswith("Run 'loop' — python3 tqdm_loop.py")
    assert window.shown_tiles() == ("gpu", "vram", "temp", "power", "clocks")
    assert not window.tiles["elapsed"].isVisible()
    # the step is the biggest number on screen (it was "SESSION TIME 0:16")
    step_px = window.run_panel.step.font().pixelSize()
    sizes = [window.tiles[k].value.font().pixelSize() for k in window.shown_tiles()]
    sizes += [t.value.font().pixelSize() for t in window.run_panel.tiles.values()]
    assert step_px > max(sizes), (step_px, sizes)
    assert window.run_panel.step.text().endswith("/ 200")
    assert window.tiles["gpu"].value_text() == "97 %"
    window.close()


def test_a_nan_loss_is_an_alert_everywhere(qtbot: Any, make_page: Make, tmp_path: Path) -> None:
    clock, lock, tray = Clock(), Lock(), FakeTray()
    page = make_page(clock, lock=lock, tray=tray)
    start(page)
    writer = RunWriter(tmp_path / "db.sqlite3", "hf_nan", label="nan", shift=T0 + 5 - 1_796_571_840)
    lock.session = writer.session_id
    writer.write_until(writer.last_time)
    clock.now = writer.last_time
    qtbot.waitUntil(lambda: "Loss is NaN" in page.banner.text(), timeout=5000)
    assert page.banner.level == "bad" and "gradient norm is nan at step 3" in page.banner.text()
    assert [t for t, _ in tray.messages] == ["rigready: Loss is NaN (nan)"]
    window = page.training.open(page.screen().name())
    page.training.refresh()
    assert window.alert_state == "bad" and "Loss is NaN" in window.alert_bar.text()
    assert "All clear" not in window.alert_bar.text()
    window.close()


def test_a_run_whose_rigready_notifies_is_not_notified_twice(qtbot: Any, make_page: Make,
                                                             tmp_path: Path) -> None:
    clock, lock, tray = Clock(), Lock(), FakeTray()
    page = make_page(clock, lock=lock, tray=tray, notifies=True)
    start(page)
    writer = RunWriter(tmp_path / "db.sqlite3", "hf_nan", shift=T0 + 5 - 1_796_571_840)
    lock.session = writer.session_id
    writer.write_until(writer.last_time)
    qtbot.waitUntil(lambda: "Loss is NaN" in page.banner.text(), timeout=5000)
    assert tray.messages == []  # `rigready run` showed it already
    assert page.alerts.quiet_kinds == frozenset({"temperature", "thermal_throttle",
                                                 "power_throttle", "vram"})


def test_a_crash_shows_its_last_lines_and_the_oom_advice(qtbot: Any, make_page: Make,
                                                         tmp_path: Path) -> None:
    clock, lock = Clock(), Lock()
    page = make_page(clock, lock=lock)
    start(page)
    writer = RunWriter(tmp_path / "db.sqlite3", "tqdm_kill", label="oom",
                       shift=T0 + 5 - 1_796_571_000)
    writer.alerts.oom_advice = ("The estimate for this job needs 26.1 GiB: try --batch 4",)
    lock.session = writer.session_id
    lines = ("  File \"train.py\", line 40, in <module>",
             "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    end = writer.last_time + 1
    writer.finish(RunEnded(end, "crashed", exit_code=1, last_lines=lines, out_of_memory=True))
    qtbot.waitUntil(lambda: page.runs.panel.last_lines.isVisible(), timeout=5000)
    panel = page.runs.panel
    assert panel.heading.text() == "Run 'oom' · crashed"
    assert panel.last_lines.text().endswith(lines[1])
    assert page.banner.level == "bad" and "Crashed" in page.banner.text()
    assert "out of GPU memory. The estimate for this job needs 26.1 GiB: try --batch 4" in \
        page.banner.text()
    assert panel.tiles["eta"].level == "bad"


def test_a_run_whose_rigready_died_is_not_left_running(qtbot: Any, make_page: Make,
                                                        tmp_path: Path) -> None:
    clock, lock = Clock(), Lock()
    page = make_page(clock, lock=lock)
    start(page)
    writer = RunWriter(tmp_path / "db.sqlite3", "tqdm_loop", shift=T0 + 5 - 1_796_571_000)
    lock.session = writer.session_id
    writer.write_until(writer.started + 6)
    qtbot.waitUntil(lambda: page.runs.live is not None, timeout=5000)
    lock.held = False  # SIGKILLed: the kernel dropped its lock, the row still says running
    qtbot.waitUntil(lambda: page.runs.live is not None and not page.runs.live.recording,
                    timeout=5000)
    page.refresh()
    assert page.runs.panel.heading.text().endswith("ended (no exit status recorded)")


def test_a_stale_running_row_is_not_followed(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    writer = RunWriter(db, "tqdm_loop")
    writer.write_until(writer.started + 5)
    lock, clock = Lock(), Clock()
    found = finder(db, lock, clock)
    with Store(db, readonly=True) as store:
        assert found.poll(store) is None  # no rigready holds the lock for it
        lock.session = writer.session_id
        first = found.poll(store)
        assert first is not None and first.new and first.recording
        assert first.rows is not None and first.rows.progress and first.pids == frozenset(
            {WRAPPER_PID, RUN_PID})
        again = found.poll(store)
        assert again is not None and not again.new and again.rows is not None
        assert again.rows.progress == () and again.rows.metrics == ()  # nothing new


@pytest.mark.parametrize("name", ["hf_steady", "hf_nan", "lightning_rich", "lightning_tqdm",
                                  "tqdm_loop", "tqdm_kill"])
def test_every_captured_run_replays_on_the_page_and_the_monitor(
        qtbot: Any, make_page: Make, tmp_path: Path, name: str) -> None:
    db = tmp_path / "history.sqlite3"
    killed = RunEnded(0, "killed", signal=9) if name == "tqdm_kill" else None
    writer = write_run(db, name, label=name, gpu=name.startswith("hf"), end=killed)
    page = make_page(Clock())
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(db)
    replay = page.source.replay
    assert replay is not None and replay.run is not None
    page.seek(replay.run.end + 1)
    panel = page.runs.panel
    assert panel.isVisible()
    final = writer.tracker.snapshot(replay.run.end)
    assert panel.step.text().split(" /")[0] == f"{final.step:,}"
    loss_x, _ = writer.tracker.series("loss")
    assert panel.chart.points() == loss_x.size
    outcome = "killed" if killed else "finished"
    assert panel.heading.text() == f"Run '{name}' · {outcome}"
    assert page.controls.session_box.currentText().startswith(f"run {writer.session_id} '{name}'")
    window = page.training.open(page.screen().name())
    page.training.refresh()
    assert window.run_panel.isVisible()
    assert window.mode == (True, name.startswith("hf"))  # no GPU: CPU and RAM tiles
    if not name.startswith("hf"):
        assert window.tiles["cpu"].value_text() == "55 %"
    window.close()


def test_a_replayed_run_at_a_moment(qtbot: Any, make_page: Make, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    writer = write_run(db, "tqdm_loop", label="loop")
    page = make_page(Clock())
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(db)
    assert page.source.replay is not None and page.source.replay.run is not None
    with Store(db, readonly=True) as store:
        progress = store.run_progress(writer.session_id)
    row = progress[len(progress) // 2]
    page.seek(row.time + 0.1)
    panel = page.runs.panel
    assert panel.step.text() == f"{row.step:,} / 200"
    assert panel.chart.marker.isVisible() and panel.chart.marker.value() == row.step
    # a replay names how the run ended and the moment shown
    assert panel.heading.text().startswith("Run 'loop' · finished · at 0:")
    eta = panel.tiles["eta"].value_text()
    assert eta != "–" and row.eta_s is not None
    assert abs(int(eta.split(":")[1]) - (row.eta_s - 0.1)) <= 1
    page.seek(page.source.replay.run.end + 0.5)
    assert panel.heading.text() == "Run 'loop' · finished"


def test_no_all_clear_in_the_second_a_power_cap_starts(qtbot: Any, make_page: Make,
                                                       tmp_path: Path) -> None:
    copy = tmp_path / "h200.sqlite3"
    shutil.copy(H200, copy)
    page = make_page(Clock())
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(copy)
    assert page.source.replay is not None
    start_n = next(e.time for e in page.source.replay.events
                   if e.kind == "throttle" and e.name == "sw_power_cap" and e.state == "raised")
    alert = next(e.time for e in page.source.replay.events if e.kind == "alert")
    assert alert > start_n + 1  # the alert waits; the episode alone must stop "All clear"
    window = page.training.open(page.screen().name())
    page.seek(start_n - 1)
    assert window.alert_bar.text() == "All clear"
    for t in (start_n, start_n + 1, alert - 0.5):
        page.seek(t)
        assert window.alert_bar.text() != "All clear" and window.alert_state == "warn", t
        assert "sw_power_cap" in window.alert_bar.text()
    window.close()


def test_a_live_throttle_episode_is_not_all_clear(qtbot: Any, make_page: Make) -> None:
    from rigready.monitor.store_read import EventRecord

    clock = Clock()
    page = make_page(clock)
    page.controller.watch()
    qtbot.waitUntil(lambda: len(page.source.rings.get(0, ())) > 0, timeout=5000)
    window = page.training.open(page.screen().name())
    page.refresh()
    assert window.alert_bar.text() == "All clear"
    page.controller.event_logged.emit(EventRecord(0, None, T0, "throttle", "sw_power_cap",
                                                  "raised", 0, "GPU 0 throttling: sw_power_cap",
                                                  None))
    page.refresh()
    assert window.alert_state == "warn" and "sw_power_cap" in window.alert_bar.text()
    window.close()


def test_gui_screenshot_renders_a_run_replay(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    db = tmp_path / "history.sqlite3"
    write_run(db, "hf_steady", label="lora r16")
    out = tmp_path / "monitor.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RIGREADY_HOME": str(tmp_path / "h")}
    done = subprocess.run([sys.executable, "-m", "rigready.desktop.cli", "gui", "--screenshot",
                           str(out), "--page", "monitor", "--db", str(db)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert image.width() > 800 and image.height() > 500


@pytest.mark.parametrize("size", [(1024, 640), (1280, 800), (1920, 1080)])
def test_a_run_fits_the_monitor_at_every_size(qtbot: Any, make_page: Make, tmp_path: Path,
                                             size: tuple[int, int]) -> None:
    from rigready.desktop.monitoring.training_window import TrainingMonitorWindow

    db = tmp_path / "history.sqlite3"
    write_run(db, "hf_steady", label="a rather long label for a LoRA run, rank 16")
    page = make_page(Clock())
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(db)
    assert page.source.replay is not None and page.source.replay.run is not None
    page.seek(page.source.replay.run.record.started + 12)
    height = size[1]
    window = TrainingMonitorWindow()
    qtbot.addWidget(window)
    window.refresh(page.snapshot())
    panel = window.run_panel
    panel.tiles["vram"].set_text("141.0 GiB", "peak 141.0 GiB of 141.0 GiB")  # the widest
    panel.tiles["eta"].set_text("26:03:41", "ends 09:12")
    panel.tiles["throughput"].set_text("12,345", "tokens/s")
    fit_training_window(qtbot, window, size)
    tiles = [*panel.tiles.values(), *(window.tiles[k] for k in window.shown_tiles())]
    for tile in tiles:
        value = tile.value
        assert value.width() >= value.fontMetrics().horizontalAdvance(value.text()), \
            (size, tile.caption.text(), value.text())
    assert panel.chart.height() > height // 5  # the loss chart keeps a readable height
    widths = {window.tiles[key].width() for key in window.shown_tiles()}
    assert max(widths) - min(widths) <= 1, widths


def test_freedesktop_notification_where_there_is_no_tray(tmp_path: Path) -> None:
    from rigready.monitor.training.notify import Notifier

    log = tmp_path / "notified.txt"
    tool = tmp_path / "notify-send"
    tool.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {log}\n")
    tool.chmod(0o755)
    desktop = Notifier(which=lambda name: str(tool) if name == "notify-send" else None,
                       env={"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"})
    notifier = AlertNotifier(desktop=desktop)
    assert notifier.available
    assert notifier.notify_text("loss_nan", "The loss is nan at step 3", T0, "lora")
    desktop.reap(5.0)
    args = log.read_text().splitlines()
    assert args == ["--app-name=rigready", "--urgency=critical", "--",
                    "rigready: Loss is NaN (lora)", "The loss is nan at step 3"]
    notifier.enabled = False
    assert not notifier.notify_text("run_finished", "done", T0)
    silent = AlertNotifier(desktop=Notifier(which=lambda name: None, env={}))
    assert not silent.available


def test_whether_a_runs_rigready_notifies_itself() -> None:
    import os
    import subprocess
    import sys

    from rigready.desktop.monitoring.run_follower import rigready_notifies

    script = "import time; time.sleep(30)"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY")}
    cases = [(["--no-desktop-notify"], {"DISPLAY": ":0"}, False), ([], {"DISPLAY": ":0"}, True),
             ([], {}, False)]
    for extra, more, expected in cases:
        child = subprocess.Popen([sys.executable, "-c", script, *extra], env={**env, **more})
        try:
            for _ in range(50):  # its environment is readable once exec is done
                if rigready_notifies(child.pid) == expected:
                    break
                import time

                time.sleep(0.05)
            assert rigready_notifies(child.pid) is expected, (extra, more)
        finally:
            child.kill()
            child.wait()
    assert rigready_notifies(child.pid) is None  # gone


def test_run_words() -> None:
    from dataclasses import replace

    from rigready.desktop.monitoring.run_text import (
        epoch_text,
        eta_texts,
        loss_texts,
        lr_text,
        process_lines,
        throughput_texts,
        unlisted_bytes,
        vram_texts,
    )
    from rigready.monitor.sample import GpuProcess
    from rigready.monitor.training.tracker import RunInfo, RunTracker

    snap = RunTracker(RunInfo("x", ("train",), T0)).snapshot(T0 + 5)
    assert eta_texts(snap) == ("–", "needs a total step count")
    snap = replace(snap, step=10, total=100, eta_s=3725.0, eta_end=T0 + 3730,
                   loss=float("nan"), eval_loss=1.23456, epoch=0.5, learning_rate=2e-4,
                   throughput=0.25, throughput_unit="it/s", process_vram_bytes=3 << 30,
                   process_vram_peak_bytes=4 << 30, card_vram_total_bytes=12 << 30)
    assert eta_texts(snap)[0] == "1:02:05"
    assert loss_texts(snap) == ("nan", "eval 1.235") and epoch_text(snap) == "epoch 0.50"
    assert lr_text(2e-4) == "2.0e-04" and lr_text(None) == "–"
    assert throughput_texts(snap) == ("4.00 s/it", "seconds per step")
    assert throughput_texts(replace(snap, throughput=1234.5, throughput_unit="tokens/s")) == (
        "1,234 tokens/s", "logged by the run")
    assert vram_texts(snap) == ("3.0 GiB", "peak 4.0 of 12.0 GiB")
    procs = [GpuProcess(1, "Xorg", 400 << 20), GpuProcess(7, "python3", 3 << 30),
             GpuProcess(9, None, None)]
    lines = process_lines(procs, {7})
    assert [(x.pid, x.ours) for x in lines] == [(7, True), (1, False), (9, False)]
    assert lines[2].text() == "? (pid 9) · hidden by the driver"
    assert unlisted_bytes(procs, (3 << 30) + (400 << 20) + (512 << 20)) == 512 << 20
    assert unlisted_bytes(procs, (3 << 30) + (400 << 20)) is None


def test_a_database_written_by_a_real_rigready_run_replays(qtbot: Any, make_page: Make,
                                                           tmp_path: Path) -> None:
    # tests/data/training/cpu_lora_db: HF Trainer + peft LoRA on CPU under `rigready run`
    db = tmp_path / "run.sqlite3"
    shutil.copy(Path(__file__).parents[1] / "data" / "training" / "cpu_lora_db" / "run.sqlite3",
                db)
    page = make_page(Clock())
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(db)
    assert page.source.replay is not None and page.source.replay.run is not None
    panel = page.runs.panel
    assert panel.heading.text() == "Run 'LoRA r8 (CPU)' · finished"  # no GPU: shown at its end
    assert panel.step.text() == "1,500 / 1,500" and panel.tiles["eta"].value_text() == "done"
    assert panel.tiles["loss"].value_text() == "4.525"
    assert panel.tiles["vram"].caption.text() == "RUN CPU"  # a CPU run: its CPU, not VRAM
    assert panel.chart.points() == 150  # every logged training loss (10 steps apart)
    assert "Finished in 1m31s at step 1500" in page.banner.text()
    page.seek(page.source.replay.run.record.started + 30)
    step = int(panel.step.text().split(" /")[0].replace(",", ""))
    assert 300 < step < 700 and panel.tiles["eta"].value_text().startswith("0:")
    window = page.training.open(page.screen().name())
    page.training.refresh()
    assert window.title.toolTip().startswith("Run 'LoRA r8 (CPU)' — python train_lora.py --out")
    assert window.shown_tiles() == ("cpu", "ram")
    window.close()


def test_a_replay_after_a_live_run_draws_its_own_losses(qtbot: Any, make_page: Make,
                                                        tmp_path: Path) -> None:
    # the chart skipped setData when the replay's series had the live run's version number
    clock, lock = Clock(), Lock()
    page = make_page(clock, lock=lock)
    start(page)
    live = RunWriter(tmp_path / "db.sqlite3", "hf_steady", shift=T0 + 5 - 1_796_571_811)
    live.write_until(live.started + 8)  # one batch of rows: the live series' first version
    lock.session = live.session_id
    qtbot.waitUntil(lambda: page.runs.panel.chart.points() > 0, timeout=5000)
    assert page.runs.panel.step.text().endswith("/ 120")  # the same total as the replay's
    history = tmp_path / "history.sqlite3"
    saved = write_run(history, "hf_steady", label="saved")
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(history)
    assert page.runs.panel.heading.text() == "Run 'saved' · finished"
    assert page.runs.panel.chart.points() == saved.tracker.series("loss")[0].size == 24
