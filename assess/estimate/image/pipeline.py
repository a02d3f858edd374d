"""Memory of text-to-image sampling, for UNet pipelines (Stable Diffusion 1.x / XL) and diffusion
transformer pipelines (SD3.5, FLUX.1), with every component resident or loaded as needed.

A pipeline is its components (text encoders, the denoiser, the VAE), each with its stored
weights and what it adds while it runs (the working set allocated above the weights, the cache
a roomy card keeps, the largest block it asks for):

- ``offload="none"`` (a plain diffusers pipeline): every component's weights stay on the GPU;
  the peak is the weights plus the largest working set (UNets: the step or the VAE decode;
  transformers at 1024 px: the decode);
- ``offload="model"`` (``enable_model_cpu_offload``; ComfyUI and Forge load models as needed
  the same way): one component on the GPU at a time; the peak is the largest of the
  components' weights plus their own working set. The blocks the previous component freed
  stay cached on a roomy card (a share of it), and moving weights in and out fragments the
  allocator (a share of the component's weights), both fitted on the capped runs.

``vae_tiling`` decodes in 512-pixel tiles (ComfyUI's tiled decode; ``vae.enable_tiling()``), so
the decode's working set is a tile's, plus the full image it writes into.

Fitted figures (``benchmarks/fit_capped.py``; the held-out cases only checked): the UNet
pipelines' step and decode figures are the H200 fit of
:mod:`rigready.assess.estimate.image.memory`; the transformers' on the capped H100 runs of
SD3.5 Medium (bf16), SD3.5 Large (fp8, model offload) and FLUX.1-dev (fp8, model offload).
"""

from __future__ import annotations

from dataclasses import dataclass

from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.image import dit
from rigready.assess.estimate.inputs import Workload

GIB = 2**30
MPIX = 2**20
#: SD UNet pipelines: VAE decode, allocated + cached bytes per decoded pixel and channel unit,
#: per image and once (workspaces), and the share of it (and of the UNet step's working set)
#: allocated. Fitted on the fp16-built H100 sampling runs of 2026-12-07 (SDXL at 768 and
#: 1024 px, SD 1.5 at 768 px and at batch 4; SD 1.5 at 512 px held out; grid in
#: ``benchmarks/fit_capped.py --fit-decode``): the H200 records these replace built the UNet
#: in fp32 first, and the blocks that build freed stayed cached through the decode.
VAE_DECODE_PER_IMAGE = 2.45
VAE_DECODE_ONCE = 0.4
DECODE_ALLOCATED_SHARE = 0.5
#: Diffusion transformers' 16-channel VAE decoding in bf16: allocated and cached bytes per
#: pixel (SD3.5 Medium at 1024 px: 2.44 GiB allocated above the weights, 2.33 more cached;
#: FLUX.1-dev fp8, held out: 2.41 allocated).
DIT_DECODE_ALLOCATED = 2.43 * GIB / MPIX
DIT_DECODE_CACHED = 2.33 * GIB / MPIX
#: A transformer step's working set, bf16 elements per token and unit of width (activations
#: of one block: q, k, v, the MLP's 4x hidden, the adaptive-norm modulations), fitted on the
#: SD3.5 Large and FLUX.1-dev model-offload runs (12.5 and 16.5: the larger kept).
DIT_WORKING_ELEMENTS = 16.0
#: Model offload: cached share of the largest other component (its freed blocks) and
#: fragmentation as a share of the component on the GPU (weights moved in and out).
OFFLOAD_CACHED_SHARE = 0.28
OFFLOAD_FRAGMENTATION_SHARE = 0.06
#: Tiled decode: tile side and overlap, pixels (ComfyUI's VAEDecodeTiled defaults).
TILE, TILE_OVERLAP = 512, 64


@dataclass(frozen=True, slots=True)
class Component:
    """One part of a pipeline while it runs."""

    name: str
    weights: int
    #: Allocated above the weights while it runs.
    working: float
    #: Cached but free on a roomy card while it runs.
    cached: float
    #: The largest single block it asks for.
    block: float


@dataclass(frozen=True, slots=True)
class PipelinePeak:
    """A pipeline's peak: the memory parts and which component it happens in."""

    weights: int
    activations: int
    reserve: int
    fragmentation: int
    phase: str
    resident: tuple[str, ...]


def peak(parts: list[Component], offload: str) -> PipelinePeak:
    """The peak of ``parts`` run one after the other (``offload``: ``none`` or ``model``)."""
    if offload == "model":
        top = max(parts, key=lambda c: c.weights + c.working)
        others = max((c.weights for c in parts if c is not top), default=0)
        return PipelinePeak(
            top.weights, int(top.working), int(top.cached + OFFLOAD_CACHED_SHARE * others),
            int(top.block + OFFLOAD_FRAGMENTATION_SHARE * top.weights), top.name, (top.name,))
    top = max(parts, key=lambda c: c.working)
    return PipelinePeak(sum(c.weights for c in parts), int(top.working), int(top.cached),
                        int(top.block), top.name, tuple(c.name for c in parts))


def _decode_side(wl: Workload, side: int) -> int:
    return min(side, TILE + TILE_OVERLAP) if wl.vae_tiling else side


def unet_parts(spec: dif.DiffusionSpec, wl: Workload, side: int) -> list[Component]:
    """An SD 1.x / XL pipeline's components (``wl``'s precision; SDXL's VAE in fp32 when the
    pipeline is fp16)."""
    e = 4 if wl.resolved_precision == "fp32" else 2
    vae_e = 4 if (spec.vae_upcast and "fp16" in wl.resolved_precision) else e
    u = dif.walk_unet(spec.unet, side // 8)
    b = wl.batch
    unet_act = 2 * b * (u.skips_elems + u.live_elems) * e
    tile = _decode_side(wl, side)
    unit = tile * tile * (3 * dif.VAE_CHANNELS[1] + dif.VAE_CHANNELS[0])
    decode = unit * (VAE_DECODE_PER_IMAGE * vae_e * (1 if wl.vae_tiling else b)
                     + VAE_DECODE_ONCE * 2)
    if wl.vae_tiling:
        decode += 3 * side * side * 4 * b  # the whole image, written tile by tile
    share = DECODE_ALLOCATED_SHARE
    return [
        Component("text encoders", e * spec.text_params, 0.0, 0.0, 0.0),
        # the largest tensor of a step: the GEGLU projection, 8 of the 14 widths of the widest
        # block's working set
        Component("UNet", e * u.params, share * unet_act, (1 - share) * unet_act,
                  2 * b * u.live_elems * 8 / 14 * e),
        Component("VAE decode", vae_e * dif.walk_vae(side).params, share * decode,
                  (1 - share) * decode, vae_e * b * tile * tile * dif.VAE_CHANNELS[1]),
    ]


def dit_parts(spec: dit.DitSpec, wl: Workload, side: int) -> list[Component]:
    """A diffusion transformer pipeline's components (bf16 compute; ``wl.weights``: the
    transformer's stored format, ``fp8-all`` the T5 encoder's too)."""
    e = 4 if wl.resolved_precision == "fp32" else 2
    rows = wl.batch * (2 if spec.cfg else 1)
    tokens = spec.image_tokens(side) + spec.text_tokens()
    d = spec.transformer.dim
    stored = dit.transformer_bytes(spec, wl.weights, e)
    cast = 2 * dit.largest_linear(spec) if wl.weights else 0  # one layer up-cast at a time
    step = DIT_WORKING_ELEMENTS * 2 * rows * tokens * d + cast
    tile = _decode_side(wl, side)
    px = tile * tile * (1 if wl.vae_tiling else wl.batch)
    decode = DIT_DECODE_ALLOCATED * px + (3 * side * side * 4 * wl.batch if wl.vae_tiling
                                          else 0)
    t5 = rows * spec.t5_tokens * (12 * dit.T5_XXL_DIM * 2 + dit.T5_XXL_HEADS
                                  * spec.t5_tokens * 4)
    return [
        Component("T5 text encoder", dit.t5_bytes(wl.weights, e), float(t5), 0.0, float(t5)),
        Component("CLIP text encoders", e * spec.clip_params, 0.0, 0.0, 0.0),
        Component("transformer", stored + dit.pos_embed_buffer_bytes(spec, e), step, 0.0,
                  2.0 * rows * tokens * 4 * d),
        Component("VAE decode", e * dit.vae_params(), decode, DIT_DECODE_CACHED * px,
                  2.0 * px * dif.VAE_CHANNELS[1]),
    ]
