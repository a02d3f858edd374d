"""GPU clock, temperature, power and throttle reasons read through NVML while a benchmark runs.

A small daemon thread reads the source every ``interval_s`` (each NVML read costs a few
microseconds, see ``measured-h200.md``), so a throttled card shows in the result: a falling SM
clock, a temperature near slowdown, power at the cap, and the clock-event reasons NVML gives
(named by :mod:`rigready.gpu.throttle`, the table the monitor uses too). NVML is read through the
process's one door (:func:`rigready.gpu.nvml.nvml_door`). The source sits behind
:class:`TelemetrySource` so tests drive the sampler with a fake.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rigready.assess.bench.gemm import Telemetry
from rigready.assess.bench.progress import Clock
from rigready.gpu.nvml import nvml_door
from rigready.gpu.throttle import decode_clock_events
from rigready.gpu.types import GpuDevice
from rigready.gpu.vendor import GpuDoor, find_device


@dataclass(frozen=True, slots=True)
class TelemetryReading:
    """One NVML read (None = that field could not be read)."""

    t: float
    sm_clock_mhz: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    reasons_mask: int | None = None


class TelemetrySource(Protocol):
    """Reads one GPU's state; the sampler stamps the time."""

    def read(self, t: float) -> TelemetryReading:
        """The GPU's state now, stamped ``t``."""
        ...

    def close(self) -> None:
        """Release the library handle."""
        ...


def decode_reasons(mask: int | None) -> tuple[str, ...]:
    """Names of the reason bits set in ``mask`` (:func:`rigready.gpu.throttle.decode_clock_events`;
    bits the table does not know come out as one ``unknown_0x...`` name)."""
    return decode_clock_events(mask) if mask else ()


def summarize_telemetry(
    readings: Sequence[TelemetryReading], t0: float, t1: float
) -> Telemetry | None:
    """Summary of the readings stamped within ``[t0, t1]``; None when there are none."""
    window = [r for r in readings if t0 <= r.t <= t1]
    if not window:
        return None
    clocks = [r.sm_clock_mhz for r in window if r.sm_clock_mhz is not None]
    temps = [r.temperature_c for r in window if r.temperature_c is not None]
    powers = [r.power_w for r in window if r.power_w is not None]
    seen: dict[str, None] = {}
    for r in window:
        for name in decode_reasons(r.reasons_mask):
            if name != "gpu_idle":
                seen[name] = None
    return Telemetry(
        samples=len(window),
        sm_clock_mhz_min=min(clocks) if clocks else None,
        sm_clock_mhz_median=statistics.median(clocks) if clocks else None,
        sm_clock_mhz_max=max(clocks) if clocks else None,
        temperature_c_max=max(temps) if temps else None,
        power_w_median=statistics.median(powers) if powers else None,
        power_w_max=max(powers) if powers else None,
        throttle_reasons=tuple(seen),
    )


class NvmlSource:
    """One GPU read through a door (the process's NVML door in the app)."""

    _GROUPS = ("sm_clock", "temperature", "power", "throttle")

    def __init__(self, door: GpuDoor, device: GpuDevice) -> None:
        self._door = door
        self._device = device

    def read(self, t: float) -> TelemetryReading:
        """The SM clock, temperature, power and clock-event reasons now (None: unreadable)."""
        r = self._door.sample(self._device, self._GROUPS)
        return TelemetryReading(t=t, sm_clock_mhz=r.sm_clock_mhz, temperature_c=r.temperature_c,
                                power_w=r.power_w, reasons_mask=r.throttle_mask)

    def close(self) -> None:
        """Nothing to release: the door stays open for the rest of the process."""


def open_nvml_source(
    uuid: str | None = None, pci_bus_id: str | None = None, index: int | None = None,
    door: GpuDoor | None = None,
) -> tuple[NvmlSource | None, str | None]:
    """An :class:`NvmlSource` for the GPU (by UUID, else PCI bus id, else index), or None and
    the reason it cannot be opened.

    Args:
        uuid: The GPU's UUID, with or without NVML's ``GPU-`` prefix.
        pci_bus_id: Its PCI address, NVML's or sysfs's form.
        index: Its NVML index.
        door: The door to read (the process's NVML door when None; tests pass a fake's).
    """
    door = door or nvml_door()
    why = door.status()
    if why is not None:
        return None, f"{why}: no clock, temperature or power readings"
    device = find_device(door, uuid=uuid, pci_bus_id=pci_bus_id, index=index)
    if device is None:
        return None, ("NVML could not find the benchmarked GPU: no clock, temperature or power "
                      "readings")
    return NvmlSource(door, device), None


class TelemetrySampler:
    """Reads a :class:`TelemetrySource` every ``interval_s`` on a daemon thread."""

    def __init__(
        self, source: TelemetrySource, interval_s: float = 0.1, clock: Clock = time.perf_counter
    ) -> None:
        self._source = source
        self._interval = interval_s
        self._clock = clock
        self._readings: list[TelemetryReading] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sampling (once)."""
        self._thread = threading.Thread(target=self._loop, name="rigready-gpu-telemetry",
                                        daemon=True)
        self._thread.start()

    def sample_now(self) -> TelemetryReading:
        """Take one reading on the caller's thread (tests and the edges of a window)."""
        reading = self._source.read(self._clock())
        with self._lock:
            self._readings.append(reading)
        return reading

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample_now()
            self._stop.wait(self._interval)

    def stop(self) -> None:
        """Stop the thread and release the source."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._source.close()

    def readings(self) -> list[TelemetryReading]:
        """A copy of every reading so far."""
        with self._lock:
            return list(self._readings)

    def summary(self, t0: float, t1: float) -> Telemetry | None:
        """Summary of the readings within ``[t0, t1]``."""
        return summarize_telemetry(self.readings(), t0, t1)

    def latest(self) -> TelemetryReading | None:
        """The newest reading, if any."""
        with self._lock:
            return self._readings[-1] if self._readings else None
