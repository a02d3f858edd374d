"""The small interface every GPU vendor door implements, and helpers that work over any door.

A door (:class:`~rigready.gpu.nvml.NvmlDoor`, :class:`~rigready.gpu.amd_sysfs.AmdSysfs`; amdsmi
later) lists its GPUs and reads, for each, static facts, a live reading, the processes holding
its memory and whether it drives a display. Detection, the monitor, benchmark telemetry and
measuring all read GPUs through this interface, so a new vendor is one new module here.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from rigready.gpu.types import (
    DisplayState,
    GpuDevice,
    GpuFacts,
    GpuReading,
    ProcessList,
    Unknown,
    normalise_bus_id,
    normalise_uuid,
)


@runtime_checkable
class GpuDoor(Protocol):
    """One vendor's GPUs. No method raises for a missing sensor: values are None with reasons."""

    @property
    def name(self) -> str:
        """Short name for logs and notes ("nvml", "amdgpu")."""
        ...

    def status(self) -> Unknown | None:
        """None when the vendor works and has GPUs; else why not (no driver, no GPU...)."""
        ...

    def devices(self) -> tuple[GpuDevice, ...]:
        """The GPUs, in the vendor's order; empty when :meth:`status` says why."""
        ...

    def facts(self, device: GpuDevice) -> GpuFacts:
        """Static facts: name, ids, memory size, driver, limits, link."""
        ...

    def sample(self, device: GpuDevice, groups: Iterable[str] | None = None) -> GpuReading:
        """A live reading of ``groups`` (keys of ``SAMPLE_FIELDS``; None: ``DEFAULT_GROUPS``)."""
        ...

    def processes(self, device: GpuDevice) -> ProcessList:
        """Processes holding memory on the GPU, deduplicated by pid."""
        ...

    def display(self, device: GpuDevice) -> DisplayState:
        """Whether the GPU drives a display."""
        ...

    def reset(self) -> None:
        """Forget what was learnt and start the session again (after a lost GPU)."""
        ...


class VendorUnavailable:
    """A door with no GPUs and one reason: a captured tree not probed, a platform without it."""

    def __init__(self, name: str, why: Unknown) -> None:
        self._name = name
        self._why = why

    @property
    def name(self) -> str:
        """See :meth:`GpuDoor.name`."""
        return self._name

    def status(self) -> Unknown | None:
        """Always the reason given."""
        return self._why

    def devices(self) -> tuple[GpuDevice, ...]:
        """No GPU."""
        return ()

    def facts(self, device: GpuDevice) -> GpuFacts:
        """Nothing known (there is no device to ask)."""
        return GpuFacts(device=device, unknown={"name": self._why})

    def sample(self, device: GpuDevice, groups: Iterable[str] | None = None) -> GpuReading:
        """Nothing known."""
        return GpuReading(device=device)

    def processes(self, device: GpuDevice) -> ProcessList:
        """Nothing known."""
        return ProcessList(device, None, self._why)

    def display(self, device: GpuDevice) -> DisplayState:
        """Nothing known."""
        return DisplayState(device)

    def reset(self) -> None:
        """Nothing to forget."""


def find_device(door: GpuDoor, *, uuid: str | None = None, pci_bus_id: str | None = None,
                index: int | None = None) -> GpuDevice | None:
    """The door's GPU with this UUID, else this PCI address, else this index; None if none.

    UUIDs match with or without NVML's ``GPU-`` prefix; bus ids in NVML's or sysfs's form.
    """
    devices = door.devices()
    if uuid or pci_bus_id:
        facts = [door.facts(d) for d in devices]
        if uuid:
            want = normalise_uuid(uuid)
            for f in facts:
                if f.uuid and normalise_uuid(f.uuid) == want:
                    return f.device
        if pci_bus_id:
            bus = normalise_bus_id(pci_bus_id)
            for f in facts:
                if f.pci_bus_id and normalise_bus_id(f.pci_bus_id) == bus:
                    return f.device
    if index is not None:
        return next((d for d in devices if d.index == index), None)
    return None


def psutil_name(pid: int) -> str | None:
    """The name of process ``pid`` through psutil; None when it cannot be known."""
    try:
        psutil = importlib.import_module("psutil")
        name: str = psutil.Process(pid).name()
        return name
    except Exception:  # noqa: BLE001 - gone, foreign PID namespace, no permission, no psutil
        return None


class ProcessNames:
    """pid -> name, looked up once per process and forgotten when no GPU lists the pid any more.

    The lookup (psutil) costs far more than an NVML call, and a training run's pid stays for
    hours, so names are cached; each GPU's live pids are remembered separately, so reading GPU 1
    does not evict the names of GPU 0's processes.
    """

    def __init__(self, lookup: Callable[[int], str | None] = psutil_name) -> None:
        self.lookup = lookup
        self._names: dict[int, str | None] = {}
        self._live: dict[str, frozenset[int]] = {}
        self._lock = threading.Lock()

    def names(self, device_key: str, pids: Iterable[int]) -> dict[int, str | None]:
        """Names of ``pids`` (the processes now on the device ``device_key``)."""
        wanted = frozenset(pids)
        with self._lock:
            self._live[device_key] = wanted
            alive = frozenset().union(*self._live.values())
            for pid in [p for p in self._names if p not in alive]:
                del self._names[pid]
            missing = [p for p in wanted if p not in self._names]
        found = {pid: self.lookup(pid) for pid in sorted(missing)}
        with self._lock:
            self._names.update(found)
            return {pid: self._names.get(pid) for pid in wanted}

    def clear(self) -> None:
        """Forget every name."""
        with self._lock:
            self._names.clear()
            self._live.clear()
