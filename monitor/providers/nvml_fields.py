"""NVML field table for :mod:`rigready.monitor.providers.nvml`: return codes, and how each GpuSample
field is read (candidate calls, newest API first) and converted (mW -> W, mJ -> J, masks -> names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rigready.monitor.clock_events import decode_clock_events

# NVML return codes (stable C ABI values; see nvml.h).
_NOT_SUPPORTED, _NO_PERMISSION, _FUNCTION_NOT_FOUND, _INVALID_ARGUMENT, _NOT_FOUND = 3, 4, 13, 2, 6
UNSUPPORTED = frozenset({_NOT_SUPPORTED, _NO_PERMISSION, _FUNCTION_NOT_FOUND, _INVALID_ARGUMENT,
                          _NOT_FOUND})
_UNINITIALIZED, _DRIVER_NOT_LOADED, _LIBRARY_NOT_FOUND, _GPU_IS_LOST = 1, 9, 12, 15
_RESET_REQUIRED, _LIB_RM_MISMATCH, _GPU_NOT_FOUND, _UNKNOWN = 16, 18, 28, 999
FATAL = frozenset({_UNINITIALIZED, _DRIVER_NOT_LOADED, _LIBRARY_NOT_FOUND, _GPU_IS_LOST,
                    _RESET_REQUIRED, _LIB_RM_MISMATCH, _GPU_NOT_FOUND, _UNKNOWN})
ABSENT = frozenset({_DRIVER_NOT_LOADED, _LIBRARY_NOT_FOUND})

_TEMP_GPU, _THRESH_SHUTDOWN, _THRESH_SLOWDOWN = 0, 0, 1
_CLOCK_SM, _CLOCK_MEM = 1, 2
_PSTATE_UNKNOWN = 32

Call = Callable[[Any, Any], Any]  # (nvml module, device handle) -> raw value


def text(value: Any) -> str:
    """NVML strings come back as bytes from older bindings."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class Field:
    """How one group of GpuSample fields is read: candidate calls, then a converter."""

    key: str
    label: str
    calls: tuple[Call, ...]
    apply: Callable[[Any], dict[str, Any]]


FIELDS: tuple[Field, ...] = (
    Field("utilization", "GPU/memory utilisation",
           (lambda n, h: n.nvmlDeviceGetUtilizationRates(h),),
           lambda r: {"utilization_pct": float(r.gpu), "memory_utilization_pct": float(r.memory)}),
    Field("memory", "VRAM used/total", (lambda n, h: n.nvmlDeviceGetMemoryInfo(h),),
           lambda r: {"memory_used_bytes": int(r.used), "memory_total_bytes": int(r.total)}),
    Field("temperature", "temperature",
           (lambda n, h: n.nvmlDeviceGetTemperatureV(h, _TEMP_GPU),
            lambda n, h: n.nvmlDeviceGetTemperature(h, _TEMP_GPU)),
           lambda r: {"temperature_c": float(r)}),
    Field("power", "power draw", (lambda n, h: n.nvmlDeviceGetPowerUsage(h),),
           lambda r: {"power_w": r / 1000.0}),
    Field("power_limit", "power limit",
           (lambda n, h: n.nvmlDeviceGetEnforcedPowerLimit(h),
            lambda n, h: n.nvmlDeviceGetPowerManagementLimit(h)),
           lambda r: {"power_limit_w": r / 1000.0}),
    Field("energy", "total energy counter",
           (lambda n, h: n.nvmlDeviceGetTotalEnergyConsumption(h),),
           lambda r: {"energy_j": r / 1000.0}),
    Field("sm_clock", "SM clock", (lambda n, h: n.nvmlDeviceGetClockInfo(h, _CLOCK_SM),),
           lambda r: {"sm_clock_mhz": float(r)}),
    Field("memory_clock", "memory clock",
           (lambda n, h: n.nvmlDeviceGetClockInfo(h, _CLOCK_MEM),),
           lambda r: {"memory_clock_mhz": float(r)}),
    Field("fan", "fan speed", (lambda n, h: n.nvmlDeviceGetFanSpeed(h),),
           lambda r: {"fan_pct": float(r)}),
    Field("pstate", "performance state", (lambda n, h: n.nvmlDeviceGetPerformanceState(h),),
           lambda r: {"pstate": None if int(r) == _PSTATE_UNKNOWN else int(r)}),
    Field("throttle", "clock-event (throttle) reasons",
           (lambda n, h: n.nvmlDeviceGetCurrentClocksEventReasons(h),
            lambda n, h: n.nvmlDeviceGetCurrentClocksThrottleReasons(h)),
           lambda r: {"throttle_reasons": decode_clock_events(int(r))}),
)

STATIC: tuple[tuple[str, str, Call, Callable[[Any], Any]], ...] = (
    ("uuid", "UUID", lambda n, h: n.nvmlDeviceGetUUID(h), text),
    ("pci_bus_id", "PCI bus id", lambda n, h: n.nvmlDeviceGetPciInfo(h).busId, text),
    ("temp_slowdown_c", "slowdown temperature",
     lambda n, h: n.nvmlDeviceGetTemperatureThreshold(h, _THRESH_SLOWDOWN), float),
    ("temp_shutdown_c", "shutdown temperature",
     lambda n, h: n.nvmlDeviceGetTemperatureThreshold(h, _THRESH_SHUTDOWN), float),
    ("sm_clock_max_mhz", "maximum SM clock",
     lambda n, h: n.nvmlDeviceGetMaxClockInfo(h, _CLOCK_SM), float),
    ("memory_clock_max_mhz", "maximum memory clock",
     lambda n, h: n.nvmlDeviceGetMaxClockInfo(h, _CLOCK_MEM), float),
)
