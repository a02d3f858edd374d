"""Dated prices: kinds, currencies, age warnings, the user's overrides, and how plans show them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rigready.catalog import CatalogError, load_catalog
from rigready.catalog.money import PriceView, currency_for
from rigready.catalog.overrides import (
    overrides_path,
    parse_price,
    read_overrides,
    set_price,
    unset_price,
)
from rigready.catalog.prices import Price, kind_of, price_of, rate_for, stale_warning
from rigready.desktop.cli import main

PROFILE = Path(__file__).parent / "data" / "profiles" / "cpu-only-2026-11-22.json"
_META = '[meta]\nupdated = 2026-12-01\ndescription = "test"\n\n'


def _user_file(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "user"
    folder.mkdir(exist_ok=True)
    (folder / "extra.toml").write_text(_META + text, encoding="utf-8")
    return folder


def test_every_builtin_price_has_kind_date_source_currency() -> None:
    cat = load_catalog(None)
    priced: list[Any] = [*cat.gpus, *cat.cpus, *cat.ram_kits, *cat.drives, *cat.psus,
                         *cat.cloud_offers]
    seen = 0
    for entry in priced:
        price = price_of(entry)
        if price is None:
            continue
        seen += 1
        assert price.date is not None and price.source, entry.id
        assert price.kind in ("street", "launch-msrp", "on-demand", "spot", "used"), entry.id
        assert price.currency == "USD" or price.amount is not None, entry.id
    assert seen > 140
    spot = next(o for o in cat.cloud_offers if o.spot)
    assert kind_of(spot) == "spot"
    unpriced_street = next(g for g in cat.gpus if g.street_price_usd is None
                           and g.launch_price_usd is not None)
    assert kind_of(unpriced_street) == "launch-msrp"


def test_a_eur_price_converts_with_the_dated_rate_and_says_so(tmp_path: Path) -> None:
    folder = _user_file(tmp_path, '[[ram_kit]]\nid = "eu-kit"\nname = "EU kit 32 GB"\n'
                        'type = "DDR5"\nform_factor = "DIMM"\nmodules = 2\nmodule_gib = 16.0\n'
                        'speed_mts = 6000\nprice_currency = "EUR"\nprice_amount = 100.0\n'
                        'price_date = 2026-11-30\nprice_source = "a shop in Berlin"\n')
    cat = load_catalog(folder)
    kit = cat.ram_kit("eu-kit")
    rate = rate_for(cat.exchange_rates, "EUR")
    assert rate is not None
    assert kit.price_usd == pytest.approx(round(100.0 * rate.usd_per_unit, 2))
    assert "EUR 100.00 converted at" in kit.price_source
    assert rate.rate_date.isoformat() in kit.price_source
    view = PriceView(date(2026, 12, 1), cat.price_policies)
    assert "published as €100.00" in view.label(price_of(kit))  # type: ignore[arg-type]


@pytest.mark.parametrize(("extra", "problem"), [
    ('price_currency = "EUR"\nprice_amount = 100.0\nprice_usd = 104.0\n', "leave the USD key"),
    ('price_currency = "NZD"\nprice_amount = 100.0\n', "no [[exchange_rate]] for NZD"),
    ('price_currency = "euro"\nprice_amount = 100.0\n', "three-letter ISO 4217"),
    ('price_usd = 100.0\nprice_amount = 90.0\n', "only for a price in another currency"),
    ('price_usd = 100.0\nprice_kind = "yours"\n', "set by your price overrides"),
])
def test_bad_price_keys_are_rejected(tmp_path: Path, extra: str, problem: str) -> None:
    folder = _user_file(tmp_path, '[[psu]]\nid = "odd-psu"\nname = "Odd 650 W"\nwatts = 650.0\n'
                        'atx_version = "3.1"\nefficiency = "80+ Gold"\npcie_8pin = 2\n'
                        'connectors_12v_2x6 = 1\nprice_date = 2026-11-30\n'
                        f'price_source = "x"\n{extra}')
    with pytest.raises(CatalogError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load_catalog(folder)


def test_age_limits_come_from_the_catalog() -> None:
    cat = load_catalog(None)
    limits = {p.applies_to: p.max_age_days for p in cat.price_policies}
    assert limits == {"part": 90, "cloud": 30, "exchange-rate": 90}
    today = date(2026, 12, 1)
    part = Price(100.0, date(2026, 9, 2), "s", "street")  # 90 days: still fine
    assert stale_warning(part, cat.price_policies, today) == ""
    old = Price(100.0, date(2026, 9, 1), "s", "street")  # 91 days
    assert "91 days old (limit 90 days)" in stale_warning(old, cat.price_policies, today)
    cloud = Price(1.0, date(2026, 10, 31), "s", "on-demand", scope="cloud")  # 31 days
    assert "limit 30 days" in stale_warning(cloud, cat.price_policies, today)
    assert stale_warning(Price(1.0, None, "s", "street"), cat.price_policies, today)


def test_currency_from_locale_and_money_shows_usd_alongside() -> None:
    assert currency_for("de_DE.UTF-8") == "EUR"
    assert currency_for("en_GB") == "GBP"
    assert currency_for("C") == "USD"
    assert currency_for(None) == "USD"
    cat = load_catalog(None)
    rate = rate_for(cat.exchange_rates, "EUR")
    assert rate is not None
    eur = PriceView.from_catalog(cat, on=date(2026, 12, 1), currency="EUR")
    assert eur.money(rate.usd_per_unit * 100) == f"€100.00 (US${rate.usd_per_unit * 100:,.2f})"
    assert "converted at" in eur.notes()[0]
    nzd = PriceView.from_catalog(cat, on=date(2026, 12, 1), currency="NZD")
    assert nzd.money(10.0) == "$10.00"  # no rate: USD alone, never a silent guess
    assert "no dated exchange rate for NZD" in nzd.notes()[0]


def test_parse_price_rejects_bad_input() -> None:
    assert parse_price("$1,299.50") == 1299.5
    for bad in ("-5", "0", "abc", "nan", "inf", ""):
        with pytest.raises(ValueError):
            parse_price(bad)


def test_set_and_unset_an_override(tmp_path: Path) -> None:
    folder = tmp_path / "cat"
    new, table = set_price("rtx-3060-12gb", 199.0, today=date(2026, 12, 1),
                           source="a local shop", user_dir=folder)
    assert table == "gpu" and new.price == 199.0
    cat = load_catalog(folder)
    gpu = cat.gpu("rtx-3060-12gb")
    assert gpu.street_price_usd == 199.0 and gpu.price_kind == "yours"
    assert gpu.price_date == date(2026, 12, 1) and gpu.price_source == "a local shop"
    assert gpu.price_note is None  # the catalog's note described its own listing
    assert [o.id for o in cat.price_overrides] == ["rtx-3060-12gb"]
    # a second price for the same part replaces the first; others are kept
    set_price("rtx-3060-12gb", 189.0, today=date(2026, 12, 2), user_dir=folder)
    set_price("aws-g5-xlarge", 0.9, today=date(2026, 12, 2), user_dir=folder)
    assert {o.id: o.price for o in read_overrides(overrides_path(folder))} == {
        "rtx-3060-12gb": 189.0, "aws-g5-xlarge": 0.9}
    assert load_catalog(folder).cloud_offer("aws-g5-xlarge").usd_per_hour == 0.9
    assert unset_price("rtx-3060-12gb", today=date(2026, 12, 2), user_dir=folder)
    assert not unset_price("rtx-3060-12gb", today=date(2026, 12, 2), user_dir=folder)
    assert load_catalog(folder).gpu("rtx-3060-12gb").price_kind != "yours"


def test_unknown_part_ranks_suggestions(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="did you mean rtx-3060"):
        set_price("rtx-306", 100.0, today=date(2026, 12, 1), user_dir=tmp_path)
    assert not overrides_path(tmp_path).exists()


def test_override_for_a_missing_part_fails_catalog_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], rigready_home: Path) -> None:
    folder = rigready_home / "config" / "catalog"
    folder.mkdir(parents=True)
    (folder / "price-overrides.toml").write_text(
        _META + '[[price_override]]\nid = "rtx-9999"\nprice = 10.0\nprice_date = 2026-12-01\n',
        encoding="utf-8")
    assert main(["catalog", "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rigready: error:") and "rtx-9999" in err[0]


@pytest.mark.parametrize(("args", "needle"), [
    (["rtx-3060-12gb", "-5"], "above zero"),
    (["rtx-3060-12gb", "inf"], "must be a finite number"),
    (["rtx-3060-12gb", "abc"], "must be a number"),
    (["rtx-306", "100"], "did you mean rtx-3060-"),
    (["rtx-3060-12gb", "100", "--currency", "XYZ"], "no [[exchange_rate]] for XYZ"),
])
def test_price_set_bad_input_is_one_line_exit_2(
        args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "price", "set", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rigready: error:"), captured.err
    assert needle in lines[0]
    assert not overrides_path().exists()


def test_plan_uses_and_marks_your_price(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RIGREADY_TODAY", "2026-12-01")
    monkeypatch.setenv("RIGREADY_LOCALE", "en_US.UTF-8")
    assert main(["catalog", "price", "set", "rtx-3060-12gb", "99", "--source", "flea market"]) == 0
    out = capsys.readouterr().out
    assert "$99.00 (your price, as of 2026-12-01)" in out
    from rigready.catalog import default_catalog
    default_catalog.cache_clear()
    # 512 tokens: at 2,048 the QLoRA recipe needs 14.3 GiB, more than the 3060's 12 GB
    goal = ["plan", "llama-3.1-8b", "--method", "qlora", "--seq", "512", "--budget", "900",
            "--profile", str(PROFILE)]
    shop = tmp_path / "list.md"
    assert main([*goal, "--markdown", str(shop)]) == 0
    text = capsys.readouterr().out
    assert "Plan 1: RTX 3060 12 GB" in text
    line = next(x for x in text.splitlines() if "NVIDIA GeForce RTX 3060 12 GB" in x)
    assert "$99.00" in line and "your price, as of 2026-12-01" in line
    markdown = shop.read_text(encoding="utf-8")
    assert "| $99.00 | as of 2026-12-01 (your price) | flea market |" in markdown
    assert "as recalled" not in markdown
    assert main([*goal, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    item = data["plans"][0]["items"][0]
    assert item["your_price"] is True and item["price_as_of"] == "as of 2026-12-01"
    assert item["price_warning"] is None
    others = [i for p in data["plans"][1:] for i in p["items"]]
    assert all(i["price_as_of"].startswith("as of ") for i in others)
    old = [i for i in others if i["price_date"] < "2026-09-02"]
    assert old and all("limit 90 days" in i["price_warning"] for i in old)
    assert data["prices"]["today"] == "2026-12-01"
    default_catalog.cache_clear()


def test_plan_in_euros_shows_usd_and_the_rate(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_TODAY", "2026-12-01")
    monkeypatch.setenv("RIGREADY_LOCALE", "fr_FR.UTF-8")
    assert main(["plan", "llama-3.1-8b", "--method", "qlora", "--budget", "900",
                 "--profile", str(PROFILE)]) == 0
    text = capsys.readouterr().out
    gpu_lines = [x for x in text.splitlines() if x.startswith("  gpu ")]
    assert gpu_lines and all("€" in x and "(US$" in x for x in gpu_lines)
    assert "EUR amounts are converted at" in text and "USD is shown alongside" in text
