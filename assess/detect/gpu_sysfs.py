"""AMD and Intel GPUs (and NVIDIA cards NVML cannot reach) from the PCI tree in sysfs.

Display-class PCI functions (class ``0x03xxxx``) are listed from ``/sys/bus/pci/devices``, so a
card shows up even when its driver is not loaded. AMD cards add what the amdgpu door
(:class:`rigready.gpu.amd_sysfs.AmdSysfs`, shared with the monitor) reads: VRAM and GTT size and
the hwmon power cap. Intel cards give presence and name (detection only). BMC display chips
(ASPEED, Matrox) and virtual display adapters are not GPUs one computes on and are left out.

Integrated GPUs are flagged from evidence, never from a size guess:

* Intel: the function sits at PCI ``00:02.0``, the address Intel reserves for its integrated
  graphics (Arc cards sit behind a bridge on another bus).
* AMD: the amdkfd topology puts CPU cores and the GPU in one node, or the GPU shares its PCI
  device with AMD's platform security processor (class ``0x1080``), which only APUs do.
"""

from __future__ import annotations

import os
import re

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.pci import pci_ids_name, pcie_gen, pcie_width
from rigready.assess.hardware import GpuInfo, GpuVendor

PCI = "sys/bus/pci/devices"
_VENDORS: dict[int, GpuVendor] = {0x10DE: "nvidia", 0x1002: "amd", 0x8086: "intel"}
_LABEL = {"nvidia": "NVIDIA", "amd": "AMD", "intel": "Intel"}
_BDF = re.compile(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]")


def probe_sysfs_gpus(
    fs: SysRoot, nvml_bus_ids: set[str], nvml_problem: str | None, first_index: int = 0
) -> tuple[tuple[GpuInfo, ...], list[str]]:
    """GPUs found on the PCI bus that NVML did not already report.

    Args:
        fs: the root to read.
        nvml_bus_ids: normalised PCI addresses of the GPUs NVML reported (skipped here).
        nvml_problem: why NVML is unusable, or None; quoted for NVIDIA cards found without it.
        first_index: ``index`` given to the first GPU found here.
    """
    gpus: list[GpuInfo] = []
    warnings: list[str] = []
    for bdf in fs.listdir(PCI):
        base = f"{PCI}/{bdf}"
        klass = fs.text(f"{base}/class") or ""
        vendor = _VENDORS.get(fs.int(f"{base}/vendor", 0) or -1)
        if not klass.startswith("0x03") or vendor is None or bdf.lower() in nvml_bus_ids:
            continue
        index = first_index + len(gpus)
        if vendor == "amd":
            gpu = _amd(fs, bdf, index, warnings)
        elif vendor == "intel":
            gpu = _intel(fs, bdf, index, warnings)
        else:
            gpu = _nvidia_without_nvml(fs, bdf, index)
            reason = nvml_problem or "NVML did not list it"
            warnings.append(f"GPU: {gpu.name} at {bdf} is on the PCI bus but NVML cannot read "
                            f"it: {reason}; memory and CUDA facts unknown")
        gpus.append(gpu)
    return tuple(gpus), warnings


def _name(fs: SysRoot, base: str, vendor: GpuVendor) -> tuple[str, str]:
    vendor_id = fs.int(f"{base}/vendor", 0) or 0
    device_id = fs.int(f"{base}/device", 0) or 0
    product = fs.text(f"{base}/product_name")
    if product:
        return product, "sysfs product_name"
    _, device_name = pci_ids_name(fs, vendor_id, device_id)
    if device_name:
        return f"{_LABEL[vendor]} {device_name}", "pci.ids"
    return f"{_LABEL[vendor]} GPU [{vendor_id:04x}:{device_id:04x}]", "sysfs PCI ids"


def _link_along_path(fs: SysRoot, bdf: str) -> tuple[int | None, int | None, int | None,
                                                     int | None]:
    """(gen max, gen now, width max, width now): the narrowest link between the GPU and the CPU.

    AMD cards (and some others) put a PCIe switch on the board, so the GPU function's own link
    is internal; the slot's link is further up. Idle links drop to a low generation, so "now"
    is only what the link runs at this moment.
    """
    path = fs.resolve(f"{PCI}/{bdf}") or ""
    values: list[list[int]] = [[], [], [], []]
    while True:
        name = os.path.basename(path)
        if not _BDF.fullmatch(name):
            break
        readings = (pcie_gen(fs.text(f"{path}/max_link_speed")),
                    pcie_gen(fs.text(f"{path}/current_link_speed")),
                    pcie_width(fs.text(f"{path}/max_link_width")),
                    pcie_width(fs.text(f"{path}/current_link_width")))
        for bucket, value in zip(values, readings, strict=True):
            if value is not None:
                bucket.append(value)
        path = os.path.dirname(path)
    gen_max, gen_now, width_max, width_now = (min(v) if v else None for v in values)
    return gen_max, gen_now, width_max, width_now


_Link = tuple[int | None, int | None, int | None, int | None]
_NO_LINK: _Link = (None, None, None, None)


def _with_link(fs: SysRoot, bdf: str, sources: dict[str, str]) -> _Link:
    link = _link_along_path(fs, bdf)
    keys = ("pcie_gen_max", "pcie_gen_current", "pcie_width_max", "pcie_width_current")
    for key, value in zip(keys, link, strict=True):
        if value is not None:
            sources[key] = "sysfs PCI link (narrowest on the path to the CPU)"
    return link


def _gpu(vendor: GpuVendor, name: str, index: int, bdf: str, link: _Link,
         sources: dict[str, str], vram: int | None = None, integrated: bool = False,
         power: float | None = None) -> GpuInfo:
    return GpuInfo(vendor=vendor, name=name, index=index, pci_bus_id=bdf, vram_bytes=vram,
                   integrated=integrated, power_limit_w=power, pcie_gen_max=link[0],
                   pcie_gen_current=link[1], pcie_width_max=link[2], pcie_width_current=link[3],
                   sources=sources)


def _amd(fs: SysRoot, bdf: str, index: int, warnings: list[str]) -> GpuInfo:
    base = f"{PCI}/{bdf}"
    name, name_source = _name(fs, base, "amd")
    sources = {"name": name_source, "pci_bus_id": "sysfs"}
    from rigready.gpu.amd_sysfs import AmdSysfs  # only machines with an AMD card pay for it

    door = AmdSysfs(fs.root)
    facts = door.facts(door.device_at(fs.path(base), index))
    vram, gtt = facts.memory_total_bytes, facts.shared_memory_bytes
    integrated, evidence = _amd_integrated(fs, bdf)
    sources["integrated"] = evidence
    if vram is not None:
        sources["vram_bytes"] = "amdgpu mem_info_vram_total"
        if integrated and gtt:
            sources["vram_bytes"] += (f" (BIOS carve-out; the GPU can also use {gtt / 1024**3:.1f}"
                                      " GiB of shared system memory, mem_info_gtt_total)")
    else:
        why = facts.unknown.get("memory_total_bytes")
        warnings.append(f"GPU: {name} at {bdf}: {why}; memory size unknown"
                        if why is not None and why.kind == "driver_not_loaded"
                        else f"GPU: {name} at {bdf}: amdgpu does not report mem_info_vram_total")
    power = facts.power_limit_w
    if power is not None:
        sources["power_limit_w"] = "amdgpu hwmon power1_cap"
    elif not integrated:
        warnings.append(f"GPU: {name} at {bdf}: no power cap in hwmon (power1_cap)")
    link = _with_link(fs, bdf, sources)
    return _gpu("amd", name, index, bdf, link, sources, vram, integrated, power)


def _amd_integrated(fs: SysRoot, bdf: str) -> tuple[bool, str]:
    domain, bus, rest = bdf.split(":")
    slot = rest.split(".")[0]
    location = (int(bus, 16) << 8) | (int(slot, 16) << 3) | int(rest.split(".")[1])
    nodes = "sys/class/kfd/kfd/topology/nodes"
    for node in fs.listdir(nodes):
        props = _kfd_properties(fs.text(f"{nodes}/{node}/properties") or "")
        if props.get("location_id") == location and props.get("domain", 0) == int(domain, 16) \
                and props.get("simd_count", 0) > 0:
            if props.get("cpu_cores_count", 0) > 0:
                return True, "kfd topology (CPU cores and GPU in one node)"
            break
    prefix = bdf[: bdf.rindex(".")]
    for other in fs.listdir(PCI):
        if other.startswith(prefix + ".") and other != bdf \
                and (fs.text(f"{PCI}/{other}/class") or "").startswith("0x1080") \
                and fs.int(f"{PCI}/{other}/vendor", 0) == 0x1022:
            return True, "PCI (shares its device with the AMD security processor, as APUs do)"
    return False, "sysfs (no APU evidence)"


def _kfd_properties(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def _intel(fs: SysRoot, bdf: str, index: int, warnings: list[str]) -> GpuInfo:
    base = f"{PCI}/{bdf}"
    name, name_source = _name(fs, base, "intel")
    sources = {"name": name_source, "pci_bus_id": "sysfs"}
    integrated = bdf.endswith(":00:02.0")
    sources["integrated"] = ("PCI 00:02.0 (Intel integrated graphics address)" if integrated
                             else "PCI address (not 00:02.0: a discrete card)")
    if not integrated:
        warnings.append(f"GPU: {name} at {bdf}: Intel discrete GPU memory size is not read yet")
        link = _with_link(fs, bdf, sources)
    else:
        link = _NO_LINK
    return _gpu("intel", name, index, bdf, link, sources, integrated=integrated)


def _nvidia_without_nvml(fs: SysRoot, bdf: str, index: int) -> GpuInfo:
    base = f"{PCI}/{bdf}"
    name, name_source = _name(fs, base, "nvidia")
    sources = {"name": name_source, "pci_bus_id": "sysfs"}
    link = _with_link(fs, bdf, sources)
    return _gpu("nvidia", name, index, bdf, link, sources)
