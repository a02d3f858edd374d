"""Image models' shapes: the architectures the estimator walks, by name, and their
:class:`ModelShape` form from a catalog entry or a ``config.json``.

A catalog entry names one with ``arch`` (a torchvision model name such as ``resnet50``, a
Stable Diffusion pipeline ``sd15`` / ``sdxl``, or a diffusion-transformer pipeline
``sd35-medium`` / ``sd35-large`` / ``flux-dev`` / ``flux-schnell``). A diffusers UNet, SD3 or
FLUX transformer ``config.json`` and a transformers ViT/ResNet/ConvNeXt ``config.json`` are read
directly. Image models that are not walked here (PixArt, detection or segmentation networks)
are refused with the reason, never estimated as something else.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.image import dit
from rigready.assess.estimate.image.diffusion import DiffusionSpec
from rigready.assess.estimate.image.memory import ImageSpec
from rigready.assess.estimate.image.vision import ARCHS, ImageArch, walk
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.model import CLASSIFIER_KINDS, ModelShape

#: stable-diffusion-v1-5 unet/config.json (tests/data/diffusion_configs/sd15-unet.json).
SD15_UNET = dif.UNetConfig(channels=(320, 640, 1280, 1280), layers_per_block=2,
                           down_attention=(True, True, True, False), transformer_depth=(1,) * 4,
                           heads=(8,) * 4, cross_attention_dim=768)
#: stable-diffusion-xl-base-1.0 unet/config.json (tests/data/diffusion_configs/sdxl-unet.json).
SDXL_UNET = dif.UNetConfig(channels=(320, 640, 1280), layers_per_block=2,
                           down_attention=(False, True, True), transformer_depth=(1, 2, 10),
                           heads=(5, 10, 20), cross_attention_dim=2048, addition_embed_dim=2816,
                           linear_projection=True)

DIFFUSION: dict[str, DiffusionSpec] = {
    "sd15": DiffusionSpec(SD15_UNET, (dif.CLIP_L,), vae_upcast=False, default_image=512),
    "sdxl": DiffusionSpec(SDXL_UNET, (dif.CLIP_L, dif.CLIP_BIGG), vae_upcast=True,
                          default_image=1024),
}

#: Kinds of model the image family handles (a catalog entry's ``kind``, a shape's ``kind``).
IMAGE_KINDS = (*CLASSIFIER_KINDS, "diffusion")
#: diffusers model classes that are not walked (their memory would come from the wrong family).
_UNMODELLED_DIFFUSERS = ("PixArtTransformer2DModel", "UNet2DModel", "UNetMotionModel",
                         "AutoencoderKL")
#: diffusers transformer classes walked by :mod:`rigready.assess.estimate.image.dit`.
_DIT_CLASSES = ("SD3Transformer2DModel", "FluxTransformer2DModel")


def diffusion_spec(name: str) -> DiffusionSpec:
    """A pipeline by name (``sd15``, ``sdxl``)."""
    return DIFFUSION[name]


def _shape(name: str, kind: str, family: str, params: int, spec: ImageSpec,
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
    if arch in dit.PIPELINES:
        t = dit.PIPELINES[arch]
        return _shape(name, "diffusion", t.transformer.kind, t.params, t, t.default_image,
                      source or f"diffusers {arch} pipeline")
    known = ", ".join([*ARCHS, *DIFFUSION, *dit.PIPELINES])
    raise EstimateError(f"{name}: architecture {arch!r} is not modelled (modelled: {known})")


def unknown_image_model(entry: Any) -> EstimateError:
    """The error for a catalog image model without a walked architecture."""
    return EstimateError(
        f"{entry.id} is a {entry.kind} model ({entry.family}) whose layers the estimator does "
        "not walk (no arch in its catalog entry), so its memory is unknown (modelled: ResNet, "
        "EfficientNet, ConvNeXt, ViT, Stable Diffusion 1.5, SDXL and 3.5, FLUX.1)")


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


def shape_from_entry(entry: Any) -> ModelShape:
    """The shape of a catalog image model (``kind`` in :data:`IMAGE_KINDS`), walked from the
    architecture its ``arch`` names, with the catalog's published parameter count.

    Raises:
        EstimateError: the entry names no walked architecture.
    """
    arch = getattr(entry, "arch", None)
    if not arch:
        raise unknown_image_model(entry)
    return replace(image_shape(str(entry.id), str(arch), str(getattr(entry, "source", ""))),
                   declared_params=int(entry.params))


def shape_from_config(cfg: dict[str, Any], name: str) -> ModelShape | None:
    """A diffusers UNet or a transformers ViT/ResNet/ConvNeXt config; None for others (a
    language model's config).

    Raises:
        EstimateError: an image architecture that is not modelled.
    """
    cls = str(cfg.get("_class_name", ""))
    if cls == "UNet2DConditionModel":
        return shape_from_unet_config(cfg, name)
    if cls in _DIT_CLASSES:
        spec = dit.spec_from_config(cfg, name)
        return _shape(name, "diffusion", spec.transformer.kind, spec.params, spec,
                      spec.default_image, f"transformer config.json ({name}), with its "
                      "pipeline's text encoders and VAE")
    if cls in _UNMODELLED_DIFFUSERS or cls.endswith(("Transformer2DModel", "Pipeline")):
        raise EstimateError(f"{name}: {cls} is not modelled (the estimator walks Stable "
                            "Diffusion 1.x/XL UNets and the SD3 / FLUX.1 transformers)")
    mt = str(cfg.get("model_type", "")).lower()
    if mt not in ("vit", "resnet", "convnext"):
        return None
    try:
        if mt == "vit":
            arch = ImageArch(name, "vit", (int(cfg["num_hidden_layers"]),),
                             (int(cfg["hidden_size"]),), patch=int(cfg["patch_size"]),
                             heads=int(cfg["num_attention_heads"]),
                             mlp=int(cfg["intermediate_size"]),
                             default_image=int(cfg.get("image_size", 224)))
        else:
            depths = tuple(int(d) for d in cfg["depths"])
            sizes = tuple(int(h) for h in cfg["hidden_sizes"])
            bottleneck = cfg.get("layer_type", "bottleneck") == "bottleneck"
            widths = tuple(h // 4 for h in sizes) if mt == "resnet" and bottleneck else sizes
            arch = ImageArch(name, mt, depths, widths, bottleneck=bottleneck)
    except (KeyError, TypeError, ValueError):
        raise EstimateError(f"{name}: a {mt} config needs its layer sizes (num_hidden_layers, "
                            "hidden_size, ... or depths, hidden_sizes)") from None
    kind = "vision-transformer" if mt == "vit" else "vision-cnn"
    return _shape(name, kind, mt, walk(arch, arch.default_image).params, arch,
                  arch.default_image, f"config.json ({mt}), walked as the torchvision layout")
