"""What a language model's job is made of, before any memory is added up: the tensor types and
trainable weights its method and precision imply (:func:`regime`), the LoRA adapters, the stored
weights, the optimizer state, the task head and the tokens one sample holds.

Shared by the memory, speed and verdict modules of the family (and the encoder-decoder and
sharded-training modules), below all of them.
"""

from __future__ import annotations

from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import activations as act
from rigready.assess.estimate.language import moe, qlora, vlm
from rigready.assess.estimate.model import ModelShape

NF4_BITS = qlora.NF4_BITS
INT8_BITS = qlora.INT8_BITS


def regime(shape: ModelShape, wl: Workload) -> act.Regime:
    """Tensor types and trainable weights implied by the method and precision."""
    p = wl.resolved_precision
    full = wl.method == "full"
    amp = p.startswith("amp")
    e = 4 if p == "fp32" else 2
    targets = frozenset() if wl.method in ("full", "inference") else \
        act.lora_target_set(shape, wl.lora_targets)
    return act.Regime(
        compute_bytes=e, autocast=amp or wl.method == "qlora",
        residual_bytes=4 if (p == "fp32" or (full and amp)) else 2, full=full,
        autocast_copies=full and amp,
        adapter_copies=wl.method == "qlora" or (wl.method == "lora" and amp),
        targets=targets, checkpointing=wl.checkpointing, eager=wl.attention == "eager",
        lora_rank=wl.lora_rank)


def lora_params(shape: ModelShape, targets: frozenset[str], rank: int) -> int:
    """Trainable LoRA parameters: rank x (in + out) per adapted Linear, every layer (and every
    layer of a vision tower whose Linears the targets name too, as peft matches them)."""
    per_layer = sum(rank * (n_in + n_out) * count
                    for name, n_in, n_out, count, _ in shape.linear_modules() if name in targets)
    experts = (moe.expert_lora_params(shape, rank) if moe.EXPERTS in targets else
               moe.expert_lora_params(shape, rank, all_linear=True)
               if moe.EXPERTS_ALL_LINEAR in targets else 0)
    tower = 0
    if shape.vision is not None:
        ts = vlm.tower_shape(shape.vision)
        tower = sum(rank * (n_in + n_out) * count for name, n_in, n_out, count, _
                    in ts.linear_modules() if name in targets) * ts.num_layers
    return per_layer * shape.num_layers + experts + tower


def weight_bytes(shape: ModelShape, wl: Workload) -> int:
    """Stored weights of the base model (adapters excluded)."""
    p = wl.resolved_precision
    params = shape.params
    if p in ("int8", "nf4"):
        if wl.method == "qlora":  # prepare_model_for_kbit_training: the rest goes to fp32
            return qlora.base_weight_bytes(shape, wl)
        quantized = min(qlora.quantized_params(shape), params)
        bits = NF4_BITS if p == "nf4" else INT8_BITS
        return int(quantized * bits / 8 + (params - quantized) * 2)
    if p == "fp32" or (wl.method == "full" and p.startswith("amp")):
        return 4 * params
    return 2 * params


def master_bytes(wl: Workload) -> int:
    """Bytes of a trainable parameter's master copy (and of its gradient)."""
    p = wl.resolved_precision
    if p == "fp32" or p.startswith("amp"):
        return 4
    if wl.method == "qlora":
        return 4  # peft keeps adapters in fp32 over a quantized base
    return 2


def optimizer_bytes(shape: ModelShape, wl: Workload, trainable: int) -> int:
    """Optimizer state for the trainable parameters."""
    mb = master_bytes(wl)
    if wl.optimizer == "adamw":
        return 2 * mb * trainable
    if wl.optimizer == "adamw-8bit":
        return 2 * trainable + trainable // 512  # two 8-bit states plus block-wise scales
    if wl.optimizer == "sgd":
        return mb * trainable  # momentum buffer
    # adafactor: factored second moment (rows + columns per matrix), no first moment
    if wl.method != "full":
        return 4 * trainable // 8
    per_layer = sum((n_in + n_out) * c for _, n_in, n_out, c, _ in shape.linear_modules())
    return 4 * (per_layer * shape.num_layers + shape.vocab_size + shape.hidden_size)


def head_of(shape: ModelShape, wl: Workload) -> str:
    """The task head the step runs: ``causal-lm`` for decoders; for encoders the workload's
    choice, else the one the model's config names."""
    if shape.kind != "encoder":
        return "causal-lm"
    return wl.head or shape.head or "masked-lm"


def vocab_logits(shape: ModelShape, wl: Workload) -> bool:
    """Whether the step makes logits over the vocabulary for every token (and the loss's fp32
    buffers): causal LMs and masked LMs (labels on every position, the heaviest MLM case)."""
    return shape.kind == "decoder" or head_of(shape, wl) == "masked-lm"


def _tokens(shape: ModelShape, wl: Workload) -> int:
    return wl.batch * effective_seq(shape, wl)


def effective_seq(shape: ModelShape, wl: Workload) -> int:
    """Sequence length; for a vision transformer the patch count of the image; for an
    encoder-decoder the encoder's positions (Whisper: its 1,500, whatever ``seq_len`` says)."""
    if shape.seq2seq is not None:
        return int(shape.seq2seq.encoder_tokens(wl))
    if wl.image_size and shape.patch_size:
        return (wl.image_size // shape.patch_size) ** 2 + 1
    return wl.seq_len
