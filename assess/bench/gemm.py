"""What a GEMM benchmark measures, shared by the CPU and GPU runners.

A square product of n x n matrices costs ``2 * n**3`` floating-point operations (one multiply and
one add per term); throughput is that count divided by the time of one product. Each figure is the
median of several timed products (with the 20th and 80th percentiles), never a single run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Data types the GEMM benchmarks know, in the order results are shown.
GEMM_DTYPES: tuple[str, ...] = ("fp64", "fp32", "tf32", "fp16", "bf16", "int8")


@dataclass(frozen=True, slots=True)
class Telemetry:
    """GPU state read through NVML while one measurement ran (None = not readable)."""

    samples: int
    sm_clock_mhz_min: float | None = None
    sm_clock_mhz_median: float | None = None
    sm_clock_mhz_max: float | None = None
    temperature_c_max: float | None = None
    power_w_median: float | None = None
    power_w_max: float | None = None
    #: NVML clock-event reasons seen at least once (``sw_power_cap``, ``hw_thermal``, ...).
    throttle_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GemmMeasurement:
    """One data type at one size: median throughput of several timed products."""

    dtype: str
    n: int
    #: Median throughput in GFLOP/s (GOP/s for int8).
    gflops: float
    gflops_p20: float
    gflops_p80: float
    repeats: int
    median_seconds: float
    #: The theoretical (CPU) or catalog (GPU) dense peak it is compared with, GFLOP/s.
    peak_gflops: float | None = None
    fraction_of_peak: float | None = None
    telemetry: Telemetry | None = None

    @property
    def tflops(self) -> float:
        """The median in TFLOP/s."""
        return self.gflops / 1000.0


def gemm_flops(n: int) -> float:
    """Operations in one n x n by n x n product: ``2 * n**3``."""
    return 2.0 * float(n) ** 3


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between order statistics.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside [0, 1].
    """
    if not values:
        raise ValueError("quantile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within [0, 1], got {q}")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(
    dtype: str,
    n: int,
    seconds: Sequence[float],
    peak_gflops: float | None = None,
    telemetry: Telemetry | None = None,
) -> GemmMeasurement:
    """Turn per-product times (seconds) into a :class:`GemmMeasurement`.

    Raises:
        ValueError: no times, or a time that is not above zero.
    """
    if not seconds:
        raise ValueError("no timed products")
    if any(not s > 0 for s in seconds):
        raise ValueError("every product time must be above zero")
    flops = gemm_flops(n)
    rates = [flops / s / 1e9 for s in seconds]
    median_rate = quantile(rates, 0.5)
    fraction = None
    if peak_gflops is not None and peak_gflops > 0:
        fraction = median_rate / peak_gflops
    return GemmMeasurement(
        dtype=dtype,
        n=n,
        gflops=median_rate,
        gflops_p20=quantile(rates, 0.2),
        gflops_p80=quantile(rates, 0.8),
        repeats=len(seconds),
        median_seconds=quantile(list(seconds), 0.5),
        peak_gflops=peak_gflops,
        fraction_of_peak=fraction,
        telemetry=telemetry,
    )
