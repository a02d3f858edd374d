"""The estimate of an image model (classifiers, Stable Diffusion and diffusion-transformer
pipelines): memory, verdict, largest batch, changes that fit, time and energy.

:func:`estimate` is the image family's entry point; :mod:`rigready.assess.estimate.estimator`
calls it for a shape that carries a walked architecture (``shape.image``). Every verdict
compares the least memory the job needs on a card (``needs_free_bytes``) with the memory
available for it (``GpuTarget.job_bytes``).
"""

from __future__ import annotations

from dataclasses import replace

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.fit import band_verdict, largest_passing, needs_text, status_of
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.host import host_needs
from rigready.assess.estimate.image import dit
from rigready.assess.estimate.image.diffusion import DiffusionSpec
from rigready.assess.estimate.image.memory import image_memory, memory
from rigready.assess.estimate.image.stack import error_band
from rigready.assess.estimate.image.timing import image_timing
from rigready.assess.estimate.inputs import EstimateError, Offload, Workload
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import Estimate, Suggestion, Verdict
from rigready.assess.units import GIB

#: GGUF file types offered when a diffusion transformer does not fit (the common ones).
_GGUF_STEPS = ("Q8_0", "Q5_K_S", "Q4_K_S", "Q3_K_S")


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
        # diffusers pipelines: SD 1.x / XL usually loaded in fp16, SD3.5 / FLUX.1 in bf16
        wl = replace(wl, precision="bf16" if isinstance(shape.image, dit.DitSpec) else "fp16")
    wl = as_the_app_runs_it(shape, wl, gpu)
    plan = image_memory(shape, wl)[1]
    mem = memory(shape, wl, gpu.vram_bytes if gpu else None)  # the card's driver reservation
    reasons = [*shape.notes, *plan.notes, f"{shape.kind} ({shape.family}) at {plan.side} px: "
               "memory from the walked layers (activations per image from each layer's shape)",
               describe(mem)]
    verdict = mb = None
    sugg: tuple[Suggestion, ...] = ()
    if gpu is not None:
        verdict = image_verdict(mem, gpu, error_band(wl, shape.family))
        if search:
            mb = image_max_batch(shape, wl, gpu)
            if verdict.status != "fits":
                sugg = image_suggestions(shape, wl, gpu)
    t = image_timing(shape, wl, mem, plan, gpu, dataset_items, epochs, electricity_usd_kwh)
    return Estimate(shape=shape, workload=wl, gpu=gpu, memory=mem, verdict=verdict,
                    max_batch=mb, max_seq=None, suggestions=sugg, timing=t,
                    host=host_needs(shape, wl, mem), reasons=tuple(reasons))


def as_the_app_runs_it(shape: ModelShape, wl: Workload, gpu: GpuTarget | None) -> Workload:
    """Image generation in a ComfyUI / Forge-class app (``wl.image_runtime == "comfyui"``): the
    pipeline as that app runs it on ``gpu``, the cheapest way in time that fits the memory free
    for the job with the estimate's error band to spare (else the cheapest that fits at all):
    every component resident, then the VAE decoding in tiles, then models loaded as needed,
    then both (ComfyUI keeps models on the GPU while they fit, unloads others when short and
    falls back to a tiled decode; the user's offload and tiling are the least it does). Where
    none fits, or with no GPU to judge, the lightest: the least a card must have free in that
    app. Anything else is returned as it is."""
    if wl.image_runtime != "comfyui" or wl.training or shape.kind != "diffusion":
        return wl
    steps: tuple[tuple[Offload, bool], ...] = (("none", False), ("none", True),
                                                ("model", False), ("model", True))
    ladder = [replace(wl, vae_tiling=wl.vae_tiling or tiled, offload=offload)
              for offload, tiled in steps if wl.offload == "none" or offload == "model"]
    if gpu is None:
        return ladder[-1]
    needs = [memory(shape, option, gpu.vram_bytes).needs_free_bytes for option in ladder]
    for option, need in zip(ladder, needs, strict=True):
        if status_of(need, gpu.job_bytes, error_band(option, shape.family)) == "fits" \
                and need <= gpu.job_bytes:
            return option
    return next((o for o, n in zip(ladder, needs, strict=True) if n <= gpu.job_bytes),
                ladder[-1])


def describe(mem: MemoryBreakdown) -> str:
    """A short line on where the peak is and what a card needs."""
    return f"peak during {mem.peak_phase}: {needs_text(mem)}"


def image_verdict(mem: MemoryBreakdown, gpu: GpuTarget, band: float) -> Verdict:
    """Fits / tight (the measured error ``band``) / no: the offloading variants are changes
    the suggestions name, not a verdict."""
    within = band_verdict(mem, gpu, band)
    return within or Verdict("no", gpu.vram_bytes, mem.needs_free_bytes, None, (
        f"{needs_text(mem)}; {gpu.job_bytes / GIB:.1f} GiB available for the job",),
        available_bytes=gpu.job_bytes)


def _runs(shape: ModelShape, wl: Workload, gpu: GpuTarget) -> bool:
    return memory(shape, wl, gpu.vram_bytes).needs_free_bytes <= gpu.job_bytes


def image_max_batch(shape: ModelShape, wl: Workload, gpu: GpuTarget, limit: int = 4096) -> int:
    """Largest batch that runs (0: not even one)."""
    return largest_passing(1, limit, lambda b: _runs(shape, replace(wl, batch=b), gpu))


def _pipeline_changes(shape: ModelShape, wl: Workload) -> list[tuple[str, Workload]]:
    """The free settings and lighter weights of a diffusion pipeline, cheapest first."""
    out: list[tuple[str, Workload]] = []
    if wl.training:
        return out
    if not wl.vae_tiling:
        out.append(("tiled VAE decode (ComfyUI's VAEDecodeTiled, vae.enable_tiling())",
                    replace(wl, vae_tiling=True)))
    if wl.offload == "none":
        out.append(("models loaded as needed (ComfyUI / Forge; diffusers "
                    "enable_model_cpu_offload), slower", replace(wl, offload="model")))
        out.append(("models loaded as needed + tiled VAE decode",
                    replace(wl, offload="model", vae_tiling=True)))
    if isinstance(shape.image, dit.DitSpec):
        formats = ("fp8", *_GGUF_STEPS)
        weights = "fp8" if wl.weights == "fp8-all" else wl.weights
        start = formats.index(weights) + 1 if weights in formats else 0
        for fmt in formats[start:]:
            label = "fp8 weights (layerwise casting)" if fmt == "fp8" else \
                f"{fmt} GGUF weights"
            out.append((f"{label} + models loaded as needed + tiled VAE decode",
                        replace(wl, weights=fmt, offload="model", vae_tiling=True)))
    return out


def image_suggestions(shape: ModelShape, wl: Workload, gpu: GpuTarget
                      ) -> tuple[Suggestion, ...]:
    """Changes that make it fit, each on its own."""
    cands: list[tuple[str, Workload]] = []
    b = image_max_batch(shape, wl, gpu)
    if 0 < b < wl.batch:
        extra = f" with {-(-wl.batch // b)} gradient-accumulation steps" if wl.training else ""
        cands.append((f"batch size {b}{extra}", replace(wl, batch=b)))
    diffusion = isinstance(shape.image, DiffusionSpec | dit.DitSpec)
    if diffusion:
        cands.extend(_pipeline_changes(shape, wl))
    if isinstance(shape.image, DiffusionSpec) and wl.training and not wl.checkpointing:
        cands.append(("gradient checkpointing (unet.enable_gradient_checkpointing())",
                      replace(wl, checkpointing=True)))
    if wl.resolved_precision == "fp32":
        cands.append(("bf16 autocast (AMP)" if wl.training else "bf16 weights",
                      replace(wl, precision="amp-bf16" if wl.training and not diffusion
                              else "bf16")))
    side = wl.image_size or shape.image_size or 0
    step = 16 if isinstance(shape.image, dit.DitSpec) else 8 if diffusion else \
        getattr(shape.image, "patch", 32) if getattr(shape.image, "family", "") == "vit" \
        else 32
    for smaller in (side * 3 // 4 // step * step, side // 2 // step * step):
        if smaller >= 64 and smaller < side:
            cands.append((f"image side {smaller} px", replace(wl, image_size=smaller)))
    out: list[Suggestion] = []
    for label, changed in cands:
        try:
            mem = memory(shape, changed, gpu.vram_bytes)
        except EstimateError:
            continue
        need = mem.needs_free_bytes
        lighter = changed.weights != wl.weights
        if need <= gpu.job_bytes and not (lighter and any(
                o.workload is not None and o.workload.weights != wl.weights for o in out)):
            # of the lighter weight formats, only the largest that fits
            out.append(Suggestion(label, mem.total,
                                  status_of(need, gpu.job_bytes, error_band(changed, shape.family)),
                                  changed, needs_free_bytes=need))
    return tuple(out)
