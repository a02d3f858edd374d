"""Catalog entries about money: cloud offers, dated exchange rates, how old a price may be,
and the user's own prices (re-exported by :mod:`rigready.catalog.schema`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rigready.catalog.schema_types import PricedTable, PriceKind, PriceScope


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudOfferEntry:
    """A rentable cloud instance (``[[cloud_offer]]`` in cloud.toml)."""

    id: str
    provider: str
    instance: str
    gpu_id: str
    gpu_count: int
    usd_per_hour: float
    vcpus: int | None = None
    ram_gib: float | None = None
    spot: bool
    price_date: date
    price_source: str
    #: What the price is; omitted: derived (GPU street/launch, cloud on-demand/spot, else street).
    price_kind: PriceKind | None = None
    #: ISO 4217 code of the figure as published; not USD: ``price_amount`` holds it and the
    #: loader converts it to USD with the catalog's dated exchange rate.
    price_currency: str = "USD"
    price_amount: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeRateEntry:
    """A dated exchange rate (``[[exchange_rate]]`` in prices.toml): one unit in US dollars."""

    id: str
    currency: str
    usd_per_unit: float
    rate_date: date
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PricePolicyEntry:
    """How old a price may be before rigready warns (``[[price_policy]]`` in prices.toml)."""

    id: str
    applies_to: PriceScope
    max_age_days: int
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceOverrideEntry:
    """A price the user found (``[[price_override]]``, written by ``catalog price set``).

    ``id`` is the part's catalog id; ``part`` names its table when an id is not unique.
    """

    id: str
    part: PricedTable | None = None
    price: float
    currency: str = "USD"
    price_date: date
    price_source: str = "your price"
