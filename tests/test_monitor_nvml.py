"""The monitor's GPU provider over the NVML door (a fake pynvml behind the real door)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from rigready.gpu.nvml import NvmlDoor
from rigready.monitor.providers.base import Provider, ProviderError, ProviderUnavailable
from rigready.monitor.providers.gpu import GpuProvider
from tests.helpers.fake_pynvml import (
    DRIVER_NOT_LOADED,
    GPU_IS_LOST,
    NOT_SUPPORTED,
    TIMEOUT,
    Fail,
    FakePynvml,
    door,
    h100_like,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(nvml: FakePynvml, process_name: Callable[[int], str | None] | None = None,
         **kwargs: Any) -> GpuProvider:
    names = process_name or (lambda pid: f"proc{pid}")
    return GpuProvider(NvmlDoor(module=nvml, process_name=names), **kwargs)


def test_reads_every_field_with_units_converted() -> None:
    provider = make(FakePynvml([h100_like()]))
    assert isinstance(provider, Provider)
    (gpu,) = provider.read().gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3"  # bytes from old bindings decoded
    assert (gpu.uuid, gpu.pci_bus_id) == ("GPU-1234", "00000000:19:00.0")
    assert (gpu.utilization_pct, gpu.memory_utilization_pct) == (97.0, 41.0)
    assert gpu.memory_used_bytes == 60 * 1024**3 and gpu.memory_total_bytes == 80 * 1024**3
    assert (gpu.temperature_c, gpu.temp_slowdown_c, gpu.temp_shutdown_c) == (64.0, 89.0, 92.0)
    assert gpu.power_w == pytest.approx(612.345)
    assert gpu.power_limit_w == pytest.approx(700.0)
    assert gpu.energy_j == pytest.approx(123_456.789)
    assert (gpu.sm_clock_mhz, gpu.sm_clock_max_mhz) == (1980.0, 1980.0)
    assert (gpu.memory_clock_mhz, gpu.memory_clock_max_mhz) == (2619.0, 2619.0)
    assert gpu.pstate == 0
    assert gpu.throttle_reasons == ("sw_power_cap",)
    assert gpu.fan_pct is None  # passively cooled: not supported
    assert [(p.pid, p.name, p.used_memory_bytes) for p in gpu.processes] == [
        (4242, "proc4242", 59 * 1024**3)]
    assert gpu.pcie_tx_bytes_s is None  # PCIe is off by default


def test_unsupported_field_is_probed_once_and_noted_once() -> None:
    nvml = FakePynvml([h100_like()])
    provider = make(nvml)
    power_after_probe = nvml.calls["nvmlDeviceGetPowerUsage"]
    for _ in range(5):
        provider.read()
    assert nvml.calls["nvmlDeviceGetFanSpeed"] == 1  # the probe only
    assert nvml.calls["nvmlDeviceGetPowerUsage"] == power_after_probe + 5
    assert provider.disabled_fields() == {0: ("fan",)}
    assert provider.name == "nvml"
    fan_notes = [n for n in provider.notes() if "fan" in n]
    assert fan_notes == ["fan speed: not supported on GPU 0 (NVIDIA H100 80GB HBM3)"]


def test_falls_back_to_older_functions() -> None:
    nvml = FakePynvml([h100_like()], missing={"nvmlDeviceGetTemperatureV",
                                              "nvmlDeviceGetCurrentClocksEventReasons"})
    provider = make(nvml)
    (gpu,) = provider.read().gpus
    assert gpu.temperature_c == 64.0
    assert gpu.throttle_reasons == ("sw_power_cap",)
    temp_calls = nvml.calls["nvmlDeviceGetTemperature"]
    provider.read()
    assert nvml.calls["nvmlDeviceGetTemperature"] == temp_calls + 1
    assert "nvmlDeviceGetTemperatureV" not in nvml.calls


def test_unknown_pstate_and_enforced_limit_fallback() -> None:
    provider = make(FakePynvml([h100_like(pstate=32, limit_mw=Fail())]))
    (gpu,) = provider.read().gpus
    assert gpu.pstate is None
    assert gpu.power_limit_w is None
    assert any("power limit" in n for n in provider.notes())


def test_field_that_stops_being_supported_is_switched_off() -> None:
    nvml = FakePynvml([h100_like()])
    provider = make(nvml)
    nvml.gpus[0]["power_mw"] = Fail(NOT_SUPPORTED)
    before = nvml.calls["nvmlDeviceGetPowerUsage"]
    assert provider.read().gpus[0].power_w is None
    provider.read()
    assert nvml.calls["nvmlDeviceGetPowerUsage"] == before + 1  # the failing tick, then off
    assert any("stopped working" in n for n in provider.notes())


def test_transient_error_gives_none_for_that_tick_only() -> None:
    nvml = FakePynvml([h100_like()])
    provider = make(nvml)
    nvml.gpus[0]["temp"] = Fail(TIMEOUT)
    assert provider.read().gpus[0].temperature_c is None
    nvml.gpus[0]["temp"] = 70
    assert provider.read().gpus[0].temperature_c == 70.0


def test_gpu_lost_raises_then_reinitialises() -> None:
    nvml = FakePynvml([h100_like()])
    provider = make(nvml)
    nvml.fail_all = GPU_IS_LOST
    with pytest.raises(ProviderError, match="GPU is lost"):
        provider.read()
    with pytest.raises(ProviderError):  # still lost: re-init fails too, nothing crashes
        provider.read()
    nvml.fail_all = None
    assert provider.read().gpus[0].utilization_pct == 97.0
    assert nvml.inits == 2 and nvml.shutdowns >= 1


def test_no_driver_is_unavailable() -> None:
    with pytest.raises(ProviderUnavailable):
        make(FakePynvml([h100_like()], init_error=DRIVER_NOT_LOADED))
    with pytest.raises(ProviderUnavailable, match="NVML found no NVIDIA GPU"):
        make(FakePynvml([]))


def test_processes_refresh_on_their_own_period_and_names_are_cached() -> None:
    clock = Clock()
    nvml = FakePynvml([h100_like(procs=[(10, 100), (11, None)], gprocs=[(10, 50)])])
    looked_up: list[int] = []

    def name(pid: int) -> str:
        looked_up.append(pid)
        return f"p{pid}"

    provider = make(nvml, monotonic=clock, process_interval_s=2.0, process_name=name)
    first = provider.read().gpus[0].processes
    assert [(p.pid, p.name, p.used_memory_bytes) for p in first] == [
        (10, "p10", 100), (11, "p11", None)]
    nvml.gpus[0]["procs"] = [(10, 300)]
    clock.now += 1.0
    assert provider.read().gpus[0].processes == first  # not yet refreshed
    clock.now += 1.5
    again = provider.read().gpus[0].processes
    assert [(p.pid, p.used_memory_bytes) for p in again] == [(10, 300)]
    assert looked_up == [10, 11]  # pid 10's name came from the cache


def test_pcie_thread_is_off_the_sampling_path() -> None:
    nvml = FakePynvml([h100_like()])
    provider = make(nvml, pcie=True, pcie_interval_s=0.01)
    try:
        deadline = time.monotonic() + 5
        gpu = provider.read().gpus[0]
        while gpu.pcie_tx_bytes_s is None and time.monotonic() < deadline:
            time.sleep(0.01)
            gpu = provider.read().gpus[0]
        assert (gpu.pcie_tx_bytes_s, gpu.pcie_rx_bytes_s) == (1000 * 1024.0, 2000 * 1024.0)
    finally:
        provider.close()
    # The door is the process's: closing one provider leaves NVML up for the others.
    assert nvml.shutdowns == 0


def test_two_gpus_keep_their_indexes() -> None:
    provider = make(FakePynvml([h100_like(), h100_like(uuid="GPU-2", temp=50)]))
    gpus = provider.read().gpus
    assert [(g.index, g.uuid, g.temperature_c) for g in gpus] == [
        (0, "GPU-1234", 64.0), (1, "GPU-2", 50.0)]


class SlowEnergy(FakePynvml):
    """The energy counter takes 3 ms per call on the fake timer; everything else is instant."""

    def __init__(self, timer: Clock, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.timer = timer

    def nvmlDeviceGetTotalEnergyConsumption(self, h: int) -> object:
        self.timer.now += 0.003
        return super().nvmlDeviceGetTotalEnergyConsumption(h)


def test_slow_field_is_read_on_the_slow_period_only() -> None:
    timer, clock = Clock(), Clock()
    nvml = SlowEnergy(timer, [h100_like()])
    provider = GpuProvider(door(nvml), monotonic=clock, timer=timer, slow_call_ms=1.0,
                           slow_interval_s=5.0)
    assert provider.slow_fields() == {0: {"energy": pytest.approx(3.0)}}
    assert any("total energy counter: slow" in n for n in provider.notes())
    calls = nvml.calls["nvmlDeviceGetTotalEnergyConsumption"]
    first = provider.read().gpus[0]
    nvml.gpus[0]["energy_mj"] = 200_000_000
    nvml.gpus[0]["power_mw"] = 650_000
    clock.now += 1.0
    second = provider.read().gpus[0]
    assert second.energy_j == first.energy_j  # reused between slow reads
    assert second.power_w == 650.0  # fast fields stay fresh
    clock.now += 4.5
    assert provider.read().gpus[0].energy_j == 200_000.0
    assert nvml.calls["nvmlDeviceGetTotalEnergyConsumption"] == calls + 2


def test_the_h200_reading_of_the_reference_session_comes_back_unchanged() -> None:
    """NVML's raw answers on the H200 of tests/data/monitor/h200-2026-11-22 (nvml_probe.json's
    reading, in NVML's units) go through the door and the provider to the same sample."""
    import dataclasses
    import json
    from pathlib import Path

    probe = Path(__file__).parent / "data" / "monitor" / "h200-2026-11-22" / "nvml_probe.json"
    want = json.loads(probe.read_text(encoding="utf-8"))["reading"][0]
    raw = h100_like(
        name=want["name"], uuid=want["uuid"], pci=want["pci_bus_id"],
        util=(0, 0), mem=(want["memory_used_bytes"], want["memory_total_bytes"]), temp=37,
        thresholds={1: 89, 0: 95}, power_mw=79_762, limit_mw=700_000, energy_mj=2_529_475,
        clocks={1: 345, 2: 3201}, max_clocks={1: 1980, 2: 3201}, pstate=0, reasons=0x1,
        procs=[], gprocs=[])
    (got,) = make(FakePynvml([raw])).read().gpus
    as_json = json.loads(json.dumps(dataclasses.asdict(got)))
    assert as_json == want
