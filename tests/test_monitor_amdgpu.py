"""The monitor's GPU provider over the amdgpu sysfs door, on a fixture tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rigready.gpu.amd_sysfs import AmdSysfs, parse_dpm
from rigready.monitor.providers.base import Provider, ProviderError, ProviderUnavailable
from rigready.monitor.providers.gpu import GpuProvider

FIXTURE = Path(__file__).parent / "data" / "monitor" / "amdgpu_sysfs"


def amd_provider(root: Path, first_index: int = 0) -> GpuProvider:
    return GpuProvider(AmdSysfs(drm=root), first_index=first_index)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "drm"
    shutil.copytree(FIXTURE, root)
    return root


def test_discovers_only_amdgpu_cards_and_reads_them() -> None:
    provider = amd_provider(root=FIXTURE, first_index=1)
    assert isinstance(provider, Provider)
    dgpu, apu = provider.read().gpus
    assert (dgpu.index, dgpu.name, dgpu.pci_bus_id) == (1, "AMD GPU (card0)", "0000:03:00.0")
    assert (dgpu.utilization_pct, dgpu.memory_utilization_pct) == (87.0, 23.0)
    assert (dgpu.memory_used_bytes, dgpu.memory_total_bytes) == (17179869184, 25753026560)
    assert dgpu.temperature_c == 61.0  # the "edge" sensor, m°C -> °C
    assert (dgpu.temp_slowdown_c, dgpu.temp_shutdown_c) == (100.0, 105.0)
    assert dgpu.power_w == pytest.approx(301.0)  # power1_average, µW -> W
    assert dgpu.power_limit_w == pytest.approx(327.0)
    assert (dgpu.sm_clock_mhz, dgpu.sm_clock_max_mhz) == (2304.0, 2526.0)
    assert (dgpu.memory_clock_mhz, dgpu.memory_clock_max_mhz) == (1249.0, 1249.0)
    assert dgpu.fan_pct == pytest.approx(40.0)  # pwm 102 of 255
    assert dgpu.energy_j is None and dgpu.throttle_reasons is None
    assert (apu.index, apu.name) == (2, "AMD Radeon 780M")
    assert apu.power_w == pytest.approx(9.0)  # only power1_input exists: not 0 W
    assert apu.memory_utilization_pct is None and apu.memory_clock_mhz is None
    assert any("GPU 2" in n and "mem_busy_percent" in n for n in provider.notes())
    assert provider.name == "amdgpu"


def test_values_are_read_fresh_each_tick_and_busy_is_clamped(tree: Path) -> None:
    provider = amd_provider(root=tree)
    (tree / "card0/device/gpu_busy_percent").write_text("130\n")
    (tree / "card0/device/pp_dpm_sclk").write_text("0: 500Mhz *\n1: 2304Mhz\n2: 2526Mhz\n")
    gpu = provider.read().gpus[0]
    assert gpu.utilization_pct == 100.0 and gpu.sm_clock_mhz == 500.0


def test_suspended_card_is_not_polled(tree: Path) -> None:
    provider = amd_provider(root=tree)
    (tree / "card0/device/power/runtime_status").write_text("suspended\n")
    (tree / "card0/device/gpu_busy_percent").unlink()  # would be a read error if touched
    gpu = provider.read().gpus[0]
    assert gpu.utilization_pct is None and gpu.temperature_c is None
    assert gpu.temp_slowdown_c == 100.0  # static facts remain
    assert any("runtime-suspended" in n for n in provider.notes())


def test_card_that_disappears_is_a_provider_error_then_rediscovered(tree: Path) -> None:
    provider = amd_provider(root=tree)
    backup = tree.parent / "card0"
    shutil.move(tree / "card0", backup)
    with pytest.raises(ProviderError, match="disappeared"):
        provider.read()
    assert [g.name for g in provider.read().gpus] == ["AMD Radeon 780M"]  # rediscovered
    shutil.move(backup, tree / "card0")


def test_garbage_content_is_none_with_a_note(tree: Path) -> None:
    (tree / "card0/device/mem_info_vram_used").write_text("n/a\n")
    provider = amd_provider(root=tree)
    assert provider.read().gpus[0].memory_used_bytes is None
    assert any("unexpected content" in n for n in provider.notes())


def test_no_card_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ProviderUnavailable):
        amd_provider(root=tmp_path)
    with pytest.raises(ProviderUnavailable):
        amd_provider(root=tmp_path / "missing")


def test_parse_dpm() -> None:
    assert parse_dpm("0: 500Mhz\n1: 800Mhz *\n2: 2100Mhz\n") == (800.0, 2100.0)
    assert parse_dpm("S: 19Mhz\n0: 96MHz *\n") == (96.0, 96.0)
    assert parse_dpm("garbage") == (None, None)
