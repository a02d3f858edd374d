"""The memory estimate against peaks measured on real GPUs (benchmarks/calibrate_memory.py).

Every committed case must be within 10% of the NVML "used" memory at the peak (nothing
subtracted) and never more than 10% under it; the ``*-holdout`` files were measured for the check
only (the formulas were not shaped on them) and must reach the issue's targets: median error at
most 5%, worst at most 15%. H100 files: 2026-11-22 (no bitsandbytes there); H200 files:
2026-12-01, QLoRA of the standard recipe across seven families included.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from rigready.assess.estimate import Workload
from rigready.assess.estimate.breakdown import (
    CUDA_CONTEXT_INFER_BYTES,
    CUDA_CONTEXT_TRAIN_BYTES,
    driver_reserved_bytes,
)
from rigready.assess.estimate.estimator import memory
from rigready.assess.estimate.language import qlora
from rigready.assess.estimate.language.stack import ERROR_BANDS
from rigready.assess.estimate.model import ModelShape, with_head
from rigready.assess.estimate.shapes import shape_from_config, shape_from_config_file
from rigready.assess.measure.workload import head_for_task

DATA = Path(__file__).parent / "data"
FILES = sorted((DATA / "calibration").glob("*.json"))
TOLERANCE = 0.10
#: Over-estimates beyond the tolerance, each with its reason (never an under-estimate).
KNOWN_OVER = {
    "qwen2.5-0.5b-full-bf16-b8-s1024-ckpt": "the caching allocator re-used the logits' blocks "
    "here (0.9 GiB reserved) where the similar Llama-3.2-1B case kept 6 GiB; the estimate keeps "
    "the larger share, +13.6%",
}


def _cases(holdout: bool | None = None) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    out = []
    for path in FILES:
        if holdout is not None and ("holdout" in path.stem) != holdout:
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            if case["result"]["status"] == "ok":
                case = {**case, "vram": doc["gpu"].get("total_bytes")}
                out.append((f"{path.stem}:{case['name']}", doc["configs"][case["config"]], case))
    return out


CASES = _cases()


def _workload(case: dict[str, Any]) -> Workload:
    return Workload(method=case["method"], precision=case["precision"], batch=case["batch"],
                    seq_len=case["seq"], new_tokens=case["new_tokens"],
                    checkpointing=case["checkpointing"], lora_rank=case["lora_rank"],
                    lora_targets=tuple(case["lora_targets"]), attention=case["attn"],
                    head=head_for_task(case.get("task", "causal-lm")))


def _shape(config: dict[str, Any], case: dict[str, Any]) -> ModelShape:
    return with_head(shape_from_config(config, case["config"]), _workload(case).head)


def _error(config: dict[str, Any], case: dict[str, Any]) -> float:
    shape = _shape(config, case)
    measured = case["result"]["nvml_used_peak_bytes"]
    est = memory(shape, _workload(case), case["vram"]).total
    return float((est - measured) / measured)


def test_calibration_files_are_complete() -> None:
    assert len(FILES) >= 4
    assert len(CASES) >= 90
    assert len({c["config"] for _, _, c in CASES if c["method"] == "qlora"}) >= 5
    for path in FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["gpu"]["name"] and doc["gpu"]["driver"]
        assert doc["software"]["torch"] and doc["software"]["transformers"]
        assert doc["software"]["peft"] and doc["date"]


@pytest.mark.parametrize(("label", "config", "case"), CASES, ids=[c[0] for c in CASES])
def test_case_within_tolerance_of_nvml(label: str, config: dict[str, Any],
                                       case: dict[str, Any]) -> None:
    err = _error(config, case)
    assert err >= -TOLERANCE, f"{label}: estimate {err:+.1%} under the measured peak"
    if case["name"] not in KNOWN_OVER:
        assert err <= TOLERANCE, f"{label}: estimate off by {err:+.1%}"


def test_error_summary() -> None:
    errors = [abs(_error(config, case)) for _, config, case in CASES]
    # the typical case is far inside the tolerance, not just under it
    assert statistics.median(errors) < 0.05
    assert max(errors) <= 0.15


def test_held_out_cases_reach_the_targets() -> None:
    held = _cases(holdout=True)
    assert len(held) >= 25
    errors = [_error(config, case) for _, config, case in held]
    assert statistics.median(abs(e) for e in errors) <= 0.05
    assert max(abs(e) for e in errors) <= 0.15
    assert min(errors) >= -0.10
    quantized = [e for e, (_, _, c) in zip(errors, held, strict=True) if c["method"] == "qlora"]
    assert len(quantized) >= 8 and max(abs(e) for e in quantized) <= 0.06


@pytest.mark.parametrize("method", sorted(ERROR_BANDS))
def test_error_band_covers_every_measured_under_estimate(method: str) -> None:
    errors = [_error(config, case) for _, config, case in CASES if case["method"] == method]
    assert errors, method
    assert ERROR_BANDS[method] >= -min(errors), f"{method}: band {ERROR_BANDS[method]:.0%} " \
        f"but an estimate was {min(errors):+.1%} under"
    assert ERROR_BANDS[method] <= -min(errors) + 0.03  # and not padded beyond what was seen


def test_allocated_memory_tracks_torch_closely() -> None:
    """The allocator-independent part (torch max_memory_allocated) is the physics check."""
    close = 0
    for _, config, case in CASES:
        shape = _shape(config, case)
        est = memory(shape, _workload(case), case["vram"]).allocated
        measured = case["result"]["max_allocated_bytes"]
        close += abs(est - measured) / measured <= 0.05
    assert close / len(CASES) >= 0.85


def test_parameter_counts_match_what_transformers_built() -> None:
    for _, config, case in CASES:
        if case["method"] == "full":
            shape = _shape(config, case)
            assert shape.params == case["result"]["param_count"], case["name"]


def test_context_constants_match_the_measurement() -> None:
    for path in FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            r = case["result"]
            if r["status"] != "ok":
                continue
            misc = r["nvml_used_peak_bytes"] - r["max_reserved_bytes"]
            ctx = CUDA_CONTEXT_INFER_BYTES if case["method"] == "inference" else \
                CUDA_CONTEXT_TRAIN_BYTES
            driver = driver_reserved_bytes(doc["gpu"]["total_bytes"])
            assert abs(misc - ctx - driver) < 0.06 * 2**30, case["name"]
        idle = doc["context"]["nvml_before_init_bytes"]
        assert abs(idle - driver_reserved_bytes(doc["gpu"]["total_bytes"])) < 0.01 * 2**30


# ---- QLoRA and quantized weights, from published figures (research/estimators.md) ----------

LLAMA2_7B = DATA / "hf_configs" / "llama-2-7b.json"


def test_nf4_inference_matches_litgpt() -> None:
    # LitGPT resource tables (A100, max_memory_allocated): Llama-2-7B inference nf4-dq 4.26 GB,
    # bf16 13.52 GB
    shape = shape_from_config_file(LLAMA2_7B)
    nf4 = memory(shape, Workload(method="inference", precision="nf4", batch=1, seq_len=100,
                                 new_tokens=50)).allocated
    bf16 = memory(shape, Workload(method="inference", precision="bf16", batch=1, seq_len=100,
                                  new_tokens=50)).allocated
    assert abs(nf4 / 4.26e9 - 1) < 0.10
    assert abs(bf16 / 13.52e9 - 1) < 0.05


def test_lora_7b_matches_litgpt() -> None:
    # LitGPT: Llama-2-7B LoRA (r 8 on query/value), micro-batch 1, longest sample 1304 tokens,
    # bf16-true: 21.30 GB allocated
    shape = shape_from_config_file(LLAMA2_7B)
    est = memory(shape, Workload(method="lora", precision="bf16", batch=1, seq_len=1304,
                                 lora_rank=8)).allocated
    assert abs(est / 21.30e9 - 1) < TOLERANCE


def test_qlora_7b_matches_the_qlora_paper() -> None:
    # QLoRA paper, figure 8 as summarised: 7B, r 64 on all linear layers, 512 tokens,
    # checkpointing, about 6.9 GB
    shape = shape_from_config_file(LLAMA2_7B)
    est = memory(shape, Workload(method="qlora", precision="nf4", batch=1, seq_len=512,
                                 lora_rank=64, lora_targets=("all-linear",),
                                 checkpointing=True)).allocated
    assert abs(est / 6.9e9 - 1) < TOLERANCE


def test_qlora_saves_what_the_base_weights_save() -> None:
    shape = shape_from_config_file(LLAMA2_7B)
    lora = memory(shape, Workload(method="lora", precision="amp-bf16", batch=1, seq_len=1024,
                                  checkpointing=True))
    q = memory(shape, Workload(method="qlora", precision="nf4", batch=1, seq_len=1024,
                               checkpointing=True))
    saved = lora.weights - q.weights
    # 4.127 bits instead of 16 for every layer weight; embeddings and head go from bf16 to fp32
    assert 8.5e9 < saved < 9.5e9
    assert q.allocated < lora.allocated - 0.8 * saved


# ---- QLoRA components against what was measured (H200, bitsandbytes 0.50.2) ---------------

QLORA = [(label, config, case) for label, config, case in CASES if case["method"] == "qlora"]


@pytest.mark.parametrize(("label", "config", "case"), QLORA, ids=[c[0] for c in QLORA])
def test_qlora_components_match_the_measurement(label: str, config: dict[str, Any],
                                                case: dict[str, Any]) -> None:
    shape = _shape(config, case)
    wl = _workload(case)
    r = case["result"]
    rest = shape.params - qlora.quantized_params(shape)
    # 4-bit layers with their block constants, the rest still bf16 as loaded ...
    four_bit = qlora.quantized_params(shape) * qlora.NF4_BITS / 8 + rest * 2
    assert abs(four_bit / r["quantized_allocated_bytes"] - 1) < 0.03, label
    # ... then prepare_model_for_kbit_training's fp32 upcast and the fp32 adapters
    mem = memory(shape, wl, case["vram"])
    assert abs(mem.weights / r["weights_allocated_bytes"] - 1) < 0.02, label
    assert mem.trainable_params == r["trainable_params"], label
    # the step's allocations: saved tensors, head copy, logits buffers (torch's own count)
    assert abs(mem.allocated / r["max_allocated_bytes"] - 1) < 0.03, label
    assert r["gradient_checkpointing"] == case["checkpointing"], label
