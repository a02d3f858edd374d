"""Physical disks from ``/sys/block``, with their kind, NVMe PCIe link, mount points and free space.

``queue/rotational`` alone is not trusted: USB bridges report 1 for flash drives, and virtual
disks report whatever the hypervisor says. The kind is decided in this order: USB on the device
path, NVMe, MMC, virtual bus or virtual model name, the udev ``ID_ATA_ROTATION_RATE_RPM``
(0 = SSD), and only then ``rotational``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.dmi import parse_udev_properties
from rigready.assess.detect.mounts import Mount, parse_mountinfo, shown_mount_point
from rigready.assess.detect.pci import pcie_link
from rigready.assess.hardware import Disk, DiskKind

#: Mount point -> (total bytes, bytes free to unprivileged users), or None when unreadable.
StatvfsFn = Callable[[str], tuple[int, int] | None]

_SKIP_PREFIXES = ("loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd", "zd", "drbd")
_VIRTUAL_MODELS = ("qemu", "vbox", "virtual", "vmware", "xen", "hyper-v", "google persistentdisk",
                   "amazon elastic block store", "ec2 nvme instance")
_NVME_NAME = re.compile(r"nvme(\d+)(?:c\d+)?n\d+")


def statvfs_free(mount_point: str) -> tuple[int, int] | None:
    """Total and available bytes of the filesystem at ``mount_point`` (live systems)."""
    try:
        st = os.statvfs(mount_point)
    except OSError:
        return None
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def classify_disk(
    name: str,
    device_path: str,
    rotational: int | None,
    model: str | None,
    udev: Mapping[str, str],
) -> tuple[DiskKind, str]:
    """The kind of a disk and the evidence that decided it (pure; see module doc for the order).

    Args:
        name: kernel name (``nvme0n1``, ``sda``, ``vda``, ``mmcblk0``).
        device_path: where ``/sys/block/<name>`` points (``/sys/devices/.../usb2/...``).
        rotational: ``queue/rotational`` (1, 0 or None).
        model: the model string, if any.
        udev: the disk's udev properties (may be empty).
    """
    path = device_path.lower()
    if "/usb" in path or udev.get("ID_BUS") == "usb":
        return "usb", "USB on the device path"
    if name.startswith("nvme"):
        return "nvme", "NVMe namespace"
    if name.startswith("mmcblk"):
        return "mmc", "MMC/SD device"
    if "/virtio" in path or "/vmbus" in path or "/xen" in path or name.startswith(("vd", "xvd")):
        return "virtual", "virtual bus (virtio/xen/vmbus)"
    if model and any(v in model.lower() for v in _VIRTUAL_MODELS):
        return "virtual", f"virtual disk model {model!r}"
    rpm = udev.get("ID_ATA_ROTATION_RATE_RPM", "")
    if rpm.isdigit():
        return ("hdd", f"udev rotation rate {rpm} rpm") if int(rpm) > 0 else (
            "sata-ssd", "udev rotation rate 0 (solid state)")
    if rotational == 0:
        return "sata-ssd", "sysfs queue/rotational=0"
    if rotational == 1:
        return "hdd", "sysfs queue/rotational=1"
    return "unknown", "no evidence"


def probe_storage(
    fs: SysRoot, statvfs: StatvfsFn | None = None
) -> tuple[tuple[Disk, ...], list[str]]:
    """Physical disks below ``fs``; ``statvfs`` defaults to :func:`statvfs_free` when live."""
    if not fs.exists("sys/block"):
        if fs.live:
            return _probe_portable()
        return (), ["Storage: /sys/block not found; disks unknown"]
    warnings: list[str] = []
    names = [n for n in fs.listdir("sys/block") if not n.startswith(_SKIP_PREFIXES)]
    names = [n for n in names if fs.text(f"sys/block/{n}/hidden") != "1"]
    names = [n for n in names if (fs.int(f"sys/block/{n}/size") or 0) > 0]
    mounts = _mounts_by_disk(fs, names)
    stat = statvfs if statvfs is not None else (statvfs_free if fs.live else None)
    disks = [_disk(fs, name, mounts.get(name, []), stat, warnings) for name in names]
    if not disks:
        warnings.append("Storage: no physical disks found in /sys/block")
    return tuple(disks), warnings


def _disk(fs: SysRoot, name: str, mounts: list[Mount], statvfs: StatvfsFn | None,
          warnings: list[str]) -> Disk:
    base = f"sys/block/{name}"
    sources: dict[str, str] = {}
    device_path = fs.resolve(base) or ""
    sectors = fs.int(f"{base}/size")
    total = sectors * 512 if sectors is not None else None
    if total is not None:
        sources["total_bytes"] = "sysfs"
    model = _model(fs, base)
    if model is not None:
        sources["model"] = "sysfs"
    udev = _udev_block(fs, base)
    kind, evidence = classify_disk(name, device_path, fs.int(f"{base}/queue/rotational"), model,
                                   udev)
    sources["kind"] = evidence
    if model is None:
        warnings.append(f"Storage {name}: no model reported ({kind} disk)")

    gen = width = None
    if kind == "nvme":
        gen, width = _nvme_link(fs, name, base)
        if gen is not None:
            sources["pcie_gen"] = sources["pcie_width"] = "sysfs nvme device link"

    shown = sorted({m.mount_point for m in mounts if shown_mount_point(m)},
                   key=lambda p: (p != "/", p))
    free: int | None = None
    if shown:
        sources["mount_points"] = "/proc/self/mountinfo"
        free = _free_space(mounts, statvfs, name, warnings)
        if free is not None:
            sources["free_bytes"] = "statvfs (mounted filesystems)"
    return Disk(name=name, model=model, total_bytes=total, kind=kind, pcie_gen=gen,
                pcie_width=width, mount_points=tuple(shown), free_bytes=free, sources=sources)


def _model(fs: SysRoot, base: str) -> str | None:
    model = fs.text(f"{base}/device/model") or fs.text(f"{base}/device/name")
    if not model:
        return None
    model = " ".join(model.split())
    vendor = " ".join((fs.text(f"{base}/device/vendor") or "").split())
    if vendor and not vendor.startswith("0x") and vendor.upper() != "ATA" \
            and not model.lower().startswith(vendor.lower()):
        model = f"{vendor} {model}"
    return model


def _udev_block(fs: SysRoot, base: str) -> dict[str, str]:
    dev = fs.text(f"{base}/dev")
    if not dev:
        return {}
    text = fs.text(f"run/udev/data/b{dev}")
    return parse_udev_properties(text) if text else {}


def _nvme_link(fs: SysRoot, name: str, base: str) -> tuple[int | None, int | None]:
    candidates = [f"{base}/device/device"]
    match = _NVME_NAME.fullmatch(name)
    if match:
        candidates.append(f"sys/class/nvme/nvme{match.group(1)}/device")
    for pci in candidates:
        gen_max, gen_now, width_max, width_now = pcie_link(fs, pci)
        if gen_max is not None or gen_now is not None:
            # The link a drive can use is what it negotiated; NVMe links do not idle down.
            return gen_now or gen_max, width_now or width_max
    return None, None


def _mounts_by_disk(fs: SysRoot, disks: list[str]) -> dict[str, list[Mount]]:
    text = fs.text("proc/self/mountinfo")
    if text is None:
        return {}
    wanted = set(disks)
    dm_names = {fs.text(f"sys/block/{d}/dm/name"): d for d in fs.listdir("sys/block")
                if d.startswith("dm-")}
    out: dict[str, list[Mount]] = {}
    for mount in parse_mountinfo(text):
        for disk in _disks_of(fs, mount, dm_names) & wanted:
            out.setdefault(disk, []).append(mount)
    return out


def _disks_of(fs: SysRoot, mount: Mount, dm_names: dict[str | None, str]) -> set[str]:
    """The whole disks a mounted filesystem lives on (through partitions, LVM, RAID, LUKS)."""
    start: str | None = None
    if not mount.major_minor.startswith("0:"):
        start = fs.resolve(f"sys/dev/block/{mount.major_minor}")
    if start is None and mount.source.startswith("/dev/"):
        dev = mount.source[5:]
        if dev.startswith("mapper/"):
            dev = dm_names.get(dev[7:], "")
        if dev:
            start = fs.resolve(f"sys/class/block/{os.path.basename(dev)}")
    return _leaf_disks(fs, start, depth=0) if start else set()


def _leaf_disks(fs: SysRoot, device_dir: str, depth: int) -> set[str]:
    if depth > 8:
        return set()
    name = os.path.basename(device_dir)
    if fs.exists(f"{device_dir}/partition"):
        return {os.path.basename(os.path.dirname(device_dir))}
    slaves = fs.listdir(f"{device_dir}/slaves")
    if not slaves:
        return {name}
    found: set[str] = set()
    for slave in slaves:
        target = fs.resolve(f"sys/class/block/{slave}")
        if target:
            found |= _leaf_disks(fs, target, depth + 1)
    return found


def _free_space(mounts: list[Mount], statvfs: StatvfsFn | None, disk: str,
                warnings: list[str]) -> int | None:
    if statvfs is None:
        return None
    seen: dict[str, int] = {}
    for mount in sorted(mounts, key=lambda m: (m.root != "/", len(m.mount_point))):
        key = mount.major_minor if not mount.major_minor.startswith("0:") else mount.source
        if key in seen or not shown_mount_point(mount):
            continue
        result = statvfs(mount.mount_point)
        if result is None:
            warnings.append(f"Storage {disk}: free space of {mount.mount_point} unreadable")
            continue
        seen[key] = result[1]
    return sum(seen.values()) if seen else None


def _probe_portable() -> tuple[tuple[Disk, ...], list[str]]:
    """Other systems: volumes from psutil (model and kind are not detected there yet)."""
    import psutil

    disks: list[Disk] = []
    for part in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        disks.append(Disk(name=part.device, total_bytes=int(usage.total),
                          mount_points=(part.mountpoint,), free_bytes=int(usage.free),
                          sources={"total_bytes": "psutil", "mount_points": "psutil",
                                   "free_bytes": "psutil"}))
    return tuple(disks), ["Storage: disk models and kinds are detected on Linux only; "
                          "volumes listed through psutil"]
