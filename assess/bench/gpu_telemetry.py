"""GPU clock, temperature, power and throttle reasons read through NVML while a benchmark runs.

A small daemon thread reads the source every ``interval_s`` (each NVML read costs a few
microseconds, see ``measured-h200.md``), so a throttled card shows in the result: a falling SM
clock, a temperature near slowdown, power at the cap, and the clock-event reasons NVML gives.
The source sits behind :class:`TelemetrySource` so tests drive the sampler with a fake.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rigready.assess.bench.gemm import Telemetry
from rigready.assess.bench.progress import Clock

#: NVML clock-event ("throttle") reason bits (nvml.h ``nvmlClocksEventReason*``) and our names.
REASON_BITS: tuple[tuple[int, str], ...] = (
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal"),
    (0x40, "hw_thermal"),
    (0x80, "hw_power_brake"),
    (0x100, "display_clocks"),
)
#: Reasons that mean the card ran below the clock it could reach (power or heat).
THROTTLING_REASONS = frozenset({"sw_power_cap", "hw_slowdown", "sw_thermal", "hw_thermal",
                                "hw_power_brake"})


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
    """Names of the reason bits set in ``mask`` (unknown bits are ignored)."""
    if not mask:
        return ()
    return tuple(name for bit, name in REASON_BITS if mask & bit)


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
    """An NVML handle on one GPU, found by UUID, else PCI bus id, else index."""

    def __init__(self, handle: Any, nvml: Any) -> None:
        self._handle = handle
        self._nvml = nvml

    def read(self, t: float) -> TelemetryReading:
        """The SM clock, temperature, power and clock-event reasons now."""
        nvml, h = self._nvml, self._handle
        return TelemetryReading(
            t=t,
            sm_clock_mhz=_try(lambda: float(nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_SM))),
            temperature_c=_try(lambda: float(
                nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU))),
            power_w=_try(lambda: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0),
            reasons_mask=_try(lambda: int(_reasons_call(nvml)(h))),
        )

    def close(self) -> None:
        """Shut NVML down (reference-counted by the library)."""
        _try(self._nvml.nvmlShutdown)


def _reasons_call(nvml: Any) -> Any:
    return getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
        nvml.nvmlDeviceGetCurrentClocksThrottleReasons


def _try(call: Any) -> Any:
    try:
        return call()
    except Exception:  # noqa: BLE001 - an unsupported field reads as None
        return None


def open_nvml_source(
    uuid: str | None = None, pci_bus_id: str | None = None, index: int | None = None
) -> tuple[NvmlSource | None, str | None]:
    """An :class:`NvmlSource` for the GPU, or None and the reason it cannot be opened."""
    try:
        import pynvml as nvml
    except ImportError:
        return None, "nvidia-ml-py is not installed: no clock, temperature or power readings"
    try:
        nvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - no driver, or not NVIDIA
        return None, f"NVML unavailable ({exc}): no clock, temperature or power readings"
    attempts: list[Any] = []
    if uuid:
        for form in (uuid, uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"):
            attempts.append(lambda form=form: nvml.nvmlDeviceGetHandleByUUID(form))
    if pci_bus_id:
        attempts.append(lambda: nvml.nvmlDeviceGetHandleByPciBusId(pci_bus_id))
    if index is not None:
        attempts.append(lambda: nvml.nvmlDeviceGetHandleByIndex(index))
    for attempt in attempts:
        handle = _try(attempt)
        if handle is not None:
            return NvmlSource(handle, nvml), None
    _try(nvml.nvmlShutdown)
    return None, "NVML could not find the benchmarked GPU: no clock, temperature or power readings"


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
