"""CPU probe: parsing real captured /proc and /sys trees, and the helpers it is built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.cpu import (
    _model_and_vendor,
    parse_cpu_list,
    parse_cpuinfo,
    parse_size,
    probe_cpu,
)

CPU_ONLY = Path(__file__).parent / "data" / "detect" / "cpu-only-vm-2026-11-22"


def test_cpu_only_vm_capture() -> None:
    cpu, warnings = probe_cpu(SysRoot(CPU_ONLY))
    assert cpu.model == "AMD EPYC"
    assert cpu.vendor == "AMD"
    assert cpu.architecture == "x86_64"
    assert (cpu.physical_cores, cpu.logical_cores) == (2, 2)
    assert cpu.l3_cache_bytes == 32 * 1024**2
    assert {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16"} <= set(cpu.flags)
    assert "amx_tile" not in cpu.flags
    assert cpu.fp32_flops_per_cycle == 64
    # The VM has no cpufreq: clocks unknown, said so, and the current MHz is not passed off
    # as a rated clock.
    assert cpu.base_clock_mhz is None and cpu.max_clock_mhz is None
    assert cpu.peak_fp32_gflops is None
    assert any("no cpufreq" in w and "2596 MHz" in w for w in warnings)
    assert cpu.sources["physical_cores"] == "sysfs cpu topology"
    assert cpu.sources["flags"] == "/proc/cpuinfo"
    assert "base_clock_mhz" not in cpu.sources


def test_cpu_without_sysfs_topology_uses_cpuinfo_ids(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    proc.joinpath("cpuinfo").write_text(
        (CPU_ONLY / "proc" / "cpuinfo").read_text(encoding="utf-8"), encoding="utf-8")
    cpu, _ = probe_cpu(SysRoot(tmp_path))
    assert cpu.logical_cores == 2
    assert cpu.physical_cores == 2  # physical id 0 / core id 0 and 1 in the capture
    assert cpu.sources["logical_cores"] == "/proc/cpuinfo"
    assert cpu.sources["physical_cores"] == "/proc/cpuinfo"
    assert cpu.l3_cache_bytes is None


def test_missing_cpuinfo_in_a_tree_is_a_warning(tmp_path: Path) -> None:
    cpu, warnings = probe_cpu(SysRoot(tmp_path))
    assert cpu.model is None
    assert warnings == ["CPU: /proc/cpuinfo not found; CPU facts unknown"]


def test_clock_sources(tmp_path: Path) -> None:
    base = tmp_path / "sys/devices/system/cpu"
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\n"
        "model name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\nflags\t: sse sse2 avx avx2 fma\n\n"
        "processor\t: 1\nvendor_id\t: GenuineIntel\n", encoding="utf-8")
    base.mkdir(parents=True)
    (base / "online").write_text("0-1\n", encoding="utf-8")
    for n in (0, 1):
        freq = base / f"cpu{n}/cpufreq"
        freq.mkdir(parents=True)
        (freq / "cpuinfo_max_freq").write_text(f"{3200000 + n * 100000}\n", encoding="utf-8")
    cpu, warnings = probe_cpu(SysRoot(tmp_path))
    assert cpu.vendor == "Intel"
    assert cpu.max_clock_mhz == 3300.0  # highest policy (hybrid parts differ per core)
    assert cpu.base_clock_mhz == 2000.0
    assert cpu.sources["base_clock_mhz"] == "/proc/cpuinfo model name"
    assert cpu.sources["max_clock_mhz"] == "sysfs cpufreq cpuinfo_max_freq"
    assert cpu.fp32_flops_per_cycle == 32
    assert not any("clock" in w for w in warnings)


def test_parse_cpuinfo_blocks() -> None:
    blocks = parse_cpuinfo((CPU_ONLY / "proc" / "cpuinfo").read_text(encoding="utf-8"))
    assert [b["processor"] for b in blocks] == ["0", "1"]
    assert blocks[0]["vendor_id"] == "AuthenticAMD"


@pytest.mark.parametrize(("text", "expected"), [
    ("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11]), ("0", [0]), ("", []), (None, []), ("x-1", []),
])
def test_parse_cpu_list(text: str | None, expected: list[int]) -> None:
    assert parse_cpu_list(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("32768K", 32 * 1024**2), ("1M", 1024**2), ("512", 512), ("48KiB", 48 * 1024), ("", None),
    ("big", None),
])
def test_parse_size(text: str, expected: int | None) -> None:
    assert parse_size(text) == expected


def test_arm_model_from_implementer_and_part() -> None:
    block = {"processor": "0", "Features": "fp asimd", "CPU implementer": "0x41",
             "CPU part": "0xd4f"}
    assert _model_and_vendor(block) == ("Arm Neoverse-V2", "Arm")
    unknown = {"CPU implementer": "0xc0", "CPU part": "0xfff"}
    assert _model_and_vendor(unknown) == ("Ampere CPU part 0xfff", "Ampere")
