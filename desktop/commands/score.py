"""``rigready score``: the tier ladder, the 0-100 readiness score and a verdict per AI task."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from rigready.assess.score import COMPONENT_NAMES, Readiness
from rigready.assess.score_tasks import VERDICTS
from rigready.catalog import Catalog, default_catalog
from rigready.desktop.commands.common import add_profile_argument, load_rig, print_json
from rigready.desktop.commands.tables import render_table
from rigready.desktop.usecases.readiness import assess


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``score`` subcommand."""
    parser = subparsers.add_parser(
        "score", help="AI-readiness: tier, score and a verdict per AI task",
        description="Rate this PC (or a saved profile) against the catalog's hardware tiers, give "
        "a 0-100 AI-readiness score, and say for each AI task whether it is ready, limited, not "
        "ready or unknown, why, and the smallest change that would make it ready.",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-bench", action="store_true",
                        help="ignore saved benchmark results (use catalog figures only)")
    add_profile_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    profile = load_rig(args)
    cat = default_catalog()
    result, view = assess(profile, cat, bench=not args.no_bench)
    if args.json:
        print_json(readiness_to_dict(result))
    else:
        where = "this PC" if profile.origin == "detected" else profile.origin
        print(render_readiness(result, cat, where))
        if view.notes() and any("$" in t.fix for t in result.tasks):  # a price was shown
            print("\n" + "\n".join(view.notes()))
    return 0


def _tier_key(result: Readiness) -> str | None:
    if result.overall_rank is None:
        return None
    return result.overall_tier_id or "below-entry"


def readiness_to_dict(result: Readiness) -> dict[str, Any]:
    """The JSON form: ``overall_tier`` (a tier id, ``below-entry``, or null when unknown),
    ``score``, ``components`` and ``tasks`` (``task``, ``verdict``, ``reason``, ``fix``)."""
    return {
        "overall_tier": _tier_key(result),
        "overall_rank": result.overall_rank,
        "overall_tier_name": result.overall_tier_name,
        "score": result.score,
        "weakest": list(result.weakest),
        "lift": result.lift,
        "components": {
            c.component: {"tier": c.tier_id or ("below-entry" if c.rank == 0 else None),
                          "rank": c.rank, "tier_name": c.tier_name, "summary": c.summary,
                          "lift": c.lift, "reasons": list(c.reasons)}
            for c in result.components
        },
        "score_parts": [{"name": p.name, "points": p.points, "max_points": p.max_points,
                         "detail": p.detail} for p in result.score_parts],
        "tasks": [{"task": t.task_id, "name": t.task, "verdict": t.verdict, "reason": t.reason,
                   "fix": t.fix, "blocked_by": list(t.blocking), "slowed_by": list(t.slowing),
                   "checks": [{"component": c.component, "verdict": c.verdict,
                               "effect": c.effect or None, "reason": c.reason}
                              for c in t.checks]}
                  for t in result.tasks],
        "gpu_matches": [{"detected": m.gpu.name, "entry": m.entry.id if m.entry else None,
                         "confidence": m.confidence, "reason": m.reason}
                        for m in result.matches],
        "reasons": list(result.reasons),
    }


def render_readiness(result: Readiness, cat: Catalog, where: str) -> str:
    """The readable report: ladder, components, score terms, tasks, notes."""
    out = [f"rigready readiness ({where})", ""]
    out.append(f"Score {result.score}/100    Overall tier: {result.overall_text()}")
    if result.weakest:
        names = ", ".join(COMPONENT_NAMES[c] for c in result.weakest)
        out.append(f"Weakest link: {names}" + (f" -> {result.lift}" if result.lift else ""))
    out.append("\nTier ladder")
    ranks = {c.component: c.rank for c in result.components}
    for tier in sorted(cat.tiers, key=lambda t: -t.rank):
        here = [COMPONENT_NAMES[k] for k, r in ranks.items() if r == tier.rank]
        mark = ">" if tier.rank == result.overall_rank else " "
        note = "   <- this PC" if tier.rank == result.overall_rank else ""
        if here:
            note += f"   ({', '.join(here)})"
        out.append(f" {mark} {tier.rank} {tier.name}{note}")
    below = [COMPONENT_NAMES[k] for k, r in ranks.items() if r == 0]
    mark = ">" if result.overall_rank == 0 else " "
    out.append(f" {mark} 0 below entry" + ("   <- this PC" if result.overall_rank == 0 else "")
               + (f"   ({', '.join(below)})" if below else ""))
    out.append("\nComponents")
    width = max(len(c.tier_name) for c in result.components)
    for c in result.components:
        out.append(f"  {COMPONENT_NAMES[c.component]:<8} {c.tier_name:<{width}}  {c.summary}")
        if c.lift:
            out.append(f"  {'':<8} to lift it: {c.lift}")
    out.append("\nScore")
    out.append(render_table(
        ["part", "points", "from"],
        [[p.name, f"{p.points:.1f} / {p.max_points:g}", p.detail] for p in result.score_parts],
        right=(1,), indent="  "))
    if result.matches:
        out.append("\nGPU match")
        for m in result.matches:
            target = m.entry.id if m.entry else "no entry"
            out.append(f"  [{m.gpu.index}] {m.gpu.name} -> {target} ({m.confidence}): {m.reason}")
    counts = Counter(t.verdict for t in result.tasks)
    out.append("\nAI tasks (" + ", ".join(f"{counts[v]} {v}" for v in VERDICTS) + ")")
    for verdict in VERDICTS:
        for task in result.tasks:
            if task.verdict != verdict:
                continue
            out.append(f"  {verdict:<10} {task.task}")
            if verdict != "ready":
                out.append(f"  {'':<10}   why: {task.reason}")
                if task.slowing and verdict == "limited":
                    out.append(f"  {'':<10}   runs, slower because of: "
                               + ", ".join(dict.fromkeys(task.slowing)))
                if task.fix:
                    out.append(f"  {'':<10}   fix: {task.fix}")
    if result.reasons:
        out.append("\nNotes")
        out.extend(f"  * {r}" for r in result.reasons)
    return "\n".join(out)
