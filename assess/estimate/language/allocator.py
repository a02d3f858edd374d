"""What PyTorch's caching allocator adds to a language model's allocated peak: the cached but
free memory a roomy card shows (the reserve), and what fragmentation keeps unusable on a card
just big enough for the job (its least need).

On a roomy card the allocator keeps every block it freed, in its old size, and only partly
reuses it: ``nvidia-smi`` shows the allocated peak plus that cache (:func:`allocator_reserve`).
On a card just big enough it frees the cache and retries before it raises out-of-memory, so a
job needs less than the roomy figure; but blocks still in use pin the segments they live in,
and the step's largest request (the loss's fp32 logits, the biggest activation) must find one
contiguous free stretch: fragmentation costs a share of that block (:func:`fragmentation`).
Fitted on the capped-allocator runs (``tests/data/calibration/capped/``, held-out cases only
checked; ``benchmarks/fit_capped.py``).
"""

from __future__ import annotations

from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language.parts import master_bytes
from rigready.assess.estimate.model import ModelShape

RESERVE_SHARE = 0.08
RESERVE_SHARE_CHECKPOINTED = 0.25
RESERVE_SHARE_INFERENCE = 0.25
#: Share of the step's largest block lost to fragmentation on a card just big enough: a
#: training step without recomputation, with it (checkpointed layers free and re-make their
#: tensors between the big requests), and generation.
FRAGMENTATION_SHARE = 1.0
FRAGMENTATION_SHARE_CHECKPOINTED = 1.5
FRAGMENTATION_SHARE_INFERENCE = 1.0


def largest_block(shape: ModelShape, wl: Workload, tokens: int, logits: bool) -> int:
    """The largest single tensor the step asks for near its peak: the loss's fp32 logits
    (training with vocabulary logits; full fine-tuning of tied embeddings: the shared weight's
    dense gradient when larger), else a layer's widest activation (the MLP's intermediate, or
    eager attention's score matrix)."""
    e = 4 if wl.resolved_precision == "fp32" else 2
    k = shape.experts_per_token if shape.is_moe else 1
    widest = tokens * shape.intermediate_size * k * e
    if wl.attention == "eager":
        widest = max(widest, wl.batch * shape.num_heads * wl.seq_len ** 2 * 4)
    if wl.training and logits:
        widest = max(widest, 4 * shape.vocab_size * tokens)
        if wl.method == "full" and shape.tie_word_embeddings:
            # the shared embedding's dense gradient, summed from the head's and the input's
            widest = max(widest, 4 * shape.vocab_size * shape.hidden_size)
    return widest


#: Full fine-tuning with recomputation: fp32 logits blocks' worth that the step's weight
#: gradients and recomputed layers split (:func:`split_logits_bytes`), and the cap on it as a
#: multiple of the gradients' bytes (what lands in those blocks).
SPLIT_LOGITS_SHARE = 1.4
SPLIT_LOGITS_GRADIENT_CAP = 1.5


def split_logits_bytes(shape: ModelShape, wl: Workload, tokens: int, logits: bool) -> int:
    """Freed fp32 logits-sized blocks that stay split, so neither reusable for the next logits
    request nor releasable: full fine-tuning with checkpointing and a vocabulary head.

    The loss frees logits-sized blocks (the fp32 upcast in forward, its gradients in backward)
    while the recomputed layers and the weights' gradients are being allocated; those land in
    the freed blocks and split them, so the next fp32 logits request needs a fresh segment.
    Measured on H100 (roomy card, reserved less allocated, beyond the tied-embedding blocks of
    :func:`freed_blocks_bytes`): Qwen2.5-1.5B bf16 2 x 1,024 tokens 1.6 GiB beyond 1.7,
    Llama-3.2-1B bf16 4 x 1,024 1.4 beyond 2.0, Llama-3.2-1B AMP 2 x 4,096 6.8, Qwen2.5-1.5B AMP
    2 x 2,048 5.1, GPT-2 medium AMP 8 x 1,024 2.1: about 1.4 fp32 logits blocks. What splits
    them is the gradients, so the split part is at most 1.5x their bytes: where the logits
    dwarf the model (Qwen2.5-0.5B bf16 8 x 1,024: 0.9 GiB cached with 4.6 GiB logits blocks;
    GPT-2 16 x 1,024) the freed blocks are reused whole. On a card just big enough these
    blocks stay split as well: Qwen2.5-1.5B above failed under a 14.99 GiB cap with 11.78 GiB
    allocated, 14.59 reserved, asking 1.16 GiB (one fp32 logits block), so they count in the
    least need too (:func:`fragmentation`).
    """
    if not (wl.training and logits and wl.method == "full" and wl.checkpointing):
        return 0
    gradients = shape.params * master_bytes(wl)
    return int(min(SPLIT_LOGITS_SHARE * 4 * shape.vocab_size * tokens,
                   SPLIT_LOGITS_GRADIENT_CAP * gradients))


def fragmentation(shape: ModelShape, wl: Workload, tokens: int, logits: bool) -> int:
    """Free memory the allocator cannot use when the step's largest block is asked for on a
    card just big enough for it (see the module docstring), plus the logits-sized blocks the
    step keeps split (:func:`split_logits_bytes`)."""
    block = largest_block(shape, wl, tokens, logits)
    if not wl.training:
        return int(FRAGMENTATION_SHARE_INFERENCE * block)
    share = FRAGMENTATION_SHARE_CHECKPOINTED if wl.checkpointing else FRAGMENTATION_SHARE
    return int(share * block) + split_logits_bytes(shape, wl, tokens, logits)


def freed_blocks_bytes(shape: ModelShape, wl: Workload, tokens: int, logits: bool) -> int:
    """Big blocks freed before the peak that the caching allocator keeps in their sizes.

    - Tied input and output embeddings in pure half-precision full fine-tuning: the output
      head's gradient and the embedding's dense gradient are two vocab x hidden tensors summed
      into one; about four such blocks stay cached (measured on Gemma-2B and Qwen2.5-0.5B,
      H100; under AMP the measurements show no such blocks).
    - Gemma-2's tanh soft-capping of the logits makes and frees four more half-precision
      logits-sized tensors before backward asks for fresh fp32 ones: about two fp32 logits
      tensors' worth stays cached (H200).
    - Full fine-tuning of a large-vocabulary model without checkpointing: one fp32 logits
      block (:data:`LARGE_VOCAB`).
    - Full fine-tuning with checkpointing: the split logits-sized blocks of
      :func:`split_logits_bytes`, on top of the tied-embedding blocks.
    """
    if not wl.training or not logits:
        return 0
    blocks = 0
    if wl.method == "full" and shape.tie_word_embeddings and \
            wl.resolved_precision in ("bf16", "fp16"):
        blocks = 4 * shape.vocab_size * shape.hidden_size * 2
    blocks += split_logits_bytes(shape, wl, tokens, logits)
    if shape.final_logit_softcap:
        blocks = max(blocks, 8 * shape.vocab_size * tokens)
    if wl.method == "full" and not wl.checkpointing and shape.vocab_size >= LARGE_VOCAB:
        blocks = max(blocks, 4 * shape.vocab_size * tokens)
    return blocks


#: Full fine-tuning of a model with a vocabulary this large (Qwen2.5, Llama 3, Gemma) keeps one
#: freed fp32 logits-sized block cached through backward: larger than any later request, it is
#: not split for the weight gradients (H100: Qwen2.5-0.5B held 5.2 GiB beyond its allocated peak
#: at 16 x 512 tokens, one such block 4.6; Qwen2.5-1.5B 3.9 against 2.3); with checkpointing the
#: recomputed layers reuse it or not, no rule fits the runs, so they keep the share below.
LARGE_VOCAB = 100_000


#: Generation: share of the KV cache that stays cached as freed blocks. transformers'
#: ``DynamicCache`` grows every layer's keys and values by ``torch.cat`` each new token: a block
#: one token longer is asked for and the old one freed, and once the growth outruns the
#: allocator's rounding the freed blocks of earlier lengths stay cached. Reserved less
#: allocated over the KV cache, H100 and H200 records: 0.2-1.3 (GPT-2 medium 16 x 512 + 256:
#: 0.78, Llama-2-7B 8 x 512 + 128: 0.56, Phi-3-mini 4 x 1,024 + 128: 0.34).
KV_GROWTH_CACHED_SHARE = 0.5


def kv_growth_blocks(kv_cache: int) -> int:
    """Freed KV-cache blocks kept cached during generation (:data:`KV_GROWTH_CACHED_SHARE`)."""
    return int(KV_GROWTH_CACHED_SHARE * kv_cache)


#: Training an encoder-decoder (T5, Whisper) without checkpointing: the share of the memory
#: that comes and goes which stays cached at the peak is about half a decoder's. Capped-run
#: generous runs (H100, 2026-12-06), reserved less allocated over the dynamic part: Flan-T5
#: base full 1.2%, large full 3.1%, large LoRA 1.9%; Whisper small full 5.0%, medium full
#: 7.7%, medium LoRA 3.7% (a decoder's 8% put Flan-T5-large LoRA +10.8% over).
RESERVE_SHARE_ENCODER_DECODER = 0.04


def allocator_reserve(allocated: int, persistent: int, wl: Workload, blocks: int = 0,
                      encoder_decoder: bool = False) -> int:
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
    elif encoder_decoder and not wl.checkpointing:
        share = RESERVE_SHARE_ENCODER_DECODER
    return int(max(share * dynamic, blocks))
