"""Showing prices: "as of DATE", age warnings, and the user's currency beside USD.

A :class:`PriceView` is made once per answer (``PriceView.from_catalog``) with today's date and
the user's currency, both injectable. Amounts in another currency always come with the USD
figure and the dated rate they were converted at; a currency the catalog has no rate for is
shown as USD alone, with a note saying so.
"""

from __future__ import annotations

import locale
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from rigready.catalog.prices import (
    KIND_WORDS,
    Price,
    age_days,
    age_text,
    as_of,
    max_age_days,
    rate_for,
    stale_warning,
)
from rigready.catalog.schema import Catalog, ExchangeRateEntry, PricePolicyEntry

#: Territory (the part after "_" in a locale name) -> currency, for the common cases.
_EURO = ("AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU",
         "LV", "MT", "NL", "PT", "SI", "SK")
TERRITORY_CURRENCY: dict[str, str] = {
    **{t: "EUR" for t in _EURO},
    "US": "USD", "GB": "GBP", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "JP": "JPY", "CN": "CNY",
    "IN": "INR", "CH": "CHF", "SE": "SEK", "NO": "NOK", "DK": "DKK", "PL": "PLN", "CZ": "CZK",
    "BR": "BRL", "MX": "MXN", "KR": "KRW", "SG": "SGD", "ZA": "ZAR", "TR": "TRY", "HU": "HUF",
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def locale_name() -> str | None:
    """The platform's locale for money (``de_DE``), from the environment or the locale module.

    ``RIGREADY_LOCALE`` wins (tests and users who want another currency set it). Then the POSIX
    order LC_ALL, LC_MONETARY, LANG (the first one set decides; C/POSIX means none): Python never
    applies LC_MONETARY by itself, and ``locale.getlocale()`` reports a C.UTF-8 process as
    ``en_US``, so asking the locale module first would hide a "Formats: Germany" desktop setting.
    The locale module answers where none is set (Windows).
    """
    forced = os.environ.get("RIGREADY_LOCALE")
    if forced:
        return forced
    for var in ("LC_ALL", "LC_MONETARY", "LANG"):
        value = os.environ.get(var)
        if value:
            return None if value in ("C", "POSIX") or value.startswith("C.") else value
    try:
        name = locale.getlocale(locale.LC_MONETARY)[0] or locale.getlocale()[0]
    except (ValueError, AttributeError):
        name = None
    return name or None


def currency_for(name: str | None) -> str:
    """The currency of a locale name (``de_DE.UTF-8`` -> EUR); USD when unknown."""
    if not name:
        return "USD"
    base = name.split(".")[0].split("@")[0].replace("-", "_")
    territory = base.split("_")[1].upper() if "_" in base else ""
    return TERRITORY_CURRENCY.get(territory, "USD")


def today() -> date:
    """Today, or ``RIGREADY_TODAY`` (YYYY-MM-DD) when set (tests, reproducible reports)."""
    forced = os.environ.get("RIGREADY_TODAY")
    if forced:
        try:
            return date.fromisoformat(forced)
        except ValueError:
            pass
    return date.today()


def usd(amount: float, per_hour: bool = False, whole: bool = False) -> str:
    """``$1,299.99`` (``$0.34/h`` for a rate; ``$1,300`` when ``whole``, for "about ...")."""
    if per_hour:
        return f"${amount:,.4g}/h" if amount < 10 else f"${amount:,.2f}/h"
    return f"${amount:,.0f}" if whole else f"${amount:,.2f}"


def _in(code: str, amount: float, per_hour: bool, whole: bool = False) -> str:
    symbol = _SYMBOLS.get(code)
    digits = 0 if whole or code in ("JPY", "KRW", "HUF") else 2
    text = f"{symbol}{amount:,.{digits}f}" if symbol else f"{code} {amount:,.{digits}f}"
    return text + ("/h" if per_hour else "")


@dataclass(frozen=True, slots=True)
class PriceView:
    """How to show prices today for this user.

    Attributes:
        today: the date ages are counted to.
        policies: the catalog's age limits.
        currency: the user's currency (from the locale).
        rate: the dated rate to it (None: USD, or no rate in the catalog).
    """

    today: date
    policies: tuple[PricePolicyEntry, ...] = ()
    currency: str = "USD"
    rate: ExchangeRateEntry | None = None
    rates: tuple[ExchangeRateEntry, ...] = field(default=())

    @classmethod
    def from_catalog(cls, catalog: Catalog, *, on: date | None = None,
                     currency: str | None = None) -> PriceView:
        """The view for ``catalog``: today (or ``on``) and the locale's currency (or
        ``currency``)."""
        code = (currency or currency_for(locale_name())).upper()
        rate = None if code == "USD" else rate_for(catalog.exchange_rates, code)
        return cls(on or today(), tuple(catalog.price_policies), code, rate,
                   tuple(catalog.exchange_rates))

    def money(self, amount_usd: float, per_hour: bool = False, whole: bool = False) -> str:
        """The amount in the user's currency with USD alongside (``€212.40 (US$204.00)``), or
        USD alone when the user's currency is USD or has no rate. ``whole`` rounds to whole
        units (``€364 (US$428)``) for an "about ..." figure; rates per hour are never rounded."""
        if self.rate is None:
            return usd(amount_usd, per_hour, whole)
        local = amount_usd / self.rate.usd_per_unit
        return (f"{_in(self.currency, local, per_hour, whole)} "
                f"(US{usd(amount_usd, per_hour, whole)})")

    def money_or_unknown(self, amount_usd: float | None) -> str:
        """:meth:`money`, or ``unknown`` when there is no amount."""
        return "unknown" if amount_usd is None else self.money(amount_usd)

    def warning(self, price: Price) -> str:
        """The age warning for this price ("" when it is recent enough)."""
        return stale_warning(price, self.policies, self.today)

    def label(self, price: Price) -> str:
        """``street price, as of 2026-11-28`` (``your price, as of ...`` for the user's)."""
        kind = KIND_WORDS.get(price.kind, price.kind)
        origin = ""
        if price.currency != "USD" and price.amount is not None:
            origin = f", published as {_in(price.currency, price.amount, False)}"
        return f"{kind}, {as_of(price.date)}{origin}"

    def describe(self, price: Price, per_hour: bool = False) -> str:
        """``$229.99 (street price, as of 2026-11-28)`` plus the age warning when there is one."""
        text = f"{self.money(price.usd, per_hour)} ({self.label(price)})"
        warn = self.warning(price)
        return f"{text} — {warn}" if warn else text

    def notes(self) -> list[str]:
        """Lines to print once under an answer: the exchange rate used, or why there is none."""
        if self.currency == "USD":
            return []
        if self.rate is None:
            return [f"Prices are in USD: the catalog has no dated exchange rate for "
                    f"{self.currency}."]
        r = self.rate
        line = (f"{self.currency} amounts are converted at {r.usd_per_unit:.6g} USD per "
                f"{self.currency}, the rate of {r.rate_date.isoformat()} ({r.source}); "
                "USD is shown alongside.")
        warn = self.rate_warning()
        return [f"{line} Warning: this rate is {warn}." if warn else line]

    def short_note(self) -> str:
        """:meth:`notes` in one line for a crowded page (the source left to the long form):
        ``EUR at 1.175 USD per EUR, the rate of 2025-12-31 (11 months old, limit 90 days): the
        USD figures are the ones to trust``; "" in USD."""
        if self.currency == "USD":
            return ""
        if self.rate is None:
            return f"Prices in USD: no dated exchange rate for {self.currency}"
        r = self.rate
        text = (f"{self.currency} at {r.usd_per_unit:.6g} USD per {self.currency}, the rate of "
                f"{r.rate_date.isoformat()}")
        past = self._rate_past_limit()
        if past is not None:
            return (f"{text} ({age_text(past[0])} old, limit {past[1]} days): the USD figures "
                    "are the ones to trust")
        return f"{text}; USD alongside"

    def _rate_past_limit(self) -> tuple[int, int] | None:
        """(age, limit) in days when the rate is older than the catalog allows, else None."""
        if self.rate is None:
            return None
        limit = max_age_days(self.policies, "exchange-rate")
        age = age_days(self.rate.rate_date, self.today)
        return None if limit is None or age is None or age <= limit else (age, limit)

    def rate_warning(self) -> str:
        """"20 months old (limit 90 days): the local amounts may be off; the USD figures are
        the ones to trust" when the rate is past the catalog's limit ("" when not, or no rate)."""
        past = self._rate_past_limit()
        if past is None:
            return ""
        return (f"{age_text(past[0])} old (limit {past[1]} days): the {self.currency} amounts "
                "may be off; the USD figures are the ones to trust")


def stale_count(view: PriceView, prices: Sequence[Price]) -> int:
    """How many of ``prices`` are older than the catalog allows."""
    return sum(1 for p in prices if view.warning(p))


def view_or_usd(view: PriceView | None, policies: Sequence[PricePolicyEntry] = ()) -> PriceView:
    """``view``, or a view in USD as of today (with the catalog's age limits ``policies``): the
    one fallback for callers that were given no view."""
    return view if view is not None else PriceView(today(), tuple(policies))
