"""Prices as dated facts: what each catalog price is, how old it is, in which currency it was
published, and the user's own prices laid over the catalog's.

Every priced entry (GPU, CPU, RAM kit, drive, PSU, cloud offer) has one main USD price; this
module knows which key that is, what kind of price it is (street, launch MSRP, on demand, spot,
used, yours), converts a price published in another currency with the catalog's dated exchange
rate, and applies ``[[price_override]]`` entries from the user's catalog folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rigready.catalog.errors import CatalogError
from rigready.catalog.schema import (
    CloudOfferEntry,
    CpuEntry,
    DriveEntry,
    ExchangeRateEntry,
    GpuEntry,
    PriceOverrideEntry,
    PricePolicyEntry,
    PsuEntry,
    RamKitEntry,
)

#: Table name -> entry class, for the tables whose entries carry a price.
PRICED_TABLES: Mapping[str, type[Any]] = {
    "gpu": GpuEntry, "cpu": CpuEntry, "ram_kit": RamKitEntry, "drive": DriveEntry,
    "psu": PsuEntry, "cloud_offer": CloudOfferEntry,
}
#: Words for a table in messages.
TABLE_WORDS = {"gpu": "GPU", "cpu": "CPU", "ram_kit": "RAM kit", "drive": "drive", "psu": "PSU",
               "cloud_offer": "cloud offer"}
#: Words for a price kind, as shown beside a price.
KIND_WORDS = {"street": "street price", "launch-msrp": "launch MSRP", "on-demand": "on demand",
              "spot": "spot", "used": "used", "yours": "your price"}
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
#: Kinds that mean "what a card sells for now", which a GPU keeps in ``street_price_usd``.
_STREET_KINDS = ("street", "used", "yours")


def entries_of(catalog: Any, table: str) -> tuple[Any, ...]:
    """The catalog's entries of one table (``"ram_kit"`` -> ``catalog.ram_kits``)."""
    from rigready.catalog.schema import KINDS

    attribute = next(k.attribute for k in KINDS if k.table == table)
    entries: tuple[Any, ...] = getattr(catalog, attribute)
    return entries


def usd_key(entry: Any) -> str:
    """The name of the entry's main USD price field (``street_price_usd``, ``usd_per_hour``...)."""
    if isinstance(entry, GpuEntry):
        if entry.street_price_usd is not None or entry.price_kind in _STREET_KINDS:
            return "street_price_usd"
        return "launch_price_usd"
    if isinstance(entry, CloudOfferEntry):
        return "usd_per_hour"
    return "price_usd"


def kind_of(entry: Any) -> str:
    """The entry's price kind, derived when the catalog does not state it."""
    if entry.price_kind is not None:
        return str(entry.price_kind)
    if isinstance(entry, CloudOfferEntry):
        return "spot" if entry.spot else "on-demand"
    if isinstance(entry, GpuEntry) and entry.street_price_usd is None:
        return "launch-msrp"
    return "street"


@dataclass(frozen=True, slots=True)
class Price:
    """One price with everything needed to show it honestly.

    Attributes:
        usd: the figure in US dollars (per hour for a cloud offer).
        date: the day the figure was seen or published (None: undated).
        source: where it came from.
        kind: street, launch-msrp, on-demand, spot, used or yours.
        currency: the currency it was published in; ``amount`` is the figure in it.
        rate: the exchange rate used when ``currency`` is not USD.
        scope: "cloud" for an hourly rate, else "part" (which age limit applies).
    """

    usd: float
    date: date | None
    source: str
    kind: str
    currency: str = "USD"
    amount: float | None = None
    rate: ExchangeRateEntry | None = None
    scope: str = "part"

    @property
    def yours(self) -> bool:
        """Whether the user entered this price."""
        return self.kind == "yours"


def price_of(entry: Any) -> Price | None:
    """The entry's main price (None when it has none)."""
    value = getattr(entry, usd_key(entry), None)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    scope = "cloud" if isinstance(entry, CloudOfferEntry) else "part"
    return Price(float(value), entry.price_date, entry.price_source or "", kind_of(entry),
                 entry.price_currency, entry.price_amount, None, scope)


def check_price_fields(entry: Any, fail: Any) -> None:
    """Cross-key rules of the price keys: a currency code, and ``price_amount`` iff not USD."""
    currency = entry.price_currency
    if not _CURRENCY_RE.match(currency):
        raise fail("price_currency", f"must be a three-letter ISO 4217 code such as USD or EUR; "
                   f"found {currency!r}")
    if currency == "USD" and entry.price_amount is not None:
        raise fail("price_amount", "only for a price in another currency (price_currency); "
                   "a USD price goes in the *_usd key")
    if currency != "USD" and entry.price_amount is None:
        raise fail("price_amount", f"missing: a price in {currency} needs price_amount (the "
                   "loader converts it to USD with the catalog's exchange rate)")
    if entry.price_kind == "yours":
        raise fail("price_kind", "'yours' is set by your price overrides "
                   "(rigready catalog price set), not by a catalog file")


def usd_placeholders(cls: type[Any], raw: Mapping[Any, Any]) -> dict[str, float]:
    """Required USD keys a non-USD row leaves out, filled with NaN until :func:`convert_prices`
    gives them the converted figure (a row giving both is refused by :func:`check_foreign_row`).
    """
    if cls not in PRICED_TABLES.values():
        return {}
    currency = raw.get("price_currency")
    if not isinstance(currency, str) or currency == "USD":
        return {}
    required = [f.name for f in dataclasses.fields(cls)
                if f.name in ("price_usd", "usd_per_hour")
                and f.default is dataclasses.MISSING]
    return {key: math.nan for key in required if key not in raw}


def check_foreign_row(cls: type[Any], raw: Mapping[Any, Any], fail: Any) -> None:
    """A row priced in another currency must not also state a USD figure (no silent mixing)."""
    currency = raw.get("price_currency")
    if cls not in PRICED_TABLES.values() or not isinstance(currency, str) or currency == "USD":
        return
    for key in ("price_usd", "usd_per_hour", "street_price_usd", "launch_price_usd"):
        if key in raw:
            raise fail(key, f"the price is in {currency} (price_amount); leave the USD key out, "
                       "the loader converts with the catalog's dated exchange rate")


def rate_for(rates: Sequence[ExchangeRateEntry], currency: str) -> ExchangeRateEntry | None:
    """The newest exchange rate for ``currency`` (None: the catalog has none)."""
    matching = [r for r in rates if r.currency == currency]
    return max(matching, key=lambda r: r.rate_date, default=None)


def _converted(entry: Any, rates: Sequence[ExchangeRateEntry], where: str) -> Any:
    currency = entry.price_currency
    if currency == "USD" or entry.price_amount is None:
        return entry
    rate = rate_for(rates, currency)
    if rate is None:
        raise CatalogError(where, entry.id, "price_currency",
                           f"no [[exchange_rate]] for {currency} in the catalog")
    usd = round(entry.price_amount * rate.usd_per_unit, 2)
    note = (f"{entry.price_source} [{currency} {entry.price_amount:,.2f} converted at "
            f"{rate.usd_per_unit:g} USD/{currency} of {rate.rate_date.isoformat()}]")
    key = ("street_price_usd" if isinstance(entry, GpuEntry)
           and entry.price_kind != "launch-msrp" else usd_key(entry))
    return dataclasses.replace(entry, **{key: usd, "price_source": note})


def convert_prices(merged: dict[str, dict[str, Any]], rates: Sequence[ExchangeRateEntry],
                   origin: Mapping[tuple[str, str], str]) -> None:
    """Give every entry priced in another currency its USD figure (in place, per table).

    Raises:
        CatalogError: the catalog has no exchange rate for a currency used.
    """
    for table in PRICED_TABLES:
        for entry_id, entry in list(merged[table].items()):
            where = origin.get((table, entry_id), "<catalog>")
            merged[table][entry_id] = _converted(entry, rates, where)


def find_part(merged: Mapping[str, Mapping[str, Any]], part_id: str,
              table: str | None = None) -> tuple[str, Any]:
    """The ``(table, entry)`` a part id names, across the priced tables.

    Raises:
        KeyError: no such part, or the id is used by two tables and ``table`` is not given;
            the message ranks the nearest ids.
    """
    tables = [table] if table else list(PRICED_TABLES)
    hits = [(t, merged[t][part_id]) for t in tables if part_id in merged.get(t, {})]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise KeyError(f"{part_id!r} names a {' and a '.join(TABLE_WORDS[t] for t, _ in hits)}: "
                       "give the kind too")
    ids = [i for t in tables for i in merged.get(t, {})]
    # ids that contain what was typed first (shortest first), then the nearest spellings
    contained = sorted((i for i in ids if part_id.lower() in i), key=len)
    close = list(dict.fromkeys([*contained, *difflib.get_close_matches(part_id, ids, n=3,
                                                                       cutoff=0.4)]))[:3]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise KeyError(f"no priced part with id {part_id!r}{hint}")


def apply_overrides(merged: dict[str, dict[str, Any]], overrides: Sequence[PriceOverrideEntry],
                    rates: Sequence[ExchangeRateEntry],
                    origin: Mapping[tuple[str, str], str]) -> None:
    """Lay the user's prices over the entries (in place): kind "yours", their date and source.

    Raises:
        CatalogError: an override names no part, or a currency without an exchange rate.
    """
    for override in overrides:
        where = origin.get(("price_override", override.id), "<catalog>")
        try:
            table, entry = find_part(merged, override.id, override.part)
        except KeyError as exc:
            raise CatalogError(where, override.id, "id", str(exc.args[0])) from None
        usd, amount = override.price, None
        if override.currency != "USD":
            if not _CURRENCY_RE.match(override.currency):
                raise CatalogError(where, override.id, "currency",
                                   "must be a three-letter ISO 4217 code such as USD or EUR")
            rate = rate_for(rates, override.currency)
            if rate is None:
                raise CatalogError(where, override.id, "currency",
                                   f"no [[exchange_rate]] for {override.currency} in the catalog")
            usd, amount = round(override.price * rate.usd_per_unit, 2), override.price
        key = "street_price_usd" if table == "gpu" else usd_key(entry)
        extra: dict[str, Any] = {"price_note": None} if table == "gpu" else {}
        merged[table][override.id] = dataclasses.replace(
            entry, **{key: usd}, **extra, price_date=override.price_date,
            price_source=override.price_source, price_kind="yours",
            price_currency=override.currency, price_amount=amount)


def max_age_days(policies: Sequence[PricePolicyEntry], scope: str) -> int | None:
    """The catalog's age limit for a part ("part"), cloud ("cloud") price or an exchange rate
    ("exchange-rate"), in days."""
    days = [p.max_age_days for p in policies if p.applies_to == scope]
    return min(days) if days else None


def age_days(when: date | None, today: date) -> int | None:
    """Days from ``when`` to ``today`` (None: undated)."""
    return None if when is None else (today - when).days


def stale_warning(price: Price, policies: Sequence[PricePolicyEntry], today: date) -> str:
    """A warning when the price is older than the catalog allows for its scope ("" when not)."""
    if price.date is None:
        return "undated price: check it before buying"
    limit = max_age_days(policies, price.scope)
    age = age_days(price.date, today)
    if limit is None or age is None or age <= limit:
        return ""
    return f"{age_text(age)} old (limit {limit} days): check it"


def age_text(age: int) -> str:
    """An age in days as people say it: ``45 days``, ``20 months``."""
    return f"{age} days" if age < 120 else f"{age / 30.44:,.0f} months"


def as_of(when: date | None) -> str:
    """``as of 2026-11-28`` (or ``undated``)."""
    return f"as of {when.isoformat()}" if when is not None else "undated"
