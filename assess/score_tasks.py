"""A verdict per AI task of the catalog: ready, limited, not ready or unknown.

Each task's needs (GPU memory, RAM, CPU cores, free disk space, disk kind) are checked one by
one. A check whose fact is unknown is ``unknown`` - never a silent pass. The task's verdict is
the worst of its checks, in the order not ready > unknown > limited > ready, and its fix lists
the smallest change for every check that is not ready (reaching the task's *recommended* sizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assess.match import is_laptop_name
from assess.score_facts import ScoreFacts, meets
from catalog import Catalog, CloudOfferEntry, GpuEntry, TaskEntry
from catalog.money import today
from catalog.prices import KIND_WORDS, as_of, price_of, stale_warning
from catalog.schema import DRIVE_KIND_ORDER

Verdict = Literal["ready", "limited", "not ready", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("ready", "limited", "not ready", "unknown")
_KIND_NAMES = {"nvme": "NVMe SSD", "sata-ssd": "SATA SSD", "hdd": "hard disk"}
_SEVERITY: dict[Verdict, int] = {"ready": 0, "limited": 1, "unknown": 2, "not ready": 3}


@dataclass(frozen=True, slots=True)
class TaskVerdict:
    """Whether this PC can do one AI task, why, and what would make it ready."""

    task_id: str
    task: str
    verdict: Verdict
    reason: str
    #: The smallest change that would make the task ready; empty when it is ready.
    fix: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Check:
    verdict: Verdict
    reason: str
    fix: str = ""


def task_verdicts(facts: ScoreFacts, catalog: Catalog) -> tuple[TaskVerdict, ...]:
    """The verdict for every task in the catalog, in catalog order."""
    return tuple(task_verdict(facts, catalog, task) for task in catalog.tasks)


def task_verdict(facts: ScoreFacts, catalog: Catalog, task: TaskEntry) -> TaskVerdict:
    """The verdict for one task (the worst of its checks)."""
    checks = [_gpu_check(facts, catalog, task), _ram_check(facts, task),
              _cpu_check(facts, task), *_storage_checks(facts, task)]
    worst = max(checks, key=lambda c: _SEVERITY[c.verdict])
    decisive = [c.reason for c in checks if c.verdict == worst.verdict]
    fixes = [c.fix for c in checks if c.verdict != "ready" and c.fix]
    return TaskVerdict(
        task_id=task.id,
        task=task.name,
        verdict=worst.verdict,
        reason="; ".join(decisive),
        fix="; ".join(dict.fromkeys(fixes)),
        reasons=tuple(f"{c.verdict}: {c.reason}" for c in checks),
    )


def _gpu_check(facts: ScoreFacts, catalog: Catalog, task: TaskEntry) -> _Check:
    low, rec = task.min_vram_gib, task.recommended_vram_gib
    if not task.gpu_required:
        if facts.has_gpu:
            return _Check("ready", "a GPU is optional for this task, and this PC has one")
        return _Check("ready", "runs on the CPU; a GPU is optional")
    if not facts.has_gpu:
        return _Check("not ready", f"needs a GPU with at least {low:g} GiB VRAM; this PC has "
                      "no discrete GPU", _gpu_fix(facts, catalog, rec))
    vram = facts.vram_gib
    if vram is None:
        return _Check("unknown", "the GPU's memory is unknown",
                      "fill in the GPU's vram_bytes in the profile ('rigready detect --save')")
    if not meets(vram, low):
        return _Check("not ready", f"{vram:.1f} GiB VRAM is below the {low:g} GiB minimum",
                      _gpu_fix(facts, catalog, rec))
    if not meets(vram, rec):
        return _Check("limited", f"{vram:.1f} GiB VRAM meets the {low:g} GiB minimum but not the "
                      f"{rec:g} GiB recommended (smaller batches or models)",
                      _gpu_fix(facts, catalog, rec))
    return _Check("ready", f"{vram:.1f} GiB VRAM meets the {rec:g} GiB recommended")


def _gpu_fix(facts: ScoreFacts, catalog: Catalog, need_gib: float) -> str:
    laptop = facts.gpu_name is not None and is_laptop_name(facts.gpu_name)
    priced = [g for g in catalog.gpus
              if g.segment in ("desktop", "workstation") and meets(g.vram_gib, need_gib)
              and g.street_price_usd is not None]
    cheapest = min(priced, key=lambda g: g.street_price_usd or 0.0, default=None)
    if laptop:
        text = f"a GPU with at least {need_gib:g} GiB VRAM: a laptop's GPU cannot be swapped"
    else:
        text = f"a GPU with at least {need_gib:g} GiB VRAM"
        if cheapest is not None:
            text += f", such as the {cheapest.name} ({_dated(cheapest, catalog)})"
    offers = []
    for offer in catalog.cloud_offers:
        try:
            gpu = catalog.gpu(offer.gpu_id)
        except KeyError:
            continue
        if meets(gpu.vram_gib, need_gib):
            offers.append(offer)
    # On-demand first: a spot instance can be taken away mid-run.
    rent = min(offers, key=lambda o: (o.spot, o.usd_per_hour), default=None)
    if rent is not None:
        text += (f", or rent one: {rent.provider} {rent.instance} at "
                 f"{_dated(rent, catalog, per_hour=True)}")
    return text


def _dated(entry: GpuEntry | CloudOfferEntry, catalog: Catalog, per_hour: bool = False) -> str:
    """``about $229, street price as of 2026-11-28`` plus an age warning when it is old."""
    price = price_of(entry)
    if price is None:
        return "not priced"
    figure = f"${price.usd:g}/h" if per_hour else f"about ${price.usd:,.0f}"
    warn = stale_warning(price, catalog.price_policies, today())
    label = "your price" if price.yours else KIND_WORDS.get(price.kind, price.kind)
    return f"{figure}, {label} {as_of(price.date)}" + (f"; {warn}" if warn else "")


def _ram_check(facts: ScoreFacts, task: TaskEntry) -> _Check:
    ram, low, rec = facts.ram_gib, task.min_ram_gib, task.recommended_ram_gib
    if ram is None:
        return _Check("unknown", "the amount of RAM is unknown",
                      "fill in memory.total_bytes in the profile")
    fix = f"{rec:g} GiB RAM (add about {max(rec - ram, 0):.0f} GiB)"
    if facts.ram_soldered:
        fix += " - this RAM is soldered, so that means another machine"
    if not meets(ram, low):
        return _Check("not ready", f"{ram:.1f} GiB RAM is below the {low:g} GiB minimum", fix)
    if not meets(ram, rec):
        return _Check("limited", f"{ram:.1f} GiB RAM meets the {low:g} GiB minimum but not the "
                      f"{rec:g} GiB recommended", fix)
    return _Check("ready", f"{ram:.1f} GiB RAM meets the {rec:g} GiB recommended")


def _cpu_check(facts: ScoreFacts, task: TaskEntry) -> _Check:
    cores, need = facts.cpu_cores, task.min_cpu_cores
    if cores is None:
        return _Check("unknown", "the number of CPU cores is unknown",
                      "fill in cpu.physical_cores in the profile")
    if cores < need:
        return _Check("not ready", f"{cores} CPU cores, below the {need} needed",
                      f"a CPU with at least {need} cores")
    return _Check("ready", f"{cores} CPU cores (needs {need})")


def _storage_checks(facts: ScoreFacts, task: TaskEntry) -> list[_Check]:
    checks = []
    free, need = facts.free_gb, task.storage_gb
    if free is None:
        checks.append(_Check("unknown", "free disk space is unknown",
                             "mount the disks or fill in free_bytes in the profile"))
    elif free < need:
        checks.append(_Check("not ready", f"{free:,.0f} GB free, below the {need:,.0f} GB needed",
                             f"free up or add {need - free:,.0f} GB of disk space"))
    else:
        checks.append(_Check("ready", f"{free:,.0f} GB free (needs {need:,.0f} GB)"))
    if task.storage_kind is not None:
        kind = facts.storage_class
        if kind is None:
            checks.append(_Check("unknown", "the disk kind is unknown",
                                 "run the storage benchmark to measure its speed"))
        elif DRIVE_KIND_ORDER.index(kind) < DRIVE_KIND_ORDER.index(task.storage_kind):
            checks.append(_Check("limited", f"the fastest disk is a {_KIND_NAMES[kind]}; "
                                 f"{_KIND_NAMES[task.storage_kind]} is recommended for loading "
                                 "the data",
                                 f"a faster drive ({_KIND_NAMES[task.storage_kind]}) for the "
                                 "data"))
        else:
            checks.append(_Check("ready", f"{_KIND_NAMES[kind]} storage"))
    return checks
