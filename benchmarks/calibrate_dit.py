"""Stable Diffusion 3.5 and FLUX.1 text-to-image inference as diffusers runs it, built from the
published configs with random weights, for the memory calibration (issue 22, item 4).

Run inside a measurement child of ``benchmarks/calibrate_capped.py`` (the allocator cap is set
before this runs). The pipeline is written out by hand, as ``calibrate_vision_speed.py`` does for
SD 1.5 / SDXL, because diffusers' pipelines need tokenizer files we do not ship: the same
components (transformer, VAE, CLIP-L, CLIP-G for SD3.5, T5-XXL encoder) are called in the
pipeline's order with its shapes:

- SD3.5: CLIP-L and CLIP-G (77 tokens, penultimate hidden states and pooled projections), T5-XXL
  (256 tokens), classifier-free guidance (batch 2), 16-channel latents, patch 2 (4,096 image
  tokens at 1024 px), VAE decode in bf16 (the SD3 pipeline does not upcast).
- FLUX.1: CLIP-L pooled (77 tokens), T5-XXL (512 tokens), no CFG (dev takes a guidance
  embedding, schnell none), latents packed 2x2 (4,096 tokens of 64), VAE decode in bf16.

Variants: ``bf16`` (every component in bf16); ``fp8`` (the transformer's Linear/Conv weights
stored in float8_e4m3fn, up-cast per layer to bf16 when it runs:
``enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=torch.bfloat16)``);
``fp8-all`` (the T5 encoder too, through ``diffusers.hooks.apply_layerwise_casting``: the
"t5xxl_fp8" people pair with it; its ``wo`` projections stay bf16: T5's feed-forward casts
its input to ``wo``'s stored dtype, which fails in fp8). Offload ``none`` (everything
resident) or ``model`` (what ``pipe.enable_model_cpu_offload()`` does: one component on the
GPU at a time, the previous one moved back to system RAM when the next one is called).

Weights: each component is built on the meta device, cast, then given real storage on the GPU
(``to_empty``) and filled with N(0, 0.02) per tensor, so the build never holds a bf16 copy of an
fp8 model (as loading an fp8 or GGUF file does not).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DIFFUSION_DIR = ROOT / "tests" / "data" / "diffusion_configs"

#: Tiny stand-ins with the real layouts, for the CPU dry run.
TINY: dict[str, dict[str, Any]] = {
    "transformer-sd3": {"_class_name": "SD3Transformer2DModel", "attention_head_dim": 8,
                        "caption_projection_dim": 32, "dual_attention_layers": [0],
                        "in_channels": 16, "joint_attention_dim": 64, "num_attention_heads": 4,
                        "num_layers": 2, "out_channels": 16, "patch_size": 2,
                        "pooled_projection_dim": 64, "pos_embed_max_size": 32,
                        "qk_norm": "rms_norm", "sample_size": 16},
    "transformer-flux": {"_class_name": "FluxTransformer2DModel", "attention_head_dim": 16,
                         "axes_dims_rope": [4, 6, 6], "guidance_embeds": True, "in_channels": 64,
                         "joint_attention_dim": 64, "num_attention_heads": 2, "num_layers": 1,
                         "num_single_layers": 1, "patch_size": 1, "pooled_projection_dim": 32},
    "vae": {"block_out_channels": [16, 32], "norm_num_groups": 8, "layers_per_block": 1,
            "latent_channels": 16, "down_block_types": ["DownEncoderBlock2D"] * 2,
            "up_block_types": ["UpDecoderBlock2D"] * 2, "use_quant_conv": False,
            "use_post_quant_conv": False},
    "t5": {"d_ff": 64, "d_kv": 8, "d_model": 64, "num_heads": 4, "num_layers": 1,
           "feed_forward_proj": "gated-gelu", "vocab_size": 500, "is_gated_act": True,
           "dense_act_fn": "gelu_new"},
    "clip": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
             "num_attention_heads": 2, "vocab_size": 49408, "max_position_embeddings": 77,
             "projection_dim": 32},
}


def _cfg(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DIFFUSION_DIR / f"{name}.json").read_text("utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _init(module: Any) -> None:
    """Random N(0, 0.02) matrices, norms 1, biases 0 (values barely matter for memory/time)."""
    import torch

    with torch.no_grad():
        for name, p in list(module.named_parameters()) + list(module.named_buffers()):
            tmp = torch.empty(p.shape, device=p.device, dtype=torch.bfloat16)
            if p.dim() >= 2:
                tmp.normal_(0.0, 0.02)
            elif name.endswith("weight"):
                tmp.fill_(1.0)
            else:
                tmp.zero_()
            p.copy_(tmp)
            del tmp


def _build(make: Any, device: str, storage: Any = None, skip: Any = "auto") -> Any:
    """``make()`` on the meta device, in bf16 (Linear/Conv weights in ``storage`` when given),
    then real storage on ``device``."""
    import torch
    from diffusers.hooks import apply_layerwise_casting

    with torch.device("meta"):
        module = make()
    module = module.to(torch.bfloat16)
    if storage is not None:
        apply_layerwise_casting(module, storage_dtype=storage, compute_dtype=torch.bfloat16,
                                skip_modules_pattern=skip)
    module = module.to_empty(device=device)
    _init(module)
    module.requires_grad_(False)
    return module.eval()


def _params(module: Any) -> tuple[int, int]:
    """(parameters, bytes) of a module as stored."""
    n = b = 0
    for p in module.parameters():
        n += p.numel()
        b += p.numel() * p.element_size()
    return n, b


def build(case: dict[str, Any], device: str) -> dict[str, Any]:
    """The pipeline's components by name (on the GPU, or in RAM for model offload)."""
    import diffusers
    import torch
    import transformers

    tiny = case["model"].startswith("tiny")
    flux = "flux" in case["model"]
    fp8 = torch.float8_e4m3fn
    offload = case.get("offload", "none") == "model"
    variant = case.get("variant", "bf16")
    home = "cpu" if offload else device
    if tiny:
        tcfg = dict(TINY["transformer-flux" if flux else "transformer-sd3"])
        vcfg, t5cfg, clip_l = TINY["vae"], TINY["t5"], dict(TINY["clip"])
        clip_g: dict[str, Any] = dict(TINY["clip"])
    else:
        tname = {"sd35-medium": "sd35-medium-transformer", "sd35-large": "sd35-large-transformer",
                 "flux-dev": "flux-dev-transformer", "flux-schnell": "flux-dev-transformer"}
        tcfg = _cfg(tname[case["model"]])
        if case["model"] == "flux-schnell":
            tcfg["guidance_embeds"] = False
        vcfg = _cfg("flux-vae" if flux else "sd3-vae")
        t5cfg = _cfg("t5-xxl-encoder")
        clips = json.loads((DIFFUSION_DIR / "clip-text.json").read_text("utf-8"))
        clip_l, clip_g = dict(clips["clip-l"]), dict(clips["clip-bigg"])
    tcfg.pop("_class_name", None)
    tcls = diffusers.FluxTransformer2DModel if flux else diffusers.SD3Transformer2DModel
    parts: dict[str, Any] = {}

    def place(name: str, module: Any) -> None:
        parts[name] = module.to(home) if offload else module

    # the transformer first: built on the GPU (so a card that cannot hold it fails here, as
    # loading it would), moved to RAM at once when offloading
    place("transformer", _build(lambda: tcls.from_config(tcfg), device,
                                fp8 if variant in ("fp8", "fp8-all") else None,
                                tcls._skip_layerwise_casting_patterns))
    t5c = transformers.T5Config(**t5cfg)
    place("t5", _build(lambda: transformers.T5EncoderModel(t5c), device,
                       fp8 if variant == "fp8-all" else None, ("layer_norm", "shared", "wo")))
    if flux:
        place("clip_l", _build(lambda: transformers.CLIPTextModel(
            transformers.CLIPTextConfig(**clip_l)), device))
    else:
        place("clip_l", _build(lambda: transformers.CLIPTextModelWithProjection(
            transformers.CLIPTextConfig(**clip_l)), device))
        place("clip_g", _build(lambda: transformers.CLIPTextModelWithProjection(
            transformers.CLIPTextConfig(**clip_g)), device))
    place("vae", _build(lambda: diffusers.AutoencoderKL.from_config(vcfg), device))
    return parts


class _Offload:
    """One component on the GPU at a time (``enable_model_cpu_offload``'s hooks)."""

    def __init__(self, parts: dict[str, Any], device: str, active: bool) -> None:
        self.parts, self.device, self.active = parts, device, active
        self.current: str | None = None

    def __call__(self, name: str) -> Any:
        if self.active and self.current != name:
            if self.current is not None:
                self.parts[self.current].to("cpu")
            self.parts[name].to(self.device)
            self.current = name
        return self.parts[name]


def run(case: dict[str, Any], device: str = "cuda") -> dict[str, Any]:
    """Build, sample ``runs`` images of ``steps`` transformer steps each; the record."""
    import torch

    cuda = device == "cuda"
    rec: dict[str, Any] = {}
    t0 = time.perf_counter()
    parts = build(case, device)
    rec["build_seconds"] = round(time.perf_counter() - t0, 2)
    rec["components"] = {k: dict(zip(("params", "bytes"), _params(m), strict=True))
                         for k, m in parts.items()}
    if cuda:
        torch.cuda.synchronize()
        rec["weights_allocated_bytes"] = int(torch.cuda.memory_allocated())
        rec["build_max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
        torch.cuda.reset_peak_memory_stats()
    flux = "flux" in case["model"]
    tiny = case["model"].startswith("tiny")
    get = _Offload(parts, device, case.get("offload", "none") == "model")
    b = case.get("batch", 1)
    px = case.get("image", 1024)
    lat = px // 8
    cfg_batch = b if flux else 2 * b  # SD3.5: classifier-free guidance
    t5_tokens = case.get("t5_tokens", 512 if flux else 256)
    bf = torch.bfloat16
    gen = torch.Generator(device="cpu").manual_seed(0)

    def ids(n: int, length: int, vocab: int) -> Any:
        return torch.randint(0, vocab, (n, length), generator=gen).to(device)

    unet_times: list[float] = []

    def sample() -> None:
        with torch.inference_mode():
            t5_vocab = 500 if tiny else 32128
            t5_out = get("t5")(ids(cfg_batch, t5_tokens, t5_vocab)).last_hidden_state
            if flux:
                pooled = get("clip_l")(ids(cfg_batch, 77, 49408)).pooler_output
                ctx = t5_out
            else:
                o1 = get("clip_l")(ids(cfg_batch, 77, 49408), output_hidden_states=True)
                o2 = get("clip_g")(ids(cfg_batch, 77, 49408), output_hidden_states=True)
                clip = torch.cat([o1.hidden_states[-2], o2.hidden_states[-2]], dim=-1)
                clip = torch.nn.functional.pad(clip, (0, t5_out.shape[-1] - clip.shape[-1]))
                ctx = torch.cat([clip, t5_out], dim=-2)
                pooled = torch.cat([o1.text_embeds, o2.text_embeds], dim=-1)
            tr = get("transformer")
            x = torch.randn(b, 16, lat, lat, generator=gen).to(device=device, dtype=bf)
            for i in range(case.get("steps", 2)):
                _sync(cuda)
                t1 = time.perf_counter()
                t = torch.full((cfg_batch,), 999.0 - i, device=device, dtype=bf)
                if flux:
                    packed = x.view(b, 16, lat // 2, 2, lat // 2, 2).permute(0, 2, 4, 1, 3, 5)
                    packed = packed.reshape(b, (lat // 2) ** 2, 64)
                    img_ids = torch.zeros((lat // 2) ** 2, 3, device=device, dtype=bf)
                    txt_ids = torch.zeros(t5_tokens, 3, device=device, dtype=bf)
                    guidance = (torch.full((b,), 3.5, device=device, dtype=bf)
                                if tr.config.guidance_embeds else None)
                    out = tr(hidden_states=packed, timestep=t / 1000, guidance=guidance,
                             pooled_projections=pooled, encoder_hidden_states=ctx,
                             txt_ids=txt_ids, img_ids=img_ids).sample
                    out = out.reshape(b, lat // 2, lat // 2, 16, 2, 2).permute(0, 3, 1, 4, 2, 5)
                    x = x - 0.01 * out.reshape(b, 16, lat, lat)
                else:
                    out = tr(hidden_states=torch.cat([x, x]), timestep=t,
                             encoder_hidden_states=ctx, pooled_projections=pooled).sample
                    u, c = out.chunk(2)
                    x = x - 0.01 * (u + 7.0 * (c - u))
                del out
                _sync(cuda)
                unet_times.append(time.perf_counter() - t1)
            get("vae").decode(x.to(bf)).sample.float().cpu()

    times = []
    for _ in range(case.get("runs", 2)):
        _sync(cuda)
        t1 = time.perf_counter()
        sample()
        _sync(cuda)
        times.append(time.perf_counter() - t1)
    rec["sample_seconds"] = [round(t, 4) for t in times]
    rec["step_seconds"] = round(times[-1], 5)
    steps = case.get("steps", 2)
    rec["transformer_step_seconds"] = round(statistics.median(unet_times[steps:] or unet_times),
                                            5)
    return rec


def _sync(cuda: bool) -> None:
    if cuda:
        import torch

        torch.cuda.synchronize()
