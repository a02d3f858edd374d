"""Form factor: each clue read from a sysfs-shaped tree, weighed, and kept as evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigready.assess.detect import detect_rig
from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.formfactor import probe_form_factor
from rigready.assess.formfactor import cpu_clue, gpu_is_mobile, infer_form_factor
from rigready.assess.hardware import GpuInfo
from rigready.assess.profile import load_profile, profile_from_dict, profile_to_dict

DATA = Path(__file__).parent / "data"


def _tree(tmp: Path, files: dict[str, str]) -> SysRoot:
    for rel, text in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    return SysRoot(tmp)


BARE_METAL = {"proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu sse avx2"}


def test_notebook_chassis_battery_and_thunderbolt(tmp_path: Path) -> None:
    fs = _tree(tmp_path, {**BARE_METAL, "sys/class/dmi/id/chassis_type": "10",
                          "sys/class/power_supply/BAT0/type": "Battery",
                          "sys/class/power_supply/BAT0/scope": "System",
                          "sys/bus/thunderbolt/devices/domain0/uevent": ""})
    info, warnings = probe_form_factor(fs, "Intel(R) Core(TM) i7-1260P", ())
    assert info.kind == "laptop" and info.chassis_type == 10
    assert info.battery is True and info.thunderbolt is True and info.virtualization == "none"
    assert info.sources["chassis_type"] == "/sys/class/dmi/id/chassis_type"
    assert any("Notebook" in e for e in info.evidence) and not warnings


def test_a_mouse_battery_is_not_a_laptop(tmp_path: Path) -> None:
    fs = _tree(tmp_path, {**BARE_METAL, "sys/class/dmi/id/chassis_type": "3",
                          "sys/class/power_supply/hidpp_battery_0/type": "Battery",
                          "sys/class/power_supply/hidpp_battery_0/scope": "Device",
                          "sys/bus/thunderbolt/devices/.keep": ""})
    info, _ = probe_form_factor(fs, "AMD Ryzen 7 5700X 8-Core Processor", ())
    assert info.kind == "desktop" and info.battery is False and info.thunderbolt is False


@pytest.mark.parametrize(("files", "virt"), [
    ({"sys/class/dmi/id/sys_vendor": "QEMU"}, "qemu"),
    ({"sys/class/dmi/id/product_name": "VMware Virtual Platform"}, "vmware"),
    ({"sys/class/dmi/id/sys_vendor": "Amazon EC2",
      "sys/class/dmi/id/product_name": "p5.48xlarge"}, "amazon"),
    ({"sys/hypervisor/type": "xen"}, "xen"),
    ({"proc/cpuinfo": "flags\t\t: fpu avx2 hypervisor"}, "unknown hypervisor"),
])
def test_virtual_machines(tmp_path: Path, files: dict[str, str], virt: str) -> None:
    info, _ = probe_form_factor(_tree(tmp_path, files), "Intel(R) Xeon(R) Platinum 8480+", ())
    assert info.kind == "vm" and info.virtualization == virt


def test_bare_metal_cloud_instance_is_not_a_vm(tmp_path: Path) -> None:
    fs = _tree(tmp_path, {"sys/class/dmi/id/product_name": "p4d.metal",
                          "sys/class/dmi/id/sys_vendor": "Amazon EC2",
                          "sys/class/dmi/id/chassis_type": "23"})
    info, _ = probe_form_factor(fs, "Intel(R) Xeon(R) Platinum 8275CL", ())
    assert info.kind == "server" and info.virtualization == "none"


def test_wsl_hides_the_host(tmp_path: Path) -> None:
    fs = _tree(tmp_path, {"proc/sys/kernel/osrelease": "5.15.153.1-microsoft-standard-WSL2",
                          "proc/cpuinfo": "flags\t\t: avx2 hypervisor"})
    info, warnings = probe_form_factor(fs, None, ())
    assert info.kind == "unknown" and info.virtualization == "wsl" and warnings


def test_nothing_readable_is_unknown(tmp_path: Path) -> None:
    info, warnings = probe_form_factor(SysRoot(tmp_path), None, ())
    assert info.kind == "unknown" and warnings and "form_factor.kind" in warnings[0]


def test_turing_mobile_chip_is_a_laptop_though_nvml_calls_it_a_desktop_name() -> None:
    mobile = GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 2060", pci_device_id="10de:1f15")
    desktop = GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 2060", pci_device_id="10de:1f08")
    assert gpu_is_mobile(mobile) and not gpu_is_mobile(desktop)
    assert gpu_is_mobile(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060 Laptop GPU"))
    # a desktop chassis code loses to a soldered mobile GPU: the safe reading, stated
    info = infer_form_factor(chassis_type=3, gpus=(mobile,))
    assert info.kind == "laptop" and any("conflict" in e for e in info.evidence)


@pytest.mark.parametrize(("model", "kind"), [
    ("Intel(R) Core(TM) i7-10750H CPU @ 2.60GHz", "laptop"),
    ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", "laptop"),
    ("Intel(R) Core(TM) Ultra 7 155H", "laptop"),
    ("AMD Ryzen 9 7945HX with Radeon Graphics", "laptop"),
    ("AMD Ryzen AI 9 HX 370 w/ Radeon 890M", "laptop"),
    ("12th Gen Intel(R) Core(TM) i5-12400F", "desktop"),
    ("13th Gen Intel(R) Core(TM) i9-13900K", "desktop"),
    ("AMD Ryzen 7 7800X3D 8-Core Processor", "desktop"),
    ("AMD Ryzen 5 5600G with Radeon Graphics", "desktop"),
    ("AMD EPYC 7V13 64-Core Processor", "server"),
])
def test_cpu_model_suffix(model: str, kind: str) -> None:
    clue = cpu_clue(model)
    assert clue is not None and clue.kind == kind


def test_captured_h100_vm_is_a_vm() -> None:
    tree = DATA / "detect" / "h100-vm-2026-11-22"
    info = detect_rig(root=tree).form_factor
    assert info.kind == "vm" and info.sources["virtualization"].startswith("/proc/cpuinfo")


def test_version_1_profiles_still_load_with_an_inferred_form_factor(tmp_path: Path) -> None:
    v1 = DATA / "profiles" / "hobbyist" / "laptop-rtx3060-laptop-6gb-16gb-lpddr5.json"
    assert json.loads(v1.read_text(encoding="utf-8"))["version"] == 1
    profile = load_profile(v1)
    assert profile.form_factor.kind == "laptop"
    assert "version 1" in profile.form_factor.sources["kind"]
    # a saved profile keeps what the user says, even against the clues
    body = profile_to_dict(profile)
    assert body["version"] == 2
    body["form_factor"]["kind"] = "desktop"
    assert profile_from_dict(body).form_factor.kind == "desktop"


def test_the_report_shows_the_form_factor_score_and_plan_use() -> None:
    """A profile saved with 'unknown' showed 'unknown' in detect --profile while score and plan
    inferred 'desktop' from the CPU name: the report now shows what they use, and why."""
    from dataclasses import replace

    from rigready.assess.formfactor import form_factor_of
    from rigready.assess.hardware import FormFactorInfo
    from rigready.desktop.commands.detect import render_report

    profile = load_profile(DATA / "profiles" / "hobbyist" / "desktop-rtx3060-12gb-32gb-ddr4.json")
    unknown = replace(profile, form_factor=FormFactorInfo(kind="unknown"),
                      cpu=replace(profile.cpu, model="Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz"))
    assert form_factor_of(unknown).kind == "desktop"
    line = next(x for x in render_report(unknown).splitlines() if "Form factor" in x)
    assert "desktop" in line and "unknown" not in line
