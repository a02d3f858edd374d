"""Peak memory of a QLoRA training step as the standard Hugging Face recipe runs it.

The recipe: ``BitsAndBytesConfig(load_in_4bit, nf4, double quantization, bf16 compute)``, then
``peft.prepare_model_for_kbit_training`` (every parameter that is not a 4-bit weight - embeddings,
output head, norms, biases - upcast to fp32; gradient checkpointing on), LoRA adapters in fp32,
bf16 autocast (``Trainer(bf16=True)``), the loss computed by the model. What that means for
memory, read from peft 0.21, bitsandbytes 0.50 and transformers 5.17 and checked against the H200
measurements in ``tests/data/calibration/h200-2026-12-01*.json``:

- weights: every Linear of the layers in 4 bits plus its block constants (nf4 with double
  quantization, 4.127 bits a weight); the rest fp32;
- the residual stream is fp32 (the fp32 embedding feeds it, fp32 norm weights keep it so), and a
  bitsandbytes ``Linear4bit`` hands its output back in its input's dtype: the projections that
  read the residual stream produce fp32 tensors, and the MLP's gate, activation and up outputs are
  saved in fp32; only what goes through SDPA (q, k, v, its output, ``o_proj``) is bf16;
- a ``Linear4bit`` saves nothing of its input (its weight is frozen); each adapted one saves its
  LoRA dropout mask and the bf16 copy autocast makes for ``lora_A``, plus the rank-r output;
- checkpointing keeps each layer's fp32 input; backward recomputes one layer at a time and
  dequantizes one weight at a time into a bf16 buffer;
- the fp32 output head runs under autocast: its bf16 copy (vocab x hidden) is saved for backward;
  the loss upcasts the logits to fp32 and keeps fp32 log-probabilities; its backward needs two
  more fp32 logits-sized buffers, the usual peak.
"""

from __future__ import annotations

from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import activations as act
from rigready.assess.estimate.model import QK_NORM_FAMILIES, ModelShape

#: Bits per weight of 4-bit NormalFloat with double quantization (4 + 8/64 + 32/(64*256)).
NF4_BITS = 4.127
INT8_BITS = 8.0 + 0.25  # int8 weights plus fp32 row scales
#: The recipe's LoRA dropout (a 1-byte mask per adapted input element).
LORA_DROPOUT_MASK_BYTES = 1


def quantized_params(shape: ModelShape) -> int:
    """Parameters bitsandbytes quantizes: every Linear weight of the layers (not the head)."""
    per_layer = sum(n_in * n_out * c for _, n_in, n_out, c, _ in shape.linear_modules())
    if shape.is_moe:
        per_layer += shape.num_experts * 3 * shape.hidden_size * shape.intermediate_size
    return per_layer * shape.num_layers


def base_weight_bytes(shape: ModelShape, wl: Workload) -> int:
    """4-bit (or 8-bit) layer weights with their constants, the rest in fp32 after
    ``prepare_model_for_kbit_training``."""
    q = min(quantized_params(shape), shape.params)
    bits = INT8_BITS if wl.resolved_precision == "int8" else NF4_BITS
    return int(q * bits / 8 + (shape.params - q) * 4)


def _norms_per_layer(shape: ModelShape) -> int:
    return 4 if shape.family in ("gemma2", "gemma3") else 2


def layer_saved_bytes(shape: ModelShape, rg: act.Regime, seq: int) -> float:
    """Bytes per token one layer keeps for backward (no checkpointing)."""
    h, f, q, kv = shape.hidden_size, shape.intermediate_size, shape.q_dim, shape.kv_dim
    total = 4.0 * h * _norms_per_layer(shape)  # each RMSNorm keeps its fp32 input
    for name, n_in, _n_out, count, _ in shape.linear_modules():
        if name in rg.targets:  # bf16 copy for lora_A, dropout mask, rank-r output
            total += count * ((2 + LORA_DROPOUT_MASK_BYTES) * n_in + 2 * rg.lora_rank)
    total += 2.0 * (2 * q + 2 * kv) + 4 * shape.num_heads  # SDPA's bf16 q, k, v, out; lse
    total += act.attention_scores_bytes(shape, rg, seq)
    if shape.family in QK_NORM_FAMILIES:
        total += 4.0 * (q + kv)  # per-head norms of q and k keep their fp32 inputs
    k = shape.experts_per_token if shape.is_moe else 1
    mlp = 12.0 * f if shape.gated_ffn else 8.0 * f  # fp32 gate, activation and up outputs
    return total + k * mlp


def working_bytes(shape: ModelShape) -> float:
    """Per token: fp32 gradients of a layer's largest tensors while it runs backward."""
    k = shape.experts_per_token if shape.is_moe else 1
    return 8.0 * shape.intermediate_size * k + 8.0 * shape.hidden_size


def largest_layer_matrix(shape: ModelShape) -> int:
    """The biggest quantized matrix: one is dequantized to bf16 at a time."""
    return max(n_in * n_out for _, n_in, n_out, _, _ in shape.linear_modules())


def step_parts(shape: ModelShape, wl: Workload, rg: act.Regime, grads: int
               ) -> tuple[int, int, int, str]:
    """Activations, logits and gradients at the peak, and the phase it happens in.

    Three candidate peaks: the loss's backward (everything saved, the head's bf16 weight copy,
    fp32 log-probabilities and two more fp32 logits buffers), a layer's backward early on (the
    checkpoints, one recomputed layer, its gradients and a dequantized weight) and the last
    layers' backward (the adapters' gradients nearly all there).
    """
    seq = wl.seq_len
    t = wl.batch * seq
    h, v = shape.hidden_size, shape.vocab_size
    per_layer = layer_saved_bytes(shape, rg, seq)
    kept = 4.0 * h if rg.checkpointing else per_layer
    saved = t * (shape.num_layers * kept + 4.0 * h)  # layers (or their inputs), final norm
    head_copy = 2 * v * h
    softcap = 2 * v * t if shape.final_logit_softcap else 0  # tanh keeps its bf16 output
    logits = 4 * v * t + 8 * v * t
    layer = t * working_bytes(shape) + 2 * largest_layer_matrix(shape) + (
        t * per_layer if rg.checkpointing else 0)
    loss_phase = saved + head_copy + softcap + logits
    early = saved + layer
    late = grads + layer + t * kept
    if loss_phase >= max(early, late):
        return int(saved + head_copy + softcap), int(logits), 0, "start of backward"
    if early >= late:
        return int(early), 0, 0, "backward through the layers"
    return int(layer + t * kept), 0, int(grads), "end of backward"


#: Layers' worth of recomputed tensors the allocator keeps cached under checkpointing (freed
#: and re-made in other sizes for every layer), measured on the H200.
RECOMPUTE_RESERVE_LAYERS = 1.6


def reserve_bytes(shape: ModelShape, wl: Workload, rg: act.Regime) -> int:
    """Cached-but-free memory at the peak: about one freed fp32 logits block, or under
    checkpointing 1.6 recomputed layers when that is larger (small vocabularies)."""
    t = wl.batch * wl.seq_len
    logits_block = 4 * shape.vocab_size * t
    recompute = t * layer_saved_bytes(shape, rg, wl.seq_len) if rg.checkpointing else 0.0
    return int(max(logits_block, RECOMPUTE_RESERVE_LAYERS * recompute))
