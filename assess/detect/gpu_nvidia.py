"""NVIDIA GPUs through the NVML door: every fact read separately, so one unsupported call costs one
fact.

A fact NVML cannot give becomes None, and one warning per fact and reason names the GPUs it
concerns ("GPU: NVML could not report memory bus width on GPU 0, 1 (Not Supported)"). Where
NVML answers "none" (0 for a link width, no CUDA version) the fact is None without a warning.
"""

from __future__ import annotations

from rigready.assess.hardware import GpuInfo
from rigready.gpu.types import GpuFacts, Unknown, normalise_bus_id
from rigready.gpu.vendor import GpuDoor

#: GpuInfo field -> (GpuFacts field, words for the warning), in the order warnings are listed.
_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "name", "name"),
    ("power_limit_w", "power_limit_w", "power limit"),
    ("uuid", "uuid", "UUID"),
    ("pci_bus_id", "pci_bus_id", "PCI bus id"),
    ("vram_bytes", "memory_total_bytes", "memory size"),
    ("compute_capability", "compute_capability", "compute capability"),
    ("pcie_gen_max", "pcie_gen_max", "max PCIe generation"),
    ("pcie_gen_current", "pcie_gen_current", "current PCIe generation"),
    ("pcie_width_max", "pcie_width_max", "max PCIe width"),
    ("pcie_width_current", "pcie_width_current", "current PCIe width"),
    ("memory_bus_width_bits", "memory_bus_width_bits", "memory bus width"),
    ("cuda_cores", "cuda_cores", "CUDA core count"),
    ("max_sm_clock_mhz", "sm_clock_max_mhz", "max SM clock"),
    ("temp_slowdown_c", "temp_slowdown_c", "slowdown temperature"),
    ("temp_shutdown_c", "temp_shutdown_c", "shutdown temperature"),
)
#: Driver-wide facts: a failure is reported once, not per GPU.
_SYSTEM: tuple[tuple[str, str], ...] = (
    ("driver_version", "driver version"), ("cuda_driver_version", "CUDA driver version"))


def format_cuda_version(encoded: int) -> str:
    """NVML's ``12040`` -> ``"12.4"``; ``13000`` -> ``"13.0"``."""
    return f"{encoded // 1000}.{(encoded % 1000) // 10}"


class _Failures:
    """(fact words, reason) -> GPU indices, in the order first seen (-1: driver-wide)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list[int]] = {}

    def add(self, words: str, why: Unknown | None, index: int) -> None:
        if why is None or why.kind == "not_applicable":
            return
        indices = self.seen.setdefault((words, why.reason), [])
        if index not in indices:
            indices.append(index)

    def warnings(self) -> list[str]:
        out = []
        for (words, reason), indices in self.seen.items():
            where = ", ".join(str(i) for i in indices if i >= 0)
            target = f" on GPU {where}" if where else ""
            out.append(f"GPU: NVML could not report {words}{target} ({reason})")
        return out


def probe_nvidia(door: GpuDoor) -> tuple[tuple[GpuInfo, ...], list[str]]:
    """All NVIDIA GPUs the door sees, with driver-wide facts copied to each."""
    failures = _Failures()
    gpus = []
    for device in door.devices():
        facts = door.facts(device)
        for key, words in _SYSTEM:
            failures.add(words, facts.unknown.get(key), -1)
        gpus.append(_gpu(facts, failures))
    return tuple(gpus), failures.warnings()


def _gpu(facts: GpuFacts, failures: _Failures) -> GpuInfo:
    sources: dict[str, str] = {}
    values: dict[str, object] = {}
    if facts.driver_version is not None:
        sources["driver_version"] = "nvml"
    cuda = None if facts.cuda_driver_version is None else format_cuda_version(
        facts.cuda_driver_version)
    if cuda is not None:
        sources["cuda_driver_version"] = "nvml"
    pci_device_id: str | None = None
    for info_key, facts_key, words in _FIELDS:
        if info_key == "uuid":  # sources list the optional extras between power and UUID
            pci_device_id = _extras(facts, sources)
        value = getattr(facts, facts_key)
        if value is None:
            failures.add(words, facts.unknown.get(facts_key), facts.device.index)
            continue
        sources[info_key] = "nvml"
        values[info_key] = value
    if "name" not in values:
        sources["name"] = "placeholder (NVML gave no name)"
    major_minor = facts.compute_capability
    return GpuInfo(
        vendor="nvidia",
        name=str(values.get("name") or f"NVIDIA GPU {facts.device.index}"),
        index=facts.device.index,
        uuid=facts.uuid,
        pci_bus_id=None if facts.pci_bus_id is None else normalise_bus_id(facts.pci_bus_id),
        vram_bytes=facts.memory_total_bytes,
        driver_version=facts.driver_version,
        cuda_driver_version=cuda,
        compute_capability=None if major_minor is None else "{}.{}".format(*major_minor),
        power_limit_w=facts.power_limit_w,
        pcie_gen_max=facts.pcie_gen_max,
        pcie_gen_current=facts.pcie_gen_current,
        pcie_width_max=facts.pcie_width_max,
        pcie_width_current=facts.pcie_width_current,
        memory_bus_width_bits=facts.memory_bus_width_bits,
        cuda_cores=facts.cuda_cores,
        max_sm_clock_mhz=_whole(facts.sm_clock_max_mhz),
        temp_slowdown_c=_whole(facts.temp_slowdown_c),
        temp_shutdown_c=_whole(facts.temp_shutdown_c),
        pci_device_id=pci_device_id,
        nvlink_links=facts.nvlink_links,
        sources=sources,
    )


def _extras(facts: GpuFacts, sources: dict[str, str]) -> str | None:
    """The PCI ``vendor:device`` id, and the sources of both optional extras.

    A GPU without NVLink, an older driver or an older capture is normal: no warning for these.
    """
    pci_device_id = None
    if facts.pci_ids is not None:
        vendor, device = facts.pci_ids
        pci_device_id = f"{vendor:04x}:{device:04x}"
        sources["pci_device_id"] = "nvml"
    if facts.nvlink_links is not None:
        sources["nvlink_links"] = "nvml"
    return pci_device_id


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)
