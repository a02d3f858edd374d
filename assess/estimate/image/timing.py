"""Time and energy of image models, scaled from the calibration GPU to the target by its dense
peak per dtype and its bandwidth:

- a Stable Diffusion sampling call: its UNet steps from their kernels
  (:mod:`rigready.assess.estimate.image.unet_speed`: convs and Linears on the GEMM roofline,
  fused attention, elementwise traffic, the host's dispatch overlapping them), the text
  encoders, paced by the host layer by layer, and the VAE decode from its walked
  multiply-accumulates (in fp32 as TF32 where the pipeline upcasts it);
- a Stable Diffusion LoRA step from the share of peak measured for the family, plus its
  batch's VAE encode and text encoding;
- a classifier's step from its kernels (:mod:`rigready.assess.estimate.image.speed`);
- a diffusion transformer's from its matmuls (:mod:`rigready.assess.estimate.image.sampling`);

loading models as needed adds the copies of every component.
"""

from __future__ import annotations

from collections.abc import Mapping

from rigready.assess.estimate import kernels
from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.energy import run_cost
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.image import dit, sampling
from rigready.assess.estimate.image import pipeline as pipe
from rigready.assess.estimate.image import vision as vis
from rigready.assess.estimate.image.diffusion import DiffusionSpec
from rigready.assess.estimate.image.memory import ImagePlan
from rigready.assess.estimate.image.speed import classifier_seconds
from rigready.assess.estimate.image.unet_speed import unet_step_seconds
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import Timing

#: Stable Diffusion LoRA training (sampling and classifiers come from their kernels):
#: share of the dense peak per step, fitted on the measured H200 steps
#: (``benchmarks/fit_image_memory.py --fit-sd``; held-out cases not used).
COMPUTE_EFFICIENCY = {("sd-unet", "train"): 0.184}
#: LoRA training: per-step overhead and launch/Python cost per conv/Linear per backward pass,
#: fitted with the training share above.
IMAGE_STEP_OVERHEAD_S = 0.002
LAYER_TRAIN_S = 0.00044
#: Bytes moved per byte saved for backward (elementwise kernels: norms, activations, casts).
IMAGE_TRAFFIC = 0.0  # the fit left it at zero: folded into the shares above
#: The text encoders (CLIP-L; SDXL adds OpenCLIP bigG), run once per sampling call on the
#: prompts (two rows an image with classifier-free guidance) and once per training step on
#: the captions: 77 tokens a row is next to no GPU work, so the host's dispatch of each
#: layer's operations (Hugging Face's eager CLIP: norms, projections, attention, MLP) sets
#: their pace: seconds per encoder layer, fitted with ``sampling.VAE_EFFICIENCY`` on what
#: the H200 sampling calls took beyond their measured UNet steps.
TEXT_LAYER_S = 0.0013


def image_dtype(shape: ModelShape, wl: Workload) -> str:
    """The dtype whose peak an image model's step is quoted in: fp32 classifiers as PyTorch
    runs them by default (``wl.tf32``): a CNN's convolutions in TF32, a ViT's Linears in full
    fp32."""
    if wl.resolved_precision != "fp32":
        return "fp16" if "fp16" in wl.resolved_precision else "bf16"
    if wl.tf32 == "off":
        return "fp32"
    conv = not isinstance(shape.image, vis.ImageArch) or shape.image.family != "vit"
    return "tf32" if conv or wl.tf32 == "all" else "fp32"


def dtype_peaks(gpu: GpuTarget) -> dict[str, float]:
    """The target's dense peak per dtype (those it has a figure for)."""
    out = {}
    for dt in ("bf16", "fp16", "tf32", "fp32"):
        peak = kernels.peak_tflops(gpu, dt)
        if peak:
            out[dt] = peak
    return out


def image_seconds(shape: ModelShape, wl: Workload, mem: MemoryBreakdown, plan: ImagePlan,
                  peaks: Mapping[str, float], bandwidth_gb_s: float) -> tuple[float, str]:
    """Seconds per step (training: one batch; sampling: one batch of images with every
    sampling step and the decode) on the calibration GPU scaled to ``peaks`` (dense TFLOP/s
    by dtype) and ``bandwidth_gb_s``, and what the step is.

    Raises:
        KeyError: the GPU has no figure for a dtype the step needs.
    """
    bw = kernels.BANDWIDTH_EFFICIENCY * bandwidth_gb_s * 1e9
    b = wl.batch
    dt = image_dtype(shape, wl)
    if isinstance(shape.image, dit.DitSpec):
        t, step = sampling.dit_image_seconds(shape.image, wl, plan.side, peaks[dt],
                                             bandwidth_gb_s)
        return t, (f"{wl.sampling_steps} transformer steps of {step * 1000:.0f} ms, the T5 "
                   "encoder and the VAE decode")
    # the family's share is for bf16; other dtypes keep the same shortfall from their GEMM rate
    rel = kernels.GEMM_EFFICIENCY.get(dt, 0.7) / kernels.GEMM_EFFICIENCY["bf16"]
    peak = peaks[dt]
    if isinstance(shape.image, DiffusionSpec):
        spec = shape.image
        vae = dif.walk_vae(plan.side)
        if not wl.training:
            unet = unet_step_seconds(dif.walk_unet(spec.unet, plan.side // 8), wl, peaks,
                                     bandwidth_gb_s)
            # SDXL's fp16 pipeline decodes in fp32 (force_upcast), whose convs run as TF32
            fp32 = wl.resolved_precision == "fp32" or (
                spec.vae_upcast and "fp16" in wl.resolved_precision)
            dec_dt = ("fp32" if wl.tf32 == "off" else "tf32") if fp32 else dt
            rest = text_seconds(spec, 2 * b, peak) + \
                sampling.vae_seconds(b * vae.decode_macs, peaks[dec_dt])
            return wl.sampling_steps * unet + rest, \
                (f"{wl.sampling_steps} sampling steps of {unet * 1000:.0f} ms, the text "
                 f"encoders and the VAE decode{' in fp32' if fp32 else ''}")
        eff = COMPUTE_EFFICIENCY[("sd-unet", "train")] * rel * peak * 1e12
        passes = 3 if wl.checkpointing else 2  # forward, input gradients, recomputation
        t = 2 * plan.macs_per_image * b * passes / eff
        t += IMAGE_TRAFFIC * mem.activations / bw + IMAGE_STEP_OVERHEAD_S
        t += LAYER_TRAIN_S * plan.layers * (passes - 1)
        # the step first encodes its batch: the images to latents (the VAE's encoder) and the
        # captions (the text encoders), as diffusers' LoRA training scripts do
        t += sampling.vae_seconds(b * vae.encode_macs, peak) + text_seconds(spec, b, peak)
        return t, "one LoRA training step (with its batch's VAE and text encoding)"
    arch = shape.image
    w = plan.walk if plan.walk is not None else vis.walk(arch, plan.side)
    t = classifier_seconds(w, wl, peaks, bandwidth_gb_s)
    return t, "one training step" if wl.training else "one inference batch"


def text_seconds(spec: DiffusionSpec, rows: int, peak_tflops: float) -> float:
    """The text encoders on ``rows`` prompts of 77 tokens: the host's time per layer, plus
    their matmuls at the GEMM rate (a few milliseconds only at batches in the hundreds)."""
    flops = sum(2.0 * (t.params - 49408 * t.hidden) * rows * 77 for t in spec.text_encoders)
    return TEXT_LAYER_S * sum(t.layers for t in spec.text_encoders) + \
        flops / (kernels.GEMM_EFFICIENCY["bf16"] * peak_tflops * 1e12)


def image_timing(shape: ModelShape, wl: Workload, mem: MemoryBreakdown, plan: ImagePlan,
                 gpu: GpuTarget | None, dataset_items: int | None, epochs: float,
                 electricity_usd_kwh: float) -> Timing:
    """Images per second and what a dataset (images to train on or to generate) costs."""
    dtype = image_dtype(shape, wl)
    reasons: list[str] = []
    peaks = dtype_peaks(gpu) if gpu else {}
    rate = step = None
    diffusion = not isinstance(shape.image, vis.ImageArch)
    if gpu is None or dtype not in peaks or not gpu.bandwidth_gb_s:
        reasons.append("the GPU's throughput or bandwidth is unknown, so time is unknown")
    else:
        step, what = image_seconds(shape, wl, mem, plan, peaks, gpu.bandwidth_gb_s)
        if diffusion and wl.offload == "model" and not wl.training:
            parts = pipe.dit_parts(shape.image, wl, plan.side) if isinstance(
                shape.image, dit.DitSpec) else pipe.unet_parts(shape.image, wl, plan.side)
            moved = sampling.offload_seconds(parts, gpu.pcie_gb_s)
            step += moved
            what += (f", plus {moved:.1f} s copying every component to the GPU (models loaded "
                     f"as needed, at the {sampling.OFFLOAD_COPY_GB_S} GB/s diffusers' offload "
                     "reached on the H100 machine)")
        rate = wl.batch * wl.gpus / step
        how = ("the measured GEMM efficiency and fused attention's share of peak"
               if isinstance(shape.image, dit.DitSpec) else
               "the share of peak measured for this family on an H200"
               if diffusion and wl.training else
               "each conv and Linear's matmul-shape efficiency (measured GEMM sweep), fused "
               "attention, elementwise traffic and the host's dispatch fitted on an H200"
               if diffusion
               else "each conv and Linear's matmul-shape efficiency (measured GEMM sweep), "
                    "plus elementwise traffic and per-layer overhead fitted on an H200")
        which = "convolutions" if wl.tf32 == "default" else "convolutions and matmuls"
        tf32 = f" ({which} in TF32, as PyTorch runs fp32)" if dtype == "tf32" else ""
        reasons.append(
            f"{what}: {step:.3f} s for {wl.batch} image(s) from the walked layers' "
            f"multiply-accumulates ({plan.macs_per_image / 1e9:,.1f} G per image per pass) at "
            f"{how}, scaled by this GPU's {peaks[dtype]:.0f} {dtype} TFLOP/s{tf32} and "
            f"{gpu.bandwidth_gb_s:.0f} GB/s")
    hours, energy, cost = run_cost(rate, dataset_items, epochs, gpu, wl.gpus,
                                   electricity_usd_kwh, reasons)
    runtime = ("torchvision model (PyTorch eager)" if not diffusion
               else "ComfyUI / Forge-class app (PyTorch eager)"
               if wl.image_runtime == "comfyui" and not wl.training
               else "diffusers pipeline (PyTorch eager)")
    return Timing(tokens_per_s=None, flops_per_token=0.0, utilisation=0.0,
                  compute_dtype=dtype, hours=hours, energy_kwh=energy, cost_usd=cost,
                  decode_tokens_per_s=None, prefill_s=None, reasons=tuple(reasons),
                  step_seconds=step, runtime=runtime, images_per_s=rate)
