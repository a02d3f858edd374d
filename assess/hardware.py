"""Hardware facts as frozen dataclasses.

Every fact that could not be read is ``None``, never a guess, and the ``sources`` mapping of each
component names where each known field came from (``"nvml"``, ``"/proc/cpuinfo"``, ``"udev dmi"``,
``"user"`` for facts typed into a profile, ...). Problems met while probing are collected as
human-readable warnings on :class:`RigProfile`, so a missing sensor never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GpuVendor = Literal["nvidia", "amd", "intel", "other"]
DiskKind = Literal["nvme", "sata-ssd", "hdd", "usb", "virtual", "mmc", "unknown"]
FormFactor = Literal["desktop", "laptop", "server", "vm", "unknown"]
MemoryType = Literal["DDR3", "DDR4", "DDR5", "LPDDR4", "LPDDR4X", "LPDDR5", "LPDDR5X", "other"]


@dataclass(frozen=True, slots=True)
class CpuInfo:
    """The host processor."""

    model: str | None = None
    vendor: str | None = None
    architecture: str | None = None
    physical_cores: int | None = None
    logical_cores: int | None = None
    base_clock_mhz: float | None = None
    max_clock_mhz: float | None = None
    l3_cache_bytes: int | None = None
    #: ISA extensions that matter for AI work, lower-case as in /proc/cpuinfo (avx2, fma, avx512f,
    #: avx512_vnni, avx_vnni, amx_tile, ...). Empty when unknown (see ``sources``).
    flags: tuple[str, ...] = ()
    #: Theoretical single-precision FLOPs one core retires per cycle, implied by the ISA flags.
    fp32_flops_per_cycle: int | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def peak_fp32_gflops(self) -> float | None:
        """Theoretical FP32 peak: physical cores x max (else base) clock x FLOPs per cycle."""
        clock = self.max_clock_mhz or self.base_clock_mhz
        if self.physical_cores is None or clock is None or self.fp32_flops_per_cycle is None:
            return None
        return self.physical_cores * clock * self.fp32_flops_per_cycle / 1000.0


@dataclass(frozen=True, slots=True)
class MemoryModule:
    """One populated memory slot (from the DMI tables)."""

    locator: str | None = None
    size_bytes: int | None = None
    type: str | None = None
    speed_mts: int | None = None
    form_factor: str | None = None
    part_number: str | None = None


@dataclass(frozen=True, slots=True)
class MemoryInfo:
    """System memory: totals always, DMI details only where the system exposes them."""

    total_bytes: int | None = None
    available_bytes: int | None = None
    type: str | None = None
    speed_mts: int | None = None
    slots_used: int | None = None
    slots_total: int | None = None
    max_capacity_bytes: int | None = None
    soldered: bool | None = None
    modules: tuple[MemoryModule, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Disk:
    """One physical disk (not a partition)."""

    name: str
    model: str | None = None
    total_bytes: int | None = None
    kind: DiskKind = "unknown"
    pcie_gen: int | None = None
    pcie_width: int | None = None
    mount_points: tuple[str, ...] = ()
    free_bytes: int | None = None
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GpuMemoryHolder:
    """A program holding memory on a GPU when it was read (NVML's compute and graphics lists)."""

    #: Process name (``Xorg``, ``firefox``); None when it could not be read (another user's).
    name: str | None = None
    pid: int | None = None
    #: Bytes it held; None when the driver hides it (Windows WDDM, some containers).
    used_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """One graphics adapter."""

    vendor: GpuVendor
    name: str
    index: int = 0
    uuid: str | None = None
    pci_bus_id: str | None = None
    vram_bytes: int | None = None
    #: True for integrated GPUs that borrow system memory (their "VRAM" is a carve-out).
    integrated: bool = False
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    compute_capability: str | None = None
    power_limit_w: float | None = None
    pcie_gen_max: int | None = None
    pcie_gen_current: int | None = None
    pcie_width_max: int | None = None
    pcie_width_current: int | None = None
    memory_bus_width_bits: int | None = None
    cuda_cores: int | None = None
    max_sm_clock_mhz: int | None = None
    temp_slowdown_c: int | None = None
    temp_shutdown_c: int | None = None
    #: PCI ``vendor:device`` id, lower-case hex (``"10de:1f11"``); tells mobile chips apart.
    pci_device_id: str | None = None
    #: Active NVLink links to other GPUs (0: none, so GPUs talk over PCIe); None: not read.
    nvlink_links: int | None = None
    #: The desktop draws on this GPU (a display is active on it), so the compositor and the
    #: programs on screen share its memory with a job; None: not read.
    drives_display: bool | None = None
    #: Programs that held memory on it when it was detected, biggest first; None: not read
    #: (a saved profile of another PC, or a driver that does not list them).
    memory_holders: tuple[GpuMemoryHolder, ...] | None = None
    #: Memory a job may use on it, as the user says (the card's total less what the desktop and
    #: other programs keep), bytes; None: rigready works it out (``estimate --free-gib``).
    free_for_job_bytes: int | None = None
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """Operating system and the AI software stack that decides what runs today."""

    os: str | None = None
    kernel: str | None = None
    python: str | None = None
    hostname: str | None = None
    torch_version: str | None = None
    torch_cuda_version: str | None = None
    #: Whether ``torch.cuda.is_available()`` said yes; None when torch is not installed.
    torch_cuda_available: bool | None = None
    cupy_version: str | None = None
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FormFactorInfo:
    """What kind of machine this is, and the evidence for it.

    ``kind`` decides what an upgrade can be: only a desktop takes a new graphics card; a laptop
    can use an external GPU (Thunderbolt/USB4), a VM is resized by its provider. ``unknown``
    when no evidence says (then no internal upgrade is offered as safe).
    """

    kind: FormFactor = "unknown"
    #: SMBIOS chassis type code (``/sys/class/dmi/id/chassis_type``: 3 desktop, 10 notebook...).
    chassis_type: int | None = None
    #: A system battery (not a mouse's) in ``/sys/class/power_supply``; None: not readable.
    battery: bool | None = None
    #: Hypervisor name (``kvm``, ``vmware``, ``wsl``...), ``none`` on bare metal; None: unknown.
    virtualization: str | None = None
    #: A Thunderbolt or USB4 controller (``/sys/bus/thunderbolt``); None: not readable.
    thunderbolt: bool | None = None
    #: A small case (all-in-one, mini PC, low-profile): a full-size card may not fit.
    compact: bool | None = None
    #: One line per clue, e.g. ``"laptop: DMI chassis type 10 (Notebook)"``.
    evidence: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RigProfile:
    """Everything known about one PC: detected live, or loaded from a saved profile."""

    cpu: CpuInfo
    memory: MemoryInfo
    storage: tuple[Disk, ...]
    gpus: tuple[GpuInfo, ...]
    system: SystemInfo
    form_factor: FormFactorInfo = field(default_factory=FormFactorInfo)
    warnings: tuple[str, ...] = ()
    #: ISO-8601 UTC time of detection (or of the edit that produced this profile).
    created: str | None = None
    #: "detected" for a live probe, else the path of the profile file it came from.
    origin: str = "detected"

    @property
    def discrete_gpus(self) -> tuple[GpuInfo, ...]:
        """GPUs with memory of their own (integrated GPUs excluded)."""
        return tuple(g for g in self.gpus if not g.integrated)

    @property
    def best_gpu(self) -> GpuInfo | None:
        """The discrete GPU with the most VRAM (unknown VRAM counts as zero), or None."""
        gpus = self.discrete_gpus
        if not gpus:
            return None
        return max(gpus, key=lambda g: g.vram_bytes or 0)
