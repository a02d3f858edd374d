"""An estimate's answer in words where the command line and the Can I run it? page say it the
same way: the yes or no for a PC without a GPU (the job then runs on the CPU from RAM), and the
largest batch and sequence that fit.
"""

from __future__ import annotations

from rigready.assess.estimate import Estimate
from rigready.assess.units import GIB


def cpu_answer(est: Estimate, ram_available: int | None) -> tuple[str, str]:
    """Yes or no for a PC without a GPU: ``(status, sentence)``, status fits/tight/no/unknown.

    The job then runs on the CPU from system RAM: it needs about what PyTorch would allocate on a
    GPU. bitsandbytes' 4-bit and 8-bit formats need a GPU, so QLoRA and int8/nf4 are a no.
    """
    need = est.memory.allocated
    if est.workload.resolved_precision in ("int8", "nf4"):
        return "no", ("No: 4-bit and 8-bit (bitsandbytes) need a GPU; on the CPU use bf16 "
                      "weights, or a GPU")
    if ram_available is None:
        return "unknown", (f"Unknown: needs about {need / GIB:.1f} GiB of RAM, and this PC's "
                           "free RAM is unknown")
    have = ram_available / GIB
    if need > ram_available:
        return "no", (f"No: needs about {need / GIB:.1f} GiB of RAM, this PC has "
                      f"{have:.1f} GiB free")
    status = "tight" if need > 0.85 * ram_available else "fits"
    slow = "very slow to train" if est.workload.training else "slow"
    return status, (f"Yes, on the CPU: needs about {need / GIB:.1f} GiB of the {have:.1f} GiB "
                    f"free RAM ({slow} without a GPU; time unknown)")


def limits_text(est: Estimate) -> str:
    """The largest batch and sequence that fit in VRAM, in words (never "batch 0")."""
    if not est.max_batch:
        batch = "even batch 1 does not fit in VRAM alone"
    else:
        batch = f"largest batch that fits in VRAM: {est.max_batch}"
    if est.max_seq is None:
        return batch
    if not est.max_seq:
        return f"{batch}; no sequence length fits"
    return f"{batch}; longest sequence: {est.max_seq:,}"
