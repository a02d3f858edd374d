"""The value types of the catalog's entries: the names a field may take (``Literal`` types) and
the numeric bounds the loader checks (:func:`bounded`).

Shared by :mod:`rigready.catalog.schema` (which re-exports every name) and its entry modules.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

GpuVendorName = Literal["nvidia", "amd", "intel"]
GpuSegment = Literal["desktop", "laptop", "workstation", "datacenter"]
PowerConnector = Literal["6-pin", "8-pin", "12vhpwr", "12v-2x6", "eps-8pin"]
CpuVendorName = Literal["intel", "amd"]
DdrType = Literal["DDR4", "DDR5"]
ModuleFormFactor = Literal["DIMM", "SODIMM"]
DriveKind = Literal["nvme", "sata-ssd", "hdd"]
#: How a task can use several GPUs: ``split`` spreads the model's memory over them (FSDP,
#: tensor/pipeline parallel, layer split for inference), ``data-parallel`` runs a copy per GPU
#: (faster, but each GPU must hold the whole job), ``single`` uses one GPU only.
MultiGpu = Literal["split", "data-parallel", "single"]
AtxVersion = Literal["2.x", "3.0", "3.1"]
TaskCategory = Literal["vision", "nlp", "audio", "tabular", "rl", "generative"]
ModelFamily = Literal[
    "llama", "mistral", "mixtral", "qwen2", "gemma", "gemma2", "phi3", "gpt2", "bert", "t5",
    "whisper", "resnet", "vit", "sd-unet", "efficientnet", "convnext", "mmdit", "flux", "other",
    "qwen3", "qwen3_moe", "gemma3", "llama4", "gpt_oss", "smollm3",
]
#: What a price is: a new-retail listing, the launch list price, a cloud rate (on demand or spot),
#: a used-market figure, or one the user entered ("yours").
PriceKind = Literal["street", "launch-msrp", "on-demand", "spot", "used", "yours"]
#: Which age limit applies to a price (``[[price_policy]] applies_to``).
PriceScope = Literal["part", "cloud", "exchange-rate"]
#: Tables whose entries carry a price a user may correct.
PricedTable = Literal["gpu", "cpu", "ram_kit", "drive", "psu", "cloud_offer"]
#: What a task's job is, for the estimator (the estimator's own methods; a test keeps the two
#: lists equal): run the model, LoRA or QLoRA fine-tuning, or full fine-tuning.
JobMethod = Literal["inference", "lora", "qlora", "full"]
#: How a task's job runs where the estimator's default stack is not what people use:
#: ``llama.cpp`` is a GGUF file in llama.cpp or an app built on it (Ollama, LM Studio);
#: ``comfyui`` generates images as ComfyUI / Forge-class apps do (every part on the GPU while it
#: fits, a tiled decode and models loaded as needed when short), ``diffusers`` in a plain
#: pipeline (the estimator's ``ImageRuntime``, a test keeps the names equal).
JobRuntime = Literal["llama.cpp", "comfyui", "diffusers"]
ModelKind = Literal[
    "decoder", "encoder", "encoder-decoder", "vision-cnn", "vision-transformer", "diffusion",
]

#: Storage kinds from slowest to fastest; a tier's ``storage_kind`` is the slowest that qualifies.
DRIVE_KIND_ORDER: tuple[DriveKind, ...] = ("hdd", "sata-ssd", "nvme")
#: Training stacks whose own published figures the catalog keeps (``[[stack_figure]]``).
StackName = Literal["unsloth"]
StackMethod = Literal["qlora", "lora"]


def bounded(low: float | None = None, high: float | None = None, default: Any = ...) -> Any:
    """A dataclass field with numeric bounds for the loader (``default`` makes it optional)."""
    meta = {"min": low, "max": high}
    if default is ...:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


#: Launch years the loader accepts.
YEAR_RANGE = (1990, 2100)
#: PCIe generations the loader accepts.
PCIE_RANGE = (1, 6)
