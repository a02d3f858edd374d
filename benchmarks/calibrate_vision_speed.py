"""Measure vision and diffusion memory, step times and the GPU's kernel rates, for calibration.

One command on a machine with an NVIDIA GPU measures, each case in its own forked child (so
peaks, the caching allocator and the CUDA context never leak from one case to the next):

- ``gemm``: matmul throughput over the shapes language models of 124M-8B produce (forward,
  input-gradient and weight-gradient orientations) in bf16, fp16, tf32 and fp32, plus copy
  bandwidth and fused attention (SDPA) forward+backward throughput;
- ``vision``: torchvision ResNet / EfficientNet / ConvNeXt / ViT training and inference steps;
- ``diffusion``: Stable Diffusion 1.5 and SDXL built from their published configs with random
  weights (UNet + VAE + CLIP text encoders): sampling (classifier-free guidance, VAE decode)
  and LoRA training steps;
- ``lm``: language-model training step times (and generate() speed) from 124M to 8B, built from
  ``tests/data/hf_configs`` with random weights by ``rigready.assess.measure``'s builder.

Each record has the peak NVML "used" memory (polled by the parent), torch's peak allocated and
reserved memory, and the median of the timed steps (``step_seconds``; each step synchronised).

Usage::

    python benchmarks/calibrate_vision_speed.py --grid tiny,gemm,vision,diffusion,lm --out x.json
    python benchmarks/calibrate_vision_speed.py --grid lm --list
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build" / "pkgroot"))
import calibrate_memory as cm  # software versions
import calibration_grids as cg  # case names and configs of the LM calibration

from rigready.assess.measure import child as measure_child  # the LM builder
from rigready.assess.measure import launch  # the NVML poller

ROOT = Path(__file__).resolve().parents[1]
DIFFUSION_DIR = ROOT / "tests" / "data" / "diffusion_configs"
SCHEMA = "rigready.calibration.vision-speed"

Case = dict[str, Any]


def _case(kind: str, name: str, **kw: Any) -> Case:
    return {"kind": kind, "name": name, **kw}


def _v(arch: str, method: str, precision: str, batch: int, image: int, **kw: Any) -> Case:
    return _case("vision", f"{arch}-{method}-{precision}-b{batch}-{image}px", arch=arch,
                 method=method, precision=precision, batch=batch, image=image, **kw)


def _d(model: str, method: str, batch: int, image: int, **kw: Any) -> Case:
    ck = "-ckpt" if kw.get("checkpointing") else ""
    return _case("diffusion", f"{model}-{method}-b{batch}-{image}px{ck}", model=model,
                 method=method, batch=batch, image=image, **kw)


def _lm(config: str, method: str, precision: str, batch: int, seq: int, holdout: bool = False,
        **kw: Any) -> Case:
    c = cg._c(config, method, precision, batch, seq, **kw)
    return _case("lm", c.name, config=config, method=method, precision=precision, batch=batch,
                 seq=seq, extra=kw, holdout=holdout)


def grid(name: str) -> list[Case]:
    """The named list of cases."""
    if name == "tiny":
        return [_case("gemm", "tiny-gemm", tiny=True),
                _v("resnet18", "full", "amp-bf16", 2, 64),
                _v("vit_b_16", "inference", "bf16", 2, 224),
                _d("tiny-unet", "inference", 1, 64, steps=2),
                _d("tiny-unet", "lora", 1, 64),
                _lm("tiny-llama", "full", "amp-bf16", 2, 64),
                _lm("tiny-llama", "inference", "bf16", 1, 32, new_tokens=8)]
    if name == "gemm":
        return [_case("gemm", "gemm-sweep")]
    if name == "vision":
        return [
            _v("resnet50", "full", "amp-bf16", 64, 224),
            _v("resnet50", "full", "fp32", 32, 224),
            _v("resnet50", "inference", "bf16", 64, 224),
            _v("resnet18", "full", "amp-bf16", 128, 224),
            _v("resnet101", "full", "amp-bf16", 32, 224),
            _v("efficientnet_b0", "full", "amp-bf16", 64, 224),
            _v("convnext_tiny", "full", "amp-bf16", 64, 224),
            _v("vit_b_16", "full", "amp-bf16", 64, 224),
            _v("vit_b_16", "inference", "bf16", 64, 224),
            _v("vit_l_16", "full", "amp-bf16", 16, 224),
            # held out
            _v("resnet50", "full", "amp-bf16", 32, 320, holdout=True),
            _v("efficientnet_b3", "full", "amp-bf16", 32, 300, holdout=True),
            _v("convnext_base", "full", "amp-bf16", 32, 224, holdout=True),
            _v("vit_b_16", "full", "fp32", 32, 224, holdout=True),
            _v("convnext_tiny", "inference", "bf16", 128, 224, holdout=True),
        ]
    if name == "diffusion":
        return [
            _d("sd15", "inference", 1, 512, steps=4),
            _d("sd15", "inference", 4, 512, steps=3),
            _d("sdxl", "inference", 1, 1024, steps=3),
            _d("sd15", "lora", 4, 512),
            _d("sd15", "lora", 8, 512, checkpointing=True),
            _d("sdxl", "lora", 1, 1024),
            _d("sdxl", "lora", 2, 1024, checkpointing=True),
            # held out
            _d("sd15", "lora", 2, 768, holdout=True),
            _d("sdxl", "inference", 2, 768, steps=3, holdout=True),
        ]
    if name == "lm":
        return [
            _lm("gpt2", "full", "amp-bf16", 8, 1024),
            _lm("gpt2", "lora", "amp-bf16", 16, 512, lora_targets=("c_attn",)),
            _lm("gpt2-medium", "full", "amp-bf16", 8, 1024),
            _lm("qwen2.5-0.5b", "full", "amp-bf16", 4, 1024),
            _lm("qwen2.5-0.5b", "lora", "bf16", 8, 1024),
            _lm("llama-3.2-1b", "full", "bf16", 4, 2048),
            _lm("llama-3.2-1b", "lora", "bf16", 8, 1024),
            _lm("llama-3.2-1b", "full", "amp-bf16", 4, 1024, checkpointing=True),
            _lm("qwen2.5-1.5b", "full", "bf16", 4, 1024),
            _lm("qwen2.5-1.5b", "lora", "bf16", 4, 2048, checkpointing=True,
                lora_targets=("all-linear",)),
            _lm("llama-3.2-3b", "lora", "bf16", 4, 1024),
            _lm("llama-3.2-3b", "full", "bf16", 2, 1024, checkpointing=True),
            _lm("mistral-7b-v0.1", "lora", "bf16", 2, 1024),
            _lm("mistral-7b-v0.1", "lora", "bf16", 4, 2048, checkpointing=True,
                lora_targets=("all-linear",)),
            _lm("llama-3.1-8b", "lora", "bf16", 2, 2048),
            _lm("llama-3.1-8b", "lora", "amp-bf16", 1, 4096, checkpointing=True),
            _lm("gpt2", "inference", "bf16", 1, 128, new_tokens=64),
            _lm("llama-3.2-1b", "inference", "bf16", 1, 512, new_tokens=64),
            _lm("llama-3.1-8b", "inference", "bf16", 1, 512, new_tokens=64),
            # held out
            _lm("gpt2", "full", "amp-bf16", 16, 512, holdout=True),
            _lm("gemma-2b", "full", "bf16", 4, 1024, checkpointing=True, holdout=True),
            _lm("phi-3-mini-4k", "lora", "bf16", 4, 1024,
                lora_targets=("qkv_proj", "o_proj"), holdout=True),
            _lm("llama-2-7b", "lora", "bf16", 4, 1024, holdout=True),
            _lm("qwen2.5-0.5b", "full", "bf16", 16, 512, holdout=True),
            _lm("llama-3.2-3b", "inference", "bf16", 1, 512, new_tokens=64, holdout=True),
        ]
    raise SystemExit(f"unknown grid {name!r}")


# ------------------------------------------------------------------------------ timing helpers


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timed(step: Any, warmup: int, timed: int) -> list[float]:
    """Run ``step`` warmup + timed times; seconds of each timed run (synchronised)."""
    for _ in range(warmup):
        step()
    _sync()
    out = []
    for _ in range(timed):
        t0 = time.perf_counter()
        step()
        _sync()
        out.append(time.perf_counter() - t0)
    return out


def _memory(rec: dict[str, Any]) -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
        rec["max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
        rec["max_reserved_bytes"] = int(torch.cuda.max_memory_reserved())


def _steps(rec: dict[str, Any], times: list[float]) -> None:
    rec["step_times_s"] = [round(t, 5) for t in times]
    rec["step_seconds"] = round(statistics.median(times), 5)


# ---------------------------------------------------------------------------------- children


def _gemm(case: Case) -> dict[str, Any]:
    """Matmul TFLOP/s per (M, K, N, dtype), copy GB/s and SDPA TFLOP/s."""
    import torch
    import torch.nn.functional as F

    dev = "cuda"
    tiny = case.get("tiny", False)
    layers = [(768, 2304), (768, 768), (768, 3072), (3072, 768), (768, 50257),
              (896, 896), (896, 4864), (4864, 896), (896, 151936),
              (2048, 2048), (2048, 512), (2048, 8192), (8192, 2048), (2048, 128256),
              (3072, 3072), (3072, 8192), (8192, 3072), (1536, 8960), (8960, 1536),
              (4096, 4096), (4096, 1024), (4096, 14336), (14336, 4096), (4096, 128256),
              (4096, 16), (16, 4096)]
    tokens = [512, 2048, 8192, 16384]
    dtypes = ["bf16", "fp16", "tf32", "fp32"]
    if tiny:
        layers, tokens, dtypes = [(256, 512)], [256], ["bf16"]
    rows = []
    for dname in dtypes:
        torch.backends.cuda.matmul.allow_tf32 = dname == "tf32"
        dt_ = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(dname, torch.float32)
        for k, n in layers:
            for m in tokens:
                if dname == "fp32" and m * max(k, n) > 2048 * 16384:
                    continue  # slow and rarely used: a few points are enough
                for orient in (("fwd", "dgrad", "wgrad") if dname == "bf16" else ("fwd",)):
                    # forward (m,k)x(k,n); input grad (m,n)x(n,k); weight grad (k,m)x(m,n)
                    a_shape, b_shape = {"fwd": ((m, k), (k, n)), "dgrad": ((m, n), (n, k)),
                                        "wgrad": ((k, m), (m, n))}[orient]
                    a = torch.randn(*a_shape, device=dev, dtype=dt_)
                    b = torch.randn(*b_shape, device=dev, dtype=dt_)
                    flops = 2.0 * m * k * n
                    reps = max(3, min(50, int(2e12 / flops)))
                    for _ in range(2):
                        a @ b
                    start = torch.cuda.Event(enable_timing=True)
                    end = torch.cuda.Event(enable_timing=True)
                    start.record()
                    for _ in range(reps):
                        a @ b
                    end.record()
                    end.synchronize()
                    s = start.elapsed_time(end) / 1000 / reps
                    rows.append({"dtype": dname, "m": m, "k": k, "n": n, "orient": orient,
                                 "seconds": s, "tflops": flops / s / 1e12})
                    del a, b
    torch.backends.cuda.matmul.allow_tf32 = False
    bw = []
    for mib in ([64] if tiny else [256, 2048]):
        x = torch.empty(mib * 2**20 // 4, device=dev, dtype=torch.float32)
        y = torch.empty_like(x)
        for _ in range(2):
            y.copy_(x)
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(10):
            y.copy_(x)
        end.record()
        end.synchronize()
        s = start.elapsed_time(end) / 1000 / 10
        bw.append({"mib": mib, "op": "copy", "gb_s": 2 * x.numel() * 4 / s / 1e9})
        del x, y
    attn = []
    shapes = [(8, 12, 1024, 64), (4, 16, 2048, 64), (4, 32, 2048, 128), (1, 32, 4096, 128),
              (2, 8, 4096, 64), (2, 5, 16384, 64), (2, 20, 1024, 64)]
    for b, h, s_, d in ([(1, 2, 128, 64)] if tiny else shapes):
        qkv = [torch.randn(b, h, s_, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
               for _ in range(3)]
        for causal in (True, False):
            def run(qkv: list[Any] = qkv, causal: bool = causal) -> None:
                o = F.scaled_dot_product_attention(*qkv, is_causal=causal)
                o.backward(torch.ones_like(o))
            times = _timed(run, 2, 5)
            fl = 4.0 * b * h * s_ * s_ * d * 3.5 * (0.5 if causal else 1.0)  # fwd + 2.5x bwd
            attn.append({"b": b, "h": h, "s": s_, "d": d, "causal": causal,
                         "seconds": statistics.median(times),
                         "tflops": fl / statistics.median(times) / 1e12})
        del qkv
    return {"gemm": rows, "bandwidth": bw, "sdpa_fwd_bwd": attn}


def _vision(case: Case) -> dict[str, Any]:
    import torch
    import torchvision

    dev = "cuda"
    rec: dict[str, Any] = {}
    kw: dict[str, Any] = {"weights": None}
    if case["arch"].startswith("vit") and case["image"] != 224:
        kw["image_size"] = case["image"]
    with torch.device(dev):
        model = getattr(torchvision.models, case["arch"])(**kw)
    rec["param_count"] = int(sum(p.numel() for p in model.parameters()))
    b, s = case["batch"], case["image"]
    x = torch.randn(b, 3, s, s, device=dev)
    y = torch.randint(0, 1000, (b,), device=dev)
    amp = case["precision"].startswith("amp")
    if case["method"] == "inference":
        model = model.to(torch.bfloat16).eval()
        xb = x.to(torch.bfloat16)
        del x

        def step() -> None:
            with torch.inference_mode():
                model(xb)
    else:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
        lossf = torch.nn.CrossEntropyLoss()

        def step() -> None:
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                loss = lossf(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    times = _timed(step, 2, 5)
    _memory(rec)
    _steps(rec, times)
    return rec


def _diffusion_config(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DIFFUSION_DIR / f"{name}.json").read_text("utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


TINY_UNET = {"block_out_channels": [32, 64], "layers_per_block": 1, "cross_attention_dim": 32,
             "attention_head_dim": 8, "norm_num_groups": 8, "sample_size": 8,
             "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
             "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]}


def _diffusion(case: Case) -> dict[str, Any]:
    """A Stable Diffusion pipeline by hand: text encoder(s), UNet steps, VAE (as diffusers'
    pipelines and train_text_to_image_lora scripts run them), all on the GPU."""
    import diffusers
    import peft
    import torch
    import transformers

    dev = "cuda"
    rec: dict[str, Any] = {"diffusers": diffusers.__version__}
    model = case["model"]
    xl = model == "sdxl"
    tiny = model == "tiny-unet"
    ucfg = TINY_UNET if tiny else _diffusion_config("sdxl-unet" if xl else "sd15-unet")
    vcfg = ({"block_out_channels": [32, 64], "norm_num_groups": 8, "layers_per_block": 1,
             "down_block_types": ["DownEncoderBlock2D"] * 2,
             "up_block_types": ["UpDecoderBlock2D"] * 2} if tiny
            else _diffusion_config("sd-vae"))
    clip = json.loads((DIFFUSION_DIR / "clip-text.json").read_text("utf-8"))
    half = torch.float16 if case["method"] == "inference" else torch.bfloat16
    # Built in the half-precision dtype from the start, as users' models reach the GPU
    # (``from_pretrained(torch_dtype=...)`` then ``.to("cuda")``; the LoRA script's
    # ``.to(device, dtype=weight_dtype)``): building in fp32 on the GPU and casting left SD 1.5's
    # 3.20 GiB fp32 UNet in the allocated peak of its 512 px sampling (issue 22).
    default = torch.get_default_dtype()
    torch.set_default_dtype(half)
    try:
        with torch.device(dev):
            unet = diffusers.UNet2DConditionModel.from_config(ucfg).to(half)
            vae = diffusers.AutoencoderKL.from_config(vcfg).to(half)
            te_cfg = dict(clip["clip-l"])
            if tiny:
                te_cfg.update(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                              num_attention_heads=2)
            te1 = transformers.CLIPTextModel(transformers.CLIPTextConfig(**te_cfg)).to(half)
            te2: Any = (transformers.CLIPTextModelWithProjection(
                transformers.CLIPTextConfig(**clip["clip-bigg"])).to(half) if xl else None)
    finally:
        torch.set_default_dtype(default)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        rec["build_max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
        rec["built_allocated_bytes"] = int(torch.cuda.memory_allocated())
    for m in (unet, vae, te1, te2):
        if m is not None:
            m.requires_grad_(False)
    if case.get("vae_tiling"):
        # ComfyUI's VAEDecodeTiled: 512-pixel tiles (64 latent) overlapping by 64 pixels;
        # diffusers' own tiles follow the VAE's sample_size (1024 for SDXL's: no tiling there)
        vae.enable_tiling()
        vae.tile_sample_min_size, vae.tile_latent_min_size = 512, 64
        vae.tile_overlap_factor = 64 / 512
    rec["unet_params"] = int(sum(p.numel() for p in unet.parameters()))
    rec["vae_params"] = int(sum(p.numel() for p in vae.parameters()))
    rec["text_params"] = int(sum(p.numel() for m in (te1, te2) if m is not None
                                 for p in m.parameters()))
    b, px = case["batch"], case["image"]
    lat = px // 8
    sf = 0.13025 if xl else 0.18215

    def encode(n: int) -> tuple[Any, dict[str, Any]]:
        ids = torch.randint(0, 49408, (n, 77), device=dev)
        if not xl:
            return te1(ids).last_hidden_state, {}
        h1 = te1(ids, output_hidden_states=True).hidden_states[-2]
        o2 = te2(ids, output_hidden_states=True)
        ctx = torch.cat([h1, o2.hidden_states[-2]], dim=-1)
        time_ids = torch.tensor([[px, px, 0, 0, px, px]] * n, device=dev, dtype=half)
        return ctx, {"text_embeds": o2.text_embeds, "time_ids": time_ids}

    if case["method"] == "inference":
        unet.eval()
        vae.eval()
        steps = case.get("steps", 4)
        # force_upcast: the SDXL pipeline decodes in fp32
        vae_dec = vae.to(torch.float32) if xl else vae
        unet_times: list[float] = []

        def sample() -> None:
            with torch.inference_mode():
                ctx, added = encode(2 * b)  # classifier-free guidance: empty + prompt
                x = torch.randn(b, 4, lat, lat, device=dev, dtype=half)
                for i in range(steps):
                    _sync()
                    t0 = time.perf_counter()
                    out = unet(torch.cat([x, x]), torch.tensor(999 - i, device=dev),
                               encoder_hidden_states=ctx,
                               added_cond_kwargs=added or None).sample
                    u, c = out.chunk(2)
                    x = x - 0.01 * (u + 7.5 * (c - u))
                    _sync()
                    unet_times.append(time.perf_counter() - t0)
                vae_dec.decode((x / sf).to(vae_dec.dtype))
        times = _timed(sample, 1, 2)
        _memory(rec)
        _steps(rec, times)
        rec["unet_step_seconds"] = round(statistics.median(unet_times[steps:]), 5)
        rec["sampling_steps"] = steps
        return rec
    # LoRA training of the UNet (train_text_to_image_lora: to_q/k/v/out.0, fp32 adapters)
    rank = case.get("rank", 4)
    unet.add_adapter(peft.LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                     target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
    for p in unet.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    if case.get("checkpointing"):
        unet.enable_gradient_checkpointing()
    unet.train()
    params = [p for p in unet.parameters() if p.requires_grad]
    rec["trainable_params"] = int(sum(p.numel() for p in params))
    opt = torch.optim.AdamW(params, lr=1e-4, fused=True)
    images = torch.randn(b, 3, px, px, device=dev, dtype=half)

    def step() -> None:
        with torch.no_grad():
            latents = vae.encode(images).latent_dist.sample() * sf
            ctx, added = encode(b)
        noise = torch.randn_like(latents)
        t = torch.randint(0, 1000, (b,), device=dev)
        noisy = latents + noise
        with torch.autocast("cuda", dtype=torch.bfloat16):
            pred = unet(noisy, t, encoder_hidden_states=ctx, added_cond_kwargs=added or None
                        ).sample
        loss = torch.nn.functional.mse_loss(pred.float(), noise.float())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    times = _timed(step, 2, 4)
    _memory(rec)
    _steps(rec, times)
    return rec


def _lm_child(case: Case) -> dict[str, Any]:
    import torch

    dev = "cuda"
    extra = dict(case["extra"])
    if "lora_targets" in extra:
        extra["lora_targets"] = tuple(extra["lora_targets"])
    c = cg._c(case["config"], case["method"], case["precision"], case["batch"], case["seq"],
              **extra)
    torch.zeros(1, device=dev)
    spec = c.spec
    model, config, _ = measure_child.build(spec, dev)
    rec: dict[str, Any] = {"param_count": int(sum(p.numel() for p in model.parameters()))}
    vocab = int(getattr(config, "vocab_size", 1000))
    ids = torch.randint(0, vocab, (spec.batch, spec.seq), device=dev)
    if c.method == "inference":
        model.eval()

        def gen(n: int) -> None:
            with torch.inference_mode():
                model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                               max_new_tokens=n, min_new_tokens=n, do_sample=False,
                               pad_token_id=0)
        t1 = _timed(lambda: gen(1), 1, 3)
        tn = _timed(lambda: gen(spec.new_tokens), 1, 2)
        _memory(rec)
        rec["prefill_seconds"] = round(statistics.median(t1), 5)
        rec["generate_seconds"] = round(statistics.median(tn), 5)
        rec["decode_seconds_per_token"] = round(
            (statistics.median(tn) - statistics.median(t1)) / max(1, spec.new_tokens - 1), 6)
        return rec
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    rec["trainable_params"] = int(sum(p.numel() for p in params))
    opt = torch.optim.AdamW(params, lr=1e-5, fused=True)
    amp = spec.precision.startswith("amp")

    def step() -> None:
        with torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=amp):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    times = _timed(step, 2, 5)
    _memory(rec)
    _steps(rec, times)
    return rec


RUNNERS = {"gemm": _gemm, "vision": _vision, "diffusion": _diffusion, "lm": _lm_child}


def _child(case: Case, device: str, conn: Any) -> None:
    try:
        result = RUNNERS[case["kind"]](case)
        result["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - every failure is a recorded result
        text = f"{type(exc).__name__}: {exc}"
        result = {"status": "oom" if "out of memory" in text.lower() else "error",
                  "error": text[:400], "traceback": traceback.format_exc()[-1500:]}
    conn.send(result)
    conn.close()


def run_one(case: Case, nvml: Any, timeout_s: float) -> dict[str, Any]:
    """One case in a forked child while the parent polls NVML."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    before = nvml.used()
    poller = launch._Poller(nvml)
    thread = threading.Thread(target=poller.run, daemon=True)
    proc = ctx.Process(target=_child, args=(case, "cuda", child_conn))
    proc.start()
    thread.start()
    child_conn.close()
    result: dict[str, Any] = {"status": "timeout"}
    if parent_conn.poll(timeout_s):
        try:
            result = parent_conn.recv()
        except EOFError:
            result = {"status": "crashed"}
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join()
    poller._stop.set()
    thread.join()
    result["nvml_used_before_bytes"] = before
    result["nvml_used_peak_bytes"] = poller.peak if poller.samples else None
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="tiny,gemm,vision,diffusion,lm")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--budget-s", type=float, default=380.0)
    parser.add_argument("--case-timeout-s", type=float, default=60.0)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    # held-out cases last, so that a spent budget skips checks rather than fitted data
    cases = sorted((c for g in args.grid.split(",") for c in grid(g)),
                   key=lambda c: bool(c.get("holdout")))
    if args.list:
        for c in cases:
            print(c["name"])
        print(f"{len(cases)} cases")
        return 0
    if args.out is None:
        parser.error("--out is required unless --list")
    # torch and transformers are imported once here (they leave CUDA alone), so that forked
    # children start at once; torchvision and diffusers are imported by the children only
    # (importing diffusers initialises CUDA, which a forked child cannot then use)
    import importlib.metadata as md

    import torch  # noqa: F401
    import transformers  # noqa: F401

    start = time.monotonic()
    nvml = launch.Nvml()
    soft = cm.software_versions()
    for mod in ("torchvision", "diffusers", "timm"):
        try:
            soft[mod] = md.version(mod)
        except md.PackageNotFoundError:
            soft[mod] = None
    doc: dict[str, Any] = {
        "schema": SCHEMA, "version": 1,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "gpu": nvml.facts(), "software": soft,
        "method": "forked child per case; NVML used polled ~1 ms by the parent; steps "
                  "synchronised and timed with perf_counter after 2 warm-up steps "
                  "(step_seconds = median); AdamW fused; vision: torchvision models, "
                  "random data, cross-entropy; diffusion: UNet/VAE/CLIP from config with "
                  "random weights, inference fp16 with CFG (SDXL VAE decode in fp32), LoRA "
                  "bf16 base + fp32 adapters under bf16 autocast; lm: assess.measure builder "
                  "(the committed 2026-12-01 record was made with calibrate_memory._build, the "
                  "same construction before it moved)",
        "cases": [],
    }
    for case in cases:
        if time.monotonic() - start > args.budget_s:
            print(f"budget spent: skipping {case['name']}", flush=True)
            continue
        result = run_one(case, nvml, 3 * args.case_timeout_s if case["kind"] == "gemm"
                         else args.case_timeout_s)
        doc["cases"].append({**case, "result": result})
        peak = result.get("nvml_used_peak_bytes") or 0
        print(f"{case['name']}: {result['status']} nvml={peak / 2**30:.2f} GiB "
              f"step={result.get('step_seconds')} t={time.monotonic() - start:.0f}s "
              f"{result.get('error', '')}", flush=True)
        args.out.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    doc["elapsed_s"] = round(time.monotonic() - start, 1)
    args.out.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
