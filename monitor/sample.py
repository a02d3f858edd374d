"""One reading of the machine: what the sampler stores, charts draw and alerts judge.

Every metric is ``None`` when the provider cannot read it (unsupported field, lost GPU), so a
chart shows a gap and an alert stays quiet rather than reacting to a made-up zero.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GpuProcess:
    """A process holding GPU memory."""

    pid: int
    name: str | None
    used_memory_bytes: int | None


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One GPU at one instant."""

    index: int
    name: str
    uuid: str | None = None
    utilization_pct: float | None = None
    memory_utilization_pct: float | None = None  # memory-controller busy time
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_c: float | None = None
    temp_slowdown_c: float | None = None
    temp_shutdown_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    energy_j: float | None = None  # since driver load (NVML total energy counter)
    sm_clock_mhz: float | None = None
    sm_clock_max_mhz: float | None = None
    memory_clock_mhz: float | None = None
    memory_clock_max_mhz: float | None = None
    fan_pct: float | None = None
    pstate: int | None = None
    #: Decoded throttle (clock-event) reasons that are active, e.g. ("sw_power_cap",
    #: "hw_thermal_slowdown"). Empty when none; None when unreadable.
    throttle_reasons: tuple[str, ...] | None = None
    processes: tuple[GpuProcess, ...] = ()
    #: PCI bus id as NVML reports it ("00000000:01:00.0"); a Prometheus label. Added by the
    #: monitor core, optional.
    pci_bus_id: str | None = None
    #: PCIe traffic (bytes/s) from an optional background reader; None unless enabled.
    pcie_tx_bytes_s: float | None = None
    pcie_rx_bytes_s: float | None = None

    @property
    def memory_used_pct(self) -> float | None:
        """VRAM used as a percentage of total, or None."""
        if self.memory_used_bytes is None or not self.memory_total_bytes:
            return None
        return 100.0 * self.memory_used_bytes / self.memory_total_bytes


@dataclass(frozen=True, slots=True)
class HostSample:
    """The host (CPU, RAM, swap, disk I/O) at one instant."""

    cpu_pct: float | None = None
    ram_used_bytes: int | None = None
    ram_total_bytes: int | None = None
    swap_used_bytes: int | None = None
    disk_read_bytes_s: float | None = None
    disk_write_bytes_s: float | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """Everything read at one tick: wall time (Unix seconds), host and each GPU."""

    time: float
    host: HostSample
    gpus: tuple[GpuSample, ...] = ()
