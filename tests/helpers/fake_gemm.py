"""Fakes for the GPU GEMM runner: a backend on a simulated clock, and a telemetry source."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TypeVar

from rigready.assess.bench.gpu_backends import GpuDevice, capability_reason
from rigready.assess.bench.gpu_telemetry import TelemetryReading


@dataclass
class FakeClock:
    """A clock that only moves when told (products advance it)."""

    t: float = 0.0

    def __call__(self) -> float:
        return self.t


@dataclass
class FakeBackend:
    """Products take ``2 n^3 / rate(t)`` simulated seconds; the clock advances by that much."""

    clock: FakeClock
    rates_tflops: dict[str, float]
    capability: tuple[int, int] = (8, 6)
    vram_bytes: int = 12 * 1024**3
    #: Multiplies every rate, as a function of the clock (throttling).
    slowdown: Callable[[float], float] = lambda t: 1.0
    prepared: list[tuple[str, int, int]] = field(default_factory=list)
    released: int = 0
    closed: bool = False
    _dtype: str = ""
    _n: int = 0

    def device(self) -> GpuDevice:
        return GpuDevice(name="NVIDIA GeForce RTX 3060", index=0, compute_capability=
                         f"{self.capability[0]}.{self.capability[1]}", vram_bytes=self.vram_bytes,
                         free_bytes=self.vram_bytes - 300 * 1024**2, uuid="GPU-fake-1",
                         library="fake 1.0")

    def unsupported_reason(self, dtype: str) -> str | None:
        return capability_reason(dtype, self.capability)

    def prepare(self, dtype: str, n: int, pairs: int) -> None:
        self.prepared.append((dtype, n, pairs))
        self._dtype, self._n = dtype, n

    def run_batch(self, count: int) -> list[float]:
        out = []
        for _ in range(count):
            rate = self.rates_tflops[self._dtype] * 1e12 * self.slowdown(self.clock.t)
            seconds = 2.0 * self._n**3 / rate
            self.clock.t += seconds
            out.append(seconds)
        return out

    def release(self) -> None:
        self.released += 1

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeTelemetry:
    """Readings that follow the clock: SM clock falls and temperature rises over time."""

    clock: FakeClock
    reasons_mask: int = 0
    closed: bool = False

    def read(self, t: float) -> TelemetryReading:
        now = self.clock.t
        return TelemetryReading(t=now, sm_clock_mhz=1800.0 - 5.0 * now, temperature_c=50.0 + now,
                                power_w=160.0, reasons_mask=self.reasons_mask)

    def close(self) -> None:
        self.closed = True


T = TypeVar("T")
P = TypeVar("P")


def drain(gen: Generator[P, None, T]) -> tuple[T, list[P]]:
    """Run a benchmark generator to its end: (its result, every progress it yielded)."""
    progress: list[P] = []
    while True:
        try:
            progress.append(next(gen))
        except StopIteration as stop:
            result: T = stop.value
            return result, progress
