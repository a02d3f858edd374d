"""Running a GGUF model with llama.cpp (and Ollama, LM Studio, which embed it): memory on the
GPU and in system RAM, how many layers fit on the GPU, and the decoding speed of that split.

llama.cpp allocates the KV cache for the whole context when it starts (``-c``), offloads the
last ``-ngl`` transformer layers to the GPU (their weights and KV cache; the output head too when
every layer fits) and keeps the token embeddings in RAM. Decoding reads every weight once per
token (for a MoE only the routed experts), so a token costs the GPU layers' bytes at the GPU's
memory bandwidth plus the CPU layers' bytes at the RAM bandwidth, plus two small PCIe hops
between the parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rigready.assess.estimate.breakdown import DRIVER_RESERVED_BYTES
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.language import moe
from rigready.assess.estimate.language.gguf import GgufSize, gguf_size, kv_bytes_per_element
from rigready.assess.estimate.model import ModelShape
from rigready.assess.units import GIB

#: Share of peak memory bandwidth llama.cpp's CUDA decode reaches (research estimators.md §3:
#: llama.cpp PR#12183, RTX 4090, 3B Q4_K_M, about 54 %).
GPU_DECODE_EFFICIENCY = 0.54
#: Per GPU layer per token: launches and synchronisation the weight read does not cover. Fitted
#: on published llama-bench tg128 runs of TinyLlama-1.1B Q4_K_M (22 layers, 636 MiB), where the
#: read alone was 10-24% too fast: RTX 4090 762 t/s (geerlingguy/ai-benchmarks#43), RTX 2080 Ti
#: 424 t/s (#46), RTX 3060 279 t/s (#40); with it the estimates are 0.88-1.06x of those.
GPU_LAYER_S = 15e-6
#: Share of the RAM's theoretical bandwidth CPU decoding reaches. Judgement, not measured.
CPU_DECODE_EFFICIENCY = 0.6
#: llama.cpp's CUDA context, cuBLAS handles and kernels (judgement, not measured), on top of
#: what the driver itself reserves.
CUDA_CONTEXT_BYTES = int(0.35 * GIB)
#: The llama.cpp process besides its buffers (code, tokenizer, threads) in RAM.
PROCESS_RAM_BYTES = int(0.3 * GIB)
#: VRAM left free when placing layers: allocator rounding, the desktop's own use of the GPU.
#: Judgement: 2 % of the card, at least 0.25 GiB.
HEADROOM_SHARE = 0.02
HEADROOM_MIN_BYTES = int(0.25 * GIB)
#: Tokens per micro-batch (``-ub``, llama.cpp's default) and the KV-cache padding.
UBATCH = 512
KV_PAD = 256
#: Latency of one host <-> device copy of the activations between the two halves of a split.
PCIE_HOP_S = 20e-6
#: Sliding-window attention llama.cpp caches only for the window: family -> (window, every
#: n-th layer global). Gemma 2/3 and gpt-oss configs (sliding_window, layer pattern).
SLIDING = {"gemma2": (4096, 2), "gemma3": (1024, 6), "gpt_oss": (128, 2)}

Status = Literal["gpu", "split", "cpu", "no-ram", "unknown-ram"]


@dataclass(frozen=True, slots=True)
class RamTarget:
    """System RAM the model may use: free bytes and bandwidth (None where unknown)."""

    available_bytes: int | None = None
    bandwidth_gb_s: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class LlamaCppPlan:
    """Where a GGUF model's parts go and how fast it decodes."""

    shape: ModelShape
    size: GgufSize
    ctx: int
    kv_type: str
    gpu: GpuTarget | None
    ram: RamTarget
    layers_total: int
    layers_on_gpu: int
    output_on_gpu: bool
    kv_bytes: int
    gpu_bytes: int
    ram_bytes: int
    status: Status
    tokens_per_s: float | None
    tokens_per_s_full_ctx: float | None
    reasons: tuple[str, ...]
    #: What the GPU holds, by part: weights, kv_cache, activations (compute buffer), context.
    gpu_parts: tuple[tuple[str, int], ...] = ()
    #: A MoE that does not fit: decode speed with the routed experts in RAM instead.
    experts_in_ram_tokens_per_s: float | None = None

    @property
    def summary(self) -> str:
        """One sentence: runs fully on GPU / with N of M layers / does not fit in RAM."""
        speed = "" if self.tokens_per_s is None else f" at about {_rate(self.tokens_per_s)}"
        n, m = self.layers_on_gpu, self.layers_total
        if self.status == "gpu":
            return f"runs fully on GPU{speed}"
        if self.status == "no-ram":
            return "does not fit in RAM"
        if self.status == "unknown-ram":
            return (f"runs with {n} of {m} layers on GPU if {self.ram_bytes / GIB:.1f} GiB of "
                    "RAM is free (RAM unknown)")
        return f"runs with {n} of {m} layers on GPU{speed}"


def _rate(tps: float) -> str:
    return f"{tps:.0f} tokens/s" if tps >= 10 else f"{tps:.1f} tokens/s"


def _kv_cells(shape: ModelShape, layer: int, ctx: int) -> int:
    window = SLIDING.get(shape.family)
    if window and (layer + 1) % window[1] != 0:
        return min(ctx, window[0] + UBATCH)  # llama.cpp's SWA cache: window + one micro-batch
    return ctx


def kv_layer_bytes(shape: ModelShape, ctx: int, kv_type: str) -> list[int]:
    """KV-cache bytes llama.cpp allocates for each layer at context ``ctx``."""
    per_cell = 2 * shape.kv_dim * kv_bytes_per_element(kv_type)
    padded = -(-ctx // KV_PAD) * KV_PAD
    return [int(per_cell * _kv_cells(shape, i, padded)) for i in range(shape.num_layers)]


def _kv_read(shape: ModelShape, layers: range, pos: int, kv_type: str) -> float:
    per_cell = 2 * shape.kv_dim * kv_bytes_per_element(kv_type)
    return sum(per_cell * _kv_cells(shape, i, pos) for i in layers)


def compute_buffer_bytes(shape: ModelShape, with_output: bool) -> int:
    """llama.cpp's worst-case compute buffer for one micro-batch (flash attention on):
    the widest activations in f32, plus the logits when the output head is on that device."""
    ffn = shape.intermediate_size * (shape.experts_per_token if shape.is_moe else 1)
    ffn += shape.shared_expert_size
    act = UBATCH * 4 * (6 * shape.hidden_size + 3 * ffn)
    return act + (UBATCH * 4 * shape.vocab_size if with_output else 0)


def plan(shape: ModelShape, ftype: str = "Q4_K_M", ctx: int = 4096, kv_type: str = "f16",
         gpu: GpuTarget | None = None, ram: RamTarget | None = None) -> LlamaCppPlan:
    """Place ``shape`` as a GGUF ``ftype`` file on ``gpu`` and in ``ram`` for ``ctx`` tokens.

    Raises:
        EstimateError: bad quant or KV type, a context below one token, not a decoder.
    """
    if ctx <= 0:
        raise EstimateError(f"context length must be above zero, got {ctx}")
    ram = ram or RamTarget()
    size = gguf_size(shape, ftype)
    kv = kv_layer_bytes(shape, ctx, kv_type)
    m = shape.num_layers
    reasons: list[str] = [
        f"{size.ftype}: {size.total_bytes / 1e9:.2f} GB file, {size.bits_per_weight:.2f} bits "
        f"per weight on average (llama-quant's mix for this model)",
        f"KV cache {kv_type} for {ctx:,} tokens: {sum(kv) / GIB:.2f} GiB"
        + (" (sliding-window layers cache only their window)" if shape.family in SLIDING
           else ""),
    ]
    if shape.max_positions and ctx > shape.max_positions:
        reasons.append(f"{ctx:,} tokens exceed the {shape.max_positions:,} positions "
                       f"{shape.name} was trained for")
    if kv_type not in ("f16", "bf16"):
        reasons.append("a quantized V cache needs flash attention (-fa on)")
    overhead = DRIVER_RESERVED_BYTES + CUDA_CONTEXT_BYTES
    full_gpu = (sum(size.layer_bytes) + size.output_bytes + sum(kv)
                + compute_buffer_bytes(shape, True) + overhead)
    n, with_output = 0, False
    usable = 0
    if gpu is not None:
        # llama.cpp allocates its buffers once (no caching allocator): its need is its total,
        # compared with the memory available for the job like every other verdict
        usable = gpu.job_bytes - max(HEADROOM_MIN_BYTES, int(HEADROOM_SHARE * gpu.vram_bytes))
    if gpu is not None and full_gpu <= usable:
        n, with_output = m, True
    elif gpu is not None:
        budget = usable - overhead - compute_buffer_bytes(shape, False)
        for i in range(m - 1, -1, -1):  # llama.cpp offloads the last layers first
            need = size.layer_bytes[i] + kv[i]
            if need > budget:
                break
            budget -= need
            n += 1
    gpu_layers = range(m - n, m)
    cpu_layers = range(0, m - n)
    gpu_weights = (sum(size.layer_bytes[i] for i in gpu_layers)
                   + (size.output_bytes if with_output else 0))
    gpu_kv = sum(kv[i] for i in gpu_layers)
    buffer = compute_buffer_bytes(shape, with_output) if gpu is not None and n else 0
    ctx_bytes = overhead if gpu is not None and n else 0
    gpu_bytes = gpu_weights + gpu_kv + buffer + ctx_bytes
    ram_bytes = (size.token_embd_bytes + size.other_bytes + PROCESS_RAM_BYTES
                 + sum(size.layer_bytes[i] + kv[i] for i in cpu_layers)
                 + (0 if with_output else size.output_bytes + compute_buffer_bytes(shape, True)))
    status = _status(n, m, with_output, ram_bytes, ram)
    if gpu is None:
        reasons.append("no GPU: every layer runs on the CPU")
    elif with_output:
        reasons.append(f"needs {full_gpu / GIB:.1f} of {gpu.job_bytes / GIB:.1f} GiB available "
                       "(weights, KV cache, compute buffer, CUDA context)")
    else:
        reasons.append(f"all on the GPU would need {full_gpu / GIB:.1f} GiB, it has "
                       f"{gpu.job_bytes / GIB:.1f} available: -ngl {n} puts {n} layers "
                       f"({gpu_bytes / GIB:.1f} GiB) on it; the rest and the output head stay "
                       "in RAM")
    reasons.append(_ram_reason(ram_bytes, ram))
    tps, tps_full, why = _speed(shape, size, kv_type, ctx, n, with_output, gpu, ram)
    if status == "no-ram":  # it cannot load, so it has no speed to give
        tps = tps_full = None
        why = ["no speed: the model does not fit in this PC's memory"]
    reasons.extend(why)
    moe_tps = None
    if shape.is_moe and gpu is not None and not with_output:
        moe_tps, why_moe = _experts_in_ram(shape, size, kv, ctx, kv_type, gpu, ram, usable)
        reasons.extend(why_moe)
    return LlamaCppPlan(shape=shape, size=size, ctx=ctx, kv_type=kv_type, gpu=gpu, ram=ram,
                        layers_total=m, layers_on_gpu=n, output_on_gpu=with_output,
                        kv_bytes=sum(kv), gpu_bytes=gpu_bytes, ram_bytes=ram_bytes,
                        status=status, tokens_per_s=tps, tokens_per_s_full_ctx=tps_full,
                        reasons=tuple(reasons),
                        gpu_parts=(("context", ctx_bytes), ("weights", gpu_weights),
                                   ("activations", buffer), ("kv_cache", gpu_kv)),
                        experts_in_ram_tokens_per_s=moe_tps)


def _experts_in_ram(shape: ModelShape, size: GgufSize, kv: list[int], ctx: int, kv_type: str,
                    gpu: GpuTarget, ram: RamTarget, usable: int,
                    ) -> tuple[float | None, list[str]]:
    """The other way to split a MoE (``--n-cpu-moe`` / ``-ot exps=CPU``): every layer's
    attention, router and shared expert on the GPU, the routed experts in RAM."""
    m = shape.num_layers
    experts = sum(size.expert_bytes)
    dense = sum(size.layer_bytes) - experts
    overhead = DRIVER_RESERVED_BYTES + CUDA_CONTEXT_BYTES
    on_gpu = dense + size.output_bytes + sum(kv) + compute_buffer_bytes(shape, True) + overhead
    in_ram = experts + size.token_embd_bytes + size.other_bytes + PROCESS_RAM_BYTES
    flag = f"--n-cpu-moe {m}"
    if on_gpu > usable:
        return None, [f"keeping the experts in RAM ({flag}) would still need "
                      f"{on_gpu / GIB:.1f} GiB of VRAM"]
    if ram.available_bytes is not None and in_ram > ram.available_bytes:
        return None, [f"keeping the experts in RAM ({flag}) needs {in_ram / GIB:.1f} GiB of "
                      "RAM, more than is available"]
    where = (f"keeping the experts in RAM ({flag} or -ot exps=CPU) puts all attention on the "
             f"GPU ({on_gpu / GIB:.1f} GiB) and {in_ram / GIB:.1f} GiB in RAM")
    if not gpu.bandwidth_gb_s or not ram.bandwidth_gb_s:
        return None, [where + "; its speed needs the GPU's and the RAM's bandwidth"]
    share = moe.expert_share_read(shape, 1)
    gpu_read = dense + size.output_bytes + _kv_read(shape, range(m), 1, kv_type)
    t = (gpu_read / (GPU_DECODE_EFFICIENCY * gpu.bandwidth_gb_s * 1e9)
         + experts * share / (CPU_DECODE_EFFICIENCY * ram.bandwidth_gb_s * 1e9)
         + 2 * m * PCIE_HOP_S)  # every layer hands its activations to the CPU and back
    return 1.0 / t, [where + f": about {_rate(1.0 / t)}"]


def _status(n: int, m: int, with_output: bool, ram_bytes: int, ram: RamTarget) -> Status:
    if n == m and with_output:
        return "gpu"
    if ram.available_bytes is None:
        return "unknown-ram"
    if ram_bytes > ram.available_bytes:
        return "no-ram"
    return "split" if n else "cpu"


def _ram_reason(ram_bytes: int, ram: RamTarget) -> str:
    need = f"system RAM for the CPU part: {ram_bytes / GIB:.1f} GiB"
    if ram.available_bytes is None:
        return need + " (RAM unknown: use --profile, or give --ram-gib)"
    return need + f" of {ram.available_bytes / GIB:.1f} GiB available ({ram.source or 'given'})"


def _read_bytes(size: GgufSize, layers: range, share: float) -> float:
    return sum(size.layer_bytes[i] - size.expert_bytes[i] * (1.0 - share) for i in layers)


def _speed(shape: ModelShape, size: GgufSize, kv_type: str, ctx: int, n: int,
           with_output: bool, gpu: GpuTarget | None, ram: RamTarget,
           ) -> tuple[float | None, float | None, list[str]]:
    m = shape.num_layers
    share = moe.expert_share_read(shape, 1)
    gpu_layers, cpu_layers = range(m - n, m), range(0, m - n)
    head = float(size.output_bytes or size.token_embd_bytes)  # a tied head reads the table
    gpu_w = _read_bytes(size, gpu_layers, share) + (head if with_output else 0.0)
    cpu_w = _read_bytes(size, cpu_layers, share) + (0.0 if with_output else head)
    gpu_bw = gpu.bandwidth_gb_s if gpu is not None else None
    why: list[str] = []
    if gpu_w and not gpu_bw:
        return None, None, ["the GPU's memory bandwidth is unknown, so speed is unknown"]
    if cpu_w and not ram.bandwidth_gb_s:
        return None, None, ["the RAM's bandwidth is unknown (use --profile with a detected "
                            "memory speed, or --ram-gb-s), so speed is unknown"]

    def per_token(pos: int) -> float:
        t = 0.0
        if gpu_w and gpu_bw:
            t += (gpu_w + _kv_read(shape, gpu_layers, pos, kv_type)) / (
                GPU_DECODE_EFFICIENCY * gpu_bw * 1e9) + GPU_LAYER_S * n
        if cpu_w and ram.bandwidth_gb_s:
            t += (cpu_w + _kv_read(shape, cpu_layers, pos, kv_type)) / (
                CPU_DECODE_EFFICIENCY * ram.bandwidth_gb_s * 1e9)
        if gpu_w and cpu_w:
            pcie = gpu.pcie_gb_s if gpu is not None and gpu.pcie_gb_s else 12.0
            t += 2 * (PCIE_HOP_S + 4 * shape.hidden_size / (pcie * 1e9))
        return t

    short, full = 1.0 / per_token(1), 1.0 / per_token(ctx)
    if shape.is_moe:
        why.append(f"a token reads {shape.experts_per_token} of {shape.num_experts} experts "
                   "per layer")
    if gpu_w and gpu_bw:
        why.append(f"GPU part: {gpu_w / 1e9:.2f} GB read per token at "
                   f"{GPU_DECODE_EFFICIENCY:.0%} of {gpu_bw:.0f} GB/s, plus "
                   f"{GPU_LAYER_S * 1e6:.0f} µs per layer of launch cost")
    if cpu_w and ram.bandwidth_gb_s:
        why.append(f"CPU part: {cpu_w / 1e9:.2f} GB read per token at "
                   f"{CPU_DECODE_EFFICIENCY:.0%} of {ram.bandwidth_gb_s:.0f} GB/s RAM bandwidth")
    why.append(f"about {_rate(full)} with the {ctx:,}-token context full")
    return short, full, why


def ram_from_memory_info(info: Any) -> RamTarget:
    """Free RAM and bandwidth from a detected ``MemoryInfo`` (speed x 8 bytes x channels).

    The channel count is not detected: populated slots, at most two (desktop dual channel);
    the source says so.
    """
    free = getattr(info, "available_bytes", None) or getattr(info, "total_bytes", None)
    speed = getattr(info, "speed_mts", None)
    slots = getattr(info, "slots_used", None)
    bandwidth = None
    source = "detected"
    if speed:
        channels = min(2, slots) if slots else 2
        bandwidth = speed * 8 * channels / 1000.0
        source = (f"detected {speed} MT/s x {channels} channel(s)"
                  + ("" if slots else " (channels assumed)"))
    return RamTarget(available_bytes=free, bandwidth_gb_s=bandwidth, source=source)


def plan_to_dict(p: LlamaCppPlan) -> dict[str, Any]:
    """The JSON form of ``rigready estimate --runtime llama.cpp --json`` (keys in README)."""
    def gib(v: float | None) -> float | None:
        return None if v is None else round(v / GIB, 3)

    return {
        "runtime": "llama.cpp", "model": p.shape.name, "params": p.shape.params,
        "quant": p.size.ftype, "bits_per_weight": round(p.size.bits_per_weight, 3),
        "file_gb": round(p.size.total_bytes / 1e9, 3), "ctx": p.ctx, "kv_type": p.kv_type,
        "kv_cache_gib": gib(p.kv_bytes), "gpu": p.gpu.name if p.gpu else None,
        # the memory the plan compared with (free for the job), and the card's
        "vram_gib": gib(p.gpu.job_bytes) if p.gpu else None,
        "card_vram_gib": gib(p.gpu.vram_bytes) if p.gpu else None,
        "layers_total": p.layers_total, "layers_on_gpu": p.layers_on_gpu,
        "output_on_gpu": p.output_on_gpu, "gpu_gib": gib(p.gpu_bytes),
        "ram_gib": gib(p.ram_bytes), "ram_available_gib": gib(p.ram.available_bytes),
        "ram_bandwidth_gb_s": p.ram.bandwidth_gb_s, "verdict": p.status,
        "summary": p.summary,
        "tokens_per_s": None if p.tokens_per_s is None else round(p.tokens_per_s, 1),
        "tokens_per_s_full_ctx": None if p.tokens_per_s_full_ctx is None
        else round(p.tokens_per_s_full_ctx, 1),
        "experts_in_ram_tokens_per_s": None if p.experts_in_ram_tokens_per_s is None
        else round(p.experts_in_ram_tokens_per_s, 1),
        "reasons": list(p.reasons),
    }
