"""Bytes that a training step keeps for backward, per token, counted tensor by tensor.

The counts follow what PyTorch autograd saves for the Hugging Face implementations (transformers
5, SDPA attention, PyTorch autocast): a Linear saves its input only when its weight trains;
RMSNorm upcasts to fp32 and saves that copy; under autocast every Linear casts its own bf16 copy
of an fp32 input; SDPA saves q, k, v, its output and the log-sum-exp; the loss saves fp32
log-probabilities. ``tests/test_estimate_calibration.py`` compares the totals with
figures measured on an H100.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigready.assess.estimate.language import moe
from rigready.assess.estimate.model import ModelShape


@dataclass(frozen=True, slots=True)
class Regime:
    """How tensors are typed and which weights train, derived from method and precision."""

    compute_bytes: int  # 2 for half precision compute, 4 for fp32
    autocast: bool  # torch.autocast is on (AMP precisions, QLoRA)
    residual_bytes: int  # dtype of the residual stream (fp32 under full-model autocast)
    full: bool  # every weight trains
    autocast_copies: bool  # fp32 tensors feeding Linears are cast to bf16 per Linear
    adapter_copies: bool  # LoRA adapters in fp32 over a half base: one bf16 copy per adapter
    targets: frozenset[str]  # LoRA target module names (empty for full / inference)
    checkpointing: bool
    eager: bool
    lora_rank: int


def lora_target_set(shape: ModelShape, requested: tuple[str, ...]) -> frozenset[str]:
    """Resolve ``all-linear`` and check names against the model's Linear modules.

    Unknown names are dropped (the caller reports them); ``all-linear`` means every Linear of
    the transformer layers (peft leaves the output head alone).
    """
    names = {name for name, *_ in shape.linear_modules()}
    # the routed experts are 3-D parameters, not Linears: only adapted when named
    experts = frozenset({moe.EXPERTS}) if shape.is_moe and moe.wants_experts(requested) else \
        frozenset()
    if any(t.lower() in ("all-linear", "all_linear") for t in requested):
        if not experts and moe.all_linear_adapts_experts(shape):
            experts = frozenset({moe.EXPERTS_ALL_LINEAR})
        return frozenset(names) | experts
    found = frozenset(t for t in requested if t in names) | experts
    if not found and tuple(requested) == DEFAULT_LORA_TARGETS:
        return EQUIVALENT_TARGETS.get(shape.family, found)
    return found


#: peft's usual default, and what it means for models that name their projections differently.
DEFAULT_LORA_TARGETS = ("q_proj", "v_proj")
EQUIVALENT_TARGETS = {"gpt2": frozenset({"c_attn"}), "bert": frozenset({"query", "value"}),
                      "phi3": frozenset({"qkv_proj"}), "t5": frozenset({"q", "v"})}


def _input_saves(shape: ModelShape, rg: Regime, group: str, width: int,
                 already_saved: bool) -> float:
    """Bytes per token saved for the Linears that read tensor ``group`` of ``width``."""
    readers = [m for m in shape.linear_modules() if m[4] == group]
    if rg.full:
        if rg.autocast_copies and not already_saved:
            return 2.0 * width * len(readers)
        return 0.0 if already_saved else float(rg.compute_bytes * width)
    adapted = [m for m in readers if m[0] in rg.targets]
    if not adapted:
        return 0.0
    if rg.adapter_copies:
        return 2.0 * width * len(adapted)
    return 0.0 if already_saved else float(rg.compute_bytes * width)


def _lora_rank_saves(shape: ModelShape, rg: Regime) -> float:
    if rg.full:
        return 0.0
    n = sum(1 for m in shape.linear_modules() if m[0] in rg.targets)
    return float(n * rg.lora_rank * rg.compute_bytes)


def _norm_saves(shape: ModelShape, rg: Regime) -> float:
    """One norm: its (fp32) input and, when its weight trains, the normalised tensor."""
    h = shape.hidden_size
    if shape.norm_kind == "rms":
        return 4.0 * h + (rg.residual_bytes * h if rg.full else 0.0)
    # LayerNorm runs in fp32 under autocast (its input is cast to fp32); saves input + stats
    in_bytes = 4 if rg.autocast or rg.residual_bytes == 4 else rg.compute_bytes
    return float(in_bytes * h + 8)


def attention_scores_bytes(shape: ModelShape, rg: Regime, seq: int) -> float:
    """Per token and layer, what eager attention keeps of the (heads x seq) score matrix."""
    e = rg.compute_bytes
    if not rg.eager:
        if e == 4 and shape.num_kv_heads < shape.num_heads:
            # fp32 with grouped KV heads: no fused kernel takes it, SDPA's math path keeps the
            # softmax output and key/value expanded to every head
            return float(shape.num_heads * seq * 4 + 2 * e * (shape.q_dim - shape.kv_dim))
        return 0.0
    softmax = 4 if (rg.autocast or e == 4 or shape.norm_kind == "rms") else e
    cast = e if (softmax != e or shape.has_dropout) else 0
    mask = 1 if shape.has_dropout else 0
    return float(shape.num_heads * seq * (softmax + cast + mask))


def layer_saved_bytes(shape: ModelShape, rg: Regime, seq: int) -> float:
    """Bytes per token one transformer layer keeps for backward (no checkpointing)."""
    e = rg.compute_bytes
    h, q, kv = shape.hidden_size, shape.q_dim, shape.kv_dim
    k = shape.experts_per_token if shape.is_moe else 1
    total = 0.0
    # attention block: norm (pre-norm models), inputs of q/k/v, SDPA tensors, output projection
    if shape.family == "bert":
        total += _input_saves(shape, rg, "attn_in", h, already_saved=False)
    else:
        total += _norm_saves(shape, rg) + _input_saves(shape, rg, "attn_in", h, False)
    total += e * (2 * q + 2 * kv) + 4 * shape.num_heads  # q, k, v, out (shared by o_proj), lse
    if fused_rotary_qkv(shape):
        total += e * (q + kv)  # the fused projection's whole output, kept by the saved v
    total += attention_scores_bytes(shape, rg, seq)
    total += _input_saves(shape, rg, "attn_out", q, already_saved=True)
    if shape.has_dropout:
        total += h  # residual dropout mask (1 byte per element)
    # MLP block (BERT: the post-attention LayerNorm; others: the pre-MLP norm)
    total += _norm_saves(shape, rg)
    total += _input_saves(shape, rg, "mlp_in", h, already_saved=False)
    total += k * _mlp_saves(shape, rg)
    if shape.is_moe:
        total += k * e * h * (2 if rg.full else 1)  # routed token copies and expert outputs
    if shape.has_dropout:
        total += h
    if shape.family == "bert":
        total += _norm_saves(shape, rg)  # output LayerNorm input
    if shape.family in ("gemma2", "gemma3"):
        total += 2 * _norm_saves(shape, rg)  # the post-attention and post-MLP norms
    return total + _lora_rank_saves(shape, rg)


def fused_rotary_qkv(shape: ModelShape) -> bool:
    """Whether q, k and v are slices of one fused projection and q, k are rotated (Phi-3's
    ``qkv_proj``): rotary position embedding makes new q and k tensors, while the v SDPA saves
    for backward is a view that keeps the whole fused output (q + 2 kv wide) alive, q + kv
    more than separate projections keep. Phi-3-mini LoRA at 2 x 1,024 tokens (H100): 15.48
    GiB allocated against 14.31 estimated without it (32 layers x 2,048 tokens x 12 KiB =
    0.75 GiB). GPT-2's fused ``c_attn`` has no rotation: its q, k, v are all views of the one
    output, which the count of q, k, v already is."""
    return any(m[0] == "qkv_proj" for m in shape.linear_modules())


def _mlp_saves(shape: ModelShape, rg: Regime) -> float:
    """Intermediate tensors of one MLP per token (the down projection's input included)."""
    e, f = rg.compute_bytes, shape.intermediate_size
    down_needs_input = rg.full or any(
        m[0] in rg.targets for m in shape.linear_modules() if m[4] == "mlp_mid")
    if shape.gated_ffn:
        # gate (kept by the activation), activation output, up, product (down_proj's input)
        kept = 3 * e * f
        if down_needs_input:
            kept += 2 * f if (rg.adapter_copies and not rg.full) else e * f
        return float(kept)
    if shape.hidden_act == "gelu_new":
        # tanh-approximation written out in Python: x, tanh(.), 0.5x, 1 + tanh(.)
        if rg.autocast:  # pow runs in fp32 under autocast, and so does what follows it
            kept, product_dtype_cast = 4 * f + 4 * f + 2 * f + 4 * f, True
        else:
            kept, product_dtype_cast = 4 * e * f, False
        if down_needs_input:
            kept += 2 * f if (product_dtype_cast or (rg.adapter_copies and not rg.full)) \
                else e * f
        return float(kept)
    kept = e * f  # erf GELU keeps its input
    if down_needs_input:
        kept += 2 * f if (rg.adapter_copies and not rg.full) else e * f
    return float(kept)


def checkpointed_layer_bytes(shape: ModelShape, rg: Regime) -> float:
    """Per token and layer under activation checkpointing: only the layer's input stays."""
    return float(rg.residual_bytes * shape.hidden_size)


def embedding_saved_bytes(shape: ModelShape, rg: Regime) -> float:
    """Per token, what the embedding stage keeps (dropout masks, BERT's LayerNorm input)."""
    if shape.family == "gpt2":
        return float(shape.hidden_size)
    if shape.family == "bert":
        return _norm_saves(shape, rg) + shape.hidden_size
    return 0.0


def head_saved_bytes(shape: ModelShape, rg: Regime, head: str = "causal-lm") -> float:
    """Per token: final norm and the output head's input (decoders); BERT's masked-LM head
    (``BertPredictionHeadTransform``: dense, GELU, LayerNorm over every token) keeps the
    dense's input and output, the GELU's output and the LayerNorm's saves, then the decoder's
    input like a decoder's head. A classification head works on one token: nothing per token."""
    if shape.kind != "decoder" and head != "masked-lm":
        return 0.0
    saved = _norm_saves(shape, rg)
    if head == "masked-lm":
        saved += 3.0 * rg.compute_bytes * shape.hidden_size
    if rg.full:
        saved += 2.0 * shape.hidden_size if rg.autocast_copies else rg.compute_bytes * \
            shape.hidden_size
    return saved


def backward_working_bytes(shape: ModelShape, rg: Regime) -> float:
    """Per token: gradients of a layer's largest intermediate tensors while it runs backward."""
    k = shape.experts_per_token if shape.is_moe else 1
    return float(2 * rg.compute_bytes * shape.intermediate_size * k
                 + 2 * rg.compute_bytes * shape.hidden_size)
