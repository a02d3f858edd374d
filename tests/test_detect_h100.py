"""Real-hardware proof: the profile and the captured tree of an NVIDIA H100 machine.

Captured 2026-11-22 on a cloud VM with one NVIDIA H100 80GB HBM3 (driver 580.159.04, CUDA 13.0,
nvidia-ml-py 13.610.43, Python 3.12.3, torch 2.11.0+cu130, Ubuntu 24.04.3, 16 vCPU Xeon with
AMX) by ``benchmarks/device_detect_capture.sh``. See tests/data/detect/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from rigready.assess.detect import detect_rig
from rigready.assess.hardware import RigProfile
from rigready.assess.profile import load_profile, profile_to_dict
from rigready.assess.units import GIB
from tests.helpers.fake_pynvml import replay_capture

DATA = Path(__file__).parent / "data"
TREE = DATA / "detect" / "h100-vm-2026-11-22"
PROFILE = DATA / "profiles" / "h100-2026-11-22.json"


def _from_tree() -> RigProfile:
    stat: dict[str, list[int]] = json.loads((TREE / "statvfs.json").read_text(encoding="utf-8"))
    return detect_rig(root=TREE, nvml=replay_capture(TREE / "nvml.json"),
                      statvfs=lambda p: (stat[p][0], stat[p][1]) if p in stat else None)


def test_h100_profile_loads_with_the_gpu_facts() -> None:
    profile = load_profile(PROFILE)
    (gpu,) = profile.gpus
    assert "H100" in gpu.name
    assert gpu.vram_bytes is not None and gpu.vram_bytes > 70 * GIB
    assert gpu.compute_capability == "9.0"
    assert gpu.vendor == "nvidia" and not gpu.integrated
    assert gpu.cuda_driver_version == "13.0" and gpu.driver_version == "580.159.04"
    assert (gpu.pcie_gen_max, gpu.pcie_width_max) == (5, 16)
    assert gpu.power_limit_w == 700.0
    assert gpu.cuda_cores == 16896 and gpu.memory_bus_width_bits == 5120
    assert (gpu.temp_slowdown_c, gpu.temp_shutdown_c) == (89, 95)
    assert profile.best_gpu == gpu
    # NVML answered every field rigready asks for on this card: no GPU warning.
    assert not any(w.startswith("GPU:") for w in profile.warnings)
    assert profile.system.torch_version == "2.11.0+cu130"
    assert profile.system.torch_cuda_available is None  # not imported by default


def test_torch_check_ran_on_the_h100() -> None:
    profile = load_profile(DATA / "profiles" / "h100-2026-11-22-torch-checked.json")
    assert profile.system.torch_cuda_available is True
    assert profile.system.sources["torch_cuda_available"] == (
        "torch.cuda.is_available() in a subprocess")


def test_captured_tree_parses_to_the_live_profile() -> None:
    live = profile_to_dict(load_profile(PROFILE))
    tree = profile_to_dict(_from_tree())
    assert tree["cpu"] == live["cpu"]
    assert tree["gpus"] == live["gpus"]
    assert tree["memory"]["total_bytes"] == live["memory"]["total_bytes"]
    for disk in (*tree["storage"], *live["storage"]):
        disk.pop("free_bytes")  # changed between the capture and the detect run
    assert tree["storage"] == live["storage"]


def test_h100_tree_details() -> None:
    profile = _from_tree()
    cpu = profile.cpu
    assert cpu.vendor == "Intel" and cpu.physical_cores == 16 and cpu.logical_cores == 16
    assert {"amx_tile", "amx_bf16", "amx_int8", "avx512_fp16"} <= set(cpu.flags)
    assert cpu.fp32_flops_per_cycle == 64
    assert cpu.l3_cache_bytes == 300 * 1024**2
    assert [(d.name, d.kind, d.mount_points) for d in profile.storage] == [
        ("vda", "virtual", ("/",)), ("vdb", "virtual", ("/usr/local/nvidia",))]
    assert profile.memory.total_bytes is not None and profile.memory.total_bytes > 120 * GIB
    assert profile.gpus[0].pci_bus_id == "0000:00:06.0"
    assert profile.system.os == "Ubuntu 24.04.3 LTS"


def test_both_committed_profiles_render_as_a_report() -> None:
    from rigready.desktop.commands.detect import render_report

    h100 = render_report(load_profile(PROFILE))
    assert "NVIDIA H100 80GB HBM3" in h100 and "79.6 GiB" in h100 and "9.0" in h100
    cpu_only = render_report(load_profile(DATA / "profiles" / "cpu-only-2026-11-22.json"))
    assert "none found (see warnings)" in cpu_only and "no NVIDIA driver found" in cpu_only
