"""Storage probe: the real VM capture, the rotational traps, and mount mapping through LVM."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.mounts import parse_mountinfo, shown_mount_point
from rigready.assess.detect.storage import StatvfsFn, classify_disk, probe_storage

CPU_ONLY = Path(__file__).parent / "data" / "detect" / "cpu-only-vm-2026-11-22"


def captured_statvfs(tree: Path) -> StatvfsFn:
    data: dict[str, list[int]] = json.loads((tree / "statvfs.json").read_text(encoding="utf-8"))

    def statvfs(point: str) -> tuple[int, int] | None:
        return (data[point][0], data[point][1]) if point in data else None

    return statvfs


def test_cpu_only_vm_capture() -> None:
    disks, warnings = probe_storage(SysRoot(CPU_ONLY), captured_statvfs(CPU_ONLY))
    assert [d.name for d in disks] == ["vda"]  # loop and zram devices skipped
    vda = disks[0]
    assert vda.kind == "virtual"
    assert vda.total_bytes == 536870912 * 512
    assert vda.mount_points == ("/",)
    stat = json.loads((CPU_ONLY / "statvfs.json").read_text(encoding="utf-8"))
    assert vda.free_bytes == stat["/"][1]
    assert vda.model is None
    assert warnings == ["Storage vda: no model reported (virtual disk)"]
    assert vda.sources["kind"] == "virtual bus (virtio/xen/vmbus)"


def test_captured_mountinfo_parses() -> None:
    mounts = parse_mountinfo((CPU_ONLY / "proc/self/mountinfo").read_text(encoding="utf-8"))
    root = next(m for m in mounts if m.mount_point == "/")
    assert (root.major_minor, root.fs_type, root.source) == ("254:0", "ext4", "/dev/vda")
    shown = {m.mount_point for m in mounts if shown_mount_point(m)}
    assert "/" in shown and "/proc" not in shown and "/sys/fs/cgroup" not in shown


def test_mountinfo_escapes() -> None:
    line = r"36 35 8:1 / /media/My\040Disk rw,relatime shared:1 - ext4 /dev/sdb1 rw"
    (mount,) = parse_mountinfo(line)
    assert mount.mount_point == "/media/My Disk"
    assert mount.source == "/dev/sdb1"


@pytest.mark.parametrize(
    ("name", "path", "rotational", "model", "udev", "kind"),
    [
        # USB bridges report rotational=1 for flash: the bus decides.
        ("sdb", "/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/"
         "6:0:0:0/block/sdb", 1, "Samsung Portable SSD T7", {}, "usb"),
        ("nvme0n1", "/sys/devices/pci0000:00/0000:00:01.2/0000:02:00.0/nvme/nvme0/nvme0n1",
         0, "Samsung SSD 980 PRO 2TB", {}, "nvme"),
        ("vda", "/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda", 1, None, {},
         "virtual"),
        ("sda", "/sys/devices/pci0000:00/0000:00:10.0/host2/target2:0:0/2:0:0:0/block/sda", 1,
         "QEMU HARDDISK", {}, "virtual"),
        # udev's ATA rotation rate beats a wrong rotational flag.
        ("sda", "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda",
         1, "CT1000MX500SSD1", {"ID_ATA_ROTATION_RATE_RPM": "0"}, "sata-ssd"),
        ("sdc", "/sys/devices/pci0000:00/0000:00:17.0/ata3/host2/target2:0:0/2:0:0:0/block/sdc",
         0, "WDC WD40EFRX", {"ID_ATA_ROTATION_RATE_RPM": "5400"}, "hdd"),
        ("sdd", "/sys/devices/pci0000:00/0000:00:17.0/ata4/block/sdd", 1, "ST2000DM008", {},
         "hdd"),
        ("mmcblk0", "/sys/devices/platform/mmc0/mmc_host/mmc0/mmc0:0001/block/mmcblk0", 0,
         "SD64G", {}, "mmc"),
        ("sde", "/sys/devices/platform/x/block/sde", None, None, {}, "unknown"),
    ],
)
def test_classify_disk(name: str, path: str, rotational: int | None, model: str | None,
                       udev: dict[str, str], kind: str) -> None:
    assert classify_disk(name, path, rotational, model, udev)[0] == kind


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def _link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


@pytest.fixture
def nvme_lvm_tree(tmp_path: Path) -> Path:
    """An NVMe disk whose second partition holds an LVM volume mounted at / and /home."""
    dev = tmp_path / "sys/devices/pci0000:00/0000:00:01.2/0000:02:00.0"
    _write(dev / "current_link_speed", "16.0 GT/s PCIe")
    _write(dev / "current_link_width", "4")
    _write(dev / "max_link_speed", "16.0 GT/s PCIe")
    _write(dev / "max_link_width", "4")
    ctrl = dev / "nvme/nvme0"
    _link(ctrl / "device", "../../../0000:02:00.0")
    disk = ctrl / "nvme0n1"
    _write(disk / "size", "3907029168")
    _write(disk / "dev", "259:0")
    _write(disk / "queue/rotational", "0")
    _link(disk / "device", "../../nvme0")
    _write(ctrl / "model", "Samsung SSD 990 PRO 2TB")
    for n, (minor, size) in enumerate([(1, 2097152), (2, 3904929792)], start=1):
        _write(disk / f"nvme0n1p{n}/partition", str(n))
        _write(disk / f"nvme0n1p{n}/dev", f"259:{minor}")
        _write(disk / f"nvme0n1p{n}/size", str(size))
    dm = tmp_path / "sys/devices/virtual/block/dm-0"
    _write(dm / "dev", "253:0")
    _write(dm / "dm/name", "vg-root")
    _write(dm / "size", "3904929792")
    _link(dm / "slaves/nvme0n1p2", "../../../../pci0000:00/0000:00:01.2/0000:02:00.0/nvme/"
          "nvme0/nvme0n1/nvme0n1p2")
    _link(tmp_path / "sys/block/nvme0n1", "../devices/pci0000:00/0000:00:01.2/0000:02:00.0/"
          "nvme/nvme0/nvme0n1")
    _link(tmp_path / "sys/block/dm-0", "../devices/virtual/block/dm-0")
    for name, target in (("nvme0n1p1", "nvme0n1/nvme0n1p1"), ("nvme0n1p2", "nvme0n1/nvme0n1p2"),
                         ("nvme0n1", "nvme0n1"), ("dm-0", None)):
        full = ("../../devices/virtual/block/dm-0" if target is None else
                f"../../devices/pci0000:00/0000:00:01.2/0000:02:00.0/nvme/nvme0/{target}")
        _link(tmp_path / f"sys/class/block/{name}", full)
    _link(tmp_path / "sys/dev/block/259:1", "../../devices/pci0000:00/0000:00:01.2/0000:02:00.0/"
          "nvme/nvme0/nvme0n1/nvme0n1p1")
    _link(tmp_path / "sys/dev/block/253:0", "../../devices/virtual/block/dm-0")
    _link(tmp_path / "sys/class/nvme/nvme0", "../../devices/pci0000:00/0000:00:01.2/"
          "0000:02:00.0/nvme/nvme0")
    _write(tmp_path / "proc/self/mountinfo", "\n".join([
        "26 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw",
        "27 26 253:0 /home /home rw,relatime shared:2 - ext4 /dev/mapper/vg-root rw",
        "28 26 259:1 / /boot/efi rw,relatime shared:3 - vfat /dev/nvme0n1p1 rw",
        "29 26 0:5 / /dev rw - devtmpfs udev rw",
        "30 26 253:0 /etc/hostname /etc/hostname rw - ext4 /dev/mapper/vg-root rw",
    ]))
    return tmp_path


def test_nvme_behind_lvm(nvme_lvm_tree: Path) -> None:
    free = {"/": (100, 40), "/home": (100, 40), "/boot/efi": (10, 7)}
    disks, warnings = probe_storage(SysRoot(nvme_lvm_tree), lambda p: free.get(p))
    (disk,) = disks  # dm-0 is not a physical disk
    assert disk.name == "nvme0n1"
    assert disk.kind == "nvme"
    assert disk.model == "Samsung SSD 990 PRO 2TB"
    assert (disk.pcie_gen, disk.pcie_width) == (4, 4)
    assert disk.mount_points == ("/", "/boot/efi", "/home")
    assert disk.free_bytes == 47  # the LVM filesystem once (/ and /home are the same) + EFI
    assert disk.total_bytes == 3907029168 * 512
    assert warnings == []


def test_unreadable_free_space_is_a_warning(nvme_lvm_tree: Path) -> None:
    disks, warnings = probe_storage(SysRoot(nvme_lvm_tree), lambda p: None)
    assert disks[0].free_bytes is None
    assert any("free space of / unreadable" in w for w in warnings)


def test_missing_sys_block_in_a_tree(tmp_path: Path) -> None:
    assert probe_storage(SysRoot(tmp_path)) == ((), ["Storage: /sys/block not found; disks "
                                                     "unknown"])
