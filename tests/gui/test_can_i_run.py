"""The "Can I run it?" page with a fake context (pytest-qt, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytestqt = pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Signal  # noqa: E402

from rigready.assess.hardware import CpuInfo, GpuInfo, MemoryInfo, RigProfile, SystemInfo  # noqa: E402
from rigready.catalog import default_catalog  # noqa: E402
from rigready.desktop.pages.can_i_run import CanIRunPage  # noqa: E402
from rigready.desktop.pages.can_i_run_form import SEQ_STEPS  # noqa: E402

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
    assert page.shape.name == "llama-3.1-8b" and page.form.method.currentText() == "qlora"
    assert page.result.workload.checkpointing
    assert "this PC" in page.form.gpu.currentText()
    assert page.result.gpu is not None and page.result.gpu.vram_bytes == 12 * 2**30
    assert page.answer.bar.parts and page.answer.bar.vram == 12 * 2**30


def test_sliders_update_the_breakdown(page: CanIRunPage) -> None:
    page.select_model("llama-3.2-1b")
    page.form.method.setCurrentText("lora")
    page.form.checkpointing.setChecked(False)  # the page opened on QLoRA, which ticks it
    before = page.result.memory.total  # type: ignore[union-attr]
    page.form.batch.setValue(8)
    assert page.result.memory.total > before  # type: ignore[union-attr]
    page.form.seq.setValue(SEQ_STEPS.index(512))
    shorter = page.result.memory.total  # type: ignore[union-attr]
    page.form.checkpointing.setChecked(True)
    assert page.result.memory.total < shorter  # type: ignore[union-attr]
    assert page.last_update_ms < 500  # generous here; benchmarks/estimate_speed.py shows <50 ms


def test_verdict_turns_bad_and_suggests_fixes(page: CanIRunPage) -> None:
    page.select_model("llama-3.1-8b")
    page.form.method.setCurrentText("full")
    assert page.result is not None and page.result.verdict is not None
    assert page.result.verdict.status == "no"
    assert "Does not fit" in page.answer.verdict.text()
    assert page.result.suggestions and "To make it fit" in page.answer.details.text()
    segments = page.answer.bar.segments()
    line = page.answer.bar.vram_x()
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
    bad.write_text(json.dumps({"model_type": "mamba"}))
    page.load_config(bad)
    assert page.error and "not supported" in page.answer.details.text()
    page.select_model("no-such-model")
    assert page.error and "unknown model" in page.error


def test_profile_change_refreshes_gpus(page: CanIRunPage) -> None:
    page.context.profile_changed.emit(_rig(6))
    assert page.result is not None and page.result.gpu is not None
    assert page.result.gpu.vram_bytes == 6 * 2**30


def test_qlora_turns_on_checkpointing(page: CanIRunPage) -> None:
    page.form.method.setCurrentText("lora")
    page.form.checkpointing.setChecked(False)
    page.form.method.setCurrentText("qlora")
    assert page.form.checkpointing.isChecked()
    page.form.checkpointing.setChecked(False)  # the user may still turn it off
    page.form.method.setCurrentText("qlora")
    assert not page.form.checkpointing.isChecked()
    assert page.result is not None and not page.result.workload.checkpointing


# --- issue 15: the defects a newcomer met ------------------------------------------------------

def _cpu_only_rig(ram_gib: int = 32) -> RigProfile:
    return RigProfile(cpu=CpuInfo(), memory=MemoryInfo(total_bytes=ram_gib * 2**30), storage=(),
                      gpus=(), system=SystemInfo())


def test_a_pc_without_a_gpu_gets_a_cpu_yes_or_no_not_a_silent_catalog_card(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = CanIRunPage(FakeContext(_cpu_only_rig()))
    qtbot.addWidget(page)
    assert page.form.gpu.currentIndex() == 0 and page._gpus[0] is None
    assert page.form.gpu.currentText() == "No GPU in this PC — CPU only"
    assert "GTX 1060" not in page.form.gpu.currentText()
    page.select_model("llama-3.2-1b")
    page.form.method.setCurrentText("inference")
    assert page.result is not None and page.result.gpu is None
    assert page.answer.verdict.text().startswith("Yes, on the CPU")
    page.form.method.setCurrentText("qlora")  # bitsandbytes 4-bit needs a GPU
    assert page.answer.verdict.text().startswith("No")
    assert "need a GPU" in page.answer.details.text()
    small = CanIRunPage(FakeContext(_cpu_only_rig(4)))
    qtbot.addWidget(small)
    small.form.method.setCurrentText("inference")
    small.select_model("llama-3.1-8b")
    assert small.answer.verdict.text().startswith("No") and \
        "4.0 GiB free" in small.answer.details.text()


def test_before_detection_no_gpu_is_picked_for_the_user(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = CanIRunPage(FakeContext(None))
    qtbot.addWidget(page)
    assert page._gpus[0] is None and "No GPU chosen" in page.form.gpu.currentText()
    assert page.answer.verdict.text().startswith("No GPU chosen")


def test_typing_a_size_estimates_it_and_unhighlights_the_catalog_model(page: CanIRunPage) -> None:
    assert page.model_list.currentItem() is not None  # Llama 3.1 8B to start with
    page.search.setText("8B")
    page.search.returnPressed.emit()
    assert page.shape is not None and page.shape.name != "llama-3.1-8b"
    assert page.model_list.currentItem() is None and not page.model_list.selectedItems()


def test_a_search_with_no_match_leaves_no_stale_answer(page: CanIRunPage) -> None:
    assert page.result is not None
    page.search.setText("no-such-model-xyz")
    assert page.result is None and page.shape is None
    assert page.answer.verdict.text() == "No match"
    assert "No catalog model matches" in page.answer.details.text()
    assert not page.answer.bar.parts and page.answer.legend.text() == ""


def test_one_consumer_card_is_never_told_to_add_gpus(page: CanIRunPage) -> None:
    # The page's first question, QLoRA of an 8B on a 12 GiB card, does not fit comfortably (the
    # same job peaked at 14.8 GiB on an H200, tests/data/calibration/h200-2026-12-01.json); the
    # only fix offered was "2 GPUs of this kind (FSDP)".
    assert page.result is not None and page.result.verdict is not None
    assert page.result.verdict.status != "fits"
    for method in ("qlora", "lora", "full", "inference"):
        page.form.method.setCurrentText(method)
        assert page.result is not None
        assert not [s for s in page.result.suggestions if "GPUs" in s.change], method
        assert "FSDP" not in page.answer.details.text()


def test_suggestions_never_repeat_the_checkpointing_already_on(page: CanIRunPage) -> None:
    page.select_model("llama-3.1-8b")
    page.form.method.setCurrentText("lora")
    page.form.checkpointing.setChecked(True)
    assert page.result is not None and page.result.suggestions
    changes = [s.change for s in page.result.suggestions]
    assert not [c for c in changes if "with gradient checkpointing" in c], changes
    assert not [c for c in changes if c.startswith("gradient checkpointing")], changes


def test_offload_never_says_batch_0(page: CanIRunPage) -> None:
    page.select_model("llama-3.1-8b")
    page.form.method.setCurrentText("lora")  # 29 GiB on a 12 GiB card: offload or no
    assert page.result is not None and page.result.max_batch == 0
    assert "batch that fits: 0" not in page.answer.details.text()
    assert "even batch 1 does not fit in VRAM alone" in page.answer.details.text()


def test_legend_keeps_swatches_with_names_and_the_vram_label_clear_of_its_line(
        page: CanIRunPage) -> None:
    text = page.answer.legend.text()
    assert text.count("white-space:nowrap") == text.count("■") > 0
    assert "■</span>&nbsp;weights" in text
    page.show()
    for width in (300, 480, 900):
        page.answer.bar.resize(width, page.answer.bar.height())
        rect, line = page.answer.bar.vram_label_rect(), page.answer.bar.vram_x()
        assert rect is not None and line is not None
        assert not (rect.left() <= line <= rect.right()), (width, rect, line)
        assert rect.left() >= 0 and rect.right() <= width + 1


def test_image_models_take_their_own_inputs(page: CanIRunPage) -> None:
    page.select_model("sdxl-base-1.0")
    page.form.method.setCurrentText("inference")
    assert page.form.image_size.isEnabled() and page.form.steps.isEnabled()
    assert not page.form.seq.isEnabled() and not page.form.new_tokens.isEnabled()
    assert page.result is not None and page.result.shape.kind == "diffusion"
    assert "images/s" in page.answer.details.text() and "VAE" in page.answer.details.text()
    before = page.result.memory.total
    page.form.image_size.setValue(768)
    assert page.result.memory.total < before
    page.select_model("resnet-50")
    page.form.method.setCurrentText("full")
    page.form.batch.setValue(64)
    assert not page.form.steps.isEnabled()
    assert page.result is not None, page.error
    assert page.result.memory.logits == 0
    assert page.result.memory.total < 6 * 2**30


def test_sdxl_is_answered_as_comfyui_runs_it_and_the_plain_pipeline_is_a_choice(
        page: CanIRunPage) -> None:
    """The window's default for generating images is the CLI's (a ComfyUI / Forge-class app);
    a language model's runtime box gives way to the image app box; a 12 GB card that drives
    the desktop (11.0 GiB free) runs SDXL at 1024 px there, not as a plain pipeline."""
    layout = page.form.layout
    page.select_model("sdxl-base-1.0")
    page.form.method.setCurrentText("inference")
    assert layout.isRowVisible(page.form.image_runtime)
    assert not layout.isRowVisible(page.form.runtime)
    assert page.form.image_runtime.currentData() == "comfyui"
    assert page.result is not None and page.result.verdict is not None
    assert page.result.workload.image_runtime == "comfyui"
    assert page.result.verdict.status == "fits"
    page.form.image_runtime.setCurrentIndex(page.form.image_runtime.findData("diffusers"))
    plain = page.result
    assert plain is not None and plain.verdict is not None
    assert (plain.workload.image_runtime, plain.verdict.status) == ("diffusers", "no")
    page.select_model("llama-3.1-8b")
    assert layout.isRowVisible(page.form.runtime)
    assert not layout.isRowVisible(page.form.image_runtime)


def test_an_image_model_names_its_own_stack_and_band_as_the_cli_does(page: CanIRunPage) -> None:
    # the page said "Hugging Face generate() ... KV cache in bf16" and a 7% band for ResNet-50
    # and SDXL, where `rigready estimate` says torchvision / diffusers and 6%
    from rigready.assess.estimate.estimator import assumptions, error_band

    page.form.method.setCurrentText("inference")
    for model, stack in (("resnet-50", "torchvision"), ("sdxl-base-1.0", "diffusers")):
        page.select_model(model)
        assert page.result is not None, page.error
        est = page.result
        a = assumptions(est.workload, est.shape.kind, est.shape.head)
        text = page.answer.details.text()
        assert f"Assumes {a['stack']}: {a['recipe']}; {a['runtime']}." in text
        assert stack in a["stack"] and "generate()" not in text and "KV cache" not in text
        assert f"Measured error band {error_band(est.workload, est.shape.kind):.0%}." in text
        assert "Measured error band 6%." in text


def test_unmodelled_image_model_says_unknown(page: CanIRunPage, tmp_path: Path) -> None:
    # every catalog image model is walked now (SD3.5 and FLUX.1 since issue 22): a diffusers
    # class the estimator does not walk is refused with its reason
    pixart = tmp_path / "config.json"
    pixart.write_text(json.dumps({"_class_name": "PixArtTransformer2DModel"}))
    page.load_config(pixart)
    assert page.result is None and page.error is not None
    assert "not modelled" in page.error and "Cannot estimate" in page.answer.verdict.text()


def test_at_1024x640_the_answer_has_room_and_no_sideways_scrolling(qtbot) -> None:  # type: ignore[no-untyped-def]
    # issue 15: at 1024x640 the long GPU name widened the form and left the answer ~140 px,
    # its bullets cut behind a horizontal scrollbar
    from PySide6.QtWidgets import QScrollArea

    from rigready.assess.profile import load_profile

    rig = load_profile(Path(__file__).parents[1]
                       / "data/profiles/hobbyist/desktop-rtx3060-12gb-32gb-ddr4.json")
    widget = CanIRunPage(FakeContext(rig))
    qtbot.addWidget(widget)
    widget.resize(824, 560)  # the page's share of a 1024x640 window, beside the side bar
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(50)
    # the card drives the desktop, which keeps a typical 1.0 GiB: 11.0 GiB free for the job
    text = widget.answer.details.text()
    assert "at least 14.3 GiB free" in text and "11.0 GiB available for the job" in text
    assert widget.form.gpu.toolTip().startswith("NVIDIA GeForce RTX 3060")
    assert widget.answer.verdict.width() >= 250, widget.answer.verdict.width()
    viewport = widget.answer.details.parentWidget()
    scroll = viewport.parentWidget() if viewport is not None else None
    assert isinstance(scroll, QScrollArea)
    assert scroll.horizontalScrollBar().maximum() == 0
    assert widget.answer.details.width() >= widget.answer.details.minimumSizeHint().width()


def test_the_first_line_comes_first_and_says_what_the_cli_says(page: CanIRunPage) -> None:
    """The page opens on QLoRA of Llama 3.1 8B on a 12 GB card driving the desktop: the first
    line is the CLI's (Unsloth's published figure where the standard stack does not fit), and
    the breakdown leads with the least memory free the job needs, nvidia-smi's figure beside."""
    from rigready.desktop.usecases.answers import first_line

    est = page.result
    assert est is not None and est.gpu is not None and est.gpu.job_bytes == 11 * 2**30
    want = first_line(est, ram=page._ram_target, ram_available=page._ram,
                      stack_figures=default_catalog().stack_figures, cli=False).answer
    assert page.answer.first.isVisible() or not page.isVisible()
    assert page.answer.first.text() == want.sentence
    assert want.sentence.startswith("Yes with Unsloth")
    head = page.answer.verdict.text()
    assert head.startswith(f"Does not fit: needs {est.memory.needs_free_bytes / 2**30:.1f} "
                           "GiB free")
    page.select_model("sdxl-base-1.0")
    page.form.method.setCurrentText("inference")
    sdxl = page.result
    assert sdxl is not None
    assert f"nvidia-smi shows up to {sdxl.memory.total / 2**30:.1f} GiB" in (
        page.answer.verdict.text())
    assert page.answer.first.text().startswith("Yes in a ComfyUI / Forge-class app")
    # the bar draws the parts (nvidia-smi's figure) and marks the least need above them
    bar = page.answer.bar
    assert bar.need == sdxl.memory.needs_free_bytes and bar.need_label() == (
        f"needs {sdxl.memory.needs_free_bytes / 2**30:.1f} free")
    mark, line = bar.need_x(), bar.vram_x()
    assert mark is not None and line is not None and mark < line


def test_a_gpu_whose_memory_was_not_read_is_a_gpu_not_no_gpu(qtbot) -> None:  # type: ignore[no-untyped-def]
    unread = RigProfile(cpu=CpuInfo(), memory=MemoryInfo(total_bytes=32 * 2**30), storage=(),
                        gpus=(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060"),),
                        system=SystemInfo())
    widget = CanIRunPage(FakeContext(unread))
    qtbot.addWidget(widget)
    assert widget.result is not None and widget.result.gpu is None
    assert "memory not read" in widget.answer.first.text()
    assert "NVIDIA GeForce RTX 3060" in widget.answer.first.text()
    assert widget.answer.verdict.text().startswith("Memory not read: needs")
    assert "No GPU" not in widget.answer.verdict.text()
    widget.form.method.setCurrentText("inference")
    widget.form.runtime.setCurrentText("llama.cpp (GGUF)")
    assert "memory not read" in widget.answer.first.text()


def test_this_pc_is_read_as_detected_with_what_its_programs_hold(qtbot) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from rigready.assess.hardware import GpuMemoryHolder

    here = _rig(12)
    gpu = replace(here.gpus[0], drives_display=True, memory_holders=(
        GpuMemoryHolder("Xorg", 1, 400 * 2**20), GpuMemoryHolder("firefox", 2, 700 * 2**20)))
    widget = CanIRunPage(FakeContext(replace(here, gpus=(gpu,))))
    qtbot.addWidget(widget)
    target = widget.result.gpu if widget.result is not None else None
    # what NVML listed on this PC (1.1 GiB), not a saved profile's typical 1.0 GiB
    assert target is not None and target.held_bytes == 1100 * 2**20
    assert any("firefox 0.7 GiB" in r for r in widget.result.verdict.reasons)  # type: ignore[union-attr]


def test_the_llamacpp_context_is_the_clis_default(page: CanIRunPage) -> None:
    from rigready.desktop.defaults import DEFAULT_CTX

    page.select_model("qwen3-8b")
    page.form.method.setCurrentText("inference")
    assert SEQ_STEPS[page.form.seq.value()] == 2048  # a prompt of 2,048 tokens for Transformers
    page.form.runtime.setCurrentText("llama.cpp (GGUF)")
    assert page.gguf_result is not None and page.gguf_result.ctx == DEFAULT_CTX
    assert page.answer.first.text().startswith("Yes: runs fully on your GPU")


def test_a_job_that_does_not_fit_gets_no_speed_or_time_as_in_the_cli(page: CanIRunPage) -> None:
    # The opening job (QLoRA of Llama 3.1 8B, 14.3 GiB) on the 12 GB card: no. The CLI prints
    # "not estimated" under Time; the page used to show a tokens/s for the job all the same.
    assert page.result is not None and page.result.verdict is not None
    assert page.result.verdict.status == "no"
    text = page.answer.details.text()
    assert "not estimated: the job does not fit this card" in text
    assert "tokens/s" not in text.split("Time and energy")[1].split("System RAM")[0]
    page.select_model("llama-3.2-1b")  # fits: its speed is back
    assert page.result.verdict is not None and page.result.verdict.status != "no"
    assert "tokens/s" in page.answer.details.text().split("Time and energy")[1]
