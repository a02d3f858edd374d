"""Mixture-of-experts arithmetic: what every expert costs in memory and what one token uses.

A MoE layer holds ``num_experts`` expert MLPs (all of them live in memory), a router (a Linear
from the hidden size to the expert count, with a bias in gpt-oss) and, in some families, a shared
expert every token runs (Llama 4; Qwen2-MoE, whose shared expert also has a one-output sigmoid
gate). A token runs the router, the shared expert and ``experts_per_token`` routed experts, so
compute and decode bandwidth follow the active experts while memory follows all of them.

LoRA: in transformers 5 the routed experts are fused 3-D parameters, not Linears, so the usual
``q_proj,v_proj`` targets adapt attention (and the shared expert) only; peft adapts the experts
themselves when they are named (``target_parameters``), which this module counts as the
pseudo-target ``experts``: one rank-r adapter per expert and projection. ``all-linear`` adapts
them too (peft carries the experts of families whose transformers 4 experts were Linears into
``target_parameters``): the pseudo-target ``experts (all-linear)``, whose fused gate/up
projection gets two adapters (the old gate and up names both map onto it). Measured: the
Mixtral-shaped 1B LoRA all-linear r16 case (H100, peft 0.21, transformers 5.17) trained
37,095,424 parameters, exactly attention + router + 16 layers x 8 experts x 16 x
(2 x (1,024 + 5,632) + 2,816 + 1,024); before this was counted its peak was 7.8% low.
"""

from __future__ import annotations

from rigready.assess.estimate.model import ModelShape

#: The pseudo-target for the routed experts, and the names that mean it.
EXPERTS = "experts"
EXPERT_TARGETS = frozenset({EXPERTS, "mlp.experts", "gate_up_proj"})
#: The routed experts as ``all-linear`` adapts them (gate/up twice).
EXPERTS_ALL_LINEAR = "experts (all-linear)"
#: Families whose experts were 3-D parameters already in transformers 4: ``all-linear`` never
#: meant them, peft leaves them alone.
NATIVE_3D_EXPERTS = frozenset({"gpt_oss", "llama4"})


def router_params(shape: ModelShape) -> int:
    """The router (expert gate) of one layer, plus the shared expert's gate where there is one."""
    n = shape.hidden_size * shape.num_experts
    if shape.family == "gpt_oss":
        n += shape.num_experts  # router bias
    if shape.shared_expert_gate:
        n += shape.hidden_size
    return n


def shared_expert_params(shape: ModelShape) -> int:
    """The always-on shared expert MLP of one layer (0 when the family has none)."""
    return 3 * shape.hidden_size * shape.shared_expert_size


def moe_layer_params(shape: ModelShape) -> int:
    """Everything of one layer's MoE block: all routed experts, router, shared expert."""
    return (shape.num_experts * shape.expert_params + router_params(shape)
            + shared_expert_params(shape))


def experts_touched(shape: ModelShape, tokens: int) -> float:
    """Expected distinct experts one layer reads for ``tokens`` tokens decoded together.

    With uniform routing each expert is missed by a token with probability 1 - k/E, so a batch
    of B tokens reads E * (1 - (1 - k/E)^B) experts (B = 1: exactly k).
    """
    e, k = shape.num_experts, shape.experts_per_token
    if e <= 1:
        return 1.0
    return e * (1.0 - (1.0 - k / e) ** max(1, tokens))


def expert_share_read(shape: ModelShape, tokens: int = 1) -> float:
    """Share of the routed-expert weights a decoding step reads (1.0 for a dense model)."""
    if not shape.is_moe:
        return 1.0
    return experts_touched(shape, tokens) / shape.num_experts


def expert_lora_params(shape: ModelShape, rank: int, all_linear: bool = False) -> int:
    """Trainable LoRA parameters when the routed experts are adapted (every expert, layer);
    ``all_linear``: as ``all-linear`` adapts them (two adapters on gate_up_proj)."""
    h, f = shape.hidden_size, shape.intermediate_size
    gate_up = rank * (h + 2 * f) * (2 if all_linear else 1)  # gate_up_proj (h -> 2f)
    per_expert = gate_up + rank * (f + h)  # and down_proj
    return per_expert * shape.num_experts * shape.num_layers


def all_linear_adapts_experts(shape: ModelShape) -> bool:
    """Whether peft's ``all-linear`` adapts this model's routed experts (module docstring)."""
    return shape.is_moe and shape.family not in NATIVE_3D_EXPERTS


def wants_experts(targets: tuple[str, ...]) -> bool:
    """Whether the LoRA targets name the routed experts."""
    return any(t.strip().lower() in EXPERT_TARGETS for t in targets)


def decode_read_bytes(shape: ModelShape, weight_bytes: int, tokens: int = 1) -> int:
    """Weight bytes one decoding step reads: all but the routed experts no token was sent to.

    ``weight_bytes`` is the stored size of all weights; experts are assumed stored like the rest
    (true for 16-bit and bitsandbytes weights; the GGUF estimate counts tensors itself).
    """
    if not shape.is_moe or shape.params <= 0:
        return weight_bytes
    expert_share = shape.num_layers * shape.num_experts * shape.expert_params / shape.params
    unread = weight_bytes * expert_share * (1.0 - expert_share_read(shape, tokens))
    return int(weight_bytes - unread)
