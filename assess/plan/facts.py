"""Facts about a PC that no probe can read: the power supply, the case, electricity and usage.

They are typed in by the user (CLI flags, a ``--facts`` JSON file, the wizard's constraints step)
and remembered. Every field may be unknown (``None``); the planner then states an assumption and
marks each check that depends on the fact ``unverified``, never ``pass``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigready.assess.estimate.energy import DEFAULT_ELECTRICITY_USD_KWH
from rigready.assess.jsonfile import read_json_file

#: Connector names as in the catalog's ``power_connectors`` (``docs/catalog-format.md``).
CONNECTOR_NAMES: tuple[str, ...] = ("6-pin", "8-pin", "12vhpwr", "12v-2x6", "eps-8pin")
_ALIASES = {"6+2-pin": "8-pin", "pcie-8pin": "8-pin", "8pin": "8-pin", "6pin": "6-pin",
            "16-pin": "12v-2x6", "12vhpwr": "12vhpwr", "12v2x6": "12v-2x6", "eps": "eps-8pin"}
#: Used when the user has not said how many hours a week they would use the GPU.
DEFAULT_HOURS_PER_WEEK = 10.0
DEFAULT_KWH_PRICE = DEFAULT_ELECTRICITY_USD_KWH


class FactsError(ValueError):
    """A facts value or file that cannot be used, naming the file and field where known."""

    def __init__(self, where: str, field: str, problem: str) -> None:
        self.where = where
        self.field = field
        self.problem = problem
        prefix = ": ".join(p for p in (where, field) if p)
        super().__init__(f"{prefix}: {problem}" if prefix else problem)


@dataclass(frozen=True, slots=True)
class RigFacts:
    """What the user told us about their PC beyond detection. ``None`` means unknown.

    Attributes:
        psu_watts: the power supply's rated output.
        psu_connectors: the GPU power plugs the PSU offers, one name per plug
            (``("8-pin", "8-pin")``); ``()`` means none, ``None`` unknown.
        clearance_mm: the longest graphics card the case takes.
        kwh_price: electricity price, USD per kWh.
        hours_per_week: hours a week the GPU would do this kind of work.
    """

    psu_watts: float | None = None
    psu_connectors: tuple[str, ...] | None = None
    clearance_mm: float | None = None
    kwh_price: float | None = None
    hours_per_week: float | None = None

    @property
    def kwh(self) -> float:
        """The electricity price to use (the default when unknown)."""
        return self.kwh_price if self.kwh_price is not None else DEFAULT_KWH_PRICE

    @property
    def hours(self) -> float:
        """Hours of use per week to use (the default when unknown)."""
        return self.hours_per_week if self.hours_per_week is not None else DEFAULT_HOURS_PER_WEEK

    def merged(self, override: RigFacts) -> RigFacts:
        """These facts with every known field of ``override`` taking precedence."""
        values = {f.name: getattr(override, f.name) if getattr(override, f.name) is not None
                  else getattr(self, f.name) for f in dataclasses.fields(self)}
        return RigFacts(**values)


def parse_connectors(text: str, where: str = "", field: str = "psu_connectors") -> tuple[str, ...]:
    """Read a connector list such as ``"2x8-pin, 12v-2x6"`` or ``"none"``.

    Raises:
        FactsError: an unknown connector name or a bad count.
    """
    cleaned = text.strip().lower()
    if cleaned in ("", "none", "0"):
        return ()
    out: list[str] = []
    for part in re.split(r"\s*[,;]\s*|\s+\+\s+", cleaned):
        token = part.strip().replace(" ", "")
        if not token:
            continue
        count = 1
        found = re.fullmatch(r"(\d+)[x*](.+)", token)
        if found:
            count, token = int(found.group(1)), found.group(2)
        name = _ALIASES.get(token, token)
        if name not in CONNECTOR_NAMES:
            raise FactsError(where, field, f"unknown connector {part.strip()!r} (use "
                             f"{', '.join(CONNECTOR_NAMES)}, e.g. '2x8-pin,12v-2x6' or 'none')")
        if count <= 0 or count > 16:
            raise FactsError(where, field, f"connector count must be 1..16, got {count}")
        out.extend([name] * count)
    return tuple(out)


def format_connectors(connectors: tuple[str, ...] | None) -> str:
    """``("8-pin", "8-pin", "12v-2x6")`` as ``"2x 8-pin + 1x 12v-2x6"``."""
    if connectors is None:
        return "unknown"
    if not connectors:
        return "none"
    counts: dict[str, int] = {}
    for name in connectors:
        counts[name] = counts.get(name, 0) + 1
    return " + ".join(f"{n}x {name}" for name, n in counts.items())


_NUMBER_FIELDS = {
    "psu_watts": (100.0, 5000.0),
    "clearance_mm": (50.0, 1000.0),
    "kwh_price": (0.0, 10.0),
    "hours_per_week": (0.0, 168.0),
}


def check_number(field: str, value: float, where: str = "") -> float:
    """Validate one numeric fact against its sensible range.

    Raises:
        FactsError: not finite, or outside the field's range.
    """
    low, high = _NUMBER_FIELDS[field]
    if not math.isfinite(value):
        raise FactsError(where, field, f"must be a finite number, got {value}")
    if value < 0:
        raise FactsError(where, field, f"cannot be negative, got {value:g}")
    if not low <= value <= high:
        raise FactsError(where, field, f"must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def facts_from_dict(data: object, where: str = "<facts>") -> RigFacts:
    """Build facts from their JSON form, strictly (unknown keys and wrong types are errors).

    Raises:
        FactsError: naming ``where`` and the field.
    """
    if not isinstance(data, dict):
        raise FactsError(where, "", "the top level must be a JSON object")
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if raw is None:
            continue
        if key in _NUMBER_FIELDS:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise FactsError(where, key, "must be a number")
            values[key] = check_number(key, float(raw), where)
        elif key == "psu_connectors":
            if isinstance(raw, str):
                values[key] = parse_connectors(raw, where)
            elif isinstance(raw, list) and all(isinstance(v, str) for v in raw):
                values[key] = parse_connectors(",".join(raw), where) if raw else ()
            else:
                raise FactsError(where, key, "must be a string like '2x8-pin' or a list of "
                                 "connector names")
        else:
            known = ", ".join([*_NUMBER_FIELDS, "psu_connectors"])
            raise FactsError(where, str(key), f"unknown field (known: {known})")
    return RigFacts(**values)


def load_facts(path: Path) -> RigFacts:
    """Read a facts JSON file.

    Raises:
        FactsError: unreadable file, bad JSON, or a bad field (file and field named).
    """
    where = str(path)
    data = read_json_file(path, FactsError)
    return facts_from_dict(data, where)


def facts_to_dict(facts: RigFacts) -> dict[str, Any]:
    """The JSON form (unknown fields are null)."""
    out: dict[str, Any] = {f.name: getattr(facts, f.name) for f in dataclasses.fields(facts)}
    if facts.psu_connectors is not None:
        out["psu_connectors"] = list(facts.psu_connectors)
    return out
