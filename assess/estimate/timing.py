"""Time and energy: training tokens/s from FLOPs, decode tokens/s from memory bandwidth.

Training FLOPs per token: 6N for full fine-tuning (forward 2N, backward 4N), about 4N for
LoRA/QLoRA (no weight gradients for the frozen base), plus 2N when activations are recomputed
(EleutherAI "Transformer Math 101"; Korthikanti et al. 2022), plus attention's own matmuls. They
run at a stated utilisation of the GPU's dense throughput. Decoding reads every weight once per
step, so its speed is bandwidth-bound (research/estimators.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass

from assess.estimate import moe
from assess.estimate.gpu import GpuTarget
from assess.estimate.inputs import Workload
from assess.estimate.memory import kv_cache_bytes, weight_bytes
from assess.estimate.model import ModelShape

#: Default share of the dense peak a Hugging Face training loop reaches (research §3: 30-40%
#: for bf16 full/LoRA on consumer GPUs, 20-30% for QLoRA; our judgement until benchmarked).
TRAIN_UTILISATION = 0.35
QLORA_UTILISATION = 0.25
#: Share of peak memory bandwidth HF transformers' generate() reaches when decoding.
DECODE_BANDWIDTH_EFFICIENCY = 0.5
#: Share of board power drawn on average under a training or decoding load.
POWER_SHARE = 0.85
#: Rest of the PC (CPU, board, drives, fans) while the GPU works, watts.
SYSTEM_OVERHEAD_W = 100.0
DEFAULT_ELECTRICITY_USD_KWH = 0.17


def load_watts(tgp_w: float | None, gpus: int = 1) -> float | None:
    """Watts the whole PC draws while its GPUs work (None when the board power is unknown)."""
    return None if tgp_w is None else tgp_w * POWER_SHARE * gpus + SYSTEM_OVERHEAD_W


@dataclass(frozen=True, slots=True)
class Timing:
    """Speed and the cost of a job; None where the GPU's figures are unknown."""

    tokens_per_s: float | None
    flops_per_token: float
    utilisation: float
    compute_dtype: str
    hours: float | None
    energy_kwh: float | None
    cost_usd: float | None
    decode_tokens_per_s: float | None
    prefill_s: float | None
    reasons: tuple[str, ...]


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


def timing(shape: ModelShape, wl: Workload, gpu: GpuTarget | None, seq: int,
           dataset_tokens: int | None = None, epochs: float = 1.0,
           utilisation: float | None = None,
           electricity_usd_kwh: float = DEFAULT_ELECTRICITY_USD_KWH) -> Timing:
    """Throughput, duration, energy and cost of the workload on ``gpu``."""
    dtype = compute_dtype(wl)
    util = utilisation if utilisation is not None else (
        QLORA_UTILISATION if wl.method == "qlora" else TRAIN_UTILISATION)
    fpt = flops_per_token(shape, wl, seq)
    reasons: list[str] = []
    peak = gpu.peak_tflops(dtype) if gpu else None
    tps: float | None = None
    if peak is None:
        reasons.append("the GPU's dense throughput is unknown, so time is unknown")
    else:
        tps = util * peak * 1e12 * wl.gpus / fpt
        origin = "measured" if gpu and gpu.measured_tflops else "datasheet dense"
        if gpu and not gpu.measured_tflops and dtype not in gpu.dense_tflops \
                and not (dtype == "bf16" and "fp16" in gpu.dense_tflops):
            origin += ", fp32 rate: no half-precision tensor figure"
        reasons.append(f"{fpt / shape.active_params:.1f}N FLOPs per token at {util:.0%} of "
                       f"{peak:.0f} {dtype} TFLOP/s ({origin}) per GPU")
    decode = prefill = None
    if not wl.training and gpu and gpu.bandwidth_gb_s:
        # a MoE reads only the experts its tokens are routed to
        step_bytes = (moe.decode_read_bytes(shape, weight_bytes(shape, wl), wl.batch)
                      + kv_cache_bytes(shape, wl))
        step_s = step_bytes / (DECODE_BANDWIDTH_EFFICIENCY * gpu.bandwidth_gb_s * 1e9 * wl.gpus)
        decode = wl.batch / step_s
        reasons.append(f"decoding reads {step_bytes / 1e9:.1f} GB per step at "
                       f"{DECODE_BANDWIDTH_EFFICIENCY:.0%} of {gpu.bandwidth_gb_s:.0f} GB/s")
        if tps:
            prefill = wl.batch * seq / (tps / util * 0.5)  # prefill runs near 50% of peak
    hours = energy = cost = None
    if dataset_tokens:
        rate = tps if wl.training else decode
        if rate:
            hours = dataset_tokens * epochs / rate / 3600.0
            watts = load_watts(gpu.tgp_w, wl.gpus) if gpu and gpu.tgp_w else None
            if watts is not None:
                energy = watts * hours / 1000.0
                cost = energy * electricity_usd_kwh
                reasons.append(f"{watts:.0f} W while working ({POWER_SHARE:.0%} of board power "
                               f"+ {SYSTEM_OVERHEAD_W:.0f} W for the rest of the PC) at "
                               f"{electricity_usd_kwh:.2f} USD/kWh")
    return Timing(tokens_per_s=tps if wl.training else decode, flops_per_token=fpt,
                  utilisation=util, compute_dtype=dtype, hours=hours, energy_kwh=energy,
                  cost_usd=cost, decode_tokens_per_s=decode, prefill_s=prefill,
                  reasons=tuple(reasons))
