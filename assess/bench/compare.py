"""Measured versus expected: pure functions that turn benchmark results into verdicts.

GPU figures are compared with the catalog's dense peaks, CPU figures with the theoretical peak
from the ISA, and drives with the typical CrystalDiskMark figures of their kind. Thresholds come
from ``benchmarks.md`` A3 (GEMM: share of the dense peak a healthy card reaches) and B5 (drive
classes by sequential read and 4K random read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from rigready.assess.bench.gemm import GemmMeasurement
from rigready.assess.hardware import Disk
from rigready.gpu.throttle import LIMITING_REASONS

if TYPE_CHECKING:  # these import numpy (~100 ms); the readiness score uses this module without it
    from rigready.assess.bench.cpu_gemm import CpuGemmResult
    from rigready.assess.bench.gpu_gemm import GpuGemmResult
    from rigready.assess.bench.storage import StorageResult

Verdict = Literal["healthy", "below", "investigate", "unknown"]


class GpuPeaks(Protocol):
    """The catalog fields a GPU comparison reads (``rigready.catalog.schema.GpuEntry`` has them)."""

    @property
    def name(self) -> str:  # noqa: D102
        ...

    @property
    def vendor(self) -> str:  # noqa: D102
        ...

    @property
    def segment(self) -> str:  # noqa: D102
        ...

    @property
    def fp32_tflops(self) -> float:  # noqa: D102
        ...

    @property
    def tf32_tflops(self) -> float | None:  # noqa: D102
        ...

    @property
    def fp16_tflops(self) -> float | None:  # noqa: D102
        ...

    @property
    def bf16_tflops(self) -> float | None:  # noqa: D102
        ...

    @property
    def int8_tops(self) -> float | None:  # noqa: D102
        ...


@dataclass(frozen=True, slots=True)
class Comparison:
    """One measured figure against its expectation, with a sentence a person reads."""

    subject: str
    measured: float
    unit: str
    expected: float | None
    fraction: float | None
    verdict: Verdict
    sentence: str
    reasons: tuple[str, ...] = ()


def expected_gpu_tflops(entry: GpuPeaks) -> dict[str, float]:
    """The catalog's dense peak per GEMM dtype, TFLOP/s (TOPS for int8); absent = unknown."""
    found = {"fp32": entry.fp32_tflops, "tf32": entry.tf32_tflops, "fp16": entry.fp16_tflops,
             "bf16": entry.bf16_tflops, "int8": entry.int8_tops}
    return {k: float(v) for k, v in found.items() if v is not None and v > 0}


def healthy_fraction(dtype: str, vendor: str, segment: str) -> float:
    """Share of the dense peak a healthy card reaches (``benchmarks.md`` A3 goals)."""
    if vendor.lower() == "amd":
        return 0.45
    datacenter = segment.lower() in ("datacenter", "workstation")
    if dtype == "fp32":
        return 0.75 if datacenter else 0.55
    if dtype == "int8":
        return 0.60  # provisional: no credible public torch._int_mm figures (A3)
    return 0.75 if datacenter else 0.85


def _verdict(fraction: float, healthy: float) -> Verdict:
    if fraction >= healthy:
        return "healthy"
    return "investigate" if fraction < 0.5 * healthy else "below"


def compare_gemm(m: GemmMeasurement, gpu: GpuPeaks) -> Comparison:
    """One GPU measurement against the catalog entry of the card."""
    expected = expected_gpu_tflops(gpu).get(m.dtype)
    unit = "TOPS" if m.dtype == "int8" else "TFLOP/s"
    reasons: list[str] = []
    if m.telemetry is not None:
        limits = [r for r in m.telemetry.throttle_reasons if r in LIMITING_REASONS]
        if limits:
            reasons.append(f"NVML reported clock limits during the run: {', '.join(limits)}")
        if m.telemetry.sm_clock_mhz_median is not None:
            reasons.append(f"SM clock {m.telemetry.sm_clock_mhz_median:.0f} MHz (median)")
    if expected is None:
        return Comparison(f"{m.dtype} GEMM", m.tflops, unit, None, None, "unknown",
                          f"the catalog has no {m.dtype} figure for the {gpu.name}",
                          tuple(reasons))
    fraction = m.tflops / expected
    healthy = healthy_fraction(m.dtype, gpu.vendor, gpu.segment)
    verdict = _verdict(fraction, healthy)
    sentence = (f"your {gpu.name} reaches {fraction:.0%} of its expected {m.dtype} throughput "
                f"({m.tflops:,.1f} of {expected:,.1f} {unit})")
    reasons.append(f"a healthy {gpu.segment} card reaches {healthy:.0%} or more of the dense peak")
    if verdict == "investigate":
        reasons.append("likely causes: throttling, a power limit, laptop TGP, or the wrong "
                       "dtype path")
    return Comparison(f"{m.dtype} GEMM", m.tflops, unit, expected, fraction, verdict, sentence,
                      tuple(reasons))


def compare_gpu_result(result: GpuGemmResult, gpu: GpuPeaks | None) -> tuple[Comparison, ...]:
    """Every measured dtype against the card's catalog entry (empty without an entry)."""
    if gpu is None:
        return ()
    return tuple(compare_gemm(m, gpu) for m in result.measurements)


def compare_cpu(result: CpuGemmResult) -> tuple[Comparison, ...]:
    """CPU GEMM against the theoretical peak (60% or more is healthy, ``benchmarks.md`` A4)."""
    out: list[Comparison] = []
    for m in result.measurements:
        if m.peak_gflops is None or m.fraction_of_peak is None:
            if not out:
                out.append(Comparison(f"CPU {m.dtype} GEMM", m.gflops, "GFLOP/s", None, None,
                                      "unknown", "the CPU's theoretical peak is unknown, so "
                                      "the figures stand alone"))
            continue
        verdict = _verdict(m.fraction_of_peak, 0.6)
        out.append(Comparison(
            f"CPU {m.dtype} GEMM", m.gflops, "GFLOP/s", m.peak_gflops, m.fraction_of_peak,
            verdict,
            f"your CPU reaches {m.fraction_of_peak:.0%} of its theoretical {m.dtype} peak "
            f"({m.gflops:,.0f} of {m.peak_gflops:,.0f} GFLOP/s, BLAS: "
            f"{result.blas.name or 'unknown'}, {result.blas.threads or '?'} threads)",
            ("numpy reaches 60-90% of peak on desktops with large matrices; hybrid cores, "
             "laptop power limits and fewer BLAS threads push it lower",),
        ))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DriveClass:
    """A class of drive and the CrystalDiskMark figures typical of it (``benchmarks.md`` B5)."""

    key: str
    name: str
    rank: int
    seq_read_min_mb_s: float
    seq_read_typical: tuple[float, float]
    rnd4k_q1t1_typical: tuple[float, float]


DRIVE_CLASSES: tuple[DriveClass, ...] = (
    DriveClass("hdd", "hard disk (or USB drive)", 0, 0, (100, 280), (0.5, 2)),
    DriveClass("sata-ssd", "SATA SSD", 1, 400, (450, 560), (20, 50)),
    DriveClass("nvme-gen3", "NVMe Gen3 SSD", 2, 1500, (1500, 3500), (40, 70)),
    DriveClass("nvme-gen4", "NVMe Gen4 SSD", 3, 4500, (5000, 7450), (50, 100)),
    DriveClass("nvme-gen5", "NVMe Gen5 SSD", 4, 9000, (10000, 14900), (70, 110)),
)
_BY_KEY = {c.key: c for c in DRIVE_CLASSES}
#: Below this RND4K Q1T1 read (MB/s) a drive is HDD-class whatever its sequential speed.
HDD_RANDOM_MB_S = 10.0


def _a(name: str) -> str:
    """'a SATA SSD', 'an NVMe Gen3 SSD', 'a hard disk'."""
    return ("an " if name.startswith("NVMe") else "a ") + name


def classify_drive(seq1m_q8t1_read_mb_s: float, rnd4k_q1t1_read_mb_s: float | None = None
                   ) -> tuple[DriveClass, tuple[str, ...]]:
    """The class a drive behaves like, from SEQ1M Q8T1 read and RND4K Q1T1 read; with reasons."""
    by_seq = max((c for c in DRIVE_CLASSES if seq1m_q8t1_read_mb_s > c.seq_read_min_mb_s),
                 key=lambda c: c.rank, default=DRIVE_CLASSES[0])
    reasons = [f"SEQ1M Q8T1 read {seq1m_q8t1_read_mb_s:,.0f} MB/s is "
               f"{by_seq.name} territory (typical {by_seq.seq_read_typical[0]:,.0f}-"
               f"{by_seq.seq_read_typical[1]:,.0f} MB/s)"]
    if rnd4k_q1t1_read_mb_s is not None and rnd4k_q1t1_read_mb_s < HDD_RANDOM_MB_S \
            and by_seq.rank > 0:
        reasons.append(f"but RND4K Q1T1 read {rnd4k_q1t1_read_mb_s:.1f} MB/s is below "
                       f"{HDD_RANDOM_MB_S:.0f} MB/s, which is hard-disk class")
        return DRIVE_CLASSES[0], tuple(reasons)
    return by_seq, tuple(reasons)


def expected_drive_class(kind: str | None, pcie_gen: int | None) -> DriveClass | None:
    """The class a detected drive should reach (None for USB, virtual or unknown drives)."""
    if kind == "nvme":
        return _BY_KEY.get(f"nvme-gen{pcie_gen}", _BY_KEY["nvme-gen3"]) if pcie_gen else \
            _BY_KEY["nvme-gen3"]
    if kind in ("sata-ssd", "hdd"):
        return _BY_KEY[kind]
    return None


def disk_for_folder(folder: str, disks: Sequence[Disk]) -> Disk | None:
    """The detected disk whose mount point holds ``folder`` (the longest mount point wins)."""
    best: tuple[int, Disk] | None = None
    for disk in disks:
        for mp in disk.mount_points:
            root = mp.rstrip("/") or "/"
            inside = folder == root or folder.startswith(root + "/") or root == "/"
            if inside and (best is None or len(root) > best[0]):
                best = (len(root), disk)
    return best[1] if best else None


def compare_drive(result: StorageResult, disk: Disk | None) -> Comparison | None:
    """How the measured drive behaves next to what its kind should do; None without SEQ read."""
    seq = result.find("SEQ1M Q8T1", "read")
    if seq is None:
        return None
    rnd = result.find("RND4K Q1T1", "read")
    behaves, reasons_t = classify_drive(seq.mb_s, rnd.mb_s if rnd else None)
    reasons = list(reasons_t)
    if result.label:
        reasons.append(f"{result.label}: the page cache may inflate these numbers")
    expected = expected_drive_class(disk.kind, disk.pcie_gen) if disk else None
    what = f"this drive ({disk.model or disk.name})" if disk else "this drive"
    if expected is None:
        return Comparison("drive class", seq.mb_s, "MB/s", None, None, "unknown",
                          f"{what} behaves like {_a(behaves.name)}", tuple(reasons))
    fraction = seq.mb_s / expected.seq_read_typical[0]
    if behaves.rank < expected.rank:
        verdict: Verdict = "investigate" if expected.rank - behaves.rank >= 2 else "below"
        sentence = f"this drive behaves like {_a(behaves.name)}, not the {expected.name} it is"
        reasons.append("check the slot's PCIe link, a USB bridge, a full or hot drive, or "
                       "the filesystem (encryption, compression)")
    else:
        verdict = "healthy"
        sentence = f"this drive performs like the {expected.name} it is"
    return Comparison("drive class", seq.mb_s, "MB/s", expected.seq_read_typical[0], fraction,
                      verdict, sentence, tuple(reasons))


@dataclass(frozen=True, slots=True)
class Speedup:
    """How many times faster the GPU multiplies matrices than the CPU."""

    gpu_dtype: str
    gpu_gflops: float
    cpu_gflops: float
    factor: float
    fp32_factor: float | None
    sentence: str


def gpu_speedup(gpu: GpuGemmResult, cpu: CpuGemmResult) -> Speedup | None:
    """GPU's best 16-bit (else fp32) GEMM over the CPU's fp32; None when either is missing."""
    cpu32 = cpu.measurement("fp32")
    best = next((m for d in ("bf16", "fp16", "fp32") if (m := gpu.measurement(d))), None)
    if cpu32 is None or best is None or cpu32.gflops <= 0:
        return None
    gpu32 = gpu.measurement("fp32")
    factor = best.gflops / cpu32.gflops
    fp32_factor = gpu32.gflops / cpu32.gflops if gpu32 else None
    sentence = f"the GPU multiplies matrices {factor:,.0f}x faster than the CPU ({best.dtype} " \
               f"on the GPU vs fp32 on the CPU)"
    return Speedup(best.dtype, best.gflops, cpu32.gflops, factor, fp32_factor, sentence)
