"""``rigready plan``: what to buy (or rent) to run, fine-tune or train a model, or reach a tier."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import math
from pathlib import Path

from rigready.assess.estimate import EstimateError, resolve_model
from rigready.assess.estimate.inputs import IMAGE_RUNTIMES
from rigready.assess.plan import (
    FactsError,
    Goal,
    PlanError,
    PlanResult,
    RigFacts,
    TierGoal,
    WorkloadGoal,
    format_connectors,
    load_facts,
    parse_connectors,
    plan_upgrades,
    result_to_dict,
    shopping_list_markdown,
    task_goal,
)
from rigready.assess.plan.export import rent_notes
from rigready.assess.plan.facts import check_number
from rigready.assess.plan.live import online_enabled, with_live_offers
from rigready.assess.plan.result import verdict_text
from rigready.assess.plan.verdicts import gpu_words
from rigready.catalog import Catalog, default_catalog
from rigready.catalog.money import PriceView, view_or_usd
from rigready.catalog.userfiles import output_target, path_exists, write_user_file
from rigready.desktop.commands.common import (
    add_gpu_memory_arguments,
    add_profile_argument,
    load_rig,
    output_file,
    print_json,
)
from rigready.desktop.commands.estimate import (
    add_run_arguments,
    add_workload_arguments,
    workload_from_args,
)
from rigready.desktop.defaults import DEFAULT_BUDGET_USD, DEFAULT_IMAGE_RUNTIME
from rigready.desktop.usecases.errors import UsageError


def _inputs(args: argparse.Namespace) -> tuple[Path | None, ...]:
    """The files this command reads, which an output must never replace."""
    model = Path(args.model) if args.model and path_exists(args.model) else None
    return (args.profile, args.facts, model)


_MARK = {"pass": "pass", "fail": "FAIL", "unverified": "check"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` subcommand."""
    p = subparsers.add_parser(
        "plan", help="priced upgrade plans for a goal, their compatibility, and buy versus rent",
        description="Rank upgrades (GPU, RAM, drive, PSU, CPU) that reach a goal within a "
        "budget, check that they fit this PC, re-check the goal with the estimator, and compare "
        "with renting a cloud GPU. The goal is MODEL with estimator options (as for 'rigready "
        "estimate'), or --tier ID, or --task ID. Facts no probe can read (PSU, case, "
        "electricity, hours of use) come from the flags below or --facts FILE; unknown ones are "
        "stated as assumptions and their checks stay 'unverified'.")
    p.add_argument("model", metavar="MODEL", nargs="?",
                   help="a catalog name, a Hugging Face id (config.json only), a "
                   "config.json path or a parameter count such as 7B")
    goal = p.add_mutually_exclusive_group()
    goal.add_argument("--tier", metavar="ID", help="reach a hardware tier (entry, mid, ...)")
    goal.add_argument("--task", metavar="ID", help="be ready for an AI task of the catalog")
    add_workload_arguments(p)
    add_run_arguments(p)
    p.add_argument("--runtime", choices=IMAGE_RUNTIMES,
                   help="image generation: comfyui (ComfyUI / Forge-class apps: every part on "
                   "the GPU while it fits, tiled VAE decode and models loaded as needed when "
                   f"short; the default: {DEFAULT_IMAGE_RUNTIME}) or diffusers (a plain "
                   "pipeline, every part on the GPU)")
    p.add_argument("--queries", type=int, default=1_000_000,
                   help="inference: queries to price (default 1,000,000)")
    p.add_argument("--budget", metavar="USD", type=float, default=DEFAULT_BUDGET_USD,
                   help=f"the most you want to spend (default {DEFAULT_BUDGET_USD:,.0f}, "
                   "as in the Upgrade wizard)")
    add_profile_argument(p)
    add_gpu_memory_arguments(p)
    p.add_argument("--form-factor", choices=("desktop", "laptop", "server", "vm"),
                   help="what this machine is, when detection could not tell (only a desktop "
                   "or server is offered a card to install)")
    facts = p.add_argument_group("facts rigready cannot detect (remembered by the window)")
    facts.add_argument("--psu-watts", metavar="W", type=float, help="your PSU's rating")
    facts.add_argument("--psu-connectors", metavar="LIST",
                       help="GPU plugs on your PSU, e.g. '2x8-pin' or '2x8-pin,12v-2x6' or none")
    facts.add_argument("--clearance-mm", metavar="MM", type=float,
                       help="the longest graphics card your case takes")
    facts.add_argument("--kwh-price", metavar="USD", type=float, help="electricity, USD/kWh")
    facts.add_argument("--hours-per-week", metavar="H", type=float,
                       help="hours a week you would use the GPU for this")
    facts.add_argument("--facts", metavar="FILE", type=Path,
                       help="a JSON file with psu_watts, psu_connectors, clearance_mm, "
                       "kwh_price, hours_per_week (flags win)")
    p.add_argument("--vendor", action="append", choices=("nvidia", "amd", "intel"),
                   help="only GPUs of this vendor (repeatable; default all)")
    p.add_argument("--markdown", metavar="FILE", type=output_file,
                   help="also write the plans as a Markdown shopping list")
    p.add_argument("--force", action="store_true",
                   help="with --markdown: replace FILE if it exists")
    p.add_argument("--json", action="store_true", help="print the plans as JSON")
    p.add_argument("--online", action="store_true",
                   help="also fetch live cloud GPU offers (Vast.ai; needs VAST_API_KEY; falls "
                   "back to the catalog's offers with a note)")
    p.set_defaults(func=_run)


def facts_from_args(args: argparse.Namespace) -> RigFacts:
    """The facts from ``--facts FILE`` overridden by the individual flags.

    Raises:
        UsageError: a bad file (naming file and field) or a bad flag value.
    """
    try:
        base = load_facts(args.facts) if args.facts is not None else RigFacts()
        values: dict[str, object] = {}
        for flag, field in (("psu_watts", "psu_watts"), ("clearance_mm", "clearance_mm"),
                            ("kwh_price", "kwh_price"), ("hours_per_week", "hours_per_week")):
            value = getattr(args, flag)
            if value is not None:
                values[field] = check_number(field, value, "--" + flag.replace("_", "-"))
        if args.psu_connectors is not None:
            values["psu_connectors"] = parse_connectors(args.psu_connectors, "--psu-connectors",
                                                        "")
    except FactsError as exc:
        raise UsageError(str(exc)) from None
    return base.merged(RigFacts(**values))  # type: ignore[arg-type]


def _pick(kind: str, wanted: str, ids: list[str]) -> None:
    if wanted not in ids:
        close = difflib.get_close_matches(wanted, ids, n=3, cutoff=0.5)
        hint = (f"; did you mean {', '.join(close)}?" if close
                else f" (choose from {', '.join(ids)})")
        raise UsageError(f"unknown {kind} {wanted!r}{hint}")


def goal_from_args(args: argparse.Namespace, cat: Catalog) -> Goal:
    """The goal the arguments describe (exactly one of MODEL, --tier, --task).

    Raises:
        UsageError: no goal or two goals, an unknown id, or a bad workload.
    """
    given = [x for x in (args.model, args.tier, args.task) if x]
    if len(given) != 1:
        raise UsageError("give exactly one goal: MODEL (with --method ...), --tier ID or "
                         "--task ID")
    if args.tier:
        _pick("tier", args.tier, [t.id for t in cat.tiers])
        return TierGoal(cat.tier(args.tier))
    if args.task:
        _pick("task", args.task, [t.id for t in cat.tasks])
        # a task the estimator judges is planned as that job (as Readiness and the wizard do)
        return task_goal(cat.task(args.task), cat)
    if args.queries <= 0:
        raise UsageError(f"--queries must be above zero, got {args.queries}")
    if args.epochs <= 0:
        raise UsageError(f"--epochs must be above zero, got {args.epochs:g}")
    if args.dataset_tokens is not None and args.dataset_tokens <= 0:
        raise UsageError(f"--dataset-tokens must be above zero, got {args.dataset_tokens}")
    workload = workload_from_args(args)
    try:
        workload.check()
        shape = resolve_model(args.model, cat.models)
    except EstimateError as exc:
        raise UsageError(str(exc)) from None
    name = next((m.name for m in cat.models if m.id == shape.name), None)
    return WorkloadGoal(shape, workload, dataset_tokens=args.dataset_tokens, epochs=args.epochs,
                        utilisation=args.utilisation, queries=args.queries, model_name=name)


def _run(args: argparse.Namespace) -> int:
    if not math.isfinite(args.budget) or args.budget < 0:
        raise UsageError(f"--budget must be zero or more, got {args.budget:g}")
    protect = _inputs(args)
    if args.markdown is not None:  # refused before planning, not after
        output_target(args.markdown, force=args.force, protect=protect)
    cat = default_catalog()
    goal = goal_from_args(args, cat)
    facts = facts_from_args(args)
    profile = load_rig(args)
    if args.form_factor:
        told = dataclasses.replace(profile.form_factor, kind=args.form_factor,
                                   sources={**profile.form_factor.sources, "kind": "user"})
        profile = dataclasses.replace(profile, form_factor=told)
    live_note = ""
    if args.online or online_enabled():
        cat, live_note = with_live_offers(cat)
    view = PriceView.from_catalog(cat)
    try:
        result = plan_upgrades(profile, goal, args.budget, facts, cat,
                               vendors=tuple(args.vendor) if args.vendor else None, view=view)
    except (PlanError, EstimateError) as exc:
        raise UsageError(str(exc)) from None
    if args.markdown is not None:
        write_user_file(args.markdown, shopping_list_markdown(result, view=view),
                        force=args.force, protect=protect)
    if args.json:
        data = result_to_dict(result, view)
        data["prices"]["live_offers"] = live_note or None
        print_json(data)
    else:
        print(render_plan(result, view))
        if live_note:
            print(f"\nLive cloud offers: {live_note}")
        if args.markdown is not None:
            print(f"\nShopping list written to {args.markdown}")
    return 0



def render_plan(result: PlanResult, view: PriceView | None = None) -> str:
    """The result as plain text: goal, now, plans with items and checks, buy or rent.

    Every price shows its kind and "as of DATE", with a warning when it is older than the
    catalog's limit; ``view`` sets today and the user's currency (today, USD when omitted).
    """
    shown = view_or_usd(view)
    now = result.now
    out = [result.summary, "", f"Goal: {result.goal_label}"]
    need = f"needs {now.total_gib:.1f} GiB of GPU memory" if now.total_gib is not None else ""
    have = gpu_words(now.gpu_name, now.vram_gib)
    state = have if now.verdict == "no GPU" else f"{have}: {verdict_text(now.verdict)}"
    out.append(f"This PC: {state}" + (f"; the goal {need}" if need else ""))
    if result.budget_usd is not None:
        out.append(f"Budget: ${result.budget_usd:,.2f}")

    if result.settings:
        out += ["", "Settings first (each re-verified on this PC's GPU)"]
        for fix in result.settings:
            out.append(f"  [{fix.mark:>5}] {fix.describe()}")
    warned: set[tuple[str, str]] = set()  # each old price is said once per answer
    for n, plan in enumerate(result.plans, 1):
        labels = ", ".join(plan.labels)
        over = f", {shown.money(plan.over_budget_usd)} over budget" if plan.over_budget_usd \
            else ""
        out += ["", f"Plan {n}: {plan.title} — {labels} ({shown.money(plan.total_usd)}{over})"]
        for i in plan.items:
            out.append(f"  {i.kind:<8}{i.name:<52} {shown.money(i.price_usd):>11}  "
                       f"{shown.label(i.price)}")
            warn = shown.warning(i.price)
            if warn and (i.name, warn) not in warned:
                warned.add((i.name, warn))
                out.append(f"  {'':<8}! price {warn}")
        a = plan.after
        sizes = a.sizes
        speed = f", {a.tokens_per_s:,.0f} tokens/s" if a.tokens_per_s else ""
        run = f", one run {a.run_hours:,.1f} h" if a.run_hours is not None and \
            not result.inference else ""
        out.append(f"  after: {verdict_text(a.verdict)}"
                   + (f" ({sizes}{speed}{run})" if sizes else ""))
        for c in plan.checks:
            out.append(f"  [{_MARK[c.status]:>5}] {c.name}: {c.detail}")
        if plan.viable and plan.items:  # "Your PC as it is" has nothing to buy
            out.append("  ready to buy" if plan.ready_to_buy else
                       "  not ready to buy: measure or check first: "
                       + ", ".join(c.name for c in plan.risks))
        if plan.verified_goal:
            out.append(f"  re-verified against: {plan.verified_goal}")
        if plan.break_even_hours is not None:
            out.append(f"  buying beats renting after {plan.break_even_hours:,.0f} h of use")
    out += ["", "Buy or rent"]
    offer = result.rent.offer
    if offer is None:
        out.append("  no cloud offer in the catalog fits this goal")
    else:
        out.append(f"  cheapest cloud offer that fits: {offer.name} at "
                   f"{shown.describe(offer.price, per_hour=True)}")
        unit = "1,000,000 queries" if result.inference else "one run"
        if offer.run_hours is not None:
            out.append(f"  {unit} there: {offer.run_hours:,.1f} h, "
                       f"{shown.money_or_unknown(offer.run_cost_usd)}")
        if result.rent.verified_goal:
            out.append(f"  priced for: {result.rent.verified_goal}")
    out.extend(f"  {r}" for r in rent_notes(result.rent, shown))
    out.append(f"  -> {result.rent.advice.text}")
    if result.reasons:
        out += ["", "Notes"] + [f"  - {r}" for r in result.reasons]
    if result.assumptions:
        out += ["", "Assumptions"] + [f"  - {a}" for a in result.assumptions]
    facts = result.facts
    psu = f"{facts.psu_watts:g} W" if facts.psu_watts is not None else "unknown"
    room = f"{facts.clearance_mm:g} mm" if facts.clearance_mm is not None else "unknown"
    out += ["", *shown.notes()] if shown.notes() else []
    out += ["", f"Facts used: PSU {psu}, connectors {format_connectors(facts.psu_connectors)}, "
            f"GPU clearance {room}, {facts.kwh:g} USD/kWh, {facts.hours:g} h a week"]
    return "\n".join(out)
