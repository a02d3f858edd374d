"""The window shell: This PC page, navigation, profile loading, the worker and screenshots."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Generator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from rigready.assess.hardware import RigProfile
from rigready.assess.profile import load_profile, save_profile
from rigready.desktop.context import AppContext
from rigready.desktop.pages import page_keys
from rigready.desktop.pages.this_pc import ThisPcPage
from rigready.desktop.window import MainWindow
from rigready.desktop.worker import GeneratorWorker, WorkerState
from tests.score_helpers import disk, gpu, rig

pytestmark = pytest.mark.gui
PROFILES = Path(__file__).parent.parent / "data" / "profiles"
H100 = PROFILES / "h100-2026-11-22.json"
CPU_ONLY = PROFILES / "cpu-only-2026-11-22.json"
LAPTOP = PROFILES / "hobbyist" / "laptop-rtx3060-laptop-6gb-16gb-lpddr5.json"


@pytest.fixture
def context(tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return AppContext(settings=settings, db_path=tmp_path / "db.sqlite3")


def _cards(page: ThisPcPage) -> dict[str, dict[str, str]]:
    return {card.title_label.text(): card.row_texts() for card in page.cards}


# --- This PC page on real captured profiles ---------------------------------------------------


def test_this_pc_shows_the_real_h100_profile(context: AppContext, qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    profile = load_profile(H100)
    context.set_profile(profile)
    cards = _cards(page)
    gpu = cards["NVIDIA H100 80GB HBM3"]
    assert gpu["Video memory"] == "79.6 GiB"
    assert gpu["Compute capability"] == "9.0"
    assert gpu["CUDA cores"] == "16896"
    assert gpu["Power limit"] == "700 W"
    assert gpu["PCIe link"].startswith("Gen 5 x16")
    assert cards["Processor"]["Cores"] == "16 cores, 16 threads"
    # One card per component: CPU, memory, one GPU, each disk, software.
    assert len(page.cards) == 3 + len(profile.storage) + 1
    assert "1 GPU ·" in page.summary.text() and "Loaded from" in page.summary.text()


def test_the_summary_line_wraps_a_long_profile_path_at_1024x640(context: AppContext,
                                                                  qtbot: QtBot) -> None:
    # issue 15: "…Loaded from tests/data/profiles/…json · hover a value to see" was cut
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    context.set_profile(load_profile(PROFILES / "hobbyist"
                                     / "desktop-rtx3060-12gb-32gb-ddr4.json"))
    page.resize(824, 560)  # the page's share of a 1024x640 window
    page.show()
    qtbot.waitExposed(page)
    text = page.summary.text()
    assert "Loaded from" in text and text.endswith("where it came from")
    assert page.summary.fontMetrics().horizontalAdvance(text) > page.summary.width()
    assert page.summary.wordWrap()
    assert page.summary.height() >= page.summary.heightForWidth(page.summary.width())


def test_unknown_facts_read_unknown_and_warnings_are_visible(context: AppContext,
                                                             qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    profile = load_profile(CPU_ONLY)
    context.set_profile(profile)
    memory = _cards(page)["Memory"]
    assert memory["Type"] == "unknown"  # the VM exposes no DMI tables: never guessed
    assert page.warnings.isVisibleTo(page)
    for warning in profile.warnings:
        assert warning in page.warnings.text()
    assert "0 GPUs" in page.summary.text()


def test_soldered_memory_and_integrated_flags_are_shown(context: AppContext,
                                                        qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    context.set_profile(load_profile(LAPTOP))
    memory = _cards(page)["Memory"]
    assert memory["Soldered"].startswith("yes")
    assert memory["Type"].startswith("LPDDR5")


def test_a_new_profile_replaces_the_cards(context: AppContext, qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    context.set_profile(load_profile(H100))
    context.set_profile(load_profile(CPU_ONLY))
    titles = list(_cards(page))
    assert not any("H100" in t for t in titles)


def test_sources_become_tooltips(context: AppContext, qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    profile = load_profile(H100)
    context.set_profile(profile)
    gpu_card = next(c for c in page.cards if "H100" in c.title_label.text())
    value = gpu_card.add_row("probe", "x", "nvml")  # the card API used by every row
    assert value.toolTip() == "Source: nvml"


def test_fake_rig_with_amd_and_integrated_gpus(context: AppContext, qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    fake = rig(
        (gpu("AMD Radeon RX 7900 XTX", 24, vendor="amd", power_w=355),
         gpu("Intel UHD Graphics 770", None, vendor="intel", index=1, integrated=True)),
        disks=(disk("nvme", 2000, 1500, name="nvme0n1"), disk("hdd", 4000, None, name="sda")),
    )
    context.set_profile(fake)
    titles = {c.title_label.text(): c for c in page.cards}
    amd = titles["AMD Radeon RX 7900 XTX"]
    assert amd.subtitle_label.text() == "AMD"
    assert amd.row_texts()["Video memory"] == "24.0 GiB"
    assert amd.row_texts()["Power limit"] == "355 W"
    assert "CUDA cores" not in amd.row_texts()  # NVIDIA-only facts are not shown as unknown
    intel = titles["Intel UHD Graphics 770"]
    assert "shares system memory" in intel.subtitle_label.text()
    assert intel.row_texts()["Video memory"] == "unknown"
    assert {"nvme0n1", "sda"} <= set(titles)
    assert "2 GPUs · 2 disk(s)" in page.summary.text()


# --- the main window --------------------------------------------------------------------------


def test_window_lists_the_built_pages_and_switches(context: AppContext, qtbot: QtBot) -> None:
    window = MainWindow(context)
    qtbot.addWidget(window)
    assert window.page_keys() == list(page_keys())  # every area is built in this version
    assert list(window.pages) == ["this-pc"]  # only the page on show is built at start
    window.show_page("readiness")
    assert window.current_page_key() == "readiness"
    assert window.stack.currentWidget() is window.pages["readiness"]
    assert window.stack.count() == len(page_keys())
    window.show_page("this-pc")
    assert window.stack.currentWidget() is window.pages["this-pc"]


def test_window_remembers_page_and_geometry(context: AppContext, qtbot: QtBot,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    window.show_page("benchmarks")
    saved = window.saveGeometry()
    window.close()
    assert context.settings.value("window/geometry") == saved
    again = MainWindow(context)
    qtbot.addWidget(again)
    # The offscreen screen is smaller than the window's minimum size, so Qt clamps any restored
    # size there; check that the saved bytes are handed back instead.
    restored: list[object] = []

    def spy(geometry: object) -> bool:
        restored.append(geometry)
        return True

    monkeypatch.setattr(again, "restoreGeometry", spy)
    again.restore_state()
    assert again.current_page_key() == "benchmarks"
    assert restored == [saved]


def test_screenshot_mode_does_not_overwrite_remembered_state(context: AppContext,
                                                             qtbot: QtBot) -> None:
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show_page("benchmarks")
    window.close()
    shot = MainWindow(context)
    qtbot.addWidget(shot)
    shot.show_page("readiness")
    shot.remember_state = False
    shot.close()
    assert context.settings.value("window/page") == "benchmarks"


def test_loading_a_profile_updates_every_page(context: AppContext, qtbot: QtBot,
                                              tmp_path: Path) -> None:
    window = MainWindow(context)
    qtbot.addWidget(window)
    path = tmp_path / "mine.json"
    profile = load_profile(H100)
    save_profile(profile, path)
    assert window.load_profile_file(path)
    assert isinstance(context.profile, RigProfile)
    assert context.profile.gpus[0].name == "NVIDIA H100 80GB HBM3"
    page = window.page("this-pc")
    assert isinstance(page, ThisPcPage)
    assert any("H100" in c.title_label.text() for c in page.cards)


def test_a_bad_profile_is_reported_not_raised(context: AppContext, qtbot: QtBot,
                                              tmp_path: Path) -> None:
    window = MainWindow(context)
    qtbot.addWidget(window)
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "rigready.profile", "version": 99}')
    assert not window.load_profile_file(bad)
    assert context.profile is None
    assert "bad.json" in window.statusBar().findChildren(type(window._status))[0].text()


def test_detection_runs_off_the_gui_thread(context: AppContext, qtbot: QtBot,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    profile = load_profile(CPU_ONLY)
    threads: list[bool] = []

    def fake_detect_rig(**_: object) -> RigProfile:
        threads.append(threading.current_thread() is threading.main_thread())
        return dataclasses.replace(profile, origin="detected")

    monkeypatch.setattr("rigready.assess.detect.detect_rig", fake_detect_rig)
    window = MainWindow(context)
    qtbot.addWidget(window)
    with qtbot.waitSignal(context.profile_changed, timeout=5000):
        window.start_detection()
    assert threads == [False]
    assert context.profile is not None and context.profile.origin == "detected"


# --- the worker -------------------------------------------------------------------------------


def _counting_job(stop_after: int, cleaned: list[str]) -> Generator[int, None, str]:
    try:
        yield from range(stop_after)
        return "done"
    finally:
        cleaned.append("cleaned")


def test_worker_reports_progress_and_result(qtbot: QtBot) -> None:
    cleaned: list[str] = []
    worker = GeneratorWorker(lambda: _counting_job(3, cleaned))
    seen: list[object] = []
    worker.progressed.connect(seen.append)
    with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == ["done"]
    assert seen == [0, 1, 2]
    assert worker.state is WorkerState.FINISHED and cleaned == ["cleaned"]
    with pytest.raises(RuntimeError):
        worker.start()


def test_worker_cancel_closes_the_generator(qtbot: QtBot) -> None:
    cleaned: list[str] = []
    release = threading.Event()

    def job() -> Generator[int, None, str]:
        try:
            yield 0
            release.wait(5)  # "long work" until the test has asked to cancel
            yield 1
            yield 2
            return "should not finish"
        finally:
            cleaned.append("cleaned")

    worker = GeneratorWorker(job)
    finished: list[object] = []
    worker.finished.connect(finished.append)
    with qtbot.waitSignal(worker.progressed, timeout=5000):  # the job is under way
        worker.start()
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.cancel()
        release.set()
    assert worker.wait(5)
    assert worker.state is WorkerState.CANCELLED and cleaned == ["cleaned"]
    assert finished == []


def test_worker_failure_becomes_a_message(qtbot: QtBot) -> None:
    def failing_job() -> Generator[int, None, None]:
        yield 1
        raise ValueError("disk vanished")

    worker = GeneratorWorker(failing_job)
    with qtbot.waitSignal(worker.errored, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == ["disk vanished"]
    assert worker.state is WorkerState.FAILED
