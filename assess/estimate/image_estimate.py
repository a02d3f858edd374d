"""The estimate of an image model: verdict, largest batch, changes that fit, time and energy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rigready.assess.estimate import image
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.memory import GIB, MemoryBreakdown
from rigready.assess.estimate.stack import IMAGE_ERROR_BAND
from rigready.assess.estimate.timing import Timing, run_cost
from rigready.assess.estimate.verdict import Suggestion, Verdict, band_verdict, largest_passing


def image_verdict(mem: MemoryBreakdown, gpu: GpuTarget) -> Verdict:
    """Fits / tight (the measured error band) / no: image pipelines are not offloaded here."""
    vram, total = gpu.vram_bytes, mem.total
    within = band_verdict(total, vram, IMAGE_ERROR_BAND)
    return within or Verdict("no", vram, total, None, (
        f"needs {total / GIB:.1f} of {vram / GIB:.1f} GiB",))


def image_max_batch(shape: Any, wl: Workload, vram: int, limit: int = 4096) -> int:
    """Largest batch that fits (0: not even one)."""
    from rigready.assess.estimate.memory import memory

    def ok(b: int) -> bool:
        return memory(shape, replace(wl, batch=b), vram).total <= vram
    return largest_passing(1, limit, ok)


def image_suggestions(shape: Any, wl: Workload, vram: int) -> tuple[Suggestion, ...]:
    """Changes that make it fit, each on its own."""
    cands: list[tuple[str, Workload]] = []
    b = image_max_batch(shape, wl, vram)
    if 0 < b < wl.batch:
        extra = f" with {-(-wl.batch // b)} gradient-accumulation steps" if wl.training else ""
        cands.append((f"batch size {b}{extra}", replace(wl, batch=b)))
    diffusion = isinstance(shape.image, image.DiffusionSpec)
    if diffusion and wl.training and not wl.checkpointing:
        cands.append(("gradient checkpointing (unet.enable_gradient_checkpointing())",
                      replace(wl, checkpointing=True)))
    if wl.resolved_precision == "fp32":
        cands.append(("bf16 autocast (AMP)" if wl.training else "bf16 weights",
                      replace(wl, precision="amp-bf16" if wl.training and not diffusion
                              else "bf16")))
    side = wl.image_size or shape.image_size or 0
    step = 8 if diffusion else getattr(shape.image, "patch", 32) if \
        getattr(shape.image, "family", "") == "vit" else 32
    for smaller in (side * 3 // 4 // step * step, side // 2 // step * step):
        if smaller >= 64 and smaller < side:
            cands.append((f"image side {smaller} px", replace(wl, image_size=smaller)))
    out = []
    for label, changed in cands:
        try:
            total = memory_for(shape, changed, vram)
        except ValueError:
            continue
        if total <= vram:
            status = "fits" if total * (1 + IMAGE_ERROR_BAND) <= vram else "tight"
            out.append(Suggestion(label, total, status))  # type: ignore[arg-type]
    return tuple(out)


def memory_for(shape: Any, wl: Workload, vram: int) -> int:
    """NVML total of ``wl`` on a card of ``vram`` bytes."""
    from rigready.assess.estimate.memory import memory

    return memory(shape, wl, vram).total


def image_timing(shape: Any, wl: Workload, mem: MemoryBreakdown, plan: image.ImagePlan,
                 gpu: GpuTarget | None, dataset_items: int | None, epochs: float,
                 electricity_usd_kwh: float) -> Timing:
    """Images per second and what a dataset (images to train on or to generate) costs."""
    dtype = image.image_dtype(shape, wl)
    reasons: list[str] = []
    peak = gpu.peak_tflops(dtype) if gpu else None
    if dtype == "tf32" and gpu and "tf32" in gpu.dense_tflops and not gpu.measured_tflops:
        peak = gpu.dense_tflops["tf32"]
    rate = step = None
    if gpu is None or peak is None or not gpu.bandwidth_gb_s:
        reasons.append("the GPU's throughput or bandwidth is unknown, so time is unknown")
    else:
        step, what = image.image_seconds(shape, wl, mem, plan, peak, gpu.bandwidth_gb_s)
        rate = wl.batch * wl.gpus / step
        how = ("the share of peak measured for this family on an H200"
               if isinstance(shape.image, image.DiffusionSpec)
               else "each conv and Linear's matmul-shape efficiency (measured GEMM sweep), "
                    "plus elementwise traffic and per-layer overhead fitted on an H200")
        reasons.append(
            f"{what}: {step:.3f} s for {wl.batch} image(s) from the walked layers' "
            f"multiply-accumulates ({plan.macs_per_image / 1e9:,.1f} G per image per pass) at "
            f"{how}, scaled by this GPU's {peak:.0f} {dtype} TFLOP/s and "
            f"{gpu.bandwidth_gb_s:.0f} GB/s")
    hours, energy, cost = run_cost(rate, dataset_items, epochs, gpu, wl.gpus,
                                   electricity_usd_kwh, reasons)
    runtime = ("diffusers pipeline (PyTorch eager)" if isinstance(shape.image,
                                                                   image.DiffusionSpec)
               else "torchvision model (PyTorch eager)")
    return Timing(tokens_per_s=None, flops_per_token=0.0, utilisation=0.0,
                  compute_dtype=dtype, hours=hours, energy_kwh=energy, cost_usd=cost,
                  decode_tokens_per_s=None, prefill_s=None, reasons=tuple(reasons),
                  step_seconds=step, runtime=runtime, images_per_s=rate)
