"""Typed catalog entries: one frozen dataclass per kind of ``[[table]]`` in the TOML files.

Field names are the TOML keys of ``docs/catalog-format.md`` (units are part of the name), lists
become tuples, dates are :class:`datetime.date`, and optional keys that a file omits are ``None``.
Fields without a default are required. Field metadata carries the numeric bounds the loader
checks: by default a number must be above zero; ``min`` and ``max`` change that.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeVar

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


def _bounded(low: float | None = None, high: float | None = None, default: Any = ...) -> Any:
    """A dataclass field with numeric bounds for the loader (``default`` makes it optional)."""
    meta = {"min": low, "max": high}
    if default is ...:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


_YEAR = (1990, 2100)
_PCIE = (1, 6)


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuEntry:
    """A graphics card or accelerator (``[[gpu]]`` in gpus.toml)."""

    id: str
    name: str
    vendor: GpuVendorName
    segment: GpuSegment
    match: tuple[str, ...]
    #: Other names people type for it (the name resolver finds the entry by them too).
    aliases: tuple[str, ...] = ()
    vram_gib: float
    memory_type: str | None = None
    memory_bandwidth_gb_s: float
    fp32_tflops: float
    tf32_tflops: float | None = None
    fp16_tflops: float | None = None
    bf16_tflops: float | None = None
    int8_tops: float | None = None
    tgp_w: float
    power_connectors: tuple[PowerConnector, ...]
    recommended_psu_w: float | None = None
    pcie_gen: int = _bounded(*_PCIE)
    pcie_lanes: int | None = _bounded(1, 16, default=None)
    compute_capability: str | None = None
    length_mm: float | None = None
    launch_year: int = _bounded(*_YEAR)
    launch_price_usd: float | None = None
    street_price_usd: float | None = None
    price_date: date | None = None
    price_source: str | None = None
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None
    price_note: str | None = None
    #: A used-market price beside the new one (plans offer both, the used one labelled so),
    #: USD, with its own date and source.
    used_price_usd: float | None = None
    used_price_date: date | None = None
    used_price_source: str | None = None
    spec_source: str

    @property
    def half_tflops(self) -> float:
        """Dense 16-bit throughput with FP32 accumulate: the BF16/FP16 tensor figure.

        Cards without tensor cores (no figure in the catalog) run 16-bit training no faster than
        FP32, so their FP32 figure stands in.
        """
        tensor = [v for v in (self.bf16_tflops, self.fp16_tflops) if v is not None]
        return max(tensor) if tensor else self.fp32_tflops


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuEntry:
    """A desktop or workstation processor (``[[cpu]]`` in cpus.toml)."""

    id: str
    name: str
    vendor: CpuVendorName
    match: tuple[str, ...]
    socket: str
    cores: int
    threads: int
    base_clock_ghz: float
    boost_clock_ghz: float
    l3_cache_mib: float
    tdp_w: float
    memory_types: tuple[DdrType, ...]
    max_memory_gib: float
    pcie_gen: int = _bounded(*_PCIE)
    avx512: bool
    launch_year: int = _bounded(*_YEAR)
    price_usd: float | None = None
    price_date: date | None = None
    price_source: str | None = None
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None
    spec_source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RamKitEntry:
    """A memory kit as sold (``[[ram_kit]]`` in ram.toml)."""

    id: str
    name: str
    type: DdrType
    form_factor: ModuleFormFactor
    modules: int
    module_gib: float
    speed_mts: int
    price_usd: float
    price_date: date
    price_source: str
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None

    @property
    def total_gib(self) -> float:
        """Capacity of the whole kit."""
        return self.modules * self.module_gib


@dataclass(frozen=True, slots=True, kw_only=True)
class DriveEntry:
    """A storage drive (``[[drive]]`` in storage.toml)."""

    id: str
    name: str
    kind: DriveKind
    capacity_gb: float
    pcie_gen: int | None = _bounded(*_PCIE, default=None)
    seq_read_mb_s: float
    seq_write_mb_s: float
    rnd4k_q1t1_read_mb_s: float | None = None
    price_usd: float
    price_date: date
    price_source: str
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None
    spec_source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PsuEntry:
    """A power supply (``[[psu]]`` in psus.toml)."""

    id: str
    name: str
    watts: float
    atx_version: AtxVersion
    efficiency: str
    pcie_8pin: int = _bounded(0)
    connectors_12v_2x6: int = _bounded(0)
    price_usd: float
    price_date: date
    price_source: str
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TierEntry:
    """One of the guide's five hardware tiers (``[[tier]]`` in tiers.toml)."""

    id: str
    rank: int = _bounded(1, 5)
    name: str
    budget_min_usd: float = _bounded(0)
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
    min_vram_gib: float = _bounded(0)
    recommended_vram_gib: float = _bounded(0)
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
    model_weight_bytes: float | None = _bounded(0.1, 8, default=None)
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
    job_tokens: int | None = _bounded(1, 1_048_576, default=None)
    #: Image side in pixels (diffusion); None: the model's own.
    job_image_px: int | None = _bounded(64, 8192, default=None)


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
class CloudOfferEntry:
    """A rentable cloud instance (``[[cloud_offer]]`` in cloud.toml)."""

    id: str
    provider: str
    instance: str
    gpu_id: str
    gpu_count: int
    usd_per_hour: float
    vcpus: int | None = None
    ram_gib: float | None = None
    spot: bool
    price_date: date
    price_source: str
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeRateEntry:
    """A dated exchange rate (``[[exchange_rate]]`` in prices.toml): one unit in US dollars."""

    id: str
    currency: str
    usd_per_unit: float
    rate_date: date
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PricePolicyEntry:
    """How old a price may be before rigready warns (``[[price_policy]]`` in prices.toml)."""

    id: str
    applies_to: PriceScope
    max_age_days: int
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceOverrideEntry:
    """A price the user found (``[[price_override]]``, written by ``catalog price set``).

    ``id`` is the part's catalog id; ``part`` names its table when an id is not unique.
    """

    id: str
    part: PricedTable | None = None
    price: float
    currency: str = "USD"
    price_date: date
    price_source: str = "your price"


#: Training stacks whose own published figures the catalog keeps (``[[stack_figure]]``).
StackName = Literal["unsloth"]
StackMethod = Literal["qlora", "lora"]


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
