"""CPU detection: ``/proc/cpuinfo`` and ``/sys/devices/system/cpu`` on Linux, py-cpuinfo elsewhere.

py-cpuinfo is only a fallback for other systems: it is slow (it may start a subprocess) and on
Linux it reads the same ``/proc/cpuinfo`` anyway.
"""

from __future__ import annotations

import os
import platform
import re
from typing import Any

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.isa import ai_flags, fp32_flops_per_cycle
from rigready.assess.hardware import CpuInfo

_CPU = "sys/devices/system/cpu"

_X86_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon",
                "CentaurHauls": "Centaur", "Shanghai": "Zhaoxin"}
#: Arm "CPU implementer" codes (Arm ARM, MIDR_EL1) and a few common "CPU part" names.
_ARM_IMPLEMENTERS = {0x41: "Arm", 0x42: "Broadcom", 0x43: "Cavium", 0x46: "Fujitsu",
                     0x48: "HiSilicon", 0x4E: "NVIDIA", 0x51: "Qualcomm", 0x61: "Apple",
                     0x6D: "Microsoft", 0xC0: "Ampere"}
_ARM_PARTS = {
    (0x41, 0xD03): "Cortex-A53", (0x41, 0xD07): "Cortex-A57", (0x41, 0xD08): "Cortex-A72",
    (0x41, 0xD0B): "Cortex-A76", (0x41, 0xD0C): "Neoverse-N1", (0x41, 0xD40): "Neoverse-V1",
    (0x41, 0xD49): "Neoverse-N2", (0x41, 0xD4F): "Neoverse-V2", (0x41, 0xD8E): "Neoverse-N3",
    (0x41, 0xD84): "Neoverse-V3", (0xC0, 0xAC3): "Ampere-1", (0xC0, 0xAC4): "Ampere-1a",
}
_GHZ_IN_NAME = re.compile(r"@\s*([0-9]+(?:\.[0-9]+)?)\s*GHz", re.IGNORECASE)


def parse_cpuinfo(text: str) -> list[dict[str, str]]:
    """Split ``/proc/cpuinfo`` into one ``{key: value}`` dict per blank-line separated block."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current[key.strip()] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def parse_cpu_list(text: str | None) -> list[int]:
    """``"0-3,8,10-11"`` -> ``[0, 1, 2, 3, 8, 10, 11]``; empty for None or bad text."""
    out: list[int] = []
    if not text:
        return out
    try:
        for part in text.strip().split(","):
            if "-" in part:
                lo, hi = part.split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        return []
    return out


def parse_size(text: str | None) -> int | None:
    """Cache sizes as sysfs writes them (``"32768K"``, ``"1M"``, ``"512"``) in bytes."""
    if not text:
        return None
    match = re.fullmatch(r"\s*([0-9]+)\s*([KMG]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        return None
    scale = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[match.group(2).upper()]
    return int(match.group(1)) * scale


def probe_cpu(fs: SysRoot) -> tuple[CpuInfo, list[str]]:
    """Detect the CPU below ``fs`` (Linux), or through py-cpuinfo/psutil on other systems."""
    text = fs.text("proc/cpuinfo")
    if text is None:
        if fs.live:
            return _probe_portable()
        return CpuInfo(), ["CPU: /proc/cpuinfo not found; CPU facts unknown"]
    return _probe_linux(fs, parse_cpuinfo(text))


def _probe_linux(fs: SysRoot, blocks: list[dict[str, str]]) -> tuple[CpuInfo, list[str]]:
    warnings: list[str] = []
    sources: dict[str, str] = {}
    procs = [b for b in blocks if "processor" in b]
    first = procs[0] if procs else (blocks[0] if blocks else {})

    model, vendor = _model_and_vendor(first)
    for key, value in (("model", model), ("vendor", vendor)):
        if value is not None:
            sources[key] = "/proc/cpuinfo"
    if model is None:
        warnings.append("CPU: /proc/cpuinfo names no model")

    arch = fs.text("proc/sys/kernel/arch")
    if arch is not None:
        sources["architecture"] = "/proc/sys/kernel/arch"
    elif fs.live:
        arch = platform.machine() or None
        if arch:
            sources["architecture"] = "platform.machine()"

    online = parse_cpu_list(fs.text(f"{_CPU}/online"))
    if online:
        logical: int | None = len(online)
        sources["logical_cores"] = "sysfs cpu/online"
    else:
        logical = len(procs) or None
        online = [int(p["processor"]) for p in procs if p["processor"].isdigit()]
        if logical:
            sources["logical_cores"] = "/proc/cpuinfo"

    physical, physical_source = _physical_cores(fs, online, procs)
    if physical is not None:
        sources["physical_cores"] = physical_source
    else:
        warnings.append("CPU: physical core count unknown (no topology in sysfs or /proc/cpuinfo)")

    base, base_source, max_clock, max_source = _clocks(fs, online, model)
    if base is not None:
        sources["base_clock_mhz"] = base_source
    if max_clock is not None:
        sources["max_clock_mhz"] = max_source
    if base is None and max_clock is None:
        current = first.get("cpu MHz")
        note = f"; the {float(current):.0f} MHz in /proc/cpuinfo is a current clock, not a " \
               "rated one" if current and _is_number(current) else ""
        warnings.append("CPU: base and max clock not exposed (no cpufreq in sysfs, usual in "
                        f"virtual machines){note}")
    elif max_clock is None:
        warnings.append("CPU: max (boost) clock not exposed by cpufreq")
    elif base is None:
        warnings.append("CPU: base clock not exposed by cpufreq")

    l3 = _l3_bytes(fs, online)
    if l3 is not None:
        sources["l3_cache_bytes"] = "sysfs cpu/cache"
    else:
        warnings.append("CPU: L3 cache size not exposed in sysfs (cpu*/cache/index*)")

    raw_flags = (first.get("flags") or first.get("Features") or "").split()
    flags = ai_flags(raw_flags)
    if raw_flags:
        sources["flags"] = "/proc/cpuinfo"
    else:
        warnings.append("CPU: /proc/cpuinfo lists no flags; instruction sets unknown")
    per_cycle = fp32_flops_per_cycle(raw_flags, arch)
    if per_cycle is not None:
        sources["fp32_flops_per_cycle"] = "ISA flags (assess.detect.isa rule)"

    info = CpuInfo(model=model, vendor=vendor, architecture=arch, physical_cores=physical,
                   logical_cores=logical, base_clock_mhz=base, max_clock_mhz=max_clock,
                   l3_cache_bytes=l3, flags=flags, fp32_flops_per_cycle=per_cycle,
                   sources=sources)
    return info, warnings


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _model_and_vendor(block: dict[str, str]) -> tuple[str | None, str | None]:
    model = " ".join(block.get("model name", "").split()) or None
    vendor_id = block.get("vendor_id")
    if vendor_id is not None:
        return model, _X86_VENDORS.get(vendor_id, vendor_id.strip() or None)
    implementer = _hex(block.get("CPU implementer"))
    if implementer is None:
        return model, None
    vendor = _ARM_IMPLEMENTERS.get(implementer, f"Arm implementer 0x{implementer:02x}")
    if model is None:
        part = _hex(block.get("CPU part"))
        name = _ARM_PARTS.get((implementer, part)) if part is not None else None
        if name is not None:
            model = f"{vendor} {name}"
        elif part is not None:
            model = f"{vendor} CPU part 0x{part:03x}"
    return model, vendor


def _hex(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text, 0)
    except ValueError:
        return None


def _physical_cores(
    fs: SysRoot, online: list[int], procs: list[dict[str, str]]
) -> tuple[int | None, str]:
    groups: set[str] = set()
    for cpu in online:
        siblings = fs.text(f"{_CPU}/cpu{cpu}/topology/core_cpus_list") or fs.text(
            f"{_CPU}/cpu{cpu}/topology/thread_siblings_list")
        if siblings is None:
            groups.clear()
            break
        groups.add(siblings)
    if groups:
        return len(groups), "sysfs cpu topology"
    pairs = {(p.get("physical id"), p.get("core id")) for p in procs}
    if procs and all(a is not None and b is not None for a, b in pairs):
        return len(pairs), "/proc/cpuinfo"
    return None, ""


def _clocks(
    fs: SysRoot, online: list[int], model: str | None
) -> tuple[float | None, str, float | None, str]:
    bases: list[int] = []
    maxima: list[int] = []
    max_source = ""
    for cpu in online:
        folder = f"{_CPU}/cpu{cpu}/cpufreq"
        base = fs.int(f"{folder}/base_frequency") or fs.int(f"{folder}/cpuinfo_nominal_freq")
        if base:
            bases.append(base)
        top = fs.int(f"{folder}/amd_pstate_max_freq")
        if top:
            max_source = "sysfs cpufreq amd_pstate_max_freq"
        else:
            top = fs.int(f"{folder}/cpuinfo_max_freq")
            if top:
                max_source = max_source or "sysfs cpufreq cpuinfo_max_freq"
        if top:
            maxima.append(top)
    base_mhz = max(bases) / 1000 if bases else None
    base_source = "sysfs cpufreq base_frequency" if bases else ""
    if base_mhz is None and model is not None:
        match = _GHZ_IN_NAME.search(model)
        if match:
            base_mhz = float(match.group(1)) * 1000
            base_source = "/proc/cpuinfo model name"
    max_mhz = max(maxima) / 1000 if maxima else None
    return base_mhz, base_source, max_mhz, max_source


def _l3_bytes(fs: SysRoot, online: list[int]) -> int | None:
    """Total L3: the size of each distinct L3 instance (CCX, die, socket) added up."""
    instances: dict[str, int] = {}
    for cpu in online:
        cache = f"{_CPU}/cpu{cpu}/cache"
        for index in fs.listdir(cache):
            if not index.startswith("index") or fs.text(f"{cache}/{index}/level") != "3":
                continue
            size = parse_size(fs.text(f"{cache}/{index}/size"))
            shared = fs.text(f"{cache}/{index}/shared_cpu_list") or f"cpu{cpu}"
            if size is not None:
                instances[shared] = size
    return sum(instances.values()) if instances else None


def _probe_portable() -> tuple[CpuInfo, list[str]]:
    """Other systems: py-cpuinfo for model/flags/cache, psutil for cores and clocks."""
    warnings: list[str] = []
    sources: dict[str, str] = {}
    data: dict[str, Any] = {}
    try:
        import cpuinfo

        data = dict(cpuinfo.get_cpu_info())
    except Exception as exc:  # noqa: BLE001 - any failure of the helper is a warning
        warnings.append(f"CPU: py-cpuinfo failed ({type(exc).__name__}: {exc})")
    model = str(data["brand_raw"]).strip() if data.get("brand_raw") else None
    vendor_raw = str(data.get("vendor_id_raw") or "").strip()
    vendor = _X86_VENDORS.get(vendor_raw, vendor_raw or None)
    arch = platform.machine() or None
    raw_flags = [str(f) for f in data.get("flags", [])]
    l3 = _cache_value(data.get("l3_cache_size"))
    for key, value in (("model", model), ("vendor", vendor), ("l3_cache_bytes", l3)):
        if value is not None:
            sources[key] = "py-cpuinfo"
    if raw_flags:
        sources["flags"] = "py-cpuinfo"
    if arch:
        sources["architecture"] = "platform.machine()"
    logical = os.cpu_count()
    physical: int | None = None
    max_mhz: float | None = None
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
        freq = psutil.cpu_freq()
        max_mhz = float(freq.max) if freq is not None and freq.max else None
    except Exception as exc:  # noqa: BLE001
        warnings.append(f"CPU: psutil failed ({type(exc).__name__}: {exc})")
    if logical:
        sources["logical_cores"] = "os.cpu_count()"
    if physical:
        sources["physical_cores"] = "psutil"
    if max_mhz:
        sources["max_clock_mhz"] = "psutil"
    base_mhz: float | None = None
    match = _GHZ_IN_NAME.search(model or "")
    if match:
        base_mhz = float(match.group(1)) * 1000
        sources["base_clock_mhz"] = "py-cpuinfo model name"
    per_cycle = fp32_flops_per_cycle(raw_flags, arch)
    if per_cycle is not None:
        sources["fp32_flops_per_cycle"] = "ISA flags (assess.detect.isa rule)"
    missing = [label for label, known in (("model", model), ("physical core count", physical),
                                          ("max clock", max_mhz), ("L3 cache size", l3))
               if known is None]
    warnings.extend(f"CPU: {label} unknown on this system" for label in missing)
    info = CpuInfo(model=model, vendor=vendor, architecture=arch, physical_cores=physical or None,
                   logical_cores=logical, base_clock_mhz=base_mhz, max_clock_mhz=max_mhz,
                   l3_cache_bytes=l3, flags=ai_flags(raw_flags), fp32_flops_per_cycle=per_cycle,
                   sources=sources)
    return info, warnings


def _cache_value(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value or None
    if isinstance(value, str):
        return parse_size(value.replace(" ", "").upper().replace("KB", "K").replace("MB", "M"))
    return None
