"""Host provider: CPU %, RAM, swap and disk I/O rates through psutil.

CPU % is psutil's "since the previous call" figure, so the first reading has none (psutil would
report a meaningless 0.0): the provider primes psutil when it is made, and a reading less than
:data:`CPU_WINDOW_S` after the previous call (the sampler's first tick comes at once) has no CPU
figure either, rather than a 0 % over a few milliseconds. Disk rates are differences of the
cumulative counters divided by the time between two readings on the injected monotonic clock.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from rigready.monitor.providers.base import NoteLog, Reading
from rigready.monitor.sample import HostSample

#: The shortest span psutil's CPU % is meaningful over (psutil's docs ask for at least 0.1 s
#: between calls); a reading sooner has none, and the span keeps growing to the next one.
CPU_WINDOW_S = 0.1


class HostProvider:
    """Reads the host through psutil (or an object with the same functions, for tests)."""

    def __init__(
        self,
        *,
        psutil_module: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the provider.

        Args:
            psutil_module: Stand-in for :mod:`psutil` (tests); the real module when None.
            monotonic: Clock used for disk I/O rates.
        """
        if psutil_module is None:
            psutil_module = importlib.import_module("psutil")
        self._ps = psutil_module
        self._monotonic = monotonic
        self._notes = NoteLog("host")
        self._cpu_primed = False
        self._cpu_since = monotonic()
        self._last_disk: tuple[float, int, int] | None = None
        self._disk_ok = True
        self._prime_cpu()

    @property
    def name(self) -> str:
        """Provider name."""
        return "host"

    def notes(self) -> tuple[str, ...]:
        """Switched-off fields."""
        return self._notes.all()

    def close(self) -> None:
        """Nothing to release."""

    def _prime_cpu(self) -> None:
        try:
            self._ps.cpu_percent(interval=None)
            self._cpu_primed = True
            self._cpu_since = self._monotonic()
        except Exception as exc:  # noqa: BLE001 - psutil raises OSError subclasses and more
            self._notes.add(f"CPU %: unreadable ({exc})")

    def read(self) -> Reading:
        """CPU, memory, swap and disk rates now."""
        cpu: float | None = None
        now = self._monotonic()
        if self._cpu_primed and now - self._cpu_since >= CPU_WINDOW_S:
            cpu = self._safe("CPU %", lambda: float(self._ps.cpu_percent(interval=None)))
            self._cpu_since = now
        vm = self._safe("RAM", self._ps.virtual_memory)
        swap = self._safe("swap", self._ps.swap_memory)
        read_rate, write_rate = self._disk_rates()
        host = HostSample(
            cpu_pct=cpu,
            ram_used_bytes=None if vm is None else int(vm.total - vm.available),
            ram_total_bytes=None if vm is None else int(vm.total),
            swap_used_bytes=None if swap is None else int(swap.used),
            disk_read_bytes_s=read_rate,
            disk_write_bytes_s=write_rate,
        )
        return Reading(host=host)

    def _safe(self, what: str, func: Callable[[], Any]) -> Any:
        try:
            return func()
        except Exception as exc:  # noqa: BLE001 - one bad counter must not stop the others
            self._notes.add(f"{what}: unreadable ({exc})")
            return None

    def _disk_rates(self) -> tuple[float | None, float | None]:
        if not self._disk_ok:
            return None, None
        counters = self._safe("disk I/O", lambda: self._ps.disk_io_counters(perdisk=False))
        if counters is None:
            # No disks (some containers) or no /proc/diskstats: switch off for good.
            self._disk_ok = False
            self._notes.add("disk I/O: no counters on this system")
            return None, None
        now = self._monotonic()
        current = (now, int(counters.read_bytes), int(counters.write_bytes))
        previous, self._last_disk = self._last_disk, current
        if previous is None or now <= previous[0]:
            return None, None
        elapsed = now - previous[0]
        # Counters can wrap or reset (a disk removed); a negative delta is reported as unknown.
        read_delta = current[1] - previous[1]
        write_delta = current[2] - previous[2]
        return (
            read_delta / elapsed if read_delta >= 0 else None,
            write_delta / elapsed if write_delta >= 0 else None,
        )
