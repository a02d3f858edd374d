"""Encoder-decoder transformers: T5 / Flan-T5 (text to text) and Whisper (speech to text).

Both are an encoder stack over the input (T5: the prompt's tokens; Whisper: a 30-second log-mel
window, two convolutions and 1,500 positions) and a decoder stack over the target tokens whose
every layer also attends to the encoder's output. The parameters are counted exactly as
transformers 5 builds them (one shared embedding in T5 with the head tied to it; Whisper's
frozen sinusoidal encoder positions and tied head: 222,903,552 for Flan-T5-base, 241,734,912 and
763,857,920 for Whisper small and medium, as the capped-run record measured).

A training step's saved tensors are counted per token and layer with the decoder family's rules
(:mod:`rigready.assess.estimate.language.activations`: what autograd keeps for each Linear,
norm and attention under the method's dtypes), plus the cross-attention's keys and values over
the encoder's output in every decoder layer, T5's attention with its position bias (the bias
rules out the fused kernels: probabilities and dropout masks are kept) and Whisper's
convolutional front end. One factor per family scales the walk to the measured peaks (fitted
on Flan-T5-base and Whisper small / medium full fine-tuning; Whisper-medium LoRA and
Flan-T5-large LoRA held out).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rigready.assess.estimate.breakdown import MemoryBreakdown, context_bytes
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import activations as act
from rigready.assess.estimate.language.allocator import allocator_reserve
from rigready.assess.estimate.language.parts import optimizer_bytes, regime
from rigready.assess.estimate.model import ModelShape

#: Measured saved tensors / walked ones, per family: Flan-T5-base's full fine-tuning measured
#: 1.65 times the walk (T5's GELU is written out in Python, and under autocast its pow runs in
#: fp32, so the chain keeps several fp32 copies the walk does not count; the position bias
#: path too); Whisper's walk matched its two full fine-tuning runs (-1.0% and -1.7%) as is.
SAVED_SCALE = {"t5": 1.65, "whisper": 1.0}
#: Fragmentation on a card just big enough, in copies of the step's largest block.
FRAGMENTATION_BLOCKS = 1.0


@dataclass(frozen=True, slots=True)
class EncDec:
    """The stacks of an encoder-decoder (widths are the shape's)."""

    kind: str  # t5 | whisper
    encoder_layers: int
    decoder_layers: int
    #: Whisper: the encoder's positions (its input is twice as many mel frames) and mel bins.
    source_positions: int = 0
    mel_bins: int = 0

    def encoder_tokens(self, wl: Workload) -> int:
        """Positions the encoder runs over per sample."""
        return self.source_positions if self.kind == "whisper" else wl.seq_len


def params(shape: ModelShape, ed: EncDec) -> int:
    """Parameters as transformers 5 builds the model (see the module docstring)."""
    h, f, inner = shape.hidden_size, shape.intermediate_size, shape.q_dim
    if ed.kind == "t5":
        attn = 4 * h * inner
        ffn = (3 if shape.gated_ffn else 2) * h * f
        enc = attn + ffn + 2 * h
        dec = 2 * attn + ffn + 3 * h
        return (ed.encoder_layers * enc + ed.decoder_layers * dec + shape.vocab_size * h
                + 2 * 32 * shape.num_heads + 2 * h)
    attn = 4 * h * inner + 2 * inner + h  # biases of q, v and out (k_proj has none)
    ffn = 2 * h * f + f + h
    enc = attn + ffn + 4 * h
    dec = 2 * attn + ffn + 6 * h
    convs = ed.mel_bins * h * 3 + h + h * h * 3 + h
    return (ed.encoder_layers * enc + ed.decoder_layers * dec + shape.vocab_size * h
            + (shape.max_positions or 448) * h + ed.source_positions * h + convs + 4 * h)


def frozen_params(shape: ModelShape, ed: EncDec) -> int:
    """Parameters that never train (Whisper's sinusoidal encoder positions)."""
    return ed.source_positions * shape.hidden_size if ed.kind == "whisper" else 0


def adapter_params(shape: ModelShape, ed: EncDec, targets: frozenset[str], rank: int) -> int:
    """LoRA parameters: every adapted Linear of the encoder's layers and of the decoder's
    (whose attention modules are there twice: self- and cross-attention)."""
    total = 0
    for name, n_in, n_out, count, group in shape.linear_modules():
        if name in targets:
            twice = group.startswith("attn")
            total += rank * (n_in + n_out) * count * (
                ed.encoder_layers + ed.decoder_layers * (2 if twice else 1))
    return total


def _cross_per_source_token(shape: ModelShape, rg: act.Regime) -> float:
    """Per encoder position and decoder layer: the keys and values attention keeps, and the
    copy of the encoder's output the k/v projections keep under autocast."""
    e, h, inner = rg.compute_bytes, shape.hidden_size, shape.q_dim
    kept = 2.0 * inner * e
    readers = 2 if rg.full else sum(1 for t in rg.targets if t in ("k", "v", "k_proj",
                                                                   "v_proj"))
    if rg.autocast_copies or (rg.adapter_copies and not rg.full):
        kept += 2.0 * h * readers
    return kept


def _attention_probs(shape: ModelShape, rg: act.Regime, kv_tokens: int) -> float:
    """Per query token: T5's attention with a position bias keeps its probabilities, the
    biased scores and the dropout mask (no fused kernel takes a trainable bias)."""
    if shape.family != "t5":
        return 0.0
    return float(shape.num_heads * kv_tokens * (2 * rg.compute_bytes + 1))


def saved_bytes(shape: ModelShape, ed: EncDec, wl: Workload, rg: act.Regime) -> float:
    """What one sample's forward keeps for backward (no checkpointing: every layer; with it:
    each layer's input and one layer recomputed)."""
    src, tgt = ed.encoder_tokens(wl), wl.target_tokens
    enc_layer = act.layer_saved_bytes(shape, rg, src) + _attention_probs(shape, rg, src)
    dec_layer = (act.layer_saved_bytes(shape, rg, tgt) + _attention_probs(shape, rg, tgt)
                 + _attention_probs(shape, rg, src)
                 + 2.0 * shape.q_dim * rg.compute_bytes + 4.0 * shape.hidden_size)
    cross = ed.decoder_layers * src * _cross_per_source_token(shape, rg)
    if rg.checkpointing:
        kept = rg.residual_bytes * shape.hidden_size
        saved = (ed.encoder_layers * src + ed.decoder_layers * tgt) * kept + cross \
            + max(src * enc_layer, tgt * dec_layer)
    else:
        saved = ed.encoder_layers * src * enc_layer + ed.decoder_layers * tgt * dec_layer \
            + cross
    if ed.kind == "whisper":  # two GELU convolutions over 2 x positions mel frames
        frames = 2 * ed.source_positions
        saved += rg.compute_bytes * (ed.mel_bins * frames + 3 * shape.hidden_size * frames
                                     + 2 * shape.hidden_size * ed.source_positions)
    return saved * SAVED_SCALE.get(ed.kind, 1.0)


def largest_block(shape: ModelShape, ed: EncDec, wl: Workload, e: int) -> int:
    """The largest single tensor the step asks for: the loss's fp32 logits, T5's attention
    scores over the encoder, or an FFN's activation over the encoder's positions."""
    src = ed.encoder_tokens(wl)
    block = max(4 * shape.vocab_size * wl.batch * wl.target_tokens,
                wl.batch * src * shape.intermediate_size * e)
    if shape.family == "t5":
        block = max(block, 4 * wl.batch * shape.num_heads * src * src)
    return block


def training_memory(shape: ModelShape, ed: EncDec, wl: Workload) -> MemoryBreakdown:
    """Peak memory of an encoder-decoder's training step (full fine-tuning or LoRA; QLoRA
    with its 4-bit base is the LoRA figure with the weights quantized)."""
    rg = regime(shape, replace(wl, method="lora") if wl.method == "qlora" else wl)
    full = wl.method == "full"
    total = shape.params
    trainable = total - frozen_params(shape, ed) if full else \
        adapter_params(shape, ed, rg.targets, wl.lora_rank)
    p = wl.resolved_precision
    e = rg.compute_bytes
    base = 4 if p == "fp32" or (full and p.startswith("amp")) else 2
    if wl.method == "qlora":
        base = 1  # about 4 bits for the layers, 16 for the embedding: a byte a weight
    master = 4 if (p == "fp32" or p.startswith("amp") or wl.method == "qlora") else 2
    weights = base * total + (0 if full else master * trainable)
    optimizer = optimizer_bytes(shape, wl, trainable)
    grads = master * trainable
    saved = wl.batch * saved_bytes(shape, ed, wl, rg)
    if rg.autocast_copies:  # bf16 copies of the weights, kept for backward
        saved += 2 * total
    tgt = wl.batch * wl.target_tokens
    logits = tgt * shape.vocab_size * (e + 4 + 8)
    working = wl.batch * ed.encoder_tokens(wl) * act.backward_working_bytes(shape, rg)
    start = saved + logits + working
    if start >= grads:
        phase, gradients, activations, logit_part = "start of backward", 0, saved + working, \
            logits
    else:
        phase, gradients, activations, logit_part = "end of backward", grads, 0, 0
    allocated = weights + optimizer + gradients + activations + logit_part
    return MemoryBreakdown(
        context=context_bytes(wl), weights=int(weights), gradients=int(gradients),
        optimizer=int(optimizer), activations=int(activations), logits=int(logit_part),
        kv_cache=0, reserve=allocator_reserve(int(allocated), int(weights + optimizer), wl,
                                            encoder_decoder=True),
        peak_phase=phase, gradients_total=int(grads), trainable_params=int(trainable),
        fragmentation=int(FRAGMENTATION_BLOCKS * largest_block(shape, ed, wl, e)))


def inference_memory(shape: ModelShape, ed: EncDec, wl: Workload) -> MemoryBreakdown:
    """Peak memory of ``generate()``: the weights, the encoder's pass over the input (its live
    layer), the decoder's self-attention cache for the generated tokens and the cross-attention
    cache of every decoder layer over the encoder's output."""
    p = wl.resolved_precision
    e = 4 if p == "fp32" else 2
    per_weight = {"nf4": 0.6, "int8": 1.1}.get(p, float(e))
    weights = int(per_weight * shape.params)
    src = wl.batch * ed.encoder_tokens(wl)
    live = src * (3 * shape.hidden_size + shape.intermediate_size) * e
    if shape.family == "t5":
        live += 4 * wl.batch * shape.num_heads * ed.encoder_tokens(wl) ** 2
    kv = 2 * ed.decoder_layers * shape.q_dim * e * (src + wl.batch * max(1, wl.new_tokens))
    logits = wl.batch * shape.vocab_size * (e + 4)
    allocated = weights + live + kv + logits
    return MemoryBreakdown(
        context=context_bytes(wl), weights=weights, gradients=0, optimizer=0,
        activations=int(live), logits=int(logits), kv_cache=int(kv),
        reserve=allocator_reserve(int(allocated), weights, wl), peak_phase="generation",
        gradients_total=0, trainable_params=0,
        fragmentation=int(FRAGMENTATION_BLOCKS * largest_block(shape, ed, wl, e)))


def linear_shapes(shape: ModelShape, ed: EncDec, wl: Workload
                  ) -> list[tuple[int, int, int, int, str]]:
    """Every Linear of a step: (rows, in, out, count, name) with rows the tokens it runs on,
    for the speed model."""
    src, tgt = wl.batch * ed.encoder_tokens(wl), wl.batch * wl.target_tokens
    out = []
    for name, n_in, n_out, count, _ in shape.linear_modules():
        out.append((src, n_in, n_out, count * ed.encoder_layers, name))
        out.append((tgt, n_in, n_out, count * ed.decoder_layers, name))
        if name in ("q", "o", "q_proj", "out_proj"):  # cross-attention: q and out on targets
            out.append((tgt, n_in, n_out, count * ed.decoder_layers, name))
        elif name in ("k", "v", "k_proj", "v_proj"):  # keys and values over the source
            out.append((src, n_in, n_out, count * ed.decoder_layers, name))
    out.append((tgt, shape.hidden_size, shape.vocab_size, 1, "lm_head"))
    return out
