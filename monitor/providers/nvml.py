"""NVIDIA provider through NVML (nvidia-ml-py's ``pynvml`` module).

NVML is initialised once and device handles are cached (re-initialising every tick is what made
gpustat burn 80 % of a core, gpustat#54). Every field is probed once at start: the first call
that works is kept, and a field no call supports is switched off and named once in
:meth:`NvmlProvider.notes`, so nothing fails every tick (btop's approach). Static facts (name,
UUID, temperature thresholds, maximum clocks) are read once. Per-process memory is refreshed every
``process_interval_s`` only. PCIe throughput blocks about 20 ms per call, so it is off by default
and, when enabled, read by its own thread.

When the GPU is lost, the driver is reloaded or NVML stops answering, :meth:`NvmlProvider.read`
raises :class:`ProviderError`; the next call shuts NVML down, initialises it again and re-probes.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.clock_events import decode_clock_events
from monitor.providers.base import NoteLog, ProviderError, ProviderUnavailable, Reading
from monitor.sample import GpuProcess, GpuSample

# NVML return codes (stable C ABI values; see nvml.h).
_NOT_SUPPORTED, _NO_PERMISSION, _FUNCTION_NOT_FOUND, _INVALID_ARGUMENT, _NOT_FOUND = 3, 4, 13, 2, 6
_UNSUPPORTED = frozenset({_NOT_SUPPORTED, _NO_PERMISSION, _FUNCTION_NOT_FOUND, _INVALID_ARGUMENT,
                          _NOT_FOUND})
_UNINITIALIZED, _DRIVER_NOT_LOADED, _LIBRARY_NOT_FOUND, _GPU_IS_LOST = 1, 9, 12, 15
_RESET_REQUIRED, _LIB_RM_MISMATCH, _GPU_NOT_FOUND, _UNKNOWN = 16, 18, 28, 999
_FATAL = frozenset({_UNINITIALIZED, _DRIVER_NOT_LOADED, _LIBRARY_NOT_FOUND, _GPU_IS_LOST,
                    _RESET_REQUIRED, _LIB_RM_MISMATCH, _GPU_NOT_FOUND, _UNKNOWN})
_ABSENT = frozenset({_DRIVER_NOT_LOADED, _LIBRARY_NOT_FOUND})

_TEMP_GPU, _THRESH_SHUTDOWN, _THRESH_SLOWDOWN = 0, 0, 1
_CLOCK_SM, _CLOCK_MEM = 1, 2
_PSTATE_UNKNOWN = 32

Call = Callable[[Any, Any], Any]  # (nvml module, device handle) -> raw value


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class _Field:
    key: str
    label: str
    calls: tuple[Call, ...]
    apply: Callable[[Any], dict[str, Any]]


_FIELDS: tuple[_Field, ...] = (
    _Field("utilization", "GPU/memory utilisation",
           (lambda n, h: n.nvmlDeviceGetUtilizationRates(h),),
           lambda r: {"utilization_pct": float(r.gpu), "memory_utilization_pct": float(r.memory)}),
    _Field("memory", "VRAM used/total", (lambda n, h: n.nvmlDeviceGetMemoryInfo(h),),
           lambda r: {"memory_used_bytes": int(r.used), "memory_total_bytes": int(r.total)}),
    _Field("temperature", "temperature",
           (lambda n, h: n.nvmlDeviceGetTemperatureV(h, _TEMP_GPU),
            lambda n, h: n.nvmlDeviceGetTemperature(h, _TEMP_GPU)),
           lambda r: {"temperature_c": float(r)}),
    _Field("power", "power draw", (lambda n, h: n.nvmlDeviceGetPowerUsage(h),),
           lambda r: {"power_w": r / 1000.0}),
    _Field("power_limit", "power limit",
           (lambda n, h: n.nvmlDeviceGetEnforcedPowerLimit(h),
            lambda n, h: n.nvmlDeviceGetPowerManagementLimit(h)),
           lambda r: {"power_limit_w": r / 1000.0}),
    _Field("energy", "total energy counter",
           (lambda n, h: n.nvmlDeviceGetTotalEnergyConsumption(h),),
           lambda r: {"energy_j": r / 1000.0}),
    _Field("sm_clock", "SM clock", (lambda n, h: n.nvmlDeviceGetClockInfo(h, _CLOCK_SM),),
           lambda r: {"sm_clock_mhz": float(r)}),
    _Field("memory_clock", "memory clock",
           (lambda n, h: n.nvmlDeviceGetClockInfo(h, _CLOCK_MEM),),
           lambda r: {"memory_clock_mhz": float(r)}),
    _Field("fan", "fan speed", (lambda n, h: n.nvmlDeviceGetFanSpeed(h),),
           lambda r: {"fan_pct": float(r)}),
    _Field("pstate", "performance state", (lambda n, h: n.nvmlDeviceGetPerformanceState(h),),
           lambda r: {"pstate": None if int(r) == _PSTATE_UNKNOWN else int(r)}),
    _Field("throttle", "clock-event (throttle) reasons",
           (lambda n, h: n.nvmlDeviceGetCurrentClocksEventReasons(h),
            lambda n, h: n.nvmlDeviceGetCurrentClocksThrottleReasons(h)),
           lambda r: {"throttle_reasons": decode_clock_events(int(r))}),
)

_STATIC: tuple[tuple[str, str, Call, Callable[[Any], Any]], ...] = (
    ("uuid", "UUID", lambda n, h: n.nvmlDeviceGetUUID(h), _text),
    ("pci_bus_id", "PCI bus id", lambda n, h: n.nvmlDeviceGetPciInfo(h).busId, _text),
    ("temp_slowdown_c", "slowdown temperature",
     lambda n, h: n.nvmlDeviceGetTemperatureThreshold(h, _THRESH_SLOWDOWN), float),
    ("temp_shutdown_c", "shutdown temperature",
     lambda n, h: n.nvmlDeviceGetTemperatureThreshold(h, _THRESH_SHUTDOWN), float),
    ("sm_clock_max_mhz", "maximum SM clock",
     lambda n, h: n.nvmlDeviceGetMaxClockInfo(h, _CLOCK_SM), float),
    ("memory_clock_max_mhz", "maximum memory clock",
     lambda n, h: n.nvmlDeviceGetMaxClockInfo(h, _CLOCK_MEM), float),
)


@dataclass(slots=True)
class _Device:
    index: int
    handle: Any
    name: str
    static: dict[str, Any]
    calls: dict[str, Call] = field(default_factory=dict)
    processes: tuple[GpuProcess, ...] = ()


def _code(exc: BaseException) -> int | None:
    value = getattr(exc, "value", None)
    return value if isinstance(value, int) else None


class NvmlProvider:
    """NVIDIA GPUs through NVML, probe-once, with re-initialisation after a failure."""

    def __init__(
        self,
        *,
        nvml: Any = None,
        process_interval_s: float = 2.0,
        pcie: bool = False,
        pcie_interval_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        process_name: Callable[[int], str | None] | None = None,
    ) -> None:
        """Initialise NVML and probe every field of every GPU.

        Args:
            nvml: Stand-in for the ``pynvml`` module (tests); imported when None.
            process_interval_s: How often the per-process memory list is refreshed.
            pcie: Read PCIe TX/RX throughput on a background thread (each call blocks ~20 ms).
            pcie_interval_s: Period of that thread.
            monotonic: Clock for the process refresh period.
            process_name: pid -> process name (psutil by default; None where unknown).

        Raises:
            ProviderUnavailable: No NVML library, no driver, or no NVIDIA GPU.
            ProviderError: NVML is there but failed to initialise.
        """
        if nvml is None:
            try:
                import pynvml
            except ImportError as exc:
                raise ProviderUnavailable(f"nvidia-ml-py is not installed ({exc})") from None
            nvml = pynvml
        self._nvml = nvml
        self._error_type: type[BaseException] = getattr(nvml, "NVMLError", Exception)
        self._process_interval = process_interval_s
        self._monotonic = monotonic
        self._process_name = process_name or _psutil_name
        self._names: dict[int, str | None] = {}
        self._notes = NoteLog("nvml")
        self._devices: list[_Device] = []
        self._initialised = False
        self._broken = False
        self._last_processes = -float("inf")
        self._pcie: dict[int, tuple[float | None, float | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pcie_thread: threading.Thread | None = None
        self._init()
        if pcie:
            self._pcie_thread = threading.Thread(
                target=self._pcie_loop, args=(pcie_interval_s,), name="nvml-pcie", daemon=True)
            self._pcie_thread.start()

    @property
    def name(self) -> str:
        """Provider name."""
        return "nvml"

    def notes(self) -> tuple[str, ...]:
        """Switched-off fields and other one-time remarks."""
        return self._notes.all()

    def disabled_fields(self) -> dict[int, tuple[str, ...]]:
        """GPU index -> keys of the dynamic fields switched off on it."""
        keys = [f.key for f in _FIELDS]
        return {d.index: tuple(k for k in keys if k not in d.calls) for d in self._devices}

    # -- initialisation -------------------------------------------------------------------

    def _init(self) -> None:
        n = self._nvml
        try:
            n.nvmlInit()
            self._initialised = True
            count = int(n.nvmlDeviceGetCount())
            devices = [self._open(index) for index in range(count)]
        except self._error_type as exc:
            code = _code(exc)
            self._shutdown()
            if code in _ABSENT:
                raise ProviderUnavailable(f"NVML unavailable: {exc}") from None
            raise ProviderError(f"NVML failed to initialise: {exc}") from None
        except OSError as exc:  # the shared library could not be loaded at all
            self._shutdown()
            raise ProviderUnavailable(f"NVML unavailable: {exc}") from None
        except ProviderError:  # a fatal error while probing one GPU
            self._shutdown()
            raise
        if not devices:
            self._shutdown()
            raise ProviderUnavailable("NVML found no NVIDIA GPU")
        with self._lock:
            self._devices = devices
        self._broken = False
        self._last_processes = -float("inf")

    def _open(self, index: int) -> _Device:
        n = self._nvml
        handle = n.nvmlDeviceGetHandleByIndex(index)
        device = _Device(index, handle, _text(n.nvmlDeviceGetName(handle)), {})
        for key, label, call, convert in _STATIC:
            try:
                device.static[key] = convert(call(n, handle))
            except (self._error_type, AttributeError) as exc:
                self._raise_if_fatal(exc, index)
                device.static[key] = None
                self._notes.add(f"{label}: not available on GPU {index} ({device.name}): {exc}")
        for spec in _FIELDS:
            chosen = self._probe(device, spec)
            if chosen is None:
                self._notes.add(f"{spec.label}: not supported on GPU {index} ({device.name})")
            else:
                device.calls[spec.key] = chosen
        self._probe_processes(device)
        return device

    def _probe(self, device: _Device, spec: _Field) -> Call | None:
        last: Call | None = None
        for call in spec.calls:
            try:
                spec.apply(call(self._nvml, device.handle))
                return call
            except AttributeError:
                continue  # this binding lacks the function: try the older one
            except self._error_type as exc:
                self._raise_if_fatal(exc, device.index)
                if _code(exc) in _UNSUPPORTED:
                    continue
                last = call  # transient error (timeout, no data): keep it and see later
        return last

    def _probe_processes(self, device: _Device) -> None:
        try:
            device.processes = self._processes(device.handle)
            device.calls["processes"] = _noop
        except (self._error_type, AttributeError) as exc:
            self._raise_if_fatal(exc, device.index)
            self._notes.add(f"per-process memory: not supported on GPU {device.index} "
                            f"({device.name}): {exc}")

    def _raise_if_fatal(self, exc: BaseException, index: int) -> None:
        if isinstance(exc, self._error_type) and _code(exc) in _FATAL:
            self._broken = True
            raise ProviderError(f"NVML error on GPU {index}: {exc}") from None

    def _shutdown(self) -> None:
        if self._initialised:
            self._initialised = False
            # Shutting down a broken library may fail too; there is nothing more to do then.
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()

    def close(self) -> None:
        """Stop the PCIe thread and shut NVML down."""
        self._stop.set()
        if self._pcie_thread is not None:
            self._pcie_thread.join(timeout=5)
        self._shutdown()

    # -- reading --------------------------------------------------------------------------

    def read(self) -> Reading:
        """One reading of every GPU; re-initialises NVML first after a failure."""
        if self._broken or not self._initialised:
            self._shutdown()
            self._init()
        now = self._monotonic()
        refresh = now - self._last_processes >= self._process_interval
        if refresh:
            self._last_processes = now
        return Reading(gpus=tuple(self._read_device(d, refresh) for d in self._devices))

    def _read_device(self, device: _Device, refresh_processes: bool) -> GpuSample:
        values: dict[str, Any] = dict(device.static)
        for spec in _FIELDS:
            call = device.calls.get(spec.key)
            if call is None:
                continue
            try:
                values.update(spec.apply(call(self._nvml, device.handle)))
            except self._error_type as exc:
                self._raise_if_fatal(exc, device.index)
                if _code(exc) in _UNSUPPORTED:
                    del device.calls[spec.key]
                    self._notes.add(f"{spec.label}: stopped working on GPU {device.index} "
                                    f"({device.name}): {exc}; switched off")
                else:
                    self._notes.add(f"{spec.label}: read failed on GPU {device.index}: {exc}")
        if refresh_processes and "processes" in device.calls:
            try:
                device.processes = self._processes(device.handle)
            except self._error_type as exc:
                self._raise_if_fatal(exc, device.index)
                self._notes.add(f"per-process memory: read failed on GPU {device.index}: {exc}")
        with self._lock:
            tx, rx = self._pcie.get(device.index, (None, None))
        return GpuSample(index=device.index, name=device.name, processes=device.processes,
                         pcie_tx_bytes_s=tx, pcie_rx_bytes_s=rx, **values)

    def _processes(self, handle: Any) -> tuple[GpuProcess, ...]:
        n = self._nvml
        memory: dict[int, int | None] = {}
        for getter in (n.nvmlDeviceGetComputeRunningProcesses,
                       n.nvmlDeviceGetGraphicsRunningProcesses):
            for info in getter(handle):
                used = getattr(info, "usedGpuMemory", None)
                pid = int(info.pid)
                prior = memory.get(pid)
                memory[pid] = used if prior is None else max(prior, used or 0)
        live = set(memory)
        for pid in [p for p in self._names if p not in live]:
            del self._names[pid]
        out = []
        for pid in sorted(memory):
            if pid not in self._names:
                self._names[pid] = self._process_name(pid)
            used = memory[pid]
            out.append(GpuProcess(pid, self._names[pid], None if used is None else int(used)))
        return tuple(out)

    def _pcie_loop(self, interval: float) -> None:
        tx_counter, rx_counter = 0, 1
        off: set[int] = set()
        while not self._stop.wait(interval):
            with self._lock:
                devices = list(self._devices)
            for device in devices:
                if device.index in off:
                    continue
                try:
                    tx = self._nvml.nvmlDeviceGetPcieThroughput(device.handle, tx_counter)
                    rx = self._nvml.nvmlDeviceGetPcieThroughput(device.handle, rx_counter)
                except (self._error_type, AttributeError) as exc:
                    if _code(exc) in _UNSUPPORTED or isinstance(exc, AttributeError):
                        off.add(device.index)
                        self._notes.add(f"PCIe throughput: not supported on GPU {device.index}")
                    continue  # fatal errors surface on the sampling path
                with self._lock:  # NVML reports KB/s
                    self._pcie[device.index] = (tx * 1024.0, rx * 1024.0)


def _noop(nvml: Any, handle: Any) -> None:
    return None


def _psutil_name(pid: int) -> str | None:
    try:
        psutil = importlib.import_module("psutil")
        name: str = psutil.Process(pid).name()
        return name
    except Exception:  # noqa: BLE001 - gone, foreign PID namespace, or no permission
        return None
