"""The plan summary, the buy-or-rent advice and Readiness fixes show amounts the way the plan
lines do: the user's currency with USD alongside (one formatter, ``PriceView.money``), and
exactly as before in USD."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rigready.assess.estimate import Workload, resolve_model
from rigready.assess.plan import PlanResult, RigFacts, TierGoal, WorkloadGoal, plan_upgrades
from rigready.assess.profile import load_profile
from rigready.assess.score import assess_readiness
from rigready.catalog import Catalog, default_catalog
from rigready.catalog.money import PriceView
from rigready.desktop.cli import main

HOBBY = Path(__file__).parent / "data" / "profiles" / "hobbyist"
RTX3060 = HOBBY / "desktop-rtx3060-12gb-32gb-ddr4.json"
GTX1660 = HOBBY / "desktop-gtx1660-16gb-ddr4.json"
TODAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return default_catalog()


def _eur(cat: Catalog) -> PriceView:
    view = PriceView.from_catalog(cat, on=TODAY, currency="EUR")
    assert view.rate is not None  # the catalog keeps a dated EUR rate
    return view


def _qlora(cat: Catalog, view: PriceView | None, budget: float = 600) -> PlanResult:
    goal = WorkloadGoal(resolve_model("llama-3.1-8b", cat.models),
                        Workload(method="qlora", checkpointing=True))
    return plan_upgrades(load_profile(RTX3060), goal, budget, RigFacts(), cat, view=view)


def test_summary_and_advice_in_euros_with_usd_alongside(cat: Catalog) -> None:
    eur = _eur(cat)
    result = _qlora(cat, eur)
    assert result.status == "ok"
    first = result.plans[0]
    total = eur.money(first.total_usd)  # "€364.54 (US$428.33)", as on the plan lines
    assert total.startswith("€") and "(US$" in total
    assert f"is {first.title} ({total})" in result.summary
    advice = result.rent.advice.text
    assert total in advice
    assert eur.money(result.rent.offer.usd_per_hour, per_hour=True) in advice  # type: ignore[union-attr]
    assert "$" not in advice.replace("US$", "")  # no bare dollar amount left


def test_nothing_within_budget_says_the_nearest_and_the_overrun_in_euros(cat: Catalog) -> None:
    eur = _eur(cat)
    result = _qlora(cat, eur, budget=100)
    assert result.status == "nothing within budget"
    first = result.plans[0]
    assert (f"at {eur.money(first.total_usd)}, {eur.money(first.over_budget_usd)} over."
            in result.summary)


def test_rent_verdict_in_euros(cat: Catalog) -> None:
    eur = _eur(cat)
    result = plan_upgrades(load_profile(RTX3060), TierGoal(cat.tier("mid")), 100, RigFacts(),
                           cat, view=eur)
    advice = result.rent.advice
    assert advice.choice in ("rent", "check first", "buy")
    offer = result.rent.offer
    assert offer is not None and eur.money(offer.usd_per_hour, per_hour=True) in advice.text
    assert "$" not in advice.text.replace("US$", "")


def test_usd_words_are_unchanged(cat: Catalog) -> None:
    usd_view = PriceView.from_catalog(cat, on=TODAY, currency="USD")
    plain = _qlora(cat, None)
    shown = _qlora(cat, usd_view)
    assert shown.summary == plain.summary and shown.rent.advice == plain.rent.advice
    first = shown.plans[0]
    assert f"({'$'}{first.total_usd:,.2f})" in shown.summary
    assert "€" not in shown.summary + shown.rent.advice.text
    assert "US$" not in shown.summary + shown.rent.advice.text


def _fixes(cat: Catalog, view: PriceView | None) -> str:
    result = assess_readiness(load_profile(GTX1660), cat, None, view)
    return " ".join(t.fix for t in result.tasks)


def test_readiness_fixes_in_euros_with_usd_alongside(cat: Catalog) -> None:
    eur = _eur(cat)
    fixes = _fixes(cat, eur)
    # "about €170 (US$200), used as of ..." and "at €0.29/h (US$0.34/h)"
    assert "about €" in fixes and "(US$" in fixes and "/h (US$" in fixes
    assert "about $" not in fixes
    card = cat.gpu("rtx-3060-12gb")
    assert f"about {eur.money(card.street_price_usd or 0.0, whole=True)}" in fixes


def test_readiness_fixes_in_usd_are_unchanged(cat: Catalog) -> None:
    fixes = _fixes(cat, PriceView.from_catalog(cat, currency="USD"))
    assert fixes == _fixes(cat, None)
    assert "about $" in fixes and "€" not in fixes and "US$" not in fixes


def test_score_cli_in_euros_prints_the_rate(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_TODAY", "2026-12-02")
    monkeypatch.setenv("RIGREADY_LOCALE", "de_DE.UTF-8")
    assert main(["score", "--no-bench", "--profile", str(GTX1660)]) == 0
    text = capsys.readouterr().out
    assert "about €" in text and "(US$" in text
    assert "EUR amounts are converted at" in text


def test_plan_cli_in_euros_has_no_bare_dollar_amounts(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_TODAY", "2026-12-02")
    monkeypatch.setenv("RIGREADY_LOCALE", "de_DE.UTF-8")
    assert main(["plan", "llama-3.1-8b", "--method", "qlora", "--budget", "600",
                 "--profile", str(RTX3060)]) == 0
    text = capsys.readouterr().out
    summary = text.split("\n\n")[0]  # the plan's answer comes first
    assert "€" in summary and "(US$" in summary
    advice = next(x for x in text.splitlines() if x.startswith("  -> "))
    assert "$" not in advice.replace("US$", "")
