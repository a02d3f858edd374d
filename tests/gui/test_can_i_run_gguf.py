"""The "Can I run it?" page with llama.cpp (GGUF) chosen: quant, KV type, GPU/RAM split."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytestqt = pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Signal  # noqa: E402

from rigready.assess.hardware import CpuInfo, GpuInfo, MemoryInfo, RigProfile, SystemInfo  # noqa: E402
from rigready.catalog import default_catalog  # noqa: E402
from rigready.desktop.pages.can_i_run import CanIRunPage  # noqa: E402
from rigready.desktop.pages.can_i_run_form import SEQ_STEPS  # noqa: E402
from rigready.desktop.pages.can_i_run_gguf import RUNTIME_LLAMACPP, RUNTIME_TRANSFORMERS  # noqa: E402

pytestmark = pytest.mark.gui
GIB = 2**30


class FakeContext(QObject):
    profile_changed = Signal(object)

    def __init__(self, profile: RigProfile) -> None:
        super().__init__()
        self.profile = profile

    def catalog(self):  # type: ignore[no-untyped-def]
        return default_catalog()


def _rig() -> RigProfile:
    memory = MemoryInfo(total_bytes=32 * GIB, available_bytes=30 * GIB, speed_mts=3200,
                        slots_used=2)
    return RigProfile(cpu=CpuInfo(), memory=memory, storage=(),
                      gpus=(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060",
                                    vram_bytes=12 * GIB),), system=SystemInfo())


@pytest.fixture
def page(qtbot) -> CanIRunPage:  # type: ignore[no-untyped-def]
    widget = CanIRunPage(FakeContext(_rig()))
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    return widget


def test_llamacpp_runs_an_8b_fully_on_the_gpu(page: CanIRunPage) -> None:
    page.select_model("qwen3-8b")
    page.form.runtime.setCurrentText(RUNTIME_LLAMACPP)
    assert page.form.method.currentText() == "inference" and not page.form.method.isEnabled()
    assert page.form.quant.isEnabled() and page.form.quant.currentText() == "Q4_K_M"
    p = page.gguf_result
    assert p is not None and page.result is None
    assert p.status == "gpu"
    assert page.answer.verdict.text().startswith("Runs fully on GPU at about")
    assert "tokens/s" in page.answer.details.text() and \
        "bits per weight" in page.answer.details.text()
    assert page.answer.bar.vram == 12 * GIB and page.answer.bar.parts["weights"] > 4 * GIB


def test_a_bigger_model_splits_and_the_choices_change_it(page: CanIRunPage) -> None:
    page.form.runtime.setCurrentText(RUNTIME_LLAMACPP)
    page.select_model("qwen2.5-32b")
    first = page.gguf_result
    assert first is not None and first.status == "split"
    assert page.answer.verdict.text().startswith(
        f"Runs with {first.layers_on_gpu} of 64 layers on GPU")
    # RAM bandwidth from the profile: 3200 MT/s x 2 channels
    assert first.ram.bandwidth_gb_s == pytest.approx(51.2)
    page.form.quant.setCurrentText("Q2_K")
    smaller = page.gguf_result
    assert smaller is not None and smaller.layers_on_gpu > first.layers_on_gpu
    page.form.kv_type.setCurrentText("q4_0")
    page.form.seq.setValue(SEQ_STEPS.index(32768))
    assert page.gguf_result is not None and page.gguf_result.ctx == 32768
    assert page.gguf_result.kv_type == "q4_0"


def test_too_big_for_ram_and_back_to_transformers(page: CanIRunPage) -> None:
    page.form.runtime.setCurrentText(RUNTIME_LLAMACPP)
    page.select_model("qwen3-235b-a22b")
    assert page.gguf_result is not None
    assert page.answer.verdict.text() == "Does not fit in RAM"
    page.form.runtime.setCurrentText(RUNTIME_TRANSFORMERS)
    assert page.gguf_result is None and page.result is not None
    assert page.form.method.isEnabled() and not page.form.quant.isEnabled()


def test_gguf_rows_show_only_with_llamacpp(page: CanIRunPage) -> None:
    """The quant and KV-cache rows (field and label) belong to llama.cpp alone."""
    form = page.form.layout

    def shown(widget) -> bool:  # type: ignore[no-untyped-def]
        label = form.labelForField(widget)
        return form.isRowVisible(widget) and label is not None and not label.isHidden()

    assert page.form.runtime.currentText() == RUNTIME_TRANSFORMERS
    assert not shown(page.form.quant) and not shown(page.form.kv_type)
    page.form.runtime.setCurrentText(RUNTIME_LLAMACPP)
    assert shown(page.form.quant) and shown(page.form.kv_type)
    page.form.runtime.setCurrentText(RUNTIME_TRANSFORMERS)
    assert not shown(page.form.quant) and not shown(page.form.kv_type)
