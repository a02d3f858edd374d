"""The workload estimator: can this GPU run, fine-tune or train model X, and how long will it take?

``estimate(shape, workload, gpu)`` is a pure function: memory (per component, as NVML shows it),
the verdict, the largest batch and sequence that fit, the cheapest changes that make it fit, time,
energy and host needs. Models come from :func:`resolve_model` (a catalog name, a
``config.json`` path, a parameter count or a Hugging Face Hub id); GPUs from
:mod:`rigready.assess.estimate.gpu`.

The memory formulas are checked against peaks measured on an H100 (``benchmarks/
calibrate_memory.py``, ``tests/data/calibration/``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rigready.assess.estimate.gpu import GpuTarget, gpu_from_entry, gpu_from_info
from rigready.assess.estimate.inputs import EstimateError, Workload
from rigready.assess.estimate.memory import GIB, MemoryBreakdown, effective_seq, memory, regime
from rigready.assess.estimate.model import ModelShape, with_head
from rigready.assess.estimate.resolve import find_model, resolve_model
from rigready.assess.estimate.stack import assumptions, error_band, lighter_alternatives
from rigready.assess.estimate.timing import DEFAULT_ELECTRICITY_USD_KWH, Timing, timing
from rigready.assess.estimate.verdict import (
    HostNeeds,
    Suggestion,
    Verdict,
    host_needs,
    judge,
    max_batch,
    max_seq,
    suggestions,
)

__all__ = [
    "Estimate", "EstimateError", "GpuTarget", "MemoryBreakdown", "ModelShape", "Workload",
    "estimate", "estimate_to_dict", "find_model", "gpu_from_entry", "gpu_from_info",
    "resolve_model", "speed_lines",
]


@dataclass(frozen=True, slots=True)
class Estimate:
    """Everything the estimator says about one job on one GPU."""

    shape: ModelShape
    workload: Workload
    gpu: GpuTarget | None
    memory: MemoryBreakdown
    verdict: Verdict | None
    max_batch: int | None
    max_seq: int | None
    suggestions: tuple[Suggestion, ...]
    timing: Timing
    host: HostNeeds
    reasons: tuple[str, ...]


def estimate(shape: ModelShape, workload: Workload, gpu: GpuTarget | None = None, *,
             dataset_tokens: int | None = None, epochs: float = 1.0,
             utilisation: float | None = None, ram_available: int | None = None,
             electricity_usd_kwh: float = DEFAULT_ELECTRICITY_USD_KWH,
             search: bool = True) -> Estimate:
    """Estimate ``workload`` for ``shape`` on ``gpu`` (None: memory only, no verdict).

    Args:
        shape: the model.
        workload: method, precision and sizes.
        gpu: the target GPU; its VRAM decides the verdict, its TFLOP/s and bandwidth the time.
        dataset_tokens: tokens in the dataset (training) or to generate (inference), for time
            and energy.
        epochs: passes over the dataset.
        utilisation: share of the dense peak reached (default 0.35; QLoRA 0.25).
        ram_available: system RAM free for offloading, bytes (None: not checked).
        electricity_usd_kwh: price of electricity.
        search: also search the largest batch/sequence and the suggestions (slower).

    Raises:
        EstimateError: impossible input (zero sizes, options that do not fit the method).
    """
    workload.check()
    shape = with_head(shape, workload.head)
    if dataset_tokens is not None and dataset_tokens <= 0:
        raise EstimateError(f"dataset size must be above zero, got {dataset_tokens} tokens")
    if epochs <= 0:
        raise EstimateError(f"epochs must be above zero, got {epochs}")
    if shape.image is not None:
        return _estimate_image(shape, workload, gpu, dataset_tokens, epochs,
                               electricity_usd_kwh, search)
    reasons = list(shape.notes)
    rg = regime(shape, workload)
    if workload.method in ("lora", "qlora"):
        unknown = [t for t in workload.lora_targets if t not in rg.targets
                   and t.lower() not in ("all-linear", "all_linear")]
        if not rg.targets:
            names = sorted({m[0] for m in shape.linear_modules()})
            raise EstimateError(f"none of the LoRA targets {', '.join(workload.lora_targets)} "
                                f"is a Linear of {shape.name} (it has {', '.join(names)})")
        if unknown and len(unknown) == len(workload.lora_targets):
            reasons.append(f"{', '.join(unknown)}: not in {shape.name}; used its equivalent "
                           f"{', '.join(sorted(rg.targets))}")
        elif unknown:
            reasons.append(f"LoRA targets not in this model, ignored: {', '.join(unknown)}")
    mem = memory(shape, workload, gpu.vram_bytes if gpu is not None else None)
    span = effective_seq(shape, workload) + (0 if workload.training else workload.new_tokens)
    if shape.max_positions and span > shape.max_positions:
        reasons.append(f"{span:,} tokens exceed the {shape.max_positions:,} positions "
                       f"{shape.name} was trained for")
    reasons.append(f"peak during {mem.peak_phase}" + (
        f"; gradients ({mem.gradients_total / GIB:.1f} GiB) appear only as activations are "
        "freed" if mem.peak_phase != "end of backward" and mem.gradients_total else ""))
    if workload.gpus > 1:
        reasons.append("several GPUs: training assumes FSDP full sharding, inference splits "
                       "layers across GPUs; figures are per GPU")
    verdict = mb = ms = None
    sugg: tuple[Suggestion, ...] = ()
    if gpu is not None:
        verdict = judge(shape, workload, mem, gpu, ram_available)
        if search:
            mb = max_batch(shape, workload, gpu.vram_bytes)
            ms = max_seq(shape, workload, gpu.vram_bytes)
            if verdict.status != "fits":
                sugg = suggestions(shape, workload, gpu.vram_bytes,
                                   more_gpus=gpu.multi_gpu or workload.gpus > 1)
        reasons.extend(lighter_alternatives(workload, mem.total, gpu.vram_bytes))
    host = host_needs(shape, workload, mem)
    if verdict is not None and verdict.offloaded_bytes:
        host = HostNeeds(host.ram_bytes + verdict.offloaded_bytes, host.load_peak_bytes,
                         host.disk_bytes, (*host.reasons, "plus what is offloaded to RAM"))
    seq = effective_seq(shape, workload)
    t = timing(shape, workload, gpu, seq, dataset_tokens, epochs, utilisation,
               electricity_usd_kwh)
    return Estimate(shape=shape, workload=workload, gpu=gpu, memory=mem, verdict=verdict,
                    max_batch=mb, max_seq=ms, suggestions=sugg, timing=t, host=host,
                    reasons=tuple(reasons))


def _estimate_image(shape: ModelShape, wl: Workload, gpu: GpuTarget | None,
                    dataset_items: int | None, epochs: float, electricity_usd_kwh: float,
                    search: bool) -> Estimate:
    """An image classifier or diffusion pipeline: its own memory and time model."""
    from rigready.assess.estimate import image, image_estimate

    if wl.gpus > 1:
        raise EstimateError("several GPUs are not modelled for image models (give --gpus 1)")
    if shape.kind == "diffusion" and wl.precision is None and not wl.training:
        wl = replace(wl, precision="fp16")  # diffusers pipelines are usually loaded in fp16
    plan = image.image_memory(shape, wl)[1]
    mem = memory(shape, wl, gpu.vram_bytes if gpu else None)  # the card's driver reservation
    reasons = [*shape.notes, *plan.notes, f"{shape.kind} ({shape.family}) at {plan.side} px: "
               "memory from the walked layers (activations per image from each layer's shape)",
               image.describe(mem)]
    verdict = mb = None
    sugg: tuple[Suggestion, ...] = ()
    if gpu is not None:
        verdict = image_estimate.image_verdict(mem, gpu)
        if search:
            mb = image_estimate.image_max_batch(shape, wl, gpu.vram_bytes)
            if verdict.status != "fits":
                sugg = image_estimate.image_suggestions(shape, wl, gpu.vram_bytes)
    t = image_estimate.image_timing(shape, wl, mem, plan, gpu, dataset_items, epochs,
                                    electricity_usd_kwh)
    return Estimate(shape=shape, workload=wl, gpu=gpu, memory=mem, verdict=verdict,
                    max_batch=mb, max_seq=None, suggestions=sugg, timing=t,
                    host=host_needs(shape, wl, mem), reasons=tuple(reasons))


def speed_lines(est: Estimate) -> list[str]:
    """The speed figures of an estimate as lines of text, each naming its runtime (shared by
    the CLI and the Can I run it? page)."""
    wl, t = est.workload, est.timing
    if t.images_per_s is not None and t.step_seconds is not None:
        what = "training" if wl.training else "generating" if est.shape.kind == "diffusion" \
            else "inference"
        return [f"{what}: {t.images_per_s:,.2f} images/s ({t.step_seconds:.3f} s a batch of "
                f"{wl.batch})"]
    if t.tokens_per_s is None:
        return ["unknown (no throughput figures for this GPU)"]
    if wl.training:
        step = f" ({t.step_seconds * 1000:,.0f} ms a step)" if t.step_seconds else ""
        return [f"training: {t.tokens_per_s:,.0f} tokens/s{step}"]
    lines = [f"decoding with Transformers generate(): {t.tokens_per_s:,.0f} tokens/s"
             + ("" if t.llamacpp_tokens_per_s and t.llamacpp_tokens_per_s > 1.05 * t.tokens_per_s
                else " (a llama.cpp-class runtime reads the weights no faster here)")]
    if t.llamacpp_tokens_per_s and t.llamacpp_tokens_per_s > 1.05 * t.tokens_per_s:
        lines.append(f"decoding with a llama.cpp-class runtime: about "
                     f"{t.llamacpp_tokens_per_s:,.0f} tokens/s")
    return lines


def _gib(value: float | None) -> float | None:
    return None if value is None else round(value / GIB, 3)


def estimate_to_dict(est: Estimate) -> dict[str, Any]:
    """The JSON form used by ``rigready estimate --json``."""
    m, t = est.memory, est.timing
    return {
        "model": est.shape.name, "params": est.shape.params,
        "method": est.workload.method, "precision": est.workload.resolved_precision,
        "gpu": est.gpu.name if est.gpu else None,
        "total_gib": _gib(m.total),
        "breakdown_gib": {k: _gib(v) for k, v in m.parts().items()},
        "allocated_gib": _gib(m.allocated), "reserved_gib": _gib(m.reserved),
        "peak_phase": m.peak_phase, "gradients_total_gib": _gib(m.gradients_total),
        "trainable_params": m.trainable_params,
        "verdict": est.verdict.status if est.verdict else None,
        "vram_gib": _gib(est.verdict.vram_bytes) if est.verdict else None,
        "margin_gib": _gib(est.verdict.vram_bytes - m.total) if est.verdict else None,
        "error_band": error_band(est.workload, est.shape.kind),
        "assumes": assumptions(est.workload, est.shape.kind, est.shape.head),
        "head": est.shape.head or None,
        "offload_slowdown": est.verdict.offload_slowdown if est.verdict else None,
        "ram_gib": _gib(est.host.ram_bytes), "load_peak_ram_gib": _gib(est.host.load_peak_bytes),
        "disk_gib": _gib(est.host.disk_bytes),
        "max_batch": est.max_batch, "max_seq": est.max_seq,
        "tokens_per_s": None if t.tokens_per_s is None else round(t.tokens_per_s, 1),
        "utilisation": t.utilisation,
        "step_seconds": None if t.step_seconds is None else round(t.step_seconds, 4),
        "runtime": t.runtime or None,
        "llamacpp_tokens_per_s": None if t.llamacpp_tokens_per_s is None
        else round(t.llamacpp_tokens_per_s, 1),
        "images_per_s": None if t.images_per_s is None else round(t.images_per_s, 2),
        "kind": est.shape.kind, "image_size": est.shape.image_size if est.shape.image is None
        else (est.workload.image_size or est.shape.image_size),
        "hours": None if t.hours is None else round(t.hours, 3),
        "energy_kwh": None if t.energy_kwh is None else round(t.energy_kwh, 3),
        "cost_usd": None if t.cost_usd is None else round(t.cost_usd, 2),
        "suggestions": [{"change": s.change, "total_gib": _gib(s.total_bytes),
                         "verdict": s.status} for s in est.suggestions],
        "reasons": [*est.reasons, *(est.verdict.reasons if est.verdict else ()),
                    *t.reasons, *est.host.reasons],
    }
