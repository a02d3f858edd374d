"""Memory of image models: classifiers (ResNet, EfficientNet, ConvNeXt, ViT), Stable Diffusion
pipelines (UNet + VAE + CLIP text encoders) and diffusion-transformer pipelines (SD3.5, FLUX.1),
from their layer walks; sampling's components, resident or loaded as needed, are added up by
:mod:`rigready.assess.estimate.image.pipeline`.

The stack assumed is the one measured: torchvision classifiers trained with AdamW under bf16
autocast (or fp32), inference of a bf16 model in ``inference_mode``; diffusers pipelines
sampling in fp16 with classifier-free guidance and decoding with the VAE (SDXL's in fp32, its
``force_upcast``), and LoRA training as ``train_text_to_image_lora`` does it (frozen bf16
UNet/VAE/text encoders, fp32 adapters on the attention projections, bf16 autocast, AdamW). The
few fitted factors below were fitted on ``tests/data/calibration/vision-speed/`` (held-out
cases never used) and are checked by ``tests/test_estimate_image.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rigready.assess.estimate.breakdown import MemoryBreakdown, context_bytes, on_card
from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.image import dit
from rigready.assess.estimate.image import pipeline as pipe
from rigready.assess.estimate.image import vision as vis
from rigready.assess.estimate.image.diffusion import DiffusionSpec
from rigready.assess.estimate.inputs import EstimateError, Workload
from rigready.assess.estimate.model import ModelShape

#: Measured saved tensors / walked saved tensors, per family (1.0: the walk is used as is; the
#: fit below left every family at 1.0).
ACTIVATION_SCALE = {"resnet": 1.0, "efficientnet": 1.0, "convnext": 1.0, "vit": 1.0}
#: Fitted together on the non-held-out classifier cases (grid, worst error minimised):
#: backward's working set in copies of the largest single tensor (its gradients and cuDNN's
#: workspaces), and the allocator cache held but not handed out, share of the memory that
#: comes and goes.
BACKWARD_WORKING = 4.0
RESERVE_SHARE_TRAIN = 0.10
#: Inference: measured live set / walked largest layer (cuDNN workspaces, fused kernels).
INFERENCE_LIVE_SCALE = 2.0
RESERVE_SHARE_INFER = 0.3
#: Fragmentation on a card just big enough, in copies of the step's largest tensor.
FRAGMENTATION_BLOCKS = 1.0
#: VAE encode of a training batch (no grad): live set / walked.
VAE_ENCODE_SCALE = 1.55
UNET_SAVED_SCALE = 1.0
RESERVE_SHARE_DIFFUSION_TRAIN = 0.05
#: Checkpointed UNet: peak transient / un-checkpointed saved activations (0.31 SD 1.5, 0.35
#: SDXL measured).
CHECKPOINTED_SHARE = 0.35
#: Share of the VAE encode's cached blocks the UNet's saved tensors do not reuse.
VAE_CACHE_REUSED = 0.35


@dataclass(frozen=True, slots=True)
class ImagePlan:
    """What the estimator computed for an image model, beside the memory breakdown."""

    side: int
    macs_per_image: float
    layers: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: A classifier's layer walk (its kernels drive the speed model); None for diffusion.
    walk: vis.Walk | None = field(default=None, compare=False, repr=False)
    #: Sampling: the components resident at the peak (all of them without offload).
    resident: tuple[str, ...] = ()


#: The walked architectures a :class:`ModelShape` may carry in ``image``.
ImageSpec = vis.ImageArch | DiffusionSpec | dit.DitSpec


def _check(wl: Workload, spec: ImageSpec) -> int:
    """The image side to use; reject what the measured stacks do not do."""
    p = wl.resolved_precision
    if isinstance(spec, dit.DitSpec):
        if wl.training:
            raise EstimateError("training SD3.5 / FLUX.1 is not modelled (inference is, in "
                                "bf16, fp8 and GGUF weights, with or without model offload)")
        if p not in ("bf16", "fp16", "fp32"):
            raise EstimateError(f"precision {p} is not modelled for diffusion transformers "
                                "(give bf16, and --weights fp8 or a GGUF type for smaller "
                                "weights)")
        side = wl.image_size or spec.default_image
        if side % 16 or side < 256:
            raise EstimateError(f"an SD3.5 / FLUX.1 image side must be a multiple of 16 and "
                                f"at least 256, got {side}")
        return side
    if wl.weights is not None:
        raise EstimateError("--weights (fp8, GGUF) is modelled for SD3.5 / FLUX.1 transformers "
                            "only")
    if isinstance(spec, DiffusionSpec):
        if wl.method not in ("inference", "lora"):
            raise EstimateError(f"{wl.method} training of a diffusion UNet is not modelled "
                                "(inference and LoRA are)")
        if p not in ("bf16", "fp16", "fp32", "amp-bf16", "amp-fp16"):
            raise EstimateError(f"precision {p} is not modelled for diffusion pipelines")
        side = wl.image_size or spec.default_image
        if side % 8:
            raise EstimateError(f"a Stable Diffusion image side must be a multiple of 8 (the "
                                f"VAE works on 8x8 pixel cells), got {side}")
        if side < 64:
            raise EstimateError(f"image side {side} is too small for a Stable Diffusion UNet")
        return side
    if wl.offload != "none" or wl.vae_tiling:
        raise EstimateError("model offload and tiled VAE decode are settings of diffusion "
                            "pipelines, not of image classifiers")
    if wl.method not in ("inference", "full"):
        raise EstimateError(f"{wl.method} of an image classifier is not modelled "
                            "(full training and inference are)")
    if p in ("int8", "nf4"):
        raise EstimateError(f"{p} weights are not modelled for image classifiers")
    if wl.checkpointing:
        raise EstimateError("torchvision classifiers have no gradient checkpointing switch; "
                            "turn gradient checkpointing off")
    side = wl.image_size or spec.default_image
    if spec.family == "vit" and side % spec.patch:
        raise EstimateError(f"{spec.name} needs an image side that is a multiple of its "
                            f"{spec.patch}-pixel patches, got {side}")
    if side < 32:
        raise EstimateError(f"image side {side} is too small for {spec.name}")
    return side


def _bytes(wl: Workload) -> tuple[int, bool]:
    p = wl.resolved_precision
    return (4 if p == "fp32" else 2), p.startswith("amp")


def _reserve(dynamic: float, share: float) -> int:
    return int(share * max(0.0, dynamic))


def vision_memory(arch: vis.ImageArch, wl: Workload) -> tuple[MemoryBreakdown, ImagePlan]:
    """Peak memory of a classifier's training step or inference batch."""
    side = _check(wl, arch)
    w = vis.walk(arch, side)
    e, amp = _bytes(wl)
    p, b = w.params, wl.batch
    if not wl.training:
        weights = e * p
        act = b * w.live_peak * e * INFERENCE_LIVE_SCALE
        mem = MemoryBreakdown(context=context_bytes(wl), weights=weights, gradients=0,
                              optimizer=0, activations=int(act), logits=0, kv_cache=0,
                              reserve=_reserve(act, RESERVE_SHARE_INFER),
                              peak_phase="inference", gradients_total=0, trainable_params=0,
                              fragmentation=int(FRAGMENTATION_BLOCKS * b * w.largest * e))
        return mem, ImagePlan(side, w.macs, w.layers, walk=w)
    master = 2 if wl.resolved_precision in ("bf16", "fp16") else 4
    saved = b * saved_bytes_per_image(arch, w, wl)
    if amp:
        saved += 2 * p  # autocast's bf16 weight copies, kept for backward
    working = b * w.largest * e * BACKWARD_WORKING
    opt = _optimizer_bytes(wl, p, master)
    weights = master * p
    start, end = saved + working, master * p
    if start >= end:
        phase, grads, act = "start of backward", 0, start
    else:
        phase, grads, act = "end of backward", end, 0.0
    mem = MemoryBreakdown(context=context_bytes(wl), weights=weights, gradients=int(grads),
                          optimizer=opt, activations=int(act), logits=0, kv_cache=0,
                          reserve=_reserve(act + grads, RESERVE_SHARE_TRAIN), peak_phase=phase,
                          gradients_total=master * p, trainable_params=p,
                          fragmentation=int(FRAGMENTATION_BLOCKS * b * w.largest * e))
    return mem, ImagePlan(side, w.macs, w.layers, walk=w)


def saved_bytes_per_image(arch: vis.ImageArch, w: vis.Walk, wl: Workload) -> float:
    """Bytes one image's forward keeps for backward, from the walk's dtype-tagged tensors."""
    e, amp = _bytes(wl)
    # a cast copy under autocast; without autocast the Linear/conv saves the tensor itself
    tag_bytes = {"a": e, "f": 4 if amp else e, "c": 2 if amp else e, "i": 8, "m": 1}
    return sum(tag_bytes[t] * n for t, n in w.saved.items()) * ACTIVATION_SCALE[arch.family]


def _optimizer_bytes(wl: Workload, trainable: int, master: int) -> int:
    if wl.optimizer == "adamw":
        return 2 * master * trainable
    if wl.optimizer == "adamw-8bit":
        return 2 * trainable + trainable // 512
    if wl.optimizer == "sgd":
        return master * trainable
    return trainable  # adafactor: factored second moment, about a byte per weight or less


def diffusion_memory(spec: DiffusionSpec, wl: Workload) -> tuple[MemoryBreakdown, ImagePlan]:
    """Peak memory of sampling (CFG, VAE decode) or of a LoRA training step."""
    side = _check(wl, spec)
    lat = side // 8
    u = dif.walk_unet(spec.unet, lat)
    vae = dif.walk_vae(side)
    b = wl.batch
    if not wl.training:
        return sampling_memory(pipe.unet_parts(spec, wl, side), wl, side, u.macs, u.layers,
                               spec.vae_upcast and "fp16" in wl.resolved_precision)
    lora = u.lora_params_per_rank * wl.lora_rank
    weights = 2 * (u.params + spec.text_params + vae.params) + 4 * lora
    opt = _optimizer_bytes(wl, lora, 4)
    saved = b * u.saved_bytes * UNET_SAVED_SCALE
    if wl.checkpointing:
        # block inputs plus one recomputed block is the textbook figure; the measured peak of
        # diffusers' checkpointed UNet (recompute and gradients of the up blocks coexisting)
        # is a steady share of the un-checkpointed activations
        saved = max(b * (u.block_inputs_bytes + u.largest_block_bytes),
                    CHECKPOINTED_SHARE * saved)
    encode = b * vae.encode_live_elems * 2 * VAE_ENCODE_SCALE
    act = max(saved, encode)
    # the blocks the VAE encode leaves cached are reused by the UNet's large saved tensors,
    # but not by the small ones checkpointing's recomputation allocates
    cached = min(saved, encode) * (1.0 if wl.checkpointing else VAE_CACHE_REUSED)
    mem = MemoryBreakdown(context=context_bytes(wl), weights=int(weights), gradients=0,
                          optimizer=opt, activations=int(act), logits=0, kv_cache=0,
                          reserve=int(cached + _reserve(act, RESERVE_SHARE_DIFFUSION_TRAIN)),
                          peak_phase="start of backward" if saved >= encode else "VAE encode",
                          gradients_total=4 * lora, trainable_params=lora,
                          # the VAE encode's largest tensor: a 128-channel full-size bf16 map
                          fragmentation=int(FRAGMENTATION_BLOCKS * b * side * side
                                            * dif.VAE_CHANNELS[0] * 2))
    return mem, ImagePlan(side, u.macs, u.layers)


def sampling_memory(parts: list[pipe.Component], wl: Workload, side: int, macs: float,
                    layers: int, vae_fp32: bool = False) -> tuple[MemoryBreakdown, ImagePlan]:
    """The peak of a text-to-image pipeline's components (see
    :mod:`rigready.assess.estimate.image.pipeline`)."""
    top = pipe.peak(parts, wl.offload)
    mem = MemoryBreakdown(context=context_bytes(wl), weights=top.weights, gradients=0,
                          optimizer=0, activations=top.activations, logits=0, kv_cache=0,
                          reserve=top.reserve, peak_phase=top.phase, gradients_total=0,
                          trainable_params=0, fragmentation=top.fragmentation)
    notes = []
    if vae_fp32:
        notes.append("the VAE decodes in fp32 (SDXL's force_upcast in an fp16 pipeline)")
    if wl.offload == "model":
        notes.append(f"model offload: one component on the GPU at a time, the peak with the "
                     f"{top.phase} there; the others wait in system RAM")
    return mem, ImagePlan(side, macs, layers, tuple(notes), resident=top.resident)


def dit_memory(spec: dit.DitSpec, wl: Workload) -> tuple[MemoryBreakdown, ImagePlan]:
    """Peak memory of SD3.5 / FLUX.1 sampling."""
    side = _check(wl, spec)
    matmul, _ = dit.step_flops(spec, side, 1)
    return sampling_memory(pipe.dit_parts(spec, wl, side), wl, side, matmul / 2,
                           spec.transformer.layers + spec.transformer.single_layers)


def image_memory(shape: ModelShape, wl: Workload) -> tuple[MemoryBreakdown, ImagePlan]:
    """Dispatch on the walked architecture a :class:`ModelShape` carries."""
    if isinstance(shape.image, dit.DitSpec):
        return dit_memory(shape.image, wl)
    if isinstance(shape.image, DiffusionSpec):
        return diffusion_memory(shape.image, wl)
    return vision_memory(shape.image, wl)


def memory(shape: ModelShape, wl: Workload, vram_bytes: int | None = None) -> MemoryBreakdown:
    """The breakdown of an image model's step; ``vram_bytes`` (the card's memory) sets what the
    driver reserves (None: an H100 80GB's)."""
    return on_card(image_memory(shape, wl)[0], vram_bytes)
