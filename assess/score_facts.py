"""The facts that scoring reads, taken from a rig profile, the catalog and optional measurements.

Each figure is ``None`` when unknown, and ``notes`` says where every known one came from
(detected, catalog, measured). Measured benchmark numbers win over catalog figures.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from assess.bench.compare import classify_drive
from assess.bench.performance import MeasuredPerformance
from assess.hardware import Disk, RigProfile
from assess.match import GpuMatch, match_gpus
from assess.units import GIB
from catalog import Catalog
from catalog.schema import DRIVE_KIND_ORDER, DriveKind

#: Sizes within this fraction below a requirement count as meeting it: drivers and firmware
#: reserve some memory (a 16 GB T4 reports 15 GiB), makers quote decimal gigabytes.
SIZE_TOLERANCE = 0.08
@dataclass(frozen=True, slots=True)
class DiskFacts:
    """One disk as scoring sees it: its speed class (None if unknown) and sizes in decimal GB."""

    name: str
    #: The detected kind (``nvme``, ``virtual``, ``usb``, ...).
    kind: str
    speed_class: DriveKind | None
    capacity_gb: float | None
    free_gb: float | None


@dataclass(frozen=True, slots=True)
class ScoreFacts:
    """What scoring needs to know about one PC."""

    gpu_count: int
    gpu_name: str | None
    vram_gib: float | None
    gpu_half_tflops: float | None
    gpu_speed_measured: bool
    cpu_name: str | None
    cpu_cores: int | None
    cpu_gflops: float | None
    ram_gib: float | None
    ram_soldered: bool | None
    disks: tuple[DiskFacts, ...]
    storage_read_mb_s: float | None
    matches: tuple[GpuMatch, ...]
    notes: tuple[str, ...]

    @property
    def has_gpu(self) -> bool:
        """Whether the PC has a discrete GPU."""
        return self.gpu_count > 0

    @property
    def storage_class(self) -> DriveKind | None:
        """The fastest speed class among the disks (None when no disk's class is known)."""
        known = [d.speed_class for d in self.disks if d.speed_class is not None]
        return max(known, key=DRIVE_KIND_ORDER.index) if known else None

    @property
    def free_gb(self) -> float | None:
        """Free space on the disk with the most of it (None when no free space is known)."""
        free = [d.free_gb for d in self.disks if d.free_gb is not None]
        return max(free) if free else None

    def capacity_at_least(self, kind: DriveKind) -> float | None:
        """Total size of the disks of class ``kind`` or faster; None if no disk's class is known."""
        if all(d.speed_class is None for d in self.disks):
            return None
        floor = DRIVE_KIND_ORDER.index(kind)
        return sum(d.capacity_gb or 0.0 for d in self.disks
                   if d.speed_class is not None and DRIVE_KIND_ORDER.index(d.speed_class) >= floor)


def meets(value: float, need: float) -> bool:
    """Whether a size meets a requirement, allowing :data:`SIZE_TOLERANCE`."""
    return value >= need * (1.0 - SIZE_TOLERANCE)


def class_for_speed(seq_read_mb_s: float, rnd4k_read_mb_s: float | None = None) -> DriveKind:
    """The speed class a measured drive behaves like (the benchmark's own classification)."""
    drive_class, _ = classify_drive(seq_read_mb_s, rnd4k_read_mb_s)
    if drive_class.key.startswith("nvme"):
        return "nvme"
    return "sata-ssd" if drive_class.key == "sata-ssd" else "hdd"


def typical_read_mb_s(catalog: Catalog, kind: DriveKind) -> float | None:
    """The median sequential read of the catalog's drives of ``kind`` or any slower class.

    The running maximum over slower classes keeps the figure from dropping as a class rises.
    """
    best: float | None = None
    for k in DRIVE_KIND_ORDER[: DRIVE_KIND_ORDER.index(kind) + 1]:
        speeds = [d.seq_read_mb_s for d in catalog.drives if d.kind == k]
        if speeds:
            median = statistics.median(speeds)
            best = median if best is None else max(best, median)
    return best


def _disk_class(disk: Disk) -> DriveKind | None:
    for kind in DRIVE_KIND_ORDER:
        if disk.kind == kind:
            return kind
    return None


def rig_facts(
    profile: RigProfile, catalog: Catalog, measured: MeasuredPerformance | None = None
) -> ScoreFacts:
    """Collect the scoring facts, with a note on where each came from."""
    m = measured or MeasuredPerformance()
    where = ", ".join(m.sources) or "benchmark"
    notes: list[str] = []
    matches = match_gpus(profile, catalog)
    discrete = [x for x in matches if not x.gpu.integrated]

    vram_values: list[float] = []
    for match in discrete:
        if match.gpu.vram_bytes:
            vram_values.append(match.gpu.vram_bytes / GIB)
        elif match.entry is not None:
            vram_values.append(match.entry.vram_gib)
            notes.append(f"{match.gpu.name}: VRAM not detected, the catalog's "
                         f"{match.entry.vram_gib:g} GiB is used")
    vram = max(vram_values) if vram_values else None
    best = max(discrete, key=lambda x: x.gpu.vram_bytes or 0).gpu.name if discrete else None

    speeds = [x.entry.half_tflops for x in discrete if x.entry is not None]
    half = max(speeds) if speeds else None
    speed_measured = False
    measured_half = m.gpu_half_tflops
    if discrete and measured_half is not None:
        catalog_text = f"catalog peak {half:g}" if half is not None else "no catalog figure"
        notes.append(f"GPU speed: measured {measured_half:g} TFLOPS 16-bit ({where}) used over "
                     f"the catalog ({catalog_text})")
        half, speed_measured = measured_half, True
    elif discrete and half is None:
        notes.append("GPU speed unknown: no catalog entry matched and no benchmark was run")
    elif half is not None:
        notes.append(f"GPU speed: catalog peak {half:g} TFLOPS 16-bit (dense, FP32 accumulate)")
    for match in discrete:
        if match.entry is None:
            notes.append(match.reason)

    cpu = profile.cpu
    gflops = cpu.peak_fp32_gflops
    if m.cpu_fp32_gflops is not None:
        notes.append(f"CPU speed: measured {m.cpu_fp32_gflops:,.0f} GFLOP/s FP32 ({where})")
        gflops = m.cpu_fp32_gflops
    elif gflops is not None:
        notes.append(f"CPU speed: theoretical peak {gflops:,.0f} GFLOP/s FP32 (cores x clock x "
                     "FLOPs per cycle)")
    else:
        notes.append("CPU speed unknown (cores, clock or instruction set not detected)")

    mem = profile.memory
    module_sizes = [mod.size_bytes for mod in mem.modules]
    installed = (sum(s for s in module_sizes if s) if module_sizes and all(module_sizes)
                 else None)
    totals = [v for v in (mem.total_bytes, installed) if v]
    ram = max(totals) / GIB if totals else None

    disks = []
    measured_class = (class_for_speed(m.storage_seq_read_mb_s, m.storage_rnd4k_q1t1_read_mb_s)
                      if m.storage_seq_read_mb_s is not None else None)
    for disk in profile.storage:
        speed_class = _disk_class(disk)
        if speed_class is None and measured_class is not None:
            speed_class = measured_class
            notes.append(f"{disk.name}: a {disk.kind} disk, classed as {measured_class} from the "
                         f"measured {m.storage_seq_read_mb_s:,.0f} MB/s")
        disks.append(DiskFacts(
            disk.name, disk.kind, speed_class,
            disk.total_bytes / 1e9 if disk.total_bytes is not None else None,
            disk.free_bytes / 1e9 if disk.free_bytes is not None else None))
    facts_disks = tuple(disks)
    read: float | None
    if m.storage_seq_read_mb_s is not None:
        read = m.storage_seq_read_mb_s
        notes.append(f"Storage speed: measured {read:,.0f} MB/s sequential read ({where})")
    else:
        known = [d.speed_class for d in facts_disks if d.speed_class is not None]
        fastest = max(known, key=DRIVE_KIND_ORDER.index) if known else None
        read = typical_read_mb_s(catalog, fastest) if fastest else None
        if read is not None and fastest is not None:
            notes.append(f"Storage speed: {read:,.0f} MB/s, the catalog's typical {fastest} "
                         "drive (not measured)")
        else:
            notes.append("Storage speed unknown (no disk of a known kind; run the storage "
                         "benchmark)")
    return ScoreFacts(
        gpu_count=len(discrete), gpu_name=best, vram_gib=vram, gpu_half_tflops=half,
        gpu_speed_measured=speed_measured, cpu_name=cpu.model, cpu_cores=cpu.physical_cores,
        cpu_gflops=gflops, ram_gib=ram, ram_soldered=mem.soldered, disks=facts_disks,
        storage_read_mb_s=read, matches=matches, notes=tuple(notes),
    )
