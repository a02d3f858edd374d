"""Verdict helpers every family shares: a job fits a card when the least memory it needs
(:attr:`~rigready.assess.estimate.breakdown.MemoryBreakdown.needs_free_bytes`) is at most the
memory available for it (:attr:`~rigready.assess.estimate.gpu.GpuTarget.job_bytes`); "fits" only
with the estimate's measured error band to spare, "tight" inside it; and the search for the
largest size that still fits.
"""

from __future__ import annotations

from collections.abc import Callable

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.result import Status, Verdict
from rigready.assess.units import GIB


def runs_on(mem: MemoryBreakdown, available: int) -> bool:
    """Whether the job runs with ``available`` bytes for it (its least need fits)."""
    return mem.needs_free_bytes <= available


def status_of(need: int, available: int, band: float) -> Status:
    """"fits" with the error ``band`` to spare, "tight" inside it (``need`` <= ``available``
    is the caller's check)."""
    return "fits" if need * (1 + band) <= available else "tight"


def needs_text(mem: MemoryBreakdown) -> str:
    """Both figures in words: the least a card must have and what nvidia-smi shows."""
    return (f"needs a card with at least {mem.needs_free_bytes / GIB:.1f} GiB free; on a larger "
            f"card nvidia-smi shows up to {mem.total / GIB:.1f} GiB")


def band_verdict(mem: MemoryBreakdown, gpu: GpuTarget, band: float) -> Verdict | None:
    """"fits" when the job's least need plus the measured error ``band`` stays inside the
    memory available on ``gpu``, "tight" when only the need does; None when it does not fit
    at all."""
    need, available = mem.needs_free_bytes, gpu.job_bytes
    have = f"{available / GIB:.1f} GiB available for the job"
    if need > available:
        return None
    spare = (available - need) / GIB
    if status_of(need, available, band) == "fits":
        return Verdict("fits", gpu.vram_bytes, need, None, (
            f"{needs_text(mem)}; {have}: {spare:.1f} GiB to spare, more than the estimate's "
            f"measured error band ({band:.0%})",), available_bytes=available)
    return Verdict("tight", gpu.vram_bytes, need, None, (
        f"{needs_text(mem)}; {have}: the {spare:.1f} GiB to spare are inside the estimate's "
        f"measured error band (needs up to {band:.0%} above it were seen), so it may run out "
        "of memory; a longer sample or allocator fragmentation can too",),
        available_bytes=available)


def largest_passing(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """Largest n in [lo, hi] with ok(n) (ok is monotone); lo - 1 when none."""
    if not ok(lo):
        return lo - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo
