"""A fake NVML (implements ``rigready.assess.detect.nvml.NvmlApi``) for logic tests and captured
data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rigready.assess.detect.nvml import NvmlCallError, Threshold


class Unsupported:
    """A value NVML refuses; reading it raises NvmlCallError(reason)."""

    def __init__(self, reason: str = "Not Supported") -> None:
        self.reason = reason


class FakeNvml:
    """Devices are dicts keyed by ``NvmlApi`` method name (thresholds as
    ``temperature_threshold_slowdown`` / ``_shutdown``); an :class:`Unsupported` value raises."""

    def __init__(self, devices: list[dict[str, Any]], driver: Any = "580.159",
                 cuda: Any = 13000) -> None:
        self.devices = devices
        self.driver = driver
        self.cuda = cuda
        self.calls = 0

    @classmethod
    def from_capture(cls, path: Path) -> FakeNvml:
        """Replay ``nvml.json`` written by benchmarks/capture_detect_fixture.py."""
        data = json.loads(path.read_text(encoding="utf-8"))

        def unwrap(entry: dict[str, Any]) -> Any:
            if "error" in entry:
                return Unsupported(entry["error"])
            value = entry["value"]
            return tuple(value) if isinstance(value, list) else value

        devices = [{k: unwrap(v) for k, v in dev.items()} for dev in data["devices"]]
        return cls(devices, unwrap(data["driver_version"]), unwrap(data["cuda_driver_version"]))

    def _get(self, value: Any) -> Any:
        self.calls += 1
        if isinstance(value, Unsupported):
            raise NvmlCallError(value.reason)
        if isinstance(value, BaseException):
            raise value
        return value

    def _dev(self, index: int, key: str) -> Any:
        return self._get(self.devices[index].get(key, Unsupported()))

    def driver_version(self) -> str:
        return str(self._get(self.driver))

    def cuda_driver_version(self) -> int:
        return int(self._get(self.cuda))

    def device_count(self) -> int:
        return len(self.devices)

    def name(self, index: int) -> str:
        return str(self._dev(index, "name"))

    def uuid(self, index: int) -> str:
        return str(self._dev(index, "uuid"))

    def pci_bus_id(self, index: int) -> str:
        return str(self._dev(index, "pci_bus_id"))

    def memory_total(self, index: int) -> int:
        return int(self._dev(index, "memory_total"))

    def compute_capability(self, index: int) -> tuple[int, int]:
        major, minor = self._dev(index, "compute_capability")
        return int(major), int(minor)

    def power_limit_mw(self, index: int) -> int:
        return int(self._dev(index, "power_limit_mw"))

    def pcie_gen_max(self, index: int) -> int:
        return int(self._dev(index, "pcie_gen_max"))

    def pcie_gen_current(self, index: int) -> int:
        return int(self._dev(index, "pcie_gen_current"))

    def pcie_width_max(self, index: int) -> int:
        return int(self._dev(index, "pcie_width_max"))

    def pcie_width_current(self, index: int) -> int:
        return int(self._dev(index, "pcie_width_current"))

    def memory_bus_width(self, index: int) -> int:
        return int(self._dev(index, "memory_bus_width"))

    def num_cores(self, index: int) -> int:
        return int(self._dev(index, "num_cores"))

    def max_sm_clock_mhz(self, index: int) -> int:
        return int(self._dev(index, "max_sm_clock_mhz"))

    def temperature_threshold(self, index: int, kind: Threshold) -> int:
        return int(self._dev(index, f"temperature_threshold_{kind}"))

    # Captures made before these two calls existed lack them: "not captured", not "unsupported".
    def pci_device_id(self, index: int) -> int:
        return int(self._get(self.devices[index].get("pci_device_id",
                                                     Unsupported("Not Captured"))))

    def nvlink_active_links(self, index: int) -> int:
        return int(self._get(self.devices[index].get("nvlink_active_links",
                                                     Unsupported("Not Captured"))))
