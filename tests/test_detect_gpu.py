"""GPU probes: NVIDIA through the NVML door over a fake pynvml, AMD/Intel/NVIDIA from sysfs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rigready.assess.detect import detect_rig
from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.gpu_nvidia import format_cuda_version, probe_nvidia
from rigready.assess.detect.gpu_sysfs import probe_sysfs_gpus
from rigready.gpu.nvml import NvmlDoor
from rigready.gpu.types import Unknown
from rigready.gpu.vendor import VendorUnavailable
from tests.helpers.fake_pynvml import UNKNOWN, Fail, FakePynvml, door

CPU_ONLY = Path(__file__).parent / "data" / "detect" / "cpu-only-vm-2026-11-22"
NO_DRIVER = "no NVIDIA driver found (libnvidia-ml.so.1 not loadable)"


def h100(**overrides: Any) -> dict[str, Any]:
    dev: dict[str, Any] = {
        "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-0000", "pci": "00000000:1B:00.0",
        "mem": (0, 85520809984), "compute_capability": (9, 0), "limit_mw": 700000,
        "pcie_gen_max": 5, "pcie_gen_current": 5, "pcie_width_max": 16, "pcie_width_current": 16,
        "memory_bus_width": 5120, "num_cores": 16896, "max_clocks": {1: 1980},
        "thresholds": {1: 90, 0: 92},
    }
    dev.update(overrides)
    return dev


def nvml(*gpus: dict[str, Any], **kwargs: Any) -> NvmlDoor:
    kwargs.setdefault("driver", "580.159")
    return door(FakePynvml(list(gpus), **kwargs))


def test_nvml_facts() -> None:
    gpus, warnings = probe_nvidia(nvml(h100(), cuda=13000))
    (gpu,) = gpus
    assert gpu.vendor == "nvidia" and gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.pci_bus_id == "0000:1b:00.0"
    assert gpu.compute_capability == "9.0"
    assert gpu.power_limit_w == 700.0
    assert gpu.cuda_driver_version == "13.0" and gpu.driver_version == "580.159"
    assert gpu.cuda_cores == 16896 and gpu.memory_bus_width_bits == 5120
    assert (gpu.temp_slowdown_c, gpu.temp_shutdown_c) == (90, 92)
    assert gpu.nvlink_links == 0  # NVML: NVLink "Not Supported" = no NVLink, PCIe only
    assert not gpu.integrated
    assert set(gpu.sources.values()) == {"nvml"}
    assert warnings == []


def test_pci_device_id_and_nvlink_links() -> None:
    (gpu,), _ = probe_nvidia(nvml(h100(pci_device_id=0x233010DE, nvlink=4)))
    assert gpu.pci_device_id == "10de:2330" and gpu.nvlink_links == 4
    assert gpu.sources["pci_device_id"] == gpu.sources["nvlink_links"] == "nvml"


def test_unsupported_fields_are_none_with_one_warning_per_field() -> None:
    fake = nvml(h100(num_cores=Fail(), memory_bus_width=Fail()),
                h100(num_cores=Fail(), limit_mw=Fail(UNKNOWN)))
    gpus, warnings = probe_nvidia(fake)
    assert [g.cuda_cores for g in gpus] == [None, None]
    assert gpus[0].memory_bus_width_bits is None and gpus[1].memory_bus_width_bits == 5120
    assert gpus[1].power_limit_w is None and "power_limit_w" not in gpus[1].sources
    assert sorted(warnings) == sorted([
        "GPU: NVML could not report CUDA core count on GPU 0, 1 (Not Supported)",
        "GPU: NVML could not report memory bus width on GPU 0 (Not Supported)",
        "GPU: NVML could not report power limit on GPU 1 (Unknown Error)",
    ])


def test_driver_wide_failure_is_one_warning_without_gpu_numbers() -> None:
    _, warnings = probe_nvidia(nvml(h100(), h100(), driver=Fail(), cuda=Fail()))
    assert warnings == ["GPU: NVML could not report driver version (Not Supported)",
                        "GPU: NVML could not report CUDA driver version (Not Supported)"]


def test_unexpected_exception_is_one_missing_field() -> None:
    gpus, warnings = probe_nvidia(nvml(h100(uuid=RuntimeError("boom"))))
    assert gpus[0].uuid is None and gpus[0].vram_bytes == 85520809984
    assert warnings == ["GPU: NVML could not report UUID on GPU 0 (RuntimeError: boom)"]


def test_zero_means_not_applicable() -> None:
    gpus, warnings = probe_nvidia(nvml(h100(pcie_gen_current=0)))
    assert gpus[0].pcie_gen_current is None
    assert "pcie_gen_current" not in gpus[0].sources
    assert warnings == []


def test_older_binding_without_a_function_is_one_missing_field() -> None:
    fake = FakePynvml([h100()], missing={"nvmlDeviceGetMemoryBusWidth"})
    gpus, warnings = probe_nvidia(door(fake))
    assert gpus[0].memory_bus_width_bits is None
    assert warnings == ["GPU: NVML could not report memory bus width on GPU 0 "
                        "(nvmlDeviceGetMemoryBusWidth missing from this nvidia-ml-py)"]


def test_cuda_version_format() -> None:
    assert format_cuda_version(12040) == "12.4"
    assert format_cuda_version(13000) == "13.0"
    assert format_cuda_version(11080) == "11.8"


def test_no_driver_means_empty_list_and_the_reason() -> None:
    no_library = door(FakePynvml([h100()], init_error=12))  # NVML_ERROR_LIBRARY_NOT_FOUND
    profile = detect_rig(root=CPU_ONLY, nvml=no_library)
    assert profile.gpus == ()
    assert f"GPU: {NO_DRIVER}" in profile.warnings
    assert "GPU: no GPU found (no NVIDIA, AMD or Intel display device)" in profile.warnings


# --- sysfs -----------------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def _pci(root: Path, chain: list[str], files: dict[str, str]) -> Path:
    """A PCI function below ``chain`` bridges, linked from /sys/bus/pci/devices."""
    dev = root / "sys/devices/pci0000:00" / "/".join(chain)
    for name, value in files.items():
        _write(dev / name, value)
    link = root / "sys/bus/pci/devices" / chain[-1]
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(dev, link.parent), link)
    return dev


def _amd_dgpu(root: Path) -> None:
    # Root port, then the card's own switch (upstream + downstream port), then the GPU.
    _pci(root, ["0000:00:01.1"], {"class": "0x060400", "vendor": "0x1022",
                                  "current_link_speed": "16.0 GT/s PCIe",
                                  "max_link_speed": "16.0 GT/s PCIe",
                                  "current_link_width": "16", "max_link_width": "16"})
    gpu = _pci(root, ["0000:00:01.1", "0000:01:00.0", "0000:02:00.0", "0000:03:00.0"], {
        "class": "0x030000", "vendor": "0x1002", "device": "0x744c",
        "current_link_speed": "16.0 GT/s PCIe", "max_link_speed": "32.0 GT/s PCIe",
        "current_link_width": "16", "max_link_width": "16",
        "mem_info_vram_total": str(24 * 1024**3), "mem_info_gtt_total": str(31 * 1024**3),
        "hwmon/hwmon3/power1_cap": "327000000"})
    os.symlink("../../../../../../bus/pci/drivers/amdgpu", gpu / "driver")
    (root / "sys/bus/pci/drivers/amdgpu").mkdir(parents=True)
    _write(root / "usr/share/hwdata/pci.ids",
           "1002  Advanced Micro Devices, Inc. [AMD/ATI]\n"
           "\t744c  Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]\n"
           "\t\t1002 0e3b  Radeon RX 7900 XTX\n"
           "1022  Advanced Micro Devices, Inc. [AMD]")


def test_amd_discrete_card(tmp_path: Path) -> None:
    _amd_dgpu(tmp_path)
    gpus, warnings = probe_sysfs_gpus(SysRoot(tmp_path), set(), None)
    (gpu,) = gpus
    assert gpu.vendor == "amd"
    assert gpu.name == "AMD Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]"
    assert gpu.vram_bytes == 24 * 1024**3
    assert gpu.power_limit_w == 327.0
    # The GPU's own link is to the on-card switch (gen 5 capable); the slot is gen 4.
    assert (gpu.pcie_gen_max, gpu.pcie_width_max) == (4, 16)
    assert gpu.integrated is False
    assert warnings == []


def test_amd_apu_found_by_its_security_processor_sibling(tmp_path: Path) -> None:
    _pci(tmp_path, ["0000:00:08.1", "0000:c5:00.0"], {
        "class": "0x030000", "vendor": "0x1002", "device": "0x15bf",
        "mem_info_vram_total": str(512 * 1024**2), "mem_info_gtt_total": str(15 * 1024**3)})
    _pci(tmp_path, ["0000:00:08.1", "0000:c5:00.2"], {"class": "0x108000", "vendor": "0x1022"})
    gpus, _ = probe_sysfs_gpus(SysRoot(tmp_path), set(), None)
    (gpu,) = gpus
    assert gpu.integrated is True
    assert gpu.name == "AMD GPU [1002:15bf]"  # no pci.ids in this tree
    assert "15.0 GiB of shared system memory" in gpu.sources["vram_bytes"]


def test_amd_apu_found_through_kfd(tmp_path: Path) -> None:
    _pci(tmp_path, ["0000:00:08.1", "0000:c1:00.0"], {
        "class": "0x038000", "vendor": "0x1002", "device": "0x1586",
        "mem_info_vram_total": str(96 * 1024**3)})
    location = (0xC1 << 8) | 0
    _write(tmp_path / "sys/class/kfd/kfd/topology/nodes/1/properties",
           f"cpu_cores_count 16\nsimd_count 80\nlocation_id {location}\ndomain 0")
    gpus, _ = probe_sysfs_gpus(SysRoot(tmp_path), set(), None)
    assert gpus[0].integrated is True  # a 96 GiB carve-out, yet integrated
    assert gpus[0].sources["integrated"].startswith("kfd topology")


def test_intel_integrated_and_bmc_display_ignored(tmp_path: Path) -> None:
    _pci(tmp_path, ["0000:00:02.0"], {"class": "0x030000", "vendor": "0x8086",
                                       "device": "0xa780"})
    _pci(tmp_path, ["0000:00:1c.0", "0000:05:00.0"], {"class": "0x030000", "vendor": "0x1a03",
                                                       "device": "0x2000"})  # ASPEED BMC
    gpus, warnings = probe_sysfs_gpus(SysRoot(tmp_path), set(), None, first_index=2)
    (gpu,) = gpus
    assert (gpu.vendor, gpu.integrated, gpu.index) == ("intel", True, 2)
    assert gpu.name == "Intel GPU [8086:a780]"
    assert warnings == []


def test_nvidia_card_without_driver_is_listed_with_the_reason(tmp_path: Path) -> None:
    _pci(tmp_path, ["0000:00:01.0", "0000:01:00.0"], {"class": "0x030200", "vendor": "0x10de",
                                                       "device": "0x2330",
                                                       "max_link_speed": "32.0 GT/s PCIe",
                                                       "max_link_width": "16"})
    reason = NO_DRIVER
    profile = detect_rig(root=tmp_path, nvml=VendorUnavailable("nvml", Unknown(
        "library_not_found", reason)))
    (gpu,) = profile.gpus
    assert (gpu.vendor, gpu.name, gpu.vram_bytes) == ("nvidia", "NVIDIA GPU [10de:2330]", None)
    assert (gpu.pcie_gen_max, gpu.pcie_width_max) == (5, 16)
    assert any("0000:01:00.0 is on the PCI bus but NVML cannot read it: " + reason in w
               for w in profile.warnings)
    assert f"GPU: {reason}" not in profile.warnings  # said once, with the card


def test_nvml_gpus_are_not_listed_twice(tmp_path: Path) -> None:
    _pci(tmp_path, ["0000:00:01.0", "0000:1b:00.0"], {"class": "0x030200", "vendor": "0x10de",
                                                       "device": "0x2330"})
    profile = detect_rig(root=tmp_path, nvml=nvml(h100()))
    assert [g.name for g in profile.gpus] == ["NVIDIA H100 80GB HBM3"]
