"""GPUs for the monitor through any :mod:`rigready.gpu` door (NVML, amdgpu sysfs): probe once.

Every reading group (utilisation, memory, temperature, ...) is probed once at start: a group the
door cannot give is switched off and named once in :meth:`GpuProvider.notes`, so nothing fails
every tick (btop's approach). Static facts (name, UUID, temperature thresholds, maximum clocks)
are read once. Each group is timed at the probe (best of three): one slower than
``slow_call_ms`` (NVML's energy counter takes about 3 ms on an H100 or H200) is read only every
``slow_interval_s``, its last value reused between. Per-process memory is refreshed every
``process_interval_s`` only. PCIe throughput blocks about 20 ms per NVML call, so it is off by
default and, when enabled, read by its own thread.

When the door reports a fatal error (GPU lost, driver reloaded, card gone), :meth:`read` raises
:class:`ProviderError`; the next call resets the door and probes again. The NVML door is shared
by the whole process, so :meth:`close` stops this provider's thread but leaves NVML running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from rigready.gpu.types import (
    DEFAULT_GROUPS,
    GROUP_LABELS,
    SAMPLE_FIELDS,
    GpuDevice,
    GpuFacts,
    GpuReading,
    ProcessList,
    Unknown,
)
from rigready.gpu.vendor import GpuDoor
from rigready.monitor.providers.base import NoteLog, ProviderError, ProviderUnavailable, Reading
from rigready.monitor.sample import GpuProcess, GpuSample

#: Static facts copied into every sample, with their words for notes.
_STATIC: dict[str, str] = {
    "uuid": "UUID", "pci_bus_id": "PCI bus id", "temp_slowdown_c": "slowdown temperature",
    "temp_shutdown_c": "shutdown temperature", "sm_clock_max_mhz": "maximum SM clock",
    "memory_clock_max_mhz": "maximum memory clock",
}
_SAMPLE_FIELDS = frozenset(f.name for f in fields(GpuSample))


@dataclass(slots=True)
class _Gpu:
    device: GpuDevice
    index: int
    name: str
    static: dict[str, Any]
    groups: list[str] = field(default_factory=list)
    processes: tuple[GpuProcess, ...] = ()
    processes_on: bool = False
    #: Groups whose read took longer than ``slow_call_ms`` at the probe: group -> ms per read.
    slow: dict[str, float] = field(default_factory=dict)
    #: Last values and read time of the slow groups (reused between their reads).
    cached: dict[str, dict[str, Any]] = field(default_factory=dict)
    read_at: dict[str, float] = field(default_factory=dict)


class GpuProvider:
    """One vendor's GPUs as monitor samples: probe-once, re-probe after a failure."""

    def __init__(
        self,
        door: GpuDoor,
        *,
        first_index: int = 0,
        process_interval_s: float = 2.0,
        pcie: bool = False,
        pcie_interval_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        slow_call_ms: float = 1.0,
        slow_interval_s: float = 5.0,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Open the door's GPUs and probe every reading group of each.

        Args:
            door: The vendor door (``nvml_door()``, ``AmdSysfs()``, a door over a fake).
            first_index: Index given to this door's first GPU (after another vendor's GPUs).
            process_interval_s: How often the per-process memory list is refreshed.
            pcie: Read PCIe TX/RX throughput on a background thread (each NVML call ~20 ms).
            pcie_interval_s: Period of that thread.
            monotonic: Clock for the process and slow-group periods.
            slow_call_ms: A group whose read takes longer than this at the probe (best of
                three) is read only every ``slow_interval_s``, its last value reused between.
            slow_interval_s: Period of those slow groups.
            timer: High-resolution clock for the probe timing.

        Raises:
            ProviderUnavailable: No library, no driver, or no GPU of this vendor.
            ProviderError: The vendor is there but failed to start.
        """
        self._door = door
        self._first_index = first_index
        self._process_interval = process_interval_s
        self._monotonic = monotonic
        self._slow_call_s = slow_call_ms / 1000.0
        self._slow_interval = slow_interval_s
        self._timer = timer
        self._notes = NoteLog(door.name)
        self._gpus: list[_Gpu] = []
        self._broken = False
        self._last_processes = -float("inf")
        self._pcie: dict[int, tuple[float | None, float | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pcie_thread: threading.Thread | None = None
        self._init()
        if pcie:
            self._pcie_thread = threading.Thread(
                target=self._pcie_loop, args=(pcie_interval_s,), name=f"{door.name}-pcie",
                daemon=True)
            self._pcie_thread.start()

    @property
    def name(self) -> str:
        """Provider name (the door's: "nvml", "amdgpu")."""
        return self._door.name

    def notes(self) -> tuple[str, ...]:
        """Switched-off groups and other one-time remarks."""
        return self._notes.all()

    def disabled_fields(self) -> dict[int, tuple[str, ...]]:
        """GPU index -> reading groups switched off on it."""
        return {g.index: tuple(k for k in DEFAULT_GROUPS if k not in g.groups)
                for g in self._gpus}

    def slow_fields(self) -> dict[int, dict[str, float]]:
        """GPU index -> {group: ms per read} for groups read on the slow period."""
        return {g.index: dict(g.slow) for g in self._gpus}

    def close(self) -> None:
        """Stop the PCIe thread (the door itself stays open for the rest of the process)."""
        self._stop.set()
        if self._pcie_thread is not None:
            self._pcie_thread.join(timeout=5)

    # -- probing -----------------------------------------------------------------------

    def _init(self) -> None:
        why = self._door.status()
        if why is not None:
            if why.absent:
                raise ProviderUnavailable(why.reason)
            raise ProviderError(why.reason)
        gpus = [self._open(device) for device in self._door.devices()]
        if not gpus:
            raise ProviderUnavailable(f"{self._door.name} found no GPU")
        with self._lock:
            self._gpus = gpus
        self._broken = False
        self._last_processes = -float("inf")

    def _open(self, device: GpuDevice) -> _Gpu:
        index = self._first_index + device.index
        facts = self._door.facts(device)
        self._raise_if_fatal(facts.unknown.values(), index, facts.name or "?")
        name = facts.name or f"GPU {index}"
        gpu = _Gpu(device, index, name, self._static(facts, f"GPU {index} ({name})"))
        where = f"GPU {index} ({gpu.name})"
        probe = self._door.sample(device, DEFAULT_GROUPS)
        for key in DEFAULT_GROUPS:
            whys = [probe.unknown.get(name) for name in SAMPLE_FIELDS[key]]
            self._raise_if_fatal([w for w in whys if w is not None], index, gpu.name)
            if all(w is not None and w.permanent for w in whys):
                if not all(w is not None and w.kind == "not_offered" for w in whys):
                    self._notes.add(f"{GROUP_LABELS[key]}: not supported on {where}")
                continue
            gpu.groups.append(key)
            for name, why in zip(SAMPLE_FIELDS[key], whys, strict=True):
                if why is not None and why.permanent and why.kind != "not_offered":
                    self._notes.add(f"{GROUP_LABELS[key]} ({name}): not available on {where}: "
                                    f"{why.reason}")
            self._time_group(gpu, key)
        found = self._door.processes(device)
        self._raise_if_fatal([found.unknown] if found.unknown else [], index, gpu.name)
        if found.processes is None:
            if found.unknown is None or found.unknown.kind != "not_offered":
                self._notes.add(f"per-process memory: not supported on {where}: {found.unknown}")
        else:
            gpu.processes_on = True
            gpu.processes = _processes(found)
        return gpu

    def _static(self, facts: GpuFacts, where: str) -> dict[str, Any]:
        static = {key: getattr(facts, key) for key in _STATIC}
        for key, label in _STATIC.items():
            why = facts.unknown.get(key)
            if static[key] is None and why is not None and why.kind != "not_offered":
                self._notes.add(f"{label}: not available on {where}: {why}")
        return static

    def _time_group(self, gpu: _Gpu, key: str) -> None:
        best = float("inf")
        for _ in range(3):
            start = self._timer()
            self._door.sample(gpu.device, (key,))
            best = min(best, self._timer() - start)
        if best > self._slow_call_s:
            gpu.slow[key] = 1000.0 * best
            self._notes.add(f"{GROUP_LABELS[key]}: slow on GPU {gpu.index} ({1000 * best:.1f} ms "
                            f"per call), read every {self._slow_interval:g} s")

    def _raise_if_fatal(self, whys: Any, index: int, name: str) -> None:
        fatal = next((w for w in whys if w.fatal), None)
        if fatal is not None:
            self._broken = True
            raise ProviderError(f"{self._door.name} error on GPU {index} ({name}): {fatal}")

    # -- reading -----------------------------------------------------------------------

    def read(self) -> Reading:
        """One reading of every GPU; resets the door and probes again after a failure."""
        if self._broken or not self._gpus:
            self._door.reset()
            self._init()
        now = self._monotonic()
        refresh = now - self._last_processes >= self._process_interval
        if refresh:
            self._last_processes = now
        return Reading(gpus=tuple(self._read_gpu(g, refresh, now) for g in list(self._gpus)))

    def _read_gpu(self, gpu: _Gpu, refresh_processes: bool, now: float) -> GpuSample:
        values: dict[str, Any] = dict(gpu.static)
        asked: list[str] = []
        for key in gpu.groups:
            if key in gpu.slow:
                if now - gpu.read_at.get(key, -float("inf")) < self._slow_interval:
                    values.update(gpu.cached.get(key, {}))
                    continue
                gpu.read_at[key] = now
            asked.append(key)
        reading = self._door.sample(gpu.device, asked)
        self._judge(gpu, reading, asked)
        for key in asked:
            fresh = reading.values((key,))
            values.update(fresh)
            if key in gpu.slow:
                gpu.cached[key] = fresh
        if refresh_processes and gpu.processes_on:
            self._refresh_processes(gpu)
        with self._lock:
            tx, rx = self._pcie.get(gpu.index, (None, None))
        kept = {k: v for k, v in values.items() if k in _SAMPLE_FIELDS}
        return GpuSample(index=gpu.index, name=gpu.name, processes=gpu.processes,
                         pcie_tx_bytes_s=tx, pcie_rx_bytes_s=rx, **kept)

    def _judge(self, gpu: _Gpu, reading: GpuReading, asked: list[str]) -> None:
        """Raise on a fatal error; switch off groups that stopped working; note the rest."""
        for key in asked:
            whys = [w for name in SAMPLE_FIELDS[key] if (w := reading.unknown.get(name))]
            if not whys:
                continue
            self._raise_if_fatal(whys, gpu.index, gpu.name)
            label = GROUP_LABELS[key]
            if len(whys) == len(SAMPLE_FIELDS[key]) and all(w.permanent for w in whys):
                gpu.groups.remove(key)
                self._notes.add(f"{label}: stopped working on GPU {gpu.index} ({gpu.name}): "
                                f"{whys[0]}; switched off")
            elif whys[0].kind == "asleep":
                self._notes.add(f"GPU {gpu.index} is {whys[0]}")
            else:
                for why in whys:
                    if not why.permanent and why.kind != "not_applicable":
                        self._notes.add(f"{label}: read failed on GPU {gpu.index}: {why}")

    def _refresh_processes(self, gpu: _Gpu) -> None:
        found = self._door.processes(gpu.device)
        if found.unknown is not None:
            self._raise_if_fatal([found.unknown], gpu.index, gpu.name)
            self._notes.add(f"per-process memory: read failed on GPU {gpu.index}: "
                            f"{found.unknown}")
        if found.processes is not None:
            gpu.processes = _processes(found)

    def _pcie_loop(self, interval: float) -> None:
        off: set[int] = set()
        while not self._stop.wait(interval):
            with self._lock:
                gpus = list(self._gpus)
            for gpu in gpus:
                if gpu.index in off:
                    continue
                reading = self._door.sample(gpu.device, ("pcie",))
                why: Unknown | None = reading.unknown.get("pcie_tx_bytes_s")
                if why is None:
                    with self._lock:
                        self._pcie[gpu.index] = (reading.pcie_tx_bytes_s,
                                                 reading.pcie_rx_bytes_s)
                elif why.permanent:
                    off.add(gpu.index)
                    self._notes.add(f"PCIe throughput: not supported on GPU {gpu.index}")
                # other errors: fatal ones surface on the sampling path, transient ones pass


def _processes(found: ProcessList) -> tuple[GpuProcess, ...]:
    return tuple(GpuProcess(p.pid, p.name, p.used_memory_bytes) for p in found.processes or ())
