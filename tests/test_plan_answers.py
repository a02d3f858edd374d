"""Plans a newcomer can follow (issue 23 items 5 and 7): the real reason first, one job for buy
and rent, the used market labelled with its date, "best value" only within budget, and each
old price said once per answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rigready.assess.estimate import Workload, resolve_model
from rigready.assess.plan import RigFacts, WorkloadGoal, plan_upgrades
from rigready.assess.plan.parts import used_offer
from rigready.assess.profile import load_profile
from rigready.catalog import Catalog, default_catalog
from rigready.desktop.cli import main

RIGS = Path(__file__).parent / "data" / "rigs" / "profiles"
RTX3060 = RIGS / "rtx3060-12gb-desktop.json"


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return default_catalog()


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_TODAY", "2026-12-15")


def _goal(cat: Catalog, method: str, **kw: object) -> WorkloadGoal:
    shape = resolve_model("llama-3.1-8b", cat.models)
    return WorkloadGoal(shape, Workload(method=method, **kw))  # type: ignore[arg-type]


def test_a_vm_plan_says_first_that_a_vm_takes_no_card(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "llama-3.1-8b", "--method", "lora", "--budget", "800",
                 "--profile", str(RIGS / "a100-vm.json"), "--form-factor", "vm",
                 "--free-gib", "8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("This is a virtual machine: no card can be added to it.")
    assert "No single-GPU upgrade" not in out


def test_buying_and_renting_price_the_same_job(cat: Catalog) -> None:
    profile = load_profile(RTX3060)
    choices = {}
    for method in ("lora", "qlora"):
        result = plan_upgrades(profile, _goal(cat, method), 1200, RigFacts(), cat)
        bought = [p for p in result.plans if p.items]
        assert bought and result.rent.offer is not None
        # the rental is judged for the job each plan is checked against
        assert all(p.verified_goal == result.rent.verified_goal for p in bought)
        assert "gradient checkpointing" in result.rent.verified_goal
        assert not any("fewer hours than the break-even counts" in r
                       for r in result.rent.reasons)
        assert any(r.startswith("one job, both ways") for r in result.rent.reasons)
        choices[method] = result.rent.advice.choice
    # LoRA is no longer priced against an 80 GB H100 for the job without checkpointing
    assert choices["lora"] == choices["qlora"]


def test_used_cards_are_offered_labelled_used_with_their_date(
        cat: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    used = used_offer(cat.gpu("rtx-4090"))
    assert used is not None and used.price_kind == "used" and used.street_price_usd == 1400.0
    assert used_offer(cat.gpu("rtx-3090")) is None  # its one price is already a used one
    result = plan_upgrades(load_profile(RTX3060), _goal(cat, "lora", checkpointing=True), 2000,
                           RigFacts(), cat)
    titles = [p.title for p in result.plans]
    assert "RTX 3090 (used)" in titles and "RTX 4090 (used)" in titles
    item = next(i for p in result.plans for i in p.items if i.catalog_id == "rtx-4090")
    assert item.price_kind == "used" and str(item.price_date) == "2026-05-01"
    assert main(["plan", "llama-3.1-8b", "--method", "lora", "--checkpointing", "--budget",
                 "2000", "--profile", str(RTX3060)]) == 0
    assert "used, as of 2026-05-01" in capsys.readouterr().out


def test_best_value_is_only_ever_within_budget(cat: Catalog) -> None:
    for budget in (300, 500, 1200):
        result = plan_upgrades(load_profile(RTX3060), _goal(cat, "qlora"), budget, RigFacts(),
                               cat)
        for plan in result.plans:
            if "best value" in plan.labels:
                assert plan.within_budget, (budget, plan.title, plan.total_usd)


def test_each_old_price_is_said_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--no-bench", "--profile", str(RTX3060)]) == 0
    out = capsys.readouterr().out
    warnings = re.findall(r".*check it.*", out)
    assert warnings and len(warnings) == len(set(warnings))
    assert not any("fix:" in w for w in warnings)  # the fixes name the price, not its age
    assert "Prices (each old price said once)" in out
    assert main(["plan", "llama-3.1-8b", "--method", "qlora", "--budget", "2000",
                 "--profile", str(RTX3060)]) == 0
    lines = [x.strip() for x in capsys.readouterr().out.splitlines()]
    shown = [lines[i - 1].split("$")[0] for i, x in enumerate(lines) if x.startswith("! price")]
    assert len(shown) == len(set(shown))


def test_the_wizard_gets_the_reason_and_what_was_weighed(cat: Catalog) -> None:
    import dataclasses

    profile = load_profile(RIGS / "a100-vm.json")
    vm = dataclasses.replace(profile, gpus=())
    result = plan_upgrades(vm, _goal(cat, "lora"), 800, RigFacts(), cat)
    assert result.headline == "This is a virtual machine: no card can be added to it."
    assert result.weighed == "only this PC as it is was weighed: This is a virtual machine " \
        "takes no card" or result.weighed.startswith("only this PC as it is was weighed")
    desktop = plan_upgrades(load_profile(RTX3060), _goal(cat, "qlora"), 800, RigFacts(), cat)
    assert desktop.weighed.endswith("configurations weighed") and desktop.considered > 1
