"""Stable Diffusion (1.x / 2.x / XL) UNets, their VAE and CLIP text encoders, block by block.

The UNet is walked from its diffusers ``config.json`` (``block_out_channels``,
``layers_per_block``, ``transformer_layers_per_block``, heads, ``cross_attention_dim``) exactly
as ``UNet2DConditionModel`` builds it: down blocks with their skip outputs, the cross-attention
mid block, up blocks that concatenate the skips. The walk gives the parameters (checked against
the published counts in the tests), multiply-accumulates, and per image at a latent side ``s``:

- what a LoRA training step keeps for backward (adapters on ``to_q/to_k/to_v/to_out.0``, as
  diffusers' ``train_text_to_image_lora`` scripts set them; frozen bf16 base under autocast):
  GroupNorm and LayerNorm inputs in fp32, SiLU inputs, the adapters' bf16 input copies,
  attention's q/k/v/output, the GEGLU halves; with gradient checkpointing only each block's
  input;
- the largest set of tensors alive at once when sampling (the skips plus one block's work).

The VAE decoder is walked the same way at the output resolution, where text-to-image sampling
usually peaks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rigready.assess.estimate.inputs import EstimateError

#: Channels of the block that a 1 -> 8 pixel VAE decoder walks through (SD and SDXL).
VAE_CHANNELS = (128, 256, 512, 512)
#: Operations one module's eager forward dispatches (diffusers 0.42, counted from its code;
#: views and dtype no-ops included, as each still costs the host a dispatch): a ResNet block
#: (GroupNorm, SiLU, conv, the timestep's SiLU, Linear and broadcast view, add, GroupNorm,
#: SiLU, dropout, conv, residual add and scale; a conv shortcut adds its contiguous copy and
#: conv), a Transformer2DModel's frame (GroupNorm, proj_in, the reshapes either side,
#: proj_out, residual add), one BasicTransformerBlock (three LayerNorms, two attentions of 17
#: each: q/k/v, six head views, SDPA, the output reshape and cast, to_out, dropout, rescale;
#: three residual adds; GEGLU's Linear, chunk, GELU and product, dropout, Linear), an
#: upsampler (interpolate, conv), the skip concatenation before each up block's ResNet, and
#: the stem (sinusoidal timestep, its MLP, conv_in, the closing norm, SiLU and conv_out; SDXL's
#: size/crop embedding adds its own).
OPS = {"resnet": 14, "shortcut": 2, "frame": 9, "block": 46, "down": 1, "up": 3, "skip": 1,
       "stem": 20, "added": 15}


@dataclass(frozen=True, slots=True)
class UNetConfig:
    """The numbers of a diffusers ``UNet2DConditionModel`` config the walk uses."""

    channels: tuple[int, ...]
    layers_per_block: int
    down_attention: tuple[bool, ...]
    transformer_depth: tuple[int, ...]
    heads: tuple[int, ...]
    cross_attention_dim: int
    in_channels: int = 4
    #: SDXL's extra conditioning (pooled text + size/crop ids): TimestepEmbedding input width.
    addition_embed_dim: int | None = None
    #: The transformers' proj_in / proj_out are Linears (SD 2.x, SDXL), not 1x1 convs (SD 1.x).
    linear_projection: bool = False


@dataclass
class UNetWalk:
    """Per-image totals of one UNet pass at a latent side (bytes for the dtype rules above)."""

    params: int = 0
    macs: float = 0.0
    lora_params_per_rank: int = 0
    saved_bytes: float = 0.0  # LoRA training, no checkpointing
    block_inputs_bytes: float = 0.0  # checkpointing: each block's bf16 input
    largest_block_bytes: float = 0.0  # checkpointing: one block recomputed
    skips_elems: float = 0.0
    live_elems: float = 0.0  # sampling: largest one-block working set
    layers: int = 0  # convolutions and Linears (kernel launches scale with them)
    attention_tokens: list[int] = field(default_factory=list)
    #: The sampling step's kernels per image, for the speed model (as
    #: :class:`rigready.assess.estimate.image.vision.Walk` notes a classifier's): ``(rows, k,
    #: n, kind)`` of each conv (implicit GEMM: rows = output pixels, k = in channels x kernel
    #: area, n = out channels) and Linear (rows = tokens), ``(queries, keys, heads, head_dim)``
    #: of each attention, the operations the forward dispatches (``OPS``) and the elements the
    #: elementwise kernels read and write (GroupNorm, SiLU, residual adds, reshaping copies).
    gemms: list[tuple[int, int, int, str]] = field(default_factory=list)
    attention: list[tuple[int, int, int, int]] = field(default_factory=list)
    ops: int = 0
    elementwise: float = 0.0


def unet_config(cfg: dict[str, Any], name: str = "config.json") -> UNetConfig:
    """Read a diffusers UNet config dict.

    Raises:
        EstimateError: not a ``UNet2DConditionModel`` with the fields the walk needs.
    """
    try:
        channels = tuple(int(c) for c in cfg["block_out_channels"])
        downs = [str(b) for b in cfg["down_block_types"]]
        lpb = int(cfg.get("layers_per_block", 2))
    except (KeyError, TypeError, ValueError):
        raise EstimateError(f"{name}: a UNet config needs block_out_channels, "
                            "down_block_types and layers_per_block") from None
    n = len(channels)
    if n == 0 or len(downs) != n or min(channels) <= 0 or lpb <= 0:
        raise EstimateError(f"{name}: block_out_channels and down_block_types must match and "
                            "be above zero")
    depth = cfg.get("transformer_layers_per_block", 1)
    depths = tuple(int(d) for d in depth) if isinstance(depth, list) else (int(depth),) * n
    # diffusers' legacy naming: attention_head_dim holds the number of heads when
    # num_attention_heads is absent
    heads_raw = cfg.get("num_attention_heads") or cfg.get("attention_head_dim", 8)
    heads = tuple(int(h) for h in heads_raw) if isinstance(heads_raw, list) else \
        (int(heads_raw),) * n
    add = cfg.get("projection_class_embeddings_input_dim") \
        if cfg.get("addition_embed_type") == "text_time" else None
    return UNetConfig(channels=channels, layers_per_block=lpb,
                      down_attention=tuple("CrossAttn" in b for b in downs),
                      transformer_depth=depths, heads=heads,
                      cross_attention_dim=int(cfg.get("cross_attention_dim", 768)),
                      in_channels=int(cfg.get("in_channels", 4)),
                      addition_embed_dim=int(add) if add else None,
                      linear_projection=bool(cfg.get("use_linear_projection", False)))


def _resnet(w: UNetWalk, cin: int, cout: int, s: int, temb: int) -> None:
    w.params += 2 * cin + cin * cout * 9 + cout + temb * cout + cout + 2 * cout \
        + cout * cout * 9 + cout + (cin * cout + cout if cin != cout else 0)
    px = s * s
    w.macs += px * (cin * cout * 9 + cout * cout * 9 + (cin * cout if cin != cout else 0))
    w.layers += 3 + (cin != cout)
    w.gemms += [(px, cin * 9, cout, "conv"), (1, temb, cout, "linear"),
                (px, cout * 9, cout, "conv")]
    if cin != cout:
        w.gemms.append((px, cin, cout, "conv"))
    w.ops += OPS["resnet"] + (OPS["shortcut"] if cin != cout else 0)
    # GroupNorm reads its input twice (statistics, then normalising) and writes once, a SiLU
    # reads and writes, the timestep add and the scaled residual add read two and write one
    w.elementwise += px * (5 * cin + 12 * cout)
    # GroupNorm fp32 input and the SiLU's fp32 input, twice; the conv input copies in bf16
    block = px * (4 * cin + 4 * cin + 2 * cin + 4 * cout + 4 * cout + 2 * cout)
    w.saved_bytes += block
    w.block_inputs_bytes += 2 * px * cin
    w.largest_block_bytes = max(w.largest_block_bytes, block)
    w.live_elems = max(w.live_elems, px * (2 * cin + 2 * cout))


def _transformer(w: UNetWalk, c: int, s: int, depth: int, cross: int, heads: int,
                 linear_proj: bool) -> None:
    px = s * s
    e = px * c
    proj = "linear" if linear_proj else "conv"  # SD 1.x projects with 1x1 convs
    w.gemms += [(px, c, c, proj), (px, c, c, proj)]
    # per block: self-attention's q/k/v/out, cross-attention's q/out and k/v on the 77 text
    # tokens, GEGLU's c -> 8c and 4c -> c
    w.gemms += depth * [(px, c, c, "linear")] * 6 + depth * [(77, cross, c, "linear")] * 2 \
        + depth * [(px, c, 8 * c, "linear"), (px, 4 * c, c, "linear")]
    w.attention += depth * [(px, px, heads, c // heads), (px, 77, heads, c // heads)]
    w.ops += OPS["frame"] + depth * OPS["block"]
    # the frame: GroupNorm (3), reshapes either side (2 each), residual add (3); a block:
    # LayerNorms (3 each), each attention's output reshape, rescale and residual add (7),
    # GELU on half of GEGLU's 8c output (2 x 4c), the product (3 x 4c), the last add (3)
    w.elementwise += e * (10 + depth * (9 + 2 * 7 + 8 + 12 + 3))
    w.params += 2 * c + 2 * (c * c + c)  # GroupNorm, proj_in, proj_out
    per = (2 * c + 4 * c * c + c + 2 * c + 2 * c * c + 2 * cross * c + c + 2 * c
           + c * 8 * c + 8 * c + 4 * c * c + c)
    w.params += depth * per
    w.layers += 2 + 10 * depth
    w.lora_params_per_rank += depth * (4 * 2 * c + 2 * (c + c) + 2 * (cross + c))
    w.macs += depth * (px * (4 * c * c + 2 * c * c + 12 * c * c) + 2 * px * px * c
                       + 2 * px * 77 * c) + 2 * px * c * c
    # per block: three fp32 LayerNorm inputs; self-attention: three adapter input copies,
    # q/k/v/output, the output adapter's input; cross-attention: query adapter copy, q/out,
    # out adapter; GEGLU: gate (GELU), both halves of the product
    block = e * (12 + 16 + 8 + 24)
    w.saved_bytes += depth * block + px * (4 * c + 4 * c)  # GroupNorm input, proj_in copy
    w.block_inputs_bytes += depth * 2 * e + 2 * e
    w.largest_block_bytes = max(w.largest_block_bytes, block)
    w.live_elems = max(w.live_elems, e * (2 + 8 + 4))
    w.attention_tokens.append(px)


def walk_unet(cfg: UNetConfig, side: int) -> UNetWalk:
    """Walk the UNet for one latent of ``side`` x ``side``."""
    w = UNetWalk()
    ch = cfg.channels
    c0, temb = ch[0], 4 * ch[0]
    n = len(ch)
    w.params += cfg.in_channels * c0 * 9 + c0 + c0 * temb + temb + temb * temb + temb
    w.gemms += [(side * side, cfg.in_channels * 9, c0, "conv"), (1, c0, temb, "linear"),
                (1, temb, temb, "linear"), (side * side, c0 * 9, cfg.in_channels, "conv")]
    w.ops += OPS["stem"]
    w.elementwise += side * side * 5 * c0  # the closing GroupNorm and SiLU
    if cfg.addition_embed_dim:
        w.params += cfg.addition_embed_dim * temb + temb + temb * temb + temb
        w.gemms += [(1, cfg.addition_embed_dim, temb, "linear"), (1, temb, temb, "linear")]
        w.ops += OPS["added"]
    s = side
    skips: list[float] = [c0 * s * s]
    out_c = c0
    for i in range(n):
        in_c, out_c = out_c, ch[i]
        for j in range(cfg.layers_per_block):
            _resnet(w, in_c if j == 0 else out_c, out_c, s, temb)
            if cfg.down_attention[i]:
                _transformer(w, out_c, s, cfg.transformer_depth[i], cfg.cross_attention_dim,
                             cfg.heads[i], cfg.linear_projection)
            skips.append(out_c * s * s)
        if i < n - 1:
            w.params += out_c * out_c * 9 + out_c
            w.macs += (s // 2) ** 2 * out_c * out_c * 9
            w.gemms.append(((s // 2) ** 2, out_c * 9, out_c, "conv"))
            w.ops += OPS["down"]
            s //= 2
            skips.append(out_c * s * s)
    w.skips_elems = sum(skips)
    _resnet(w, ch[-1], ch[-1], s, temb)
    _transformer(w, ch[-1], s, cfg.transformer_depth[-1], cfg.cross_attention_dim,
                 cfg.heads[-1], cfg.linear_projection)
    _resnet(w, ch[-1], ch[-1], s, temb)
    rev = list(reversed(ch))
    rev_att = list(reversed(cfg.down_attention))
    rev_depth = list(reversed(cfg.transformer_depth))
    rev_heads = list(reversed(cfg.heads))
    out_c = rev[0]
    for i in range(n):
        prev, out_c = out_c, rev[i]
        in_c = rev[min(i + 1, n - 1)]
        for j in range(cfg.layers_per_block + 1):
            skip = in_c if j == cfg.layers_per_block else out_c
            # the concatenation reads both halves and writes the whole
            w.ops += OPS["skip"]
            w.elementwise += 2 * s * s * ((prev if j == 0 else out_c) + skip)
            _resnet(w, (prev if j == 0 else out_c) + skip, out_c, s, temb)
            if rev_att[i]:
                _transformer(w, out_c, s, rev_depth[i], cfg.cross_attention_dim,
                             rev_heads[i], cfg.linear_projection)
        if i < n - 1:
            s *= 2
            w.params += out_c * out_c * 9 + out_c
            w.macs += s * s * out_c * out_c * 9
            w.gemms.append((s * s, out_c * 9, out_c, "conv"))
            w.ops += OPS["up"]
            w.elementwise += s * s * out_c * 5 // 4  # nearest upsampling: read 1/4, write 1
    w.params += 2 * c0 + c0 * 4 * 9 + 4
    return w


@dataclass(frozen=True, slots=True)
class VaeWalk:
    """The VAE at one output resolution (per image)."""

    params: int
    #: Largest set of elements alive at once in the decoder (sampling) and encoder (training).
    decode_live_elems: float
    encode_live_elems: float
    #: Multiply-accumulates of one decode (latent to image) and one encode (image to latent).
    decode_macs: float = 0.0
    encode_macs: float = 0.0


def walk_vae(pixels: int, latent_channels: int = 4) -> VaeWalk:
    """The SD/SDXL ``AutoencoderKL`` (128/256/512/512 channels, 2 layers per block)."""
    ch = VAE_CHANNELS

    def res(ci: int, co: int) -> int:
        return 2 * ci + ci * co * 9 + co + 2 * co + co * co * 9 + co + \
            (ci * co + co if ci != co else 0)

    top = ch[-1]
    attn = 2 * top + 4 * (top * top + top)
    enc = 3 * ch[0] * 9 + ch[0]
    prev = ch[0]
    for i, c in enumerate(ch):
        enc += res(prev, c) + res(c, c)
        if i < len(ch) - 1:
            enc += c * c * 9 + c
        prev = c
    enc += 2 * res(top, top) + attn + 2 * top + top * 2 * latent_channels * 9 \
        + 2 * latent_channels
    dec = latent_channels * top * 9 + top + 2 * res(top, top) + attn
    prev = top
    for i, c in enumerate(reversed(ch)):
        dec += res(prev, c) + 2 * res(c, c)
        if i < len(ch) - 1:
            dec += c * c * 9 + c
        prev = c
    dec += 2 * ch[0] + ch[0] * 3 * 9 + 3
    quant = 2 * latent_channels * 2 * latent_channels + 2 * latent_channels + \
        latent_channels * latent_channels + latent_channels
    px = pixels * pixels
    dec_macs, enc_macs = _vae_macs(pixels, latent_channels)
    # decoder at full resolution: the upsampled 256-channel input of the last block, its
    # GroupNorm and SiLU outputs and the 128-channel result; the encoder's first blocks
    return VaeWalk(params=enc + dec + quant,
                   decode_live_elems=px * (3 * ch[1] + ch[0]),
                   encode_live_elems=px * (4 * ch[0]), decode_macs=dec_macs,
                   encode_macs=enc_macs)


def _vae_macs(pixels: int, latent_channels: int) -> tuple[float, float]:
    """(decode, encode) multiply-accumulates of ``AutoencoderKL`` at ``pixels`` a side: its
    3x3 convs (two per ResNet block and a 1x1 shortcut where channels change, the up- and
    down-sampling convs) and the mid block's single-head attention over every latent pixel."""
    ch, top = VAE_CHANNELS, VAE_CHANNELS[-1]

    def res(ci: int, co: int, s: int) -> float:
        return float(s * s * (9 * ci * co + 9 * co * co + (ci * co if ci != co else 0)))

    def mid(s: int) -> float:  # two ResNet blocks, q/k/v/out projections, scores and values
        return 2 * res(top, top, s) + s * s * 4 * top * top + 2.0 * (s * s) ** 2 * top

    s = pixels // 8
    dec = s * s * 9 * latent_channels * top + mid(s)
    prev = top
    for i, c in enumerate(reversed(ch)):  # three ResNet blocks per level, then upsampling
        dec += res(prev, c, s) + 2 * res(c, c, s)
        if i < len(ch) - 1:
            s *= 2
            dec += s * s * 9 * c * c
        prev = c
    dec += s * s * 9 * ch[0] * 3
    s = pixels
    enc = float(s * s * 9 * 3 * ch[0])
    prev = ch[0]
    for i, c in enumerate(ch):  # two ResNet blocks per level, then a stride-2 conv
        enc += res(prev, c, s) + res(c, c, s)
        if i < len(ch) - 1:
            s //= 2
            enc += s * s * 9 * c * c
        prev = c
    enc += mid(s) + s * s * 9 * top * 2 * latent_channels
    return dec, enc


@dataclass(frozen=True, slots=True)
class TextEncoder:
    """A CLIP text transformer (77 tokens)."""

    layers: int
    hidden: int
    mlp: int
    projection: int | None = None

    @property
    def params(self) -> int:
        """Parameters (49408-token vocabulary, 77 positions, final LayerNorm)."""
        h = self.hidden
        per = 4 * (h * h + h) + 2 * h + h * self.mlp + self.mlp + self.mlp * h + h + 2 * h
        proj = h * self.projection if self.projection else 0
        return 49408 * h + 77 * h + self.layers * per + 2 * h + proj


#: openai/clip-vit-large-patch14's text tower (SD 1.5, SDXL's first encoder).
CLIP_L = TextEncoder(12, 768, 3072)
#: OpenCLIP ViT-bigG/14's text tower with its projection (SDXL's second encoder).
CLIP_BIGG = TextEncoder(32, 1280, 5120, projection=1280)


@dataclass(frozen=True, slots=True)
class DiffusionSpec:
    """A Stable Diffusion pipeline: its UNet, text encoders and VAE."""

    unet: UNetConfig
    text_encoders: tuple[TextEncoder, ...]
    #: The pipeline decodes in fp32 when it runs in fp16 (SDXL's ``force_upcast``).
    vae_upcast: bool = False
    default_image: int = 512

    @property
    def params(self) -> int:
        """UNet + text encoders + VAE."""
        return (walk_unet(self.unet, 8).params + self.text_params
                + walk_vae(8).params)

    @property
    def text_params(self) -> int:
        """The text encoders' parameters."""
        return sum(t.params for t in self.text_encoders)
