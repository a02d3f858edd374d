"""Peak GPU memory of one training or inference step, split into named parts.

Training memory has two candidate peaks (gradients are created as activations are freed, and
``zero_grad(set_to_none=True)`` frees them after each step): the start of backward (everything
saved by the forward pass plus the loss's fp32 gradient buffers) and the end of backward (all
gradients). The breakdown is the one at the larger of the two. The CUDA context and the
allocator's cached-but-free memory are added to give what NVML / ``nvidia-smi`` report.
"""

from __future__ import annotations

from dataclasses import replace

from rigready.assess.estimate.breakdown import MemoryBreakdown, context_bytes, on_card
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import activations as act
from rigready.assess.estimate.language import encdec, qlora, sharded, vlm
from rigready.assess.estimate.language.allocator import (
    allocator_reserve,
    fragmentation,
    freed_blocks_bytes,
    kv_growth_blocks,
)
from rigready.assess.estimate.language.parts import (
    effective_seq,
    head_of,
    lora_params,
    master_bytes,
    optimizer_bytes,
    regime,
    vocab_logits,
    weight_bytes,
)
from rigready.assess.estimate.model import ModelShape

__all__ = ["effective_seq", "head_of", "kv_cache_bytes", "lora_params", "memory",
           "optimizer_bytes", "regime", "vocab_logits", "weight_bytes"]

NF4_BITS = qlora.NF4_BITS
INT8_BITS = qlora.INT8_BITS


def qlora_memory(shape: ModelShape, wl: Workload) -> MemoryBreakdown:
    """Peak memory of a QLoRA step of the standard recipe
    (:mod:`rigready.assess.estimate.language.qlora`)."""
    rg = regime(shape, wl)
    trainable = lora_params(shape, rg.targets, wl.lora_rank)
    weights = qlora.base_weight_bytes(shape, wl) + 4 * trainable  # fp32 adapters
    optimizer = optimizer_bytes(shape, wl, trainable)
    activations, logits, gradients, phase = qlora.step_parts(shape, wl, rg, 4 * trainable)
    activations += int(wl.batch * vlm.training_saved_bytes(shape, rg))
    return MemoryBreakdown(
        context=context_bytes(wl), weights=int(weights), gradients=gradients,
        optimizer=int(optimizer), activations=activations, logits=logits, kv_cache=0,
        reserve=qlora.reserve_bytes(shape, wl, rg), peak_phase=phase,
        gradients_total=4 * trainable, trainable_params=int(trainable),
        fragmentation=fragmentation(shape, wl, wl.batch * wl.seq_len, True))


def fsdp_qlora_memory(shape: ModelShape, wl: Workload) -> MemoryBreakdown:
    """A rank's peak under FSDP + QLoRA (:mod:`rigready.assess.estimate.language.sharded`):
    the adapters and the base's non-quantized parts in bf16, no fp32 upcast."""
    rg = regime(shape, replace(wl, method="lora", precision="bf16"))
    trainable = lora_params(shape, rg.targets, wl.lora_rank)
    per_layer = (act.checkpointed_layer_bytes(shape, rg) if wl.checkpointing
                 else act.layer_saved_bytes(shape, rg, wl.seq_len))
    saved = shape.num_layers * per_layer + act.head_saved_bytes(shape, rg)
    return sharded.fsdp_qlora_memory(shape, wl, trainable, saved)


def training_memory(shape: ModelShape, wl: Workload) -> MemoryBreakdown:
    """Peak memory of a training step (the second step: optimizer states exist)."""
    if shape.seq2seq is not None:
        return encdec.training_memory(shape, shape.seq2seq, wl)
    if wl.method == "qlora" and shape.kind == "decoder" and not wl.image_size:
        if wl.gpus > 1 or wl.param_offload:
            return fsdp_qlora_memory(shape, wl)
        return qlora_memory(shape, wl)
    rg = regime(shape, wl)
    g = wl.gpus
    seq = effective_seq(shape, wl)
    t = wl.batch * seq
    h, v = shape.hidden_size, shape.vocab_size
    full = wl.method == "full"
    trainable = shape.params if full else lora_params(shape, rg.targets, wl.lora_rank)
    mb = master_bytes(wl)
    weights = weight_bytes(shape, wl) + (0 if full else mb * trainable)
    optimizer = optimizer_bytes(shape, wl, trainable)
    grads = mb * trainable
    if g > 1 or wl.param_offload:  # FSDP / ZeRO-3: each GPU keeps 1/g of the model state
        gathered = sharded.gathered_bytes(shape, rg.compute_bytes)
        if wl.param_offload:  # parameters, gradients and optimizer states in system RAM
            weights, optimizer, grads = gathered, 0, mb * shape.layer_params
        else:
            weights = weights // g + gathered
            optimizer //= g
            grads //= g
    per_layer = act.layer_saved_bytes(shape, rg, seq)
    kept_layer = act.checkpointed_layer_bytes(shape, rg) if rg.checkpointing else per_layer
    decoder = vocab_logits(shape, wl)  # the loss terms below are the same for MLM and CLM
    saved = t * (shape.num_layers * kept_layer + act.embedding_saved_bytes(shape, rg)
                 + act.head_saved_bytes(shape, rg, head_of(shape, wl)))
    saved += wl.batch * vlm.training_saved_bytes(shape, rg)  # one image per sample
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
                                  freed_blocks_bytes(shape, wl, t, decoder)),
        peak_phase=phase, gradients_total=int(grads), trainable_params=int(trainable),
        fragmentation=fragmentation(shape, wl, t, decoder))


def kv_cache_bytes(shape: ModelShape, wl: Workload) -> int:
    """Keys and values of every layer for the whole prompt plus the generated tokens."""
    if shape.kind != "decoder":
        return 0
    e = 4 if wl.resolved_precision == "fp32" else 2
    tokens = wl.batch * (effective_seq(shape, wl) + wl.new_tokens)
    return 2 * shape.num_layers * shape.kv_dim * e * tokens


def inference_memory(shape: ModelShape, wl: Workload) -> MemoryBreakdown:
    """Peak memory of generation: weights, KV cache and the prompt's forward pass."""
    if shape.seq2seq is not None:
        return encdec.inference_memory(shape, shape.seq2seq, wl)
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
    if p in ("int8", "nf4"):  # one layer weight de-quantized at a time (the head stays bf16)
        prefill += 2 * qlora.largest_layer_matrix(shape)
    prefill = max(prefill, int(wl.batch * vlm.inference_live_bytes(shape, e)))  # images first
    logits = wl.batch * shape.vocab_size * (e + 4)
    allocated = weights + kv + prefill + logits
    return MemoryBreakdown(
        context=context_bytes(wl), weights=int(weights), gradients=0, optimizer=0,
        activations=int(prefill), logits=int(logits), kv_cache=int(kv),
        reserve=allocator_reserve(allocated, weights, wl,
                                  kv_growth_blocks(kv_cache_bytes(shape, wl) // g)),
        peak_phase="generation",
        gradients_total=0, trainable_params=0, fragmentation=fragmentation(shape, wl, t, False))


def memory(shape: ModelShape, wl: Workload, vram_bytes: int | None = None) -> MemoryBreakdown:
    """The breakdown of a language model's step for the workload's method; ``vram_bytes`` (the
    card's memory) sets what the driver reserves (None: an H100 80GB's)."""
    mem = training_memory(shape, wl) if wl.training else inference_memory(shape, wl)
    return on_card(mem, vram_bytes)
