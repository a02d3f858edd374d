"""The tier ladder of AI-readiness scoring: the tier each component (GPU, CPU, RAM, storage)
reaches on its own, what would lift it, and the overall tier (the weakest link's).

Pure functions over :class:`~rigready.assess.score_facts.ScoreFacts` and the catalog's tiers;
:mod:`rigready.assess.score` puts them together with the score and the task verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rigready.assess.score_facts import SIZE_TOLERANCE, ScoreFacts, meets
from rigready.catalog import Catalog, TierEntry
from rigready.catalog.schema import DRIVE_KIND_ORDER, GpuEntry

Component = Literal["gpu", "cpu", "ram", "storage"]
COMPONENTS: tuple[Component, ...] = ("gpu", "cpu", "ram", "storage")
COMPONENT_NAMES: dict[Component, str] = {
    "gpu": "GPU", "cpu": "CPU", "ram": "RAM", "storage": "Storage",
}
BELOW_ENTRY = "below entry"


@dataclass(frozen=True, slots=True)
class ComponentTier:
    """Where one component stands on the tier ladder.

    ``rank`` is 1..5 for a tier, 0 for below the entry tier, None when a needed fact is unknown.
    """

    component: Component
    rank: int | None
    tier_id: str | None
    tier_name: str
    summary: str
    lift: str
    reasons: tuple[str, ...]


def tier_by_rank(catalog: Catalog, rank: int | None) -> TierEntry | None:
    """The catalog tier of ``rank`` (None below the entry tier or when unknown)."""
    return next((t for t in catalog.tiers if t.rank == rank), None)


def rank_name(catalog: Catalog, rank: int | None) -> str:
    """The name of ``rank``'s tier ("unknown", or "below entry" under the first tier)."""
    if rank is None:
        return "unknown"
    tier = tier_by_rank(catalog, rank)
    return tier.name if tier else BELOW_ENTRY


def _ladder(catalog: Catalog, qualifies: list[bool]) -> int:
    """The highest rank such that every tier up to it qualifies (0 if the first does not)."""
    rank = 0
    for tier, ok in zip(catalog.tiers, qualifies, strict=True):
        if not ok:
            break
        rank = tier.rank
    return rank


def component_tiers(facts: ScoreFacts, catalog: Catalog) -> tuple[ComponentTier, ...]:
    """The tier each of GPU, CPU, RAM and storage reaches on its own."""
    return (_gpu_tier(facts, catalog), _cpu_tier(facts, catalog), _ram_tier(facts, catalog),
            _storage_tier(facts, catalog))


def _make(catalog: Catalog, component: Component, rank: int | None, summary: str,
          next_need: str | None, reasons: list[str]) -> ComponentTier:
    tier = tier_by_rank(catalog, rank)
    top = max((t.rank for t in catalog.tiers), default=0)
    if rank is None:
        lift = next_need or "fill in the missing facts"
    elif rank >= top:
        lift = ""
    else:
        lift = next_need or ""
    return ComponentTier(component, rank, tier.id if tier else None, rank_name(catalog, rank),
                         summary, lift, tuple(reasons))


def _next(catalog: Catalog, rank: int) -> TierEntry | None:
    return next((t for t in catalog.tiers if t.rank > rank), None)


def _gpu_tier(facts: ScoreFacts, catalog: Catalog) -> ComponentTier:
    if not facts.has_gpu:
        first = _next(catalog, 0)
        need = _gpu_need(catalog, first) if first else None
        return _make(catalog, "gpu", 0, "no discrete GPU", need,
                     ["no discrete GPU: AI training runs on the CPU, many times slower"])
    vram, speed = facts.vram_gib, facts.gpu_half_tflops
    summary = (f"{facts.gpu_name}: {_num(vram, 'GiB VRAM')}, "
               f"{_num(speed, 'TFLOPS 16-bit')}{' (measured)' if facts.gpu_speed_measured else ''}")
    if vram is None or speed is None:
        missing = "VRAM" if vram is None else "speed (run the GPU benchmark)"
        if vram is None and facts.vram_problem:
            return _make(catalog, "gpu", None, summary, facts.vram_problem,
                         [f"GPU VRAM is unknown, so its tier is unknown: {facts.vram_problem}"])
        return _make(catalog, "gpu", None, summary, f"GPU {missing} is unknown",
                     [f"GPU {missing} is unknown, so its tier is unknown"])
    # vram is the card's marketed size: no tolerance on top
    rank = _ladder(catalog, [vram >= t.gpu_min_vram_gib and
                             speed >= t.gpu_min_fp16_tflops for t in catalog.tiers])
    nxt = _next(catalog, rank)
    reasons = [f"{vram:.1f} GiB VRAM and {speed:g} TFLOPS reach {rank_name(catalog, rank)}"]
    if nxt:
        reasons.append(f"{nxt.name} needs {nxt.gpu_min_vram_gib:g} GiB VRAM and "
                       f"{nxt.gpu_min_fp16_tflops:g} TFLOPS 16-bit")
    need = _gpu_need(catalog, nxt, speed, vram) if nxt else None
    if need and facts.form_factor == "laptop":
        need += (" (a laptop's GPU cannot be swapped: that means an external GPU, another "
                 "machine or a cloud GPU)")
    elif need and facts.form_factor == "vm":
        need += " (in a VM: a bigger instance)"
    return _make(catalog, "gpu", rank, summary, need, reasons)


def _gpu_need(catalog: Catalog, tier: TierEntry, current: float | None = None,
              current_vram: float | None = None) -> str:
    """What GPU reaches ``tier``: never less VRAM or speed than the card the PC has.

    The tier's own examples come first; when none of them beats the current card (a 12 GB RTX
    3060 against a tier whose examples have 8 GB), the cheapest desktop cards that do.
    """
    def fits(gpu: GpuEntry) -> bool:
        # marketed sizes on both sides: no tolerance
        return (gpu.vram_gib >= tier.gpu_min_vram_gib
                and gpu.half_tflops >= tier.gpu_min_fp16_tflops
                and (current is None or gpu.half_tflops > current)
                and (current_vram is None or gpu.vram_gib >= current_vram))

    names = []
    for gpu_id in tier.example_gpus:
        try:
            gpu = catalog.gpu(gpu_id)
        except KeyError:
            continue
        if fits(gpu):
            names.append(gpu.name)
    if not names:
        priced = sorted((g for g in catalog.gpus if g.segment == "desktop"
                         and g.street_price_usd is not None and fits(g)),
                        key=lambda g: g.street_price_usd or 0.0)
        names = [g.name for g in priced[:2]]
    example = f", such as {' or '.join(names[:3])}" if names else ""
    vram = tier.gpu_min_vram_gib
    if current_vram is not None and current_vram > vram:
        vram_text = f"{current_vram:.0f} GiB VRAM (no less than now)"
    else:
        vram_text = f"{vram:g} GiB VRAM"
    return (f"a GPU with at least {vram_text} and "
            f"{tier.gpu_min_fp16_tflops:g} TFLOPS 16-bit{example} reaches {tier.name}")


def _cpu_tier(facts: ScoreFacts, catalog: Catalog) -> ComponentTier:
    cores = facts.cpu_cores
    summary = f"{facts.cpu_name or 'unknown CPU'}: {_num(cores, 'cores')}"
    if cores is None:
        return _make(catalog, "cpu", None, summary, "CPU core count is unknown",
                     ["the number of physical cores is unknown"])
    rank = _ladder(catalog, [cores >= t.cpu_min_cores for t in catalog.tiers])
    nxt = _next(catalog, rank)
    need = (f"a CPU with at least {nxt.cpu_min_cores} cores reaches {nxt.name}" if nxt else None)
    return _make(catalog, "cpu", rank, summary, need,
                 [f"{cores} physical cores reach {rank_name(catalog, rank)}"])


def _ram_tier(facts: ScoreFacts, catalog: Catalog) -> ComponentTier:
    ram = facts.ram_gib
    summary = _num(ram, "GiB")
    if ram is None:
        return _make(catalog, "ram", None, summary, "the amount of RAM is unknown",
                     ["the amount of RAM is unknown"])
    rank = _ladder(catalog, [meets(ram, t.ram_min_gib) for t in catalog.tiers])
    nxt = _next(catalog, rank)
    need = None
    if nxt:
        add = max(nxt.ram_min_gib - ram, 0.0)
        need = f"{nxt.ram_min_gib:g} GiB RAM (about {math.ceil(add):d} GiB more) reaches {nxt.name}"
        if facts.ram_soldered:
            need += "; this RAM is soldered, so only a different machine gets there"
    return _make(catalog, "ram", rank, summary, need,
                 [f"{ram:.1f} GiB reach {rank_name(catalog, rank)} (sizes within "
                  f"{SIZE_TOLERANCE:.0%} count, as firmware reserves some)"])


def _storage_tier(facts: ScoreFacts, catalog: Catalog) -> ComponentTier:
    kind = facts.storage_class
    total = sum(d.capacity_gb or 0.0 for d in facts.disks)
    kinds = ", ".join(dict.fromkeys(d.kind for d in facts.disks)) or "no disks"
    summary = f"{kinds}; {total:,.0f} GB in {len(facts.disks)} disk(s)"
    if kind is None:
        return _make(catalog, "storage", None, summary,
                     "the storage kind is unknown (run the storage benchmark)",
                     ["no disk of a known kind (NVMe, SATA SSD, HDD); its tier is unknown"])

    def ok(tier: TierEntry) -> bool:
        capacity = facts.capacity_at_least(tier.storage_kind)
        return capacity is not None and meets(capacity, tier.storage_min_gb)

    rank = _ladder(catalog, [ok(t) for t in catalog.tiers])
    nxt = _next(catalog, rank)
    need = (f"{nxt.storage_min_gb:,.0f} GB on {nxt.storage_kind} (or faster) drives reaches "
            f"{nxt.name}" if nxt else None)
    fastest = DRIVE_KIND_ORDER.index(kind)
    reasons = [f"fastest disk class {kind}; {total:,.0f} GB in all reach "
               f"{rank_name(catalog, rank)}"]
    if fastest < len(DRIVE_KIND_ORDER) - 1:
        reasons.append("an NVMe drive loads data sets and checkpoints several times faster")
    return _make(catalog, "storage", rank, summary, need, reasons)


def overall_tier(
    components: tuple[ComponentTier, ...],
) -> tuple[int | None, tuple[Component, ...], str, tuple[str, ...]]:
    """The overall tier is the lowest component tier; name that weakest link and its lift.

    Unknown components do not count; the overall tier is then an upper bound and the reasons
    say so. With every component unknown the overall tier is unknown.

    Returns:
        (rank or None, weakest components, what would lift the overall tier, reasons)
    """
    known = [c for c in components if c.rank is not None]
    unknown = [c for c in components if c.rank is None]
    reasons: list[str] = []
    if not known:
        return None, (), "fill in the missing facts", ("every component's tier is unknown",)
    rank = min(c.rank for c in known if c.rank is not None)
    if all(not c.lift for c in known):  # only components at the top tier have nothing to lift
        reasons.append("every known component reaches the top tier")
        weakest: tuple[Component, ...] = ()
    else:
        weakest = tuple(c.component for c in known if c.rank == rank)
        labels = [COMPONENT_NAMES[c] for c in weakest]
        names = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        reasons.append(f"the weakest link is the {names} (the overall tier is the lowest "
                       "component's)")
    if unknown:
        reasons.append("not counted because unknown: "
                       + ", ".join(COMPONENT_NAMES[c.component] for c in unknown)
                       + "; the overall tier may be lower")
    lifts = [c.lift for c in known if c.rank == rank and c.lift]
    return rank, weakest, "; ".join(lifts), tuple(reasons)


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return f"unknown {unit.split()[-1] if unit else ''}".strip()
    return f"{value:,.1f} {unit}" if isinstance(value, float) else f"{value} {unit}"
