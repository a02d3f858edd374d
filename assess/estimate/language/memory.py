"""Peak GPU memory of one training or inference step, split into named parts.

Training memory has two candidate peaks (gradients are created as activations are freed, and
``zero_grad(set_to_none=True)`` frees them after each step): the start of backward (everything
saved by the forward pass plus the loss's fp32 gradient buffers) and the end of backward (all
gradients). The breakdown is the one at the larger of the two. The CUDA context and the
allocator's cached-but-free memory are added to give what NVML / ``nvidia-smi`` report.
"""

from __future__ import annotations

from rigready.assess.estimate.breakdown import MemoryBreakdown, context_bytes, on_card
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import activations as act
from rigready.assess.estimate.language import moe, qlora
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
    """Trainable LoRA parameters: rank x (in + out) per adapted Linear, every layer."""
    per_layer = sum(rank * (n_in + n_out) * count
                    for name, n_in, n_out, count, _ in shape.linear_modules() if name in targets)
    experts = moe.expert_lora_params(shape, rank) if moe.EXPERTS in targets else 0
    return per_layer * shape.num_layers + experts


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


def _master_bytes(wl: Workload) -> int:
    p = wl.resolved_precision
    if p == "fp32" or p.startswith("amp"):
        return 4
    if wl.method == "qlora":
        return 4  # peft keeps adapters in fp32 over a quantized base
    return 2


def optimizer_bytes(shape: ModelShape, wl: Workload, trainable: int) -> int:
    """Optimizer state for the trainable parameters."""
    mb = _master_bytes(wl)
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
    """Sequence length; for a vision transformer the patch count of the image."""
    if wl.image_size and shape.patch_size:
        return (wl.image_size // shape.patch_size) ** 2 + 1
    return wl.seq_len


def qlora_memory(shape: ModelShape, wl: Workload) -> MemoryBreakdown:
    """Peak memory of a QLoRA step of the standard recipe
    (:mod:`rigready.assess.estimate.language.qlora`)."""
    rg = regime(shape, wl)
    trainable = lora_params(shape, rg.targets, wl.lora_rank)
    weights = qlora.base_weight_bytes(shape, wl) + 4 * trainable  # fp32 adapters
    optimizer = optimizer_bytes(shape, wl, trainable)
    activations, logits, gradients, phase = qlora.step_parts(shape, wl, rg, 4 * trainable)
    return MemoryBreakdown(
        context=context_bytes(wl), weights=int(weights), gradients=gradients,
        optimizer=int(optimizer), activations=activations, logits=logits, kv_cache=0,
        reserve=qlora.reserve_bytes(shape, wl, rg), peak_phase=phase,
        gradients_total=4 * trainable, trainable_params=int(trainable))


def training_memory(shape: ModelShape, wl: Workload) -> MemoryBreakdown:
    """Peak memory of a training step (the second step: optimizer states exist)."""
    if wl.method == "qlora" and shape.kind == "decoder" and not wl.image_size:
        return qlora_memory(shape, wl)
    rg = regime(shape, wl)
    g = wl.gpus
    seq = effective_seq(shape, wl)
    t = wl.batch * seq
    h, v = shape.hidden_size, shape.vocab_size
    full = wl.method == "full"
    trainable = shape.params if full else lora_params(shape, rg.targets, wl.lora_rank)
    mb = _master_bytes(wl)
    weights = weight_bytes(shape, wl) + (0 if full else mb * trainable)
    optimizer = optimizer_bytes(shape, wl, trainable)
    grads = mb * trainable
    if g > 1:  # fully sharded data parallel: each GPU keeps 1/g of the model state
        gathered = 2 * shape.layer_params * rg.compute_bytes
        weights = weights // g + gathered
        optimizer //= g
        grads //= g
    per_layer = act.layer_saved_bytes(shape, rg, seq)
    kept_layer = act.checkpointed_layer_bytes(shape, rg) if rg.checkpointing else per_layer
    decoder = vocab_logits(shape, wl)  # the loss terms below are the same for MLM and CLM
    saved = t * (shape.num_layers * kept_layer + act.embedding_saved_bytes(shape, rg)
                 + act.head_saved_bytes(shape, rg, head_of(shape, wl)))
    if rg.autocast_copies:  # bf16 copies of the weights, kept for backward
        head = v * h if decoder else 0
        saved += 2 * (head if rg.checkpointing else shape.linear_weight_params)
    if decoder and shape.final_logit_softcap:  # tanh keeps its (half-precision) output
        saved += rg.compute_bytes * v * t
    # the loss's log-softmax and its gradients: fp32 for a causal LM (transformers' loss upcasts
    # the logits) and under autocast (log_softmax autocasts to fp32); BertForMaskedLM's
    # CrossEntropyLoss takes the logits as they are, so pure half precision keeps them half
    masked = head_of(shape, wl) == "masked-lm"
    lb = rg.compute_bytes if (masked and not rg.autocast) else 4
    logprobs = lb * v * t if decoder else 0
    loss_backward = 2 * lb * v * t if decoder else 0
    working = t * act.backward_working_bytes(shape, rg)
    if rg.checkpointing:
        working += t * per_layer  # one layer recomputed during backward
    if wl.method == "qlora":
        working += 2 * qlora.largest_layer_matrix(shape)  # a dequantized bf16 weight
    start = saved + logprobs + max(loss_backward, working)
    # end of forward, inside autocast: the loss's logits copies, and under checkpointing the
    # autocast cache still holds a bf16 copy of every weight
    loss_forward = ((lb + 2 * (rg.compute_bytes == 2)) * v * t if decoder else 0)
    cache = 2 * shape.linear_weight_params if (rg.autocast_copies and rg.checkpointing) else 0
    forward = saved + cache + logprobs + loss_forward
    tied_extra = mb * v * h if (full and shape.tie_word_embeddings and decoder) else 0
    end = grads + tied_extra
    if forward > max(start, end):
        phase, gradients = "end of forward", 0
        activations, logits = int(saved + cache), int(logprobs + loss_forward)
    elif start >= end:
        phase, gradients = "start of backward", 0
        activations = int(saved + (working if working > loss_backward else 0))
        logits = int(logprobs + (loss_backward if loss_backward >= working else 0))
    else:
        phase, gradients, activations, logits = "end of backward", int(end), 0, 0
    allocated = weights + optimizer + gradients + activations + logits
    return MemoryBreakdown(
        context=context_bytes(wl), weights=int(weights), gradients=gradients,
        optimizer=int(optimizer), activations=activations, logits=logits, kv_cache=0,
        reserve=allocator_reserve(allocated, weights + optimizer, wl,
                                  freed_blocks_bytes(shape, wl, t)),
        peak_phase=phase, gradients_total=int(grads), trainable_params=int(trainable))


def kv_cache_bytes(shape: ModelShape, wl: Workload) -> int:
    """Keys and values of every layer for the whole prompt plus the generated tokens."""
    if shape.kind != "decoder":
        return 0
    e = 4 if wl.resolved_precision == "fp32" else 2
    tokens = wl.batch * (effective_seq(shape, wl) + wl.new_tokens)
    return 2 * shape.num_layers * shape.kv_dim * e * tokens


def inference_memory(shape: ModelShape, wl: Workload) -> MemoryBreakdown:
    """Peak memory of generation: weights, KV cache and the prompt's forward pass."""
    p = wl.resolved_precision
    e = 4 if p == "fp32" else 2
    g = wl.gpus
    seq = effective_seq(shape, wl)
    t = wl.batch * seq
    k = shape.experts_per_token if shape.is_moe else 1
    weights = weight_bytes(shape, wl) // g
    kv = kv_cache_bytes(shape, wl) // g
    kv += kv // max(1, shape.num_layers)  # a layer's cache is copied as it grows
    prefill = t * (3 * e * shape.intermediate_size * k + 8 * e * shape.hidden_size)
    if wl.attention == "eager":
        prefill += wl.batch * shape.num_heads * seq * seq * (e + 4)
    if p in ("int8", "nf4"):
        prefill += 2 * shape.largest_matrix_params
    logits = wl.batch * shape.vocab_size * (e + 4)
    allocated = weights + kv + prefill + logits
    return MemoryBreakdown(
        context=context_bytes(wl), weights=int(weights), gradients=0, optimizer=0,
        activations=int(prefill), logits=int(logits), kv_cache=int(kv),
        reserve=allocator_reserve(allocated, weights, wl), peak_phase="generation",
        gradients_total=0, trainable_params=0)


def freed_blocks_bytes(shape: ModelShape, wl: Workload, tokens: int) -> int:
    """Big blocks freed before the peak that the caching allocator keeps in their sizes.

    - Tied input and output embeddings in pure half-precision full fine-tuning: the output
      head's gradient and the embedding's dense gradient are two vocab x hidden tensors summed
      into one; about four such blocks stay cached (measured on Gemma-2B and Qwen2.5-0.5B,
      H100; under AMP the measurements show no such blocks).
    - Gemma-2's tanh soft-capping of the logits makes and frees four more half-precision
      logits-sized tensors before backward asks for fresh fp32 ones: about two fp32 logits
      tensors' worth stays cached (H200).
    """
    if not wl.training or not vocab_logits(shape, wl):
        return 0
    blocks = 0
    if wl.method == "full" and shape.tie_word_embeddings and \
            wl.resolved_precision in ("bf16", "fp16"):
        blocks = 4 * shape.vocab_size * shape.hidden_size * 2
    if shape.final_logit_softcap:
        blocks = max(blocks, 8 * shape.vocab_size * tokens)
    return blocks


def allocator_reserve(allocated: int, persistent: int, wl: Workload, blocks: int = 0) -> int:
    """Memory PyTorch's caching allocator holds but has not handed out at the peak.

    Blocks freed by one phase are cached in their old sizes and only partly reused by the next:
    a share of the memory that comes and goes (everything but weights and optimizer state), or
    the big freed blocks named by ``blocks`` (:func:`freed_blocks_bytes`) when they are more.
    Under checkpointing the share is larger: layers recomputed in backward free and re-make
    their tensors.
    """
    dynamic = max(0, allocated - persistent)
    share = RESERVE_SHARE_CHECKPOINTED if wl.checkpointing else RESERVE_SHARE
    if not wl.training:
        share = RESERVE_SHARE_INFERENCE
    return int(max(share * dynamic, blocks))


RESERVE_SHARE = 0.08
RESERVE_SHARE_CHECKPOINTED = 0.25
RESERVE_SHARE_INFERENCE = 0.25


def memory(shape: ModelShape, wl: Workload, vram_bytes: int | None = None) -> MemoryBreakdown:
    """The breakdown of a language model's step for the workload's method; ``vram_bytes`` (the
    card's memory) sets what the driver reserves (None: an H100 80GB's)."""
    mem = training_memory(shape, wl) if wl.training else inference_memory(shape, wl)
    return on_card(mem, vram_bytes)
