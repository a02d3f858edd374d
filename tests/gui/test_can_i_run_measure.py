"""Can I run it?: the stack the figure assumes, and "Measure on this GPU" (no torch here)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Signal

from rigready.assess.bench.fingerprint import current_fingerprint
from rigready.assess.bench.records import result_to_dict
from rigready.assess.hardware import CpuInfo, GpuInfo, MemoryInfo, RigProfile, SystemInfo
from rigready.assess.measure.result import MeasuredRun, measured_label
from rigready.catalog import default_catalog
from rigready.catalog.paths import database_path
from rigready.desktop.pages.can_i_run import CanIRunPage
from rigready.monitor.store import Store

pytestmark = pytest.mark.gui


class Context(QObject):
    profile_changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.profile = RigProfile(
            cpu=CpuInfo(), memory=MemoryInfo(total_bytes=32 * 2**30), storage=(),
            gpus=(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060",
                          vram_bytes=12 * 2**30),), system=SystemInfo())
        self.database_path = database_path()

    def catalog(self):  # type: ignore[no-untyped-def]
        return default_catalog()


def _page(qtbot) -> CanIRunPage:  # type: ignore[no-untyped-def]
    widget = CanIRunPage(Context())
    qtbot.addWidget(widget)
    return widget


def test_the_answer_says_which_stack_it_assumes(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot)
    text = page.answer.details.text()
    assert "Assumes PyTorch 2.11 + Transformers 5.17 + PEFT 0.21 + bitsandbytes 0.50.2" in text
    assert "prepare_model_for_kbit_training" in text and "error band 5%" in text
    # the page's first question does not fit a 12 GiB card (measured 14.8 GiB on an H200)
    assert page.result is not None and page.result.verdict is not None
    assert page.result.verdict.status == "no"


def test_measure_without_torch_says_so_and_runs_nothing(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot)
    assert page.answer.measure_bar.button.isEnabled()  # this PC's GPU is chosen
    page.answer.measure_bar.button.click()
    assert not page.answer.measure_bar.running
    assert "measuring needs torch" in page.answer.measure_bar.label.text().lower()


def test_measuring_is_for_this_pcs_gpu_only(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot)
    row = next(i for i in range(page.form.gpu.count()) if "RTX 4090" in page.form.gpu.itemText(i))
    page.form.gpu.setCurrentIndex(row)
    assert not page.answer.measure_bar.button.isEnabled()
    assert "this PC's GPU" in page.answer.measure_bar.label.text()


def test_a_measurement_here_corrects_the_estimate(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot)
    wl = page.result.workload  # type: ignore[union-attr]
    run = MeasuredRun(model="llama-3.1-8b", method="qlora", precision="nf4", batch=wl.batch,
                      seq_len=wl.seq_len, new_tokens=0, checkpointing=wl.checkpointing,
                      lora_rank=wl.lora_rank, lora_targets=wl.lora_targets, status="ok",
                      gpu_name="NVIDIA GeForce RTX 3060", peak_bytes=int(11.5 * 2**30),
                      max_allocated_bytes=None, max_reserved_bytes=None, step_seconds=1.0,
                      estimate_bytes=page.result.memory.total,  # type: ignore[union-attr]
                      stack="torch 2.11.0")
    with Store(database_path()) as store:
        store.save_bench_result(kind="measure", fingerprint=current_fingerprint(),
                                label=measured_label(run), result=result_to_dict(run))
    page._on_measured(None)  # what the bar signals once a run is saved
    assert page.result is not None and page.result.memory.total == int(11.5 * 2**30)
    assert "measured on this GPU" in page.answer.details.text()


def test_a_loaded_profile_of_another_pc_is_not_measured_here(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 23, item 8: "Measure on this GPU" was enabled for a friend's saved profile, and
    this PC's measurements corrected its estimate."""
    from dataclasses import replace

    context = Context()
    context.profile = replace(context.profile, origin="/home/me/friend.json",
                              system=SystemInfo(hostname="friends-pc"))
    page = CanIRunPage(context)
    qtbot.addWidget(page)
    assert not page.this_pc
    assert "(loaded profile)" in page.form.gpu.currentText()
    assert not page.answer.measure_bar.button.isEnabled()
    assert "loaded profile is another PC's" in page.answer.measure_bar.label.text()
    page._measure()  # nothing starts even if asked
    assert not page.answer.measure_bar.running
