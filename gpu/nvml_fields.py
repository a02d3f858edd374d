"""How :mod:`rigready.gpu.nvml` reads each value: NVML return codes, calls and unit conversions.

Nothing here imports ``pynvml``: every call takes the module (or a test's stand-in) as its first
argument and a device handle as its second. Live groups list candidate calls newest API first
(``nvmlDeviceGetTemperatureV`` before ``nvmlDeviceGetTemperature``); the door keeps the first one
that answers. Units leave here converted: mW -> W, mJ -> J, KB/s -> bytes/s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rigready.gpu.throttle import decode_clock_events
from rigready.gpu.types import ProcessKind, UnknownKind

#: NVML return code -> kind (stable C ABI values; see nvml.h). Codes not listed are "error".
CODE_KINDS: dict[int, UnknownKind] = {
    1: "uninitialized", 2: "not_supported", 3: "not_supported", 4: "no_permission",
    6: "not_supported", 9: "driver_not_loaded", 10: "transient", 12: "library_not_found",
    13: "function_missing", 15: "gpu_lost", 16: "gpu_lost", 18: "driver_mismatch",
    19: "transient", 21: "transient", 23: "transient", 27: "transient", 28: "gpu_lost",
    999: "unknown_error",
}

#: Why NVML could not start, for people (``{library}``, ``{reason}`` filled in); others:
#: "NVML failed to start ({reason})".
START_FAILURES: dict[str, str] = {
    "library_not_found": "no NVIDIA driver found ({library} not loadable)",
    "driver_not_loaded": "NVIDIA driver installed but not loaded (NVML: Driver Not Loaded)",
    "driver_mismatch":
        "NVIDIA driver and library versions differ (NVML); reboot after a driver update",
    "no_permission": "no permission to open the NVIDIA device (NVML: Insufficient Permissions)",
}

_TEMP_GPU, _THRESH_SHUTDOWN, _THRESH_SLOWDOWN = 0, 0, 1
_CLOCK_SM, _CLOCK_MEM = 1, 2
_PSTATE_UNKNOWN = 32
_PCIE_TX, _PCIE_RX = 0, 1
_FEATURE_ENABLED = 1

Call = Callable[[Any, Any], Any]  # (nvml module, device handle) -> raw value


def text(value: Any) -> str:
    """NVML strings come back as bytes from older bindings."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class Group:
    """How one reading group is read: candidate calls, then a converter to field values."""

    key: str
    calls: tuple[Call, ...]
    apply: Callable[[Any], dict[str, Any]]


def _pcie(n: Any, h: Any) -> tuple[Any, Any]:
    return n.nvmlDeviceGetPcieThroughput(h, _PCIE_TX), n.nvmlDeviceGetPcieThroughput(h, _PCIE_RX)


def _throttle(raw: Any) -> dict[str, Any]:
    mask = int(raw)
    return {"throttle_mask": mask, "throttle_reasons": decode_clock_events(mask)}


GROUPS: dict[str, Group] = {g.key: g for g in (
    Group("utilization", (lambda n, h: n.nvmlDeviceGetUtilizationRates(h),),
          lambda r: {"utilization_pct": float(r.gpu), "memory_utilization_pct": float(r.memory)}),
    Group("memory", (lambda n, h: n.nvmlDeviceGetMemoryInfo(h),),
          lambda r: {"memory_used_bytes": int(r.used), "memory_total_bytes": int(r.total)}),
    Group("temperature", (lambda n, h: n.nvmlDeviceGetTemperatureV(h, _TEMP_GPU),
                          lambda n, h: n.nvmlDeviceGetTemperature(h, _TEMP_GPU)),
          lambda r: {"temperature_c": float(r)}),
    Group("power", (lambda n, h: n.nvmlDeviceGetPowerUsage(h),),
          lambda r: {"power_w": r / 1000.0}),
    Group("power_limit", (lambda n, h: n.nvmlDeviceGetEnforcedPowerLimit(h),
                          lambda n, h: n.nvmlDeviceGetPowerManagementLimit(h)),
          lambda r: {"power_limit_w": r / 1000.0}),
    Group("energy", (lambda n, h: n.nvmlDeviceGetTotalEnergyConsumption(h),),
          lambda r: {"energy_j": r / 1000.0}),
    Group("sm_clock", (lambda n, h: n.nvmlDeviceGetClockInfo(h, _CLOCK_SM),),
          lambda r: {"sm_clock_mhz": float(r)}),
    Group("memory_clock", (lambda n, h: n.nvmlDeviceGetClockInfo(h, _CLOCK_MEM),),
          lambda r: {"memory_clock_mhz": float(r)}),
    Group("fan", (lambda n, h: n.nvmlDeviceGetFanSpeed(h),), lambda r: {"fan_pct": float(r)}),
    # P-state 32 is NVML's "unknown": None, but the group stays on (it is known other times).
    Group("pstate", (lambda n, h: n.nvmlDeviceGetPerformanceState(h),),
          lambda r: {"pstate": None if int(r) == _PSTATE_UNKNOWN else int(r)}),
    Group("throttle", (lambda n, h: n.nvmlDeviceGetCurrentClocksEventReasons(h),
                       lambda n, h: n.nvmlDeviceGetCurrentClocksThrottleReasons(h)), _throttle),
    Group("pcie", (_pcie,), lambda r: {"pcie_tx_bytes_s": r[0] * 1024.0,
                                       "pcie_rx_bytes_s": r[1] * 1024.0}),
)}


def _positive(value: Any) -> int | None:
    """NVML writes 0 for "not applicable" (no PCIe link width on an SXM board's idle link...)."""
    number = int(value)
    return number if number > 0 else None


def _bus_id(n: Any, h: Any) -> str:
    return text(n.nvmlDeviceGetPciInfo(h).busId)


def _pci_ids(n: Any, h: Any) -> tuple[int, int] | None:
    packed = int(n.nvmlDeviceGetPciInfo(h).pciDeviceId)  # device << 16 | vendor
    return (packed & 0xFFFF, packed >> 16) if packed else None


def _compute_capability(n: Any, h: Any) -> tuple[int, int]:
    major, minor = n.nvmlDeviceGetCudaComputeCapability(h)
    return int(major), int(minor)


def _power_limit_w(n: Any, h: Any) -> float | None:
    milliwatts = _positive(n.nvmlDeviceGetEnforcedPowerLimit(h))
    return None if milliwatts is None else milliwatts / 1000


def _float_positive(value: Any) -> float | None:
    number = _positive(value)
    return None if number is None else float(number)


#: Static facts of one device: GpuFacts field -> call returning its value (None: not applicable).
#: The order is the order detection reports missing facts in.
FACTS: tuple[tuple[str, Call], ...] = (
    ("name", lambda n, h: text(n.nvmlDeviceGetName(h))),
    ("power_limit_w", _power_limit_w),
    ("pci_ids", _pci_ids),
    ("uuid", lambda n, h: text(n.nvmlDeviceGetUUID(h))),
    ("pci_bus_id", _bus_id),
    ("memory_total_bytes", lambda n, h: _positive(n.nvmlDeviceGetMemoryInfo(h).total)),
    ("compute_capability", _compute_capability),
    ("pcie_gen_max", lambda n, h: _positive(n.nvmlDeviceGetMaxPcieLinkGeneration(h))),
    ("pcie_gen_current", lambda n, h: _positive(n.nvmlDeviceGetCurrPcieLinkGeneration(h))),
    ("pcie_width_max", lambda n, h: _positive(n.nvmlDeviceGetMaxPcieLinkWidth(h))),
    ("pcie_width_current", lambda n, h: _positive(n.nvmlDeviceGetCurrPcieLinkWidth(h))),
    ("memory_bus_width_bits", lambda n, h: _positive(n.nvmlDeviceGetMemoryBusWidth(h))),
    ("cuda_cores", lambda n, h: _positive(n.nvmlDeviceGetNumGpuCores(h))),
    ("sm_clock_max_mhz",
     lambda n, h: _float_positive(n.nvmlDeviceGetMaxClockInfo(h, _CLOCK_SM))),
    ("memory_clock_max_mhz",
     lambda n, h: _float_positive(n.nvmlDeviceGetMaxClockInfo(h, _CLOCK_MEM))),
    ("temp_slowdown_c", lambda n, h: _float_positive(
        n.nvmlDeviceGetTemperatureThreshold(h, _THRESH_SLOWDOWN))),
    ("temp_shutdown_c", lambda n, h: _float_positive(
        n.nvmlDeviceGetTemperatureThreshold(h, _THRESH_SHUTDOWN))),
)

#: Driver-wide facts, copied into every device's facts.
SYSTEM_FACTS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("driver_version", lambda n: text(n.nvmlSystemGetDriverVersion())),
    ("cuda_driver_version", lambda n: _positive(n.nvmlSystemGetCudaDriverVersion_v2())),
)


def link_enabled(n: Any, state: Any) -> bool:
    """Whether an NVLink state value means "up"."""
    return bool(state == getattr(n, "NVML_FEATURE_ENABLED", _FEATURE_ENABLED))


def max_links(n: Any) -> int:
    """How many NVLink links to ask about at most."""
    return int(getattr(n, "NVML_NVLINK_MAX_LINKS", 18))


#: Display calls: DisplayState field -> NVML function name.
DISPLAY: tuple[tuple[str, str], ...] = (
    ("connected", "nvmlDeviceGetDisplayMode"),
    ("active", "nvmlDeviceGetDisplayActive"),
)

#: Process lists: kind -> NVML function name.
PROCESS_LISTS: tuple[tuple[str, str], ...] = (
    ("compute", "nvmlDeviceGetComputeRunningProcesses"),
    ("graphics", "nvmlDeviceGetGraphicsRunningProcesses"),
)
#: What old bindings put in ``usedGpuMemory`` when the driver hides it (new ones give None).
NOT_AVAILABLE = 2**64 - 1


def invoke(module: Any, function: str, *args: Any) -> Any:
    """``module.function(*args)`` (an AttributeError says the binding lacks it)."""
    return getattr(module, function)(*args)


def apply(convert: Callable[[Any], Any], call: Call, module: Any, handle: Any) -> Any:
    """A group's call and its conversion, as one step that either answers or fails."""
    return convert(call(module, handle))


def process_kind(kinds: list[str]) -> ProcessKind:
    """The kind of a pid seen on these lists."""
    if len(set(kinds)) > 1:
        return "compute+graphics"
    return "graphics" if kinds[0] == "graphics" else "compute"
