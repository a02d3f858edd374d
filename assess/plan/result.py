"""What planning returns: plans with line items, checks and the goal re-checked, and buy vs rent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rigready.assess.plan.checks import NOT_BLOCKING, Check
from rigready.assess.plan.facts import RigFacts
from rigready.assess.plan.parts import LineItem
from rigready.assess.plan.rent import Advice, RentOffer
from rigready.assess.plan.settings import SettingFix

# re-exported: callers import the verdict words from here
from rigready.assess.plan.verdicts import VERDICT_TEXT as VERDICT_TEXT
from rigready.assess.plan.verdicts import need_words
from rigready.assess.plan.verdicts import verdict_text as verdict_text

PlanStatus = Literal["no upgrade needed", "tight fit", "a setting reaches the goal", "ok",
                     "nothing within budget", "no plan reaches the goal", "blocked"]


@dataclass(frozen=True, slots=True)
class After:
    """The goal re-checked on the PC as a plan leaves it."""

    #: fits/tight/offload/no (workloads), ready/not ready (tiers, tasks), "no GPU".
    verdict: str
    #: Whether GPU, RAM, disk and CPU all meet the goal.
    reached: bool
    #: GPU memory the goal needs, GiB.
    total_gib: float | None
    vram_gib: float | None
    gpu_name: str | None
    ram_gib: float | None
    tokens_per_s: float | None
    run_hours: float | None
    #: Inference: seconds per query.
    query_seconds: float | None
    #: Watts the PC draws while working (None: unknown).
    load_w: float | None
    reasons: tuple[str, ...]
    #: GPU memory free for the job (the card less what the desktop keeps), GiB; None: all.
    free_gib: float | None = None

    @property
    def sizes(self) -> str:
        """``20.4 of 24.0 GiB`` (or ``... of the 23.0 GiB free (24 GiB card)``); "" unknown."""
        if self.total_gib is None or self.vram_gib is None:
            return ""
        return need_words(self.total_gib, self.vram_gib, self.free_gib)


@dataclass(frozen=True, slots=True)
class Plan:
    """One way to upgrade: what to buy, what it costs, whether it fits and what it reaches."""

    title: str
    #: Why it is shown: "cheapest", "best value", "best within budget", "nearest", ...
    labels: tuple[str, ...]
    items: tuple[LineItem, ...]
    after: After
    checks: tuple[Check, ...]
    budget_usd: float | None
    #: Electricity per hour of local work after the upgrade, USD.
    local_usd_per_hour: float | None
    #: Electricity for one run on the upgraded PC, USD.
    run_cost_usd: float | None
    #: Inference: electricity for 1,000,000 queries on the upgraded PC, USD.
    per_million_queries_usd: float | None
    #: Hours of use after which buying this plan beats renting (None: never or unknown).
    break_even_hours: float | None
    reasons: tuple[str, ...]
    #: The goal the plan was re-verified against, in words.
    verified_goal: str = ""

    @property
    def total_usd(self) -> float:
        """The sum of the line items."""
        return round(sum(i.price_usd for i in self.items), 2)

    @property
    def blocked(self) -> bool:
        """Whether a check failed (the plan cannot be built in this PC)."""
        return any(c.status == "fail" for c in self.checks)

    @property
    def viable(self) -> bool:
        """Reaches the goal and no check failed."""
        return self.after.reached and not self.blocked

    @property
    def within_budget(self) -> bool:
        """Whether the total is within the budget (True without a budget)."""
        return self.budget_usd is None or self.total_usd <= self.budget_usd + 1e-9

    @property
    def over_budget_usd(self) -> float:
        """How far over the budget the total is (0 when within)."""
        return 0.0 if self.within_budget else round(self.total_usd - (self.budget_usd or 0), 2)

    @property
    def risks(self) -> tuple[Check, ...]:
        """Checks that could not be verified and would stop the plan if false: measure first."""
        return tuple(c for c in self.checks
                     if c.status == "unverified" and c.name not in NOT_BLOCKING)

    @property
    def ready_to_buy(self) -> bool:
        """Reaches the goal, no check failed, and nothing that could stop it is unverified."""
        return self.viable and not self.risks

    def checks_with(self, status: str) -> tuple[Check, ...]:
        """The checks of one status."""
        return tuple(c for c in self.checks if c.status == status)


@dataclass(frozen=True, slots=True)
class RentSummary:
    """The rent side: the offer, its cost for one run, break-even and the advice."""

    offer: RentOffer | None
    spot: RentOffer | None
    #: Break-even of the plan the advice is about (None: no plan, never, or no offer).
    break_even_hours: float | None
    advice: Advice
    reasons: tuple[str, ...]
    #: The spot offer is cheaper by the hour and for the job, so worth a mention (its line is
    #: written where today's date is known, to date and age-check its price: ``rent_notes``).
    spot_cheaper: bool = False
    #: The job the offer is priced for (the same one the purchase plans are checked against).
    verified_goal: str = ""


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Everything the planner says for one goal, budget and set of facts."""

    goal_label: str
    status: PlanStatus
    #: One or two plain sentences.
    summary: str
    budget_usd: float | None
    now: After
    plans: tuple[Plan, ...]
    rent: RentSummary
    #: Unknown facts and the values assumed for them, each saying what to check.
    assumptions: tuple[str, ...]
    facts: RigFacts
    reasons: tuple[str, ...]
    #: How many configurations were weighed.
    considered: int
    #: Whether the goal is an inference workload (costs are then also per query).
    inference: bool = False
    #: Settings tried on the current GPU before any purchase, reaching ones first.
    settings: tuple[SettingFix, ...] = ()
    #: Why no card could be offered (a virtual machine, a laptop...), said first; "" for a PC
    #: that takes one.
    no_card_reason: str = ""

    @property
    def headline(self) -> str:
        """The answer's first sentence (the real reason first where no card can be added)."""
        text = self.summary
        cut = text.find(". ")
        return text if cut < 0 else text[:cut + 1]

    @property
    def weighed(self) -> str:
        """What was weighed, in words: ``53 configurations weighed``, or, where no card can
        be added, that only the PC as it is was."""
        if self.considered <= 1 and self.no_card_reason:
            return "only this PC as it is was weighed: " + self.no_card_reason.split(":")[0] + \
                (" takes no card" if "virtual machine" in self.no_card_reason else
                 " whose GPU cannot be swapped" if "laptop" in self.no_card_reason else "")
        return f"{self.considered} configuration{'s' if self.considered != 1 else ''} weighed"
