"""A stand-in for the ``pynvml`` module, shaped like nvidia-ml-py, to put behind ``NvmlDoor``.

Each GPU is a dict of raw NVML values (mW, mJ, bytes, bit masks). A missing key answers with
``default`` (NVML_ERROR_NOT_SUPPORTED unless told otherwise); a :class:`Fail` value raises that
NVML error; a Python exception value is raised as it is; names listed in ``missing`` raise
AttributeError as an older binding without the function would. :func:`replay_capture` turns a
detection capture (``tests/data/detect/*/nvml.json``) into a door over this fake, so the real
door's conversions run on values a real GPU gave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rigready.gpu.nvml import NvmlDoor
from rigready.gpu.types import Unknown
from rigready.gpu.vendor import GpuDoor, VendorUnavailable

UNINITIALIZED, INVALID_ARGUMENT, NOT_SUPPORTED, NO_PERMISSION = 1, 2, 3, 4
DRIVER_NOT_LOADED, TIMEOUT, LIBRARY_NOT_FOUND, FUNCTION_NOT_FOUND = 9, 10, 12, 13
GPU_IS_LOST, LIB_RM_MISMATCH, UNKNOWN = 15, 18, 999
#: What nvidia-ml-py's NVMLError prints for each code (its ``_errcode_to_string`` table).
TEXT = {
    UNINITIALIZED: "Uninitialized", INVALID_ARGUMENT: "Invalid Argument",
    NOT_SUPPORTED: "Not Supported", NO_PERMISSION: "Insufficient Permissions",
    DRIVER_NOT_LOADED: "Driver Not Loaded", TIMEOUT: "Timeout",
    LIBRARY_NOT_FOUND: "NVML Shared Library Not Found", FUNCTION_NOT_FOUND: "Function Not Found",
    GPU_IS_LOST: "GPU is lost",
    LIB_RM_MISMATCH: "RM has detected an NVML/RM version mismatch.", UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """Like pynvml.NVMLError: carries the return code in ``value``."""

    def __init__(self, value: int, text: str | None = None) -> None:
        super().__init__(value)
        self.value = value
        self.text = text

    def __str__(self) -> str:
        return self.text or TEXT.get(self.value, f"NVML error {self.value}")


@dataclass(frozen=True)
class Fail:
    """A value that makes the call raise NVMLError(code) (printing ``text`` when given)."""

    code: int = NOT_SUPPORTED
    text: str | None = None


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


class _PciInfo:
    """``nvmlPciInfo_t``: each attribute read through the fake, so each can fail alone."""

    def __init__(self, fake: FakePynvml, handle: int) -> None:
        self._fake = fake
        self._handle = handle

    @property
    def busId(self) -> Any:
        return str(self._fake._call("nvmlDeviceGetPciInfo", self._handle, "pci")).encode()

    @property
    def pciDeviceId(self) -> Any:
        return self._fake._call("nvmlDeviceGetPciInfo", self._handle, "pci_device_id")


@dataclass
class FakePynvml:
    """Module-like object: ``NvmlDoor(module=FakePynvml([h100_like()]))``."""

    gpus: list[dict[str, Any]]
    missing: set[str] = field(default_factory=set)
    init_error: int | None = None
    #: When set, every call raises NVMLError(fail_all) (GPU lost, driver gone).
    fail_all: int | None = None
    driver: Any = "580.159.04"
    cuda: Any = 13000
    #: What a key absent from a GPU's dict answers.
    default: Fail = field(default_factory=Fail)
    calls: dict[str, int] = field(default_factory=dict)
    inits: int = 0
    shutdowns: int = 0
    NVMLError: type[NVMLError] = NVMLError
    NVML_FEATURE_ENABLED: int = 1
    NVML_NVLINK_MAX_LINKS: int = 18

    def _call(self, fn: str, handle: int | None = None, key: str | None = None,
              sub: Any = None, value: Any = None) -> Any:
        if fn in self.missing:
            raise AttributeError(fn)
        self.calls[fn] = self.calls.get(fn, 0) + 1
        if self.fail_all is not None:
            raise NVMLError(self.fail_all)
        if handle is not None and key is not None:
            value = self.gpus[handle].get(key, self.default)
            if sub is not None and isinstance(value, dict):
                value = value.get(sub, self.default)
        if isinstance(value, Fail):
            raise NVMLError(value.code, value.text)
        if isinstance(value, BaseException):
            raise value
        return value

    def nvmlInit(self) -> None:
        self._call("nvmlInit")
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> Any:
        return self._call("nvmlSystemGetDriverVersion", value=self.driver)

    def nvmlSystemGetCudaDriverVersion_v2(self) -> Any:
        return self._call("nvmlSystemGetCudaDriverVersion_v2", value=self.cuda)

    def nvmlDeviceGetCount(self) -> int:
        self._call("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._call("nvmlDeviceGetHandleByIndex")
        if index >= len(self.gpus):
            raise NVMLError(INVALID_ARGUMENT)
        return index

    def nvmlDeviceGetName(self, h: int) -> Any:
        return str(self._call("nvmlDeviceGetName", h, "name")).encode()  # old bindings: bytes

    def nvmlDeviceGetUUID(self, h: int) -> Any:
        return self._call("nvmlDeviceGetUUID", h, "uuid")

    def nvmlDeviceGetPciInfo(self, h: int) -> Any:
        self._call("nvmlDeviceGetPciInfo")
        return _PciInfo(self, h)

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

    def nvmlDeviceGetCudaComputeCapability(self, h: int) -> Any:
        return self._call("nvmlDeviceGetCudaComputeCapability", h, "compute_capability")

    def nvmlDeviceGetMaxPcieLinkGeneration(self, h: int) -> Any:
        return self._call("nvmlDeviceGetMaxPcieLinkGeneration", h, "pcie_gen_max")

    def nvmlDeviceGetCurrPcieLinkGeneration(self, h: int) -> Any:
        return self._call("nvmlDeviceGetCurrPcieLinkGeneration", h, "pcie_gen_current")

    def nvmlDeviceGetMaxPcieLinkWidth(self, h: int) -> Any:
        return self._call("nvmlDeviceGetMaxPcieLinkWidth", h, "pcie_width_max")

    def nvmlDeviceGetCurrPcieLinkWidth(self, h: int) -> Any:
        return self._call("nvmlDeviceGetCurrPcieLinkWidth", h, "pcie_width_current")

    def nvmlDeviceGetMemoryBusWidth(self, h: int) -> Any:
        return self._call("nvmlDeviceGetMemoryBusWidth", h, "memory_bus_width")

    def nvmlDeviceGetNumGpuCores(self, h: int) -> Any:
        return self._call("nvmlDeviceGetNumGpuCores", h, "num_cores")

    def nvmlDeviceGetNvLinkState(self, h: int, link: int) -> Any:
        active = self._call("nvmlDeviceGetNvLinkState", h, "nvlink")
        if link >= int(active):
            raise NVMLError(INVALID_ARGUMENT)  # past the last link
        return self.NVML_FEATURE_ENABLED

    def nvmlDeviceGetDisplayMode(self, h: int) -> Any:
        return self._call("nvmlDeviceGetDisplayMode", h, "display_mode")

    def nvmlDeviceGetDisplayActive(self, h: int) -> Any:
        return self._call("nvmlDeviceGetDisplayActive", h, "display_active")


def door(fake: FakePynvml, **kwargs: Any) -> NvmlDoor:
    """A door over ``fake`` (process names "proc<pid>" unless ``process_name`` is given)."""
    kwargs.setdefault("process_name", lambda pid: f"proc{pid}")
    return NvmlDoor(module=fake, **kwargs)


# -- replaying a detection capture ------------------------------------------------------------

_CODES = {text: code for code, text in TEXT.items()}
#: Captures made before a call existed lack its key: "not captured", never "not supported".
NOT_CAPTURED = Fail(UNKNOWN + 1, "Not Captured")


def _value(entry: dict[str, Any]) -> Any:
    if "error" in entry:
        return Fail(_CODES.get(entry["error"], UNKNOWN + 1), entry["error"])
    value = entry["value"]
    return tuple(value) if isinstance(value, list) else value


def capture_gpu(device: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One device of ``nvml.json`` (keys named after the calls) as a FakePynvml GPU dict."""
    raw = {key: _value(entry) for key, entry in device.items()}
    gpu: dict[str, Any] = {}
    renames = {"name": "name", "uuid": "uuid", "pci_bus_id": "pci",
               "compute_capability": "compute_capability", "power_limit_mw": "limit_mw",
               "pcie_gen_max": "pcie_gen_max", "pcie_gen_current": "pcie_gen_current",
               "pcie_width_max": "pcie_width_max", "pcie_width_current": "pcie_width_current",
               "memory_bus_width": "memory_bus_width", "num_cores": "num_cores",
               "pci_device_id": "pci_device_id", "nvlink_active_links": "nvlink"}
    for key, fake_key in renames.items():
        if key in raw:
            gpu[fake_key] = raw[key]
    if "memory_total" in raw:  # the capture holds the total only; "used" is a live value
        total = raw["memory_total"]
        gpu["mem"] = total if isinstance(total, Fail) else (0, total)
    if "max_sm_clock_mhz" in raw:
        gpu["max_clocks"] = {1: raw["max_sm_clock_mhz"]}
    gpu["thresholds"] = {code: raw[f"temperature_threshold_{kind}"]
                         for code, kind in ((1, "slowdown"), (0, "shutdown"))
                         if f"temperature_threshold_{kind}" in raw}
    return gpu


def replay_capture(path: Path) -> GpuDoor:
    """The NVML door a detection capture describes (a no-NVML door for a machine without)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if "devices" not in data:
        return VendorUnavailable("nvml", Unknown("library_not_found", data["unavailable"]))
    fake = FakePynvml([capture_gpu(d) for d in data["devices"]],
                      driver=_value(data["driver_version"]),
                      cuda=_value(data["cuda_driver_version"]), default=NOT_CAPTURED)
    return NvmlDoor(module=fake, process_name=lambda pid: None)
