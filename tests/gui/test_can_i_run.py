"""The "Can I run it?" page with a fake context (pytest-qt, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytestqt = pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Signal  # noqa: E402

from assess.hardware import CpuInfo, GpuInfo, MemoryInfo, RigProfile, SystemInfo  # noqa: E402
from catalog import default_catalog  # noqa: E402
from desktop.pages.can_i_run import SEQ_STEPS, CanIRunPage  # noqa: E402

CONFIGS = Path(__file__).parents[1] / "data" / "hf_configs"
pytestmark = pytest.mark.gui


class FakeContext(QObject):
    profile_changed = Signal(object)

    def __init__(self, profile: RigProfile | None = None) -> None:
        super().__init__()
        self.profile = profile

    def catalog(self):  # type: ignore[no-untyped-def]
        return default_catalog()


def _rig(vram_gib: int) -> RigProfile:
    return RigProfile(cpu=CpuInfo(), memory=MemoryInfo(total_bytes=32 * 2**30), storage=(),
                      gpus=(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060",
                                    vram_bytes=vram_gib * 2**30),), system=SystemInfo())


@pytest.fixture
def page(qtbot) -> CanIRunPage:  # type: ignore[no-untyped-def]
    widget = CanIRunPage(FakeContext(_rig(12)))
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    return widget


def test_starts_with_a_model_and_the_detected_gpu(page: CanIRunPage) -> None:
    assert page.shape is not None and page.result is not None
    # The question most people ask first: QLoRA on an 8B model, with checkpointing.
    assert page.shape.name == "llama-3.1-8b" and page.method.currentText() == "qlora"
    assert page.result.workload.checkpointing
    assert "this PC" in page.gpu.currentText()
    assert page.result.gpu is not None and page.result.gpu.vram_bytes == 12 * 2**30
    assert page.bar.parts and page.bar.vram == 12 * 2**30


def test_sliders_update_the_breakdown(page: CanIRunPage) -> None:
    page.select_model("llama-3.2-1b")
    page.method.setCurrentText("lora")
    page.checkpointing.setChecked(False)  # the page opened on QLoRA, which ticks it
    before = page.result.memory.total  # type: ignore[union-attr]
    page.batch.setValue(8)
    assert page.result.memory.total > before  # type: ignore[union-attr]
    page.seq.setValue(SEQ_STEPS.index(512))
    shorter = page.result.memory.total  # type: ignore[union-attr]
    page.checkpointing.setChecked(True)
    assert page.result.memory.total < shorter  # type: ignore[union-attr]
    assert page.last_update_ms < 500  # generous here; benchmarks/estimate_speed.py shows <50 ms


def test_verdict_turns_bad_and_suggests_fixes(page: CanIRunPage) -> None:
    page.select_model("llama-3.1-8b")
    page.method.setCurrentText("full")
    assert page.result is not None and page.result.verdict is not None
    assert page.result.verdict.status == "no"
    assert "Does not fit" in page.verdict.text()
    assert page.result.suggestions and "To make it fit" in page.details.text()
    segments = page.bar.segments()
    line = page.bar.vram_x()
    assert segments and line is not None and segments[-1][1] + segments[-1][2] > line


def test_search_filters_and_counts_work(page: CanIRunPage) -> None:
    page.search.setText("qwen")
    visible = [page.model_list.item(i).text() for i in range(page.model_list.count())
               if not page.model_list.item(i).isHidden()]
    assert visible and all("Qwen" in v for v in visible)
    page.search.setText("13B")
    page.search.returnPressed.emit()
    assert page.shape is not None and page.shape.params == 13_000_000_000


def test_config_file_and_bad_inputs(page: CanIRunPage, tmp_path: Path) -> None:
    page.load_config(CONFIGS / "gpt2.json")
    assert page.shape is not None and page.shape.family == "gpt2" and page.error is None
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"model_type": "whisper"}))
    page.load_config(bad)
    assert page.error and "not supported" in page.details.text()
    page.select_model("no-such-model")
    assert page.error and "unknown model" in page.error


def test_profile_change_refreshes_gpus(page: CanIRunPage) -> None:
    page.context.profile_changed.emit(_rig(6))
    assert page.result is not None and page.result.gpu is not None
    assert page.result.gpu.vram_bytes == 6 * 2**30


def test_qlora_turns_on_checkpointing(page: CanIRunPage) -> None:
    page.method.setCurrentText("lora")
    page.checkpointing.setChecked(False)
    page.method.setCurrentText("qlora")
    assert page.checkpointing.isChecked()
    page.checkpointing.setChecked(False)  # the user may still turn it off
    page.method.setCurrentText("qlora")
    assert not page.checkpointing.isChecked()
    assert page.result is not None and not page.result.workload.checkpointing
