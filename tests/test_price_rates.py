"""Issue 17 item 5: a user in the UK sees pounds with US dollars alongside, the dated rate they
were converted at, and a warning once that rate is older than the catalog allows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rigready.catalog import load_catalog
from rigready.catalog.money import PriceView
from rigready.catalog.prices import rate_for
from rigready.desktop.cli import main

LAPTOP = Path(__file__).parent / "data" / "rigs" / "profiles" / "igpu-laptop.json"
SOURCED = ("EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "SEK", "PLN", "INR")


def test_every_listed_rate_is_dated_and_sourced() -> None:
    cat = load_catalog(None)
    for code in SOURCED:
        rate = rate_for(cat.exchange_rates, code)
        assert rate is not None, code
        assert rate.usd_per_unit > 0 and rate.source.strip(), code


def _plan_text(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
               today: str) -> str:
    monkeypatch.setenv("RIGREADY_LOCALE", "en_GB.UTF-8")
    monkeypatch.setenv("RIGREADY_TODAY", today)
    assert main(["plan", "--tier", "entry", "--profile", str(LAPTOP)]) == 0
    return capsys.readouterr().out


def test_gbp_locale_shows_pounds_with_dollars_and_the_rates_date(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rate = rate_for(load_catalog(None).exchange_rates, "GBP")
    assert rate is not None
    fresh = date.fromordinal(rate.rate_date.toordinal() + 10).isoformat()
    out = _plan_text(capsys, monkeypatch, fresh)
    priced = [line for line in out.splitlines() if "£" in line]
    assert priced and all("(US$" in line for line in priced)
    note = next(line for line in out.splitlines() if line.startswith("GBP amounts"))
    assert f"the rate of {rate.rate_date.isoformat()}" in note
    assert f"{rate.usd_per_unit:g} USD per GBP" in note
    assert "Warning" not in note  # 10 days old: within the limit


def test_a_stale_rate_warns_where_the_conversion_is_noted(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out = _plan_text(capsys, monkeypatch, "2030-01-01")
    note = next(line for line in out.splitlines() if line.startswith("GBP amounts"))
    assert "Warning: this rate is" in note and "(limit 90 days)" in note
    assert "the USD figures are the ones to trust" in note


def test_rate_age_limit_comes_from_the_catalog_policy() -> None:
    cat = load_catalog(None)
    rate = rate_for(cat.exchange_rates, "GBP")
    assert rate is not None
    on_limit = date.fromordinal(rate.rate_date.toordinal() + 90)
    assert PriceView.from_catalog(cat, on=on_limit, currency="GBP").rate_warning() == ""
    late = PriceView.from_catalog(cat, on=date.fromordinal(on_limit.toordinal() + 1),
                                  currency="GBP")
    assert late.rate_warning().startswith("91 days old (limit 90 days)")
    no_policy = PriceView(late.today, (), "GBP", rate)
    assert no_policy.rate_warning() == ""  # no limit in the catalog: no warning invented
    assert PriceView(late.today).rate_warning() == ""  # USD: nothing converted
