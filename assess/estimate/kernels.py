"""GPU kernel rates every family's speed model starts from: the calibration GPU's datasheet
figures and the matmul roofline measured on it.

The efficiencies come from a GEMM sweep over the shapes 124M-8B language models produce
(``tests/data/calibration/vision-speed/h200-2026-12-01.json``, ``gemm``); image models' convs
and Linears run through the same roofline (:mod:`rigready.assess.estimate.image.speed`), language
models' matmuls too (:mod:`rigready.assess.estimate.language.speed`). On another GPU the figures
are scaled by its datasheet (or measured) throughput and bandwidth.
"""

from __future__ import annotations

from rigready.assess.estimate.gpu import GpuTarget

#: Datasheet dense figures of the calibration GPU (NVIDIA H200 SXM: H100 SXM compute, 4.8 TB/s).
REF_TFLOPS = {"bf16": 989.0, "fp16": 989.0, "tf32": 494.5, "fp32": 67.0}
REF_BANDWIDTH_GB_S = 4800.0
#: Share of the datasheet peak that large, aligned matmuls reached in the sweep (median of the
#: shapes with every side >= 1024) and the per-matmul launch cost, fitted to the same sweep.
GEMM_EFFICIENCY = {"bf16": 0.74, "fp16": 0.76, "tf32": 0.64, "fp32": 0.74}
GEMM_LAUNCH_S = 9e-6
#: Measured rate of a matmul with a side that is not a multiple of 8, share of peak.
MISALIGNED_EFFICIENCY = 0.14
#: Copy bandwidth reached (4.2 of 4.8 TB/s measured).
BANDWIDTH_EFFICIENCY = 0.88


def gemm_seconds(m: int, k: int, n: int, dtype: str, peak_tflops: float,
                 bandwidth_gb_s: float, elem_bytes: int = 2) -> float:
    """One (m x k) @ (k x n) matmul: roofline plus launch cost."""
    eff = GEMM_EFFICIENCY.get(dtype, 0.6)
    if k % 8 or n % 8:
        eff = min(eff, MISALIGNED_EFFICIENCY)
    flops = 2.0 * m * k * n
    compute = flops / (eff * peak_tflops * 1e12)
    traffic = elem_bytes * (m * k + k * n + m * n) / (BANDWIDTH_EFFICIENCY * bandwidth_gb_s * 1e9)
    return max(compute, traffic) + GEMM_LAUNCH_S


def peak_tflops(gpu: GpuTarget, dtype: str) -> float | None:
    """The target's dense peak in ``dtype`` (measured if known, else the datasheet). TF32
    where the datasheet names none: half the bf16 rate on cards with bf16 tensor cores (Ampere
    and newer: an A100's 156 of 312, an H100's 495 of 989, an RTX 4090's 82.6 of 165), else
    the fp32 rate (older cards have no TF32)."""
    if dtype == "tf32" and not gpu.measured_tflops:
        if "tf32" in gpu.dense_tflops:
            return gpu.dense_tflops["tf32"]
        if "bf16" in gpu.dense_tflops:
            return gpu.dense_tflops["bf16"] / 2
        return gpu.dense_tflops.get("fp32")
    return gpu.peak_tflops(dtype)
