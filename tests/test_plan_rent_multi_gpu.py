"""Renting for a task goal counts a multi-GPU offer's memory the way a model goal does."""

from __future__ import annotations

from assess.estimate import Workload, resolve_model
from assess.plan import TaskGoal, WorkloadGoal
from assess.plan.rent import cheapest_offers, judge_offer
from catalog import default_catalog


def test_a_task_that_splits_a_model_is_rented_on_several_gpus() -> None:
    cat = default_catalog()
    goal = TaskGoal(cat.task("llm-70b-inference"))
    demand, _ = cheapest_offers(goal, cat)
    assert demand is not None and demand.gpu_count > 1
    model = WorkloadGoal(resolve_model("llama-3.1-70b", cat.models),
                         Workload(method="inference", seq_len=2048))
    by_model, _ = cheapest_offers(model, cat)
    assert by_model is not None and demand.offer_id == by_model.offer_id
    assert "split across them" in demand.outcome.reasons[0]


def test_a_single_gpu_task_is_judged_per_gpu() -> None:
    cat = default_catalog()
    task = next(t for t in cat.tasks if t.multi_gpu != "split" and t.gpu_required)
    goal = TaskGoal(task)
    for offer in cat.cloud_offers:
        judged = judge_offer(goal, offer, cat)
        if judged is not None and offer.gpu_count > 1:
            assert "split" not in judged.outcome.reasons[0]
