"""Compatibility checks for one plan: power, connectors, slot, length, memory, software.

Each check is ``pass``, ``fail`` or ``unverified``. A check whose deciding fact is unknown (the
PSU, the case, a free slot) is ``unverified`` with the reason and what to look at, never ``pass``.

Rules (research advisors.md §3, with its sources): PSU = (CPU + GPU power + ~100 W) x 1.25 and at
least the GPU maker's minimum; slot 75 W, 6-pin 75 W, 8-pin 150 W; a 16-pin (12VHPWR/12V-2x6)
card on a PSU without that socket uses the card's adapter from 2-4 8-pin cables; RAM type and
form factor must match, per-slot maximum ~ board maximum / slots (an estimate), soldered memory
cannot be upgraded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rigready.assess.plan.facts import RigFacts, format_connectors
from rigready.assess.plan.rig import ASSUMED_CPU_W, RigState
from rigready.assess.score_gpu_fix import EGPU_LINK
from rigready.catalog import GpuEntry, PsuEntry

Status = Literal["pass", "fail", "unverified"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "unverified")
#: Board, fans, drives and RAM on top of CPU and GPU (research §3: "~100 W").
REST_OF_PC_W = 100.0
#: Headroom on the sum (research §3: x1.2-1.3; the issue: x1.25).
PSU_HEADROOM = 1.25
#: A PCIe 6/8-pin cable's rating in watts (PCIe CEM; research §3).
EIGHT_PIN_W = 150.0

GPU_REPLACEABLE = "GPU replaceable"
PCIE_SLOT = "PCIe slot"
PSU_CAPACITY = "PSU capacity"
GPU_CONNECTORS = "GPU power connectors"
GPU_LENGTH = "GPU length"
GPU_SOFTWARE = "GPU software"
SOLDERED = "Soldered memory"
RAM_TYPE = "RAM type"
RAM_SLOTS = "RAM slots"
RAM_PER_SLOT = "RAM per-slot maximum"
RAM_BOARD_MAX = "RAM board maximum"
RAM_KIT = "RAM kit"
STORAGE_SLOT = "Drive slot"
CPU_SOCKET = "CPU socket"
EXTERNAL_GPU = "External GPU"
CURRENT_GPU = "Current GPU"
#: Unverified checks that would stop the plan if they turned out false: a plan with one open is
#: not ready to buy until it is measured. (GPU software is a risk, not a blocker.)
NOT_BLOCKING = frozenset({GPU_SOFTWARE})


@dataclass(frozen=True, slots=True)
class Check:
    """One compatibility check of a plan."""

    name: str
    status: Status
    detail: str


@dataclass(frozen=True, slots=True)
class PowerNeed:
    """The PSU a GPU needs in this PC."""

    watts: float
    formula_w: float
    vendor_min_w: float | None
    cpu_w: float
    cpu_assumed: bool
    text: str


def power_need(rig: RigState, gpu: GpuEntry) -> PowerNeed:
    """PSU watts for ``gpu`` in this PC: the formula or the maker's minimum, whichever is more."""
    cpu_w = rig.cpu_power_w
    assumed = cpu_w is None
    if cpu_w is None:
        cpu_w = ASSUMED_CPU_W
    formula = (cpu_w + gpu.tgp_w + REST_OF_PC_W) * PSU_HEADROOM
    vendor = gpu.recommended_psu_w
    watts = max(formula, vendor or 0.0)
    cpu_text = f"{cpu_w:.0f} W CPU" + (" (assumed: CPU not in the catalog)" if assumed else "")
    text = (f"({cpu_text} + {gpu.tgp_w:.0f} W GPU + {REST_OF_PC_W:.0f} W) x {PSU_HEADROOM:g} "
            f"= {formula:.0f} W")
    if vendor:
        text += f"; the maker asks for {vendor:.0f} W"
    return PowerNeed(math.ceil(watts / 10) * 10, formula, vendor, cpu_w, assumed, text)


def connector_need(gpu: GpuEntry) -> tuple[int, int, int]:
    """(PCIe 6/8-pin cables, 16-pin sockets, EPS 8-pin cables) the card takes."""
    pcie = sum(1 for c in gpu.power_connectors if c in ("6-pin", "8-pin"))
    sixteen = sum(1 for c in gpu.power_connectors if c in ("12vhpwr", "12v-2x6"))
    eps = sum(1 for c in gpu.power_connectors if c == "eps-8pin")
    return pcie, sixteen, eps


def adapter_cables(gpu: GpuEntry) -> int:
    """8-pin cables a 16-pin card's adapter needs: one per 150 W of board power, 2 to 4."""
    return min(4, max(2, math.ceil(gpu.tgp_w / EIGHT_PIN_W)))


def connectors_ok(gpu: GpuEntry, plugs: tuple[str, ...]) -> tuple[bool, str]:
    """Whether a PSU with ``plugs`` can feed ``gpu``, and how.

    A 6+2-pin cable serves a 6-pin socket too; a 16-pin socket takes the PSU's own 16-pin plug
    or the card's adapter from spare 8-pin cables.
    """
    if not gpu.power_connectors:
        return True, "slot power only (75 W), no cable needed"
    needs = format_connectors(gpu.power_connectors)
    has = f"the PSU has {format_connectors(plugs)}"
    wanted = {name: gpu.power_connectors.count(name) for name in set(gpu.power_connectors)}
    have = {name: plugs.count(name) for name in set(plugs)}
    spare8 = have.get("8-pin", 0) - wanted.get("8-pin", 0)
    short6 = max(wanted.get("6-pin", 0) - have.get("6-pin", 0), 0)
    spare8 -= short6
    if spare8 < 0:
        return False, f"needs {needs}; {has}"
    if have.get("eps-8pin", 0) < wanted.get("eps-8pin", 0):
        return False, f"needs {needs} (EPS, not PCIe); {has}"
    sixteen = wanted.get("12vhpwr", 0) + wanted.get("12v-2x6", 0)
    if sixteen and have.get("12vhpwr", 0) + have.get("12v-2x6", 0) < sixteen:
        cables = adapter_cables(gpu)
        if spare8 >= cables * sixteen:
            return True, f"needs {needs}: through the card's adapter from {cables}x 8-pin ({has})"
        return False, f"needs {needs}, or an adapter from {cables}x 8-pin; {has}"
    return True, f"needs {needs}; {has}"


def psu_plugs(psu: PsuEntry) -> tuple[str, ...]:
    """A catalog PSU's GPU plugs as connector names."""
    sixteen = "12v-2x6" if psu.atx_version == "3.1" else "12vhpwr"
    return ("8-pin",) * psu.pcie_8pin + (sixteen,) * psu.connectors_12v_2x6


def psu_checks(rig: RigState, gpu: GpuEntry, facts: RigFacts,
               new_psu: PsuEntry | None) -> list[Check]:
    """PSU capacity and GPU connectors with the user's PSU or the plan's new one."""
    need = power_need(rig, gpu)
    out: list[Check] = []
    if new_psu is not None:
        ok = new_psu.watts >= need.watts
        status: Status = "pass" if ok else "fail"
        if ok and need.cpu_assumed and new_psu.watts < need.formula_w + 1:
            status = "unverified"
        detail = f"new {new_psu.watts:.0f} W PSU; needs {need.watts:.0f} W: {need.text}"
        if gpu.tgp_w >= 300 and new_psu.atx_version == "2.x":
            detail += "; an ATX 3.x unit rides this card's power spikes better"
        out.append(Check(PSU_CAPACITY, status, detail))
        ok_c, how = connectors_ok(gpu, psu_plugs(new_psu))
        out.append(Check(GPU_CONNECTORS, "pass" if ok_c else "fail", how))
        return out
    if facts.psu_watts is None:
        out.append(Check(PSU_CAPACITY, "unverified",
                         f"PSU unknown: assumed at least {need.watts:.0f} W — check it; "
                         f"{need.text}"))
    else:
        have = facts.psu_watts
        low_cpu = need.cpu_assumed and have >= max((65.0 + gpu.tgp_w + REST_OF_PC_W)
                                                  * PSU_HEADROOM, need.vendor_min_w or 0.0)
        if have >= need.watts:
            status = "unverified" if need.cpu_assumed else "pass"
        else:
            status = "unverified" if low_cpu else "fail"
        detail = f"your {have:.0f} W PSU; needs {need.watts:.0f} W: {need.text}"
        if status == "unverified":
            detail = (f"your {have:.0f} W PSU against {need.watts:.0f} W worked out with an "
                      f"assumed {need.cpu_w:.0f} W CPU ({rig.cpu_name or 'the CPU'} is not in the "
                      f"catalog), so it cannot be confirmed: look up your CPU's rated power; "
                      f"(CPU + {gpu.tgp_w:.0f} W GPU + {REST_OF_PC_W:.0f} W) x {PSU_HEADROOM:g} "
                      f"must stay at or below {have:.0f} W")
        out.append(Check(PSU_CAPACITY, status, detail))
    if not gpu.power_connectors:
        out.append(Check(GPU_CONNECTORS, "pass", "slot power only (75 W), no cable needed"))
    elif facts.psu_connectors is None:
        out.append(Check(GPU_CONNECTORS, "unverified",
                         f"needs {format_connectors(gpu.power_connectors)}; your PSU's "
                         "connectors are unknown — check them"))
    else:
        ok_c, how = connectors_ok(gpu, facts.psu_connectors)
        out.append(Check(GPU_CONNECTORS, "pass" if ok_c else "fail", how))
    return out


def psu_sufficient(rig: RigState, gpu: GpuEntry, facts: RigFacts) -> bool | None:
    """Whether the user's own PSU feeds ``gpu`` (None when the PSU is unknown)."""
    if facts.psu_watts is None:
        return None
    if facts.psu_watts < power_need(rig, gpu).watts:
        return False
    if facts.psu_connectors is not None and gpu.power_connectors:
        return connectors_ok(gpu, facts.psu_connectors)[0]
    return True


def slot_checks(rig: RigState, gpu: GpuEntry, facts: RigFacts) -> list[Check]:
    """Can the card go in: laptop, PCIe slot and generation, length, software stack."""
    out: list[Check] = []
    if rig.laptop and rig.thunderbolt is False:
        out.append(Check(GPU_REPLACEABLE, "fail",
                         f"{rig.gpu.name if rig.gpu else 'this GPU'} is a laptop GPU, soldered "
                         "to the board, and no Thunderbolt/USB4 port was found for an external "
                         "one"))
        return out
    if rig.laptop:
        return [*egpu_checks(rig, gpu), _software(gpu)]
    gen = rig.platform_pcie_gen
    link = f"PCIe {gpu.pcie_gen}.0 x{gpu.pcie_lanes or 16} card"
    if gen is not None and gen < gpu.pcie_gen:
        speed = f"; runs at PCIe {gen}.0 on this {rig.cpu_entry.name if rig.cpu_entry else 'CPU'}"
        if (gpu.pcie_lanes or 16) <= 8:
            speed += " x8: model loading and offload are slower, compute is not affected"
    else:
        speed = "" if gen is not None else "; the board's PCIe generation is unknown " \
            "(cards work in older slots at the older speed)"
    if rig.compact:
        out.append(Check(PCIE_SLOT, "unverified",
                         f"a small case (all-in-one, mini PC or low-profile): check it has a "
                         f"full-height x16 slot and room for the card; "
                         f"{link}{speed}"))
    elif rig.has_gpu:
        out.append(Check(PCIE_SLOT, "pass", f"replaces the card in its x16 slot; {link}{speed}"))
    else:
        out.append(Check(PCIE_SLOT, "unverified",
                         f"a free PCIe x16 slot cannot be detected — check the board (small "
                         f"prebuilt PCs may have none); {link}{speed}"))
    if facts.clearance_mm is None:
        size = f"{gpu.length_mm:.0f} mm reference card" if gpu.length_mm else "card length"
        out.append(Check(GPU_LENGTH, "unverified",
                         f"case clearance unknown: {size} not checked — measure the case"))
    elif gpu.length_mm is None:
        out.append(Check(GPU_LENGTH, "unverified",
                         f"card length not in the catalog: compare the model you buy with your "
                         f"{facts.clearance_mm:.0f} mm"))
    else:
        fits = gpu.length_mm <= facts.clearance_mm
        out.append(Check(GPU_LENGTH, "pass" if fits else "fail",
                         f"{gpu.length_mm:.0f} mm reference card, {facts.clearance_mm:.0f} mm "
                         "of room (partner cards are often longer)"))
    out.append(_software(gpu))
    return out


def _software(gpu: GpuEntry) -> Check:
    if gpu.vendor == "nvidia":
        return Check(GPU_SOFTWARE, "pass", "NVIDIA CUDA: PyTorch, bitsandbytes and "
                     "flash-attention support it")
    stack = "ROCm" if gpu.vendor == "amd" else "oneAPI/XPU"
    return Check(GPU_SOFTWARE, "unverified",
                 f"{gpu.vendor.upper() if gpu.vendor == 'amd' else 'Intel'} {stack}: "
                 "PyTorch runs, but bitsandbytes, flash-attention and some kernels "
                 "lag CUDA — check your tools support it")


def egpu_checks(rig: RigState, gpu: GpuEntry) -> list[Check]:
    """A desktop card in an external enclosure on a laptop's Thunderbolt/USB4 port."""
    port = ("the laptop has a Thunderbolt/USB4 controller" if rig.thunderbolt else
            "no Thunderbolt/USB4 controller could be detected — check the laptop has such a "
            "port (lightning-bolt or USB4 mark) before buying anything")
    return [Check(EXTERNAL_GPU, "unverified",
                  f"goes in an external GPU enclosure, not in the laptop: {port}; the enclosure "
                  f"(not in the catalog, not priced, not in the total) must power a "
                  f"{gpu.tgp_w:.0f} W card and fit its length; {EGPU_LINK}")]
