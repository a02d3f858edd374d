"""Reading the form-factor clues below a root folder (``/`` live, a captured tree in tests).

What the clues mean and how they are weighed: :mod:`rigready.assess.formfactor`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rigready.assess.detect._fs import SysRoot
from rigready.assess.formfactor import infer_form_factor
from rigready.assess.hardware import FormFactorInfo, GpuInfo

#: DMI vendor/product prefixes of hypervisors (systemd src/basic/virt.c, dmi_vendor_table).
_DMI_VENDORS: tuple[tuple[str, str], ...] = (
    ("KVM", "kvm"), ("OpenStack", "kvm"), ("KubeVirt", "kvm"), ("Amazon EC2", "amazon"),
    ("QEMU", "qemu"), ("VMware", "vmware"), ("VMW", "vmware"), ("innotek GmbH", "oracle"),
    ("VirtualBox", "oracle"), ("Xen", "xen"), ("Bochs", "bochs"), ("Parallels", "parallels"),
    ("BHYVE", "bhyve"), ("Hyper-V", "microsoft"), ("Apple Virtualization", "apple"),
    ("Google Compute Engine", "google"),
)
_DMI_FILES = ("product_name", "sys_vendor", "board_vendor", "bios_vendor")


def _virtualization(fs: SysRoot, cpuinfo: str | None) -> tuple[str | None, str | None]:
    """(hypervisor or "none", source); (None, None) when nothing could be read."""
    release = fs.text("proc/sys/kernel/osrelease") or ""
    if "microsoft" in release.lower() or "wsl" in release.lower():
        return "wsl", "/proc/sys/kernel/osrelease"
    hyper = fs.text("sys/hypervisor/type")
    if hyper:
        caps = fs.text("proc/xen/capabilities") or ""
        if "control_d" not in caps:  # a Xen dom0 is the host, not a guest
            return hyper.lower(), "/sys/hypervisor/type"
    for name in _DMI_FILES:
        value = fs.text(f"sys/class/dmi/id/{name}")
        if value is None:
            continue
        if name == "product_name" and value.endswith(".metal"):
            return "none", "/sys/class/dmi/id/product_name (bare-metal cloud instance)"
        for prefix, hypervisor in _DMI_VENDORS:
            if value.startswith(prefix):
                return hypervisor, f"/sys/class/dmi/id/{name}"
        if name == "product_name" and value == "Virtual Machine":
            vendor = fs.text("sys/class/dmi/id/sys_vendor") or ""
            if vendor.startswith("Microsoft"):
                return "microsoft", "/sys/class/dmi/id/product_name"
    if cpuinfo is not None:
        flags = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
        if " hypervisor" in flags:
            return "unknown hypervisor", "/proc/cpuinfo (hypervisor flag)"
        if flags:  # x86 guests always show the flag; its absence means bare metal
            return "none", "/proc/cpuinfo (no hypervisor flag)"
    return None, None


def _battery(fs: SysRoot) -> bool | None:
    base = "sys/class/power_supply"
    if not fs.exists(base):
        return None
    for name in fs.listdir(base):
        if (fs.text(f"{base}/{name}/type") or "").lower() != "battery":
            continue
        if (fs.text(f"{base}/{name}/scope") or "").lower() == "device":
            continue  # a mouse or keyboard battery
        return True
    return False


def _thunderbolt(fs: SysRoot) -> bool | None:
    base = "sys/bus/thunderbolt/devices"
    if not fs.exists("sys/bus/thunderbolt"):
        return None
    return any(name.startswith("domain") for name in fs.listdir(base))


def probe_form_factor(fs: SysRoot, cpu_model: str | None,
                      gpus: Sequence[GpuInfo]) -> tuple[FormFactorInfo, list[str]]:
    """Read the clues below ``fs`` and weigh them (see the module docstring)."""
    sources: dict[str, str] = {}
    warnings: list[str] = []
    chassis = fs.int("sys/class/dmi/id/chassis_type")
    if chassis is not None:
        sources["chassis_type"] = "/sys/class/dmi/id/chassis_type"
    battery = _battery(fs)
    if battery is not None:
        sources["battery"] = "/sys/class/power_supply"
    virt, virt_source = _virtualization(fs, fs.raw("proc/cpuinfo"))
    if virt_source is not None:
        sources["virtualization"] = virt_source
    thunderbolt = _thunderbolt(fs)
    if thunderbolt is not None:
        sources["thunderbolt"] = "/sys/bus/thunderbolt/devices"
    info = infer_form_factor(chassis_type=chassis, battery=battery, virtualization=virt,
                             thunderbolt=thunderbolt, cpu_model=cpu_model, gpus=gpus,
                             sources=sources)
    if info.kind == "unknown":
        warnings.append("Form factor: could not tell desktop from laptop (no DMI chassis type, "
                        "battery or telling CPU/GPU); set form_factor.kind in a saved profile")
    return info, warnings
