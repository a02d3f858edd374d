"""The words of a plan result: the summary, the assumptions, and the buy-or-rent advice."""

from __future__ import annotations

from dataclasses import replace

from rigready.assess.plan.facts import DEFAULT_HOURS_PER_WEEK, DEFAULT_KWH_PRICE, RigFacts
from rigready.assess.plan.goal import Goal, WorkloadGoal
from rigready.assess.plan.rent import HORIZON_WEEKS, Advice, RentOffer, advise
from rigready.assess.plan.result import (
    After,
    Plan,
    PlanResult,
    PlanStatus,
    RentSummary,
    verdict_text,
)
from rigready.assess.plan.rig import ASSUMED_CPU_W, RigState
from rigready.assess.plan.settings import SettingFix
from rigready.catalog.money import PriceView, view_or_usd

#: The PC reaches the goal as it is (a tight fit only just).
_NO_PURCHASE = ("no upgrade needed", "tight fit")


def _run_cost(offer: RentOffer) -> float:
    cost = offer.run_cost_usd
    return cost if cost is not None else offer.usd_per_hour


def build_result(goal: Goal, rig: RigState, now: Plan, plans: tuple[Plan, ...],
                 status: PlanStatus, budget: float | None, facts: RigFacts,
                 offer: RentOffer | None, spot: RentOffer | None,
                 considered: int, settings: tuple[SettingFix, ...] = (),
                 closest_gib: float | None = None,
                 view: PriceView | None = None, rent_goal: str = "") -> PlanResult:
    """Put the ranked plans, the rent side, the summary and the assumptions together.

    ``closest_gib``: the most GPU memory any plan considered would give (for the summary when
    no plan is offered). ``view`` shows the amounts in the summary and the advice as the plan
    lines do (the user's currency beside USD); USD when omitted.
    """
    primary = next((p for p in plans if "best within budget" in p.labels), None) or (
        plans[0] if plans and plans[0].viable else None)
    why = ""
    reason = "" if status in _NO_PURCHASE else no_card_reason(rig)
    if status == "blocked" and plans:
        fails = plans[0].checks_with("fail")
        why = f" ({fails[0].detail.split(':')[0]})" if fails else ""
    elif reason and not plans:
        why = (" (a virtual machine takes no card)" if rig.form == "vm" else
               " (a laptop's GPU cannot be swapped)" if rig.laptop else "")
    advice = _setting_advice(settings) if status == "a setting reaches the goal" else advise(
                    status=status, plan_title=primary.title if primary else None,
                    purchase_usd=primary.total_usd if primary else None,
                    break_even=primary.break_even_hours if primary else None, offer=offer,
                    hours_per_week=facts.hours,
                    local_run_cost=now.run_cost_usd if status in _NO_PURCHASE else None,
                    why_no_plan=why,
                    inference=isinstance(goal, WorkloadGoal) and not goal.workload.training,
                    view=view)
    if primary is not None and advice.choice == "buy" and not primary.ready_to_buy:
        # never "buy" while something that could stop the plan is unmeasured
        advice = Advice("check first", "Check first: " + "; ".join(
            f"{c.name} ({c.detail.split(':')[0]})" for c in primary.risks)
            + f". If they pass: {advice.text}")
    rent_reasons = []
    if offer is not None and primary is not None and primary.after.run_hours and offer.run_hours \
            and primary.items:
        here, there = primary.after.run_hours, offer.run_hours
        if abs(here / there - 1.0) > 0.2:
            money = view_or_usd(view).money
            rate = offer.usd_per_hour * there / here
            rent_reasons.append(
                f"one job, both ways: a run takes {there:,.1f} h on the rented "
                f"{offer.gpu_name} and {here:,.1f} h with the {primary.title} plan, so renting "
                f"the same work costs about {money(round(rate, 2))} per hour of work at home; "
                "the break-even counts hours at home at that price")
    # A spot offer is only worth a mention when it is cheaper by the hour and for the job; a
    # faster, dearer spot GPU next to a cheap on-demand one reads as nonsense.
    spot_cheaper = spot is not None and (offer is None or (
        spot.usd_per_hour < offer.usd_per_hour and _run_cost(spot) < _run_cost(offer)))
    rent = RentSummary(offer=offer, spot=spot,
                       break_even_hours=primary.break_even_hours if primary else None,
                       advice=advice, reasons=tuple(rent_reasons), spot_cheaper=spot_cheaper,
                       verified_goal=rent_goal or goal.label)
    reasons = list(rig.notes)
    if settings and status not in ("a setting reaches the goal", "tight fit") and plans:
        best = settings[0]
        gpu = rig.gpu_target.name if rig.gpu_target else "GPU"
        reasons.append(f"no setting change reaches the goal on the {gpu}, so the plans buy "
                       f"hardware: the closest, {best.change}, needs {best.sizes} "
                       f"({verdict_text(best.verdict)})")
    return PlanResult(goal_label=goal.label, status=status,
                      summary=_summary(status, now, plans, budget, rig, settings, closest_gib,
                                       view),
                      budget_usd=budget, now=_now_after(now, rig), plans=plans, rent=rent,
                      assumptions=_assumptions(goal, rig, facts, bool(plans)), facts=facts,
                      reasons=tuple(reasons), considered=considered,
                      inference=isinstance(goal, WorkloadGoal) and not goal.workload.training,
                      settings=settings, no_card_reason=reason)


def _now_after(now: Plan, rig: RigState) -> After:
    """The PC today; a GPU whose memory was not read is named, with an unknown verdict (it is
    not "no GPU")."""
    a = now.after
    if a.verdict == "no GPU" and rig.score.has_gpu and rig.score.gpu_name:
        return replace(a, verdict="unknown", gpu_name=rig.score.gpu_name)
    return a


def _setting_advice(settings: tuple[SettingFix, ...]) -> Advice:
    fix = settings[0]
    return Advice("use your PC", f"Use your PC with {fix.change}: no purchase needed "
                  f"({fix.sizes}, {fix.cost}).")


def _summary(status: PlanStatus, now: Plan, plans: tuple[Plan, ...], budget: float | None,
             rig: RigState, settings: tuple[SettingFix, ...] = (),
             closest_gib: float | None = None, view: PriceView | None = None) -> str:
    if status == "a setting reaches the goal":
        fix = settings[0]
        return (f"No purchase needed: {fix.change} makes it fit on this PC's GPU "
                f"({fix.sizes}, {verdict_text(fix.verdict)}; "
                f"{fix.cost}), re-verified for: {fix.verified_goal}.")
    if status == "tight fit":
        return _tight_summary(now, settings)
    reason = "" if status in _NO_PURCHASE else no_card_reason(rig)
    no_card = reason and not any(p.items and p.items[0].kind == "gpu" for p in plans)
    if no_card:
        # the real reason comes first, and no "no card in the catalog is big enough"
        need = now.after.total_gib
        text = reason + (f" The goal needs {need:.1f} GiB of GPU memory." if need else "")
        if plans:
            text += " " + _purchase_summary(status, now, plans, budget, rig, closest_gib, view)
    else:
        text = _purchase_summary(status, now, plans, budget, rig, closest_gib, view)
        if reason:
            text = f"{reason} {text}"
    first = plans[0] if plans else None
    if first is not None and first.viable and not first.ready_to_buy:
        text += (" Not ready to buy until you check: "
                 + "; ".join(c.name for c in first.risks) + ".")
    return text


def no_card_reason(rig: RigState) -> str:
    """Why no graphics card can be bought for this PC (or only an external one), said first
    in a plan; "" for a desktop or server that takes one."""
    if rig.form == "vm":
        return ("This is a virtual machine: no card can be added to it. Its GPU, RAM and vCPUs "
                "come with the instance, so the answer is a bigger instance or another cloud "
                "offer, not a purchase.")
    if rig.laptop and rig.thunderbolt is False:
        return ("This is a laptop: its GPU is soldered to the board and cannot be swapped, and "
                "without Thunderbolt/USB4 no external GPU can be attached. What helps is a "
                "setting, more RAM where it is not soldered, or renting.")
    if rig.laptop:
        return ("This is a laptop: its GPU cannot be swapped; a card can only be attached "
                "outside, in an enclosure on a Thunderbolt/USB4 port.")
    if rig.form == "unknown":
        return ("The form factor is unknown (desktop or laptop?), so no graphics card was "
                "offered: if this is a desktop, say so (plan --form-factor desktop) to see the "
                "cards that would reach the goal.")
    return ""


def _tight_summary(now: Plan, settings: tuple[SettingFix, ...]) -> str:
    """A fit inside the estimate's error band: what margin, and what would give room."""
    a = now.after
    room = a.free_gib if a.free_gib is not None else a.vram_gib
    margin = (f": it needs {a.sizes}, only {room - a.total_gib:.1f} GiB to spare, inside the "
              "estimate's measured error band, so it may run out of memory"
              if a.total_gib and room else "")
    text = f"Fits tightly on this PC as it is{margin}."
    if settings:
        fix = settings[0]
        return (text + f" For room, free: {fix.change} ({fix.sizes}, "
                f"{verdict_text(fix.verdict)}; {fix.cost}).")
    return text + (" No setting change gives it room on this GPU; a shorter sequence, a "
                   "smaller batch or a GPU with more memory would.")


def _purchase_summary(status: PlanStatus, now: Plan, plans: tuple[Plan, ...],
                      budget: float | None, rig: RigState,
                      closest_gib: float | None = None,
                      view: PriceView | None = None) -> str:
    money = view_or_usd(view).money
    a = now.after
    if status == "no upgrade needed":
        need = f" ({a.sizes})" if a.sizes else ""
        return f"No upgrade needed: this PC already reaches the goal{need}{_split_note(rig, a)}."
    first = plans[0] if plans else None
    if status == "ok" and first is not None:
        best = next(p for p in plans if "best within budget" in p.labels)
        text = (f"The cheapest plan that reaches the goal is {first.title} "
                f"({money(first.total_usd)}).")
        if best is not first:
            text += f" Best within your budget: {best.title} ({money(best.total_usd)})."
        return text
    if status == "nothing within budget" and first is not None:
        return (f"Nothing within your ${budget or 0:,.0f} budget reaches the goal. The nearest "
                f"plan is {first.title} at {money(first.total_usd)}, "
                f"{money(first.over_budget_usd)} over.")
    if status == "blocked" and first is not None:
        fail = first.checks_with("fail")
        reason = fail[0].detail if fail else "a check failed"
        return f"No upgrade of this PC reaches the goal: {reason}."
    largest = max((p.after.vram_gib or 0.0 for p in plans), default=closest_gib or 0.0)
    needed = a.total_gib
    # with the form factor unknown no card was offered at all: "no upgrade in the catalog" would
    # read as "no card is big enough"
    text = ("No upgrade offered reaches the goal" if rig.form == "unknown"
            else "No single-GPU upgrade in the catalog reaches the goal")
    if needed:
        text += f" (it needs {needed:.1f} GiB" + (
            (f"; this PC's GPU has {largest:.0f} GiB)" if rig.form == "unknown" else
             f"; the most GPU memory this PC can be given is {largest:.0f} GiB)") if largest
            else "; this PC has no GPU)" if rig.gpu is None else ")")
    return text + ("." if plans else ", so no purchase is offered: buying parts would not make "
                   "this PC do it.")


def _split_note(rig: RigState, after: After) -> str:
    """What it costs when the goal fits only by splitting the model over this PC's GPUs (the
    scoring says the same of the task)."""
    sizes = rig.gpu_pool
    if not sizes or after.vram_gib is None or after.vram_gib <= max(sizes):
        return ""
    link = rig.score.interconnect
    cost = ("NVLink keeps the exchange cheap" if link == "nvlink" else
            "without NVLink each step waits on PCIe, so expect it noticeably slower"
            if link == "pcie" else "how they are linked was not read")
    return f", with the model split across its {len(sizes)} GPUs ({cost})"


def _assumptions(goal: Goal, rig: RigState, facts: RigFacts,
                 buying: bool = True) -> tuple[str, ...]:
    out: list[str] = []
    # PSU and case facts matter only for a card going inside this PC
    swap = buying and rig.takes_internal_gpu
    if swap and facts.psu_watts is None:
        out.append("PSU unknown: assumed big enough for each plan (each states the watts it "
                   "needs) — check it")
    if facts.psu_connectors is None and swap:
        out.append("PSU connectors unknown: assumed the card can be plugged in — check them")
    if facts.clearance_mm is None and swap:
        out.append("Case GPU clearance unknown: card length not checked — measure it")
    if facts.kwh_price is None:
        out.append(f"Electricity price unknown: assumed {DEFAULT_KWH_PRICE:g} USD/kWh")
    if facts.hours_per_week is None:
        out.append(f"Hours of use per week unknown: assumed {DEFAULT_HOURS_PER_WEEK:g} h")
    if rig.cpu_entry is None and swap:
        out.append(f"CPU power unknown ({rig.cpu_name or 'CPU'} not in the catalog): assumed "
                   f"{ASSUMED_CPU_W:.0f} W for PSU sizing — PSU checks stay unverified")
    if isinstance(goal, WorkloadGoal):
        if goal.workload.training and goal.dataset_tokens is None:
            out.append(f"Run size not given: one run is assumed to be {goal.run_tokens / 1e6:g} M "
                       f"tokens x {goal.epochs:g} epoch")
        if not goal.workload.training and goal.dataset_tokens is None:
            out.append(f"Inference cost is for {goal.queries:,} queries of "
                       f"{goal.workload.seq_len:,} prompt + {goal.workload.new_tokens:,} "
                       f"new tokens, batch {goal.workload.batch} (a server that batches "
                       "requests costs less)")
    out.append(f"Buy versus rent is weighed over {HORIZON_WEEKS / 52:g} years of use, "
               "without resale value")
    return tuple(out)
