"""Compatibility checks and part choices: PSU sizing, connectors, slot, length, RAM, CPU."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from rigready.assess.hardware import (
    CpuInfo,
    GpuInfo,
    MemoryInfo,
    MemoryModule,
    RigProfile,
    SystemInfo,
)
from rigready.assess.plan import RigFacts, power_need
from rigready.assess.plan.checks import (
    EIGHT_PIN_W,
    PSU_HEADROOM,
    REST_OF_PC_W,
    adapter_cables,
    connectors_ok,
    psu_checks,
    psu_plugs,
    slot_checks,
)
from rigready.assess.plan.parts import cpu_choice, drive_choice, psu_choice, ram_choice
from rigready.assess.plan.rig import ASSUMED_CPU_W, match_cpu, rig_state
from rigready.assess.profile import load_profile
from rigready.catalog import Catalog, GpuEntry, default_catalog

HOBBY = Path(__file__).parent / "data" / "profiles" / "hobbyist"
GIB = 2**30


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return default_catalog()


def _rig(cat: Catalog, stem: str):  # type: ignore[no-untyped-def]
    return rig_state(load_profile(HOBBY / f"{stem}.json"), cat)


def _by(checks: list, name: str):  # type: ignore[no-untyped-def,type-arg]
    found = [c for c in checks if c.name == name]
    assert len(found) == 1, [c.name for c in checks]
    return found[0]


def test_cpu_matching_respects_word_boundaries(cat: Catalog) -> None:
    assert match_cpu("AMD Ryzen 5 5600X 6-Core Processor", cat.cpus).id == "ryzen-5-5600x"  # type: ignore[union-attr]
    assert match_cpu("AMD Ryzen 5 5600 6-Core Processor", cat.cpus).id == "ryzen-5-5600"  # type: ignore[union-attr]
    assert match_cpu("Some Unknown CPU 9000", cat.cpus) is None
    assert match_cpu(None, cat.cpus) is None


def test_power_need_is_the_formula_or_the_vendor_minimum(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-gtx1660-16gb-ddr4")
    assert rig.cpu_entry is not None
    for gpu in (cat.gpu("rtx-3060-12gb"), cat.gpu("rtx-3090"), cat.gpu("rtx-5090")):
        need = power_need(rig, gpu)
        formula = (rig.cpu_entry.tdp_w + gpu.tgp_w + REST_OF_PC_W) * PSU_HEADROOM
        assert need.formula_w == pytest.approx(formula)
        assert need.watts >= max(formula, gpu.recommended_psu_w or 0)
        assert need.watts - max(formula, gpu.recommended_psu_w or 0) < 10  # rounded up to 10 W
        assert not need.cpu_assumed


def test_unknown_cpu_power_is_assumed_and_said(cat: Catalog) -> None:
    rig = _rig(cat, "laptop-rtx3060-laptop-6gb-16gb-lpddr5")
    need = power_need(rig, cat.gpu("rtx-3060-12gb"))
    assert need.cpu_assumed and need.cpu_w == ASSUMED_CPU_W and "assumed" in need.text


def _gpu(cat: Catalog, gid: str) -> GpuEntry:
    return cat.gpu(gid)


def test_connectors(cat: Catalog) -> None:
    one8, two8 = _gpu(cat, "rtx-3060-12gb"), _gpu(cat, "rtx-3090")
    mixed = _gpu(cat, "rx-6700-xt")  # 8-pin + 6-pin
    sixteen = _gpu(cat, "rtx-4090")
    assert connectors_ok(one8, ("8-pin",))[0]
    assert not connectors_ok(two8, ("8-pin",))[0]
    assert connectors_ok(mixed, ("8-pin", "8-pin"))[0]  # a 6+2 cable serves the 6-pin socket
    assert connectors_ok(sixteen, ("12vhpwr",))[0]
    cables = adapter_cables(sixteen)
    assert cables == min(4, max(2, math.ceil(sixteen.tgp_w / EIGHT_PIN_W)))
    ok, how = connectors_ok(sixteen, ("8-pin",) * cables)
    assert ok and "adapter" in how
    assert not connectors_ok(sixteen, ("8-pin",) * (cables - 1))[0]
    assert connectors_ok(_gpu(cat, "gtx-1650"), ())[0]  # slot power only


def test_psu_plugs_follow_the_catalog_counts(cat: Catalog) -> None:
    for psu in cat.psus:
        plugs = psu_plugs(psu)
        assert plugs.count("8-pin") == psu.pcie_8pin
        assert len(plugs) - psu.pcie_8pin == psu.connectors_12v_2x6


def test_unknown_psu_is_unverified_never_pass(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-gtx1660-16gb-ddr4")
    checks = psu_checks(rig, cat.gpu("rtx-3090"), RigFacts(), None)
    assert {c.status for c in checks} == {"unverified"}
    assert "PSU unknown: assumed" in _by(checks, "PSU capacity").detail


def test_known_small_psu_fails_and_big_one_passes(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-gtx1660-16gb-ddr4")
    gpu = cat.gpu("rtx-3090")
    small = psu_checks(rig, gpu, RigFacts(psu_watts=550, psu_connectors=("8-pin",)), None)
    assert _by(small, "PSU capacity").status == "fail"
    assert _by(small, "GPU power connectors").status == "fail"
    big = psu_checks(rig, gpu, RigFacts(psu_watts=850, psu_connectors=("8-pin",) * 2), None)
    assert {c.status for c in big} == {"pass"}


def test_psu_choice_meets_watts_and_connectors(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-gtx1660-16gb-ddr4")
    for gid in ("rtx-3090", "rtx-4090", "rx-7900-xtx", "rtx-5090"):
        gpu = cat.gpu(gid)
        psu = psu_choice(cat, rig, gpu)
        assert psu is not None
        assert psu.watts >= power_need(rig, gpu).watts
        assert connectors_ok(gpu, psu_plugs(psu))[0]
        cheaper = [p for p in cat.psus if p.price_usd < psu.price_usd
                   and p.watts >= power_need(rig, gpu).watts
                   and connectors_ok(gpu, psu_plugs(p))[0]]
        assert all(gpu.tgp_w >= 300 and p.atx_version == "2.x" for p in cheaper)


def test_laptop_gpu_cannot_be_swapped(cat: Catalog) -> None:
    rig = _rig(cat, "laptop-rtx3060-laptop-6gb-16gb-lpddr5")
    assert rig.laptop and not rig.takes_internal_gpu
    # Thunderbolt not known: a card can only go in an external enclosure, and that is a risk
    # to check before buying, never a pass.
    checks = slot_checks(rig, cat.gpu("rtx-3060-12gb"), RigFacts())
    assert [(c.name, c.status) for c in checks] == [("External GPU", "unverified"),
                                                   ("GPU software", "pass")]
    assert "x4" in checks[0].detail and "not priced" in checks[0].detail
    no_port = dataclasses.replace(rig, thunderbolt=False)
    checks = slot_checks(no_port, cat.gpu("rtx-3060-12gb"), RigFacts())
    assert [(c.name, c.status) for c in checks] == [("GPU replaceable", "fail")]


def test_cpu_only_box_slot_is_unverified(cat: Catalog) -> None:
    rig = _rig(cat, "cpu-only-i5-12400-16gb")
    assert not rig.has_gpu
    assert _by(slot_checks(rig, cat.gpu("rtx-3060-12gb"), RigFacts()), "PCIe slot").status \
        == "unverified"
    desktop = _rig(cat, "desktop-gtx1660-16gb-ddr4")
    slot = _by(slot_checks(desktop, cat.gpu("rtx-3060-12gb"), RigFacts()), "PCIe slot")
    assert slot.status == "pass" and "PCIe 3.0" in slot.detail  # i5-9400F platform


def test_length_needs_both_facts(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-rtx3060-12gb-32gb-ddr4")
    gpu = cat.gpu("rtx-4090")
    assert gpu.length_mm is not None
    status = {room: _by(slot_checks(rig, gpu, RigFacts(clearance_mm=room)), "GPU length").status
              for room in (None, gpu.length_mm - 1, gpu.length_mm + 20)}
    assert status == {None: "unverified", gpu.length_mm - 1: "fail", gpu.length_mm + 20: "pass"}
    no_length = next(g for g in cat.gpus if g.length_mm is None and g.street_price_usd)
    check = _by(slot_checks(rig, no_length, RigFacts(clearance_mm=400)), "GPU length")
    assert check.status == "unverified"


def test_non_nvidia_software_is_unverified(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-rtx3060-12gb-32gb-ddr4")
    assert _by(slot_checks(rig, cat.gpu("rx-7900-xtx"), RigFacts()), "GPU software").status \
        == "unverified"
    assert _by(slot_checks(rig, cat.gpu("rtx-3090"), RigFacts()), "GPU software").status == "pass"


def test_ram_adds_to_free_slots_when_cheapest(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-gtx1660-16gb-ddr4")  # 2 of 4 slots used, 2x8 GB DDR4
    choice = ram_choice(cat, rig, 32)
    assert choice.item is not None and choice.reaches is not None
    kit = cat.ram_kit(choice.item.catalog_id)
    assert kit.type == "DDR4" and kit.form_factor == "DIMM"
    assert choice.reaches >= 32 * 0.92
    assert {c.status for c in choice.checks} <= {"pass", "unverified"}
    # nothing cheaper of the right type reaches 32 GB by adding or replacing
    for other in cat.ram_kits:
        if other.type == "DDR4" and other.form_factor == "DIMM" and other.price_usd < kit.price_usd:
            assert other.total_gib + 16 < 32 * 0.92


def test_ram_replaces_when_slots_are_full(cat: Catalog) -> None:
    rig = _rig(cat, "workstation-rtx3090-64gb")  # 4 of 4 slots used
    choice = ram_choice(cat, rig, 128)
    assert choice.item is not None
    assert "replaces" in choice.item.note
    assert choice.item.quantity * cat.ram_kit(choice.item.catalog_id).modules <= 4
    board = next(c for c in choice.checks if c.name == "RAM board maximum")
    assert board.status == "pass"


def test_soldered_ram_is_a_failed_check(cat: Catalog) -> None:
    rig = _rig(cat, "laptop-rtx3060-laptop-6gb-16gb-lpddr5")
    choice = ram_choice(cat, rig, 32)
    assert choice.item is None
    assert [(c.name, c.status) for c in choice.checks] == [("Soldered memory", "fail")]


def test_ram_beyond_the_board_maximum_fails(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-gtx1660-16gb-ddr4")  # board maximum 64 GB
    choice = ram_choice(cat, rig, 96)
    assert choice.item is None and any(c.status == "fail" for c in choice.checks)


def test_unknown_slots_are_unverified(cat: Catalog) -> None:
    profile = RigProfile(cpu=CpuInfo(model="AMD Ryzen 5 5600X 6-Core Processor"),
                         memory=MemoryInfo(total_bytes=16 * GIB, type="DDR4",
                                           modules=(MemoryModule(size_bytes=16 * GIB),)),
                         storage=(), gpus=(), system=SystemInfo())
    rig = rig_state(profile, cat)
    choice = ram_choice(cat, rig, 32)
    assert choice.item is not None
    assert next(c for c in choice.checks if c.name == "RAM slots").status == "unverified"


def test_drive_choice_is_the_cheapest_that_holds_the_need(cat: Catalog) -> None:
    choice = drive_choice(cat, 900, "nvme")
    assert choice.item is not None
    drive = cat.drive(choice.item.catalog_id)
    assert drive.kind == "nvme" and drive.capacity_gb >= 900
    assert all(d.price_usd >= drive.price_usd for d in cat.drives
               if d.kind == "nvme" and d.capacity_gb >= 900)
    assert choice.checks[0].status == "unverified"  # a free M.2 slot cannot be seen
    assert drive_choice(cat, 10**9, None).item is None


def test_cpu_choice_stays_on_the_socket(cat: Catalog) -> None:
    rig = _rig(cat, "desktop-rtx3060-12gb-32gb-ddr4")  # Ryzen 5 5600X, AM4, DDR4
    choice = cpu_choice(cat, rig, 8)
    assert choice.item is not None
    cpu = cat.cpu(choice.item.catalog_id)
    assert cpu.socket == "AM4" and cpu.cores >= 8 and "DDR4" in cpu.memory_types
    assert cpu_choice(cat, rig, 64).item is None  # no 64-core AM4 part: a new platform
    laptop = _rig(cat, "laptop-rtx3060-laptop-6gb-16gb-lpddr5")
    assert cpu_choice(cat, laptop, 8).checks[0].status == "fail"  # socket unknown


def test_integrated_only_profile_has_no_gpu(cat: Catalog) -> None:
    profile = RigProfile(cpu=CpuInfo(), memory=MemoryInfo(), storage=(),
                         gpus=(GpuInfo(vendor="intel", name="Intel UHD Graphics 730",
                                       integrated=True),), system=SystemInfo())
    rig = rig_state(profile, cat)
    assert not rig.has_gpu and rig.vram_gib is None and not rig.laptop
