"""The user's own prices: ``price-overrides.toml`` in the user's catalog folder.

``rigready catalog price set`` and the window's "I found it for ..." write here; the loader reads
the file like any other user catalog file (``[[price_override]]`` entries) and lays each price
over its part, so the next plan uses it and shows it as "your price" with its date.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import cast

from rigready.catalog.errors import CatalogError
from rigready.catalog.loader import load_catalog, merge, parse_file, parse_text
from rigready.catalog.paths import user_catalog_dir
from rigready.catalog.prices import PRICED_TABLES, entries_of, find_part
from rigready.catalog.schema import Catalog, PricedTable, PriceOverrideEntry
from rigready.catalog.userfiles import write_user_file

OVERRIDES_FILE = "price-overrides.toml"
_HEADER = ("# Prices you entered (rigready catalog price set, or the window's \"I found it\").\n"
           "# Each replaces the catalog's price of the part with that id; format:\n"
           "# docs/catalog-format.md ([[price_override]]). Remove one with\n"
           "# rigready catalog price unset ID.\n\n")


def overrides_path(user_dir: Path | None = None) -> Path:
    """Where the user's prices are kept."""
    return (user_dir if user_dir is not None else user_catalog_dir()) / OVERRIDES_FILE


def read_overrides(path: Path) -> list[PriceOverrideEntry]:
    """The overrides in ``path`` (none when it does not exist).

    Raises:
        CatalogError: the file exists but is not a valid catalog file.
    """
    if not path.exists():
        return []
    return list(parse_file(path).entries.get("price_override", ()))


def _toml_str(text: str) -> str:
    # a JSON string is a valid TOML basic string (same escapes)
    return json.dumps(text, ensure_ascii=False)


def render_overrides(entries: Sequence[PriceOverrideEntry], updated: date) -> str:
    """The overrides file as TOML text."""
    out = [_HEADER, "[meta]", f"updated = {updated.isoformat()}",
           'description = "Your prices"', ""]
    for e in sorted(entries, key=lambda x: x.id):
        out.append("[[price_override]]")
        out.append(f"id = {_toml_str(e.id)}")
        if e.part is not None:
            out.append(f"part = {_toml_str(e.part)}")
        out.append(f"price = {e.price!r}")
        out.append(f"currency = {_toml_str(e.currency)}")
        out.append(f"price_date = {e.price_date.isoformat()}")
        out.append(f"price_source = {_toml_str(e.price_source)}")
        out.append("")
    return "\n".join(out)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through the shared safe writer (temporary file, fsync, rename),
    so a crash leaves the old file or the new one, never half of one.

    Raises:
        OSError: the folder cannot be created.
        UserFileError: the file cannot be written (a ``ValueError``: one line).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    write_user_file(path, text, force=True, app_file=True)


def parse_price(text: str) -> float:
    """A price the user typed (``199``, ``199.99``, ``$1,299``), checked.

    Raises:
        ValueError: not a number, not finite, or not above zero; the message says which.
    """
    cleaned = text.strip().lstrip("$€£").replace(",", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"price must be a number such as 199.99, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"price must be a finite number such as 199.99, got {text!r}")
    if value <= 0:
        raise ValueError(f"price must be above zero, got {text!r}")
    return round(value, 2)


def set_price(part_id: str, price: float, *, today: date, currency: str = "USD",
              source: str | None = None, user_dir: Path | None = None,
              catalog: Catalog | None = None) -> tuple[PriceOverrideEntry, str]:
    """Record the user's price for one part; returns the override and the part's table.

    The new file is validated together with the whole catalog before it replaces the old one,
    so a bad price never reaches disk.

    Raises:
        KeyError: no priced part has this id (the message ranks the nearest ids).
        ValueError: a price that is not above zero.
        CatalogError: the result would not load (an unknown currency, say).
        OSError: the file cannot be written.
    """
    if not math.isfinite(price):
        raise ValueError(f"price must be a finite number, got {price:g}")
    if price <= 0:
        raise ValueError(f"price must be above zero, got {price:g}")
    folder = user_dir if user_dir is not None else user_catalog_dir()
    cat = catalog if catalog is not None else load_catalog(folder if folder.exists() else None)
    by_table = {t: {e.id: e for e in entries_of(cat, t)} for t in PRICED_TABLES}
    table, _entry = find_part(by_table, part_id)
    path = overrides_path(folder)
    kept = [e for e in read_overrides(path) if e.id != part_id]
    part = cast(PricedTable, table) if _ambiguous(by_table, part_id) else None
    new = PriceOverrideEntry(id=part_id, part=part,
                             price=round(price, 2), currency=currency.upper(), price_date=today,
                             price_source=source.strip() if source and source.strip()
                             else "your price")
    text = render_overrides([*kept, new], today)
    _validate(text, path, folder)
    write_atomic(path, text)
    return new, table


def unset_price(part_id: str, *, today: date, user_dir: Path | None = None) -> bool:
    """Forget the user's price for one part (False when there was none).

    Raises:
        CatalogError: the overrides file is invalid.
        OSError: the file cannot be written.
    """
    path = overrides_path(user_dir)
    entries = read_overrides(path)
    kept = [e for e in entries if e.id != part_id]
    if len(kept) == len(entries):
        return False
    write_atomic(path, render_overrides(kept, today))
    return True


def _ambiguous(by_table: dict[str, dict[str, object]], part_id: str) -> bool:
    return sum(part_id in ids for ids in by_table.values()) > 1


def _validate(text: str, path: Path, folder: Path) -> None:
    """The whole catalog must load with ``text`` in place of the overrides file."""
    parsed = parse_text(text, str(path))
    others = [parse_file(p) for p in sorted(folder.glob("*.toml"))
              if p.name != OVERRIDES_FILE] if folder.exists() else []
    from rigready.catalog.loader import builtin_files  # the installed pack or the shipped data

    merge([parse_file(p) for p in builtin_files()], [*others, parsed])


__all__ = ["OVERRIDES_FILE", "CatalogError", "overrides_path", "parse_price", "read_overrides",
           "render_overrides", "set_price", "unset_price", "write_atomic"]
