"""The rig test set (tests/data/rigs): every question answered, zero false passes.

A false pass is rigready saying "go ahead" (ready, fits, nothing to buy, ready to buy) where a
careful engineer says no: the run that dies, the purchase that does not help. Disagreements in
the other direction (too cautious) are counted and printed by benchmarks/rig_agreement.py.
"""

from __future__ import annotations

import pytest

from rigready.catalog import Catalog, default_catalog
from tests.helpers.rig_set import Outcome, questions, run_all


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    cat: Catalog = default_catalog()
    return run_all(cat)


def test_the_set_covers_at_least_twelve_rigs_with_three_questions_each() -> None:
    qs = questions()
    per_rig: dict[str, set[str]] = {}
    for q in qs:
        per_rig.setdefault(q["rig"], set()).add(q["kind"])
        assert q["truth"] in q["accept"] and q["why"] and q["source"]
    assert len(per_rig) >= 12
    counts = {r: sum(q["rig"] == r for q in qs) for r in per_rig}
    assert min(counts.values()) >= 3
    # readiness, a model/method fit and an upgrade plan asked across the set
    assert {k for kinds in per_rig.values() for k in kinds} == {"task", "fit", "plan", "route"}


def test_no_false_passes(outcomes: list[Outcome]) -> None:
    bad = [f"{o.rig}: {o.question}: rigready says {o.answer}, truth {o.truth} ({o.why})"
           for o in outcomes if o.false_pass]
    assert not bad, "\n".join(bad)


def test_agreement_is_high(outcomes: list[Outcome]) -> None:
    agree = sum(o.agrees for o in outcomes)
    # the known disagreements are cautious ones (see benchmarks/rig_agreement.py)
    assert agree / len(outcomes) >= 0.9, [o for o in outcomes if not o.agrees]


def test_false_pass_rule() -> None:
    said_yes = Outcome("r", "task", "q", "not ready", ("not ready",), "limited", "")
    said_no = Outcome("r", "task", "q", "limited", ("limited",), "not ready", "")
    no_purchase = Outcome("r", "plan", "q", "check-first", ("check-first",), "setting", "")
    buy_unmeasured = Outcome("r", "plan", "q", "check-first", ("check-first",), "buy", "")
    assert said_yes.false_pass and not said_no.false_pass
    assert no_purchase.false_pass and buy_unmeasured.false_pass
