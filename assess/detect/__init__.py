"""Hardware detection: :func:`detect_rig` probes this PC and returns a :class:`RigProfile`.

Each probe (CPU, memory, storage, GPUs, system) reads below a root folder (``/`` live, a captured
tree in tests) and returns its facts with their sources plus warnings. A probe that fails for any
reason costs only its own facts: the exception becomes a warning and detection goes on.

Modules: :mod:`~assess.detect.cpu`, :mod:`~assess.detect.isa`, :mod:`~assess.detect.memory`,
:mod:`~assess.detect.dmi`, :mod:`~assess.detect.storage`, :mod:`~assess.detect.mounts`,
:mod:`~assess.detect.gpu_nvidia`, :mod:`~assess.detect.gpu_sysfs`, :mod:`~assess.detect.pci`,
:mod:`~assess.detect.system`, :mod:`~assess.detect.formfactor`. GPUs are read through the doors
of :mod:`rigready.gpu` (NVML, amdgpu sysfs), which the monitor and the benchmarks share.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.cpu import probe_cpu
from rigready.assess.detect.formfactor import probe_form_factor
from rigready.assess.detect.gpu_nvidia import probe_nvidia
from rigready.assess.detect.gpu_sysfs import probe_sysfs_gpus
from rigready.assess.detect.memory import DmidecodeRunner, probe_memory
from rigready.assess.detect.storage import StatvfsFn, probe_storage
from rigready.assess.detect.system import find_package, probe_system
from rigready.assess.hardware import (
    CpuInfo,
    Disk,
    FormFactorInfo,
    GpuInfo,
    MemoryInfo,
    RigProfile,
    SystemInfo,
)
from rigready.assess.profile import drop_non_finite
from rigready.gpu.nvml import nvml_door
from rigready.gpu.types import Unknown
from rigready.gpu.vendor import GpuDoor, VendorUnavailable

T = TypeVar("T")

__all__ = ["detect_rig"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _isolated(component: str, probe: Callable[[], tuple[T, list[str]]], default: T,
              warnings: list[str]) -> T:
    try:
        value, found = probe()
    except Exception as exc:  # noqa: BLE001 - one broken probe must not stop detection
        warnings.append(f"{component}: detection failed ({type(exc).__name__}: {exc})")
        return default
    warnings.extend(found)
    return value


def detect_rig(
    *,
    root: Path | str = "/",
    nvml: GpuDoor | None = None,
    statvfs: StatvfsFn | None = None,
    dmidecode: DmidecodeRunner | None = None,
    check_torch: bool = False,
    clock: Callable[[], datetime] = _utc_now,
) -> RigProfile:
    """Detect this PC (or read a captured tree) into a :class:`RigProfile`.

    Args:
        root: folder that holds ``proc``, ``sys``, ``run`` and ``etc``; ``/`` for this PC.
        nvml: The NVIDIA door to read. None means the process-wide NVML door
            (:func:`rigready.gpu.nvml.nvml_door`) for a live probe and "not probed" for a
            captured tree; tests pass a door over a fake ``pynvml``.
        statvfs: free-space reader for mount points (see :mod:`rigready.assess.detect.storage`).
        dmidecode: source of ``dmidecode -t 16,17`` text (see :mod:`rigready.assess.detect.memory`).
        check_torch: import torch in a subprocess to learn ``torch.cuda.is_available()``
            (takes seconds; off by default).
        clock: returns the current time (UTC) for ``RigProfile.created``.

    Returns:
        The profile; facts that could not be read are None and explained in ``warnings``.
    """
    fs = SysRoot(root)
    warnings: list[str] = []
    cpu = _isolated("CPU", lambda: probe_cpu(fs), CpuInfo(), warnings)
    memory = _isolated("Memory", lambda: probe_memory(fs, dmidecode), MemoryInfo(), warnings)
    no_disks: tuple[Disk, ...] = ()
    no_gpus: tuple[GpuInfo, ...] = ()
    storage = _isolated("Storage", lambda: probe_storage(fs, statvfs), no_disks, warnings)
    gpus = _isolated("GPU", lambda: _probe_gpus(fs, nvml), no_gpus, warnings)
    system = _isolated(
        "System",
        lambda: probe_system(fs, check_torch=check_torch,
                             finder=find_package if fs.live or check_torch else None),
        SystemInfo(), warnings)
    form = _isolated("Form factor", lambda: probe_form_factor(fs, cpu.model, gpus),
                     FormFactorInfo(), warnings)
    return drop_non_finite(RigProfile(
        cpu=cpu, memory=memory, storage=storage, gpus=gpus, system=system, form_factor=form,
        warnings=tuple(warnings), created=clock().astimezone(UTC).isoformat(timespec="seconds")))


def _probe_gpus(fs: SysRoot,
                nvml: GpuDoor | None) -> tuple[tuple[GpuInfo, ...], list[str]]:
    warnings: list[str] = []
    if nvml is None:
        nvml = nvml_door() if fs.live else VendorUnavailable(
            "nvml", Unknown("error", "NVML not probed (captured tree)"))
    nvidia: tuple[GpuInfo, ...] = ()
    problem: str | None = None
    why = nvml.status()
    if why is not None and why.kind != "no_device":
        problem = why.reason
    elif why is None:
        try:
            nvidia, found = probe_nvidia(nvml)
            warnings.extend(found)
        except Exception as exc:  # noqa: BLE001
            problem = f"NVML failed ({type(exc).__name__}: {exc})"
    bus_ids = {g.pci_bus_id for g in nvidia if g.pci_bus_id}
    others: tuple[GpuInfo, ...] = ()
    if fs.exists("sys/bus/pci/devices"):
        others, found = probe_sysfs_gpus(fs, bus_ids, problem, first_index=len(nvidia))
        warnings.extend(found)
    elif fs.live:
        warnings.append("GPU: AMD and Intel GPUs are detected through Linux sysfs only")
    if problem is not None and not any(g.vendor == "nvidia" for g in others):
        warnings.append(f"GPU: {problem}")
    gpus = nvidia + others
    if not gpus:
        warnings.append("GPU: no GPU found (no NVIDIA, AMD or Intel display device)")
    return gpus, warnings
