"""Peak GPU memory split into named parts, and what CUDA and the driver take before any tensor.

Every family (language models, image models) fills the same :class:`MemoryBreakdown`, so the
verdict, the charts and the JSON read one shape. The CUDA context and the driver's reservation
are counted here once: they are what NVML / ``nvidia-smi`` report on top of PyTorch's reserved
memory, whatever the model.

A breakdown answers two questions (issue 22):

- :attr:`MemoryBreakdown.total`: what ``nvidia-smi`` shows at the peak on a roomy card (the
  caching allocator's reserved peak, the context and the driver's reservation);
- :attr:`MemoryBreakdown.needs_free_bytes`: the least memory a card must have for the job to
  run. On a smaller card PyTorch's caching allocator frees its cached blocks and retries before
  it gives up, so the job needs its allocated peak, plus what fragmentation leaves unusable when
  the largest block of the step is asked for (:attr:`MemoryBreakdown.fragmentation`), plus the
  context; never more than the roomy card's figure. Calibrated on the capped-allocator runs
  (``tests/data/calibration/capped/``): every verdict compares this figure with the memory
  available for the job (:attr:`~rigready.assess.estimate.gpu.GpuTarget.job_bytes`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rigready.assess.estimate.inputs import Workload
from rigready.assess.units import GIB

#: NVML "used" on an idle H100 80GB before any process (driver reservation), measured 2026-11-22.
DRIVER_RESERVED_BYTES = int(0.469 * GIB)
#: The same on an idle H200 (143 771 MiB), measured 2026-12-01: the reservation grows with the
#: card's memory (page tables and the like), about 2.2 MiB per GiB on top of ~0.30 GiB.
DRIVER_RESERVED_H200_BYTES = int(0.6006 * GIB)
_H100_VRAM, _H200_VRAM = 81559 * 2**20, 143771 * 2**20
#: CUDA context + kernels loaded by torch 2.11 / CUDA 13 for a training step (NVML minus
#: torch's reserved memory at the peak, minus the idle figure), same machine.
CUDA_CONTEXT_TRAIN_BYTES = int(0.749 * GIB)
#: The same for inference (fewer kernels loaded).
CUDA_CONTEXT_INFER_BYTES = int(0.690 * GIB)


@dataclass(frozen=True, slots=True)
class MemoryBreakdown:
    """Peak GPU memory per GPU, in bytes, by part."""

    context: int
    weights: int
    gradients: int
    optimizer: int
    activations: int
    logits: int
    kv_cache: int
    reserve: int
    #: When the peak happens: ``start of backward``, ``end of backward`` or ``generation``.
    peak_phase: str
    #: All gradients (they exist at the end of backward even if the peak is elsewhere).
    gradients_total: int
    trainable_params: int
    #: Free memory the caching allocator cannot use when the step's largest block is asked for
    #: on a card just big enough (split blocks of freed tensors, kept inside segments that still
    #: hold live ones), on top of the allocated peak: what a card needs beyond
    #: :attr:`allocated` and the context (:attr:`needs_free_bytes`).
    fragmentation: int

    @property
    def allocated(self) -> int:
        """What ``torch.cuda.max_memory_allocated`` would show."""
        return (self.weights + self.gradients + self.optimizer + self.activations + self.logits
                + self.kv_cache)

    @property
    def reserved(self) -> int:
        """What ``torch.cuda.max_memory_reserved`` would show."""
        return self.allocated + self.reserve

    @property
    def total(self) -> int:
        """Device memory in use as NVML / nvidia-smi report it (context included)."""
        return self.reserved + self.context

    @property
    def needs_free_bytes(self) -> int:
        """The least memory a card must have for the job, counted like the card's total (CUDA
        context, libraries and the driver's reservation included): the allocated peak, the
        fragmentation slack and the context, never more than :attr:`total` (a card that holds
        the roomy figure runs the job as the roomy card did). Every fit verdict compares this
        with :attr:`~rigready.assess.estimate.gpu.GpuTarget.job_bytes`."""
        return min(self.total, self.allocated + self.fragmentation + self.context)

    def parts(self) -> dict[str, int]:
        """The parts by name, in display order."""
        return {"context": self.context, "weights": self.weights, "gradients": self.gradients,
                "optimizer": self.optimizer, "activations": self.activations,
                "logits": self.logits, "kv_cache": self.kv_cache, "reserve": self.reserve}


def driver_reserved_bytes(vram_bytes: int | None) -> int:
    """What NVML counts as used on an idle card of ``vram_bytes`` (None: the H100 80GB's).

    A line through the two cards measured (H100 80GB, H200); smaller cards reserve less, and
    the line is kept at least 0.25 GiB.
    """
    if vram_bytes is None:
        return DRIVER_RESERVED_BYTES
    slope = (DRIVER_RESERVED_H200_BYTES - DRIVER_RESERVED_BYTES) / (_H200_VRAM - _H100_VRAM)
    return int(max(0.25 * GIB, DRIVER_RESERVED_BYTES + slope * (vram_bytes - _H100_VRAM)))


def context_bytes(wl: Workload, vram_bytes: int | None = None) -> int:
    """CUDA context and libraries plus what the driver keeps (counted as used by NVML)."""
    ctx = CUDA_CONTEXT_TRAIN_BYTES if wl.training else CUDA_CONTEXT_INFER_BYTES
    return ctx + driver_reserved_bytes(vram_bytes)


def on_card(mem: MemoryBreakdown, vram_bytes: int | None) -> MemoryBreakdown:
    """``mem`` (counted with an H100 80GB's driver reservation) on a card of ``vram_bytes``
    (None: unchanged): the reservation follows the card's memory."""
    if vram_bytes is None:
        return mem
    return replace(mem, context=mem.context - DRIVER_RESERVED_BYTES
                   + driver_reserved_bytes(vram_bytes))
