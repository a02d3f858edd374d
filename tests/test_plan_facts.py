"""Facts the user types in: connector lists, strict JSON files, merging flags over files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigready.assess.plan import (
    FactsError,
    RigFacts,
    facts_from_dict,
    facts_to_dict,
    format_connectors,
    load_facts,
    parse_connectors,
)
from rigready.assess.plan.facts import DEFAULT_HOURS_PER_WEEK, DEFAULT_KWH_PRICE


@pytest.mark.parametrize(("text", "expected"), [
    ("2x8-pin", ("8-pin", "8-pin")),
    ("8-pin, 8-pin", ("8-pin", "8-pin")),
    ("2x 6+2-pin + 1x 12V-2x6", ("8-pin", "8-pin", "12v-2x6")),
    ("12vhpwr", ("12vhpwr",)),
    ("none", ()),
    ("", ()),
])
def test_connector_lists(text: str, expected: tuple[str, ...]) -> None:
    assert parse_connectors(text) == expected


@pytest.mark.parametrize("text", ["9-pin", "2xmolex", "0x8-pin", "20x8-pin"])
def test_bad_connector_lists_name_the_problem(text: str) -> None:
    with pytest.raises(FactsError) as info:
        parse_connectors(text, "--psu-connectors", "")
    assert str(info.value).startswith("--psu-connectors:")


def test_format_round_trips_counts() -> None:
    plugs = parse_connectors("3x8-pin,12v-2x6")
    assert format_connectors(plugs) == "3x 8-pin + 1x 12v-2x6"
    assert parse_connectors(format_connectors(plugs)) == plugs
    assert format_connectors(None) == "unknown" and format_connectors(()) == "none"


def test_unknown_facts_fall_back_to_stated_defaults() -> None:
    facts = RigFacts()
    assert facts.kwh == DEFAULT_KWH_PRICE and facts.hours == DEFAULT_HOURS_PER_WEEK
    assert RigFacts(kwh_price=0.3, hours_per_week=2).kwh == 0.3


def test_merged_keeps_known_fields_of_both() -> None:
    base = RigFacts(psu_watts=550, clearance_mm=280)
    merged = base.merged(RigFacts(psu_watts=750, kwh_price=0.25))
    assert merged == RigFacts(psu_watts=750, clearance_mm=280, kwh_price=0.25)


def test_file_round_trip(tmp_path: Path) -> None:
    facts = RigFacts(psu_watts=650, psu_connectors=("8-pin", "8-pin"), clearance_mm=300,
                     kwh_price=0.21, hours_per_week=6)
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts_to_dict(facts)), encoding="utf-8")
    assert load_facts(path) == facts


@pytest.mark.parametrize(("data", "field", "problem"), [
    ({"psu_wats": 550}, "psu_wats", "unknown field"),
    ({"psu_watts": "550"}, "psu_watts", "must be a number"),
    ({"psu_watts": True}, "psu_watts", "must be a number"),
    ({"kwh_price": -0.1}, "kwh_price", "cannot be negative"),
    ({"hours_per_week": 200}, "hours_per_week", "between"),
    ({"psu_connectors": 2}, "psu_connectors", "must be a string"),
    ({"psu_connectors": ["8-pin", "x"]}, "psu_connectors", "unknown connector"),
])
def test_strict_errors_name_file_and_field(tmp_path: Path, data: dict[str, object], field: str,
                                           problem: str) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FactsError) as info:
        load_facts(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {field}:") and problem in message
    assert "\n" not in message


def test_unreadable_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(FactsError, match="cannot read"):
        load_facts(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{psu_watts: 5", encoding="utf-8")
    with pytest.raises(FactsError, match="not valid JSON"):
        load_facts(bad)
    with pytest.raises(FactsError, match="JSON object"):
        facts_from_dict([1, 2], "x.json")


def test_nulls_mean_unknown() -> None:
    assert facts_from_dict({"psu_watts": None, "clearance_mm": 310}) == RigFacts(clearance_mm=310)
