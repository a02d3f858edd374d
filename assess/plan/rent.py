"""Buy versus rent: the cheapest cloud offer that does the goal, and when buying pays off.

Break-even (research advisors.md §3, vettedconsumer method without resale):
``hours = purchase total / (cloud USD per hour - electricity USD per hour of local use)``, where
local use draws what the estimator counts (85% of board power + 100 W for the rest of the PC).
It treats an hour on the rented GPU as worth an hour on yours; when the rented GPU is faster for
this job the reasons say by how much (renting then needs fewer hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rigready.assess.estimate import EstimateError, gpu_from_entry
from rigready.assess.plan.goal import (
    Goal,
    GpuOutcome,
    WorkloadGoal,
    catalog_outcome,
    workload_outcome,
)
from rigready.catalog import Catalog, CloudOfferEntry
from rigready.catalog.money import PriceView, view_or_usd
from rigready.catalog.prices import Price, kind_of

#: Buying is compared with renting over this many weeks of use (two years; rigready's
#: assumption, stated in the advice).
HORIZON_WEEKS = 104.0
_PROVIDERS = {"aws": "AWS", "gcp": "Google Cloud", "azure": "Azure", "lambda": "Lambda",
              "runpod": "RunPod", "vast.ai": "Vast.ai"}


@dataclass(frozen=True, slots=True)
class RentOffer:
    """One cloud offer judged for the goal."""

    offer_id: str
    name: str
    gpu_name: str
    gpu_count: int
    usd_per_hour: float
    spot: bool
    price_date: date
    price_source: str
    outcome: GpuOutcome
    #: on-demand, spot or yours; "live" offers say so in their source.
    price_kind: str = "on-demand"

    @property
    def price(self) -> Price:
        """The hourly rate as a dated fact (cloud age limit)."""
        return Price(self.usd_per_hour, self.price_date, self.price_source, self.price_kind,
                     scope="cloud")

    @property
    def run_hours(self) -> float | None:
        """Hours for one run of the goal on this offer."""
        return self.outcome.run_hours

    @property
    def run_cost_usd(self) -> float | None:
        """The cost of one run (hours x price)."""
        hours = self.run_hours
        return None if hours is None else hours * self.usd_per_hour

    @property
    def per_million_queries_usd(self) -> float | None:
        """Inference: the cost of 1,000,000 queries at this offer's speed."""
        q = self.outcome.query_seconds
        return None if q is None else 1e6 * q / 3600.0 * self.usd_per_hour


def offer_name(offer: CloudOfferEntry) -> str:
    """``RunPod Community Cloud RTX 4090``."""
    return f"{_PROVIDERS.get(offer.provider, offer.provider)} {offer.instance}"


def judge_offer(goal: Goal, offer: CloudOfferEntry, catalog: Catalog) -> RentOffer | None:
    """The goal on one offer (None when its GPU is not in the catalog, or the estimator does
    not model the job on that many GPUs: an image model on a multi-GPU instance)."""
    try:
        entry = catalog.gpu(offer.gpu_id)
    except KeyError:
        return None
    target = gpu_from_entry(entry, drives_display=False)  # a cloud GPU drives no desktop
    if isinstance(goal, WorkloadGoal):
        try:
            outcome = workload_outcome(goal, target, gpus=offer.gpu_count)
        except EstimateError:
            return None
    else:
        outcome = catalog_outcome(goal, entry.vram_gib, entry.half_tflops, entry.name,
                                  entry.tgp_w, (entry.vram_gib,) * offer.gpu_count)
    return RentOffer(offer.id, offer_name(offer), entry.name, offer.gpu_count,
                     offer.usd_per_hour, offer.spot, offer.price_date, offer.price_source,
                     outcome, kind_of(offer))


def _cost_key(offer: RentOffer) -> tuple[float, float]:
    cost = offer.run_cost_usd
    return (cost if cost is not None else float("inf"), offer.usd_per_hour)


def cheapest_offers(goal: Goal, catalog: Catalog) -> tuple[RentOffer | None, RentOffer | None]:
    """The cheapest on-demand offer that reaches the goal, and the cheapest spot one.

    Cheapest means the lowest cost of one run where run time is known, else the lowest hourly
    price. On-demand leads: a spot instance can be taken away mid-run.
    """
    judged = [o for o in (judge_offer(goal, offer, catalog) for offer in catalog.cloud_offers)
              if o is not None and o.outcome.reached]
    demand = min((o for o in judged if not o.spot), key=_cost_key, default=None)
    spot = min((o for o in judged if o.spot), key=_cost_key, default=None)
    return demand, spot


def local_usd_per_hour(load_w: float | None, kwh: float) -> float | None:
    """Electricity cost of one hour of local work."""
    return None if load_w is None else load_w / 1000.0 * kwh


def rent_per_hour_here(offer: RentOffer, here: GpuOutcome) -> float:
    """What renting costs for the work one hour here does: the offer's price scaled by how much
    faster (or slower) it does the same run, so buying and renting price one job. The hourly
    price itself where either run time is unknown."""
    there = offer.run_hours if offer.run_hours else None
    local = here.run_hours
    if there is None or not local:
        there, local = offer.outcome.query_seconds, here.query_seconds
    if not there or not local:
        return offer.usd_per_hour
    return offer.usd_per_hour * there / local


def break_even_hours(purchase_usd: float, rent_usd_per_hour: float,
                     local_per_hour: float | None) -> float | None:
    """Hours of use after which buying costs less than renting (None: never).

    Args:
        purchase_usd: the plan's total.
        rent_usd_per_hour: the cloud offer's price.
        local_per_hour: electricity per hour of local use (None counts as zero).
    """
    margin = rent_usd_per_hour - (local_per_hour or 0.0)
    if margin <= 0:
        return None
    return purchase_usd / margin


@dataclass(frozen=True, slots=True)
class Advice:
    """The plain-words recommendation."""

    choice: str  # "buy", "rent", "use your PC", "neither"
    text: str


def advise(*, status: str, plan_title: str | None, purchase_usd: float | None,
           break_even: float | None, offer: RentOffer | None, hours_per_week: float,
           local_run_cost: float | None, why_no_plan: str = "",
           inference: bool = False, view: PriceView | None = None) -> Advice:
    """Buy, rent or use the PC as it is, in one or two plain sentences.

    ``inference`` words a run as the goal's batch of queries (its 1,000,000 queries). ``view``
    shows the amounts as the plan lines do (the user's currency beside USD); USD when omitted.
    """
    money = view_or_usd(view).money
    unit = "1,000,000 queries" if inference else "one run"
    run = ""
    if offer is not None and offer.run_cost_usd is not None and offer.run_hours is not None:
        verbs = ("take", "cost") if inference else ("takes", "costs")
        run = (f" On {offer.name} ({money(offer.usd_per_hour, True)}) {unit} {verbs[0]} about "
               f"{offer.run_hours:,.1f} h and {verbs[1]} about {money(offer.run_cost_usd)}.")
    elif offer is not None:
        run = f" {offer.name} costs {money(offer.usd_per_hour, True)} ({offer.gpu_name})."
    if status in ("no upgrade needed", "tight fit"):
        local = (f" Here {unit} cost{'' if inference else 's'} about {money(local_run_cost)} "
                 "in electricity." if local_run_cost is not None else "")
        if status == "tight fit":
            return Advice("use your PC", "Use your PC, with care: it fits, but only tightly "
                          f"(a run may still run out of memory), no purchase needed.{local}{run}")
        return Advice("use your PC", f"Use your PC: it already does this, no purchase needed."
                      f"{local}{run}")
    if plan_title is None or purchase_usd is None:
        if offer is None:
            return Advice("neither", f"Neither: no upgrade of this PC reaches the goal"
                          f"{why_no_plan}, and no cloud offer in the catalog fits it either.")
        return Advice("rent", f"Rent: no upgrade of this PC reaches the goal{why_no_plan}.{run}")
    if offer is None:
        return Advice("buy", f"Buy the {plan_title} plan ({money(purchase_usd)}): no cloud offer "
                      "in the catalog fits this goal to compare with.")
    use = hours_per_week * HORIZON_WEEKS
    if break_even is None:
        return Advice("rent", f"Rent: {offer.name} costs less per hour than the electricity "
                      f"to do it at home, so buying never pays off.{run}")
    weeks = break_even / hours_per_week if hours_per_week > 0 else float("inf")
    when = (f"about {weeks / 52:,.1f} years" if weeks >= 104 else f"about {weeks:,.0f} weeks")
    if use >= break_even:
        return Advice("buy", f"Buy: at {hours_per_week:g} h a week the {plan_title} plan "
                      f"({money(purchase_usd)}) pays for itself after {break_even:,.0f} h of use, "
                      f"{when}, compared with renting {offer.name} at "
                      f"{money(offer.usd_per_hour, True)}.")
    return Advice("rent", f"Rent: at {hours_per_week:g} h a week you would use about "
                  f"{use:,.0f} h in two years, short of the {break_even:,.0f} h at which buying "
                  f"the {plan_title} plan ({money(purchase_usd)}) pays off ({when}).{run}")
