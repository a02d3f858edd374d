"""Issue 17 as a user sees it: the spot offer's price is dated and age-checked like every other,
and the user's currency follows the locale settings the desktop sets (LC_MONETARY included)."""

from __future__ import annotations

import json
import locale
from datetime import date
from pathlib import Path

import pytest

from rigready.catalog.money import currency_for, locale_name
from rigready.desktop.cli import main

LAPTOP = Path(__file__).parent / "data" / "rigs" / "profiles" / "igpu-laptop.json"


@pytest.fixture
def no_locale_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in ("RIGREADY_LOCALE", "LC_ALL", "LC_MONETARY", "LANG"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_lc_monetary_sets_the_currency_when_lang_is_english(
        no_locale_env: pytest.MonkeyPatch) -> None:
    # GNOME's "Formats" setting: English messages, German money
    no_locale_env.setenv("LANG", "en_US.UTF-8")
    no_locale_env.setenv("LC_MONETARY", "de_DE.UTF-8")
    assert currency_for(locale_name()) == "EUR"
    no_locale_env.setenv("LC_ALL", "fr_FR.UTF-8")  # LC_ALL overrides both
    assert locale_name() == "fr_FR.UTF-8"
    no_locale_env.setenv("LC_ALL", "C.UTF-8")
    assert locale_name() is None and currency_for(locale_name()) == "USD"


def test_lang_alone_is_read_even_when_the_locale_is_not_installed(
        no_locale_env: pytest.MonkeyPatch) -> None:
    # an uninstalled locale leaves Python in C.UTF-8, reported as "en_US"; LANG still says AT
    no_locale_env.setenv("LANG", "de_AT.UTF-8")
    no_locale_env.setattr(locale, "getlocale", lambda *a: ("en_US", "UTF-8"))
    assert currency_for(locale_name()) == "EUR"


def test_without_environment_the_locale_module_answers(no_locale_env: pytest.MonkeyPatch) -> None:
    no_locale_env.setattr(locale, "getlocale", lambda *a: ("en_GB", "UTF-8"))
    assert locale_name() == "en_GB"


def test_spot_offer_is_dated_and_age_checked(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_TODAY", "2030-01-01")  # every catalog price is past its limit
    goal = ["plan", "--tier", "entry", "--profile", str(LAPTOP)]
    assert main([*goal, "--json"]) == 0
    rent = json.loads(capsys.readouterr().out)["rent"]
    spot = rent["spot"]
    assert spot is not None and spot["usd_per_hour"] < rent["usd_per_hour"]
    days = (date(2030, 1, 1) - date.fromisoformat(spot["price_date"])).days
    assert days > 30
    notes = [r for r in rent["reasons"] if r.startswith("a spot instance costs less")]
    assert len(notes) == 1
    assert f"(spot, as of {spot['price_date']})" in notes[0] and "limit 30 days" in notes[0]
    assert main(goal) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if "a spot instance costs less" in x)
    assert f"as of {spot['price_date']}" in line and "limit 30 days): check it" in line
