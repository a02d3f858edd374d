"""Rules that span several keys of one entry, and references between entries."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from rigready.catalog.errors import CatalogError
from rigready.catalog.prices import PRICED_TABLES, check_price_fields
from rigready.catalog.schema import (
    Catalog,
    CloudOfferEntry,
    CpuEntry,
    GpuEntry,
    ModelEntry,
    StackFigureEntry,
    TaskEntry,
    TierEntry,
)

_CC_RE = re.compile(r"^\d{1,2}\.\d{1,2}$")
#: Keys a transformer's config must give, by model kind (see docs/catalog-format.md).
_TRANSFORMER_KEYS = ("num_layers", "hidden_size", "num_attention_heads", "intermediate_size")
_TEXT_KEYS = ("vocab_size", "tie_word_embeddings")
_REQUIRED_BY_MODEL_KIND: dict[str, tuple[str, ...]] = {
    "decoder": _TRANSFORMER_KEYS + _TEXT_KEYS,
    "encoder": _TRANSFORMER_KEYS + _TEXT_KEYS,
    "encoder-decoder": _TRANSFORMER_KEYS + _TEXT_KEYS,
    "vision-transformer": (*_TRANSFORMER_KEYS, "image_size", "patch_size"),
    "vision-cnn": ("image_size",),
    "diffusion": (),
}

Fail = Callable[[str, str], CatalogError]
_PRICED = frozenset(PRICED_TABLES.values())


def check_entry(entry: Any, path: str) -> None:
    """Cross-key rules of one entry (prices dated and sourced, min <= recommended, ...).

    Raises:
        CatalogError: a rule is broken; the message names the key.
    """

    def fail(key: str, problem: str) -> CatalogError:
        return CatalogError(path, entry.id, key, problem)

    checker = _CHECKERS.get(type(entry))
    if checker is not None:
        checker(entry, fail)
    if type(entry) in _PRICED:
        check_price_fields(entry, fail)


def _price_needs_date(entry: Any, fail: Fail, *price_keys: str) -> None:
    given = [k for k in price_keys if getattr(entry, k) is not None]
    if not given:
        return
    for key in ("price_date", "price_source"):
        if getattr(entry, key) is None:
            raise fail(key, f"missing: every price ({given[0]}) needs price_date and "
                       "price_source")


def _not_below(entry: Any, fail: Fail, low_key: str, high_key: str) -> None:
    low, high = getattr(entry, low_key), getattr(entry, high_key)
    if low is not None and high is not None and high < low:
        raise fail(high_key, f"must not be below {low_key} ({high} < {low})")


def _check_gpu(entry: GpuEntry, fail: Fail) -> None:
    _price_needs_date(entry, fail, "launch_price_usd", "street_price_usd", "price_amount")
    if entry.used_price_usd is not None:
        for key in ("used_price_date", "used_price_source"):
            if getattr(entry, key) is None:
                raise fail(key, "missing: a used_price_usd needs used_price_date and "
                           "used_price_source")
    if entry.compute_capability is not None:
        if entry.vendor != "nvidia":
            raise fail("compute_capability", "only NVIDIA GPUs have a CUDA compute capability")
        if not _CC_RE.match(entry.compute_capability):
            raise fail("compute_capability", "must look like 8.6")


def _check_cpu(entry: CpuEntry, fail: Fail) -> None:
    _price_needs_date(entry, fail, "price_usd", "price_amount")
    _not_below(entry, fail, "cores", "threads")
    _not_below(entry, fail, "base_clock_ghz", "boost_clock_ghz")
    if not entry.memory_types:
        raise fail("memory_types", "must list at least one memory type")


def _check_tier(entry: TierEntry, fail: Fail) -> None:
    _not_below(entry, fail, "budget_min_usd", "budget_max_usd")
    _not_below(entry, fail, "gpu_min_vram_gib", "gpu_recommended_vram_gib")
    _not_below(entry, fail, "ram_min_gib", "ram_recommended_gib")
    _not_below(entry, fail, "cpu_min_cores", "cpu_recommended_cores")


def _check_task(entry: TaskEntry, fail: Fail) -> None:
    _not_below(entry, fail, "min_vram_gib", "recommended_vram_gib")
    _not_below(entry, fail, "min_ram_gib", "recommended_ram_gib")
    if entry.gpu_required and entry.min_vram_gib <= 0:
        raise fail("min_vram_gib", "must be above zero when gpu_required = true")
    if (entry.model is None) != (entry.model_weight_bytes is None):
        raise fail("model_weight_bytes" if entry.model else "model",
                   "model and model_weight_bytes are given together")
    job = (entry.job_runtime, entry.job_quant, entry.job_tokens, entry.job_image_px)
    if entry.job_method is None and any(v is not None for v in job):
        raise fail("job_method", "missing: the job_* keys describe the estimator's job")
    if entry.job_method is not None and entry.model is None:
        raise fail("model", "missing: job_method needs the model the estimator judges")
    if entry.job_runtime == "llama.cpp" and entry.job_quant is None:
        raise fail("job_quant", "missing: job_runtime = \"llama.cpp\" names its GGUF file type")
    if entry.job_quant is not None and entry.job_runtime is None:
        raise fail("job_runtime", "missing: job_quant is the file type of a runtime "
                   "(llama.cpp, or an image runtime's transformer weights)")
    if entry.job_runtime is not None and entry.job_method != "inference":
        raise fail("job_method", f"{entry.job_runtime} runs models: job_method must be "
                   "\"inference\"")


def _check_model(entry: ModelEntry, fail: Fail) -> None:
    for key in _REQUIRED_BY_MODEL_KIND[entry.kind]:
        if getattr(entry, key) is None:
            raise fail(key, f"missing: required for kind = {entry.kind!r}")
    heads, kv = entry.num_attention_heads, entry.num_key_value_heads
    if heads is not None and kv is not None and (kv > heads or heads % kv):
        raise fail("num_key_value_heads",
                   f"must divide num_attention_heads ({heads}); found {kv}")
    experts, active = entry.num_experts, entry.num_experts_per_tok
    if active is not None and experts is None:
        raise fail("num_experts", "missing: num_experts_per_tok is given")
    if active is not None and experts is not None and active > experts:
        raise fail("num_experts_per_tok", f"must not exceed num_experts ({experts})")
    for key in ("moe_intermediate_size", "shared_expert_intermediate_size"):
        if getattr(entry, key) is not None and experts is None:
            raise fail(key, "only a mixture of experts (num_experts) has it")
    published = entry.published_params
    if published is not None:
        if entry.published_params_source is None:
            raise fail("published_params_source", "missing: published_params needs its source")
        if abs(entry.params - published) > PUBLISHED_PARAMS_TOLERANCE * published:
            raise fail("params", f"{entry.params:,} differs from the published {published:,} by "
                       f"more than {PUBLISHED_PARAMS_TOLERANCE:.0%}")


#: How far a model's counted parameters may be from its published size (published sizes are
#: rounded to two or three significant figures, e.g. "8.2B").
PUBLISHED_PARAMS_TOLERANCE = 0.015


def _check_stack_figure(entry: StackFigureEntry, fail: Fail) -> None:
    context = (entry.model, entry.card_gb, entry.max_context_tokens)
    if entry.vram_gb is None and None in context:
        raise fail("vram_gb", "a stack figure needs vram_gb, or model, card_gb and "
                   "max_context_tokens")
    if entry.vram_gb is not None and any(v is not None for v in context):
        raise fail("vram_gb", "one figure per entry: vram_gb or a context figure, not both")
    if entry.measured_on is not None and (entry.max_context_tokens is None
                                          or entry.measured_peak_gib is None):
        raise fail("measured_on", "a measured entry is a context figure (model, card_gb, "
                   "max_context_tokens: the sequence it ran at) with measured_peak_gib")
    if entry.measured_peak_gib is not None and entry.measured_on is None:
        raise fail("measured_peak_gib", "measured_peak_gib belongs to a measured entry "
                   "(measured_on)")


_CHECKERS: Mapping[type[Any], Callable[[Any, Fail], None]] = {
    GpuEntry: _check_gpu,
    CpuEntry: _check_cpu,
    TierEntry: _check_tier,
    TaskEntry: _check_task,
    ModelEntry: _check_model,
    StackFigureEntry: _check_stack_figure,
}


def check_references(catalog: Catalog, origin: Mapping[tuple[str, str], str]) -> None:
    """Every id one entry names must exist; tier ranks must be unique.

    Args:
        catalog: the merged catalog.
        origin: the file each ``(table, id)`` came from, for the message.

    Raises:
        CatalogError: a dangling reference or a repeated tier rank.
    """
    gpus = {g.id: g for g in catalog.gpus}
    for tier in catalog.tiers:
        where = origin.get(("tier", tier.id), "<catalog>")
        for i, gpu_id in enumerate(tier.example_gpus):
            gpu = gpus.get(gpu_id)
            if gpu is None:
                raise CatalogError(where, tier.id, f"example_gpus[{i}]",
                                   f"no gpu with id {gpu_id!r}")
            # An example must reach its own tier, or the ladder contradicts itself.
            if gpu.vram_gib < tier.gpu_min_vram_gib:
                raise CatalogError(where, tier.id, f"example_gpus[{i}]",
                                   f"{gpu_id} has {gpu.vram_gib:g} GiB VRAM, below this tier's "
                                   f"gpu_min_vram_gib of {tier.gpu_min_vram_gib:g}")
            if gpu.half_tflops < tier.gpu_min_fp16_tflops:
                raise CatalogError(where, tier.id, f"example_gpus[{i}]",
                                   f"{gpu_id} has {gpu.half_tflops:g} TFLOPS 16-bit, below this "
                                   f"tier's gpu_min_fp16_tflops of {tier.gpu_min_fp16_tflops:g}")
    gpu_ids = set(gpus)
    offer: CloudOfferEntry
    for offer in catalog.cloud_offers:
        if offer.gpu_id not in gpu_ids:
            raise CatalogError(origin.get(("cloud_offer", offer.id), "<catalog>"), offer.id,
                               "gpu_id", f"no gpu with id {offer.gpu_id!r}")
    model_ids = {m.id for m in catalog.models}
    for task in catalog.tasks:
        if task.model is not None and task.model not in model_ids:
            raise CatalogError(origin.get(("task", task.id), "<catalog>"), task.id, "model",
                               f"no model with id {task.model!r}")
    ranks: dict[int, str] = {}
    for tier in catalog.tiers:
        if tier.rank in ranks:
            raise CatalogError(origin.get(("tier", tier.id), "<catalog>"), tier.id, "rank",
                               f"rank {tier.rank} is also used by tier {ranks[tier.rank]!r}")
        ranks[tier.rank] = tier.id
