"""Which programs hold memory on each GPU, and whether the GPU drives the display: for the This
PC page (a job on the card shares it with them).

On this PC the facts are read now, through :mod:`rigready.gpu`'s doors (NVML's compute and
graphics process lists and display state; amdgpu's DRM connectors, which list no processes).
A saved profile of another PC cannot be read live: what its detection recorded is shown when
the profile carries it (``GpuInfo.memory_holders`` / ``drives_display``), else "not read".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigready.assess.bench.fingerprint import current_fingerprint, profile_fingerprint
from rigready.assess.hardware import GpuInfo, RigProfile
from rigready.gpu.vendor import GpuDoor, find_device


@dataclass(frozen=True, slots=True)
class MemoryHolder:
    """A program holding memory on one GPU."""

    #: Process name; None when it could not be read (another user's process, a container).
    name: str | None
    pid: int | None
    #: Bytes it holds; None when the driver hides it (Windows WDDM, some containers).
    used_bytes: int | None
    #: ``compute``, ``graphics`` or ``compute+graphics`` (empty when not known).
    kind: str = ""


@dataclass(frozen=True, slots=True)
class GpuMemoryUse:
    """What shares one GPU's memory, and where that was learnt."""

    gpu_name: str
    #: Biggest first; None when the list could not be read (``why`` says why).
    holders: tuple[MemoryHolder, ...] | None
    #: Whether the desktop draws on this GPU; None: not read.
    drives_display: bool | None
    #: ``read now`` (this PC) or ``when the profile was detected`` (a saved profile).
    when: str
    #: Why the list is missing or partial (empty when complete).
    why: str = ""

    @property
    def held_bytes(self) -> int:
        """Bytes the listed programs hold together (those whose figure is known)."""
        return sum(h.used_bytes or 0 for h in self.holders or ())


def is_this_pc(profile: RigProfile, here: Callable[[], str] = current_fingerprint) -> bool:
    """Whether ``profile`` describes the PC rigready runs on: detected here, or a saved profile
    with this machine's fingerprint (CPU model, GPU UUIDs, hostname)."""
    if profile.origin == "detected":
        return True
    return profile_fingerprint(profile) == here()


def _nvidia_door() -> GpuDoor:
    from rigready.gpu.nvml import nvml_door

    return nvml_door()


def _amd_door() -> GpuDoor:
    from rigready.gpu.amd_sysfs import AmdSysfs

    return AmdSysfs(Path("/"))


def gpu_memory_use(profile: RigProfile, *, this_pc: bool,
                   doors: dict[str, Callable[[], GpuDoor]] | None = None
                   ) -> tuple[GpuMemoryUse, ...]:
    """Each discrete GPU of ``profile``: the programs on it and whether it drives a display.

    Args:
        profile: the PC shown.
        this_pc: read the GPUs now (the profile is this PC's); otherwise use what the profile
            recorded.
        doors: vendor -> door factory (tests pass fakes); NVML and amdgpu sysfs by default.
    """
    factories = doors or {"nvidia": _nvidia_door, "amd": _amd_door}
    opened: dict[str, GpuDoor] = {}
    out = []
    for gpu in profile.discrete_gpus:
        if not this_pc:
            out.append(_recorded(gpu))
            continue
        factory = factories.get(gpu.vendor)
        if factory is None:
            out.append(GpuMemoryUse(gpu.name, None, None, "read now",
                                    f"rigready has no door to {gpu.vendor} GPUs"))
            continue
        if gpu.vendor not in opened:
            opened[gpu.vendor] = factory()
        out.append(_read_now(opened[gpu.vendor], gpu))
    return tuple(out)


def _read_now(door: GpuDoor, gpu: GpuInfo) -> GpuMemoryUse:
    device = find_device(door, uuid=gpu.uuid, pci_bus_id=gpu.pci_bus_id, index=gpu.index)
    if device is None:
        return GpuMemoryUse(gpu.name, None, None, "read now",
                            f"the {door.name} door does not see this GPU now")
    display = door.display(device).drives_display
    listed = door.processes(device)
    why = listed.unknown.reason if listed.unknown is not None else ""
    if listed.processes is None:
        return GpuMemoryUse(gpu.name, None, display, "read now", why or "not listed")
    me = os.getpid()  # rigready itself holds nothing a job would have to share
    holders = tuple(sorted((MemoryHolder(p.name, p.pid, p.used_memory_bytes, p.kind)
                            for p in listed.processes if p.pid != me),
                           key=lambda h: -(h.used_bytes or 0)))
    return GpuMemoryUse(gpu.name, holders, display, "read now", why)


def _recorded(gpu: GpuInfo) -> GpuMemoryUse:
    """What a saved profile recorded at detection, where its format carries it."""
    recorded: Any = getattr(gpu, "memory_holders", None)
    display: Any = getattr(gpu, "drives_display", None)
    holders = None
    if recorded is not None:
        holders = tuple(MemoryHolder(getattr(h, "name", None), getattr(h, "pid", None),
                                     getattr(h, "used_bytes", None)) for h in recorded)
    why = "" if holders is not None else ("a saved profile of another PC: the programs on its "
                                          "GPU are read on that PC")
    return GpuMemoryUse(gpu.name, holders, display if isinstance(display, bool) else None,
                        "when the profile was detected", why)
