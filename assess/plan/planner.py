"""Plan upgrades: every catalog GPU (or the current one) plus the RAM, drive, PSU and CPU it takes
to reach the goal in this PC, checked, priced and ranked; then buy versus rent.

:func:`plan_upgrades` is pure: the same profile, goal, budget, facts and catalog give the same
plans. Ranked plans are the cheapest that reaches the goal, the best value (speed per dollar) and
the best within budget; when none is within budget the nearest is shown. When none can reach the
goal, a plan whose GPU would reach it is shown labelled ``does not reach the goal`` with the
check that stops it; a purchase that leaves the GPU short of the goal is never offered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rigready.assess.estimate import GpuTarget, gpu_from_entry
from rigready.assess.hardware import RigProfile
from rigready.assess.plan.checks import (
    CURRENT_GPU,
    GPU_SOFTWARE,
    PSU_CAPACITY,
    Check,
    connectors_ok,
    power_need,
    psu_checks,
    slot_checks,
)
from rigready.assess.plan.facts import RigFacts
from rigready.assess.plan.goal import (
    Goal,
    GpuOutcome,
    HostNeeds,
    WorkloadGoal,
    gpu_outcome,
    host_needs_of,
)
from rigready.assess.plan.parts import (
    Choice,
    LineItem,
    cpu_choice,
    drive_choice,
    gpu_candidates,
    gpu_item,
    psu_choice,
    psu_item,
    ram_choice,
)
from rigready.assess.plan.rent import (
    RentOffer,
    break_even_hours,
    cheapest_offers,
    local_usd_per_hour,
    rent_per_hour_here,
)
from rigready.assess.plan.result import After, Plan, PlanResult, PlanStatus
from rigready.assess.plan.rig import RigState, rig_state
from rigready.assess.plan.settings import purchase_goal, setting_fixes
from rigready.assess.plan.summary import build_result
from rigready.assess.score_facts import meets
from rigready.assess.units import GIB
from rigready.catalog import Catalog, GpuEntry
from rigready.catalog.money import PriceView
from rigready.catalog.schema import DRIVE_KIND_ORDER, DriveKind


class PlanError(ValueError):
    """Planning input that cannot work (a negative budget, a multi-GPU workload)."""


@dataclass(frozen=True, slots=True)
class _Config:
    """One configuration weighed: the plan and the figures used to rank it."""

    plan: Plan
    speed: float
    gpu: GpuEntry | None
    #: The GPU side of the goal is met (the plan may still be blocked elsewhere).
    gpu_reached: bool


@dataclass(slots=True)
class _Host:
    """What the rest of the PC needs bought: items, checks, needs that cannot be met."""

    items: list[LineItem]
    checks: list[Check]
    #: Needs no catalog part can meet in this PC ("more RAM"), each blocking the plan.
    missing: list[str]
    ram_after: float | None
    reasons: list[str]


def _host_items(rig: RigState, needs: HostNeeds, catalog: Catalog) -> _Host:
    """RAM, drive and CPU the goal needs beyond the GPU."""
    host = _Host([], [], [], rig.ram_installed_gib, [])
    if rig.form == "vm":
        return _vm_host(rig, needs, host)
    if needs.ram_gib is not None:
        free = (rig.ram_available_bytes / GIB if needs.ram_is_free_ram
                and rig.ram_available_bytes is not None else rig.ram_installed_gib)
        kind = "free RAM" if needs.ram_is_free_ram and rig.ram_available_bytes else "RAM"
        if free is None:
            host.checks.append(Check("RAM size", "unverified", f"needs {needs.ram_gib:.1f} GiB "
                                     "of RAM; the amount installed is unknown"))
        elif not meets(free, needs.ram_gib):
            choice = ram_choice(catalog, rig, needs.ram_gib, free_ram=needs.ram_is_free_ram)
            if _take(choice, host):
                host.ram_after = choice.reaches
            else:
                host.missing.append("more RAM")
            host.reasons.append(f"needs {needs.ram_gib:.1f} GiB of {kind}, has {free:.1f} GiB")
    disk_need, disk_kind = _disk_need(rig, needs, host.checks)
    if disk_need is not None:
        if not _take(drive_choice(catalog, disk_need, disk_kind or "sata-ssd"), host):
            host.missing.append("a bigger drive")
        host.reasons.append(f"needs {disk_need:,.0f} GB more {disk_kind or 'SSD'} space")
    if needs.cpu_cores is not None:
        if rig.cpu_cores is None:
            host.checks.append(Check("CPU cores", "unverified", f"needs {needs.cpu_cores} "
                                     "cores; the CPU's core count is unknown"))
        elif rig.cpu_cores < needs.cpu_cores:
            if not _take(cpu_choice(catalog, rig, needs.cpu_cores), host):
                host.missing.append(f"a {needs.cpu_cores}-core CPU")
            host.reasons.append(f"needs {needs.cpu_cores} CPU cores, has {rig.cpu_cores}")
    return host


def _vm_host(rig: RigState, needs: HostNeeds, host: _Host) -> _Host:
    """A virtual machine's RAM, disk and cores come with the instance: nothing to buy."""
    score = rig.score
    free = (rig.ram_available_bytes / GIB if needs.ram_is_free_ram
            and rig.ram_available_bytes is not None else rig.ram_installed_gib)
    if needs.ram_gib is not None and free is not None and not meets(free, needs.ram_gib):
        host.missing.append("an instance with more RAM")
    if needs.disk_free_gb is not None and score.free_gb is not None \
            and score.free_gb < needs.disk_free_gb:
        host.missing.append("a bigger disk on the instance")
    if needs.cpu_cores is not None and rig.cpu_cores is not None \
            and rig.cpu_cores < needs.cpu_cores:
        host.reasons.append(f"{rig.cpu_cores} vCPUs, {needs.cpu_cores} expected: data loading "
                            "is slower (an instance with more vCPUs fixes it)")
    return host


def _take(choice: Choice, host: _Host) -> bool:
    host.checks.extend(choice.checks)
    if choice.item is None:
        return False
    host.items.append(choice.item)
    return True


def _disk_need(rig: RigState, needs: HostNeeds,
               checks: list[Check]) -> tuple[float | None, DriveKind | None]:
    """GB of new drive needed (None: none) and the drive kind."""
    score = rig.score
    if needs.disk_capacity_gb is not None and needs.disk_kind is not None:
        have = score.capacity_at_least(needs.disk_kind)
        if have is None:
            checks.append(Check("Storage", "unverified", "disk kinds unknown"))
            return None, None
        short = needs.disk_capacity_gb - have
        return (short, needs.disk_kind) if short > 0 else (None, None)
    need = None
    if needs.disk_free_gb is not None:
        free = score.free_gb
        if free is None:
            checks.append(Check("Storage", "unverified", f"needs {needs.disk_free_gb:,.0f} GB "
                                "free; free space unknown"))
        elif free < needs.disk_free_gb:
            need = needs.disk_free_gb
    if needs.disk_kind is not None and needs.disk_capacity_gb is None:
        fastest = score.storage_class
        if fastest is not None and DRIVE_KIND_ORDER.index(fastest) < \
                DRIVE_KIND_ORDER.index(needs.disk_kind):
            need = max(need or 0.0, needs.disk_free_gb or 0.0)
    return need, needs.disk_kind


def _after(outcome: GpuOutcome, reached: bool, ram_gib: float | None) -> After:
    return After(verdict=outcome.verdict, reached=reached, total_gib=outcome.need_gib,
                 vram_gib=outcome.vram_gib, gpu_name=outcome.gpu_name, ram_gib=ram_gib,
                 tokens_per_s=outcome.tokens_per_s, run_hours=outcome.run_hours,
                 query_seconds=outcome.query_seconds, load_w=outcome.load_w,
                 reasons=outcome.reasons, free_gib=outcome.free_gib)


def _configure(goal: Goal, rig: RigState, needs: HostNeeds, facts: RigFacts, catalog: Catalog,
               gpu: GpuEntry | None, budget: float | None, offer: RentOffer | None) -> _Config:
    """The plan that puts ``gpu`` (None: keep the current one) in this PC for the goal."""
    items: list[LineItem] = []
    checks: list[Check] = []
    reasons: list[str] = []
    target: GpuTarget | None = rig.gpu_target
    entry = rig.gpu_entry
    if gpu is not None:
        target, entry = gpu_from_entry(gpu, drives_display=rig.desktop_on_gpu), gpu
        items.append(gpu_item(gpu))
        checks.extend(slot_checks(rig, gpu, facts))
        if rig.gpu is not None and rig.gpu_target is None:
            problem = rig.score.vram_problem or "its VRAM was not read"
            checks.append(Check(CURRENT_GPU, "unverified",
                                f"the memory of the {rig.gpu.name} you have is unknown "
                                f"({problem.split(':')[0]}): find it out first, it may already "
                                "be enough"))
    if gpu is not None and not rig.laptop:
        need = power_need(rig, gpu)
        new_psu = None
        if facts.psu_watts is not None and (facts.psu_watts < need.watts or (
                facts.psu_connectors is not None and not _own_plugs_ok(gpu, facts))):
            new_psu = psu_choice(catalog, rig, gpu)
            if new_psu is None:
                checks.append(Check(PSU_CAPACITY, "fail", f"needs {need.watts:.0f} W and "
                                    "the card's connectors: no catalog PSU has both"))
            else:
                why = ("your PSU is too small" if facts.psu_watts < need.watts
                       else "your PSU lacks the card's connectors")
                items.append(psu_item(new_psu, need.watts, why))
        if not (new_psu is None and any(c.name == PSU_CAPACITY for c in checks)):
            checks.extend(psu_checks(rig, gpu, facts, new_psu))
    host = _host_items(rig, needs, catalog)
    items.extend(host.items)
    checks.extend(host.checks)
    reasons.extend(host.reasons)
    ram_free = rig.ram_available_bytes
    if ram_free is not None and host.ram_after is not None and rig.ram_installed_gib is not None:
        ram_free = int(ram_free + (host.ram_after - rig.ram_installed_gib) * GIB)
    outcome = gpu_outcome(goal, target, entry, ram_free, () if gpu is not None else rig.gpu_pool)
    gpu_ok = outcome.reached
    reached = gpu_ok and not host.missing
    if outcome.verdict == "ready" and not reached:
        outcome = replace(outcome, verdict="not ready")
    after = _after(outcome, reached, host.ram_after)
    per_hour = local_usd_per_hour(outcome.load_w, facts.kwh)
    run_cost = (outcome.run_hours * per_hour
                if outcome.run_hours is not None and per_hour is not None else None)
    million = (1e6 * outcome.query_seconds / 3600.0 * per_hour
               if outcome.query_seconds is not None and per_hour is not None else None)
    total = sum(i.price_usd for i in items)
    # Buying only competes with renting when the purchase reaches the goal; a break-even for a
    # plan that still cannot run it would compare unlike things. Both sides do the same job:
    # an hour of work here is worth what renting costs for the share of a run it does.
    be = (break_even_hours(total, rent_per_hour_here(offer, outcome), per_hour)
          if offer is not None and items and reached else None)
    names = [i.label or i.name for i in items] + [f"{m} (not possible)" for m in host.missing]
    title = " + ".join(names) or "Your PC as it is"
    title = title[0].upper() + title[1:]
    if gpu is not None and rig.laptop:
        title += " in an external enclosure (not priced)"
    plan = Plan(title=title, labels=(), items=tuple(items), after=after, checks=tuple(checks),
                budget_usd=budget, local_usd_per_hour=per_hour, run_cost_usd=run_cost,
                per_million_queries_usd=million, break_even_hours=be, reasons=tuple(reasons),
                verified_goal=goal.label)
    speed = outcome.tokens_per_s or (entry.half_tflops if entry else 0.0) or 0.0
    return _Config(plan, speed, gpu, gpu_ok)


def _now(goal: Goal, rig: RigState, needs: HostNeeds, catalog: Catalog, keep: Plan) -> Plan:
    """The PC as it is today (the keep plan without its purchases)."""
    if not keep.items:
        return keep
    outcome = gpu_outcome(goal, rig.gpu_target, rig.gpu_entry, rig.ram_available_bytes,
                          rig.gpu_pool)
    host = _host_items(rig, needs, catalog)
    reached = outcome.reached and not (host.items or host.missing)
    if outcome.verdict == "ready" and not reached:
        outcome = replace(outcome, verdict="not ready")
    return replace(keep, title="Your PC as it is", items=(), checks=(),
                   after=_after(outcome, reached, rig.ram_installed_gib),
                   reasons=tuple(host.reasons), break_even_hours=None)


def _own_plugs_ok(gpu: GpuEntry, facts: RigFacts) -> bool:
    return facts.psu_connectors is None or connectors_ok(gpu, facts.psu_connectors)[0]


def _label(configs: Sequence[tuple[_Config, str]]) -> list[Plan]:
    """Merge labels of configurations chosen more than once, keeping first-seen order."""
    order: list[_Config] = []
    labels: dict[int, list[str]] = {}
    for config, label in configs:
        key = id(config)
        if key not in labels:
            order.append(config)
            labels[key] = []
        labels[key].append(label)
    return [replace(c.plan, labels=tuple(labels[id(c)])) for c in order]


def _value(config: _Config) -> float:
    total = config.plan.total_usd
    return config.speed / total if total > 0 else math.inf


def _software_known_good(config: _Config) -> bool:
    """Whether the plan's GPU runs the usual CUDA stack (no "GPU software" check left open)."""
    return all(c.status == "pass" for c in config.plan.checks if c.name == GPU_SOFTWARE)


def plan_upgrades(profile: RigProfile, goal: Goal, budget_usd: float | None, facts: RigFacts,
                  catalog: Catalog, *, vendors: tuple[str, ...] | None = None,
                  view: PriceView | None = None) -> PlanResult:
    """Ranked upgrade plans for ``goal`` within ``budget_usd``, and the buy-versus-rent answer.

    Args:
        profile: the PC (detected or loaded).
        goal: a workload, tier or task goal.
        budget_usd: the most the user wants to spend (None: no limit).
        facts: what the user told us about PSU, case, electricity and usage.
        catalog: parts, prices and cloud offers.
        vendors: GPU vendors to consider (None: all).
        view: how the summary and the advice show amounts (the user's currency beside USD, as
            the plan lines); USD when omitted.

    Raises:
        PlanError: a negative or non-finite budget, or a multi-GPU workload.
    """
    if budget_usd is not None and (not math.isfinite(budget_usd) or budget_usd < 0):
        raise PlanError(f"the budget must be zero or more, got {budget_usd:g}")
    if isinstance(goal, WorkloadGoal) and goal.workload.gpus != 1:
        raise PlanError("plans buy one GPU: use a single-GPU workload (gpus 1)")
    rig = rig_state(profile, catalog)
    needs = host_needs_of(goal, catalog)
    # a card is sized for the job with the free, time-only setting on (each plan says so in
    # the goal it was re-verified against), never for memory that setting would save; renting
    # is priced for that same job, so buying and renting compare one job
    buy_goal = purchase_goal(goal) if isinstance(goal, WorkloadGoal) else goal
    offer, spot = cheapest_offers(buy_goal, catalog)
    keep = _configure(goal, rig, needs, facts, catalog, None, budget_usd, offer)
    tight_now = keep.plan.viable and not keep.plan.items and keep.plan.after.verdict == "tight"
    # a tight fit reaches the goal, but only inside the estimate's error band: the free
    # settings that would give it room are offered with it
    fixes = (setting_fixes(goal, rig, room=tight_now) if isinstance(goal, WorkloadGoal)
             and (tight_now or not keep.plan.viable) else ())
    today = _host_items(rig, needs, catalog)
    host_ok = not today.items and not today.missing
    if fixes and fixes[0].settles_it and host_ok and not tight_now:
        # A setting makes the job as asked fit with room on the GPU this PC has: no purchase is
        # offered. A tight fit or a smaller job (a shorter sequence) is listed with the plans.
        now = _now(goal, rig, needs, catalog, keep.plan)
        return build_result(goal, rig, now, (), "a setting reaches the goal", budget_usd, facts,
                            offer, spot, 1, settings=fixes, view=view, rent_goal=buy_goal.label)
    candidates = gpu_candidates(catalog, rig, vendors) if _may_add_gpu(rig) else []
    configs = [keep] + [_configure(buy_goal, rig, needs, facts, catalog, g, budget_usd, offer)
                        for g in candidates]
    viable = [c for c in configs if c.plan.viable]
    chosen: list[tuple[_Config, str]] = []
    status: PlanStatus
    if keep.plan.viable and not keep.plan.items:
        status = "tight fit" if tight_now else "no upgrade needed"
        chosen.append((keep, status))
    elif viable:
        cheapest = min(viable, key=lambda c: (c.plan.total_usd, -c.speed))
        chosen.append((cheapest, "cheapest"))
        # "Cheapest" is the cheapest, whatever its software; the two recommendations prefer a
        # card whose software stack is known to work (bitsandbytes, flash-attention and many
        # kernels lag on ROCm and oneAPI), and fall back to the others when none qualifies.
        # "Best value" is only ever a plan the budget allows.
        within = [c for c in viable if c.plan.within_budget]
        if within:
            chosen.append((max(within, key=lambda c: (_software_known_good(c), _value(c),
                                                      -c.plan.total_usd)), "best value"))
        if within:
            status = "ok"
            chosen.append((max(within, key=lambda c: (_software_known_good(c), c.speed,
                                                      -c.plan.total_usd)),
                           "best within budget"))
        else:
            status = "nothing within budget"
            chosen.insert(0, (cheapest, "nearest"))
    else:
        # Nothing reaches the goal. A plan whose GPU reaches it but which a check stops is shown
        # labelled as not reaching it (so the user sees what stops it); a purchase that leaves
        # the GPU short of the goal does not help at all, so it is never offered.
        gpu_ok = [c for c in configs if c.gpu_reached]
        status = "blocked" if any(c.plan.blocked for c in gpu_ok) else "no plan reaches the goal"
        if gpu_ok:
            chosen.append((min(gpu_ok, key=lambda c: (c.plan.total_usd, -c.speed)), SHORT))
    plans = tuple(_label(chosen))
    now = _now(goal, rig, needs, catalog, keep.plan)
    closest = max((c.plan.after.vram_gib or 0.0 for c in configs), default=0.0)
    return build_result(goal, rig, now, plans, status, budget_usd, facts, offer, spot,
                        len(configs), settings=fixes, closest_gib=closest, view=view,
                        rent_goal=buy_goal.label)


#: The label of a plan shown only to say what stops it: it is never advice to buy.
SHORT = "does not reach the goal"


def _may_add_gpu(rig: RigState) -> bool:
    """A card can go inside (desktop, server) or outside (a laptop that may have the port)."""
    return rig.takes_internal_gpu or (rig.laptop and rig.thunderbolt is not False)
