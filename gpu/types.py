"""What every GPU vendor door returns: static facts, live readings, per-process memory, display.

Each result is a frozen dataclass whose values are ``None`` where the vendor could not say, and
whose ``unknown`` map names each such field with an :class:`Unknown`: what kind of failure it was
and why, in the vendor's own words ("Not Supported", "Insufficient Permissions", "no sysfs file
mem_busy_percent"). Nothing here raises for a missing sensor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

UnknownKind = Literal[
    "not_supported",  # the GPU or driver has no such reading (asking again will not help)
    "not_offered",  # this vendor's door never reads it (amdgpu sysfs has no throttle reasons)
    "no_permission",  # the driver refuses this user
    "function_missing",  # the binding or the driver lacks the call (older nvidia-ml-py/driver)
    "not_applicable",  # the vendor answered "none" (NVML's 0 for a width, P-state 32)
    "asleep",  # runtime-suspended card: not polled, so polling never wakes it
    "transient",  # timeout, no data yet, busy: try again later
    "error",  # anything else that failed for this one field
    "no_device",  # the vendor's library works but sees no GPU
    "package_missing",  # the Python binding (nvidia-ml-py) is not installed
    "library_not_found",  # no driver library (libnvidia-ml.so.1 / nvml.dll)
    "driver_not_loaded",  # driver installed but its kernel module is not loaded
    "driver_mismatch",  # library and kernel driver versions differ (reboot after an update)
    "uninitialized",  # the library was shut down under the caller
    "gpu_lost",  # the GPU fell off the bus, needs a reset, or the card disappeared
    "unknown_error",  # the vendor's own "unknown error": treat the whole session as broken
]

#: Kinds after which the whole vendor session is broken (start it again: ``reset()``).
FATAL_KINDS: frozenset[str] = frozenset({
    "package_missing", "library_not_found", "driver_not_loaded", "driver_mismatch",
    "uninitialized", "gpu_lost", "unknown_error"})
#: Kinds that will not change while the session lasts: stop asking for that field.
PERMANENT_KINDS: frozenset[str] = frozenset({
    "not_supported", "not_offered", "no_permission", "function_missing"})
#: Kinds that mean the vendor is not on this machine at all.
ABSENT_KINDS: frozenset[str] = frozenset({
    "no_device", "package_missing", "library_not_found", "driver_not_loaded"})


@dataclass(frozen=True, slots=True)
class Unknown:
    """Why a value is missing: a kind callers can act on, and the reason in words."""

    kind: UnknownKind
    reason: str

    @property
    def fatal(self) -> bool:
        """The session as a whole is broken (GPU lost, driver gone); see :data:`FATAL_KINDS`."""
        return self.kind in FATAL_KINDS

    @property
    def permanent(self) -> bool:
        """Asking again during this session will give the same answer."""
        return self.kind in PERMANENT_KINDS

    @property
    def absent(self) -> bool:
        """The vendor (driver, library or any GPU of it) is not on this machine."""
        return self.kind in ABSENT_KINDS

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class GpuDevice:
    """One GPU as a door knows it."""

    #: "nvidia" or "amd".
    vendor: str
    #: The vendor's own index: NVML's device index, or the n-th amdgpu card.
    index: int
    #: What the door needs to find the GPU again (NVML: the index; amdgpu: a sysfs folder).
    key: str


@dataclass(frozen=True, slots=True)
class GpuFacts:
    """What a GPU is: read once, for detection and for labelling live readings."""

    device: GpuDevice
    name: str | None = None
    uuid: str | None = None
    #: PCI address as the vendor writes it (NVML: ``00000000:19:00.0``; sysfs ``0000:03:00.0``).
    pci_bus_id: str | None = None
    #: PCI (vendor id, device id): (0x10DE, 0x2330).
    pci_ids: tuple[int, int] | None = None
    memory_total_bytes: int | None = None
    #: System memory the GPU may map besides its own (amdgpu GTT).
    shared_memory_bytes: int | None = None
    driver_version: str | None = None
    #: CUDA version the driver supports, encoded ``1000 * major + 10 * minor`` (13000 = 13.0).
    cuda_driver_version: int | None = None
    compute_capability: tuple[int, int] | None = None
    #: The power limit in force (NVML's enforced limit; amdgpu hwmon ``power1_cap``).
    power_limit_w: float | None = None
    pcie_gen_max: int | None = None
    pcie_gen_current: int | None = None
    pcie_width_max: int | None = None
    pcie_width_current: int | None = None
    memory_bus_width_bits: int | None = None
    cuda_cores: int | None = None
    sm_clock_max_mhz: float | None = None
    memory_clock_max_mhz: float | None = None
    temp_slowdown_c: float | None = None
    temp_shutdown_c: float | None = None
    #: Active NVLink links (0: the GPU has none and talks over PCIe).
    nvlink_links: int | None = None
    #: Field name -> why it is None.
    unknown: Mapping[str, Unknown] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GpuReading:
    """One GPU's live state at one instant (the fields asked for; the rest stay None)."""

    device: GpuDevice
    utilization_pct: float | None = None
    #: Memory-controller busy time.
    memory_utilization_pct: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    #: Energy counter since the driver loaded.
    energy_j: float | None = None
    sm_clock_mhz: float | None = None
    memory_clock_mhz: float | None = None
    fan_pct: float | None = None
    pstate: int | None = None
    #: The raw clock-event mask and its names (:mod:`rigready.gpu.throttle`); () when none.
    throttle_mask: int | None = None
    throttle_reasons: tuple[str, ...] | None = None
    pcie_tx_bytes_s: float | None = None
    pcie_rx_bytes_s: float | None = None
    #: Field name -> why it is None (only fields that were asked for).
    unknown: Mapping[str, Unknown] = field(default_factory=dict)

    def values(self, groups: Iterable[str]) -> dict[str, Any]:
        """Field name -> value for the fields of ``groups`` (keys of :data:`SAMPLE_FIELDS`)."""
        return {name: getattr(self, name) for g in groups for name in SAMPLE_FIELDS[g]}


#: Reading groups: what one vendor call (or one sysfs file family) gives -> GpuReading fields.
SAMPLE_FIELDS: dict[str, tuple[str, ...]] = {
    "utilization": ("utilization_pct", "memory_utilization_pct"),
    "memory": ("memory_used_bytes", "memory_total_bytes"),
    "temperature": ("temperature_c",),
    "power": ("power_w",),
    "power_limit": ("power_limit_w",),
    "energy": ("energy_j",),
    "sm_clock": ("sm_clock_mhz",),
    "memory_clock": ("memory_clock_mhz",),
    "fan": ("fan_pct",),
    "pstate": ("pstate",),
    "throttle": ("throttle_mask", "throttle_reasons"),
    "pcie": ("pcie_tx_bytes_s", "pcie_rx_bytes_s"),
}
#: What ``sample()`` reads when not told: everything but PCIe throughput, which blocks about
#: 20 ms per NVML call (read it on a thread of its own).
DEFAULT_GROUPS: tuple[str, ...] = tuple(g for g in SAMPLE_FIELDS if g != "pcie")
#: Words for each group, for notes shown to people.
GROUP_LABELS: dict[str, str] = {
    "utilization": "GPU/memory utilisation", "memory": "VRAM used/total",
    "temperature": "temperature", "power": "power draw", "power_limit": "power limit",
    "energy": "total energy counter", "sm_clock": "SM clock", "memory_clock": "memory clock",
    "fan": "fan speed", "pstate": "performance state",
    "throttle": "clock-event (throttle) reasons", "pcie": "PCIe throughput",
}

ProcessKind = Literal["compute", "graphics", "compute+graphics"]


@dataclass(frozen=True, slots=True)
class GpuProcessUse:
    """A process holding memory on one GPU."""

    pid: int
    #: Process name (psutil); None when the process is gone, in another PID namespace, or
    #: hidden from this user.
    name: str | None
    #: Bytes it holds; None when the driver hides it (Windows WDDM, some containers).
    used_memory_bytes: int | None
    #: Which of the driver's lists it is on (a CUDA app that also draws is on both).
    kind: ProcessKind


@dataclass(frozen=True, slots=True)
class ProcessList:
    """The processes holding memory on one GPU, or why they cannot be listed."""

    device: GpuDevice
    #: Sorted by pid; None when the list could not be read at all.
    processes: tuple[GpuProcessUse, ...] | None
    #: Why the list is missing (``processes`` None) or partial (one of the two lists failed).
    unknown: Unknown | None = None

    def find(self, pid: int) -> GpuProcessUse | None:
        """The entry of ``pid``, or None when it holds nothing here (or the list is unknown)."""
        return next((p for p in self.processes or () if p.pid == pid), None)


@dataclass(frozen=True, slots=True)
class DisplayState:
    """Whether a GPU drives a display (so its memory and clocks are shared with the desktop)."""

    device: GpuDevice
    #: A monitor is attached to one of its connectors (NVML display mode; DRM connector status).
    connected: bool | None = None
    #: A display is initialised on it: the desktop draws on this GPU (NVML display active;
    #: DRM connector enabled).
    active: bool | None = None
    unknown: Mapping[str, Unknown] = field(default_factory=dict)

    @property
    def drives_display(self) -> bool | None:
        """The best answer to "is the desktop on this GPU": active if known, else connected."""
        return self.active if self.active is not None else self.connected


def fill_unknown(values: dict[str, Any], unknown: dict[str, Unknown], names: Iterable[str],
                 why: Unknown) -> None:
    """Give every name in ``names`` that has no value and no reason yet the reason ``why``."""
    for name in names:
        if values.get(name) is None and name not in unknown:
            unknown[name] = why


def fact_names() -> tuple[str, ...]:
    """The value fields of :class:`GpuFacts` (everything but ``device`` and ``unknown``)."""
    return tuple(f.name for f in fields(GpuFacts) if f.name not in ("device", "unknown"))


def normalise_bus_id(bus_id: str) -> str:
    """NVML's ``"00000000:01:00.0"`` and sysfs's ``"0000:01:00.0"`` -> ``"0000:01:00.0"``."""
    text = bus_id.strip().lower()
    domain, sep, rest = text.partition(":")
    if not sep or not rest:
        return text
    try:
        return f"{int(domain, 16):04x}:{rest}"
    except ValueError:
        return text


def normalise_uuid(uuid: str) -> str:
    """A GPU UUID without NVML's ``GPU-`` prefix (PyTorch leaves it out), lower case."""
    text = uuid.strip().lower()
    return text[4:] if text.startswith("gpu-") else text
