"""The cases of ``calibrate_capped.py`` (issue 22): families, sizes, held-out flags.

Every case is a JSON-ready dict: ``kind`` (what the child runs), ``name``, ``family`` (the
estimator's family), ``holdout`` (True: the estimator must not be fitted on it; about a third of
each family), ``reserve_gib`` (the generous cap of its first run: more than its allocated peak is
expected to be) and the kind's own fields (``spec``: a :class:`MeasureSpec` dict for ``lm``;
``calibrate_vision_speed`` fields for ``vision`` / ``diffusion``; ``calibrate_dit`` fields for
``dit``). ``no_bracket``: the first run only (the job cannot fit any card of 6-24 GB, or it is a
speed case).
"""

from __future__ import annotations

import importlib.metadata
import platform
from typing import Any

import calibration_grids as cg

METHOD = (
    "one subprocess per run (calibrate_capped_child.py), several at once on the one GPU while "
    "their caps + 1.2 GiB each sum under the pool; cap = torch.cuda.set_per_process_memory_"
    "fraction(cap / total_memory) set right after CUDA starts (before the model is built); "
    "card cap = N GiB - driver reservation (rigready.assess.estimate.memory."
    "driver_reserved_bytes) - the context measured by the 'context' run (process memory NVML "
    "counts minus torch.cuda.memory_reserved after cuBLAS, cuDNN and SDPA kernels loaded); "
    "pass = every step ran (training: 4 steps, AdamW; inference: 3 generate() calls; diffusion: "
    "2 sampling runs); per-run figures from torch (max_memory_allocated/reserved) and NVML per "
    "process (usedGpuMemory: polled by the parent every ~20 ms, and read by the child at its "
    "end); the device-level NVML peak is shared by concurrent runs and is not recorded per run; "
    "speed runs one at a time with nothing else on the GPU; language models built by "
    "rigready.assess.measure (random weights from the configs), vision/diffusion by "
    "calibrate_vision_speed.py, SD3.5/FLUX by calibrate_dit.py")


def software_versions() -> dict[str, Any]:
    """Versions of what produced the numbers (by metadata: no import starts CUDA)."""
    out: dict[str, Any] = {"python": platform.python_version()}
    for name in ("torch", "transformers", "peft", "bitsandbytes", "diffusers", "accelerate",
                 "torchvision", "nvidia-ml-py"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    try:
        import torch

        out["torch_cuda"] = torch.version.cuda
        out["cudnn"] = torch.backends.cudnn.version()
    except Exception:  # noqa: BLE001 - versions are best effort
        pass
    return out


def _lm(family: str, config: str, method: str, precision: str, batch: int, seq: int,
        reserve: float, holdout: bool = False, **kw: Any) -> dict[str, Any]:
    c = cg._c(config, method, precision, batch, seq, **kw)
    return {"kind": "lm", "name": c.name, "family": family, "holdout": holdout,
            "reserve_gib": reserve, "config": config, "spec": c.spec.to_dict()}


def _vis(arch: str, method: str, precision: str, batch: int, image: int, reserve: float,
         holdout: bool = False) -> dict[str, Any]:
    return {"kind": "vision", "name": f"{arch}-{method}-{precision}-b{batch}-{image}px",
            "family": "image-classifier", "holdout": holdout, "reserve_gib": reserve,
            "arch": arch, "method": method, "precision": precision, "batch": batch,
            "image": image}


def _dif(model: str, method: str, batch: int, image: int, reserve: float,
         holdout: bool = False, **kw: Any) -> dict[str, Any]:
    ck = "-ckpt" if kw.get("checkpointing") else ""
    ck += "-tiled" if kw.get("vae_tiling") else ""
    return {"kind": "diffusion", "name": f"{model}-{method}-b{batch}-{image}px{ck}",
            "family": "diffusion-unet", "holdout": holdout, "reserve_gib": reserve,
            "model": model, "method": method, "batch": batch, "image": image, **kw}


def _dit(model: str, variant: str, offload: str, reserve: float, holdout: bool = False,
         **kw: Any) -> dict[str, Any]:
    ram = {"sd35-medium": 18, "sd35-large": 30, "flux-dev": 36, "flux-schnell": 36}
    return {"kind": "dit", "name": f"{model}-{variant}-offload_{offload}-b1-1024px",
            "family": "diffusion-transformer", "holdout": holdout, "reserve_gib": reserve,
            "model": model, "variant": variant, "offload": offload, "image": 1024,
            "steps": 2, "runs": 2, "ram_gib": ram.get(model, 1) if offload == "model" else 0,
            **kw}


Q = ("qlora", "nf4")


def capped() -> list[dict[str, Any]]:
    """Representative jobs of every family, sized for the 6-24 GB range."""
    fam = "families/"
    return [
        # language-model inference (generate, 2k prompt)
        _lm("lm-inference", "llama-3.2-3b", "inference", "bf16", 1, 2048, 10, new_tokens=128),
        _lm("lm-inference", "llama-3.1-8b", "inference", "bf16", 1, 2048, 20, new_tokens=128),
        _lm("lm-inference", "llama-3.1-8b", "inference", "nf4", 1, 2048, 10, new_tokens=128),
        _lm("lm-inference", "qwen2.5-7b", "inference", "nf4", 1, 2048, 10, True,
            new_tokens=128),
        # LoRA
        _lm("lora", "llama-3.1-8b", "lora", "bf16", 1, 1024, 22, checkpointing=True),
        _lm("lora", "llama-3.2-1b", "lora", "bf16", 4, 1024, 14),
        _lm("lora", "llama-3.2-3b", "lora", "amp-bf16", 2, 1024, 12, True, checkpointing=True),
        # QLoRA (the standard recipe)
        _lm("qlora", "llama-3.1-8b", *Q, 1, 2048, 18, checkpointing=True),
        _lm("qlora", "qwen2.5-7b", *Q, 1, 1024, 16, checkpointing=True),
        _lm("qlora", "mistral-7b-v0.1", *Q, 1, 2048, 14, True, checkpointing=True),
        # full fine-tuning, small models with large vocabularies
        _lm("full", "qwen2.5-0.5b", "full", "amp-bf16", 4, 1024, 18),
        _lm("full", "qwen2.5-1.5b", "full", "bf16", 2, 1024, 20, checkpointing=True),
        _lm("full", "gemma-2-2b", "full", "bf16", 1, 1024, 28, checkpointing=True),
        _lm("full", "llama-3.2-1b", "full", "bf16", 4, 1024, 20, True, checkpointing=True),
        # encoders
        _lm("encoder", "bert-base-uncased", "full", "amp-bf16", 32, 512, 13, task="seq-cls"),
        _lm("encoder", "bert-base-uncased", "full", "amp-bf16", 16, 512, 12, True,
            task="masked-lm"),
        # image classifiers
        _vis("resnet50", "full", "amp-bf16", 64, 224, 8),
        _vis("vit_b_16", "full", "amp-bf16", 64, 224, 14),
        _vis("resnet50", "full", "fp32", 32, 224, 10, True),
        # Stable Diffusion 1.5 / SDXL (UNet)
        _dif("sdxl", "inference", 1, 1024, 16, steps=3),
        _dif("sd15", "lora", 4, 512, 12),
        _dif("sdxl", "lora", 1, 1024, 22),
        _dif("sd15", "inference", 1, 512, 6, True, steps=3),
        # families refused today: T5, Whisper, Gemma 3 with its vision tower
        _lm("t5", fam + "flan-t5-base", "full", "amp-bf16", 8, 512, 14, task="seq2seq",
            target_seq=128),
        _lm("t5", fam + "flan-t5-large", "full", "amp-bf16", 4, 512, 22, task="seq2seq",
            target_seq=128),
        _lm("t5", fam + "flan-t5-large", "lora", "bf16", 8, 512, 14, True, task="seq2seq",
            target_seq=128, lora_targets=("q", "v")),
        _lm("whisper", fam + "whisper-small", "full", "amp-bf16", 8, 0, 16,
            task="speech-seq2seq", target_seq=128),
        _lm("whisper", fam + "whisper-medium", "full", "amp-bf16", 4, 0, 24,
            task="speech-seq2seq", target_seq=128),
        _lm("whisper", fam + "whisper-medium", "lora", "amp-bf16", 8, 0, 16, True,
            task="speech-seq2seq", target_seq=128),
        _lm("gemma3-vision", fam + "gemma-3-4b-it", "inference", "bf16", 1, 512, 13,
            task="image-text", new_tokens=64),
        _lm("gemma3-vision", fam + "gemma-3-4b-it", "lora", "bf16", 1, 512, 17,
            task="image-text"),
        _lm("gemma3-vision", fam + "gemma-3-4b-it", "lora", "bf16", 2, 1024, 20, True,
            task="image-text", checkpointing=True),
        # Stable Diffusion 3.5 and FLUX.1 at 1024 px (bf16, fp8 weights, model offload)
        _dit("sd35-medium", "bf16", "none", 22),
        _dit("sd35-large", "fp8", "none", 26),
        _dit("sd35-large", "fp8", "model", 14),
        _dit("flux-dev", "fp8", "model", 17),
        _dit("flux-dev", "fp8", "none", 28, True),
        _dit("flux-schnell", "fp8-all", "model", 17, True),
        _dit("sd35-large", "bf16", "none", 34, no_bracket=True),
        _dit("flux-dev", "bf16", "none", 40, no_bracket=True),
    ]


def speed() -> list[dict[str, Any]]:
    """Step times with nothing else on the GPU (item 5)."""
    out: list[dict[str, Any]] = []
    for arch, batch in (("resnet50", 32), ("vit_b_16", 32)):
        flips = ((True, False), (False, False)) if arch == "resnet50" else ((True, False),
                                                                            (True, True))
        for cudnn_tf32, matmul_tf32 in flips:
            tag = ("default" if (cudnn_tf32, matmul_tf32) == (True, False) else
                   "tf32-off" if not cudnn_tf32 else "matmul-tf32-on")
            out.append({**_vis(arch, "full", "fp32", batch, 224, 0), "kind": "speed-vision",
                        "name": f"{arch}-full-fp32-b{batch}-224px-{tag}", "cudnn_tf32": cudnn_tf32,
                        "matmul_tf32": matmul_tf32, "no_bracket": True})
    for config, precision, batch, ckpt in (("qwen2.5-0.5b", "bf16", 8, False),
                                           ("qwen2.5-0.5b", "amp-bf16", 4, False),
                                           ("qwen2.5-1.5b", "bf16", 4, False),
                                           ("gemma-2-2b", "amp-bf16", 2, False),
                                           ("llama-3.2-1b", "amp-bf16", 4, False),
                                           ("tinyllama-1.1b", "amp-bf16", 4, False)):
        case = _lm("full", config, "full", precision, batch, 1024, 0, checkpointing=ckpt)
        case.update(kind="speed-lm", name=case["name"] + "-speed", no_bracket=True)
        out.append(case)
    return out


def fsdp() -> list[dict[str, Any]]:
    """FSDP + QLoRA ranks (item 3): fake groups of 1, 2 (and with CPU offload), real gloo."""
    cfg = cg.load_config_dict("llama-3.1-8b")
    small = cg.load_config_dict("llama-3.2-1b")
    base = {"kind": "fsdp", "family": "fsdp-qlora", "holdout": False, "no_bracket": True,
            "batch": 1, "seq": 2048, "steps": 3}
    return [
        {**base, "name": "fsdp-qlora-llama-3.1-8b-fake-world1", "config": cfg, "mode": "fake",
         "world": 1, "reserve_gib": 16},
        {**base, "name": "fsdp-qlora-llama-3.1-8b-fake-world2", "config": cfg, "mode": "fake",
         "world": 2, "reserve_gib": 16},
        {**base, "name": "fsdp-qlora-llama-3.1-8b-fake-world2-offload", "config": cfg,
         "mode": "fake", "world": 2, "offload_params": True, "reserve_gib": 16, "ram_gib": 12},
        {**base, "name": "fsdp-qlora-llama-3.2-1b-gloo-world2", "config": small,
         "mode": "gloo", "world": 2, "reserve_gib": 12, "ram_gib": 8, "seq": 1024},
    ]


def context() -> list[dict[str, Any]]:
    """The context probe."""
    return [{"kind": "context", "name": "cuda-context", "reserve_gib": 2, "no_bracket": True}]


def tiny() -> dict[str, list[dict[str, Any]]]:
    """The CPU dry run: the scheduler end to end on tiny language models and SD3/FLUX."""
    return {"capped": [
        _lm("lora", "tiny-llama", "lora", "bf16", 2, 64, 1, steps=2),
        _lm("t5", "tiny-t5", "full", "amp-bf16", 2, 64, 1, task="seq2seq", target_seq=16,
            steps=2),
        _lm("gemma3-vision", "tiny-gemma3", "inference", "bf16", 1, 40, 1, True,
            task="image-text", new_tokens=4),
        {**_dit("tiny-flux", "fp8", "model", 1), "image": 128},
        {**_dit("tiny-sd3", "fp8-all", "none", 1, True), "image": 128},
    ]}


def sd_refit() -> dict[str, list[dict[str, Any]]]:
    """Stable Diffusion sampling re-measured with the fp16 build (issue 22): the capped grid's
    two sampling jobs and three more sizes, to refit the VAE decode's allocated and cached
    figures per image and per pixel on runs free of the fp32 build's freed blocks (the SDXL
    record and the H200 ones were built in fp32; only the held-out SD 1.5 job was re-measured).
    Run on an H100 on 2026-12-07 (``capped/h100-2026-12-07-sdrefit.json``)."""
    return {"context": context(), "capped": [
        _dif("sdxl", "inference", 1, 1024, 16, steps=3),
        _dif("sd15", "inference", 1, 512, 6, True, steps=3),
        _dif("sd15", "inference", 4, 512, 10, steps=3),
        _dif("sd15", "inference", 1, 768, 8, steps=3),
        _dif("sdxl", "inference", 1, 768, 12, steps=3),
    ]}


def sd_tiled() -> dict[str, list[dict[str, Any]]]:
    """SDXL sampling with the VAE decoded in tiles as ComfyUI's VAEDecodeTiled does (512-pixel
    tiles, 64 overlapping): the route the estimator takes for SDXL on 8-12 GB cards, whose
    tiled decode was never measured. Both held out: they check the decode figures fitted on
    the untiled runs."""
    return {"context": context(), "capped": [
        _dif("sdxl", "inference", 1, 1024, 16, True, steps=3, vae_tiling=True),
        _dif("sdxl", "inference", 2, 1024, 20, True, steps=3, vae_tiling=True),
    ]}


def recorded() -> list[dict[str, Any]]:
    """Every job a capped record may hold, once by name: the capped grid's, then the jobs the SD
    re-measures added (the capped-grid jobs among them keep the capped grid's definition)."""
    out = {c["name"]: c for c in capped()}
    for case in sd_refit()["capped"] + sd_tiled()["capped"]:
        out.setdefault(case["name"], case)
    return list(out.values())


def phases(name: str) -> dict[str, list[dict[str, Any]]]:
    """The cases of each phase of the named grid (``capped``, ``sd-refit``, ``sd-tiled`` or
    ``tiny``)."""
    if name == "tiny":
        return tiny()
    if name == "sd-refit":
        return sd_refit()
    if name == "sd-tiled":
        return sd_tiled()
    if name != "capped":
        raise SystemExit(f"unknown grid {name!r}")
    return {"context": context(), "speed": speed(), "capped": capped(), "fsdp": fsdp()}


def configs_used() -> dict[str, dict[str, Any]]:
    """The config of every language-model case, by its file name."""
    out: dict[str, dict[str, Any]] = {}
    for case in capped() + speed():
        if "config" in case and isinstance(case["config"], str):
            out.setdefault(case["config"], cg.load_config_dict(case["config"]))
    return out
