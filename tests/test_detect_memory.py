"""Memory probe: /proc/meminfo from a real capture; DMI parsing of udev and dmidecode text.

The udev and dmidecode samples below are written by hand in the exact formats systemd's
``dmi_memory_id`` (udev database) and ``dmidecode -t 16,17`` print, because neither capture
machine (a VM and a cloud GPU host) exposes DMI memory tables.
"""

from __future__ import annotations

from pathlib import Path

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.dmi import (
    is_soldered,
    parse_dmi_size,
    parse_dmidecode,
    parse_udev_memory,
)
from rigready.assess.detect.memory import parse_meminfo, probe_memory
from rigready.assess.hardware import MemoryModule

CPU_ONLY = Path(__file__).parent / "data" / "detect" / "cpu-only-vm-2026-11-22"

UDEV_DESKTOP = """\
I:1234
E:MODALIAS=dmi:bvnAmericanMegatrendsInc.
E:MEMORY_ARRAY_LOCATION=System Board Or Motherboard
E:MEMORY_ARRAY_MAX_CAPACITY=137438953472
E:MEMORY_ARRAY_NUM_DEVICES=4
E:MEMORY_DEVICE_0_PRESENT=0
E:MEMORY_DEVICE_0_FORM_FACTOR=Unknown
E:MEMORY_DEVICE_0_LOCATOR=DIMM 0
E:MEMORY_DEVICE_0_TYPE=Unknown
E:MEMORY_DEVICE_1_TOTAL_WIDTH=64
E:MEMORY_DEVICE_1_SIZE=17179869184
E:MEMORY_DEVICE_1_FORM_FACTOR=DIMM
E:MEMORY_DEVICE_1_LOCATOR=DIMM 1
E:MEMORY_DEVICE_1_TYPE=DDR4
E:MEMORY_DEVICE_1_SPEED_MTS=3600
E:MEMORY_DEVICE_1_PART_NUMBER=F4-3600C16-16GVKC
E:MEMORY_DEVICE_1_CONFIGURED_SPEED_MTS=3200
E:MEMORY_DEVICE_2_PRESENT=0
E:MEMORY_DEVICE_2_LOCATOR=DIMM 2
E:MEMORY_DEVICE_3_SIZE=17179869184
E:MEMORY_DEVICE_3_FORM_FACTOR=DIMM
E:MEMORY_DEVICE_3_LOCATOR=DIMM 3
E:MEMORY_DEVICE_3_TYPE=DDR4
E:MEMORY_DEVICE_3_SPEED_MTS=3600
E:MEMORY_DEVICE_3_CONFIGURED_SPEED_MTS=3200
G:systemd
"""

UDEV_LAPTOP_OLD_SYSTEMD = """\
E:MEMORY_ARRAY_NUM_DEVICES=2
E:MEMORY_DEVICE_0_SIZE=8589934592
E:MEMORY_DEVICE_0_FORM_FACTOR=Row Of Chips
E:MEMORY_DEVICE_0_TYPE=<OUT OF SPEC>
E:MEMORY_DEVICE_0_SPEED_MTS=6400
E:MEMORY_DEVICE_1_SIZE=8589934592
E:MEMORY_DEVICE_1_FORM_FACTOR=Row Of Chips
E:MEMORY_DEVICE_1_TYPE=<OUT OF SPEC>
E:MEMORY_DEVICE_1_SPEED_MTS=6400
"""

DMIDECODE = """\
# dmidecode 3.5
Getting SMBIOS data from sysfs.
SMBIOS 3.5.0 present.

Handle 0x0011, DMI type 16, 23 bytes
Physical Memory Array
\tLocation: System Board Or Motherboard
\tUse: System Memory
\tError Correction Type: None
\tMaximum Capacity: 192 GB
\tError Information Handle: 0x0014
\tNumber Of Devices: 4

Handle 0x0018, DMI type 17, 92 bytes
Memory Device
\tArray Handle: 0x0011
\tSize: No Module Installed
\tForm Factor: DIMM
\tLocator: DIMM 0
\tType: Unknown

Handle 0x001A, DMI type 17, 92 bytes
Memory Device
\tArray Handle: 0x0011
\tSize: 32 GB
\tForm Factor: DIMM
\tLocator: DIMM 1
\tBank Locator: P0 CHANNEL A
\tType: DDR5
\tType Detail: Synchronous Unbuffered (Unregistered)
\tSpeed: 6000 MT/s
\tPart Number: CMK64GX5M2B6000C30
\tRank: 2
\tConfigured Memory Speed: 4800 MT/s

Handle 0x001C, DMI type 17, 92 bytes
Memory Device
\tArray Handle: 0x0011
\tSize: No Module Installed
\tLocator: DIMM 2

Handle 0x001E, DMI type 17, 92 bytes
Memory Device
\tArray Handle: 0x0011
\tSize: 32768 MB
\tForm Factor: DIMM
\tLocator: DIMM 3
\tType: DDR5
\tSpeed: 6000 MT/s
\tPart Number: Not Specified
\tConfigured Memory Speed: 4800 MT/s
"""


def _tree(tmp_path: Path, udev: str | None = None, dmi: bool = True) -> SysRoot:
    (tmp_path / "proc").mkdir()
    meminfo = (CPU_ONLY / "proc" / "meminfo").read_text(encoding="utf-8")
    (tmp_path / "proc" / "meminfo").write_text(meminfo, encoding="utf-8")
    if dmi:
        (tmp_path / "sys/class/dmi/id").mkdir(parents=True)
    if udev is not None:
        (tmp_path / "run/udev/data").mkdir(parents=True)
        (tmp_path / "run/udev/data/+dmi:id").write_text(udev, encoding="utf-8")
    return SysRoot(tmp_path)


def test_meminfo_of_the_cpu_only_capture() -> None:
    info = parse_meminfo((CPU_ONLY / "proc" / "meminfo").read_text(encoding="utf-8"))
    assert info["MemTotal"] == 24684084 * 1024
    assert 0 < info["MemAvailable"] <= info["MemTotal"]


def test_cpu_only_vm_has_no_dmi_and_says_so() -> None:
    memory, warnings = probe_memory(SysRoot(CPU_ONLY))
    assert memory.total_bytes == 24684084 * 1024
    assert memory.sources["total_bytes"] == "/proc/meminfo"
    assert memory.type is None and memory.slots_total is None and memory.soldered is None
    assert warnings == ["Memory type/speed/slots: this system exposes no DMI tables (usual in "
                        "virtual machines); add them to a saved profile"]


def test_udev_desktop_two_of_four_slots(tmp_path: Path) -> None:
    memory, warnings = probe_memory(_tree(tmp_path, UDEV_DESKTOP))
    assert memory.type == "DDR4"
    assert memory.speed_mts == 3200  # configured, not the rated 3600
    assert (memory.slots_used, memory.slots_total) == (2, 4)
    assert memory.max_capacity_bytes == 128 * 1024**3
    assert memory.soldered is False
    assert [m.locator for m in memory.modules] == ["DIMM 1", "DIMM 3"]
    assert memory.modules[0].part_number == "F4-3600C16-16GVKC"
    assert memory.sources["type"] == "udev dmi"
    assert warnings == []


def test_udev_out_of_spec_type_stays_unknown(tmp_path: Path) -> None:
    memory, warnings = probe_memory(_tree(tmp_path, UDEV_LAPTOP_OLD_SYSTEMD))
    assert memory.type is None
    assert memory.soldered is True  # "Row Of Chips"
    assert memory.speed_mts == 6400
    assert (memory.slots_used, memory.slots_total) == (2, 2)
    assert len(warnings) == 1 and "<OUT OF SPEC>" in warnings[0]
    assert "sudo dmidecode -t 17" in warnings[0]


def test_no_udev_data_without_root_gives_the_hint(tmp_path: Path) -> None:
    memory, warnings = probe_memory(_tree(tmp_path))
    assert memory.type is None
    assert warnings == ["Memory type/speed/slots: not exposed without root (no udev DMI memory "
                        "data); run 'sudo dmidecode -t 17' or add them to a saved profile"]


def test_dmidecode_used_when_udev_has_nothing(tmp_path: Path) -> None:
    memory, warnings = probe_memory(_tree(tmp_path), dmidecode=lambda: DMIDECODE)
    assert memory.type == "DDR5"
    assert memory.speed_mts == 4800
    assert (memory.slots_used, memory.slots_total) == (2, 4)
    assert memory.max_capacity_bytes == 192 * 1024**3
    assert [m.size_bytes for m in memory.modules] == [32 * 1024**3] * 2
    assert memory.modules[1].part_number is None  # "Not Specified"
    assert memory.soldered is False
    assert memory.sources["slots_total"] == "dmidecode"
    assert warnings == []


def test_dmidecode_failure_is_a_warning(tmp_path: Path) -> None:
    def broken() -> str | None:
        raise OSError("permission denied")

    memory, warnings = probe_memory(_tree(tmp_path), dmidecode=broken)
    assert memory.total_bytes is not None
    assert warnings[0] == "Memory: dmidecode failed (permission denied)"


def test_udev_parser_accepts_udevadm_output() -> None:
    text = "P: /devices/virtual/dmi/id\nE: MEMORY_DEVICE_0_SIZE=4294967296\n" \
           "E: MEMORY_DEVICE_0_TYPE=LPDDR5\nE: MEMORY_DEVICE_0_FORM_FACTOR=Row of chips\n"
    dmi = parse_udev_memory(text)
    assert dmi is not None and len(dmi.modules) == 1
    assert is_soldered(dmi.modules[0])
    assert parse_udev_memory("E:ID_VENDOR=foo\n") is None


def test_partly_soldered_memory(tmp_path: Path) -> None:
    udev = ("E:MEMORY_DEVICE_0_SIZE=8589934592\nE:MEMORY_DEVICE_0_FORM_FACTOR=Row Of Chips\n"
            "E:MEMORY_DEVICE_0_TYPE=DDR4\nE:MEMORY_DEVICE_1_SIZE=8589934592\n"
            "E:MEMORY_DEVICE_1_FORM_FACTOR=SODIMM\nE:MEMORY_DEVICE_1_TYPE=DDR4\n")
    memory, warnings = probe_memory(_tree(tmp_path, udev))
    assert memory.soldered is False  # one slot can still be upgraded
    assert "part of the memory is soldered" in warnings[-1]


def test_dmi_sizes_and_soldered_rule() -> None:
    assert parse_dmi_size("16 GB") == 16 * 1024**3
    assert parse_dmi_size("16384 MB") == 16 * 1024**3
    assert parse_dmi_size("2 TB") == 2 * 1024**4
    assert parse_dmi_size("No Module Installed") is None
    assert is_soldered(MemoryModule(type="LPDDR4", form_factor="Other"))
    assert not is_soldered(MemoryModule(type="DDR5", form_factor="SODIMM"))
    assert parse_dmidecode("no tables here") is None
