"""Typed catalog entries: one frozen dataclass per kind of ``[[table]]`` in the TOML files.

Field names are the TOML keys of ``docs/catalog-format.md`` (units are part of the name), lists
become tuples, dates are :class:`datetime.date`, and optional keys that a file omits are ``None``.
Fields without a default are required. Field metadata carries the numeric bounds the loader
checks: by default a number must be above zero; ``min`` and ``max`` change that.

This module holds the tiers, tasks, models and stack figures, the table of kinds and
:class:`Catalog`; the parts of a PC live in :mod:`rigready.catalog.schema_parts`, the money
entries in :mod:`rigready.catalog.schema_prices`, the value types in
:mod:`rigready.catalog.schema_types`; every name is importable from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from rigready.catalog.schema_parts import CpuEntry, DriveEntry, GpuEntry, PsuEntry, RamKitEntry
from rigready.catalog.schema_prices import (
    CloudOfferEntry,
    ExchangeRateEntry,
    PriceOverrideEntry,
    PricePolicyEntry,
)
from rigready.catalog.schema_types import (
    DRIVE_KIND_ORDER,
    AtxVersion,
    CpuVendorName,
    DdrType,
    DriveKind,
    GpuSegment,
    GpuVendorName,
    JobMethod,
    JobRuntime,
    ModelFamily,
    ModelKind,
    ModuleFormFactor,
    MultiGpu,
    PowerConnector,
    PricedTable,
    PriceKind,
    PriceScope,
    StackMethod,
    StackName,
    TaskCategory,
    bounded,
)

#: Every name of the entry modules, so that ``rigready.catalog.schema`` stays the one place to
#: import them from (and the loader resolves the entries' type hints in this module's names).
__all__ = [
    "DRIVE_KIND_ORDER",
    "KINDS",
    "AtxVersion",
    "Catalog",
    "CloudOfferEntry",
    "CpuEntry",
    "CpuVendorName",
    "DdrType",
    "DriveEntry",
    "DriveKind",
    "ExchangeRateEntry",
    "GpuEntry",
    "GpuSegment",
    "GpuVendorName",
    "JobMethod",
    "JobRuntime",
    "KindSpec",
    "ModelEntry",
    "ModelFamily",
    "ModelKind",
    "ModuleFormFactor",
    "MultiGpu",
    "PowerConnector",
    "PriceKind",
    "PriceOverrideEntry",
    "PricePolicyEntry",
    "PriceScope",
    "PricedTable",
    "PsuEntry",
    "RamKitEntry",
    "StackFigureEntry",
    "StackMethod",
    "StackName",
    "TaskCategory",
    "TaskEntry",
    "TierEntry",
    "required_fields",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class TierEntry:
    """One of the guide's five hardware tiers (``[[tier]]`` in tiers.toml)."""

    id: str
    rank: int = bounded(1, 5)
    name: str
    budget_min_usd: float = bounded(0)
    #: Omitted for the open-ended top tier ("$15,000+").
    budget_max_usd: float | None = None
    gpu_min_vram_gib: float
    gpu_recommended_vram_gib: float
    gpu_min_fp16_tflops: float
    ram_min_gib: float
    ram_recommended_gib: float
    cpu_min_cores: int
    cpu_recommended_cores: int
    storage_min_gb: float
    storage_kind: DriveKind
    example_gpus: tuple[str, ...]
    use_cases: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskEntry:
    """An AI task from the guide's "Hardware Selection by AI Task" (``[[task]]``)."""

    id: str
    name: str
    category: TaskCategory
    gpu_required: bool
    #: 0 when the task needs no GPU memory (CPU-only work).
    min_vram_gib: float = bounded(0)
    recommended_vram_gib: float = bounded(0)
    min_ram_gib: float
    recommended_ram_gib: float
    min_cpu_cores: int
    storage_gb: float
    storage_kind: DriveKind | None = None
    multi_gpu: MultiGpu = "data-parallel"
    notes: str
    source: str
    #: The models.toml id whose weights the task downloads; with it the free disk the task
    #: needs follows those weights (assess.task_disk), not ``storage_gb``. None: a generic task.
    model: str | None = None
    #: Bytes per parameter of those weights as downloaded (2 for 16-bit); given with ``model``.
    model_weight_bytes: float | None = bounded(0.1, 8, default=None)
    #: The job the estimator judges for ``model`` (assess/score_estimate.py); the task's verdict
    #: then comes from the estimator, and its fixed VRAM and RAM figures serve only when the
    #: estimator cannot walk the model. None: a task judged by its fixed minimums.
    job_method: JobMethod | None = None
    #: ``llama.cpp``: the model runs as a GGUF file of ``job_quant``; ``comfyui`` /
    #: ``diffusers``: the app that generates the images; None: the estimator's own stack for
    #: the method.
    job_runtime: JobRuntime | None = None
    #: GGUF file type for llama.cpp (``Q4_K_M``); for an image runtime, the stored format of a
    #: diffusion transformer's weights (``fp8``, ``fp8-all``, a GGUF type; None: bf16).
    job_quant: str | None = None
    #: Tokens of one training sample, or llama.cpp's context; None: the estimator's default.
    job_tokens: int | None = bounded(1, 1_048_576, default=None)
    #: Image side in pixels (diffusion); None: the model's own.
    job_image_px: int | None = bounded(64, 8192, default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelEntry:
    """A model architecture for the workload estimator (``[[model]]`` in models.toml)."""

    id: str
    name: str
    family: ModelFamily
    kind: ModelKind
    params: int
    num_layers: int | None = None
    hidden_size: int | None = None
    num_attention_heads: int | None = None
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    intermediate_size: int | None = None
    vocab_size: int | None = None
    tie_word_embeddings: bool | None = None
    max_position_embeddings: int | None = None
    num_experts: int | None = None
    num_experts_per_tok: int | None = None
    #: FFN width of one routed expert when it differs from intermediate_size (Qwen3-MoE).
    moe_intermediate_size: int | None = None
    #: FFN width of the shared expert every token also runs (Llama 4, Qwen2-MoE).
    shared_expert_intermediate_size: int | None = None
    hidden_act: str | None = None
    gated_ffn: bool | None = None
    #: Gemma-2 caps its final logits with tanh (config.json ``final_logit_softcapping``); the
    #: cap's saved output is part of the logits' memory.
    final_logit_softcapping: float | None = None
    image_size: int | None = None
    patch_size: int | None = None
    #: Image models: the architecture the estimator walks (a torchvision model name such as
    #: ``resnet50``, or ``sd15`` / ``sdxl``); absent: memory unknown.
    arch: str | None = None
    hf_repo: str | None = None
    #: Other names people type for it (the name resolver finds the entry by them too).
    aliases: tuple[str, ...] = ()
    #: The parameter count as its publisher (or an independent count) states it, to check
    #: ``params`` against; ``published_params_source`` says where it is from.
    published_params: int | None = None
    published_params_source: str | None = None
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StackFigureEntry:
    """A figure a fine-tuning stack publishes about itself (``[[stack_figure]]`` in
    stacks.toml): the least GPU memory it needs for a model size (``vram_gb``), or the longest
    sequence that fits a card of ``card_gb`` for one model (``max_context_tokens``). Published,
    not measured by rigready: every answer that uses one says so, with ``source`` (except rows
    with ``measured_on``: rigready's own runs of the stack)."""

    id: str
    stack: StackName
    method: StackMethod
    #: The model size the figure is for, billions of parameters.
    params_b: float
    #: Least GPU memory for this model size, GB as published.
    vram_gb: float | None = None
    #: A context figure: the catalog model it was measured on, the card's memory (GB as
    #: published) and the longest sequence that trained at ``batch``.
    model: str | None = None
    card_gb: float | None = None
    max_context_tokens: int | None = None
    batch: int = 1
    source: str
    #: When the figure was read from its source (the page is not dated).
    source_date: date
    note: str | None = None
    #: Set on a context row that is rigready's own measurement, not a published figure: what
    #: ran the job and when ("an H100 capped to an 8 GB card's memory, Unsloth 2026.10.9,
    #: 2026-12-06"); ``max_context_tokens`` then is the sequence it ran at (a lower bound) and
    #: ``source`` names the committed record.
    measured_on: str | None = None
    #: With ``measured_on``: the GPU memory that run's process used at its peak (NVML, GiB,
    #: the CUDA context included): a card with this much free runs the job.
    measured_peak_gib: float | None = None


@dataclass(frozen=True, slots=True)
class KindSpec:
    """How one ``[[table]]`` name maps to its entry class and its ``Catalog`` attribute."""

    table: str
    attribute: str
    cls: type[Any]
    #: Plural word used by ``rigready catalog list``.
    plural: str


KINDS: tuple[KindSpec, ...] = (
    KindSpec("gpu", "gpus", GpuEntry, "gpus"),
    KindSpec("cpu", "cpus", CpuEntry, "cpus"),
    KindSpec("ram_kit", "ram_kits", RamKitEntry, "ram"),
    KindSpec("drive", "drives", DriveEntry, "storage"),
    KindSpec("psu", "psus", PsuEntry, "psus"),
    KindSpec("tier", "tiers", TierEntry, "tiers"),
    KindSpec("task", "tasks", TaskEntry, "tasks"),
    KindSpec("model", "models", ModelEntry, "models"),
    KindSpec("cloud_offer", "cloud_offers", CloudOfferEntry, "cloud"),
    KindSpec("exchange_rate", "exchange_rates", ExchangeRateEntry, "rates"),
    KindSpec("price_policy", "price_policies", PricePolicyEntry, "price-policies"),
    KindSpec("price_override", "price_overrides", PriceOverrideEntry, "overrides"),
    KindSpec("stack_figure", "stack_figures", StackFigureEntry, "stacks"),
)


def required_fields(cls: type[Any]) -> frozenset[str]:
    """Keys an entry of ``cls`` must always have (fields without a default)."""
    return frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    """Every catalog entry, built in plus the user's additions, validated.

    Attributes:
        updated: the newest ``[meta] updated`` date among the files read.
        files: the files read, in order (built-in first, then the user's).
        overridden: one line per built-in entry that a user file replaced
            (``"gpu rtx-3060-12gb: replaced by FILE"``).
        pack: the installed data pack the built-in entries came from ("" for the ones shipped
            with rigready), as ``"VERSION (DATE)"``.
    """

    gpus: tuple[GpuEntry, ...] = ()
    cpus: tuple[CpuEntry, ...] = ()
    ram_kits: tuple[RamKitEntry, ...] = ()
    drives: tuple[DriveEntry, ...] = ()
    psus: tuple[PsuEntry, ...] = ()
    tiers: tuple[TierEntry, ...] = ()
    tasks: tuple[TaskEntry, ...] = ()
    models: tuple[ModelEntry, ...] = ()
    cloud_offers: tuple[CloudOfferEntry, ...] = ()
    exchange_rates: tuple[ExchangeRateEntry, ...] = ()
    price_policies: tuple[PricePolicyEntry, ...] = ()
    #: The user's prices; already applied to the entries above (their ``price_kind`` is "yours").
    price_overrides: tuple[PriceOverrideEntry, ...] = ()
    #: What fine-tuning stacks publish about themselves (Unsloth's VRAM and context tables).
    stack_figures: tuple[StackFigureEntry, ...] = ()
    updated: date = date.min
    files: tuple[str, ...] = ()
    overridden: tuple[str, ...] = ()
    pack: str = ""

    def gpu(self, entry_id: str) -> GpuEntry:
        """The GPU with this id. Raises KeyError if there is none."""
        return _find(self.gpus, entry_id, "gpu")

    def cpu(self, entry_id: str) -> CpuEntry:
        """The CPU with this id. Raises KeyError if there is none."""
        return _find(self.cpus, entry_id, "cpu")

    def ram_kit(self, entry_id: str) -> RamKitEntry:
        """The RAM kit with this id. Raises KeyError if there is none."""
        return _find(self.ram_kits, entry_id, "ram_kit")

    def drive(self, entry_id: str) -> DriveEntry:
        """The drive with this id. Raises KeyError if there is none."""
        return _find(self.drives, entry_id, "drive")

    def psu(self, entry_id: str) -> PsuEntry:
        """The PSU with this id. Raises KeyError if there is none."""
        return _find(self.psus, entry_id, "psu")

    def tier(self, entry_id: str) -> TierEntry:
        """The tier with this id. Raises KeyError if there is none."""
        return _find(self.tiers, entry_id, "tier")

    def task(self, entry_id: str) -> TaskEntry:
        """The AI task with this id. Raises KeyError if there is none."""
        return _find(self.tasks, entry_id, "task")

    def model(self, entry_id: str) -> ModelEntry:
        """The model with this id. Raises KeyError if there is none."""
        return _find(self.models, entry_id, "model")

    def cloud_offer(self, entry_id: str) -> CloudOfferEntry:
        """The cloud offer with this id. Raises KeyError if there is none."""
        return _find(self.cloud_offers, entry_id, "cloud_offer")

    def count(self, table: str) -> int:
        """How many entries of one kind (by table name, ``"gpu"``) the catalog holds."""
        spec = next((k for k in KINDS if k.table == table), None)
        if spec is None:
            raise KeyError(table)
        return len(getattr(self, spec.attribute))


_E = TypeVar("_E")


def _find(entries: tuple[_E, ...], entry_id: str, kind: str) -> _E:
    for entry in entries:
        if getattr(entry, "id", None) == entry_id:
            return entry
    raise KeyError(f"no {kind} with id {entry_id!r} in the catalog")
