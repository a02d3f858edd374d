"""AI-readiness scoring: a tier per component and overall, a 0-100 score, a verdict per AI task.

All functions are pure: they read a :class:`~assess.hardware.RigProfile`, the catalog and optional
:class:`MeasuredPerformance`, and return frozen results carrying their reasons. The formula is
described in README.md, "How the readiness score works".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rigready.assess.bench.performance import MeasuredPerformance
from rigready.assess.hardware import RigProfile
from rigready.assess.match import GpuMatch
from rigready.assess.score_estimate import job_targets
from rigready.assess.score_facts import ScoreFacts, rig_facts
from rigready.assess.score_gpu_fix import fix_price_warnings
from rigready.assess.score_tasks import TaskVerdict, Verdict, task_verdicts
from rigready.assess.score_tiers import (
    COMPONENT_NAMES,
    COMPONENTS,
    Component,
    ComponentTier,
    component_tiers,
    overall_tier,
    rank_name,
    tier_by_rank,
)
from rigready.catalog import Catalog
from rigready.catalog.money import PriceView

#: (name, weight, fact, low, high): each part scores weight x clamp(log(x/low) / log(high/low)).
SCORE_PARTS: tuple[tuple[str, float, str, float, float], ...] = (
    ("GPU memory", 35.0, "GiB VRAM", 2.0, 80.0),
    ("GPU speed", 25.0, "TFLOPS 16-bit", 2.0, 1000.0),
    ("System RAM", 15.0, "GiB", 4.0, 256.0),
    ("CPU speed", 15.0, "GFLOP/s FP32", 50.0, 5000.0),
    ("Storage speed", 10.0, "MB/s read", 100.0, 7000.0),
)


@dataclass(frozen=True, slots=True)
class ScorePart:
    """One term of the readiness score."""

    name: str
    points: float
    max_points: float
    detail: str


@dataclass(frozen=True, slots=True)
class Readiness:
    """The whole assessment of one PC."""

    overall_rank: int | None
    overall_tier_id: str | None
    overall_tier_name: str
    #: Components at the overall tier (the weakest links).
    weakest: tuple[Component, ...]
    lift: str
    score: int
    score_parts: tuple[ScorePart, ...]
    components: tuple[ComponentTier, ...]
    tasks: tuple[TaskVerdict, ...]
    matches: tuple[GpuMatch, ...]
    facts: ScoreFacts
    reasons: tuple[str, ...]
    #: The age warning of each old price the fixes name, each said once.
    price_warnings: tuple[str, ...] = ()

    def overall_text(self) -> str:
        """The overall tier as a headline can state it: with a component unknown the tier is
        only an upper bound ("at most ..., GPU unknown"), since that component may be lower."""
        unknown = [COMPONENT_NAMES[c.component] for c in self.components if c.rank is None]
        if not unknown or not self.overall_rank:  # unknown overall, or already the lowest
            return self.overall_tier_name
        return f"at most {self.overall_tier_name} ({', '.join(unknown)} unknown)"

    def component(self, name: Component) -> ComponentTier:
        """The tier of one component."""
        return next(c for c in self.components if c.component == name)

    def verdicts(self, verdict: Verdict) -> tuple[TaskVerdict, ...]:
        """The tasks with a given verdict."""
        return tuple(t for t in self.tasks if t.verdict == verdict)


def assess_readiness(
    profile: RigProfile, catalog: Catalog, measured: MeasuredPerformance | None = None,
    view: PriceView | None = None,
) -> Readiness:
    """Score a PC: component tiers, overall tier and weakest link, score, task verdicts.

    ``view`` shows the prices in the fixes (the user's currency beside USD); USD when omitted.
    """
    facts = rig_facts(profile, catalog, measured)
    components = component_tiers(facts, catalog)
    rank, weakest, lift, reasons = overall_tier(components)
    tier = tier_by_rank(catalog, rank)
    parts = score_parts(facts)
    tasks = task_verdicts(facts, catalog, view, job_targets(profile, catalog))
    # the GPU memory each priced fix names (a job's from the estimator's figure, another
    # task's from its recommended VRAM): the age of each price they name is said once
    priced = [c.fix_need_gib for t in tasks for c in t.checks
              if c.fix and c.fix_need_gib is not None]
    return Readiness(
        overall_rank=rank,
        overall_tier_id=tier.id if tier else None,
        overall_tier_name=rank_name(catalog, rank),
        weakest=weakest,
        lift=lift,
        score=round(sum(p.points for p in parts)),
        score_parts=parts,
        components=components,
        tasks=tasks,
        matches=facts.matches,
        facts=facts,
        reasons=(*reasons, *weakness_impact(weakest, tasks), *facts.notes),
        price_warnings=fix_price_warnings(facts, catalog, priced, view),
    )


#: Which task checks each component of the tier ladder decides.
_CHECKS_OF: dict[Component, tuple[str, ...]] = {
    "gpu": ("GPU", "GPU link"), "cpu": ("CPU",), "ram": ("RAM",),
    "storage": ("Disk space", "Disk speed"),
}


def weakness_impact(weakest: tuple[Component, ...],
                    tasks: tuple[TaskVerdict, ...]) -> tuple[str, ...]:
    """For each weakest link, how many tasks it stops and how many it only slows."""
    out = []
    for component in weakest:
        names = _CHECKS_OF[component]
        blocks = [t for t in tasks if any(c in names for c in t.blocking)]
        slows = [t for t in tasks if t not in blocks and any(c in names for c in t.slowing)]
        text = (f"the {COMPONENT_NAMES[component]} stops {len(blocks)} of {len(tasks)} tasks "
                f"and only slows {len(slows)}")
        if slows and not blocks:
            text += " (they run, slower: see each task's reason)"
        out.append(text)
    return tuple(out)


def _part(value: float | None, low: float, high: float) -> float:
    if value is None or value <= low:
        return 0.0
    return min(1.0, math.log(value / low) / math.log(high / low))


def score_parts(facts: ScoreFacts) -> tuple[ScorePart, ...]:
    """The terms of the 0-100 readiness score (see README.md for the formula)."""
    values = (
        facts.vram_gib if facts.has_gpu else None,
        facts.gpu_half_tflops if facts.has_gpu else None,
        facts.ram_gib,
        facts.cpu_gflops,
        facts.storage_read_mb_s,
    )
    parts = []
    for (name, weight, unit, low, high), value in zip(SCORE_PARTS, values, strict=True):
        points = weight * _part(value, low, high)
        detail = (f"{value:,.1f} {unit}" if value is not None
                  else ("no discrete GPU" if name.startswith("GPU") and not facts.has_gpu
                        else "unknown, counted as 0"))
        parts.append(ScorePart(name, round(points, 2), weight, detail))
    return tuple(parts)


__all__ = [
    "COMPONENTS",
    "COMPONENT_NAMES",
    "SCORE_PARTS",
    "ComponentTier",
    "MeasuredPerformance",
    "Readiness",
    "ScoreFacts",
    "ScorePart",
    "TaskVerdict",
    "assess_readiness",
    "component_tiers",
    "overall_tier",
    "rig_facts",
    "score_parts",
    "task_verdicts",
]
