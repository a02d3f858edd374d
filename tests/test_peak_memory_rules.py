"""Rules of the language-model memory estimate added for issue 22 (peak memory on the roomy
card and the least a card must have), each against the runs that showed it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rigready.assess.estimate import GpuTarget, Workload, estimate
from rigready.assess.estimate.breakdown import DRIVER_RESERVED_BYTES
from rigready.assess.estimate.estimator import memory
from rigready.assess.estimate.language import activations, allocator
from rigready.assess.estimate.shapes import shape_from_config_file

CONFIGS = Path(__file__).parent / "data" / "hf_configs"
GIB = 2**30
QWEN_15B = shape_from_config_file(CONFIGS / "qwen2.5-1.5b.json")
QWEN_05B = shape_from_config_file(CONFIGS / "qwen2.5-0.5b.json")
LLAMA_1B = shape_from_config_file(CONFIGS / "llama-3.2-1b.json")
#: The capped job that got a wrong "tight" on 16 GB before the rule (H100, 2026-12-06 call 2).
QWEN_JOB = Workload(method="full", precision="bf16", batch=2, seq_len=1024, checkpointing=True)


def test_checkpointed_full_fine_tuning_keeps_split_logits_blocks() -> None:
    """1.4 fp32 logits blocks (Qwen2.5-1.5B, 2 x 1,024 tokens: 1.16 GiB each), on top of the
    tied-embedding blocks; none without checkpointing, for LoRA or without a vocabulary head."""
    t = 2 * 1024
    logits32 = 4 * QWEN_15B.vocab_size * t
    split = allocator.split_logits_bytes(QWEN_15B, QWEN_JOB, t, True)
    assert split == int(1.4 * logits32)
    tied = 4 * QWEN_15B.vocab_size * QWEN_15B.hidden_size * 2
    assert allocator.freed_blocks_bytes(QWEN_15B, QWEN_JOB, t, True) == tied + split
    assert allocator.split_logits_bytes(
        QWEN_15B, replace(QWEN_JOB, checkpointing=False), t, True) == 0
    assert allocator.split_logits_bytes(QWEN_15B, replace(QWEN_JOB, method="lora"), t, True) == 0
    assert allocator.split_logits_bytes(QWEN_15B, QWEN_JOB, t, False) == 0


def test_split_blocks_are_capped_by_the_gradients_that_split_them() -> None:
    """Where the logits dwarf the model (Qwen2.5-0.5B, 8 x 1,024 tokens: 4.6 GiB fp32 logits,
    0.9 GiB of bf16 gradients) the freed blocks are reused whole: at most 1.5x the gradients."""
    wl = replace(QWEN_JOB, batch=8)
    t = 8 * 1024
    split = allocator.split_logits_bytes(QWEN_05B, wl, t, True)
    assert split == int(1.5 * 2 * QWEN_05B.params)
    assert split < 4 * QWEN_05B.vocab_size * t


def test_roomy_card_figure_covers_the_measured_peak() -> None:
    """Qwen2.5-1.5B full bf16 2 x 1,024 with checkpointing on the H100: process peak 16.50 GiB
    (15.75 reserved), the roomy-card figure less the driver's reservation within 5% of it; it
    was 14.78 (-10.4%) before the split blocks were counted."""
    m = memory(QWEN_15B, QWEN_JOB, None)
    process = m.total - DRIVER_RESERVED_BYTES  # what NVML counts for the process
    measured = 16.50 * GIB
    assert -0.05 <= (process - measured) / measured <= 0.10


def test_the_least_need_refuses_the_card_the_run_failed_on() -> None:
    """The same job failed under the 16 GB card's cap (14.99 GiB: 11.78 allocated, 14.59
    reserved, asking 1.16 GiB) and passed on 20 GB; Llama-3.2-1B 4 x 1,024 likewise."""
    for shape, wl in ((QWEN_15B, QWEN_JOB), (LLAMA_1B, replace(QWEN_JOB, batch=4))):
        says = {n: estimate(shape, wl, GpuTarget(f"{n} GiB", n * GIB), search=False).verdict
                for n in (16, 20)}
        assert says[16] is not None and says[16].status not in ("fits", "tight"), shape.name
        assert says[20] is not None and says[20].status in ("fits", "tight"), shape.name


PHI3 = shape_from_config_file(CONFIGS / "phi-3-mini-4k.json")


def test_fused_rotary_qkv_keeps_the_whole_projection() -> None:
    """Phi-3's saved v keeps its fused qkv output alive: LoRA on qkv_proj and o_proj, bf16,
    2 x 1,024 tokens measured 15.48 GiB allocated on the H100 (held-out file); the estimate is
    within 5% (it was 14.31, -7.5%). GPT-2's fused c_attn and Llama's separate projections add
    nothing."""
    assert activations.fused_rotary_qkv(PHI3)
    assert not activations.fused_rotary_qkv(LLAMA_1B)
    assert not activations.fused_rotary_qkv(shape_from_config_file(CONFIGS / "gpt2.json"))
    wl = Workload(method="lora", precision="bf16", batch=2, seq_len=1024,
                  lora_targets=("qkv_proj", "o_proj"))
    allocated = memory(PHI3, wl, None).allocated
    assert abs(allocated / (15.48 * GIB) - 1) <= 0.05


def test_encoder_decoder_training_caches_half_a_decoders_share() -> None:
    """T5 / Whisper training without checkpointing keeps about 4% of the memory that comes and
    goes cached (measured 1.2-7.7%), a decoder 8%; Flan-T5-large LoRA bf16 8 x 512 -> 128
    (held out): process peak 18.16 GiB, the roomy figure within 5% under / 10% over (it was
    +10.8%)."""
    wl = Workload(method="full", precision="amp-bf16", batch=8, seq_len=512)
    plain = allocator.allocator_reserve(10 * GIB, 2 * GIB, wl)
    encdec = allocator.allocator_reserve(10 * GIB, 2 * GIB, wl, encoder_decoder=True)
    assert (plain, encdec) == (int(0.08 * 8 * GIB), int(0.04 * 8 * GIB))
    ckpt = replace(wl, checkpointing=True)
    assert allocator.allocator_reserve(10 * GIB, 2 * GIB, ckpt, encoder_decoder=True) == \
        allocator.allocator_reserve(10 * GIB, 2 * GIB, ckpt)
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import calibrate_capped_report as report

    cases, _, _ = report.load(sorted(report.RECORDS.glob("*.json")))
    shape, t5 = report.workload_of(cases["flan-t5-large-lora-bf16-b8-s512-t128"])
    process = memory(shape, t5, None).total - DRIVER_RESERVED_BYTES
    assert -0.05 <= process / (18.16 * GIB) - 1 <= 0.10


def test_generation_keeps_half_the_kv_cache_in_freed_blocks() -> None:
    """GPT-2 medium, 16 x 512 prompt tokens + 256 generated (H100 held-out file): 0.91 GiB
    reserved beyond allocated; the roomy figure was -6.3% with only a share of the memory that
    comes and goes, now within 5% under / 10% over of the NVML peak (3.93 GiB)."""
    from rigready.assess.estimate.language.memory import kv_cache_bytes

    gpt2m = shape_from_config_file(CONFIGS / "gpt2-medium.json")
    wl = Workload(method="inference", precision="bf16", batch=16, seq_len=512, new_tokens=256)
    m = memory(gpt2m, wl, 81559 * 2**20)
    assert m.reserve >= allocator.kv_growth_blocks(kv_cache_bytes(gpt2m, wl))
    assert allocator.kv_growth_blocks(1000) == 500
    assert -0.05 <= m.total / (3.93 * GIB) - 1 <= 0.10


def test_all_linear_adapts_the_routed_experts() -> None:
    """peft 0.21 + transformers 5.17: "all-linear" on the Mixtral-shaped 1B trained 37,095,424
    parameters (H100 record): attention, router and every expert, gate_up_proj twice. gpt-oss's
    experts were never Linears: all-linear leaves them alone."""
    from rigready.assess.estimate.language import moe
    from rigready.assess.estimate.language.parts import lora_params, regime

    mixtral = shape_from_config_file(CONFIGS / "mixtral-shaped-1b.json")
    wl = Workload(method="lora", precision="amp-bf16", batch=4, seq_len=2048,
                  checkpointing=True, lora_targets=("all-linear",))
    assert lora_params(mixtral, regime(mixtral, wl).targets, 16) == 37_095_424
    gpt_oss = shape_from_config_file(CONFIGS / "gpt-oss-20b.json")
    assert not moe.all_linear_adapts_experts(gpt_oss)
    assert moe.EXPERTS_ALL_LINEAR not in regime(gpt_oss, wl).targets
