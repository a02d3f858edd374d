"""``rigready catalog price ...``, ``catalog update`` and ``catalog online``: the user's prices,
data packs and the live-offers setting."""

from __future__ import annotations

import argparse
from typing import Any

from rigready.catalog import load_catalog
from rigready.catalog.errors import CatalogError
from rigready.catalog.money import PriceView, today
from rigready.catalog.overrides import (
    overrides_path,
    parse_price,
    read_overrides,
    set_price,
    unset_price,
)
from rigready.catalog.pack import PackError, install_pack, installed_pack, opened_pack, remove_pack
from rigready.catalog.prices import TABLE_WORDS, entries_of, price_of
from rigready.desktop.commands.common import print_json
from rigready.desktop.commands.tables import render_table
from rigready.desktop.usecases.errors import UsageError


def register_actions(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``price``, ``update`` and ``online`` under ``rigready catalog``."""
    price = sub.add_parser("price", help="your own prices (override the catalog's)",
                           description="Record a price you found; the next plan uses it and "
                           "marks it 'your price' with its date. Kept in the user catalog "
                           "folder (price-overrides.toml), never touched by catalog updates.")
    actions = price.add_subparsers(dest="price_command", metavar="ACTION", required=True)
    put = actions.add_parser("set", help="set your price for a part",
                             description="Set your price for a GPU, CPU, RAM kit, drive, PSU "
                             "(total) or cloud offer (per hour), by catalog id.")
    put.add_argument("part", metavar="PART", help="catalog id, e.g. rtx-3060-12gb")
    put.add_argument("price", metavar="USD", help="the price, above zero (in --currency)")
    put.add_argument("--source", metavar="TEXT", help="where you saw it (shop, link)")
    put.add_argument("--currency", metavar="CODE", default="USD",
                     help="currency of the price (default USD; others need a catalog rate)")
    put.set_defaults(func=_run_set)
    drop = actions.add_parser("unset", help="forget your price for a part")
    drop.add_argument("part", metavar="PART")
    drop.set_defaults(func=_run_unset)
    show = actions.add_parser("list", help="list your prices")
    show.add_argument("--json", action="store_true", help="print them as JSON")
    show.set_defaults(func=_run_list)
    update = sub.add_parser("update", help="install a catalog data pack (file or URL)",
                            description="Verify a catalog data pack (.tar.gz with a manifest of "
                            "sha256 checksums; built with 'make catalog-pack') and install it "
                            "into your data folder. Nothing is installed unless every check "
                            "passes; your own catalog files and prices are never replaced. "
                            "--remove goes back to the data shipped with rigready.")
    update.add_argument("source", nargs="?", metavar="FILE-OR-URL")
    update.add_argument("--remove", action="store_true", help="remove the installed pack")
    update.add_argument("--allow-older", action="store_true",
                        help="install a pack dated before the installed one")
    update.add_argument("--sha256", metavar="HEX",
                        help="the pack's published SHA-256: checked before anything is unpacked")
    update.set_defaults(func=_run_update)
    online = sub.add_parser("online", help="turn live cloud offers on or off (or show)",
                            description="Live cloud offers (Vast.ai, needs VAST_API_KEY) for "
                            "every plan; 'rigready plan --online' does it once.")
    online.add_argument("state", nargs="?", choices=("on", "off"))
    online.set_defaults(func=_run_online)


def _run_set(args: argparse.Namespace) -> int:
    try:
        value = parse_price(args.price)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    currency = str(args.currency).upper()
    try:
        override, table = set_price(args.part, value, today=today(), currency=currency,
                                    source=args.source)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    except ValueError as exc:  # CatalogError is a ValueError too: one line either way
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {overrides_path()}: {exc.strerror or exc}") from None
    cat = load_catalog()
    entry = next(e for e in entries_of(cat, table) if e.id == override.id)
    price = price_of(entry)
    shown = PriceView.from_catalog(cat).describe(price, per_hour=table == "cloud_offer") \
        if price else ""
    print(f"Your price for {TABLE_WORDS[table]} {override.id}: {shown}")
    print(f"  saved in {overrides_path()}")
    return 0


def _run_unset(args: argparse.Namespace) -> int:
    try:
        removed = unset_price(args.part, today=today())
    except ValueError as exc:  # an invalid overrides file, or the safe writer refusing
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {overrides_path()}: {exc.strerror or exc}") from None
    if not removed:
        ids = [e.id for e in read_overrides(overrides_path())]
        known = f" (yours: {', '.join(ids)})" if ids else " (you have set none)"
        raise UsageError(f"no price of yours for {args.part!r}{known}")
    print(f"Your price for {args.part} removed; the catalog's price applies again.")
    return 0


def _run_list(args: argparse.Namespace) -> int:
    entries = read_overrides(overrides_path())
    if args.json:
        print_json([{"id": e.id, "price": e.price, "currency": e.currency,
                     "price_date": e.price_date.isoformat(), "price_source": e.price_source}
                    for e in entries])
        return 0
    if not entries:
        print("You have set no prices (rigready catalog price set PART USD).")
        return 0
    view = PriceView(today(), tuple(load_catalog().price_policies))
    rows = [[e.id, f"{e.currency} {e.price:,.2f}", e.price_date.isoformat(), e.price_source,
             view.warning(_override_price(e)) or "-"] for e in entries]
    print(render_table(["part", "price", "as of", "source", "age"], rows))
    print(f"\n{len(entries)} price(s) of yours in {overrides_path()}")
    return 0


def _override_price(e: Any) -> Any:
    from rigready.catalog.prices import Price

    return Price(e.price, e.price_date, e.price_source, "yours")


def _run_update(args: argparse.Namespace) -> int:
    if args.remove:
        print("Installed data pack removed; using the data shipped with rigready."
              if remove_pack() else "No data pack was installed.")
        return 0
    if not args.source:
        pack = installed_pack()
        print(f"Installed data pack: {pack.label} in {pack.folder}" if pack
              else "No data pack installed (give FILE-OR-URL to install one).")
        return 0
    try:
        with opened_pack(args.source, sha256=args.sha256) as (archive, digest):
            info = install_pack(archive, args.source, allow_older=args.allow_older, digest=digest)
    except PackError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot install the pack: {exc.strerror or exc}") from None
    try:
        cat = load_catalog()
    except CatalogError as exc:
        raise UsageError(f"the pack is installed but your own catalog files no longer load "
                         f"with it: {exc} (rigready catalog update --remove undoes it)") from None
    used = "in use" if cat.pack else "not used: the shipped data is as new or newer"
    print(f"Installed data pack {info.label}: {len(info.files)} files ({used})")
    print(f"  {info.folder}")
    return 0


def _run_online(args: argparse.Namespace) -> int:
    # here, not at the top: the planner's package would load with every 'catalog' command
    from rigready.assess.plan.live import online_enabled, set_online

    if args.state is not None:
        try:
            set_online(args.state == "on")
        except OSError as exc:
            raise UsageError(f"cannot save the setting: {exc.strerror or exc}") from None
    state = "on" if online_enabled() else "off"
    print(f"Live cloud offers: {state} (Vast.ai; set VAST_API_KEY)")
    return 0
