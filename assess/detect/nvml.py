"""NVML access behind a small Protocol, loaded once per process.

:func:`shared_nvml` initialises NVML the first time it is called (``nvmlInit``), keeps the
outcome (the library or the reason it is missing) for the rest of the process, and registers
``nvmlShutdown`` to run at exit. Probes and monitors share that one session; tests pass a fake
that implements :class:`NvmlApi` instead.

Every device call may raise :class:`NvmlCallError`, which carries NVML's own reason
("Not Supported", "Insufficient Permissions", ...), so callers can turn it into a warning.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Threshold = Literal["slowdown", "shutdown"]


class NvmlCallError(Exception):
    """An NVML call failed; ``reason`` is NVML's error string (e.g. "Not Supported")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NvmlApi(Protocol):
    """The NVML calls rigready uses. Indices are NVML device indices."""

    def driver_version(self) -> str:
        """Driver version, e.g. ``"580.159"``."""

    def cuda_driver_version(self) -> int:
        """CUDA version the driver supports, encoded ``1000*major + 10*minor``."""

    def device_count(self) -> int:
        """Number of GPUs NVML sees."""

    def name(self, index: int) -> str:
        """Product name."""

    def uuid(self, index: int) -> str:
        """``GPU-...`` UUID."""

    def pci_bus_id(self, index: int) -> str:
        """PCI bus id as NVML writes it (``00000000:01:00.0``)."""

    def memory_total(self, index: int) -> int:
        """Total framebuffer memory in bytes."""

    def compute_capability(self, index: int) -> tuple[int, int]:
        """CUDA compute capability (major, minor)."""

    def power_limit_mw(self, index: int) -> int:
        """Enforced power limit in milliwatts."""

    def pcie_gen_max(self, index: int) -> int:
        """Highest PCIe generation the GPU and its slot support together."""

    def pcie_gen_current(self, index: int) -> int:
        """Current PCIe generation (drops when idle)."""

    def pcie_width_max(self, index: int) -> int:
        """Widest PCIe link (lanes)."""

    def pcie_width_current(self, index: int) -> int:
        """Current PCIe link width (lanes)."""

    def memory_bus_width(self, index: int) -> int:
        """Memory bus width in bits."""

    def num_cores(self, index: int) -> int:
        """CUDA cores."""

    def max_sm_clock_mhz(self, index: int) -> int:
        """Highest SM clock in MHz."""

    def temperature_threshold(self, index: int, kind: Threshold) -> int:
        """Slowdown or shutdown temperature in °C."""

    def pci_device_id(self, index: int) -> int:
        """PCI ids as NVML packs them: ``device << 16 | vendor`` (0x1F1110DE)."""

    def nvlink_active_links(self, index: int) -> int:
        """NVLink links that are up (raises NvmlCallError on a GPU without NVLink)."""


@dataclass(frozen=True, slots=True)
class NvmlUnavailable:
    """Why NVML could not be used (shown to the user as a warning)."""

    reason: str


class PynvmlAdapter:
    """:class:`NvmlApi` over the ``pynvml`` module of nvidia-ml-py (after ``nvmlInit``)."""

    def __init__(self, module: Any) -> None:
        self._nv = module
        self._handles: dict[int, Any] = {}

    def _call(self, fn: str, *args: Any) -> Any:
        try:
            return getattr(self._nv, fn)(*args)
        except self._nv.NVMLError as exc:
            raise NvmlCallError(str(exc)) from None
        except AttributeError:  # an older nvidia-ml-py without this function
            raise NvmlCallError(f"{fn} missing from this nvidia-ml-py") from None

    def _handle(self, index: int) -> Any:
        if index not in self._handles:
            self._handles[index] = self._call("nvmlDeviceGetHandleByIndex", index)
        return self._handles[index]

    def _dev(self, fn: str, index: int, *args: Any) -> Any:
        return self._call(fn, self._handle(index), *args)

    def driver_version(self) -> str:
        """See :meth:`NvmlApi.driver_version`."""
        return str(self._call("nvmlSystemGetDriverVersion"))

    def cuda_driver_version(self) -> int:
        """See :meth:`NvmlApi.cuda_driver_version`."""
        return int(self._call("nvmlSystemGetCudaDriverVersion_v2"))

    def device_count(self) -> int:
        """See :meth:`NvmlApi.device_count`."""
        return int(self._call("nvmlDeviceGetCount"))

    def name(self, index: int) -> str:
        """See :meth:`NvmlApi.name`."""
        return str(self._dev("nvmlDeviceGetName", index))

    def uuid(self, index: int) -> str:
        """See :meth:`NvmlApi.uuid`."""
        return str(self._dev("nvmlDeviceGetUUID", index))

    def pci_bus_id(self, index: int) -> str:
        """See :meth:`NvmlApi.pci_bus_id`."""
        bus_id = self._dev("nvmlDeviceGetPciInfo", index).busId
        return bus_id.decode() if isinstance(bus_id, bytes) else str(bus_id)

    def memory_total(self, index: int) -> int:
        """See :meth:`NvmlApi.memory_total`."""
        return int(self._dev("nvmlDeviceGetMemoryInfo", index).total)

    def compute_capability(self, index: int) -> tuple[int, int]:
        """See :meth:`NvmlApi.compute_capability`."""
        major, minor = self._dev("nvmlDeviceGetCudaComputeCapability", index)
        return int(major), int(minor)

    def power_limit_mw(self, index: int) -> int:
        """See :meth:`NvmlApi.power_limit_mw`."""
        return int(self._dev("nvmlDeviceGetEnforcedPowerLimit", index))

    def pcie_gen_max(self, index: int) -> int:
        """See :meth:`NvmlApi.pcie_gen_max`."""
        return int(self._dev("nvmlDeviceGetMaxPcieLinkGeneration", index))

    def pcie_gen_current(self, index: int) -> int:
        """See :meth:`NvmlApi.pcie_gen_current`."""
        return int(self._dev("nvmlDeviceGetCurrPcieLinkGeneration", index))

    def pcie_width_max(self, index: int) -> int:
        """See :meth:`NvmlApi.pcie_width_max`."""
        return int(self._dev("nvmlDeviceGetMaxPcieLinkWidth", index))

    def pcie_width_current(self, index: int) -> int:
        """See :meth:`NvmlApi.pcie_width_current`."""
        return int(self._dev("nvmlDeviceGetCurrPcieLinkWidth", index))

    def memory_bus_width(self, index: int) -> int:
        """See :meth:`NvmlApi.memory_bus_width`."""
        return int(self._dev("nvmlDeviceGetMemoryBusWidth", index))

    def num_cores(self, index: int) -> int:
        """See :meth:`NvmlApi.num_cores`."""
        return int(self._dev("nvmlDeviceGetNumGpuCores", index))

    def max_sm_clock_mhz(self, index: int) -> int:
        """See :meth:`NvmlApi.max_sm_clock_mhz`."""
        return int(self._dev("nvmlDeviceGetMaxClockInfo", index, self._nv.NVML_CLOCK_SM))

    def temperature_threshold(self, index: int, kind: Threshold) -> int:
        """See :meth:`NvmlApi.temperature_threshold`."""
        code = (self._nv.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN if kind == "slowdown"
                else self._nv.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN)
        return int(self._dev("nvmlDeviceGetTemperatureThreshold", index, code))

    def pci_device_id(self, index: int) -> int:
        """See :meth:`NvmlApi.pci_device_id`."""
        return int(self._dev("nvmlDeviceGetPciInfo", index).pciDeviceId)

    def nvlink_active_links(self, index: int) -> int:
        """See :meth:`NvmlApi.nvlink_active_links`."""
        active = 0
        for link in range(int(getattr(self._nv, "NVML_NVLINK_MAX_LINKS", 18))):
            try:
                state = self._dev("nvmlDeviceGetNvLinkState", index, link)
            except NvmlCallError:
                if link == 0:
                    raise  # no NVLink at all (every GeForce card since the 40 series)
                break  # past the last link this GPU has
            active += int(state == getattr(self._nv, "NVML_FEATURE_ENABLED", 1))
        return active


_lock = threading.Lock()
_session: PynvmlAdapter | NvmlUnavailable | None = None
_module: Any = None
_atexit_registered = False


def _library_name() -> str:
    if sys.platform == "win32":
        return "nvml.dll"
    return "libnvidia-ml.so.1"


def _explain(reason: str) -> str:
    lowered = reason.lower()
    if "library not found" in lowered or "shared library" in lowered:
        return f"no NVIDIA driver found ({_library_name()} not loadable)"
    if "driver not loaded" in lowered:
        return "NVIDIA driver installed but not loaded (NVML: Driver Not Loaded)"
    if "mismatch" in lowered:
        return "NVIDIA driver and library versions differ (NVML); reboot after a driver update"
    if "insufficient permissions" in lowered or "no permission" in lowered:
        return "no permission to open the NVIDIA device (NVML: Insufficient Permissions)"
    return f"NVML failed to start ({reason})"


def shared_nvml() -> PynvmlAdapter | NvmlUnavailable:
    """The process-wide NVML session, initialised on first use; never raises."""
    global _session, _module, _atexit_registered
    with _lock:
        if _session is not None:
            return _session
        if sys.platform == "darwin":
            _session = NvmlUnavailable("no NVIDIA driver on macOS")
            return _session
        try:
            import pynvml
        except ImportError:
            _session = NvmlUnavailable("nvidia-ml-py is not installed (pip install nvidia-ml-py)")
            return _session
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            _session = NvmlUnavailable(_explain(str(exc)))
            return _session
        except OSError as exc:  # pragma: no cover - a broken library file
            _session = NvmlUnavailable(f"no NVIDIA driver found ({exc})")
            return _session
        _module = pynvml
        _session = PynvmlAdapter(pynvml)
        if not _atexit_registered:
            atexit.register(shutdown_nvml)
            _atexit_registered = True
        return _session


def shutdown_nvml() -> None:
    """Shut the shared session down (``nvmlShutdown``); a later :func:`shared_nvml` starts again."""
    global _session, _module
    with _lock:
        if isinstance(_session, PynvmlAdapter) and _module is not None:
            with contextlib.suppress(_module.NVMLError):
                _module.nvmlShutdown()
        _session = None
        _module = None
