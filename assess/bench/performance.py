"""Measured performance in the form the readiness score and the estimator use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the benchmark modules import numpy (~100 ms); scoring alone must not pay it
    from rigready.assess.bench.cpu_gemm import CpuGemmResult
    from rigready.assess.bench.gpu_gemm import GpuGemmResult
    from rigready.assess.bench.storage import StorageResult


@dataclass(frozen=True, slots=True)
class MeasuredPerformance:
    """What this machine measured (None = not measured), with where each figure came from."""

    gpu_bf16_tflops: float | None = None
    gpu_fp16_tflops: float | None = None
    gpu_fp32_tflops: float | None = None
    gpu_name: str | None = None
    cpu_fp32_gflops: float | None = None
    storage_seq_read_mb_s: float | None = None
    storage_rnd4k_q1t1_read_mb_s: float | None = None
    sources: tuple[str, ...] = ()

    @property
    def gpu_half_tflops(self) -> float | None:
        """The 16-bit training throughput: bf16, else fp16."""
        return self.gpu_bf16_tflops if self.gpu_bf16_tflops is not None else self.gpu_fp16_tflops


def measured_performance(
    results: Iterable[CpuGemmResult | GpuGemmResult | StorageResult],
) -> MeasuredPerformance:
    """Collect the figures the scorer and estimator use; the first result of each kind wins.

    Pass results newest first (as the store lists them). A GPU run that measured nothing
    (no PyTorch) and a degraded storage run (page cache not bypassed) are skipped, so a figure is
    either measured properly or None.
    """
    from rigready.assess.bench.cpu_gemm import CpuGemmResult
    from rigready.assess.bench.gpu_gemm import GpuGemmResult
    from rigready.assess.bench.storage import StorageResult

    gpu: GpuGemmResult | None = None
    cpu: CpuGemmResult | None = None
    disk: StorageResult | None = None
    for r in results:
        if isinstance(r, GpuGemmResult) and gpu is None and r.measurements:
            gpu = r
        elif isinstance(r, CpuGemmResult) and cpu is None and r.measurements:
            cpu = r
        elif isinstance(r, StorageResult) and disk is None and r.results and r.label is None:
            disk = r
    sources: list[str] = []

    def tflops(dtype: str) -> float | None:
        m = gpu.measurement(dtype) if gpu else None
        return None if m is None else m.tflops

    if gpu is not None:
        sources.append(f"GPU GEMM ({gpu.mode}) on {gpu.device_name}")
    cpu32 = cpu.measurement("fp32") if cpu else None
    if cpu32 is not None:
        sources.append("CPU GEMM fp32")
    seq = disk.find("SEQ1M Q8T1", "read") if disk else None
    rnd = disk.find("RND4K Q1T1", "read") if disk else None
    if disk is not None:
        sources.append(f"storage on {disk.folder}")
    return MeasuredPerformance(
        gpu_bf16_tflops=tflops("bf16"), gpu_fp16_tflops=tflops("fp16"),
        gpu_fp32_tflops=tflops("fp32"), gpu_name=gpu.device_name if gpu else None,
        cpu_fp32_gflops=cpu32.gflops if cpu32 else None,
        storage_seq_read_mb_s=seq.mb_s if seq else None,
        storage_rnd4k_q1t1_read_mb_s=rnd.mb_s if rnd else None,
        sources=tuple(sources),
    )
