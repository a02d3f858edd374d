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


def fragmentation(shape: ModelShape, wl: Workload, tokens: int, logits: bool) -> int:
    """Free memory the allocator cannot use when the step's largest block is asked for on a
    card just big enough for it (see the module docstring)."""
    block = largest_block(shape, wl, tokens, logits)
    if not wl.training:
        return int(FRAGMENTATION_SHARE_INFERENCE * block)
    share = FRAGMENTATION_SHARE_CHECKPOINTED if wl.checkpointing else FRAGMENTATION_SHARE
    return int(share * block)


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
    """
    if not wl.training or not logits:
        return 0
    blocks = 0
    if wl.method == "full" and shape.tie_word_embeddings and \
            wl.resolved_precision in ("bf16", "fp16"):
        blocks = 4 * shape.vocab_size * shape.hidden_size * 2
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
