from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from rigready.monitor.providers.host import HostProvider

GIB = 1024**3


class FakePsutil:
    """The psutil functions HostProvider calls, with counters the test moves."""

    def __init__(self) -> None:
        self.cpu = [0.0, 35.5, 50.0]
        self.read_bytes = 1_000_000
        self.write_bytes = 0
        self.disks: bool = True

    def cpu_percent(self, interval: Any = None) -> float:
        return self.cpu.pop(0)

    def virtual_memory(self) -> Any:
        return SimpleNamespace(total=32 * GIB, available=20 * GIB)

    def swap_memory(self) -> Any:
        return SimpleNamespace(used=GIB)

    def disk_io_counters(self, perdisk: bool = False) -> Any:
        if not self.disks:
            return None
        return SimpleNamespace(read_bytes=self.read_bytes, write_bytes=self.write_bytes)


class Clock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def test_the_first_cpu_figure_is_none_until_psutil_has_a_span_to_measure() -> None:
    """The sampler's first tick came milliseconds after the priming call: psutil answered a
    meaningless 0 %, shown as the first CPU sample (issue 23, item 9)."""
    ps, clock = FakePsutil(), Clock()
    ps.cpu = [0.0, 35.5]
    provider = HostProvider(psutil_module=ps, monotonic=clock)
    clock.now += 0.002
    first = provider.read().host
    assert first is not None and first.cpu_pct is None  # shown as a dash, not 0 %
    assert ps.cpu == [35.5]  # psutil not asked: its span keeps growing
    clock.now += 1.0
    second = provider.read().host
    assert second is not None and second.cpu_pct == 35.5


def test_rates_come_from_counter_differences() -> None:
    ps, clock = FakePsutil(), Clock()
    provider = HostProvider(psutil_module=ps, monotonic=clock)
    clock.now += 1.0  # the sampler's interval after the priming call
    first = provider.read().host
    assert first is not None
    assert first.cpu_pct == 35.5  # the priming call at start made this one meaningful
    assert (first.ram_used_bytes, first.ram_total_bytes, first.swap_used_bytes) == (
        12 * GIB, 32 * GIB, GIB)
    assert first.disk_read_bytes_s is None  # no previous counters yet
    ps.read_bytes += 4_000_000
    ps.write_bytes += 1_000_000
    clock.now += 2.0
    second = provider.read().host
    assert second is not None
    assert second.disk_read_bytes_s == 2_000_000.0 and second.disk_write_bytes_s == 500_000.0
    ps.read_bytes = 0  # counters reset (disk removed): unknown, not negative
    clock.now += 1.0
    third = provider.read().host
    assert third is not None and third.disk_read_bytes_s is None


def test_no_disk_counters_switches_disk_io_off() -> None:
    ps = FakePsutil()
    ps.disks = False
    clock = Clock()
    provider = HostProvider(psutil_module=ps, monotonic=clock)
    clock.now += 1.0
    host = provider.read().host
    assert host is not None and host.disk_read_bytes_s is None and host.cpu_pct == 35.5
    assert provider.notes() == ("disk I/O: no counters on this system",)


def test_broken_counter_is_none_and_noted_once() -> None:
    ps = FakePsutil()

    def boom() -> Any:
        raise OSError("no /proc/meminfo")

    ps.virtual_memory = boom  # type: ignore[method-assign]
    provider = HostProvider(psutil_module=ps, monotonic=Clock())
    provider.read()
    host = provider.read().host
    assert host is not None and host.ram_used_bytes is None and host.swap_used_bytes == GIB
    assert provider.notes() == ("RAM: unreadable (no /proc/meminfo)",)


def test_real_psutil_gives_plausible_values() -> None:
    import time

    provider = HostProvider()
    provider.read()
    time.sleep(0.15)  # psutil's CPU % needs a span of at least 0.1 s (the real clock)
    host = provider.read().host
    assert host is not None
    assert host.cpu_pct is not None and 0.0 <= host.cpu_pct <= 100.0
    assert host.ram_total_bytes is not None and host.ram_total_bytes > 0
    assert host.ram_used_bytes is not None
    assert 0 < host.ram_used_bytes <= host.ram_total_bytes
    assert provider.name == "host"


def test_default_providers_fake_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from rigready.monitor.providers import FAKE_PROVIDER_ENV, default_providers

    monkeypatch.setenv(FAKE_PROVIDER_ENV, "1")
    monkeypatch.setenv("RIGREADY_FAKE_GPUS", "2")
    providers, skipped = default_providers()
    assert [p.name for p in providers] == ["fake"]
    assert len(providers[0].read().gpus) == 2
    assert "test-only" in skipped[0]
