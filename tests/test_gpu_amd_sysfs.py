"""The amdgpu sysfs door through the GpuDoor protocol, on the fixture tree and built trees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rigready.gpu.amd_sysfs import AmdSysfs
from rigready.gpu.types import Unknown
from rigready.gpu.vendor import GpuDoor, find_device

FIXTURE = Path(__file__).parent / "data" / "monitor" / "amdgpu_sysfs"


@pytest.fixture
def drm(tmp_path: Path) -> Path:
    root = tmp_path / "drm"
    shutil.copytree(FIXTURE, root)
    return root


def test_facts_through_the_protocol() -> None:
    door: GpuDoor = AmdSysfs(drm=FIXTURE)
    assert isinstance(door, GpuDoor) and door.status() is None
    dgpu, apu = door.devices()  # card1 (vendor 0x10de) is skipped
    facts = door.facts(dgpu)
    assert (facts.name, facts.pci_bus_id, facts.pci_ids) == (
        "AMD GPU (card0)", "0000:03:00.0", (0x1002, 0x744C))
    assert facts.memory_total_bytes == 25753026560 and facts.power_limit_w == 327.0
    assert (facts.temp_slowdown_c, facts.temp_shutdown_c) == (100.0, 105.0)
    assert (facts.sm_clock_max_mhz, facts.memory_clock_max_mhz) == (2526.0, 1249.0)
    assert facts.unknown["uuid"] == Unknown("not_supported", "no sysfs file unique_id")
    assert facts.unknown["cuda_cores"].kind == "not_offered"
    small = door.facts(apu)
    assert small.name == "AMD Radeon 780M" and small.power_limit_w is None
    assert small.unknown["power_limit_w"].reason == "no power cap in hwmon (power1_cap)"
    assert find_device(door, pci_bus_id="0000:c4:00.0") == apu


def test_sample_processes_and_display() -> None:
    door = AmdSysfs(drm=FIXTURE)
    dgpu, apu = door.devices()
    reading = door.sample(dgpu)
    assert (reading.utilization_pct, reading.memory_used_bytes) == (87.0, 17179869184)
    assert reading.power_w == pytest.approx(301.0) and reading.fan_pct == pytest.approx(40.0)
    assert reading.unknown["throttle_reasons"].kind == "not_offered"
    apu_reading = door.sample(apu, ("utilization", "power"))
    assert apu_reading.power_w == pytest.approx(9.0)  # power1_input only: not 0 W
    assert apu_reading.unknown == {"memory_utilization_pct": Unknown(
        "not_supported", "no sysfs file mem_busy_percent")}
    found = door.processes(dgpu)
    assert found.processes is None and found.unknown is not None
    assert found.unknown.reason == "amdgpu sysfs lists no per-process memory"
    shown = door.display(dgpu)
    assert shown.connected is True and shown.active is None  # card0-DP-1: connected
    assert door.display(apu).drives_display is False  # no connector at all


def test_display_enabled_connector(drm: Path) -> None:
    (drm / "card0-DP-1" / "enabled").write_text("enabled\n")
    (drm / "card0-HDMI-A-1").mkdir()
    (drm / "card0-HDMI-A-1" / "status").write_text("disconnected\n")
    (drm / "card0-HDMI-A-1" / "enabled").write_text("disabled\n")
    door = AmdSysfs(drm=drm)
    shown = door.display(door.devices()[0])
    assert (shown.connected, shown.active, shown.drives_display) == (True, True, True)


def test_asleep_card_is_not_read_and_a_lost_card_is_fatal(drm: Path) -> None:
    door = AmdSysfs(drm=drm)
    dgpu = door.devices()[0]
    (drm / "card0/device/power/runtime_status").write_text("suspended\n")
    asleep = door.sample(dgpu, ("utilization",))
    assert asleep.utilization_pct is None and asleep.unknown["utilization_pct"].kind == "asleep"
    (drm / "card0/device/power/runtime_status").write_text("active\n")
    shutil.rmtree(drm / "card0")
    lost = door.sample(dgpu, ("utilization",)).unknown["utilization_pct"]
    assert lost.fatal and "card0 disappeared" in lost.reason
    door.reset()
    assert [d.key.endswith("card2") for d in door.devices()] == [True]


def test_no_card(tmp_path: Path) -> None:
    door = AmdSysfs(tmp_path)
    assert door.devices() == ()
    status = door.status()
    assert status is not None and status.kind == "no_device" and status.absent


def test_pci_function_without_the_driver(tmp_path: Path) -> None:
    pci = tmp_path / "sys/bus/pci/devices/0000:03:00.0"
    pci.mkdir(parents=True)
    (pci / "vendor").write_text("0x1002\n")
    (pci / "device").write_text("0x744c\n")
    door = AmdSysfs(tmp_path)
    facts = door.facts(door.device_at(pci))
    assert facts.pci_ids == (0x1002, 0x744C) and facts.pci_bus_id == "0000:03:00.0"
    assert facts.memory_total_bytes is None
    assert facts.unknown["memory_total_bytes"] == Unknown("driver_not_loaded",
                                                          "amdgpu driver not loaded")
    os.symlink(tmp_path / "sys/bus/pci/drivers/amdgpu", pci / "driver")
    (tmp_path / "sys/bus/pci/drivers/amdgpu").mkdir(parents=True)
    door.reset()
    assert door.facts(door.device_at(pci)).unknown["memory_total_bytes"] == Unknown(
        "not_supported", "amdgpu does not report mem_info_vram_total")
