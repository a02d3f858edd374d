"""Upgrade planning: what to buy to reach a goal, whether it fits this PC, and buy versus rent.

``plan_upgrades(profile, goal, budget_usd, facts, catalog)`` is a pure function returning a
:class:`PlanResult`: ranked plans (cheapest that reaches the goal, best value, best within
budget; or the nearest when none qualifies), each with dated line items, the total, the goal
re-checked by the workload estimator, and pass/fail/unverified compatibility checks; plus the
cheapest cloud offer that does the job and when buying pays off. Facts no probe can read (PSU,
case, electricity, hours of use) come in :class:`RigFacts`; unknown ones become stated
assumptions and ``unverified`` checks.
"""

from __future__ import annotations

from rigready.assess.plan.checks import STATUSES, Check, PowerNeed, Status, power_need
from rigready.assess.plan.export import plan_to_dict, result_to_dict, shopping_list_markdown
from rigready.assess.plan.facts import (
    CONNECTOR_NAMES,
    FactsError,
    RigFacts,
    facts_from_dict,
    facts_to_dict,
    format_connectors,
    load_facts,
    parse_connectors,
)
from rigready.assess.plan.goal import Goal, TaskGoal, TierGoal, WorkloadGoal, task_goal
from rigready.assess.plan.parts import LineItem
from rigready.assess.plan.planner import PlanError, plan_upgrades
from rigready.assess.plan.rent import HORIZON_WEEKS, RentOffer, break_even_hours
from rigready.assess.plan.result import After, Plan, PlanResult, PlanStatus, RentSummary

__all__ = [
    "CONNECTOR_NAMES",
    "HORIZON_WEEKS",
    "STATUSES",
    "After",
    "Check",
    "FactsError",
    "Goal",
    "LineItem",
    "Plan",
    "PlanError",
    "PlanResult",
    "PlanStatus",
    "PowerNeed",
    "RentOffer",
    "RentSummary",
    "RigFacts",
    "Status",
    "TaskGoal",
    "TierGoal",
    "WorkloadGoal",
    "break_even_hours",
    "facts_from_dict",
    "facts_to_dict",
    "format_connectors",
    "load_facts",
    "parse_connectors",
    "plan_to_dict",
    "plan_upgrades",
    "power_need",
    "result_to_dict",
    "shopping_list_markdown",
    "task_goal",
]
