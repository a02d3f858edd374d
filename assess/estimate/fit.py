"""Verdict helpers every family shares: "fits" only with the estimate's measured error band to
spare, and the search for the largest size that still fits.
"""

from __future__ import annotations

from collections.abc import Callable

from rigready.assess.estimate.result import Verdict
from rigready.assess.units import GIB


def band_verdict(total: int, vram: int, band: float) -> Verdict | None:
    """"fits" when ``total`` plus the measured error ``band`` stays inside ``vram``, "tight"
    when only ``total`` does; None when it does not fit at all."""
    gib = f"{total / GIB:.1f} of {vram / GIB:.1f} GiB"
    if total * (1 + band) <= vram:
        return Verdict("fits", vram, total, None, (
            f"needs {gib}: {(vram - total) / GIB:.1f} GiB to spare, more than the estimate's "
            f"measured error band ({band:.0%})",))
    if total <= vram:
        return Verdict("tight", vram, total, None, (
            f"needs {gib}: the {(vram - total) / GIB:.1f} GiB to spare are inside the "
            f"estimate's measured error band (peaks up to {band:.0%} above it were seen), so it "
            "may run out of memory; a longer sample or allocator fragmentation can too",))
    return None


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
