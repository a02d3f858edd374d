"""NVIDIA GPUs through NVML: every field read separately, so one unsupported call costs one field.

A field NVML cannot give becomes None, and one warning per field and reason names the GPUs it
concerns ("GPU: NVML could not report memory bus width on GPU 0, 1 (Not Supported)").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rigready.assess.detect.nvml import NvmlApi, NvmlCallError
from rigready.assess.detect.pci import normalise_bus_id
from rigready.assess.hardware import GpuInfo

T = TypeVar("T")

_LABELS = {
    "name": "name", "uuid": "UUID", "pci_bus_id": "PCI bus id", "vram_bytes": "memory size",
    "compute_capability": "compute capability", "power_limit_w": "power limit",
    "pcie_gen_max": "max PCIe generation", "pcie_gen_current": "current PCIe generation",
    "pcie_width_max": "max PCIe width", "pcie_width_current": "current PCIe width",
    "memory_bus_width_bits": "memory bus width", "cuda_cores": "CUDA core count",
    "max_sm_clock_mhz": "max SM clock", "temp_slowdown_c": "slowdown temperature",
    "temp_shutdown_c": "shutdown temperature", "driver_version": "driver version",
    "cuda_driver_version": "CUDA driver version",
}


def format_cuda_version(encoded: int) -> str:
    """NVML's ``12040`` -> ``"12.4"``; ``13000`` -> ``"13.0"``."""
    return f"{encoded // 1000}.{(encoded % 1000) // 10}"


class _Reader:
    """Runs NVML calls, collecting failures as (field, reason) -> GPU indices."""

    def __init__(self) -> None:
        self.failures: dict[tuple[str, str], list[int]] = {}

    def read(self, field: str, index: int, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except NvmlCallError as exc:
            reason = exc.reason
        except Exception as exc:  # noqa: BLE001 - any driver oddity is one missing field
            reason = f"{type(exc).__name__}: {exc}"
        self.failures.setdefault((field, reason), []).append(index)
        return None

    def warnings(self) -> list[str]:
        out = []
        for (field, reason), indices in self.failures.items():
            where = ", ".join(str(i) for i in indices if i >= 0)
            target = f" on GPU {where}" if where else ""
            out.append(f"GPU: NVML could not report {_LABELS.get(field, field)}{target} ({reason})")
        return out


def probe_nvidia(nvml: NvmlApi) -> tuple[tuple[GpuInfo, ...], list[str]]:
    """All NVIDIA GPUs NVML sees, with driver-wide facts copied to each."""
    reader = _Reader()
    driver = reader.read("driver_version", -1, nvml.driver_version)
    cuda = reader.read("cuda_driver_version", -1, nvml.cuda_driver_version)
    cuda_text = format_cuda_version(cuda) if cuda else None
    count = reader.read("device count", -1, nvml.device_count) or 0
    gpus = [_gpu(nvml, reader, i, driver, cuda_text) for i in range(count)]
    return tuple(gpus), reader.warnings()


def _gpu(nvml: NvmlApi, r: _Reader, i: int, driver: str | None, cuda: str | None) -> GpuInfo:
    sources: dict[str, str] = {}
    if driver is not None:
        sources["driver_version"] = "nvml"
    if cuda is not None:
        sources["cuda_driver_version"] = "nvml"

    def get(field: str, call: Callable[[], T]) -> T | None:
        value = r.read(field, i, call)
        if value is not None:
            sources[field] = "nvml"
        return value

    def count(field: str, call: Callable[[], int]) -> int | None:
        value = get(field, call)
        if value is not None and value <= 0:  # NVML writes 0 for "not applicable"
            sources.pop(field, None)
            return None
        return value

    name = get("name", lambda: nvml.name(i))
    if name is None:
        sources["name"] = "placeholder (NVML gave no name)"
    power_mw = count("power_limit_w", lambda: nvml.power_limit_mw(i))
    # Both are optional extras: a GPU without NVLink (most GeForce cards) or an older driver
    # is normal, so a failure here is not worth a warning.
    quiet = _Reader()
    packed = quiet.read("pci_device_id", i, lambda: nvml.pci_device_id(i))
    device_id = f"{packed & 0xFFFF:04x}:{packed >> 16:04x}" if packed else None
    if device_id is not None:
        sources["pci_device_id"] = "nvml"
    links = quiet.read("nvlink_links", i, lambda: nvml.nvlink_active_links(i))
    if links is not None:
        sources["nvlink_links"] = "nvml"
    elif any(f == "nvlink_links" and "not supported" in why.lower()
             for f, why in quiet.failures):
        links = 0  # NVML's answer for a GPU that has no NVLink: it talks over PCIe
        sources["nvlink_links"] = "nvml"
    return GpuInfo(
        vendor="nvidia",
        name=name or f"NVIDIA GPU {i}",
        index=i,
        uuid=get("uuid", lambda: nvml.uuid(i)),
        pci_bus_id=get("pci_bus_id", lambda: normalise_bus_id(nvml.pci_bus_id(i))),
        vram_bytes=count("vram_bytes", lambda: nvml.memory_total(i)),
        driver_version=driver,
        cuda_driver_version=cuda,
        compute_capability=get("compute_capability",
                               lambda: "{}.{}".format(*nvml.compute_capability(i))),
        power_limit_w=power_mw / 1000 if power_mw is not None else None,
        pcie_gen_max=count("pcie_gen_max", lambda: nvml.pcie_gen_max(i)),
        pcie_gen_current=count("pcie_gen_current", lambda: nvml.pcie_gen_current(i)),
        pcie_width_max=count("pcie_width_max", lambda: nvml.pcie_width_max(i)),
        pcie_width_current=count("pcie_width_current", lambda: nvml.pcie_width_current(i)),
        memory_bus_width_bits=count("memory_bus_width_bits", lambda: nvml.memory_bus_width(i)),
        cuda_cores=count("cuda_cores", lambda: nvml.num_cores(i)),
        max_sm_clock_mhz=count("max_sm_clock_mhz", lambda: nvml.max_sm_clock_mhz(i)),
        temp_slowdown_c=count("temp_slowdown_c",
                              lambda: nvml.temperature_threshold(i, "slowdown")),
        temp_shutdown_c=count("temp_shutdown_c",
                              lambda: nvml.temperature_threshold(i, "shutdown")),
        pci_device_id=device_id,
        nvlink_links=links,
        sources=sources,
    )
