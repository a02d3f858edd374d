"""A stand-in for the ``pynvml`` module, shaped like nvidia-ml-py, for NvmlProvider tests.

Each GPU is a dict of raw NVML values (mW, mJ, bytes, bit masks). A missing key answers
NVML_ERROR_NOT_SUPPORTED; a :class:`Fail` value raises that NVML error code; names listed in
``missing`` raise AttributeError as an older binding without the function would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

NOT_SUPPORTED, DRIVER_NOT_LOADED, GPU_IS_LOST, TIMEOUT, UNKNOWN = 3, 9, 15, 10, 999


class NVMLError(Exception):
    """Like pynvml.NVMLError: carries the return code in ``value``."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {NOT_SUPPORTED: "Not Supported", GPU_IS_LOST: "GPU is lost",
                DRIVER_NOT_LOADED: "Driver Not Loaded", TIMEOUT: "Timeout"}.get(
                    self.value, f"NVML error {self.value}")


@dataclass(frozen=True)
class Fail:
    """A value that makes the call raise NVMLError(code)."""

    code: int = NOT_SUPPORTED


def h100_like(**overrides: Any) -> dict[str, Any]:
    """One GPU with every field readable except the fan (passively cooled), like an H100 SXM."""
    gpu: dict[str, Any] = {
        "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-1234", "pci": "00000000:19:00.0",
        "util": (97, 41), "mem": (60 * 1024**3, 80 * 1024**3), "temp": 64,
        "thresholds": {0: 92, 1: 89}, "power_mw": 612_345, "limit_mw": 700_000,
        "energy_mj": 123_456_789, "clocks": {1: 1980, 2: 2619}, "max_clocks": {1: 1980, 2: 2619},
        "pstate": 0, "reasons": 0x4, "procs": [(4242, 59 * 1024**3)], "gprocs": [],
        "pcie": {0: 1000, 1: 2000},
    }
    gpu.update(overrides)
    return gpu


@dataclass
class FakePynvml:
    """Module-like object: ``FakePynvml([h100_like()])`` passes as ``nvml=`` to NvmlProvider."""

    gpus: list[dict[str, Any]]
    missing: set[str] = field(default_factory=set)
    init_error: int | None = None
    #: When set, every device call raises NVMLError(fail_all) (GPU lost, driver gone).
    fail_all: int | None = None
    calls: dict[str, int] = field(default_factory=dict)
    inits: int = 0
    shutdowns: int = 0
    NVMLError: type[NVMLError] = NVMLError

    def _call(self, fn: str, handle: int | None = None, key: str | None = None,
              sub: Any = None) -> Any:
        if fn in self.missing:
            raise AttributeError(fn)
        self.calls[fn] = self.calls.get(fn, 0) + 1
        if self.fail_all is not None:
            raise NVMLError(self.fail_all)
        if handle is None or key is None:
            return None
        value = self.gpus[handle].get(key, Fail())
        if sub is not None and isinstance(value, dict):
            value = value.get(sub, Fail())
        if isinstance(value, Fail):
            raise NVMLError(value.code)
        return value

    def nvmlInit(self) -> None:
        self._call("nvmlInit")
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        self._call("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._call("nvmlDeviceGetHandleByIndex")
        return index

    def nvmlDeviceGetName(self, h: int) -> Any:
        return str(self._call("nvmlDeviceGetName", h, "name")).encode()  # old bindings: bytes

    def nvmlDeviceGetUUID(self, h: int) -> Any:
        return self._call("nvmlDeviceGetUUID", h, "uuid")

    def nvmlDeviceGetPciInfo(self, h: int) -> Any:
        return SimpleNamespace(busId=self._call("nvmlDeviceGetPciInfo", h, "pci"))

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:
        gpu, memory = self._call("nvmlDeviceGetUtilizationRates", h, "util")
        return SimpleNamespace(gpu=gpu, memory=memory)

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        used, total = self._call("nvmlDeviceGetMemoryInfo", h, "mem")
        return SimpleNamespace(used=used, total=total, free=total - used)

    def nvmlDeviceGetTemperatureV(self, h: int, sensor: int) -> Any:
        return self._call("nvmlDeviceGetTemperatureV", h, "temp")

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> Any:
        return self._call("nvmlDeviceGetTemperature", h, "temp")

    def nvmlDeviceGetTemperatureThreshold(self, h: int, which: int) -> Any:
        return self._call("nvmlDeviceGetTemperatureThreshold", h, "thresholds", which)

    def nvmlDeviceGetPowerUsage(self, h: int) -> Any:
        return self._call("nvmlDeviceGetPowerUsage", h, "power_mw")

    def nvmlDeviceGetEnforcedPowerLimit(self, h: int) -> Any:
        return self._call("nvmlDeviceGetEnforcedPowerLimit", h, "limit_mw")

    def nvmlDeviceGetPowerManagementLimit(self, h: int) -> Any:
        return self._call("nvmlDeviceGetPowerManagementLimit", h, "limit_mw")

    def nvmlDeviceGetTotalEnergyConsumption(self, h: int) -> Any:
        return self._call("nvmlDeviceGetTotalEnergyConsumption", h, "energy_mj")

    def nvmlDeviceGetClockInfo(self, h: int, clock: int) -> Any:
        return self._call("nvmlDeviceGetClockInfo", h, "clocks", clock)

    def nvmlDeviceGetMaxClockInfo(self, h: int, clock: int) -> Any:
        return self._call("nvmlDeviceGetMaxClockInfo", h, "max_clocks", clock)

    def nvmlDeviceGetFanSpeed(self, h: int) -> Any:
        return self._call("nvmlDeviceGetFanSpeed", h, "fan")

    def nvmlDeviceGetPerformanceState(self, h: int) -> Any:
        return self._call("nvmlDeviceGetPerformanceState", h, "pstate")

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: int) -> Any:
        return self._call("nvmlDeviceGetCurrentClocksEventReasons", h, "reasons")

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h: int) -> Any:
        return self._call("nvmlDeviceGetCurrentClocksThrottleReasons", h, "reasons")

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> Any:
        return [SimpleNamespace(pid=p, usedGpuMemory=m)
                for p, m in self._call("nvmlDeviceGetComputeRunningProcesses", h, "procs")]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: int) -> Any:
        return [SimpleNamespace(pid=p, usedGpuMemory=m)
                for p, m in self._call("nvmlDeviceGetGraphicsRunningProcesses", h, "gprocs")]

    def nvmlDeviceGetPcieThroughput(self, h: int, counter: int) -> Any:
        return self._call("nvmlDeviceGetPcieThroughput", h, "pcie", counter)
