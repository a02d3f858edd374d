"""Time and energy of a language model: training step time from the model's kernels, decoding
per runtime.

Training speed comes from :mod:`rigready.assess.estimate.language.speed`: every matmul at its
measured shape-dependent efficiency, attention, memory-bound work at bandwidth and a per-step
overhead, calibrated on step times measured on an H200 and scaled to the target GPU by its
throughput and bandwidth. A ``utilisation`` given by the user replaces that with the old flat model:
FLOPs per token (6N full, 4N LoRA, +2N recomputation, plus attention; EleutherAI "Transformer Math
101") at that share of the dense peak. Decoding is given for two runtimes: Hugging Face
``generate()`` (what was measured; its host time per token bounds it on fast GPUs) and a
llama.cpp-class runtime (bandwidth-bound; research/estimators.md section 3).
"""

from __future__ import annotations

from rigready.assess.estimate import kernels
from rigready.assess.estimate.energy import DEFAULT_ELECTRICITY_USD_KWH, run_cost
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import moe, sharded, speed
from rigready.assess.estimate.language.memory import (
    kv_cache_bytes,
    lora_params,
    regime,
    weight_bytes,
)
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import Timing

#: Default share of the dense peak a Hugging Face training loop reaches (research §3: 30-40%
#: for bf16 full/LoRA on consumer GPUs, 20-30% for QLoRA; our judgement until benchmarked).
TRAIN_UTILISATION = 0.35
QLORA_UTILISATION = 0.25


def compute_dtype(wl: Workload) -> str:
    """The dtype the matmuls run in."""
    p = wl.resolved_precision
    if p == "fp32":
        return "fp32"
    return "fp16" if p in ("fp16", "amp-fp16") else "bf16"


def flops_per_token(shape: ModelShape, wl: Workload, seq: int) -> float:
    """Hardware FLOPs per processed token (recomputation included)."""
    n = shape.active_params
    attn = 2.0 * shape.num_layers * seq * shape.q_dim  # causal QK^T and AV, forward
    if not wl.training:
        return 2.0 * n + attn
    passes = 3.0 if wl.method == "full" else 2.0  # forward + backward (input, weight grads)
    if wl.checkpointing:
        passes += 1.0
    return passes * 2.0 * n + (3.0 + (1.0 if wl.checkpointing else 0.0)) * attn


def _rates(gpu: GpuTarget, wl: Workload) -> tuple[speed.Rates, str] | None:
    """The target's kernel rates and where they come from (None: figures unknown)."""
    dtype = speed.matmul_dtype(wl)
    peak = kernels.peak_tflops(gpu, dtype)
    if peak is None or not gpu.bandwidth_gb_s:
        return None
    if gpu.measured_tflops:
        # a measured matmul rate already includes the efficiency the model applies
        peak = gpu.measured_tflops / kernels.GEMM_EFFICIENCY.get(dtype, 0.7)
        origin = f"measured {gpu.measured_tflops:.0f} TFLOP/s matmul"
    else:
        origin = f"datasheet {peak:.0f} {dtype} TFLOP/s"
        if dtype not in gpu.dense_tflops and not (dtype == "bf16" and "fp16" in gpu.dense_tflops):
            origin += " (fp32 rate: no half-precision tensor figure)"
    return speed.rates_for(peak, gpu.bandwidth_gb_s, dtype), \
        f"{origin} and {gpu.bandwidth_gb_s:.0f} GB/s"


def _training_speed(shape: ModelShape, wl: Workload, gpu: GpuTarget | None, seq: int,
                    fpt: float, utilisation: float | None,
                    reasons: list[str]) -> tuple[float | None, float | None, float]:
    """(tokens/s over all GPUs, step seconds, utilisation of the dense peak)."""
    dtype = compute_dtype(wl)
    peak = gpu.peak_tflops(dtype) if gpu else None
    if gpu is None or peak is None:
        reasons.append("the GPU's dense throughput is unknown, so time is unknown")
        return None, None, utilisation or 0.0
    rated = _rates(gpu, wl) if utilisation is None else None
    if rated is None:
        util = utilisation if utilisation is not None else (
            QLORA_UTILISATION if wl.method == "qlora" else TRAIN_UTILISATION)
        tps = util * peak * 1e12 * wl.gpus / fpt
        reasons.append(f"{fpt / shape.active_params:.1f}N FLOPs per token at {util:.0%} of "
                       f"{peak:.0f} {dtype} TFLOP/s per GPU (flat utilisation"
                       + (", as given)" if utilisation is not None else
                          ": bandwidth unknown, so the kernel model cannot run)"))
        return tps, wl.batch * seq / (tps / wl.gpus), util
    rates, origin = rated
    st = speed.training_step(shape, wl, seq, rates)
    step = st.total_s
    if wl.param_offload:  # every step copies the rank's shard in for forward and backward
        rg = regime(shape, wl)
        trainable = shape.params if wl.method == "full" else \
            lora_params(shape, rg.targets, wl.lora_rank)
        moved = sharded.offload_seconds(shape, wl, trainable, gpu.pcie_gb_s)
        step += moved
        reasons.append(f"parameters in system RAM: {moved:.1f} s more a step copying this GPU's "
                       "shard in for forward and backward (7.9x slower measured on an H100 over "
                       "PCIe 5, scaled by this PC's PCIe bandwidth; the host's memory copies "
                       "bound it as much as the link)")
    tps = wl.batch * seq * wl.gpus / step
    util = fpt * tps / wl.gpus / (peak * 1e12)
    reasons.append(
        f"step {step * 1000:.0f} ms per micro-batch (matmuls {st.matmul_s * 1000:.0f}, attention "
        f"{st.attention_s * 1000:.0f}, memory-bound {st.memory_s * 1000:.0f} ms on the GPU; "
        f"host dispatch {st.overhead_s * 1000:.0f} ms, partly overlapping it"
        + (f"; adapter wrappers {st.wrapper_s * 1000:.0f} ms" if st.wrapper_s else "")
        + "): the model's kernels calibrated on step times measured "
        f"on an H200 (Transformers + PyTorch eager, 124M-8B), scaled by this GPU's {origin}"
        + ("; QLoRA: bitsandbytes' dequantization at bandwidth plus its per-Linear and "
           "per-layer cost, "
           "checked on measured QLoRA steps (0.78-1.23x)" if wl.method == "qlora" else "")
        + ("; several GPUs: communication not counted" if wl.gpus > 1 else ""))
    return tps, step, util


def timing(shape: ModelShape, wl: Workload, gpu: GpuTarget | None, seq: int,
           dataset_tokens: int | None = None, epochs: float = 1.0,
           utilisation: float | None = None,
           electricity_usd_kwh: float = DEFAULT_ELECTRICITY_USD_KWH) -> Timing:
    """Throughput, duration, energy and cost of the workload on ``gpu``."""
    dtype = compute_dtype(wl)
    fpt = flops_per_token(shape, wl, seq)
    reasons: list[str] = []
    tps: float | None = None
    step: float | None = None
    util = utilisation or 0.0
    decode = prefill = llamacpp = None
    runtime = ""
    if wl.training:
        tps, step, util = _training_speed(shape, wl, gpu, seq, fpt, utilisation, reasons)
        runtime = "Transformers + PyTorch (eager) training loop"
    elif gpu is not None and gpu.bandwidth_gb_s:
        rated = _rates(gpu, wl)
        # a MoE reads only the experts its tokens are routed to
        step_bytes = (moe.decode_read_bytes(shape, weight_bytes(shape, wl), wl.batch)
                      + kv_cache_bytes(shape, wl))
        rates = rated[0] if rated else speed.rates_for(1.0, gpu.bandwidth_gb_s, dtype)
        hf_s, cpp_s = speed.decode_seconds(shape, step_bytes / wl.gpus, rates)
        decode, llamacpp = wl.batch / hf_s, wl.batch / cpp_s
        runtime = "Hugging Face transformers generate()"
        reasons.append(
            f"decoding, Transformers generate(): {decode:,.0f} tokens/s ({hf_s * 1000:.1f} ms a "
            f"step: reading {step_bytes / 1e9:.1f} GB at "
            f"{speed.LLAMACPP_BANDWIDTH_EFFICIENCY:.0%} of {gpu.bandwidth_gb_s:.0f} GB/s, or its "
            "host time: "
            f"{speed.GENERATE_TOKEN_S * 1000:.1f} ms a token plus "
            f"{speed.GENERATE_OP_S * 1e6:.0f} µs x {speed.generate_layer_ops(shape)} operations x "
            f"{shape.num_layers} layers, fitted on an H200, whichever is slower)")
        reasons.append(
            f"decoding, llama.cpp-class runtime (bandwidth-bound, "
            f"{speed.LLAMACPP_BANDWIDTH_EFFICIENCY:.0%} of bandwidth, a published figure, plus "
            f"{speed.LLAMACPP_LAYER_S * 1e6:.0f} µs per layer fitted on published small-model "
            f"runs): about {llamacpp:,.0f} tokens/s")
        if rated:
            prefill = speed.prefill_seconds(shape, wl, seq, rated[0])
    hours, energy, cost = run_cost(tps if wl.training else decode, dataset_tokens, epochs, gpu,
                                   wl.gpus, electricity_usd_kwh, reasons)
    return Timing(tokens_per_s=tps if wl.training else decode, flops_per_token=fpt,
                  utilisation=round(util, 3), compute_dtype=dtype, hours=hours,
                  energy_kwh=energy, cost_usd=cost, decode_tokens_per_s=decode,
                  prefill_s=prefill, reasons=tuple(reasons), step_seconds=step,
                  runtime=runtime, llamacpp_tokens_per_s=llamacpp)
