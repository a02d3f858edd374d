"""Step time from the model's kernels, calibrated on an H200 and scaled to other GPUs.

A training step is the sum of

- every matmul of the step (forward, input gradient, weight gradient where the weight trains,
  LoRA's thin adapter matmuls, the recomputed forward under checkpointing), each
  ``max(FLOPs / (efficiency x peak), bytes / bandwidth) + launch cost``: a roofline per kernel
  with the efficiency measured per precision by a GEMM sweep over the shapes 124M-8B language
  models produce (``tests/data/calibration/vision-speed/h200-2026-12-01.json``, ``gemm``);
  shapes whose inner or outer size is not a multiple of 8 (GPT-2's 50257-token head) run at the
  measured misaligned rate;
- fused attention at its measured share of peak;
- memory-bound work at bandwidth: the elementwise kernels (norms, activations, casts, residual
  adds; traffic proportional to what the step saves for backward, the factor fitted), the loss
  over the logits, the optimizer's reads and writes, autocast's weight casts;
- the host's dispatch time (Python and kernel launches, per step and per layer, fitted), which
  CUDA's asynchronous launches overlap with the GPU's work: the step is the longer of the two
  plus a fitted share of the shorter (the part that does not overlap: the loss, the start of
  backward, the optimizer step, stretches of small kernels the GPU finishes faster than the host
  queues them). A sum would over-predict a step whose GPU time is close to its host time (a
  12-layer encoder at b32x512 measured no slower than at b16x512 on the H200: host-bound);
- peft's and bitsandbytes' wrapper costs, added (fitted as such).

The fitted factors come from measured step times of 124M-8B models on the same H200 (the
held-out cases are never used to fit). On another GPU the compute terms scale with its
datasheet (or measured) throughput and the memory terms with its bandwidth; the overheads are
kept, which assumes a host CPU about as quick as the calibration machine's.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigready.assess.estimate import kernels
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import activations as act
from rigready.assess.estimate.language import encdec, vlm
from rigready.assess.estimate.language.llamacpp import GPU_DECODE_EFFICIENCY, GPU_LAYER_S
from rigready.assess.estimate.language.memory import head_of, regime
from rigready.assess.estimate.model import ModelShape

#: Fused attention (SDPA flash) forward + backward, share of the bf16 peak (sweep: 0.05-0.53,
#: long sequences high), and three more figures fitted together on the non-held-out training
#: cases (``benchmarks/fit_speed.py --fit``; grid search minimising the worst ratio): bytes of
#: elementwise traffic per byte saved for backward, host time per step and per layer, and the
#: share of the shorter of host and GPU time that does not overlap the longer.
ATTENTION_EFFICIENCY = 0.35
#: Bytes moved per logit by the loss (the logits' fp32 cast, log-softmax, its gradient and the
#: casts back): the head and loss measured alone took 1.4-2.0x what 24 bytes a logit gave
#: (H100, 128k-256k vocabularies, ``tests/data/calibration/capped``), fitted with the rest.
LOSS_TRAFFIC = 24.0
ELEMENTWISE_TRAFFIC = 8.0
STEP_OVERHEAD_S = 0.0
LAYER_OVERHEAD_S = 0.0025
HOST_SERIAL_SHARE = 0.6
#: LoRA: cost per adapted module per pass (peft's wrapper: dropout, A, B, scaling), fitted
#: jointly with the QLoRA figure below on the fitted LM cases of both H200 records (worst ratio
#: minimised).
LORA_MODULE_S = 0.0001
#: QLoRA: cost per quantized Linear per pass (forward, recompute, backward: dequantize
#: launches), fitted on the
#: QLoRA step times of ``tests/data/calibration/h200-2026-12-01.json`` (its held-out file unused).
QLORA_LINEAR_S = 0.00004
#: ... and per layer per pass (the fp32 norms and casts prepare_model_for_kbit_training leaves).
QLORA_LAYER_S = 0.0005
#: Hugging Face ``generate()`` at small batches is paced by the host: a fixed cost per new
#: token (the loop's logits processing, stopping check with its synchronisation, cache and mask
#: updates, embedding, final norm and head) and a cost per operation each layer dispatches
#: (:func:`generate_layer_ops`); fitted together (worst ratio minimised) on GPT-2,
#: Llama-3.2-1B and Llama-3.1-8B at batch 1 (8.0, 16.5 and 23.7 ms a token on the H200;
#: Llama-3.2-3B, 27.1 ms, held out). A cost per layer alone put GPT-2 at 1.27x: its layers
#: dispatch half the operations of a Llama layer.
GENERATE_TOKEN_S = 0.0048
GENERATE_OP_S = 0.000012
#: llama.cpp-class runtimes read the weights at about this share of bandwidth per token: the
#: figure ``estimate --runtime llama.cpp`` uses (research/estimators.md section 3).
LLAMACPP_BANDWIDTH_EFFICIENCY = GPU_DECODE_EFFICIENCY
#: ... plus a launch cost per layer per token (``llamacpp.GPU_LAYER_S``, fitted on published
#: small-model runs): without it GPT-2 decoded at an implausible ~9,500 tokens/s on an H200.
LLAMACPP_LAYER_S = GPU_LAYER_S


@dataclass(frozen=True, slots=True)
class Rates:
    """What the GPU sustains for the terms of the model."""

    matmul_tflops: float  # datasheet (or measured) dense peak in the compute dtype
    attention_tflops: float
    bandwidth_gb_s: float
    scaled_from_reference: bool


@dataclass(frozen=True, slots=True)
class StepTime:
    """One training step's predicted time, by term (seconds): GPU terms, the host's dispatch
    time (overlapping them) and the wrappers' cost (added)."""

    matmul_s: float
    attention_s: float
    memory_s: float
    overhead_s: float  # host dispatch (Python, launches)
    wrapper_s: float = 0.0  # peft / bitsandbytes module wrappers

    @property
    def gpu_s(self) -> float:
        """The GPU's busy time."""
        return self.matmul_s + self.attention_s + self.memory_s

    @property
    def total_s(self) -> float:
        """The whole step: the longer of GPU and host time, the share of the shorter that does
        not overlap, and the wrappers."""
        gpu, host = self.gpu_s, self.overhead_s
        return max(gpu, host) + HOST_SERIAL_SHARE * min(gpu, host) + self.wrapper_s


def matmul_dtype(wl: Workload) -> str:
    """The dtype the step's matmuls run in (fp32 training uses TF32 only when enabled,
    ``wl.tf32 == "all"``: PyTorch's matmul default leaves it off)."""
    p = wl.resolved_precision
    if p == "fp32":
        return "tf32" if wl.tf32 == "all" else "fp32"
    return "fp16" if p in ("fp16", "amp-fp16") else "bf16"


def _linear_step(m: int, k: int, n: int, trains: bool, passes: int, dtype: str,
                 peak: float, bw: float) -> float:
    """Forward (``passes`` times: 2 with recomputation), input gradient, weight gradient."""
    t = passes * kernels.gemm_seconds(m, k, n, dtype, peak, bw)
    t += kernels.gemm_seconds(m, n, k, dtype, peak, bw)
    if trains:
        t += kernels.gemm_seconds(k, m, n, dtype, peak, bw)
    return t


def encdec_step(shape: ModelShape, ed: encdec.EncDec, wl: Workload, rates: Rates) -> StepTime:
    """An encoder-decoder's training step: every Linear on the tokens it runs over (the
    encoder's positions or the targets), the three attentions, the same elementwise, loss,
    optimizer and host terms as a decoder's."""
    rg = regime(shape, wl)
    dtype, peak, bw = matmul_dtype(wl), rates.matmul_tflops, rates.bandwidth_gb_s
    passes = 2 if wl.checkpointing else 1
    full = wl.method == "full"
    matmul = 0.0
    adapted = 0
    for rows, n_in, n_out, count, name in encdec.linear_shapes(shape, ed, wl):
        matmul += count * _linear_step(rows, n_in, n_out, full, passes, dtype, peak, bw)
        if name in rg.targets:
            adapted += count
            r = wl.lora_rank
            matmul += count * (_linear_step(rows, n_in, r, True, passes, dtype, peak, bw)
                               + _linear_step(rows, r, n_out, True, passes, dtype, peak, bw))
    src, tgt = ed.encoder_tokens(wl), wl.target_tokens
    per = 4.0 * wl.batch * shape.num_heads * shape.head_dim * (2.5 + passes)
    attention = per * (src * src * ed.encoder_layers + (0.5 * tgt * tgt + tgt * src)
                       * ed.decoder_layers) / (rates.attention_tflops * 1e12)
    traffic = ELEMENTWISE_TRAFFIC * wl.batch * encdec.saved_bytes(shape, ed, wl, rg) \
        / encdec.SAVED_SCALE.get(ed.kind, 1.0) * (1.0 + 0.5 * (passes - 1))
    traffic += LOSS_TRAFFIC * wl.batch * tgt * shape.vocab_size
    trainable = shape.params if full else encdec.adapter_params(shape, ed, rg.targets,
                                                                wl.lora_rank)
    traffic += 7 * 4 * trainable  # AdamW on fp32 states
    if rg.autocast_copies:
        traffic += 6 * shape.params
    layers = ed.encoder_layers + ed.decoder_layers
    overhead = STEP_OVERHEAD_S + LAYER_OVERHEAD_S * layers * (1 + 0.5 * (passes - 1))
    return StepTime(matmul_s=matmul, attention_s=attention,
                    memory_s=traffic / (kernels.BANDWIDTH_EFFICIENCY * bw * 1e9),
                    overhead_s=overhead, wrapper_s=LORA_MODULE_S * adapted * (1 + passes))


def _tower_seconds(shape: ModelShape, wl: Workload, rg: act.Regime, passes: int,
                   rates: Rates) -> float:
    """A vision tower's matmuls over one image per sample (forward only when nothing in it
    trains) and its attention over the patches."""
    if shape.vision is None:
        return 0.0
    tower: vlm.VisionTower = shape.vision
    ts = vlm.tower_shape(tower)
    rows = wl.batch * tower.patches
    trains = rg.full or bool(rg.targets & {m[0] for m in ts.linear_modules()})
    dtype, peak, bw = matmul_dtype(wl), rates.matmul_tflops, rates.bandwidth_gb_s
    t = 0.0
    for _, n_in, n_out, count, _ in ts.linear_modules():
        t += count * (_linear_step(rows, n_in, n_out, rg.full, passes, dtype, peak, bw)
                      if trains else kernels.gemm_seconds(rows, n_in, n_out, dtype, peak, bw))
    attn = 4.0 * rows * tower.patches * ts.q_dim * ((2.5 + passes) if trains else 1.0)
    return ts.num_layers * (t + attn / (rates.attention_tflops * 1e12))


def training_step(shape: ModelShape, wl: Workload, seq: int, rates: Rates) -> StepTime:
    """Predicted time of one optimizer step of ``wl`` (one micro-batch) on a GPU with ``rates``."""
    if shape.seq2seq is not None:
        return encdec_step(shape, shape.seq2seq, wl, rates)
    rg = regime(shape, wl)
    dtype = matmul_dtype(wl)
    peak, bw = rates.matmul_tflops, rates.bandwidth_gb_s
    m = wl.batch * seq
    passes = 2 if wl.checkpointing else 1
    full = wl.method == "full"
    k_exp = shape.experts_per_token if shape.is_moe else 1
    per_layer = 0.0
    for name, n_in, n_out, count, _ in shape.linear_modules():
        per_layer += count * _linear_step(m, n_in, n_out, full, passes, dtype, peak, bw)
        if name in rg.targets:
            r = wl.lora_rank
            per_layer += count * (_linear_step(m, n_in, r, True, passes, dtype, peak, bw)
                                  + _linear_step(m, r, n_out, True, passes, dtype, peak, bw))
    if shape.is_moe:
        h, f = shape.hidden_size, shape.intermediate_size
        per_layer += 3 * k_exp * _linear_step(m, h, f, full, passes, dtype, peak, bw)
    matmul = shape.num_layers * per_layer + _tower_seconds(shape, wl, rg, passes, rates)
    head = head_of(shape, wl)
    lm = head in ("causal-lm", "masked-lm")  # vocabulary logits for every token
    if lm:  # the output head
        matmul += _linear_step(m, shape.hidden_size, shape.vocab_size,
                               full, 1, dtype, peak, bw)  # a tied head's weight trains too
    attn_flops = (4.0 * wl.batch * shape.num_heads * seq * seq * shape.head_dim
                  * (2.5 + passes) * attention_layers(shape, wl, seq))
    attention = attn_flops / (rates.attention_tflops * 1e12)
    saved = m * (shape.num_layers * act.layer_saved_bytes(shape, rg, seq)
                 + act.head_saved_bytes(shape, rg, head))
    traffic = ELEMENTWISE_TRAFFIC * saved * (1.0 + 0.5 * (passes - 1))
    if lm:
        traffic += LOSS_TRAFFIC * m * shape.vocab_size  # logits: casts, loss, gradient
    trainable = shape.params if full else \
        sum(wl.lora_rank * (i + o) * c for nm, i, o, c, _ in shape.linear_modules()
            if nm in rg.targets) * shape.num_layers
    state_bytes = 4 if wl.resolved_precision in ("fp32", "amp-bf16", "amp-fp16") or \
        not full else 2
    traffic += trainable * state_bytes * 7  # AdamW: read p, g, m, v; write p, m, v
    if rg.autocast_copies:
        traffic += 6 * shape.linear_weight_params  # fp32 -> bf16 weight casts each forward
    traffic += qlora_dequant_bytes(shape, wl)
    memory = traffic / (kernels.BANDWIDTH_EFFICIENCY * bw * 1e9)
    overhead = STEP_OVERHEAD_S + LAYER_OVERHEAD_S * shape.num_layers * (1 + 0.5 * (passes - 1))
    adapted = sum(c for nm, _, _, c, _ in shape.linear_modules() if nm in rg.targets)
    wrappers = LORA_MODULE_S * adapted * shape.num_layers * (1 + passes)  # peft's wrappers
    if wl.method == "qlora":  # bitsandbytes' Linear4bit: Python and dequantize launches
        linears = sum(c for _, _, _, c, _ in shape.linear_modules()) * shape.num_layers
        wrappers += QLORA_LINEAR_S * linears * (1 + passes)
        wrappers += QLORA_LAYER_S * shape.num_layers * (1 + passes)
    return StepTime(matmul_s=matmul, attention_s=attention, memory_s=memory, overhead_s=overhead,
                    wrapper_s=wrappers)


def attention_layers(shape: ModelShape, wl: Workload, seq: int) -> float:
    """Layers' worth of full (non-causal) ``seq`` x ``seq`` attention a forward computes.

    A causal layer computes half the score matrix (flash skips the blocks above the diagonal).
    A sliding-window layer under SDPA at ``seq`` >= its window does not: transformers then
    passes the window as an explicit mask (``masking_utils._ignore_causal_mask_sdpa`` drops the
    mask only while ``kv_length < local_attention_size``), an explicit mask rules SDPA's flash
    backend out (transformers' own comment there says so), and the memory-efficient
    kernel that runs instead computes every block and masks it, so the window saves nothing
    and causality no longer halves the work (Phi-3-mini's window is 2,047 tokens: its QLoRA
    steps at 2,048 and 4,096 tokens were predicted 0.83x and 0.77x of measured without this).
    """
    if shape.kind != "decoder":
        return float(shape.num_layers)
    masked = shape.sliding_layers if (wl.attention == "sdpa" and shape.sliding_window
                                      and seq >= shape.sliding_window) else 0
    return 0.5 * (shape.num_layers - masked) + masked


def qlora_dequant_bytes(shape: ModelShape, wl: Workload) -> float:
    """Memory traffic of bitsandbytes' dequantization per step: each 4-bit weight is read (half
    a byte) and written as bf16, then read by the matmul, in forward, backward and recompute."""
    if wl.method != "qlora":
        return 0.0
    passes = 3 if wl.checkpointing else 2
    per_weight = 0.5 + 2.0 + 2.0 if wl.resolved_precision == "nf4" else 1.0 + 2.0 + 2.0
    quantized = shape.linear_weight_params - (0 if shape.family == "bert" else
                                              shape.vocab_size * shape.hidden_size)
    return passes * per_weight * max(0, quantized)


def generate_layer_ops(shape: ModelShape) -> int:
    """Operations one decoder layer dispatches per forward in transformers' eager code: two
    norms (LayerNorm one fused kernel; RMSNorm eight: cast, pow, mean, add, rsqrt, mul, cast,
    weight; Gemma 2/3 norm four times, Qwen3 also its queries and keys), the Linears, the
    attention's reshapes, cache update and SDPA (11), rotary embeddings on queries and keys
    (16: two multiplies, rotate_half's two slices, negation and concatenation, an add, each),
    the activation (GPT-2's tanh GELU written out: eight; else one) and gate, two residual
    adds."""
    rms = 1 if shape.family in ("gpt2", "bert") else 8
    norms = 4 if shape.family in ("gemma2", "gemma3") else 2
    if shape.family == "qwen3":
        norms += 2
    linears = sum(c for _, _, _, c, _ in shape.linear_modules())
    rotary = 0 if shape.family in ("gpt2", "bert") else 16
    act = 8 if shape.hidden_act == "gelu_new" else 1
    return norms * rms + linears + 11 + rotary + act + int(shape.gated_ffn) + 2


def generate_host_seconds(shape: ModelShape) -> float:
    """The host's time for one ``generate()`` forward (a new token or the prompt)."""
    return GENERATE_TOKEN_S + GENERATE_OP_S * generate_layer_ops(shape) * shape.num_layers


def prefill_seconds(shape: ModelShape, wl: Workload, seq: int, rates: Rates) -> float:
    """The prompt's forward pass under ``generate()``: forward matmuls, attention and the
    per-layer launch cost (a lower bound on the elementwise work)."""
    dtype = matmul_dtype(wl)
    m = wl.batch * seq
    t = sum(c * kernels.gemm_seconds(m, i, o, dtype, rates.matmul_tflops, rates.bandwidth_gb_s)
            for _, i, o, c, _ in shape.linear_modules()) * shape.num_layers
    t += kernels.gemm_seconds(wl.batch, shape.hidden_size, shape.vocab_size, dtype,
                      rates.matmul_tflops, rates.bandwidth_gb_s)
    t += (2.0 * wl.batch * shape.num_heads * seq * seq * shape.head_dim * shape.num_layers
          / (rates.attention_tflops * 1e12))
    return t + generate_host_seconds(shape)


def decode_seconds(shape: ModelShape, step_bytes: float, rates: Rates) -> tuple[float, float]:
    """Seconds per generated token: (Hugging Face generate(), llama.cpp-class runtime).

    ``generate()`` is the slower of reading ``step_bytes`` and its host time; a
    llama.cpp-class runtime is the read plus a small launch cost per layer.
    """
    bw = rates.bandwidth_gb_s * 1e9
    # both read the weights at the published decode efficiency (no faster-than-llama.cpp
    # bandwidth is claimed for generate(): its measured excess is the Python loop)
    read = step_bytes / (LLAMACPP_BANDWIDTH_EFFICIENCY * bw)
    cpp = read + LLAMACPP_LAYER_S * shape.num_layers
    return max(read, generate_host_seconds(shape)), cpp


def rates_for(peak_tflops: float, bandwidth_gb_s: float, dtype: str,
              reference: bool = False) -> Rates:
    """The rates of a GPU from its dense peak in ``dtype`` and its memory bandwidth."""
    scale = peak_tflops / kernels.REF_TFLOPS.get("bf16", 989.0)
    return Rates(matmul_tflops=peak_tflops,
                 attention_tflops=ATTENTION_EFFICIENCY * kernels.REF_TFLOPS["bf16"] * scale
                 if dtype != "fp32" else 0.5 * peak_tflops,
                 bandwidth_gb_s=bandwidth_gb_s, scaled_from_reference=not reference)
