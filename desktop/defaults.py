"""The answers rigready assumes when the user gives none, shared by the CLI and the window.

One place, so that ``rigready estimate`` / ``rigready plan`` and the Can I run it? and Upgrade
wizard pages answer the same question the same way. No Qt here (the CLI imports it).
"""

from __future__ import annotations

from dataclasses import replace

from rigready.assess.estimate import Workload
from rigready.assess.estimate.inputs import IMAGE_RUNTIMES, METHODS, ImageRuntime

#: What a plan may spend when the user names no budget (USD): a mid-range graphics card.
DEFAULT_BUDGET_USD = 600.0
_WORKLOAD = Workload()  # the estimator's own defaults, so the two never drift apart
#: Tokens in a prompt or training sample.
DEFAULT_SEQ_LEN = _WORKLOAD.seq_len
#: Micro-batch per GPU.
DEFAULT_BATCH = _WORKLOAD.batch
#: Tokens to generate (inference).
DEFAULT_NEW_TOKENS = _WORKLOAD.new_tokens
DEFAULT_LORA_RANK = _WORKLOAD.lora_rank
DEFAULT_LORA_TARGETS = ",".join(_WORKLOAD.lora_targets)
#: An encoder's head when the user names none: None, the one its config's ``architectures``
#: names (the estimator's own default).
DEFAULT_HEAD = _WORKLOAD.head
#: The label of "no precision chosen" in the window's precision boxes.
DEFAULT_PRECISION_CHOICE = "default"
#: llama.cpp's context (``-c``, the KV cache it allocates) when none is given: 4,096 tokens,
#: what Ollama gives a model on a card under 24 GiB (ollama docs/context-length.mdx: "< 24 GiB
#: VRAM: 4k context") and LM Studio's default. The window's llama.cpp answer and the CLI's
#: ``--ctx`` use it; a longer job asked for (prompt + tokens to generate) raises it.
DEFAULT_CTX = 4096
#: The GGUF file type people download first (the "recommended" quant of most GGUF repos).
DEFAULT_QUANT = "Q4_K_M"
#: llama.cpp's own default KV-cache type.
DEFAULT_KV_TYPE = "f16"
#: How image generation is answered when the user names no runtime: "comfyui", as ComfyUI /
#: Forge-class apps run it (every part on the GPU while it fits the memory free, a tiled VAE
#: decode when short, models loaded as needed when still short), what most people generating
#: images use. "diffusers" (``--runtime diffusers``, the window's runtime box) is the plain
#: pipeline with every part on the GPU (see :data:`~rigready.assess.estimate.inputs.ImageRuntime`).
DEFAULT_IMAGE_RUNTIME: ImageRuntime = "comfyui"


def default_checkpointing(method: str) -> bool:
    """Gradient checkpointing unless the user says otherwise: on for QLoRA, off otherwise.

    peft's ``prepare_model_for_kbit_training`` turns it on for a quantized base (QLoRA);
    transformers' Trainer leaves it off (``gradient_checkpointing=False``) for LoRA and full
    fine-tuning, and inference has no backward pass to checkpoint.
    """
    return method == "qlora"


def default_precision(method: str) -> str:
    """The precision the estimator assumes for ``method`` when none is chosen."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    return Workload(method=method).resolved_precision  # type: ignore[arg-type]


def precision_choice_label(method: str) -> str:
    """What the window shows for "no precision chosen", e.g. ``default (nf4)``."""
    return f"{DEFAULT_PRECISION_CHOICE} ({default_precision(method)})"


def llamacpp_ctx(wl: Workload, asked: int | None = None) -> int:
    """The llama.cpp context for ``wl``: ``asked`` when given, else :data:`DEFAULT_CTX`, or the
    job's own prompt + generated tokens when they need more (the same job in both runtimes)."""
    if asked is not None:
        return asked
    return max(DEFAULT_CTX, wl.seq_len + wl.new_tokens)


def with_image_runtime(wl: Workload, runtime: str | None = None) -> Workload:
    """``wl`` with the app that runs an image generation (``runtime``: ``comfyui`` or
    ``diffusers``; None or anything else, such as a language model's runtime:
    :data:`DEFAULT_IMAGE_RUNTIME`). Language models ignore it."""
    chosen = runtime if runtime in IMAGE_RUNTIMES else DEFAULT_IMAGE_RUNTIME
    return replace(wl, image_runtime=chosen)  # type: ignore[arg-type]
