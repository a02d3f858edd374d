"""``rigready catalog``: validate the catalog files and list their entries."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

from rigready.assess.task_disk import disk_need
from rigready.catalog import (
    BUILTIN_DATA_DIR,
    KINDS,
    Catalog,
    CatalogError,
    entry_counts,
    load_catalog,
    merge,
    parse_file,
)
from rigready.catalog.paths import user_catalog_dir
from rigready.catalog.userfiles import path_exists
from rigready.desktop.commands.catalog_prices import register_actions
from rigready.desktop.commands.common import print_json
from rigready.desktop.commands.tables import num, render_table

LIST_KINDS = tuple(k.plural for k in KINDS)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``catalog`` subcommand with ``check`` and ``list``."""
    parser = subparsers.add_parser(
        "catalog", help="check or list the hardware catalog",
        description="The catalog of GPUs, CPUs, RAM kits, drives, PSUs, tiers, AI tasks, models "
        "and cloud offers (built in, plus your additions in the settings folder).",
    )
    sub = parser.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate the catalog (or one file or folder)",
                           description="Validate the built-in and user catalog, or PATH "
                           "(a TOML file or a folder of them) on top of the built-in one.")
    check.add_argument("path", nargs="?", type=Path, metavar="PATH")
    check.set_defaults(func=_run_check)
    show = sub.add_parser("list", help="show the entries of one kind",
                          description="Show the entries of one kind as a table.")
    show.add_argument("kind", choices=LIST_KINDS, metavar="KIND",
                      help=f"one of: {', '.join(LIST_KINDS)}")
    show.add_argument("--json", action="store_true", help="print the entries as JSON")
    show.set_defaults(func=_run_list)
    register_actions(sub)


def _counts_table(counts: dict[str, int]) -> str:
    return render_table(["kind", "entries"], [[k, str(v)] for k, v in counts.items()],
                        right=(1,), indent="  ")


def _run_check(args: argparse.Namespace) -> int:
    path: Path | None = args.path
    if path is None:
        user = user_catalog_dir()
        cat = load_catalog()
        user_files = [f for f in cat.files if Path(f).parent == user]
        print(f"Catalog OK (updated {cat.updated})")
        print(f"  built in: {BUILTIN_DATA_DIR}")
        if cat.pack:
            print(f"  data pack {cat.pack} in use (rigready catalog update)")
        print(f"  yours:    {user} ({len(user_files)} file(s))")
        print(_counts_table(entry_counts(cat)))
        _print_overrides(cat)
        if cat.price_overrides:
            print(f"Your prices: {len(cat.price_overrides)} (rigready catalog price list)")
        return 0
    if path_exists(path, folder=True) and _same(path, BUILTIN_DATA_DIR):
        cat = load_catalog(None)
        print(f"{path}: OK (updated {cat.updated})")
        print(_counts_table(entry_counts(cat)))
        return 0
    try:
        path.stat()
    except FileNotFoundError:
        raise CatalogError(str(path), "", "", "no such file or folder") from None
    except OSError as exc:  # a name too long, a file used as a folder, a loop
        raise CatalogError(str(path), "", "", exc.strerror or str(exc)) from None
    files = sorted(path.glob("*.toml")) if path_exists(path, folder=True) else [path]
    if not files:  # /etc is a folder but no catalog: "OK (0 files)" checked nothing
        raise CatalogError(str(path), "", "", "no *.toml catalog files in this folder")
    parsed = [parse_file(f) for f in files]
    own = {k.plural: sum(len(p.entries.get(k.table, ())) for p in parsed) for k in KINDS}
    cat = merge([parse_file(f) for f in sorted(BUILTIN_DATA_DIR.glob("*.toml"))], parsed)
    print(f"{path}: OK ({len(files)} file(s)), checked together with the built-in catalog")
    print(_counts_table(own))
    _print_overrides(cat)
    return 0


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _print_overrides(cat: Catalog) -> None:
    if cat.overridden:
        print(f"Built-in entries replaced ({len(cat.overridden)}):")
        for line in cat.overridden:
            print(f"  {line}")


def _plain(entry: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(entry):
        value = getattr(entry, f.name)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def _price(value: float | None, when: date | None) -> str:
    if value is None:
        return "-"
    return f"${value:,.0f}" + (f" ({when})" if when else "")


def _rows(kind: str, cat: Catalog) -> tuple[list[str], list[list[str]], tuple[int, ...]]:
    if kind == "gpus":
        return (["id", "name", "segment", "VRAM GiB", "GB/s", "FP32", "16-bit", "TGP W",
                 "street price"],
                [[g.id, g.name, g.segment, num(g.vram_gib), num(g.memory_bandwidth_gb_s),
                  num(g.fp32_tflops), num(g.half_tflops), num(g.tgp_w),
                  _price(g.street_price_usd, g.price_date if g.street_price_usd else None)]
                 for g in cat.gpus], (3, 4, 5, 6, 7))
    if kind == "cpus":
        return (["id", "name", "cores/threads", "boost GHz", "TDP W", "memory", "price"],
                [[c.id, c.name, f"{c.cores}/{c.threads}", num(c.boost_clock_ghz), num(c.tdp_w),
                  "/".join(c.memory_types), _price(c.price_usd, c.price_date)] for c in cat.cpus],
                (3, 4))
    if kind == "ram":
        return (["id", "name", "type", "form", "kit", "MT/s", "price"],
                [[r.id, r.name, r.type, r.form_factor, f"{r.modules} x {r.module_gib:g} GiB",
                  str(r.speed_mts), _price(r.price_usd, r.price_date)] for r in cat.ram_kits],
                (5,))
    if kind == "storage":
        return (["id", "name", "kind", "GB", "read MB/s", "write MB/s", "price"],
                [[d.id, d.name, d.kind, num(d.capacity_gb), num(d.seq_read_mb_s),
                  num(d.seq_write_mb_s), _price(d.price_usd, d.price_date)] for d in cat.drives],
                (3, 4, 5))
    if kind == "psus":
        return (["id", "name", "W", "ATX", "efficiency", "8-pin", "12V-2x6", "price"],
                [[p.id, p.name, num(p.watts), p.atx_version, p.efficiency, str(p.pcie_8pin),
                  str(p.connectors_12v_2x6), _price(p.price_usd, p.price_date)]
                 for p in cat.psus], (2, 5, 6))
    if kind == "tiers":
        return (["rank", "id", "name", "budget", "VRAM GiB", "16-bit", "RAM GiB", "cores",
                 "storage"],
                [[str(t.rank), t.id, t.name,
                  f"${t.budget_min_usd:,.0f}" + (f"-{t.budget_max_usd:,.0f}"
                                                 if t.budget_max_usd else "+"),
                  f"{t.gpu_min_vram_gib:g}/{t.gpu_recommended_vram_gib:g}",
                  num(t.gpu_min_fp16_tflops), f"{t.ram_min_gib:g}/{t.ram_recommended_gib:g}",
                  f"{t.cpu_min_cores}/{t.cpu_recommended_cores}",
                  f"{t.storage_min_gb:,.0f} GB {t.storage_kind}"] for t in cat.tiers], (0,))
    if kind == "tasks":
        return (["id", "name", "GPU", "VRAM GiB", "RAM GiB", "cores", "disk GB"],
                [[t.id, t.name, "needed" if t.gpu_required else "optional",
                  f"{t.min_vram_gib:g}/{t.recommended_vram_gib:g}",
                  f"{t.min_ram_gib:g}/{t.recommended_ram_gib:g}", str(t.min_cpu_cores),
                  num(round(disk_need(t, cat).gb))] for t in cat.tasks], (5, 6))
    if kind == "models":
        return (["id", "name", "family", "kind", "params", "layers", "hidden", "heads/kv"],
                [[m.id, m.name, m.family, m.kind, _params(m.params), num(m.num_layers),
                  num(m.hidden_size),
                  "-" if m.num_attention_heads is None else
                  f"{m.num_attention_heads}/{m.num_key_value_heads or m.num_attention_heads}"]
                 for m in cat.models], (4, 5, 6))
    if kind == "rates":
        return (["id", "currency", "USD per unit", "date", "source"],
                [[r.id, r.currency, f"{r.usd_per_unit:g}", str(r.rate_date), r.source[:60]]
                 for r in cat.exchange_rates], (2,))
    if kind == "price-policies":
        return (["id", "applies to", "max age days", "source"],
                [[p.id, p.applies_to, str(p.max_age_days), p.source[:60]]
                 for p in cat.price_policies], (2,))
    if kind == "overrides":
        return (["id", "price", "currency", "date", "source"],
                [[o.id, f"{o.price:,.2f}", o.currency, str(o.price_date), o.price_source[:60]]
                 for o in cat.price_overrides], (1,))
    if kind == "stacks":
        return (["id", "stack", "method", "params", "VRAM GB", "card GB", "max tokens",
                 "read on"],
                [[f.id, f.stack, f.method, f"{f.params_b:g}B",
                  "-" if f.vram_gb is None else f"{f.vram_gb:g}",
                  "-" if f.card_gb is None else f"{f.card_gb:g}",
                  "-" if f.max_context_tokens is None else f"{f.max_context_tokens:,}",
                  str(f.source_date)] for f in cat.stack_figures], (3, 4, 5, 6))
    return (["id", "provider", "instance", "GPUs", "$/h", "spot", "date"],
            [[o.id, o.provider, o.instance, f"{o.gpu_count} x {o.gpu_id}",
              f"{o.usd_per_hour:g}", "yes" if o.spot else "no", str(o.price_date)]
             for o in cat.cloud_offers], (4,))


def _params(n: int) -> str:
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"


def _run_list(args: argparse.Namespace) -> int:
    cat = load_catalog()
    kind: str = args.kind
    spec = next(k for k in KINDS if k.plural == kind)
    entries = getattr(cat, spec.attribute)
    if args.json:
        print_json([_plain(e) for e in entries])
        return 0
    headers, rows, right = _rows(kind, cat)
    print(render_table(headers, rows, right=right))
    print(f"\n{len(rows)} {kind} (catalog updated {cat.updated})")
    return 0
