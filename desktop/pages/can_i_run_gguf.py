"""The llama.cpp (GGUF) half of the "Can I run it?" page: its controls and how its answer reads.
The estimate itself is :func:`rigready.assess.estimate.language.llamacpp.plan`, the same the CLI
uses."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from rigready.assess.estimate.language.gguf import FILE_TYPES, KV_TYPES
from rigready.assess.estimate.language.llamacpp import LlamaCppPlan
from rigready.desktop.defaults import DEFAULT_IMAGE_RUNTIME
from rigready.desktop.widgets.breakdown_bar import GIB

RUNTIME_TRANSFORMERS = "Transformers (PyTorch)"
RUNTIME_LLAMACPP = "llama.cpp (GGUF)"
DEFAULT_QUANT = "Q4_K_M"
DEFAULT_KV_TYPE = "f16"
#: Verdict colour by plan status: good, warn or bad (theme keys of desktop.theme).
STATUS_TONE = {"gpu": "good", "split": "warn", "cpu": "warn", "unknown-ram": "muted",
               "no-ram": "bad"}


def runtime_combo() -> QComboBox:
    """Transformers or llama.cpp."""
    combo = QComboBox()
    combo.addItems([RUNTIME_TRANSFORMERS, RUNTIME_LLAMACPP])
    combo.setToolTip("llama.cpp runs GGUF files, as Ollama and LM Studio do; it can split a "
                     "model between the GPU and system RAM")
    return combo


#: Image generation's apps: the window's labels and the workload's names (the default first).
IMAGE_RUNTIME_LABELS = {
    "comfyui": "ComfyUI / Forge-class app",
    "diffusers": "diffusers pipeline (every part on the GPU)",
}


def image_runtime_combo() -> QComboBox:
    """How an image is generated: as ComfyUI / Forge-class apps run it, or a plain pipeline."""
    combo = QComboBox()
    for name in (DEFAULT_IMAGE_RUNTIME, *(n for n in IMAGE_RUNTIME_LABELS
                                          if n != DEFAULT_IMAGE_RUNTIME)):
        combo.addItem(IMAGE_RUNTIME_LABELS[name], name)
    combo.setToolTip("ComfyUI, Forge and A1111 keep every part on the GPU while it fits, decode "
                     "in tiles when short of memory and load the text encoders, UNet and VAE "
                     "as needed when still short; a plain diffusers pipeline keeps every part "
                     "on the GPU")
    return combo


def quant_combo() -> QComboBox:
    """The GGUF file types, Q4_K_M first selected."""
    combo = QComboBox()
    combo.addItems([q for q in FILE_TYPES if q not in ("F16", "BF16")] + ["F16", "BF16"])
    combo.setCurrentText(DEFAULT_QUANT)
    return combo


def kv_combo() -> QComboBox:
    """llama.cpp's KV-cache types, f16 selected."""
    combo = QComboBox()
    combo.addItems(list(KV_TYPES))
    combo.setCurrentText(DEFAULT_KV_TYPE)
    return combo


def plan_lines(p: LlamaCppPlan) -> list[str]:
    """The details text: sizes, the split, speed, then how it was worked out."""
    lines = [f"• GGUF file {p.size.total_bytes / 1e9:.2f} GB, "
             f"{p.size.bits_per_weight:.2f} bits per weight",
             f"• on the GPU: {p.layers_on_gpu} of {p.layers_total} layers"
             + (" and the output head" if p.output_on_gpu else "")
             + f", {p.gpu_bytes / GIB:.1f} GiB",
             f"• in system RAM: {p.ram_bytes / GIB:.1f} GiB",
             f"• KV cache ({p.kv_type}, {p.ctx:,} tokens): {p.kv_bytes / GIB:.2f} GiB"]
    if p.tokens_per_s is not None and p.tokens_per_s_full_ctx is not None:
        lines.append(f"\nDecoding: about {p.tokens_per_s:,.1f} tokens/s "
                     f"({p.tokens_per_s_full_ctx:,.1f} with the context full)")
    else:
        lines.append("\nDecoding speed: unknown")
    lines.append("\nHow:")
    lines += [f"  {r}" for r in (*p.shape.notes, *p.reasons)]
    return lines


def plan_head(p: LlamaCppPlan) -> str:
    """The verdict line, capitalised."""
    text = p.summary
    return text[:1].upper() + text[1:]
