"""Fake providers: a synthetic "training run" and a scripted sequence, for tests and demos.

:class:`FakeProvider` is what ``rigready monitor`` uses when the test-only environment variable
``RIGREADY_FAKE_PROVIDER=1`` is set, so the CLI, the store and the crash tests run on machines
without a GPU. Its values are smooth functions of the injected clock, never random, so a test can
predict them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator

from rigready.monitor.providers.base import Reading
from rigready.monitor.sample import GpuProcess, GpuSample, HostSample

GIB = 1024**3


class FakeProvider:
    """A pretend GPU box under a steady training load, driven by the clock it is given."""

    def __init__(
        self,
        *,
        gpus: int = 1,
        clock: Callable[[], float] = time.time,
        with_host: bool = True,
    ) -> None:
        """Create the fake.

        Args:
            gpus: How many GPUs to pretend.
            clock: Seconds; the values are functions of ``clock() - start``.
            with_host: Also return host readings.
        """
        self._gpus = gpus
        self._clock = clock
        self._start = clock()
        self._with_host = with_host
        self.reads = 0

    @property
    def name(self) -> str:
        """Provider name."""
        return "fake"

    def notes(self) -> tuple[str, ...]:
        """The fake supports every field except PCIe throughput."""
        return ("PCIe throughput: not simulated",)

    def close(self) -> None:
        """Nothing to release."""

    def read(self) -> Reading:
        """Values for ``clock() - start`` seconds into the pretend run."""
        self.reads += 1
        t = self._clock() - self._start
        gpus = tuple(self._gpu(i, t) for i in range(self._gpus))
        host = None
        if self._with_host:
            host = HostSample(cpu_pct=25.0 + 10.0 * math.sin(t / 7.0),
                              ram_used_bytes=12 * GIB, ram_total_bytes=32 * GIB,
                              swap_used_bytes=0, disk_read_bytes_s=50e6, disk_write_bytes_s=5e6)
        return Reading(host=host, gpus=gpus)

    @staticmethod
    def _gpu(index: int, t: float) -> GpuSample:
        warm = 1.0 - math.exp(-t / 60.0)
        power = 250.0 + 40.0 * math.sin(t / 5.0 + index)
        return GpuSample(
            index=index, name="Fake GPU 24GB", uuid=f"GPU-fake-{index:04d}",
            pci_bus_id=f"00000000:{index + 1:02x}:00.0",
            utilization_pct=round(90.0 + 8.0 * math.sin(t / 3.0 + index), 1),
            memory_utilization_pct=round(45.0 + 10.0 * math.sin(t / 4.0), 1),
            memory_used_bytes=int(18 * GIB), memory_total_bytes=24 * GIB,
            temperature_c=round(40.0 + 35.0 * warm, 1), temp_slowdown_c=90.0,
            temp_shutdown_c=95.0, power_w=round(power, 1), power_limit_w=350.0,
            energy_j=round(1000.0 + 250.0 * t, 3), sm_clock_mhz=1800.0, sm_clock_max_mhz=2100.0,
            memory_clock_mhz=9501.0, memory_clock_max_mhz=9501.0, fan_pct=round(30 + 40 * warm),
            pstate=0, throttle_reasons=(),
            processes=(GpuProcess(4242, "python3", int(17.5 * GIB)),),
        )


class ScriptedProvider:
    """Returns (or raises) the given items in order; repeats the last reading when exhausted."""

    def __init__(self, items: Iterable[Reading | BaseException], name: str = "scripted") -> None:
        """Create it from readings and exceptions (an exception item is raised by ``read``)."""
        self._items: Iterator[Reading | BaseException] = iter(items)
        self._name = name
        self._last = Reading()
        self.reads = 0
        self.closed = False

    @property
    def name(self) -> str:
        """Provider name."""
        return self._name

    def notes(self) -> tuple[str, ...]:
        """No notes."""
        return ()

    def close(self) -> None:
        """Remember that it was closed."""
        self.closed = True

    def read(self) -> Reading:
        """The next scripted item."""
        self.reads += 1
        item = next(self._items, self._last)
        if isinstance(item, BaseException):
            raise item
        self._last = item
        return item
