"""The estimate of an image model (classifiers, Stable Diffusion pipelines): memory, verdict,
largest batch, changes that fit, time and energy.

:func:`estimate` is the image family's entry point; :mod:`rigready.assess.estimate.estimator`
calls it for a shape that carries a walked architecture (``shape.image``).
"""

from __future__ import annotations

from dataclasses import replace

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.fit import band_verdict, largest_passing
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.host import host_needs
from rigready.assess.estimate.image.memory import DiffusionSpec, image_memory, memory
from rigready.assess.estimate.image.stack import IMAGE_ERROR_BAND
from rigready.assess.estimate.image.timing import image_timing
from rigready.assess.estimate.inputs import EstimateError, Workload
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import Estimate, Suggestion, Verdict
from rigready.assess.units import GIB


def estimate(shape: ModelShape, wl: Workload, gpu: GpuTarget | None, *,
             dataset_items: int | None, epochs: float, electricity_usd_kwh: float,
             search: bool) -> Estimate:
    """An image classifier or diffusion pipeline: its own memory and time model (``wl`` already
    checked; ``dataset_items``: images to train on or to generate).

    Raises:
        EstimateError: a job the image family does not model.
    """
    if wl.gpus > 1:
        raise EstimateError("several GPUs are not modelled for image models (give --gpus 1)")
    if shape.kind == "diffusion" and wl.precision is None and not wl.training:
        wl = replace(wl, precision="fp16")  # diffusers pipelines are usually loaded in fp16
    plan = image_memory(shape, wl)[1]
    mem = memory(shape, wl, gpu.vram_bytes if gpu else None)  # the card's driver reservation
    reasons = [*shape.notes, *plan.notes, f"{shape.kind} ({shape.family}) at {plan.side} px: "
               "memory from the walked layers (activations per image from each layer's shape)",
               describe(mem)]
    verdict = mb = None
    sugg: tuple[Suggestion, ...] = ()
    if gpu is not None:
        verdict = image_verdict(mem, gpu)
        if search:
            mb = image_max_batch(shape, wl, gpu.vram_bytes)
            if verdict.status != "fits":
                sugg = image_suggestions(shape, wl, gpu.vram_bytes)
    t = image_timing(shape, wl, mem, plan, gpu, dataset_items, epochs, electricity_usd_kwh)
    return Estimate(shape=shape, workload=wl, gpu=gpu, memory=mem, verdict=verdict,
                    max_batch=mb, max_seq=None, suggestions=sugg, timing=t,
                    host=host_needs(shape, wl, mem), reasons=tuple(reasons))


def describe(mem: MemoryBreakdown) -> str:
    """A short line on where the peak is."""
    return f"peak during {mem.peak_phase}: {mem.total / GIB:.1f} GiB as nvidia-smi shows it"


def image_verdict(mem: MemoryBreakdown, gpu: GpuTarget) -> Verdict:
    """Fits / tight (the measured error band) / no: image pipelines are not offloaded here."""
    vram, total = gpu.vram_bytes, mem.total
    within = band_verdict(total, vram, IMAGE_ERROR_BAND)
    return within or Verdict("no", vram, total, None, (
        f"needs {total / GIB:.1f} of {vram / GIB:.1f} GiB",))


def image_max_batch(shape: ModelShape, wl: Workload, vram: int, limit: int = 4096) -> int:
    """Largest batch that fits (0: not even one)."""
    def ok(b: int) -> bool:
        return memory(shape, replace(wl, batch=b), vram).total <= vram
    return largest_passing(1, limit, ok)


def image_suggestions(shape: ModelShape, wl: Workload, vram: int) -> tuple[Suggestion, ...]:
    """Changes that make it fit, each on its own."""
    cands: list[tuple[str, Workload]] = []
    b = image_max_batch(shape, wl, vram)
    if 0 < b < wl.batch:
        extra = f" with {-(-wl.batch // b)} gradient-accumulation steps" if wl.training else ""
        cands.append((f"batch size {b}{extra}", replace(wl, batch=b)))
    diffusion = isinstance(shape.image, DiffusionSpec)
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
            total = memory(shape, changed, vram).total
        except ValueError:
            continue
        if total <= vram:
            status = "fits" if total * (1 + IMAGE_ERROR_BAND) <= vram else "tight"
            out.append(Suggestion(label, total, status))  # type: ignore[arg-type]
    return tuple(out)
