"""Renting for a task goal counts a multi-GPU offer's memory the way a model goal does."""

from __future__ import annotations

from rigready.assess.estimate import Workload, resolve_model
from rigready.assess.plan import TaskGoal, WorkloadGoal
from rigready.assess.plan.rent import cheapest_offers, judge_offer
from rigready.catalog import default_catalog


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


def test_a_pc_with_two_gpus_is_not_sold_a_card_its_pair_already_beats() -> None:
    # Scoring calls a 13B LLM in 16-bit ready on two RTX 3090s (47 GiB split): the plan must not
    # offer an RTX 5090 for it.
    from rigready.assess.plan import RigFacts, plan_upgrades
    from rigready.assess.score import assess_readiness
    from tests.helpers.rig_set import rig_profile

    cat = default_catalog()
    for name in ("dual-rtx3090-nvlink", "dual-rtx3090-pcie"):
        profile = rig_profile(name)
        score = next(t for t in assess_readiness(profile, cat).tasks
                     if t.task_id == "llm-13b-inference")
        assert score.verdict in ("ready", "limited")
        result = plan_upgrades(profile, TaskGoal(cat.task("llm-13b-inference")), 3000,
                               RigFacts(), cat)
        assert result.status == "no upgrade needed" and result.now.reached
        assert result.now.gpu_name == "2x NVIDIA GeForce RTX 3090"
        # the split is what makes it fit: the plan says what it costs, as scoring does
        assert "split across its 2 GPUs" in result.summary
        assert ("PCIe" in result.summary) == name.endswith("pcie")
    one = plan_upgrades(rig_profile("rtx3090-desktop"), TaskGoal(cat.task("llm-13b-inference")),
                        3000, RigFacts(), cat)
    assert not one.now.reached
