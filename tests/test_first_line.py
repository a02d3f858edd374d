"""The answer a hobbyist reads (issue 23): one first line naming the route that works
(llama.cpp first for running a model, Unsloth's published table for LoRA/QLoRA), no useless
fix, no time for a job that does not fit, unknown VRAM never "no GPU", and the same defaults in
the CLI and the window."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rigready.assess.estimate import Workload, estimate, gpu_from_entry, resolve_model
from rigready.assess.estimate.answer import answer
from rigready.assess.estimate.breakdown import driver_reserved_bytes
from rigready.assess.estimate.stack_need import StackNeed, stack_need
from rigready.assess.estimate.useful import MIN_USEFUL_SEQ, why_useless
from rigready.assess.units import GIB
from rigready.catalog import Catalog, default_catalog
from rigready.desktop.cli import main
from rigready.desktop.defaults import DEFAULT_CTX, llamacpp_ctx
from rigready.desktop.usecases.answers import first_line, limits_text, memory_not_read

RIGS = Path(__file__).parent / "data" / "rigs" / "profiles"
RTX3060 = RIGS / "rtx3060-12gb-desktop.json"
UNREAD = RIGS / "rtx3060-vram-unread.json"


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return default_catalog()


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_running_a_model_answers_llamacpp_first_then_transformers(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "estimate", "Qwen3 8B", "--profile", str(RTX3060))
    first = out.splitlines()[0]
    assert first.startswith("Yes: runs fully on your GPU in a llama.cpp-based app")
    assert "Q4_K_M" in first and "tokens/s" in first
    assert first.index("llama.cpp") < first.index("Transformers in bf16")
    assert "would need CPU offload" in first
    data = json.loads(_cli(capsys, "estimate", "Qwen3 8B", "--profile", str(RTX3060), "--json"))
    assert data["answer"]["route"] == "llama.cpp" and data["answer"]["status"] == "yes"
    assert data["llamacpp"]["verdict"] == "gpu" and data["llamacpp"]["ctx"] == DEFAULT_CTX


def test_qlora_on_12_gb_is_yes_with_unsloth_published_and_measured_here(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "estimate", "llama-3.1-8b", "--method", "qlora",
               "--profile", str(RTX3060))
    first = out.splitlines()[0]
    # the run nearest the job (2,048 tokens), not the longest one this card covers
    assert first.startswith("Yes with Unsloth (about 6 GB published; measured here: ran at "
                            "2,048 tokens on an 8 GB card's memory)")
    assert "the standard Hugging Face QLoRA stack" in first and "14.3 GiB: no" in first
    assert "unsloth.ai/docs" in out.splitlines()[1]
    assert "Measured here: Unsloth ran QLoRA" in out and "H100 capped" in out


def test_a_model_unsloth_was_not_run_on_stays_published_not_measured(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "estimate", "mistral-7b-v0.3", "--method", "qlora",
               "--profile", str(RTX3060))
    first = out.splitlines()[0]
    assert "Unsloth needs less (about 5.2 GB published, not measured here)" in first


def test_rigreadys_own_run_of_unsloth_covers_what_was_run_and_no_less_room(
        cat: Catalog) -> None:
    """The measured rows (stacks.toml, measured_on): Llama 3.1 8B QLoRA ran at 2,048 tokens
    under an 8 GB card's memory and at 8,192 under a 10 GB card's. Only a card with at least
    that room counts: Unsloth loads differently with less, so a peak is not extrapolated."""
    size = 8_030_261_248
    eight = 8 * GIB - driver_reserved_bytes(8 * GIB)  # an 8 GB card with no display
    on_8 = stack_need(cat.stack_figures, size, "qlora", eight, tokens=2048)
    assert on_8 is not None and on_8.measured_tokens == 2048 and on_8.measured_card_gib == 8
    assert on_8.fits(eight, 2048) and on_8.words == (
        "about 6 GB published; measured here: ran at 2,048 tokens on an 8 GB card's memory")
    # the same card driving a desktop (7.0 GiB free): less room than the run had
    desktop = stack_need(cat.stack_figures, size, "qlora", 7 * GIB, tokens=2048)
    assert desktop is not None and desktop.measured_tokens is None
    assert desktop.max_tokens == 0 and not desktop.fits(7 * GIB, 2048)
    # the nearest covering run is named; a longer job gets the longest run this card covers
    on_12 = stack_need(cat.stack_figures, size, "qlora", 11 * GIB, tokens=4096)
    assert on_12 is not None and on_12.measured_tokens == 8192
    longer = stack_need(cat.stack_figures, size, "qlora", 11 * GIB, tokens=16384)
    assert longer is not None and longer.measured_tokens == 8192
    # a yes beyond the run's length rests on the published table, and says so
    assert longer.words == ("about 6 GB published; measured here only up to 8,192 tokens on "
                            "a 10 GB card's memory")
    # the run's model and its fine-tunes (8.03B) only: not Qwen3 8B (8.19B, a larger
    # vocabulary), not a 7B
    assert stack_need(cat.stack_figures, 8_190_000_000, "qlora", 11 * GIB).measured_tokens is None  # type: ignore[union-attr]
    assert stack_need(cat.stack_figures, 7_240_000_000, "qlora", 11 * GIB).measured_tokens is None  # type: ignore[union-attr]
    # LoRA was not measured
    assert stack_need(cat.stack_figures, size, "lora", 24 * GIB).measured_tokens is None  # type: ignore[union-attr]


def test_a_measured_run_names_its_route_when_a_longer_job_does_not_fit(cat: Catalog) -> None:
    shape = resolve_model("llama-3.1-8b", cat.models)
    card = gpu_from_entry(cat.gpu("rtx-4060"))
    gpu = replace(card, held_bytes=0, drives_display=False)  # 8 GB, no display
    # 4,096 tokens is a yes by the published context table (about 5,700 at 8.0 GiB free)
    for seq, status in ((2048, "yes"), (4096, "yes"), (8192, "no")):
        est = estimate(shape, Workload(method="qlora", checkpointing=True, seq_len=seq), gpu)
        need = stack_need(cat.stack_figures, shape.params, "qlora", gpu.job_bytes, tokens=seq)
        got = answer(est, stack=need)
        assert got.status == status, got.sentence
    assert ("Unsloth ran it here at 2,048 tokens on an 8 GB card's memory (measured), short of "
            "8,192, and its published context table gives about 5,") in got.sentence
    assert "What does: Unsloth at 2,048 tokens or fewer (measured here)" in got.sentence


def test_stack_need_interpolates_the_table_and_reads_the_context_table(cat: Catalog) -> None:
    need = stack_need(cat.stack_figures, 8_030_000_000, "qlora", 11 * GIB)
    assert need is not None and need.need_bytes == pytest.approx(6.03e9, rel=0.01)
    # 11 GiB (11.8 GB) lies between the 8 GB (2,972) and 12 GB (21,848) rows
    assert need.max_tokens is not None and 15_000 < need.max_tokens < 21_848
    assert need.fits(11 * GIB, 2048) and not need.fits(11 * GIB, 32768)
    assert stack_need(cat.stack_figures, 8_000_000_000, "qlora", 4 * GIB).max_tokens == 0  # type: ignore[union-attr]
    # beyond the table's largest model
    assert stack_need(cat.stack_figures, 500_000_000_000, "qlora", 80 * GIB) is None
    lora = stack_need(cat.stack_figures, 8_000_000_000, "lora", 24 * GIB)
    assert lora is not None and lora.need_bytes == pytest.approx(22e9)


def test_a_long_sequence_beyond_unslohs_context_table_is_a_plain_no(cat: Catalog) -> None:
    shape = resolve_model("llama-3.1-8b", cat.models)
    gpu = gpu_from_entry(cat.gpu("rtx-3060-12gb"))
    est = estimate(shape, Workload(method="qlora", checkpointing=True, seq_len=32768), gpu)
    need = stack_need(cat.stack_figures, shape.params, "qlora", gpu.job_bytes)
    got = answer(est, stack=need)
    assert got.status == "no" and got.sentence.startswith("No: QLoRA of llama-3.1-8b")
    assert "context table" in got.sentence and "32,768" in got.sentence
    assert "What does:" in got.sentence


def test_no_time_no_tiny_sequence_for_a_job_that_does_not_fit(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "estimate", "gemma 3 12b", "--method", "qlora", "--profile",
               str(RTX3060), "--dataset-tokens", "10000000")
    assert "longest sequence: 2" not in out and "sequence length 2:" not in out
    assert "no sequence of 512 tokens or more fits" in out
    assert "not estimated: the job does not fit this card" in out and " h, " not in out
    data = json.loads(_cli(capsys, "estimate", "gemma 3 12b", "--method", "qlora", "--profile",
                           str(RTX3060), "--dataset-tokens", "10000000", "--json"))
    assert data["verdict"] == "no" and data["hours"] is None and data["cost_usd"] is None
    assert all(s["verdict"] in ("fits", "tight") for s in data["suggestions"])


def test_sdxl_is_answered_as_comfyui_runs_it_with_the_plain_pipeline_beside(
        capsys: pytest.CaptureFixture[str]) -> None:
    """SDXL at 1024 px on a 12 GB card that drives the desktop (11.0 GiB free): the default
    route is a ComfyUI / Forge-class app (resident, the VAE decoded in tiles: 9.4 GiB), the
    plain diffusers pipeline's 13.3 GiB said beside it."""
    out = _cli(capsys, "estimate", "sdxl-base-1.0", "--profile", str(RTX3060))
    first = out.splitlines()[0]
    assert first.startswith("Yes in a ComfyUI / Forge-class app (every part stays on the GPU, "
                            "VAE decoded in tiles): needs 9.4 of the 11.0 GiB free")
    assert "the plain diffusers pipeline needs 13.3 GiB" in first
    data = json.loads(_cli(capsys, "estimate", "sdxl", "--profile", str(RTX3060), "--json"))
    assert data["answer"]["route"] == "comfyui" and data["verdict"] == "fits"


def test_sdxl_is_never_told_to_go_below_its_native_resolution(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "estimate", "sdxl-base-1.0", "--profile", str(RTX3060),
               "--runtime", "diffusers")
    assert "image side" not in out
    first = out.splitlines()[0]
    assert first.startswith("No: needs 13.3 GiB free with a plain diffusers pipeline")
    assert "Free settings first: the fp16-fix VAE" in first
    assert "a ComfyUI / Forge-class app, or diffusers' pipe.enable_model_cpu_offload()" in first
    assert "6.3 GiB, fits" in first


def test_an_image_runtime_for_a_language_model_is_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "llama-3.1-8b", "--runtime", "comfyui"]) == 2
    assert "is for generating images" in capsys.readouterr().err
    assert main(["estimate", "sdxl", "--runtime", "llama.cpp"]) == 2
    assert "does not generate images" in capsys.readouterr().err


def test_why_useless_floors(cat: Catalog) -> None:
    llama = resolve_model("llama-3.1-8b", cat.models)
    asked = Workload(method="qlora", seq_len=2048)
    assert why_useless(llama, asked, Workload(method="qlora", seq_len=MIN_USEFUL_SEQ)) is None
    assert "512-token floor" in (why_useless(llama, asked, Workload(method="qlora", seq_len=2))
                                 or "")
    sdxl = resolve_model("sdxl-base-1.0", cat.models)
    assert "native 1024 px" in (why_useless(sdxl, Workload(), Workload(image_size=512)) or "")
    assert why_useless(sdxl, Workload(image_size=768), Workload(image_size=768)) is None
    resnet = resolve_model("resnet-50", cat.models)
    train = Workload(method="full", batch=64)
    assert "BatchNorm" in (why_useless(resnet, train, Workload(method="full", batch=4)) or "")
    assert why_useless(resnet, train, Workload(method="full", batch=16)) is None


def test_unread_vram_stays_a_gpu_in_estimate_and_gets_a_verdict_with_vram_gib(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "estimate", "llama-3.1-8b", "--method", "qlora", "--profile", str(UNREAD))
    assert "No GPU" not in out and "4-bit and 8-bit (bitsandbytes) need a GPU" not in out
    assert out.splitlines()[0] == memory_not_read("NVIDIA GeForce RTX 3060") + "."
    assert "give --vram-gib" in out
    data = json.loads(_cli(capsys, "estimate", "llama-3.1-8b", "--method", "qlora",
                           "--profile", str(UNREAD), "--json"))
    assert data["gpu_memory_not_read"] == "NVIDIA GeForce RTX 3060" and data["cpu"] is None
    told = _cli(capsys, "estimate", "llama-3.1-8b", "--method", "qlora", "--profile",
                str(UNREAD), "--vram-gib", "12")
    assert told.startswith("Yes with Unsloth")
    llama = _cli(capsys, "estimate", "qwen3-8b", "--runtime", "llama.cpp", "--profile",
                 str(UNREAD))
    assert llama.startswith(memory_not_read("NVIDIA GeForce RTX 3060"))
    assert "without a GPU" not in llama


def test_unread_vram_in_plan_and_score(capsys: pytest.CaptureFixture[str]) -> None:
    plan = _cli(capsys, "plan", "llama-3.1-8b", "--method", "qlora", "--profile", str(UNREAD))
    assert "NVIDIA GeForce RTX 3060 (memory not read)" in plan
    score = _cli(capsys, "score", "--profile", str(UNREAD), "--no-bench")
    assert "no discrete GPU" not in score
    told = _cli(capsys, "score", "--profile", str(UNREAD), "--no-bench", "--vram-gib", "12")
    assert "12.0 GiB VRAM" in told


def test_the_window_and_the_cli_share_the_llamacpp_context(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert llamacpp_ctx(Workload()) == DEFAULT_CTX == 4096
    assert llamacpp_ctx(Workload(seq_len=8192, new_tokens=256)) == 8448  # the same job
    assert llamacpp_ctx(Workload(), 1024) == 1024
    data = json.loads(_cli(capsys, "estimate", "qwen3-8b", "--runtime", "llama.cpp",
                           "--gpu", "rtx-4090", "--ram-gib", "32", "--json"))
    assert data["ctx"] == DEFAULT_CTX and data["answer"].startswith("Yes: runs fully")


def test_first_line_for_a_pc_without_a_gpu_is_the_cpus_answer(cat: Catalog) -> None:
    shape = resolve_model("qwen3-0.6b", cat.models)
    est = estimate(shape, Workload(), None)
    line = first_line(est, ram_available=16 * GIB)
    assert line.answer.sentence.startswith("Yes, on the CPU") and line.answer.route == "cpu"
    assert line.unread_gpu is None


def test_limits_never_name_a_useless_sequence(cat: Catalog) -> None:
    shape = resolve_model("gemma-3-12b", cat.models)
    gpu = gpu_from_entry(cat.gpu("rtx-3060-12gb"))
    est = estimate(shape, Workload(method="qlora", checkpointing=True), gpu)
    assert est.max_seq == 0 and "no sequence of 512 tokens or more fits" in limits_text(est)


def test_stack_need_words() -> None:
    assert StackNeed("unsloth", "qlora", int(6.03e9), None, "").words == \
        "about 6 GB published, not measured here"
    assert StackNeed("unsloth", "qlora", int(8.5e9), None, "").words.startswith("about 8.5 GB")


def test_unsloths_table_is_not_a_yes_for_a_large_vocabulary(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Gemma 3's 262k-token vocabulary makes the embeddings, head and logits several GB bigger
    than the table's Llama/Qwen-sized models: its figure is named but never made a yes."""
    out = _cli(capsys, "estimate", "gemma 3 12b", "--method", "qlora", "--profile", str(RTX3060))
    first = out.splitlines()[0]
    assert first.startswith("No: QLoRA of gemma-3-12b") and "262,144" in first
    assert "Yes with Unsloth" not in out
