"""Mixture of experts: all experts in memory, the routed ones in compute and decode bandwidth,
router and shared experts counted, LoRA on the experts or on attention only."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigready.assess.estimate import Workload, estimate, gpu_from_entry, resolve_model
from rigready.assess.estimate.language.memory import kv_cache_bytes, weight_bytes
from rigready.assess.estimate.language.moe import (
    decode_read_bytes,
    expert_share_read,
    experts_touched,
)
from rigready.assess.estimate.shapes import (
    shape_from_config,
    shape_from_config_file,
    shape_from_entry,
)
from rigready.catalog import default_catalog

CONFIGS = Path(__file__).parent / "data" / "hf_configs"
CAT = default_catalog()


@pytest.mark.parametrize(("fixture", "model_id", "published"), [
    ("qwen3-8b", "qwen3-8b", 8_190_735_360),
    ("qwen3-30b-a3b", "qwen3-30b-a3b", 30_532_122_624),
    ("gpt-oss-20b", "gpt-oss-20b", 20_914_757_184),
])
def test_real_configs_count_exactly_and_match_the_catalog(fixture: str, model_id: str,
                                                          published: int) -> None:
    from_config = shape_from_config_file(CONFIGS / f"{fixture}.json")
    from_entry = shape_from_entry(CAT.model(model_id))
    assert from_config.params == published  # keras-hub's preset count, to the parameter
    assert from_entry.computed_params == published
    assert from_config.active_params == from_entry.active_params


def test_memory_holds_every_expert_but_decoding_reads_the_routed_ones() -> None:
    shape = resolve_model("qwen3-30b-a3b", CAT.models)
    wl = Workload(method="inference", batch=1)
    weights = weight_bytes(shape, wl)
    assert weights == 2 * shape.params  # bf16, all 128 experts
    read = decode_read_bytes(shape, weights, tokens=1)
    assert read == pytest.approx(2 * shape.active_params, rel=1e-6)
    # 8 of 128 experts: a step reads about a ninth of the weights
    assert read / weights == pytest.approx(3.35 / 30.53, rel=0.01)


def test_a_batch_touches_more_experts_but_never_more_than_all() -> None:
    shape = resolve_model("qwen3-30b-a3b", CAT.models)
    assert experts_touched(shape, 1) == pytest.approx(8)
    assert experts_touched(shape, 4) < 4 * 8
    assert experts_touched(shape, 1000) == pytest.approx(128, rel=1e-3)
    dense = resolve_model("qwen3-8b", CAT.models)
    assert expert_share_read(dense, 1) == 1.0


def test_decode_speed_of_a_moe_follows_active_weights() -> None:
    gpu = gpu_from_entry(CAT.gpu("h100-sxm"))
    moe_est = estimate(resolve_model("qwen3-30b-a3b", CAT.models), Workload(), gpu, search=False)
    dense_est = estimate(resolve_model("qwen3-32b", CAT.models), Workload(), gpu, search=False)
    assert moe_est.memory.weights == pytest.approx(dense_est.memory.weights, rel=0.1)
    # a bandwidth-bound runtime reads only the routed experts
    moe_tps = moe_est.timing.llamacpp_tokens_per_s
    dense_tps = dense_est.timing.llamacpp_tokens_per_s
    assert moe_tps is not None and dense_tps is not None
    assert moe_tps > 6 * dense_tps
    # generate()'s host time (per operation its layers dispatch) holds both back on an H100;
    # fewer layers still make the MoE quicker
    hf_moe, hf_dense = moe_est.timing.decode_tokens_per_s, dense_est.timing.decode_tokens_per_s
    assert hf_moe is not None and hf_dense is not None and hf_moe > hf_dense
    # compute follows the active parameters too
    assert moe_est.timing.flops_per_token < dense_est.timing.flops_per_token / 5


def test_router_and_shared_expert_are_counted() -> None:
    base = {"model_type": "llama4_text", "hidden_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
            "vocab_size": 100, "intermediate_size": 32, "num_local_experts": 4,
            "num_experts_per_tok": 1, "tie_word_embeddings": False}
    shape = shape_from_config(base)
    h, f, e = 64, 32, 4
    attn = h * 64 + 2 * h * 32 + 64 * h
    per_layer = attn + e * 3 * h * f + h * e + 3 * h * f + 2 * h  # experts, router, shared, norms
    assert shape.shared_expert_size == f
    assert shape.params == 2 * per_layer + 2 * 100 * h + h
    # one routed expert idle-free plus the shared one are active
    assert shape.active_params == shape.params - 2 * (e - 1) * 3 * h * f
    qwen2 = shape_from_config({**base, "model_type": "qwen2_moe", "intermediate_size": 32,
                               "shared_expert_intermediate_size": 48})
    assert qwen2.shared_expert_gate and qwen2.shared_expert_size == 48
    names = [m[0] for m in qwen2.linear_modules()]
    assert "shared_expert_gate" in names and "gate" in names


def test_interleaved_dense_and_moe_layers_are_refused_not_guessed() -> None:
    from rigready.assess.estimate import EstimateError

    with pytest.raises(EstimateError, match="alternate"):
        shape_from_config({"model_type": "llama4_text", "hidden_size": 64,
                           "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10,
                           "num_local_experts": 4, "interleave_moe_layer_step": 2})


def test_lora_on_experts_trains_far_more_than_attention_only() -> None:
    shape = resolve_model("mixtral-8x7b", CAT.models)
    gpu = gpu_from_entry(CAT.gpu("h100-sxm"))
    attn = estimate(shape, Workload(method="lora", lora_targets=("q_proj", "v_proj")), gpu,
                    search=False)
    experts = estimate(shape, Workload(method="lora",
                                       lora_targets=("q_proj", "v_proj", "experts")), gpu,
                       search=False)
    r, h, f = 16, shape.hidden_size, shape.intermediate_size
    expert_lora = 8 * 32 * (r * (h + 2 * f) + r * (f + h))
    assert experts.memory.trainable_params == attn.memory.trainable_params + expert_lora
    # bf16 LoRA: adapter weights (2 bytes) and two AdamW states (2 x 2 bytes) at the peak
    assert experts.memory.total - attn.memory.total >= 6 * expert_lora
    # all-linear reaches attention, the router and the fused experts, gate_up_proj twice (peft
    # 0.21 + transformers 5.17: the Mixtral-shaped record's 37,095,424 trainable parameters)
    all_linear = estimate(shape, Workload(method="lora", lora_targets=("all-linear",)), gpu,
                          search=False)
    twice = 8 * 32 * (2 * r * (h + 2 * f) + r * (f + h))
    attention_router = 32 * r * (2 * (h + h) + 2 * (h + shape.kv_dim) + (h + 8))
    assert all_linear.memory.trainable_params == attention_router + twice


def test_kv_cache_is_the_attention_of_a_moe_only() -> None:
    shape = resolve_model("qwen3-30b-a3b", CAT.models)
    wl = Workload(seq_len=4096, new_tokens=0)
    assert kv_cache_bytes(shape, wl) == 2 * 48 * 4 * 128 * 2 * 4096
