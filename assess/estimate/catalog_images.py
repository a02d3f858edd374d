"""The image architectures the estimator walks, by name, and their :class:`ModelShape` form.

A catalog entry names one with ``arch`` (a torchvision model name such as ``resnet50``, or a
Stable Diffusion pipeline ``sd15`` / ``sdxl``). A diffusers UNet ``config.json`` is read
directly. Image models that are not walked here (Stable Diffusion 3, FLUX, detection or
segmentation networks) are refused with the reason, never estimated as something else.
"""

from __future__ import annotations

from typing import Any

from rigready.assess.estimate import diffusion as dif
from rigready.assess.estimate.image import DiffusionSpec
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.vision import ARCHS, ImageArch, walk

#: stable-diffusion-v1-5 unet/config.json (tests/data/diffusion_configs/sd15-unet.json).
SD15_UNET = dif.UNetConfig(channels=(320, 640, 1280, 1280), layers_per_block=2,
                           down_attention=(True, True, True, False), transformer_depth=(1,) * 4,
                           heads=(8,) * 4, cross_attention_dim=768)
#: stable-diffusion-xl-base-1.0 unet/config.json (tests/data/diffusion_configs/sdxl-unet.json).
SDXL_UNET = dif.UNetConfig(channels=(320, 640, 1280), layers_per_block=2,
                           down_attention=(False, True, True), transformer_depth=(1, 2, 10),
                           heads=(5, 10, 20), cross_attention_dim=2048, addition_embed_dim=2816)

DIFFUSION: dict[str, DiffusionSpec] = {
    "sd15": DiffusionSpec(SD15_UNET, (dif.CLIP_L,), vae_upcast=False, default_image=512),
    "sdxl": DiffusionSpec(SDXL_UNET, (dif.CLIP_L, dif.CLIP_BIGG), vae_upcast=True,
                          default_image=1024),
}

#: Kinds of model the image path handles.
IMAGE_KINDS = ("vision-cnn", "vision-transformer", "diffusion")


def diffusion_spec(name: str) -> DiffusionSpec:
    """A pipeline by name (``sd15``, ``sdxl``)."""
    return DIFFUSION[name]


def _shape(name: str, kind: str, family: str, params: int, spec: ImageArch | DiffusionSpec,
           side: int, source: str) -> ModelShape:
    return ModelShape(name=name, family=family, kind=kind, num_layers=0, hidden_size=0,
                      num_heads=1, num_kv_heads=1, head_dim=0, intermediate_size=0,
                      vocab_size=0, tie_word_embeddings=False, declared_params=params,
                      image_size=side, image=spec, source=source)


def image_shape(name: str, arch: str, source: str = "") -> ModelShape:
    """The shape of a walked architecture (``arch`` as in :data:`ARCHS` or :data:`DIFFUSION`).

    Raises:
        EstimateError: the architecture is not one the estimator walks.
    """
    if arch in ARCHS:
        a = ARCHS[arch]
        kind = "vision-transformer" if a.family == "vit" else "vision-cnn"
        return _shape(name, kind, a.family, walk(a, a.default_image).params, a,
                      a.default_image, source or f"torchvision {arch}")
    if arch in DIFFUSION:
        d = DIFFUSION[arch]
        return _shape(name, "diffusion", "sd-unet", d.params, d, d.default_image,
                      source or f"diffusers {arch} pipeline")
    known = ", ".join([*ARCHS, *DIFFUSION])
    raise EstimateError(f"{name}: architecture {arch!r} is not modelled (modelled: {known})")


def unknown_image_model(entry: Any) -> EstimateError:
    """The error for a catalog image model without a walked architecture."""
    return EstimateError(
        f"{entry.id} is a {entry.kind} model ({entry.family}) whose layers the estimator does "
        "not walk (no arch in its catalog entry), so its memory is unknown (modelled: ResNet, "
        "EfficientNet, ConvNeXt, ViT, Stable Diffusion 1.5 and SDXL)")


def shape_from_unet_config(cfg: dict[str, Any], name: str) -> ModelShape:
    """A Stable Diffusion pipeline from a diffusers UNet ``config.json``; the text encoders
    follow from ``cross_attention_dim`` (768: CLIP-L as SD 1.x; 2048: CLIP-L + OpenCLIP-bigG
    as SDXL).

    Raises:
        EstimateError: another text-conditioning width (SD 2.x: its encoder is not modelled).
    """
    unet = dif.unet_config(cfg, name)
    if unet.cross_attention_dim == 768:
        spec = DiffusionSpec(unet, (dif.CLIP_L,), vae_upcast=False,
                             default_image=8 * int(cfg.get("sample_size", 64)))
    elif unet.cross_attention_dim == 2048:
        spec = DiffusionSpec(unet, (dif.CLIP_L, dif.CLIP_BIGG), vae_upcast=True,
                             default_image=8 * int(cfg.get("sample_size", 128)))
    else:
        raise EstimateError(f"{name}: a UNet conditioned on {unet.cross_attention_dim}-wide "
                            "text features (e.g. SD 2.x's OpenCLIP-H) is not modelled")
    return _shape(name, "diffusion", "sd-unet", spec.params, spec, spec.default_image,
                  f"UNet config.json ({name})")
