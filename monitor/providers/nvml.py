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

from rigready.monitor.providers.base import NoteLog, ProviderError, ProviderUnavailable, Reading
from rigready.monitor.providers.nvml_fields import (
    ABSENT,
    FATAL,
    FIELDS,
    STATIC,
    UNSUPPORTED,
    Call,
    Field,
    text,
)
from rigready.monitor.sample import GpuProcess, GpuSample


@dataclass(slots=True)
class _Device:
    index: int
    handle: Any
    name: str
    static: dict[str, Any]
    calls: dict[str, Call] = field(default_factory=dict)
    processes: tuple[GpuProcess, ...] = ()
    #: Fields whose call took longer than ``slow_call_ms`` at the probe: key -> ms per call.
    slow: dict[str, float] = field(default_factory=dict)
    #: Last values and read time of the slow fields (reused between their reads).
    cached: dict[str, dict[str, Any]] = field(default_factory=dict)
    read_at: dict[str, float] = field(default_factory=dict)


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
        slow_call_ms: float = 1.0,
        slow_interval_s: float = 5.0,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Initialise NVML and probe every field of every GPU.

        Args:
            nvml: Stand-in for the ``pynvml`` module (tests); imported when None.
            process_interval_s: How often the per-process memory list is refreshed.
            pcie: Read PCIe TX/RX throughput on a background thread (each call blocks ~20 ms).
            pcie_interval_s: Period of that thread.
            monotonic: Clock for the process refresh period.
            process_name: pid -> process name (psutil by default; None where unknown).
            slow_call_ms: A field whose call takes longer than this at the probe (best of
                three) is read only every ``slow_interval_s``, its last value reused between.
            slow_interval_s: Period of those slow fields.
            timer: High-resolution clock for the probe timing.

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
        self._slow_call_s = slow_call_ms / 1000.0
        self._slow_interval = slow_interval_s
        self._timer = timer
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
        keys = [f.key for f in FIELDS]
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
            if code in ABSENT:
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
        device = _Device(index, handle, text(n.nvmlDeviceGetName(handle)), {})
        for key, label, call, convert in STATIC:
            try:
                device.static[key] = convert(call(n, handle))
            except (self._error_type, AttributeError) as exc:
                self._raise_if_fatal(exc, index)
                device.static[key] = None
                self._notes.add(f"{label}: not available on GPU {index} ({device.name}): {exc}")
        for spec in FIELDS:
            chosen = self._probe(device, spec)
            if chosen is None:
                self._notes.add(f"{spec.label}: not supported on GPU {index} ({device.name})")
            else:
                device.calls[spec.key] = chosen
        self._probe_processes(device)
        return device

    def _probe(self, device: _Device, spec: Field) -> Call | None:
        last: Call | None = None
        for call in spec.calls:
            try:
                spec.apply(call(self._nvml, device.handle))
                self._time_call(device, spec, call)
                return call
            except AttributeError:
                continue  # this binding lacks the function: try the older one
            except self._error_type as exc:
                self._raise_if_fatal(exc, device.index)
                if _code(exc) in UNSUPPORTED:
                    continue
                last = call  # transient error (timeout, no data): keep it and see later
        return last

    def _time_call(self, device: _Device, spec: Field, call: Call) -> None:
        best = float("inf")
        for _ in range(3):
            start = self._timer()
            call(self._nvml, device.handle)
            best = min(best, self._timer() - start)
        if best > self._slow_call_s:
            device.slow[spec.key] = 1000.0 * best
            self._notes.add(f"{spec.label}: slow on GPU {device.index} ({1000 * best:.1f} ms "
                            f"per call), read every {self._slow_interval:g} s")

    def slow_fields(self) -> dict[int, dict[str, float]]:
        """GPU index -> {field key: ms per call} for fields read on the slow period."""
        return {d.index: dict(d.slow) for d in self._devices}

    def _probe_processes(self, device: _Device) -> None:
        try:
            device.processes = self._processes(device.handle)
            device.calls["processes"] = _noop
        except (self._error_type, AttributeError) as exc:
            self._raise_if_fatal(exc, device.index)
            self._notes.add(f"per-process memory: not supported on GPU {device.index} "
                            f"({device.name}): {exc}")

    def _raise_if_fatal(self, exc: BaseException, index: int) -> None:
        if isinstance(exc, self._error_type) and _code(exc) in FATAL:
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
        return Reading(gpus=tuple(self._read_device(d, refresh, now) for d in self._devices))

    def _read_device(self, device: _Device, refresh_processes: bool, now: float) -> GpuSample:
        values: dict[str, Any] = dict(device.static)
        for spec in FIELDS:
            call = device.calls.get(spec.key)
            if call is None:
                continue
            if spec.key in device.slow:
                if now - device.read_at.get(spec.key, -float("inf")) < self._slow_interval:
                    values.update(device.cached.get(spec.key, {}))
                    continue
                device.read_at[spec.key] = now
            try:
                fresh = spec.apply(call(self._nvml, device.handle))
                values.update(fresh)
                if spec.key in device.slow:
                    device.cached[spec.key] = fresh
            except self._error_type as exc:
                self._raise_if_fatal(exc, device.index)
                if _code(exc) in UNSUPPORTED:
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
                    if _code(exc) in UNSUPPORTED or isinstance(exc, AttributeError):
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
