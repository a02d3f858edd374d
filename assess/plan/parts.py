"""Priced parts for a plan: GPU candidates, and the RAM, drive, PSU and CPU that fit this PC.

Each chooser returns the cheapest catalog part that meets the need in this PC, with the checks
that say why it fits (or why nothing can).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from rigready.assess.plan.checks import (
    CPU_SOCKET,
    RAM_BOARD_MAX,
    RAM_KIT,
    RAM_PER_SLOT,
    RAM_SLOTS,
    RAM_TYPE,
    SOLDERED,
    STORAGE_SLOT,
    Check,
    connectors_ok,
    power_need,
    psu_plugs,
)
from rigready.assess.plan.rig import RigState, gpu_label
from rigready.assess.score_facts import meets
from rigready.catalog import Catalog, CpuEntry, DriveEntry, GpuEntry, PsuEntry, RamKitEntry
from rigready.catalog.prices import Price, kind_of
from rigready.catalog.schema import DRIVE_KIND_ORDER, DriveKind

ItemKind = Literal["gpu", "ram", "storage", "psu", "cpu"]
_KIND_NAMES = {"nvme": "NVMe SSD", "sata-ssd": "SATA SSD", "hdd": "hard disk"}


@dataclass(frozen=True, slots=True)
class LineItem:
    """One part to buy, with its dated, sourced price."""

    kind: ItemKind
    catalog_id: str
    name: str
    price_usd: float
    price_date: date | None
    price_source: str
    note: str = ""
    #: Short name for plan titles (``RTX 3060 12 GB``, ``750 W PSU``).
    label: str = ""
    #: How many of the part; ``price_usd`` is the line's total.
    quantity: int = 1
    #: street, launch-msrp, used or yours (the user's own price); see catalog.prices.
    price_kind: str = "street"

    @property
    def price(self) -> Price:
        """The line's price as a dated fact (for "as of DATE" and age warnings)."""
        return Price(self.price_usd, self.price_date, self.price_source, self.price_kind)


def gpu_item(entry: GpuEntry) -> LineItem:
    """A catalog GPU as a line item (its street price)."""
    return LineItem("gpu", entry.id, entry.name, float(entry.street_price_usd or 0.0),
                    entry.price_date, entry.price_source or "", entry.price_note or "",
                    gpu_label(entry), price_kind=kind_of(entry))


def gpu_candidates(catalog: Catalog, rig: RigState,
                   vendors: tuple[str, ...] | None = None) -> list[GpuEntry]:
    """Desktop and workstation cards with a street price, no smaller than the current GPU; a
    card with a dated used-market price is weighed a second time at that price (see
    :func:`used_offer`)."""
    current = rig.vram_gib or 0.0
    own = rig.gpu_entry.id if rig.gpu_entry else None
    out: list[GpuEntry] = []
    for g in catalog.gpus:
        if g.segment not in ("desktop", "workstation") or g.id == own \
                or g.vram_gib < current or (vendors is not None and g.vendor not in vendors):
            continue
        if g.street_price_usd:
            out.append(g)
        used = used_offer(g)
        if used is not None:
            out.append(used)
    return out


def used_offer(entry: GpuEntry) -> GpuEntry | None:
    """``entry`` priced at its used-market price (None without one, or when its own price is
    already a used one): the same card, labelled used, with that price's date."""
    if entry.used_price_usd is None or kind_of(entry) == "used":
        return None
    return replace(entry, street_price_usd=entry.used_price_usd,
                   price_date=entry.used_price_date, price_source=entry.used_price_source,
                   price_kind="used", price_currency="USD", price_amount=None,
                   price_note="used")


@dataclass(frozen=True, slots=True)
class Choice:
    """The part chosen for one need (None: nothing fits) and the checks behind it."""

    item: LineItem | None
    checks: tuple[Check, ...]
    #: The size reached after buying (installed RAM GiB, drive GB, cores); None: nothing fits.
    reaches: float | None = None
    reason: str = ""


def _ram_form(rig: RigState) -> str:
    return rig.ram_form or "DIMM"


def ram_choice(catalog: Catalog, rig: RigState, need_gib: float, *,
               free_ram: bool = False) -> Choice:
    """The cheapest RAM kit that brings the PC to ``need_gib``.

    ``free_ram`` compares the need with RAM free for the job (the profile's available memory
    grows by what is added) rather than with installed RAM.
    """
    if rig.ram_soldered:
        return Choice(None, (Check(SOLDERED, "fail",
                                   f"the {rig.ram_type or 'system'} memory is soldered to the "
                                   "board: it cannot be added to or replaced"),),
                      reason="RAM is soldered")
    installed = rig.ram_installed_gib or 0.0
    offset = 0.0
    if free_ram and rig.ram_available_bytes is not None:
        offset = installed - rig.ram_available_bytes / 2**30
    ram_type = rig.ram_type if rig.ram_type in ("DDR4", "DDR5") else None
    type_check: Check
    if ram_type is None:
        types = rig.cpu_entry.memory_types if rig.cpu_entry else ()
        if len(types) == 1:
            ram_type = types[0]
            type_check = Check(RAM_TYPE, "unverified", f"RAM type not detected; the CPU takes "
                               f"only {ram_type} — check the board")
        else:
            return Choice(None, (Check(RAM_TYPE, "unverified",
                                       "RAM type unknown (DDR4 or DDR5?): fill in memory.type "
                                       "in the profile to get a kit"),),
                          reason="RAM type unknown")
    else:
        type_check = Check(RAM_TYPE, "pass", f"{ram_type} {_ram_form(rig)} kit for a "
                           f"{ram_type} board")
    best: tuple[float, LineItem, tuple[Check, ...], float] | None = None
    for kit in catalog.ram_kits:
        if kit.type != ram_type or kit.form_factor != _ram_form(rig):
            continue
        for option in _kit_options(rig, kit, installed):
            total, item, checks = option
            if any(c.status == "fail" for c in checks):
                continue
            if not meets(total - offset, need_gib):
                continue
            if best is None or item.price_usd < best[0]:
                best = (item.price_usd, item, (type_check, *checks), total)
    if best is None:
        return Choice(None, (type_check, Check(RAM_KIT, "fail",
                                               f"no catalog {ram_type} {_ram_form(rig)} kit "
                                               f"reaches {need_gib:.0f} GiB in this board")),
                      reason=f"no kit reaches {need_gib:.0f} GiB")
    return Choice(best[1], best[2], reaches=best[3])


def _kit_options(rig: RigState, kit: RamKitEntry,
                 installed: float) -> list[tuple[float, LineItem, tuple[Check, ...]]]:
    """Adding the kit to free slots, or replacing the installed sticks with one or two kits."""
    out = []
    free, slots = rig.free_slots, rig.slots_total
    per_slot = rig.max_capacity_gib / slots if rig.max_capacity_gib and slots else None
    limits = [v for v in (rig.max_capacity_gib,
                          rig.cpu_entry.max_memory_gib if rig.cpu_entry else None) if v]
    board_max = min(limits) if limits else None
    modes: list[tuple[str, int, float, str]] = []
    if free is not None and free >= kit.modules and installed:
        modes.append(("add", 1, installed + kit.total_gib,
                      f"{free} free slot(s) for {kit.modules} sticks"))
    for count in (1, 2):
        sticks = kit.modules * count
        if (slots is None and count == 1) or (slots is not None and sticks <= slots):
            modes.append(("replace", count, kit.total_gib * count,
                          f"{sticks} sticks replace the installed {installed:.0f} GB"))
    for mode, count, total, how in modes:
        checks: list[Check] = []
        if slots is None:
            checks.append(Check(RAM_SLOTS, "unverified", f"slot count unknown: assumed "
                                f"{kit.modules} slots — check the board; {how}"))
        else:
            checks.append(Check(RAM_SLOTS, "pass", how))
        if per_slot is None:
            checks.append(Check(RAM_PER_SLOT, "unverified", f"{kit.module_gib:g} GB sticks: the "
                                "board's per-slot limit is unknown — check its manual"))
        else:
            ok = kit.module_gib <= per_slot
            checks.append(Check(RAM_PER_SLOT, "pass" if ok else "unverified",
                                f"{kit.module_gib:g} GB sticks, about {per_slot:g} GB per slot "
                                "(maximum / slots, an estimate; BIOS updates raise it)"))
        if board_max is None:
            checks.append(Check(RAM_BOARD_MAX, "unverified",
                                f"{total:g} GB total; the board's maximum is unknown"))
        else:
            checks.append(Check(RAM_BOARD_MAX, "pass" if total <= board_max else "fail",
                                f"{total:g} GB total, maximum {board_max:g} GB"))
        if mode == "add":
            note = f"adds {kit.modules} sticks to the installed {installed:.0f} GB (matching " \
                   "speed and timings is safest)"
        else:
            note = f"replaces the installed {installed:.0f} GB"
        sticks_after = kit.modules * count + ((rig.slots_used or 0) if mode == "add" else 0)
        if kit.type == "DDR5" and sticks_after >= 4:
            note += "; four DDR5 sticks usually run slower (about 4000-4800 MT/s)"
        name = kit.name if count == 1 else f"{count}x {kit.name}"
        label = f"{total:g} GB {kit.type}"
        item = LineItem("ram", kit.id, name, round(kit.price_usd * count, 2), kit.price_date,
                        kit.price_source, note, label, quantity=count,
                        price_kind=kind_of(kit))
        out.append((total, item, tuple(checks)))
    return out


def drive_choice(catalog: Catalog, need_gb: float, kind: DriveKind | None) -> Choice:
    """The cheapest drive of ``kind`` or faster holding ``need_gb``."""
    floor = DRIVE_KIND_ORDER.index(kind) if kind else 0
    fits = [d for d in catalog.drives
            if DRIVE_KIND_ORDER.index(d.kind) >= floor and d.capacity_gb >= need_gb]
    if not fits:
        return Choice(None, (Check(STORAGE_SLOT, "fail", f"no catalog drive holds "
                                   f"{need_gb:,.0f} GB"),), reason="no drive big enough")
    drive: DriveEntry = min(fits, key=lambda d: (d.price_usd, -d.seq_read_mb_s))
    slot = ("a free M.2 slot" if drive.kind == "nvme"
            else "a free SATA port and a power lead")
    check = Check(STORAGE_SLOT, "unverified",
                  f"{_KIND_NAMES[drive.kind]} needs {slot}, which cannot be detected — check")
    item = LineItem("storage", drive.id, drive.name, drive.price_usd, drive.price_date,
                    drive.price_source, f"{drive.capacity_gb:,.0f} GB {_KIND_NAMES[drive.kind]}",
                    f"{drive.capacity_gb / 1000:g} TB {_KIND_NAMES[drive.kind]}",
                    price_kind=kind_of(drive))
    return Choice(item, (check,), reaches=drive.capacity_gb)


def psu_choice(catalog: Catalog, rig: RigState, gpu: GpuEntry) -> PsuEntry | None:
    """The cheapest catalog PSU with the watts and connectors ``gpu`` needs in this PC."""
    need = power_need(rig, gpu).watts
    fits = [p for p in catalog.psus
            if p.watts >= need and connectors_ok(gpu, psu_plugs(p))[0]]
    # an ATX 3.x unit for the big cards, whose power spikes an ATX 2.x unit rides worse
    return min(fits, key=lambda p: (gpu.tgp_w >= 300 and p.atx_version == "2.x", p.price_usd),
               default=None)


def psu_item(psu: PsuEntry, need_w: float, why: str) -> LineItem:
    """A catalog PSU as a line item."""
    return LineItem("psu", psu.id, psu.name, psu.price_usd, psu.price_date, psu.price_source,
                    f"{psu.watts:.0f} W ATX {psu.atx_version}, {psu.efficiency}; {why} "
                    f"(needs {need_w:.0f} W)", f"{psu.watts:.0f} W PSU", price_kind=kind_of(psu))


def cpu_choice(catalog: Catalog, rig: RigState, cores: int) -> Choice:
    """The cheapest same-socket CPU with ``cores`` cores, or why there is none."""
    current = rig.cpu_entry
    if current is None:
        return Choice(None, (Check(CPU_SOCKET, "fail",
                                   f"needs {cores} CPU cores; the CPU is not in the catalog, so "
                                   "its socket is unknown: a new CPU and board (not priced)"),),
                      reason="CPU socket unknown")
    ram = rig.ram_type
    fits: list[CpuEntry] = [c for c in catalog.cpus
                            if c.socket == current.socket and c.cores >= cores and c.price_usd
                            and (ram is None or ram in c.memory_types)]
    if not fits:
        return Choice(None, (Check(CPU_SOCKET, "fail",
                                   f"no {current.socket} CPU in the catalog has {cores} cores: "
                                   "this needs a new platform (CPU, board, maybe RAM), which "
                                   "the catalog does not price"),), reason="needs a new platform")
    cpu = min(fits, key=lambda c: c.price_usd or 0.0)
    check = Check(CPU_SOCKET, "unverified",
                  f"{cpu.name} fits the {current.socket} socket; whether this board (and its "
                  "BIOS version) supports it cannot be detected — check the board's CPU list")
    item = LineItem("cpu", cpu.id, cpu.name, float(cpu.price_usd or 0.0), cpu.price_date,
                    cpu.price_source or "", f"{cpu.cores} cores, {cpu.tdp_w:.0f} W",
                    cpu.name.replace("Intel ", "").replace("AMD ", ""), price_kind=kind_of(cpu))
    return Choice(item, (check,), reaches=float(cpu.cores))


__all__ = ["Choice", "ItemKind", "LineItem", "cpu_choice", "drive_choice", "gpu_candidates",
           "gpu_item", "gpu_label", "psu_choice", "psu_item", "ram_choice"]
