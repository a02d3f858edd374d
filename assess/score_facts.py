"""The facts that scoring reads, taken from a rig profile, the catalog and optional measurements.

Each figure is ``None`` when unknown, and ``notes`` says where every known one came from
(detected, catalog, measured). Measured benchmark numbers win over catalog figures.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from rigready.assess.bench.compare import classify_drive
from rigready.assess.bench.performance import MeasuredPerformance
from rigready.assess.formfactor import form_factor_of
from rigready.assess.hardware import Disk, RigProfile
from rigready.assess.match import GpuMatch, match_gpus
from rigready.assess.units import GIB
from rigready.catalog import Catalog
from rigready.catalog.schema import DRIVE_KIND_ORDER, DriveKind

#: RAM within this fraction below a requirement counts as meeting it: firmware and the kernel
#: reserve some (a 32 GB PC reports about 31 GiB). Never applied to GPU memory, where the
#: marketed size is used instead (see :func:`nominal_vram_gib`), and never to whether a model's
#: weights fit.
SIZE_TOLERANCE = 0.08
#: A reported GPU memory within this fraction below a marketed size is that size (an 80 GB H100
#: reports 79.6 GiB, a 24 GB card 23.6 GiB, a 16 GB T4 15.0 GiB with ECC on).
VRAM_ROUNDING = 0.07
#: Marketed GPU memory sizes, GiB, for cards the catalog does not know.
_CARD_SIZES = (2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 11.0, 12.0, 16.0, 20.0, 24.0, 32.0, 40.0, 48.0,
               64.0, 80.0, 94.0, 96.0, 128.0, 141.0, 192.0)


@dataclass(frozen=True, slots=True)
class GpuFacts:
    """One discrete GPU as scoring sees it."""

    name: str
    #: The card's marketed memory, GiB; None when unread or ambiguous.
    vram_gib: float | None
    half_tflops: float | None
    #: PCIe lanes the card runs on now (None: unknown).
    pcie_width: int | None
    pcie_gen: int | None
    #: Active NVLink links (0: PCIe only; None: not read).
    nvlink_links: int | None
    #: Why the VRAM is unknown (empty when known).
    vram_problem: str = ""


#: GPU memory a model split leaves unused on each extra GPU (CUDA context, duplicated buffers).
SPLIT_OVERHEAD_GIB = 1.0


def split_vram_gib(sizes: list[float]) -> float:
    """GPU memory a model split across GPUs of ``sizes`` (GiB each) can use: their sum less
    :data:`SPLIT_OVERHEAD_GIB` per extra GPU. Scoring (a PC's GPUs) and renting (a cloud offer's
    GPUs) pool memory this one way."""
    return sum(sizes) - SPLIT_OVERHEAD_GIB * (len(sizes) - 1)


def nominal_vram_gib(reported_gib: float, catalog_gib: float | None = None) -> float:
    """The marketed size of a card that reports ``reported_gib`` (see :data:`VRAM_ROUNDING`)."""
    if catalog_gib is not None and catalog_gib * (1 - VRAM_ROUNDING) <= reported_gib \
            <= catalog_gib * 1.02:
        return catalog_gib
    for size in _CARD_SIZES:
        if size * (1 - VRAM_ROUNDING) <= reported_gib <= size:
            return size
    return reported_gib
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
    #: The best GPU's marketed memory, GiB (None: unread or ambiguous).
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
    gpus: tuple[GpuFacts, ...] = ()
    #: desktop / laptop / server / vm / unknown (from the profile's form factor).
    form_factor: str = "unknown"
    thunderbolt: bool | None = None
    #: Why the best GPU's VRAM is unknown and how to learn it (empty when known).
    vram_problem: str = ""

    @property
    def interconnect(self) -> str | None:
        """``nvlink`` when every GPU has active NVLink links, ``pcie`` when any has none."""
        links = [g.nvlink_links for g in self.gpus]
        if len(links) < 2 or any(n is None for n in links):
            return None
        return "nvlink" if all(n for n in links) else "pcie"

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

    gpu_facts = tuple(_gpu_facts(match) for match in discrete)
    for gf in gpu_facts:
        if gf.vram_problem:
            notes.append(f"{gf.name}: {gf.vram_problem}")
    best_facts = max(gpu_facts, key=lambda g: g.vram_gib or 0.0) if gpu_facts else None
    if best_facts is not None and any(g.vram_gib is None for g in gpu_facts):
        # an unread card could be the biggest: the best known one is not "the best"
        best_facts = next(g for g in gpu_facts if g.vram_gib is None)
    vram = best_facts.vram_gib if best_facts else None
    best = best_facts.name if best_facts else None

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
    form = form_factor_of(profile)
    return ScoreFacts(
        gpu_count=len(discrete), gpu_name=best, vram_gib=vram, gpu_half_tflops=half,
        gpu_speed_measured=speed_measured, cpu_name=cpu.model, cpu_cores=cpu.physical_cores,
        cpu_gflops=gflops, ram_gib=ram, ram_soldered=mem.soldered, disks=facts_disks,
        storage_read_mb_s=read, matches=matches, notes=tuple(notes), gpus=gpu_facts,
        form_factor=form.kind, thunderbolt=form.thunderbolt,
        vram_problem=best_facts.vram_problem if best_facts else "",
    )


def _gpu_facts(match: GpuMatch) -> GpuFacts:
    gpu, entry = match.gpu, match.entry
    problem = ""
    vram: float | None
    if gpu.vram_bytes:
        vram = nominal_vram_gib(gpu.vram_bytes / GIB, entry.vram_gib if entry else None)
    elif match.ambiguous:
        vram = None
        listed = " and ".join(f"{v:g}" for v in sorted({c.vram_gib for c in match.candidates}))
        problem = (f"VRAM not detected, and the {card_stem(match.candidates[0].name)} exists "
                   f"with {listed} GiB: VRAM stays unknown. Read it with 'nvidia-smi "
                   "--query-gpu=memory.total --format=csv' (or the card's box) and fill in "
                   "vram_bytes in a saved profile")
    elif entry is None:
        vram = None
        problem = ("VRAM not detected and no catalog entry matches: read it with "
                   "'nvidia-smi --query-gpu=memory.total --format=csv' and fill in vram_bytes")
    else:
        vram = entry.vram_gib  # one catalog card fits the name: its memory
    return GpuFacts(name=gpu.name, vram_gib=vram, half_tflops=entry.half_tflops if entry else None,
                    pcie_width=gpu.pcie_width_current, pcie_gen=gpu.pcie_gen_current,
                    nvlink_links=gpu.nvlink_links, vram_problem=problem)


def card_stem(name: str) -> str:
    """A catalog name without its memory size (``NVIDIA GeForce RTX 3060 12 GB`` -> ``...3060``)."""
    return re.sub(r"\s+", " ", _SIZE_WORD.sub(" ", name)).strip()


_SIZE_WORD = re.compile(r"\b\d+\s*GB\b|\(|\)", re.IGNORECASE)
