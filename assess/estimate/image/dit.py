"""Diffusion transformers: Stable Diffusion 3.5 (``SD3Transformer2DModel``, MMDiT / MMDiT-X) and
FLUX.1 (``FluxTransformer2DModel``), their text encoders (CLIP-L, CLIP-G, T5-XXL) and their
16-channel VAE, from the published ``config.json`` numbers.

The transformer is walked block by block as diffusers builds it, for its parameters (checked
against the counts the capped-run record measured: SD3.5 Large 8,056,627,520, FLUX.1-dev
11,901,408,320, schnell 10,229,760 fewer: no guidance embedder) and for the share of them that
stays bf16 when the weights are stored in float8 (``enable_layerwise_casting`` skips the layers
named ``norm``: the adaptive-norm Linears, 2.7 G parameters in SD3.5 Large, 3.2 G in FLUX.1) or in
a GGUF file (city96's converter quantizes every matrix; the bytes here are the file type's bits
per weight, :mod:`rigready.assess.estimate.quant`, arithmetic never run here: FLUX.1-dev Q8_0
comes to 12.65 GB, Q4_K_S to 6.69 GB).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.quant import file_type_bits

#: google/t5-v1_1-xxl's encoder stack (tests/data/diffusion_configs/t5-xxl-encoder.json): the
#: text encoder of both pipelines. 4,893,906,944 parameters, 1,006,632,960 of them in the FFN's
#: ``wo`` projections (kept bf16 by the fp8 "t5xxl_fp8" files: T5 casts its input to their dtype).
T5_XXL_LAYERS, T5_XXL_DIM, T5_XXL_FF, T5_XXL_VOCAB, T5_XXL_HEADS = 24, 4096, 10240, 32128, 64


def t5_encoder_params() -> int:
    """T5-XXL's encoder: 24 layers (attention, gated-GELU FFN, 2 RMS norms), the relative
    position bias of the first layer, the final norm and two embedding tables (transformers 5
    builds ``shared`` and the encoder's ``embed_tokens`` apart for an untied config: the record
    measured 4,893,906,944 parameters)."""
    d, f = T5_XXL_DIM, T5_XXL_FF
    layer = 4 * d * d + 3 * d * f + 2 * d
    return 2 * T5_XXL_VOCAB * d + T5_XXL_LAYERS * layer + 32 * T5_XXL_HEADS + d


def t5_wo_params() -> int:
    """The FFN output projections that stay bf16 in an fp8 T5 (and its norms)."""
    return T5_XXL_LAYERS * (T5_XXL_FF * T5_XXL_DIM + 2 * T5_XXL_DIM) + T5_XXL_DIM


@dataclass(frozen=True, slots=True)
class DitConfig:
    """The numbers of a diffusers SD3 / FLUX transformer config the walk uses."""

    kind: str  # sd3 | flux
    layers: int  # SD3: joint blocks; FLUX: double-stream blocks
    heads: int
    head_dim: int
    in_channels: int
    joint_attention_dim: int
    pooled_projection_dim: int
    patch: int = 2
    #: SD3: the caption projection width (= inner dim), the layers with a second (image-only)
    #: attention (SD3.5 Medium's MMDiT-X), the position-embedding buffer side.
    dual_attention_layers: tuple[int, ...] = ()
    pos_embed_max_size: int = 0
    #: FLUX: single-stream blocks, and whether it takes a guidance embedding (dev, not schnell).
    single_layers: int = 0
    guidance: bool = False

    @property
    def dim(self) -> int:
        """The transformer's width (heads x head size)."""
        return self.heads * self.head_dim


def _linear(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def walk_params(c: DitConfig) -> tuple[int, int]:
    """(parameters, parameters that stay bf16 under float8 layerwise casting: the adaptive-norm
    Linears, the q/k RMS-norm weights and SD3's patch-embedding conv)."""
    d = c.dim
    embed = 2 * _linear(256, d) if c.kind == "sd3" else _linear(256, d) + _linear(d, d)
    if c.kind == "sd3":
        params = c.in_channels * c.patch ** 2 * d + d  # patch embedding conv
        params += _linear(256, d) + _linear(d, d) + _linear(c.pooled_projection_dim, d) \
            + _linear(d, d)
        params += _linear(c.joint_attention_dim, d)
        norms = 0
        qk = 4 * c.head_dim  # RMS norms of q, k, added q, added k
        for i in range(c.layers):
            last = i == c.layers - 1
            dual = i in c.dual_attention_layers
            norm = _linear(d, (9 if dual else 6) * d) + (
                _linear(d, 2 * d) if last else _linear(d, 6 * d))
            attn = 7 * _linear(d, d) + (0 if last else _linear(d, d)) + qk
            if dual:
                attn += 4 * _linear(d, d) + 2 * c.head_dim
            ff = _linear(d, 4 * d) + _linear(4 * d, d)
            params += norm + attn + ff + (0 if last else ff)
            norms += norm + qk + (2 * c.head_dim if dual else 0)
        tail = _linear(d, 2 * d) + _linear(d, c.patch ** 2 * c.in_channels)
        patch_embed = c.in_channels * c.patch ** 2 * d + d
        return params + tail, norms + _linear(d, 2 * d) + patch_embed
    params = _linear(c.in_channels, d) + embed + _linear(c.pooled_projection_dim, d) \
        + _linear(d, d) + _linear(c.joint_attention_dim, d)
    if c.guidance:
        params += embed
    qk = 4 * c.head_dim
    double = 2 * _linear(d, 6 * d) + 8 * _linear(d, d) + qk \
        + 2 * (_linear(d, 4 * d) + _linear(4 * d, d))
    single = _linear(d, 3 * d) + _linear(d, 4 * d) + 3 * _linear(d, d) + 2 * c.head_dim \
        + _linear(5 * d, d)
    norms = c.layers * (2 * _linear(d, 6 * d) + qk) \
        + c.single_layers * (_linear(d, 3 * d) + 2 * c.head_dim) + _linear(d, 2 * d)
    params += c.layers * double + c.single_layers * single + _linear(d, 2 * d) \
        + _linear(d, c.in_channels)
    return params, norms


def dit_config(cfg: dict[str, Any], name: str = "config.json") -> DitConfig:
    """Read a diffusers ``SD3Transformer2DModel`` / ``FluxTransformer2DModel`` config dict.

    Raises:
        EstimateError: the config lacks a number the walk needs.
    """
    cls = str(cfg.get("_class_name", ""))
    try:
        heads, head_dim = int(cfg["num_attention_heads"]), int(cfg["attention_head_dim"])
        layers = int(cfg["num_layers"])
        if cls == "FluxTransformer2DModel":
            return DitConfig(
                "flux", layers, heads, head_dim, int(cfg.get("in_channels", 64)),
                int(cfg.get("joint_attention_dim", 4096)),
                int(cfg.get("pooled_projection_dim", 768)), patch=1,
                single_layers=int(cfg.get("num_single_layers", 38)),
                guidance=bool(cfg.get("guidance_embeds", False)))
        return DitConfig(
            "sd3", layers, heads, head_dim, int(cfg.get("in_channels", 16)),
            int(cfg.get("joint_attention_dim", 4096)),
            int(cfg.get("pooled_projection_dim", 2048)), patch=int(cfg.get("patch_size", 2)),
            dual_attention_layers=tuple(int(i) for i in cfg.get("dual_attention_layers") or ()),
            pos_embed_max_size=int(cfg.get("pos_embed_max_size") or 0))
    except (KeyError, TypeError, ValueError):
        raise EstimateError(f"{name}: a {cls or 'diffusion transformer'} config needs "
                            "num_attention_heads, attention_head_dim and num_layers") from None


@dataclass(frozen=True, slots=True)
class DitSpec:
    """A text-to-image pipeline built around a diffusion transformer."""

    transformer: DitConfig
    #: CLIP text encoders (SD3.5: CLIP-L and CLIP-G with projections; FLUX.1: CLIP-L pooled).
    clips: tuple[dif.TextEncoder, ...]
    #: Prompt tokens the T5 encoder reads (SD3: 256, FLUX.1: 512).
    t5_tokens: int
    default_image: int = 1024
    #: Classifier-free guidance doubles the batch (SD3.5; FLUX.1 dev uses a guidance
    #: embedding instead, schnell neither).
    cfg: bool = True
    default_steps: int = 28

    @property
    def transformer_params(self) -> int:
        """The transformer's parameters."""
        return walk_params(self.transformer)[0]

    @property
    def clip_params(self) -> int:
        """The CLIP encoders (SD3.5's with their text projections)."""
        proj = sum(c.hidden * c.hidden for c in self.clips if c.projection is None) \
            if self.transformer.kind == "sd3" else 0
        return sum(c.params for c in self.clips) + proj

    @property
    def params(self) -> int:
        """Transformer, text encoders and VAE."""
        return self.transformer_params + self.clip_params + t5_encoder_params() + vae_params()

    def text_tokens(self) -> int:
        """Tokens of the text stream in the joint attention (SD3: 77 CLIP + T5's)."""
        return self.t5_tokens + (77 if self.transformer.kind == "sd3" else 0)

    def image_tokens(self, side: int) -> int:
        """Image tokens at ``side`` pixels (8x VAE, 2x2 patches)."""
        return (side // 16) ** 2


def vae_params() -> int:
    """The SD3 / FLUX VAE: the SD layout with 16 latent channels and no quant convs."""
    lat = 16
    quant = 2 * lat * 2 * lat + 2 * lat + lat * lat + lat
    return dif.walk_vae(8, lat).params - quant


def transformer_bytes(spec: DitSpec, weights: str | None, e: int) -> int:
    """Stored bytes of the transformer: ``e`` bytes a weight, or float8 / a GGUF type with
    the adaptive-norm Linears (and in GGUF the small tensors) kept in 16 bits."""
    params, norms = walk_params(spec.transformer)
    if weights in ("fp8", "fp8-all"):
        return params + norms  # 1 byte each, the kept ones 2
    if weights:  # GGUF: city96's converter quantizes every matrix, the norms' Linears too;
        # 1-D tensors stay F32 (a few million weights)
        return int(params * file_type_bits(weights) / 8)
    return e * params


def t5_bytes(weights: str | None, e: int) -> int:
    """Stored bytes of the T5 encoder (``fp8-all``: float8 but for its ``wo`` projections)."""
    if weights == "fp8-all":
        return t5_encoder_params() + t5_wo_params()
    return e * t5_encoder_params()


def pos_embed_buffer_bytes(spec: DitSpec, e: int) -> int:
    """SD3's precomputed position embedding (a buffer, not a parameter)."""
    c = spec.transformer
    return e * c.pos_embed_max_size ** 2 * c.dim if c.kind == "sd3" else 0


def largest_linear(spec: DitSpec) -> int:
    """The largest Linear weight (cast to bf16 one layer at a time when stored small)."""
    c = spec.transformer
    return (9 if c.dual_attention_layers else 6) * c.dim * c.dim  # an adaptive norm's


def step_flops(spec: DitSpec, side: int, batch: int) -> tuple[float, float]:
    """(matmul FLOPs, attention FLOPs) of one transformer step for ``batch`` images."""
    c = spec.transformer
    rows = batch * (2 if spec.cfg else 1)
    tokens = spec.image_tokens(side) + spec.text_tokens()
    params, norms = walk_params(c)
    matmul = 2.0 * (params - norms) * tokens * rows
    blocks = c.layers + c.single_layers
    attn = 4.0 * tokens * tokens * c.dim * blocks * rows
    attn += 4.0 * spec.image_tokens(side) ** 2 * c.dim * len(c.dual_attention_layers) * rows
    return matmul, attn


#: The pipelines by name (catalog ``arch``), from the configs in tests/data/diffusion_configs/.
SD35_MEDIUM = DitConfig("sd3", 24, 24, 64, 16, 4096, 2048, dual_attention_layers=tuple(range(13)),
                        pos_embed_max_size=384)
SD35_LARGE = DitConfig("sd3", 38, 38, 64, 16, 4096, 2048, pos_embed_max_size=192)
FLUX_DEV = DitConfig("flux", 19, 24, 128, 64, 4096, 768, patch=1, single_layers=38, guidance=True)
FLUX_SCHNELL = DitConfig("flux", 19, 24, 128, 64, 4096, 768, patch=1, single_layers=38)
CLIP_L_PROJ = dif.TextEncoder(12, 768, 3072)

PIPELINES: dict[str, DitSpec] = {
    "sd35-medium": DitSpec(SD35_MEDIUM, (CLIP_L_PROJ, dif.CLIP_BIGG), 256, default_steps=40),
    "sd35-large": DitSpec(SD35_LARGE, (CLIP_L_PROJ, dif.CLIP_BIGG), 256, default_steps=28),
    "flux-dev": DitSpec(FLUX_DEV, (dif.CLIP_L,), 512, cfg=False, default_steps=28),
    "flux-schnell": DitSpec(FLUX_SCHNELL, (dif.CLIP_L,), 256, cfg=False, default_steps=4),
}


def spec_from_config(cfg: dict[str, Any], name: str) -> DitSpec:
    """A pipeline for a transformer config: SD3's with CLIP-L/G and T5 (256 tokens), FLUX's with
    CLIP-L and T5 (512 tokens dev, 256 schnell).

    Raises:
        EstimateError: the config lacks a number the walk needs.
    """
    c = dit_config(cfg, name)
    if c.kind == "flux":
        return DitSpec(c, (dif.CLIP_L,), 512 if c.guidance else 256, cfg=False)
    return DitSpec(c, (CLIP_L_PROJ, dif.CLIP_BIGG), 256)
