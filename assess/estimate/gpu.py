"""The GPU an estimate is for: from a catalog entry, from a detected adapter, or typed in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from rigready.assess.hardware import GpuInfo

GIB = 1024**3
#: Usable host-to-device bandwidth by PCIe generation at x16, GB/s (about 80% of the link rate).
PCIE_GB_S = {3: 12.0, 4: 25.0, 5: 50.0}


@dataclass(frozen=True, slots=True)
class GpuTarget:
    """What the estimator needs of one GPU. Unknown figures are None (time is then unknown)."""

    name: str
    vram_bytes: int
    bandwidth_gb_s: float | None = None
    #: Dense (no sparsity) peak TFLOP/s by compute dtype: ``bf16``, ``fp16``, ``fp32``.
    dense_tflops: dict[str, float] = field(default_factory=dict)
    tgp_w: float | None = None
    pcie_gb_s: float | None = None
    #: A measured matmul throughput (TFLOP/s) that replaces the datasheet peak when known.
    measured_tflops: float | None = None
    source: str = ""
    #: Whether servers usually hold several of this card (data-center and workstation parts);
    #: "add a second GPU" is no fix for a single consumer card.
    multi_gpu: bool = False

    @property
    def job_bytes(self) -> int:
        """Memory available for a job on this card, counted like the card's total: the fit
        verdicts compare an estimate's ``needs_free_bytes`` (which includes the driver's own
        reservation and the CUDA context) with it. For now the card's whole VRAM; memory that
        other processes or the display hold is to be taken off here."""
        return self.vram_bytes

    def peak_tflops(self, dtype: str) -> float | None:
        """The throughput time estimates start from: measured if known, else the datasheet."""
        if self.measured_tflops:
            return self.measured_tflops
        if dtype in self.dense_tflops:
            return self.dense_tflops[dtype]
        if dtype == "bf16" and "fp16" in self.dense_tflops:
            return self.dense_tflops["fp16"]
        # no half-precision tensor figure (older GPUs): the fp32 rate is what they manage
        return self.dense_tflops.get("fp32")


def gpu_from_entry(entry: Any) -> GpuTarget:
    """A catalog ``GpuEntry`` (read by field name) as a target."""
    tflops = {k: float(v) for k, v in (("bf16", getattr(entry, "bf16_tflops", None)),
                                       ("fp16", getattr(entry, "fp16_tflops", None)),
                                       ("fp32", getattr(entry, "fp32_tflops", None)))
              if v}
    gen = getattr(entry, "pcie_gen", None)
    return GpuTarget(
        name=str(entry.name), vram_bytes=int(float(entry.vram_gib) * GIB),
        bandwidth_gb_s=float(entry.memory_bandwidth_gb_s), dense_tflops=tflops,
        tgp_w=float(entry.tgp_w) if getattr(entry, "tgp_w", None) else None,
        pcie_gb_s=PCIE_GB_S.get(int(gen)) if gen else None,
        source=f"catalog {entry.id}",
        multi_gpu=getattr(entry, "segment", None) in ("datacenter", "workstation"),
    )


def gpu_from_info(info: GpuInfo, catalog_gpus: Iterable[Any] = ()) -> GpuTarget | None:
    """A detected adapter as a target: its own VRAM, throughput from the matching catalog entry.

    Returns None when the adapter's VRAM is unknown.
    """
    from rigready.assess.match import match_gpu

    entry = match_gpu(info, list(catalog_gpus)).entry
    if entry is not None:
        target = gpu_from_entry(entry)
        vram = info.vram_bytes or target.vram_bytes
        gen = info.pcie_gen_max
        pcie = PCIE_GB_S.get(gen) if gen else target.pcie_gb_s
        return replace(target, name=info.name, vram_bytes=vram, pcie_gb_s=pcie,
                       tgp_w=info.power_limit_w or target.tgp_w,
                       source=f"detected, figures from catalog {entry.id}")
    if info.vram_bytes is None:
        return None
    return GpuTarget(name=info.name, vram_bytes=info.vram_bytes, tgp_w=info.power_limit_w,
                     pcie_gb_s=PCIE_GB_S.get(info.pcie_gen_max) if info.pcie_gen_max else None,
                     source="detected (no catalog match: time and energy unknown)")
