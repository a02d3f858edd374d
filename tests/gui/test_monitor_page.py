"""The Monitor page with fake providers: live values, windows, alerts, logging, replay."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytestmark = pytest.mark.gui

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QSystemTrayIcon  # noqa: E402

from rigready.desktop.context import AppContext  # noqa: E402
from rigready.desktop.monitoring.controller import MonitorController  # noqa: E402
from rigready.desktop.pages.monitor import MonitorPage  # noqa: E402
from rigready.monitor.providers.base import Provider, Reading  # noqa: E402
from rigready.monitor.providers.fake import FakeProvider, ScriptedProvider  # noqa: E402
from rigready.monitor.ring import COLUMN  # noqa: E402
from rigready.monitor.sample import GpuSample, HostSample, Sample  # noqa: E402
from rigready.monitor.store import Store  # noqa: E402
from tests.helpers.monitor_gui import FakeTray, show_page  # noqa: E402

DATA = Path(__file__).parents[1] / "data" / "monitor"
GIB = 1024**3
T0 = 1_800_000_000.0


class Clock:
    """Wall clock the test moves; ``step`` > 0 advances it on every read (one per tick)."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = T0
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value


Factory = Callable[[], tuple[list[Provider], list[str]]]


@pytest.fixture
def make_page(qtbot: Any, tmp_path: Path) -> Iterator[Callable[..., MonitorPage]]:
    pages: list[MonitorPage] = []

    def make(factory: Factory, clock: Clock, tray: FakeTray | None = None,
             settings: QSettings | None = None) -> MonitorPage:
        settings = settings or QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        context = AppContext(settings=settings, db_path=tmp_path / "db.sqlite3")
        controller = MonitorController(context.database_path, providers=factory, clock=clock,
                                       interval_s=0.2, poll_ms=40)
        page = show_page(qtbot, context, controller, tray=tray, size=(1100, 760))
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.shutdown()


def fake_gpu(clock: Clock) -> Factory:
    return lambda: ([FakeProvider(clock=clock)], [])


def wait_state(qtbot: Any, page: MonitorPage, state: str) -> None:
    qtbot.waitUntil(lambda: page.controller.state == state, timeout=5000)


def test_live_values_from_a_fake_gpu_with_an_injected_clock(qtbot: Any, make_page: Any) -> None:
    clock = Clock()
    page = make_page(fake_gpu(clock), clock)
    page.controller.watch()
    wait_state(qtbot, page, "watching")
    qtbot.waitUntil(lambda: len(page.source.rings.get(0, ())) == 1, timeout=5000)
    # FakeProvider at t=0: util 90 %, 18 of 24 GiB, 40 °C, 250 W, SM 1800 MHz, CPU 25 %.
    shown = {k: t.value_text() for k, t in page.tiles.items()}
    assert shown == {"gpu": "90 %", "vram": "18.0 GiB", "temp": "40 °C", "power": "250 W",
                     "clocks": "1800 MHz", "host": "25 %"}
    assert page.tiles["vram"].detail.text() == "of 24.0 GiB (75 %)"
    assert page.controls.gpu_box.currentText() == "GPU 0: Fake GPU 24GB"
    clock.now = T0 + 7.5  # sin(2.5) and sin(1.5): util 94.8 %, power 289.9 W
    qtbot.waitUntil(lambda: len(page.source.rings[0]) == 2, timeout=5000)
    assert page.tiles["gpu"].value_text() == "95 %"
    assert page.tiles["power"].value_text() == "290 W"
    assert page.charts.limit("temp") == 90.0 and page.charts.limit("power") == 350.0
    assert "Live · not logging" in page.status.text()


def host_only() -> Factory:
    host = ScriptedProvider([Reading(host=HostSample(cpu_pct=42.0, ram_used_bytes=GIB,
                                                     ram_total_bytes=4 * GIB))], name="host")
    return lambda: ([host], ["NVIDIA: NVML unavailable: NVML Shared Library Not Found"])


def test_without_a_gpu_the_page_says_why_and_shows_the_host(qtbot: Any, make_page: Any) -> None:
    clock = Clock(step=1.0)
    page = make_page(host_only(), clock)
    page.controller.watch()
    qtbot.waitUntil(lambda: len(page.source.rings.get(0, ())) >= 2, timeout=5000)
    assert page.notice.isVisible()
    assert "No GPU readings" in page.notice.text() and "NVML unavailable" in page.notice.text()
    assert page.tiles["host"].value_text() == "42 %"
    assert page.tiles["gpu"].value_text() == "–"
    assert page.controls.gpu_box.currentText() == "No GPU"
    # Issue 15: five empty GPU charts dominated the one live chart, squeezed narrowest.
    assert not page.charts.gpu_plots_shown and not page.controls.gpu_box.isVisible()
    host = page.charts.plots["host"]
    assert host.isVisible() and not page.charts.plots["util"].isVisible()
    assert host.width() > 0.9 * page.charts.view.width()
    assert [k for k, tile in page.tiles.items() if tile.isVisible()] == ["host"]


def test_without_a_gpu_the_training_monitor_says_so_and_counts_no_session_time(
        qtbot: Any, make_page: Any) -> None:
    clock = Clock(step=1.0)
    page = make_page(host_only(), clock)
    page.controller.watch()
    qtbot.waitUntil(lambda: len(page.source.rings.get(0, ())) >= 3, timeout=5000)
    window = page.training.open(page.screen().name())
    page.training.refresh()
    # not "All clear" in green above "No GPU readings"
    assert window.alert_bar.text() == "No GPU readings: CPU and RAM shown"
    assert window.alert_state == "none"
    # issue 21: the tiles show CPU and RAM, not six tiles of dashes
    assert window.shown_tiles() == ("cpu", "ram", "elapsed")
    shown = {k: t.value_text() for k, t in window.tiles.items() if t.isVisible()}
    assert shown == {"cpu": "42 %", "ram": "25 %", "elapsed": "–"}
    # only watching, not logging: no session time ticking
    assert page.snapshot().elapsed_s is None
    assert window.tiles["elapsed"].value_text() == "–"
    assert window.tiles["elapsed"].detail.text() == "not logging"
    window.close()


def test_at_1024x640_no_chart_slides_under_recent_events(qtbot: Any, make_page: Any) -> None:
    clock = Clock()
    page = make_page(fake_gpu(clock), clock)
    page.resize(1024 - 200, 640 - 60)  # the page's share of a 1024x640 window
    page.controller.watch()
    qtbot.waitUntil(lambda: len(page.source.rings.get(0, ())) == 1, timeout=5000)
    qtbot.wait(50)
    view = page.charts.view
    assert page.charts.gpu_plots_shown
    layout_width = view.ci.size().width()
    assert layout_width <= view.viewport().width() + 1, (layout_width, view.viewport().width())
    right = page.charts.mapTo(page, page.charts.rect().topRight()).x()
    assert right <= page.events_panel.mapTo(page, page.events_panel.rect().topLeft()).x()


def synthetic(seconds: int) -> list[Sample]:
    return [Sample(time=T0 + i, host=HostSample(cpu_pct=10.0),
                   gpus=(GpuSample(index=0, name="G", utilization_pct=float(i % 100),
                                   power_w=100.0 + i % 50),))
            for i in range(seconds)]


def test_window_selector_changes_the_time_range(qtbot: Any, make_page: Any) -> None:
    page = make_page(host_only(), Clock())
    page.controller.samples_ready.emit(synthetic(7200))  # 2 h at 1 Hz, newest at T0 + 7199
    end = T0 + 7199
    for key, seconds in (("1 min", 60), ("15 min", 900), ("1 h", 3600), ("5 min", 300)):
        qtbot.mouseClick(page.window_selector.buttons[key], Qt.MouseButton.LeftButton)
        assert page.source.window_key == key
        lo, hi = page.charts.x_range()
        assert lo == pytest.approx(end - seconds, abs=1e-3) and hi == pytest.approx(end)
        x, _ = page.charts.curves["gpu_util_pct"].getOriginalDataset()
        # The charts draw the rows inside the window plus the one just before its left edge,
        # so the line reaches the edge.
        assert x is not None and x[0] == pytest.approx(end - seconds - 1, abs=1.0)
        assert x[-1] == end
    page.set_window("24 h")
    lo, hi = page.charts.x_range()
    assert hi - lo == pytest.approx(86400)
    curve = page.charts.curves["gpu_util_pct"]
    x, y = curve.getOriginalDataset()
    # 7,200 rows over a few hundred pixels: drawn as min/max per pixel column, from T0 on.
    assert x is not None and y is not None and x[0] == T0 and x.size < 7200 / 4
    assert y.max() == 99.0 and y.min() == 0.0  # the sawtooth's peaks survive
    assert "GPU 21 %" in page.charts.point_at(T0 + 4321)  # the read-out uses every row


def full_vram(clock: Clock) -> Factory:
    gpu = GpuSample(index=0, name="Fake 8GB", utilization_pct=99.0,
                    memory_used_bytes=int(7.9 * GIB), memory_total_bytes=8 * GIB)
    reading = Reading(host=HostSample(cpu_pct=5.0), gpus=(gpu,))
    return lambda: ([ScriptedProvider([reading])], [])


def test_alert_raises_banner_tray_and_is_logged(qtbot: Any, make_page: Any,
                                                tmp_path: Path) -> None:
    clock = Clock(step=1.0)  # each tick one "second" later: the 5 s hold passes in 6 ticks
    tray = FakeTray()
    page = make_page(full_vram(clock), clock, tray)
    page.controls.label_edit.setText("alert run")
    page.start_logging()
    wait_state(qtbot, page, "logging")
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=10000)
    assert "VRAM almost full" in page.banner.text() and page.banner.level == "bad"
    assert len(tray.messages) == 1
    (title, message), icon = tray.messages[0], tray.icons[0]
    assert "VRAM almost full" in title and "98.7% used" in message
    assert icon == QSystemTrayIcon.MessageIcon.Critical
    assert any("VRAM almost full" in line for line in page.events_panel.messages())
    session = page.controller.session_id
    page.controller.stop_logging()
    wait_state(qtbot, page, "watching")
    with Store(tmp_path / "db.sqlite3", readonly=True) as store:
        info = store.session(session or 0)
        alerts = [e for e in store.events_between(0, 2e10, session_id=info.id)
                  if e.kind == "alert"]
    assert info.label == "alert run" and info.ended is not None
    assert [(a.name, a.state) for a in alerts] == [("vram", "raised")]


class Broken:
    """A provider with a bug: the sampler switches it off and says so once."""

    name = "broken"

    def __init__(self) -> None:
        self.reads = 0

    def read(self) -> Reading:
        self.reads += 1
        raise RuntimeError("driver returned garbage")

    def notes(self) -> tuple[str, ...]:
        return ()

    def close(self) -> None:
        pass


def test_failing_provider_is_switched_off_and_listed(qtbot: Any, make_page: Any) -> None:
    broken = Broken()
    host = ScriptedProvider([Reading(host=HostSample(cpu_pct=3.0))], name="host")
    clock = Clock(step=1.0)
    page = make_page(lambda: ([host, broken], []), clock)
    page.controller.watch()
    qtbot.waitUntil(lambda: len(page.source.rings.get(0, ())) >= 3, timeout=5000)
    page.refresh()
    lines = [m for m in page.events_panel.messages() if "switched off" in m]
    assert len(lines) == 1 and "broken" in lines[0]
    assert broken.reads == 1  # never asked again
    assert page.tiles["host"].value_text() == "3 %"


@pytest.fixture
def h200_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "h200-session.sqlite3"
    shutil.copy(DATA / "h200-2026-11-22" / "h200-session.sqlite3", copy)
    return copy


def test_replay_of_the_real_h200_session_shows_its_peaks(qtbot: Any, make_page: Any,
                                                         h200_copy: Path) -> None:
    page = make_page(host_only(), Clock())
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(h200_copy)
    assert page.source.mode == "replay" and page.source.window_key == "Session"
    shown = {k: t.value_text() for k, t in page.tiles.items()}
    assert shown == {"gpu": "100 %", "vram": "21.3 GiB", "temp": "59 °C", "power": "699 W",
                     "clocks": "1980 MHz", "host": "16 %"}
    assert page.tiles["gpu"].caption.text() == "GPU · peak"
    assert page.tiles["temp"].detail.text() == "slows down at 89 °C"
    info = page.source.replay.session if page.source.replay else None
    assert info is not None and info.label == "training loop"
    lo, hi = page.charts.x_range()
    assert lo == pytest.approx(info.started) and hi == pytest.approx(info.last_sample or 0)
    assert page.charts.limit("power") == 700.0 and page.charts.limit("temp") == 89.0
    assert page.charts.visible_spans() == 1  # the sw_power_cap episode
    assert "Power limited" in page.banner.text() and page.banner.level == "warn"
    assert len(page.events_panel.messages()) == 4
    assert "699 W" in page.charts.readout_text  # the crosshair starts at the peak power
    assert "Replaying session 1 'training loop'" in page.status.text()
    assert page.controls.session_box.isVisible()
    readout = page.charts.point_at(info.started + 45.2)  # nearest tick: 45 s in
    assert readout.startswith(time.strftime("%H:%M:%S", time.localtime(info.started + 45)))
    page.show_live()
    assert page.source.mode == "live" and not page.controls.session_box.isVisible()


def test_long_windows_read_the_stores_aggregates(qtbot: Any, make_page: Any,
                                                 h200_copy: Path) -> None:
    page = make_page(host_only(), Clock())
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(h200_copy)
    page.set_window("7 d")
    qtbot.waitUntil(lambda: page.source.history is not None, timeout=10000)
    assert page.source.history is not None
    t, v = page.source.history.rows[0]
    raw_t, raw_v = page.source.replay.rows[0] if page.source.replay else ((), ())
    minutes = sorted({(float(x) // 60) * 60 for x in raw_t})
    assert t.tolist() == minutes  # 03:51, 03:52 and 03:53 UTC
    first = [i for i, x in enumerate(raw_t) if x < minutes[1]]
    power = raw_v[COLUMN["power_w"]][first]
    assert v[COLUMN["power_w"], 0] == pytest.approx(float(power.mean()), rel=1e-4)
    lo, hi = page.charts.x_range()
    assert hi - lo == pytest.approx(7 * 86400)
    page.set_window("Session")
    assert page.source.history is None


def test_zooming_a_replay_redraws_every_sample_in_view(qtbot: Any, make_page: Any) -> None:
    page = make_page(host_only(), Clock())
    page.controller.samples_ready.emit(synthetic(7200))
    page.set_window("24 h")
    page.charts.set_following(False)  # replay: the mouse may pan and zoom along time
    curve = page.charts.curves["gpu_util_pct"]
    whole, _ = curve.getOriginalDataset()
    assert whole is not None and whole.size < 7200 / 4  # min/max per pixel column
    page.charts.set_x_range(T0 + 1000, T0 + 1100)  # zoom in to 100 s
    x, _ = curve.getOriginalDataset()
    assert x is not None and x[0] == T0 + 999 and x[-1] == T0 + 1101
    assert np.all(np.diff(x) == 1.0)  # every sample, not the decimated pixels


def test_a_full_disk_shows_in_the_banner_while_logging(qtbot: Any, make_page: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(step=1.0)
    page = make_page(fake_gpu(clock), clock)
    page.start_logging()
    wait_state(qtbot, page, "logging")
    monkeypatch.setattr("rigready.monitor.store_guard.free_bytes", lambda folder: 1024)  # disk full
    qtbot.waitUntil(lambda: page.banner.isVisible() and "Database" in page.banner.text(),
                    timeout=10000)
    assert "samples are not being saved" in page.banner.text() and "is full" in page.banner.text()
    assert page.banner.level == "bad"
    monkeypatch.undo()  # space freed: the waiting samples are written and the banner clears
    qtbot.waitUntil(lambda: "Database" not in page.banner.text() or not page.banner.isVisible(),
                    timeout=10000)
    page.controller.stop_logging()
    wait_state(qtbot, page, "watching")


def test_replay_at_1024x640_cuts_no_read_out_combo_or_number(qtbot: Any, make_page: Any,
                                                             h200_copy: Path) -> None:
    # Issue 15: in replay the read-out and the session/GPU boxes were clipped at 1024x640.
    page = make_page(host_only(), Clock())
    page.resize(1024 - 200, 640 - 60)
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(h200_copy)
    qtbot.wait(50)
    controls = page.controls
    assert not controls.start_button.isVisible() and not controls.label_edit.isVisible()
    for box in (controls.session_box, controls.gpu_box):
        assert box.isVisible() and box.width() >= box.sizeHint().width(), box.currentText()
    label = page.charts.readout_label
    assert label.wordWrap() and label.text() == page.charts.readout_text  # whole, wrapped
    assert label.height() >= label.heightForWidth(label.width())
    for tile in page.tiles.values():
        value = tile.value
        assert value.width() >= value.fontMetrics().horizontalAdvance(value.text()), tile
    page.show_live()
    assert controls.start_button.isVisible() and controls.label_edit.isVisible()
