"""What to do when a task needs more GPU memory: what works for this kind of machine.

Only a desktop (or a server with a free slot) takes a new graphics card. A laptop's GPU is
soldered: it can use an external GPU where a Thunderbolt 3/4 or USB4 port exists (the link is a
PCIe 3.0 x4 tunnel, 32 Gbit/s, about 4 GB/s: Intel's Thunderbolt 3 and 4 specifications; a
desktop x16 4.0 slot moves about 32 GB/s), or rent. A virtual machine is resized by choosing a
bigger instance. When the form factor is unknown both readings are given, desktop last.

Prices are shown through the caller's :class:`~catalog.money.PriceView` (the user's currency
with USD alongside, as in the plans); without one, in USD as of today.
"""

from __future__ import annotations

from rigready.assess.score_facts import ScoreFacts
from rigready.catalog import Catalog, CloudOfferEntry, GpuEntry
from rigready.catalog.money import PriceView, view_or_usd
from rigready.catalog.prices import KIND_WORDS, as_of, price_of

#: What an external GPU costs in bandwidth (stated wherever one is suggested).
EGPU_LINK = ("an external GPU runs over a PCIe 3.0 x4 tunnel (about 4 GB/s against about 32 GB/s "
             "in a desktop x16 slot): loading the model and CPU offload are several times slower; "
             "training speed on the card is mostly kept")


def egpu_text(thunderbolt: bool | None) -> str:
    """The external-GPU option for a laptop, honest about whether it has the port."""
    if thunderbolt:
        return (f"an external GPU enclosure on its Thunderbolt/USB4 port ({EGPU_LINK})")
    if thunderbolt is None:
        return ("an external GPU only if it has a Thunderbolt 3/4 or USB4 port (none could be "
                "detected: look for the lightning-bolt or USB4 mark next to a USB-C port); "
                + EGPU_LINK)
    return "no external GPU: no Thunderbolt or USB4 controller was found"


def _cheapest_card(catalog: Catalog, need_gib: float) -> GpuEntry | None:
    priced = [g for g in catalog.gpus
              if g.segment in ("desktop", "workstation") and g.vram_gib >= need_gib
              and g.street_price_usd is not None]
    return min(priced, key=lambda g: g.street_price_usd or 0.0, default=None)


def _desktop_card(catalog: Catalog, need_gib: float, view: PriceView) -> str:
    cheapest = _cheapest_card(catalog, need_gib)
    text = f"a GPU with at least {need_gib:g} GiB VRAM"
    if cheapest is not None:
        text += f", such as the {cheapest.name} ({_dated(cheapest, view)})"
    return text


def _dated(entry: GpuEntry | CloudOfferEntry, view: PriceView, per_hour: bool = False) -> str:
    """``about $229, street price as of 2026-11-28`` (an old price's warning is said once per
    answer, by :func:`fix_price_warnings`, not in every fix that names it)."""
    price = price_of(entry)
    if price is None:
        return "not priced"
    figure = view.money(price.usd, per_hour=True) if per_hour else \
        f"about {view.money(price.usd, whole=True)}"
    label = "your price" if price.yours else KIND_WORDS.get(price.kind, price.kind)
    return f"{figure}, {label} {as_of(price.date)}"


def fix_price_warnings(facts: ScoreFacts, catalog: Catalog, needs: list[float],
                       view: PriceView | None = None) -> tuple[str, ...]:
    """The age warning of each price the fixes for ``needs`` (GiB of GPU memory) name, each
    once: ``NVIDIA GeForce RTX 3090 (used as of 2026-05-16): 7 months old (limit 90 days):
    check it``."""
    shown = view_or_usd(view, catalog.price_policies)
    out: dict[str, None] = {}
    for need in dict.fromkeys(needs):
        named: list[tuple[str, GpuEntry | CloudOfferEntry]] = []
        card = _cheapest_card(catalog, need)
        if card is not None and facts.form_factor not in ("laptop", "vm"):
            named.append((card.name, card))
        offer = _cheapest_rent(catalog, need)
        if offer is not None:
            named.append((f"{offer.provider} {offer.instance}", offer))
        for name, entry in named:
            price = price_of(entry)
            warn = shown.warning(price) if price is not None else ""
            if price is not None and warn:
                label = "your price" if price.yours else KIND_WORDS.get(price.kind, price.kind)
                out[f"{name} ({label} {as_of(price.date)}): {warn}"] = None
    return tuple(out)


def _cheapest_rent(catalog: Catalog, need_gib: float) -> CloudOfferEntry | None:
    offers = []
    for offer in catalog.cloud_offers:
        try:
            gpu = catalog.gpu(offer.gpu_id)
        except KeyError:
            continue
        if gpu.vram_gib >= need_gib:
            offers.append(offer)
    # On-demand first: a spot instance can be taken away mid-run.
    return min(offers, key=lambda o: (o.spot, o.usd_per_hour), default=None)


def _rent(catalog: Catalog, need_gib: float, view: PriceView) -> str:
    rent = _cheapest_rent(catalog, need_gib)
    if rent is None:
        return ""
    return f"rent one: {rent.provider} {rent.instance} at {_dated(rent, view, per_hour=True)}"


def gpu_fix(facts: ScoreFacts, catalog: Catalog, need_gib: float,
            view: PriceView | None = None) -> str:
    """The smallest way to get ``need_gib`` of GPU memory that works for this machine.

    ``view`` shows the prices (the user's currency beside USD); USD as of today when omitted.
    """
    shown = view_or_usd(view, catalog.price_policies)
    rent = _rent(catalog, need_gib, shown)
    form = facts.form_factor
    if form == "laptop":
        return _laptop_fix(facts.thunderbolt, need_gib, rent)
    if form == "vm":
        parts = [f"a cloud instance with at least {need_gib:g} GiB of GPU memory (a VM's GPU is "
                 "chosen with the instance, not installed)"]
    elif form == "unknown":
        parts = ["the form factor could not be read: if this is a laptop its GPU cannot be "
                 "swapped; if it is a desktop, " + _desktop_card(catalog, need_gib, shown)]
    else:
        parts = [_desktop_card(catalog, need_gib, shown)]
    if rent:
        parts.append(rent)
    return ", or ".join(parts)


def _laptop_fix(thunderbolt: bool | None, need_gib: float, rent: str) -> str:
    """A laptop's GPU cannot be swapped: an external GPU where the port exists, else rent."""
    head = f"needs a GPU with at least {need_gib:g} GiB VRAM; a laptop's GPU cannot be swapped"
    if thunderbolt is False:
        text = head + " and, with no Thunderbolt or USB4 port, no external GPU can be attached"
        return text + (f": {rent}" if rent else "")
    return f"{head}: use {egpu_text(thunderbolt)}" + (f", or {rent}" if rent else "")
