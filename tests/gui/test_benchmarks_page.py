from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui

from PySide6.QtCore import QSettings  # noqa: E402

from rigready.assess.bench.cpu_gemm import BlasInfo, CpuGemmResult  # noqa: E402
from rigready.assess.bench.gemm import summarize  # noqa: E402
from rigready.assess.bench.gpu_gemm import GpuGemmResult  # noqa: E402
from rigready.assess.bench.progress import Progress  # noqa: E402
from rigready.assess.hardware import CpuInfo, MemoryInfo, RigProfile, SystemInfo  # noqa: E402
from rigready.desktop.context import AppContext  # noqa: E402
from rigready.desktop.pages.benchmarks import BenchmarksPage  # noqa: E402
from rigready.desktop.pages.benchmarks_results import ResultBar  # noqa: E402

PROFILE = RigProfile(cpu=CpuInfo(model="Test CPU"), memory=MemoryInfo(), storage=(), gpus=(),
                     system=SystemInfo(hostname="testhost"))


def cpu_result() -> CpuGemmResult:
    m = summarize("fp32", 2048, [0.1, 0.1, 0.1], peak_gflops=400.0)  # 171.8 GFLOP/s
    return CpuGemmResult(measurements=(m,), blas=BlasInfo("openblas", threads=4),
                         cpu_model="Test CPU", peak_fp32_gflops=400.0, elapsed_s=1.0)


def gpu_result() -> GpuGemmResult:
    m = summarize("bf16", 4096, [0.006] * 10)  # 22.9 TFLOP/s
    return GpuGemmResult(mode="quick", measurements=(m,), device_name="NVIDIA GeForce RTX 3060",
                         vram_bytes=12 * 1024**3, library="fake")


def finite(result: Any, steps: int = 3) -> Generator[Progress, None, Any]:
    for i in range(steps):
        yield Progress(i / steps, f"step {i}")
    return result


@pytest.fixture
def page(qtbot: Any, tmp_path: Path, monkeypatch: Any) -> BenchmarksPage:
    monkeypatch.setenv("RIGREADY_HOME", str(tmp_path / "home"))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    context = AppContext(settings=settings, db_path=tmp_path / "db.sqlite3")
    context.profile = PROFILE
    widget = BenchmarksPage(context)
    qtbot.addWidget(widget)
    return widget


def test_run_shows_bars_speedup_and_history(page: BenchmarksPage, qtbot: Any) -> None:
    page.storage_box.setChecked(False)
    page.gpu_box.setChecked(True)
    page.factories["cpu"] = lambda profile: finite(cpu_result())
    page.factories["gpu"] = lambda profile: finite(gpu_result())
    seen: list[str] = []
    page.start()
    assert not page.start_button.isEnabled() and page.cancel_button.isEnabled()
    assert page.worker is not None
    page.worker.progressed.connect(lambda p: seen.append(p.message))
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)
    assert page.status.text().startswith("Done")
    bars = page.results_box.findChildren(ResultBar)
    titles = [b.title.text() for b in bars]
    assert "CPU fp32 (n=2048)" in titles and "GPU bf16 (n=4096)" in titles
    cpu_bar = next(b for b in bars if b.title.text().startswith("CPU"))
    assert cpu_bar.bar.format() == "43%"  # 171.8 of 400 GFLOP/s
    gpu_bar = next(b for b in bars if b.title.text().startswith("GPU"))
    assert "of 25.5 expected" in gpu_bar.text.text()  # the catalog's RTX 3060 12 GB bf16
    assert gpu_bar.bar.format() == "90%"
    assert "faster than the CPU" in page.speedup.text()
    assert page.history.rowCount() == 2 and page.history_empty.isHidden()
    machine = page.history.item(0, 1)
    assert machine is not None and machine.text() == "this PC"


def test_cancel_takes_effect_within_a_second(page: BenchmarksPage, qtbot: Any) -> None:
    state = {"cleaned": False}

    def endless(profile: Any) -> Generator[Progress, None, Any]:
        try:
            while True:
                time.sleep(0.05)
                yield Progress(0.5, "working")
        finally:
            state["cleaned"] = True

    page.cpu_box.setChecked(False)
    page.gpu_box.setChecked(False)
    page.factories["storage"] = endless
    page.start()
    qtbot.waitUntil(lambda: page.status.text() == "working", timeout=3000)
    assert page.worker is not None
    with qtbot.waitSignal(page.worker.cancelled, timeout=1000):
        t0 = time.perf_counter()
        page.cancel_button.click()
    assert time.perf_counter() - t0 < 1.0
    assert state["cleaned"]
    assert page.start_button.isEnabled() and not page.cancel_button.isEnabled()
    assert "Cancelled" in page.status.text()


def test_gui_stays_responsive_during_a_run(page: BenchmarksPage, qtbot: Any) -> None:
    def slow(profile: Any) -> Generator[Progress, None, Any]:
        for i in range(10):
            time.sleep(0.05)
            yield Progress(i / 10, "slow")
        return cpu_result()

    page.gpu_box.setChecked(False)
    page.storage_box.setChecked(False)
    page.factories["cpu"] = slow
    page.start()
    ticks = []
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:
        qtbot.wait(10)  # the event loop keeps turning while the job runs
        ticks.append(time.perf_counter())
    assert len(ticks) > 10
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)


def test_errors_are_shown_in_one_line(page: BenchmarksPage, qtbot: Any) -> None:
    from rigready.assess.bench.progress import BenchError

    def failing(profile: Any) -> Generator[Progress, None, Any]:
        yield Progress(0.0, "checking")
        raise BenchError("/nope does not exist")

    page.cpu_box.setChecked(False)
    page.gpu_box.setChecked(False)
    page.factories["storage"] = failing
    page.start()
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=3000)
    assert page.status.text() == "Stopped: /nope does not exist"


def test_nothing_ticked(page: BenchmarksPage) -> None:
    for box in (page.cpu_box, page.gpu_box, page.storage_box):
        box.setChecked(False)
    page.start()
    assert page.worker is None and "Tick" in page.status.text()


def test_saved_results_of_this_pc_show_on_opening_and_history_rows_open(
        qtbot: Any, tmp_path: Path) -> None:
    from rigready.assess.bench.fingerprint import profile_fingerprint
    from rigready.desktop.usecases.bench import Outcome, save_outcome

    db = tmp_path / "db.sqlite3"
    here = profile_fingerprint(PROFILE)
    assert save_outcome(Outcome(cpu_result(), ()), here, db) is None
    assert save_outcome(Outcome(gpu_result(), ()), "another-machine", db) is None
    context = AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                         db_path=db)
    context.profile = PROFILE
    page = BenchmarksPage(context)
    qtbot.addWidget(page)
    # Only this PC's newest result is shown at first; the other machine's stays in the history.
    shown = page.findChildren(ResultBar)
    assert shown and all(bar.title.text().startswith("CPU") for bar in shown)
    assert "latest saved results" in page.status.text()
    assert page.history.rowCount() == 2 and page.history_empty.isHidden()
    machines = [page.history.item(r, 1) for r in range(2)]
    other = next(r for r, item in enumerate(machines)
                 if item is not None and item.text() == "another PC (NVIDIA GeForce RTX 3060)")
    page.history.selectRow(other)
    qtbot.waitUntil(lambda: any(not b.title.text().startswith("CPU")
                                for b in page.findChildren(ResultBar) if b.isVisibleTo(page)))
    assert "Run of" in page.status.text()


# --- issue 15 ---------------------------------------------------------------------------------

def test_gpu_gemm_is_not_ticked_on_a_pc_without_a_gpu(page: BenchmarksPage) -> None:
    from dataclasses import replace

    from rigready.assess.hardware import GpuInfo

    assert not page.gpu_box.isChecked()  # nothing known about this PC yet
    page.context.set_profile(PROFILE)  # detected, no GPU
    assert not page.gpu_box.isChecked() and not page.gpu_box.isEnabled()
    assert "No GPU" in page.gpu_box.toolTip()
    with_gpu = replace(PROFILE, gpus=(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060",
                                              vram_bytes=12 * 1024**3),))
    page.context.set_profile(with_gpu)
    assert page.gpu_box.isChecked() and page.gpu_box.isEnabled()


def test_a_run_with_a_loaded_profile_never_replaces_that_machines_results(
        qtbot: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from dataclasses import replace

    from rigready.assess.bench.fingerprint import profile_fingerprint
    from rigready.desktop.pages import benchmarks
    from rigready.desktop.usecases.bench import Outcome, load_history, save_outcome

    db = tmp_path / "db.sqlite3"
    other = replace(PROFILE, system=SystemInfo(hostname="friends-pc"), origin="/x/friend.json")
    theirs = profile_fingerprint(other)
    assert save_outcome(Outcome(cpu_result(), ()), theirs, db) is None
    monkeypatch.setattr(benchmarks, "detect_this_pc", lambda: PROFILE)
    context = AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                         db_path=db)
    context.profile = other
    page = BenchmarksPage(context)
    qtbot.addWidget(page)
    page.storage_box.setChecked(False)
    page.factories["cpu"] = lambda profile: finite(cpu_result())
    page.start()
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)
    rows = load_history(db_path=db)
    assert [fp for _, fp, _, _ in rows].count(theirs) == 1  # theirs untouched
    assert profile_fingerprint(PROFILE) in [fp for _, fp, _, _ in rows]  # saved as this PC
    assert "saved as this PC's results" in page.status.text()
    assert "friend.json and its score are unchanged" in page.status.text()
    machines = {page.history.item(r, 1).text() for r in range(page.history.rowCount())}  # type: ignore[union-attr]
    assert machines == {"this PC", "friend (loaded profile)"}


def test_history_dates_are_whole_and_machines_readable(qtbot: Any, tmp_path: Path) -> None:
    from rigready.desktop.usecases.bench import Outcome, save_outcome, when_text

    db = tmp_path / "db.sqlite3"
    assert save_outcome(Outcome(gpu_result(), ()), "0be50428f2e1a9c3d4", db) is None
    context = AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                         db_path=db)
    context.profile = PROFILE
    page = BenchmarksPage(context)
    qtbot.addWidget(page)
    page.resize(1024, 640)
    page.show()
    when, machine = page.history.item(0, 0), page.history.item(0, 1)
    assert when is not None and machine is not None
    assert machine.text() == "another PC (NVIDIA GeForce RTX 3060)"
    assert "0be50428" not in machine.text() and "0be50428f2e1a9c3d4" in machine.toolTip()
    assert len(when.text()) == len("2026-11-22 14:05")
    metrics = page.history.fontMetrics()
    assert page.history.columnWidth(0) >= metrics.horizontalAdvance(when.text())
    assert when_text("2026-11-22T10:00:00+00:00")[:10] in ("2026-11-22", "2026-11-21")


def test_empty_results_and_history_say_what_will_show_there(page: BenchmarksPage) -> None:
    # issue 15: with nothing run or saved, both boxes were blank
    assert page.history.rowCount() == 0
    assert not page.history_empty.isHidden() and "No runs saved yet" in page.history_empty.text()
    from PySide6.QtWidgets import QLabel

    placeholders = page.results_box.findChildren(QLabel, "results-placeholder")
    assert len(placeholders) == 1 and "No results yet" in placeholders[0].text()
