"""llama.cpp GGUF inference: GPU/RAM split, layers on the GPU, decode speed, verdict lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigready.assess.estimate import EstimateError, gpu_from_entry, resolve_model
from rigready.assess.estimate.language.gguf import gguf_size
from rigready.assess.estimate.language.llamacpp import (
    RamTarget,
    kv_layer_bytes,
    plan,
    ram_from_memory_info,
)
from rigready.assess.hardware import MemoryInfo
from rigready.assess.units import GIB
from rigready.catalog import default_catalog
from rigready.desktop.cli import main

CAT = default_catalog()
PROFILE = Path(__file__).parent / "data" / "profiles" / "hobbyist" / \
    "desktop-rtx3060-12gb-32gb-ddr4.json"
DDR5 = RamTarget(available_bytes=64 * GIB, bandwidth_gb_s=89.6, source="test")


def _gpu(gpu_id: str):  # type: ignore[no-untyped-def]
    return gpu_from_entry(CAT.gpu(gpu_id))


def test_small_model_runs_fully_on_a_big_gpu() -> None:
    p = plan(resolve_model("qwen3-8b", CAT.models), "Q4_K_M", ctx=8192, gpu=_gpu("rtx-4090"),
             ram=DDR5)
    assert p.status == "gpu" and p.layers_on_gpu == p.layers_total == 36 and p.output_on_gpu
    assert p.summary.startswith("runs fully on GPU at about")
    assert p.tokens_per_s is not None and p.tokens_per_s_full_ctx is not None
    # bandwidth bound: 1008 GB/s x 54 % over ~4.7 GB read per token
    assert 90 < p.tokens_per_s < 130
    assert p.tokens_per_s_full_ctx < p.tokens_per_s
    assert p.gpu_bytes < 24 * GIB


def test_70b_splits_and_is_bound_by_ram_bandwidth() -> None:
    shape = resolve_model("llama-3.3-70b", CAT.models)
    p = plan(shape, "Q4_K_M", ctx=8192, gpu=_gpu("rtx-4090"), ram=DDR5)
    assert p.status == "split" and not p.output_on_gpu
    assert 40 <= p.layers_on_gpu <= 46
    assert p.summary == f"runs with {p.layers_on_gpu} of 80 layers on GPU at about " \
        f"{p.tokens_per_s:.1f} tokens/s"
    assert p.gpu_bytes <= 24 * GIB * 0.98
    assert p.tokens_per_s is not None and 1.5 < p.tokens_per_s < 4
    # the whole file is either on the GPU or in RAM
    size = gguf_size(shape, "Q4_K_M")
    assert p.gpu_bytes + p.ram_bytes > size.total_bytes
    cpu_only = plan(shape, "Q4_K_M", ctx=8192, gpu=None, ram=DDR5)
    assert cpu_only.status == "cpu" and cpu_only.layers_on_gpu == 0
    assert cpu_only.tokens_per_s is not None and cpu_only.tokens_per_s < p.tokens_per_s


def test_more_vram_never_places_fewer_layers() -> None:
    shape = resolve_model("qwen2.5-32b", CAT.models)
    layers = [plan(shape, "Q4_K_M", gpu=_gpu(g), ram=DDR5).layers_on_gpu
              for g in ("rtx-4060", "rtx-3060-12gb", "rtx-4080", "rtx-4090")]
    assert layers == sorted(layers) and layers[0] < layers[-1]


def test_does_not_fit_in_ram() -> None:
    p = plan(resolve_model("llama-3.3-70b", CAT.models), "Q8_0", ctx=4096,
             gpu=_gpu("rtx-4060"), ram=RamTarget(available_bytes=16 * GIB, bandwidth_gb_s=50))
    assert p.status == "no-ram" and p.summary == "does not fit in RAM"
    assert p.tokens_per_s is None and p.tokens_per_s_full_ctx is None  # it cannot load


def test_unknown_ram_is_said_not_guessed() -> None:
    p = plan(resolve_model("qwen2.5-32b", CAT.models), "Q4_K_M", gpu=_gpu("rtx-4060"))
    assert p.status == "unknown-ram" and "RAM unknown" in p.summary
    assert p.tokens_per_s is None
    assert any("--ram-gib" in r for r in p.reasons)


def test_kv_cache_types_and_sliding_windows() -> None:
    shape = resolve_model("qwen3-8b", CAT.models)
    f16 = sum(kv_layer_bytes(shape, 8192, "f16"))
    assert f16 == 2 * 36 * 8 * 128 * 2 * 8192
    assert sum(kv_layer_bytes(shape, 8192, "q8_0")) == pytest.approx(f16 * 34 / 64)
    assert sum(kv_layer_bytes(shape, 8192, "q4_0")) == pytest.approx(f16 * 18 / 64)
    gemma = resolve_model("gemma-3-12b", CAT.models)
    kv = kv_layer_bytes(gemma, 32768, "f16")
    full = 2 * gemma.kv_dim * 2 * 32768
    assert kv[5] == full and kv[0] == 2 * gemma.kv_dim * 2 * (1024 + 512)
    with pytest.raises(EstimateError):
        kv_layer_bytes(shape, 1024, "q2_k")


def test_moe_decodes_like_its_active_size() -> None:
    gpu = _gpu("rtx-4090")
    moe = plan(resolve_model("qwen3-30b-a3b", CAT.models), "Q4_K_M", gpu=gpu, ram=DDR5)
    dense = plan(resolve_model("qwen3-32b", CAT.models), "Q4_K_M", gpu=gpu, ram=DDR5)
    assert moe.size.total_bytes == pytest.approx(dense.size.total_bytes, rel=0.1)
    assert moe.tokens_per_s is not None and dense.tokens_per_s is not None
    assert moe.tokens_per_s > 3 * dense.tokens_per_s


def test_ram_from_detected_memory() -> None:
    ram = ram_from_memory_info(MemoryInfo(total_bytes=32 * GIB, available_bytes=28 * GIB,
                                          speed_mts=3200, slots_used=2))
    assert ram.available_bytes == 28 * GIB and ram.bandwidth_gb_s == pytest.approx(51.2)
    unknown = ram_from_memory_info(MemoryInfo(total_bytes=32 * GIB))
    assert unknown.bandwidth_gb_s is None


def test_context_beyond_training_is_noted() -> None:
    p = plan(resolve_model("qwen3-8b", CAT.models), "Q4_K_M", ctx=65536, gpu=_gpu("rtx-4090"),
             ram=DDR5)
    assert any("exceed" in r for r in p.reasons)


def test_cli_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["estimate", "qwen3-8b", "--runtime", "llama.cpp", "--quant", "Q4_K_M",
                 "--ctx", "8192", "--kv-type", "q8_0", "--profile", str(PROFILE)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Verdict on NVIDIA GeForce RTX 3060: runs fully on GPU at about" in out
    code = main(["estimate", "llama-3.3-70b", "--runtime", "llama.cpp", "--gpu", "rtx-4090",
                 "--ram-gib", "64", "--ram-gb-s", "89.6", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["verdict"] == "split" and data["layers_total"] == 80
    for key in ("quant", "bits_per_weight", "file_gb", "ctx", "kv_type", "kv_cache_gib",
                "layers_on_gpu", "output_on_gpu", "gpu_gib", "ram_gib", "ram_available_gib",
                "tokens_per_s", "tokens_per_s_full_ctx", "summary", "reasons"):
        assert key in data


@pytest.mark.parametrize(("extra", "problem"), [
    (["--quant", "Q9_K"], "unknown quant type 'Q9_K'"),
    (["--kv-type", "q3"], "unknown KV-cache type"),
    (["--method", "lora"], "llama.cpp runs models"),
])
def test_bad_input_is_one_line(extra: list[str], problem: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["estimate", "qwen3-8b", "--runtime", "llama.cpp", "--gpu", "rtx-4090",
                 "--ram-gib", "32", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("rigready: error:") and problem in err[0]


def test_unknown_runtime_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "qwen3-8b", "--runtime", "vllm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rigready: error: unknown runtime 'vllm' (choose from transformers, "
                   "llama.cpp, diffusers, comfyui)"]


def test_a_moe_that_splits_also_gets_the_experts_in_ram_alternative() -> None:
    p = plan(resolve_model("gpt-oss-120b", CAT.models), "MXFP4_MOE", gpu=_gpu("rtx-4090"),
             ram=RamTarget(available_bytes=96 * GIB, bandwidth_gb_s=89.6))
    assert p.status == "split"
    alt = p.experts_in_ram_tokens_per_s
    assert alt is not None and p.tokens_per_s is not None
    # attention stays fast on the GPU and only 4 of 128 experts are read from RAM
    assert alt > p.tokens_per_s
    assert any("--n-cpu-moe 36" in r for r in p.reasons)
    dense = plan(resolve_model("llama-3.3-70b", CAT.models), "Q4_K_M", gpu=_gpu("rtx-4090"),
                 ram=DDR5)
    assert dense.experts_in_ram_tokens_per_s is None


# llama-bench tg128 of tinyllama-1.1b Q4_K_M (636 MiB, -ngl 99, Vulkan), published in
# github.com/geerlingguy/ai-benchmarks issues #43 (RTX 4090, 2025-12-09), #46 (RTX 2080 Ti,
# Intel 265K host, 2025-12-18) and #40 (RTX 3060 12 GB, 2025-12-06).
PUBLISHED_TG128 = {"rtx-4090": 762.37, "rtx-2080-ti": 424.32, "rtx-3060-12gb": 279.05}


@pytest.mark.parametrize(("gpu_id", "published"), sorted(PUBLISHED_TG128.items()))
def test_small_model_decode_matches_published_llama_bench(gpu_id: str, published: float) -> None:
    """A read-only model was 10-24% too fast on a 1.1B (and ~9,500 tokens/s for GPT-2 on an
    H200); the per-layer launch cost brings these runs within 0.85-1.15x."""
    from rigready.assess.estimate.shapes import shape_from_config_file

    shape = shape_from_config_file(Path(__file__).parent / "data/hf_configs/tinyllama-1.1b.json")
    p = plan(shape, "Q4_K_M", ctx=512, gpu=_gpu(gpu_id), ram=DDR5)
    assert p.status == "gpu" and p.tokens_per_s is not None
    assert 0.85 <= p.tokens_per_s / published <= 1.15, p.tokens_per_s
