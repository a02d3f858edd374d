"""The second-screen training monitor, alert settings and notifications."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytestmark = pytest.mark.gui

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

from rigready.desktop.context import AppContext  # noqa: E402
from rigready.desktop.monitoring.alert_settings import (  # noqa: E402
    AlertSettings,
    load_alert_settings,
    save_alert_settings,
)
from rigready.desktop.monitoring.controller import MonitorController  # noqa: E402
from rigready.desktop.monitoring.notify import AlertNotifier  # noqa: E402
from rigready.desktop.monitoring.text import (  # noqa: E402
    alert_level,
    choose_screen,
    format_elapsed,
    tile_levels,
)
from rigready.desktop.monitoring.training_link import (  # noqa: E402
    MAIN_SCREEN_KEY,
    ON_TOP_KEY,
    SCREEN_KEY,
)
from rigready.desktop.pages.monitor import MonitorPage  # noqa: E402
from rigready.monitor.alerts import AlertEvent  # noqa: E402
from rigready.monitor.ring import COLUMN, COLUMNS  # noqa: E402
from tests.helpers.monitor_gui import FakeTray, fit_training_window, show_page  # noqa: E402

ROOT = Path(__file__).parents[2]
H200 = ROOT / "tests" / "data" / "monitor" / "h200-2026-11-22" / "h200-session.sqlite3"


def settings_at(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def new_page(qtbot: Any, tmp_path: Path, tray: FakeTray | None = None) -> MonitorPage:
    context = AppContext(settings=settings_at(tmp_path / "s.ini"), db_path=tmp_path / "db.sqlite3")
    controller = MonitorController(context.database_path, providers=lambda: ([], []))
    return show_page(qtbot, context, controller, tray=tray)


@pytest.fixture
def replaying(qtbot: Any, tmp_path: Path) -> Iterator[MonitorPage]:
    copy = tmp_path / "h200.sqlite3"
    shutil.copy(H200, copy)
    page = new_page(qtbot, tmp_path)
    with qtbot.waitSignal(page.replay_loaded, timeout=10000):
        page.load_session(copy)
    yield page
    page.shutdown()


def test_opens_full_screen_on_the_chosen_screen_and_esc_closes(qtbot: Any,
                                                               replaying: MonitorPage) -> None:
    screen = QGuiApplication.primaryScreen()
    window = replaying.training.open(screen.name(), stay_on_top=True)
    qtbot.waitUntil(window.isFullScreen, timeout=3000)
    assert window.windowHandle().screen().name() == screen.name()
    assert window.geometry() == screen.geometry()
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    settings = replaying.settings
    assert settings.value(SCREEN_KEY) == screen.name()
    assert str(settings.value(ON_TOP_KEY)).lower() == "true"
    assert window.title.text() == "GPU 0 · NVIDIA H200"
    replaying.seek((replaying.source.replay.session.started if replaying.source.replay else 0) + 45)
    assert window.tiles["gpu"].value_text() == "100 %"
    assert window.tiles["elapsed"].value_text() == "0:45"
    assert window.alert_state == "warn" and "Power limited" in window.alert_bar.text()
    spark = window.tiles["power"].sparkline
    assert spark is not None
    x, _ = spark.curve.getOriginalDataset()
    assert x is not None and x.size == 46  # 0 s to 45 s, at most 5 minutes
    replaying.seek((replaying.source.replay.session.started if replaying.source.replay else 0) + 3)
    assert window.alert_state == "ok" and window.alert_bar.text() == "All clear"
    assert window.tiles["gpu"].value_text() == "0 %"
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: replaying.training.window is None, timeout=3000)
    assert not window.isVisible()


def test_dialog_uses_the_remembered_screen(qtbot: Any, replaying: MonitorPage) -> None:
    name = QGuiApplication.primaryScreen().name()
    replaying.settings.setValue(SCREEN_KEY, name)
    replaying.settings.setValue(ON_TOP_KEY, True)
    dialog = replaying.training.open_dialog()
    assert dialog.isVisible() and dialog.screen_box.currentData() == name
    assert dialog.on_top.isChecked()
    assert replaying.settings.value(MAIN_SCREEN_KEY) == name  # the main window's screen
    with qtbot.waitSignal(dialog.accepted):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    window = replaying.training.window
    assert window is not None and window.isFullScreen()
    window.close()


SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QWidget
    app = QApplication([])
    from rigready.desktop.monitoring.training_link import TrainingMonitorDialog, find_screen
    from rigready.desktop.monitoring.training_window import TrainingMonitorWindow
    settings = QSettings(sys.argv[1], QSettings.Format.IniFormat)
    dialog = TrainingMonitorDialog(settings, main_screen="laptop")
    name, on_top = dialog.value()
    window = TrainingMonitorWindow()
    window.show_on(find_screen(name), on_top)
    app.processEvents()
    print(json.dumps({"chosen": name, "screen": window.windowHandle().screen().name(),
                      "full": window.isFullScreen(),
                      "geometry": list(window.geometry().getRect())}))
    window.close()
""")


def test_second_screen_is_the_default_with_two_screens(tmp_path: Path) -> None:
    config = tmp_path / "screens.json"
    config.write_text('{"screens": ['
                      '{"name": "laptop", "x": 0, "y": 0, "width": 1280, "height": 800},'
                      '{"name": "HDMI-1", "x": 1280, "y": 0, "width": 1920, "height": 1080}]}')
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""),
                                                     str(ROOT)) if p)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "s.ini")], env=env,
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    result = done.stdout.strip().splitlines()[-1]
    assert result == ('{"chosen": "HDMI-1", "screen": "HDMI-1", "full": true, '
                      '"geometry": [1280, 0, 1920, 1080]}')


def test_alert_settings_are_saved_applied_and_remembered(qtbot: Any, tmp_path: Path) -> None:
    page = new_page(qtbot, tmp_path)
    dialog = page.open_alert_settings()
    dialog.spins["vram_pct"].setValue(90.0)
    dialog.spins["stall_minutes"].setValue(10.0)
    dialog.kinds["power_throttle"].setChecked(False)
    dialog.notify_box.setChecked(False)
    with qtbot.waitSignal(dialog.accepted):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    config = page.controller.alert_config
    assert (config.vram_raise_pct, config.vram_clear_pct) == (90.0, 87.0)
    assert config.stall_after_s == 600.0 and "power_throttle" not in config.enabled
    assert page.notifier.enabled is False
    again = new_page(qtbot, tmp_path)  # same settings file
    assert again.alert_settings == page.alert_settings
    assert again.controller.alert_config == config
    page.shutdown()
    again.shutdown()


def test_unreadable_settings_fall_back_to_defaults(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "bad.ini")
    settings.setValue("alerts/vram_pct", "lots")
    settings.setValue("alerts/temp_margin_c", 500)
    settings.setValue("alerts/enabled", "vram,nonsense")
    value = load_alert_settings(settings)
    assert value.vram_pct == 95.0 and value.temp_margin_c == 5.0
    assert value.enabled == frozenset({"vram"})
    save_alert_settings(settings, AlertSettings(stall_minutes=3.5))
    assert load_alert_settings(settings_at(tmp_path / "bad.ini")) == AlertSettings(
        stall_minutes=3.5)


def event(state: str, kind: str = "temperature") -> AlertEvent:
    return AlertEvent(1.0, kind, 0, state, "GPU 0 at 86 °C, slowdown at 89 °C", 86.0)  # type: ignore[arg-type]


def test_notifier_only_tells_about_raised_alerts_when_enabled() -> None:
    tray = FakeTray()
    notifier = AlertNotifier(tray)
    assert notifier.available
    assert notifier.notify(event("raised")) is True
    assert notifier.notify(event("cleared")) is False
    notifier.enabled = False
    assert notifier.notify(event("raised", "vram")) is False
    assert tray.messages == [("rigready: Near slowdown temperature",
                              "GPU 0 at 86 °C, slowdown at 89 °C")]


def test_texts_and_levels() -> None:
    assert [format_elapsed(s) for s in (None, 5.9, 75, 3600 * 26 + 61)] == [
        "–", "0:05", "1:15", "26:01:01"]
    assert choose_screen(["a", "b"], "b", "a") == 1
    assert choose_screen(["a", "b"], "gone", "a") == 1  # a screen other than the main one
    assert choose_screen(["a"], None, "a") == 0 and choose_screen([], None, None) == -1
    assert alert_level([]) == "ok" and alert_level(["power_throttle"]) == "warn"
    assert alert_level(["power_throttle", "stalled"]) == "bad"
    row = [float("nan")] * len(COLUMNS)
    row[COLUMN["temp_c"]], row[COLUMN["temp_slowdown_c"]] = 85.0, 89.0
    row[COLUMN["vram_used_gib"]], row[COLUMN["vram_total_gib"]] = 23.0, 24.0
    levels = tile_levels(row)
    assert levels["temp"] == "bad" and levels["vram"] == "bad" and levels["power"] == "ok"
    row[COLUMN["temp_c"]] = 80.0
    assert tile_levels(row)["temp"] == "warn"


def test_view_menu_entry_opens_the_screen_dialog(qtbot: Any, tmp_path: Path) -> None:
    from rigready.desktop.monitoring.training_link import TrainingMonitorDialog
    from rigready.desktop.window import MainWindow

    context = AppContext(settings=settings_at(tmp_path / "w.ini"), db_path=tmp_path / "db.sqlite3")
    window = MainWindow(context)
    qtbot.addWidget(window)
    actions = [a for a in window.view_menu.actions() if a.text().startswith("&Training monitor")]
    assert len(actions) == 1 and actions[0].shortcut().toString() == "F11"
    actions[0].trigger()
    page = window.page("monitor")
    assert isinstance(page, MonitorPage)
    dialogs = page.findChildren(TrainingMonitorDialog)
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    dialogs[0].reject()
    window.close()
    assert page.controller.state == "stopped"  # never shown: the sampler never started


@pytest.mark.parametrize("size", [(1024, 640), (1280, 800), (1920, 1080)])
def test_the_window_fits_its_screen_and_its_columns_are_even(
        qtbot: Any, replaying: MonitorPage, size: tuple[int, int]) -> None:
    # issue 15: on a 1024x640 screen the full-screen window was 1047 px wide (the number font
    # followed the height only) and the three columns were uneven
    from rigready.desktop.monitoring.training_window import TrainingMonitorWindow

    replaying.seek((replaying.source.replay.session.started if replaying.source.replay else 0) + 45)
    window = TrainingMonitorWindow()
    qtbot.addWidget(window)
    window.refresh(replaying.snapshot())
    window.tiles["vram"].set_text("141.0 GiB", "of 141.0 GiB (100 %)", "bad")  # the widest
    window.tiles["clocks"].set_text("1980 MHz", "memory 2619 MHz")
    window.tiles["elapsed"].set_text("26:03:41", "since 09:12:05")
    fit_training_window(qtbot, window, size)
    widths = {window.tiles[key].width() for key in window.shown_tiles()}
    assert max(widths) - min(widths) <= 1, widths


def test_before_the_first_reading_nothing_is_called_clear(qtbot: Any) -> None:
    from rigready.desktop.monitoring.training_window import TrainingMonitorWindow

    window = TrainingMonitorWindow()
    qtbot.addWidget(window)
    assert window.alert_state == "none" and "All clear" not in window.alert_bar.text()


def test_the_crosshair_line_of_a_pc_without_gpu_readings_says_so_instead_of_dashes() -> None:
    # A CPU-only run replayed (docs/screenshots/monitor-run.png) read
    # "GPU – · mem ctrl – · VRAM –/– · – · – · SM – · mem – · CPU 86 % · RAM 4 %".
    from rigready.desktop.monitoring.text import readout
    from rigready.monitor.ring import COLUMN, COLUMNS

    row = [float("nan")] * len(COLUMNS)
    row[COLUMN["cpu_pct"]], row[COLUMN["ram_pct"]] = 86.0, 4.0
    text = readout(0.0, row)
    assert text.endswith(" · no GPU readings · CPU 86 % · RAM 4 %"), text
    assert "–" not in text
    row[COLUMN["gpu_util_pct"]] = 97.0  # a GPU read: every GPU field is shown, unread ones dashed
    text = readout(0.0, row)
    assert "GPU 97 %" in text and "VRAM –/–" in text and text.endswith("CPU 86 % · RAM 4 %")
