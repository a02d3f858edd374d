"""A plan result as JSON (``rigready plan --json``) and as a Markdown shopping list."""

from __future__ import annotations

from typing import Any

from rigready.assess.plan.facts import facts_to_dict
from rigready.assess.plan.parts import LineItem
from rigready.assess.plan.rent import RentOffer
from rigready.assess.plan.result import After, Plan, PlanResult, RentSummary
from rigready.catalog.money import PriceView, view_or_usd
from rigready.catalog.prices import KIND_WORDS, Price, as_of

STATUS_MARK = {"pass": "PASS", "fail": "FAIL", "unverified": "CHECK"}


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def rent_notes(rent: RentSummary, view: PriceView) -> list[str]:
    """The rent side's notes, with the spot offer (when cheaper) priced as every other price:
    its date and, past the catalog's cloud limit, the age warning."""
    notes = list(rent.reasons)
    if rent.spot_cheaper and rent.spot is not None:
        notes.append(f"a spot instance costs less: {rent.spot.name} at "
                     f"{view.describe(rent.spot.price, per_hour=True)}; the provider can stop "
                     "it mid-run, so save checkpoints often")
    return notes


def after_to_dict(after: After) -> dict[str, Any]:
    """The goal re-checked, as JSON."""
    return {"verdict": after.verdict, "reached": after.reached,
            "total_gib": _r(after.total_gib, 3), "vram_gib": _r(after.vram_gib, 3),
            "free_gib": _r(after.free_gib, 3),
            "gpu": after.gpu_name, "ram_gib": _r(after.ram_gib, 1),
            "tokens_per_s": _r(after.tokens_per_s, 1), "run_hours": _r(after.run_hours, 3),
            "query_seconds": _r(after.query_seconds, 3), "load_w": _r(after.load_w, 0),
            "reasons": list(after.reasons)}


def price_to_dict(price: Price, view: PriceView, per_hour: bool = False) -> dict[str, Any]:
    """How old a price is and what it is, as JSON keys beside the figure."""
    return {"price_kind": price.kind, "your_price": price.yours,
            "price_as_of": as_of(price.date), "price_warning": view.warning(price) or None,
            "price_shown": view.money(price.usd, per_hour)}


def _item_dict(i: LineItem, view: PriceView) -> dict[str, Any]:
    return {"kind": i.kind, "id": i.catalog_id, "name": i.name, "price_usd": i.price_usd,
            "quantity": i.quantity,
            "price_date": i.price_date.isoformat() if i.price_date else None,
            "price_source": i.price_source, **price_to_dict(i.price, view), "note": i.note}


def plan_to_dict(plan: Plan, view: PriceView | None = None) -> dict[str, Any]:
    """One plan as JSON (the keys of issue 5 plus a few more)."""
    shown = view_or_usd(view)
    return {
        "title": plan.title, "labels": list(plan.labels),
        "items": [_item_dict(i, shown) for i in plan.items],
        "total_usd": plan.total_usd, "within_budget": plan.within_budget,
        "over_budget_usd": plan.over_budget_usd, "viable": plan.viable,
        "after": after_to_dict(plan.after),
        "checks": [{"name": c.name, "status": c.status, "detail": c.detail}
                   for c in plan.checks],
        "electricity_usd_per_hour": _r(plan.local_usd_per_hour, 4),
        "run_electricity_usd": _r(plan.run_cost_usd),
        "per_million_queries_usd": _r(plan.per_million_queries_usd),
        "break_even_hours": _r(plan.break_even_hours, 0),
        "reasons": list(plan.reasons),
        "ready_to_buy": plan.ready_to_buy,
        "risks": [{"name": c.name, "detail": c.detail} for c in plan.risks],
        "verified_goal": plan.verified_goal,
    }


def _offer_dict(offer: RentOffer | None, view: PriceView) -> dict[str, Any] | None:
    if offer is None:
        return None
    return {"offer": offer.name, "offer_id": offer.offer_id, "gpu": offer.gpu_name,
            "gpu_count": offer.gpu_count, "usd_per_hour": offer.usd_per_hour, "spot": offer.spot,
            "price_date": offer.price_date.isoformat(), "price_source": offer.price_source,
            **price_to_dict(offer.price, view, per_hour=True),
            "verdict": offer.outcome.verdict, "hours": _r(offer.run_hours, 3),
            "cost_usd": _r(offer.run_cost_usd),
            "per_million_queries_usd": _r(offer.per_million_queries_usd)}


def result_to_dict(result: PlanResult, view: PriceView | None = None) -> dict[str, Any]:
    """The whole result as JSON; ``view`` dates the prices (today, USD when omitted)."""
    shown = view_or_usd(view)
    rent = result.rent
    offer = _offer_dict(rent.offer, shown) or {"offer": None, "usd_per_hour": None, "hours": None,
                                        "cost_usd": None}
    offer.update({
        "break_even_hours": _r(rent.break_even_hours, 0),
        "break_even": [{"plan": p.title, "hours": _r(p.break_even_hours, 0)}
                       for p in result.plans if p.items],
        "spot": _offer_dict(rent.spot, shown), "recommendation": rent.advice.choice,
        "advice": rent.advice.text, "reasons": rent_notes(rent, shown),
        "priced_for": rent.verified_goal or None,
    })
    return {
        "goal": result.goal_label, "status": result.status, "summary": result.summary,
        "budget_usd": result.budget_usd, "now": after_to_dict(result.now),
        "plans": [plan_to_dict(p, shown) for p in result.plans], "rent": offer,
        "assumptions": list(result.assumptions), "facts": facts_to_dict(result.facts),
        "reasons": list(result.reasons), "considered": result.considered,
        "settings": [{"change": f.change, "verdict": f.verdict, "reaches_goal": f.reached,
                      "total_gib": round(f.need_gib, 2), "vram_gib": round(f.vram_gib, 2),
                      "free_gib": None if f.free_gib is None else round(f.free_gib, 2),
                      "cost": f.cost, "verified_goal": f.verified_goal}
                     for f in result.settings],
        "prices": {"today": shown.today.isoformat(), "currency": shown.currency,
                   "exchange_rate": None if shown.rate is None else {
                       "usd_per_unit": shown.rate.usd_per_unit,
                       "rate_date": shown.rate.rate_date.isoformat(),
                       "source": shown.rate.source},
                   "notes": shown.notes()},
    }



def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def shopping_list_markdown(result: PlanResult, generated: str = "",
                           view: PriceView | None = None) -> str:
    """The plans as a Markdown shopping list: parts with dated prices, checks, buy or rent.

    Args:
        result: the planner's answer.
        generated: an optional line saying when and for which PC the list was made.
        view: today's date and the user's currency (today, USD when omitted).
    """
    shown = view_or_usd(view)
    out = [f"# Upgrade shopping list: {result.goal_label}", ""]
    if generated:
        out += [generated, ""]
    out += [result.summary, ""]
    if result.budget_usd is not None:
        out += [f"Budget: ${result.budget_usd:,.2f}", ""]
    for n, plan in enumerate(result.plans, 1):
        labels = ", ".join(plan.labels)
        out += [f"## Plan {n}: {plan.title}" + (f" ({labels})" if labels else ""), ""]
        if plan.items:
            out += ["| Part | Kind | Price | As of | Source |", "|---|---|---:|---|---|"]
            for i in plan.items:
                note = f" — {i.note}" if i.note else ""
                warn = shown.warning(i.price)
                when = as_of(i.price_date) + (f" ({KIND_WORDS.get(i.price_kind, i.price_kind)})"
                                              if i.price_kind != "street" else "")
                when += f" ⚠ {warn}" if warn else ""
                out.append(f"| {_cell(i.name + note)} | {i.kind} | {shown.money(i.price_usd)} "
                           f"| {_cell(when)} | {_cell(i.price_source)} |")
            out.append(f"| **Total** | | **{shown.money(plan.total_usd)}** | | |")
        else:
            out.append("Nothing to buy.")
        if plan.over_budget_usd:
            out.append(f"\nOver budget by {shown.money(plan.over_budget_usd)}.")
        a = plan.after
        need = f"{a.total_gib:.1f} GiB needed" if a.total_gib is not None else ""
        have = f"{a.vram_gib:.1f} GiB on {a.gpu_name}" if a.vram_gib is not None else "no GPU"
        sizes = ", ".join(x for x in (need, have) if x)
        out += ["", f"After the upgrade: **{a.verdict}** ({sizes})"]
        if a.tokens_per_s is not None:
            out.append(f"- speed: {a.tokens_per_s:,.0f} tokens/s")
        if a.run_hours is not None:
            out.append(f"- one run: {a.run_hours:,.1f} h, "
                       f"{shown.money_or_unknown(plan.run_cost_usd)} of electricity")
        if plan.per_million_queries_usd is not None:
            out.append("- 1,000,000 queries: "
                       f"{shown.money_or_unknown(plan.per_million_queries_usd)} of electricity")
        if plan.break_even_hours is not None:
            out.append(f"- buying beats renting after {plan.break_even_hours:,.0f} h of use")
        if plan.checks:
            out += ["", "Checks:", ""]
            out += [f"- [{'x' if c.status == 'pass' else ' '}] **{STATUS_MARK[c.status]}** "
                    f"{c.name}: {c.detail}" for c in plan.checks]
        out.append("")
    out += ["## Buy or rent", "", result.rent.advice.text, ""]
    offer = result.rent.offer
    if offer is not None:
        out.append(f"- cheapest cloud offer that fits: {offer.name}, "
                   f"{shown.describe(offer.price, per_hour=True)}; {offer.price_source}")
        if offer.run_hours is not None:
            out.append(f"- one run there: {offer.run_hours:,.1f} h, "
                       f"{shown.money_or_unknown(offer.run_cost_usd)}")
        if offer.per_million_queries_usd is not None:
            out.append("- 1,000,000 queries there: "
                       f"{shown.money_or_unknown(offer.per_million_queries_usd)}")
    out += [f"- {r}" for r in rent_notes(result.rent, shown)]
    if result.assumptions:
        out += ["", "## Assumptions", ""] + [f"- {a}" for a in result.assumptions]
    out += ["", *shown.notes(), f"Each price shows the date it was seen (today is "
            f"{shown.today.isoformat()}); a price older than the catalog's limit is marked ⚠. "
            "Check current prices before buying.", ""]
    return "\n".join(out)
