"""Builders of small rig profiles for the scoring tests (fakes, not captures)."""

from __future__ import annotations

from pathlib import Path

from rigready.assess.hardware import (
    CpuInfo,
    Disk,
    DiskKind,
    GpuInfo,
    GpuVendor,
    MemoryInfo,
    RigProfile,
    SystemInfo,
)

GIB = 1024**3
MINI = Path(__file__).parent / "data" / "catalog" / "mini"


def gpu(name: str, vram_gib: float | None, vendor: GpuVendor = "nvidia", index: int = 0,
        power_w: float | None = None, integrated: bool = False) -> GpuInfo:
    """A detected GPU."""
    return GpuInfo(vendor=vendor, name=name, index=index, integrated=integrated,
                   vram_bytes=None if vram_gib is None else int(vram_gib * GIB),
                   power_limit_w=power_w)


def disk(kind: DiskKind, size_gb: float | None, free_gb: float | None = None,
         name: str = "d0") -> Disk:
    """A detected disk; sizes in decimal GB as sold."""
    return Disk(name=name, kind=kind,
                total_bytes=None if size_gb is None else int(size_gb * 1e9),
                free_bytes=None if free_gb is None else int(free_gb * 1e9))


def rig(
    gpus: tuple[GpuInfo, ...] = (),
    ram_gib: float | None = 32,
    cores: int | None = 8,
    clock_mhz: float | None = 4000,
    disks: tuple[Disk, ...] = (),
    soldered: bool | None = False,
) -> RigProfile:
    """A rig profile with the facts scoring reads; defaults describe a plain desktop."""
    if not disks:
        disks = (disk("nvme", 2000, 1000),)
    return RigProfile(
        cpu=CpuInfo(model="Test CPU", physical_cores=cores, logical_cores=None,
                    max_clock_mhz=clock_mhz, fp32_flops_per_cycle=32),
        memory=MemoryInfo(total_bytes=None if ram_gib is None else int(ram_gib * GIB),
                          soldered=soldered),
        storage=disks,
        gpus=gpus,
        system=SystemInfo(),
        origin="test",
    )
