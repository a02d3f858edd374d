"""The estimator's answers, the same types for every family: the verdict for a GPU, the changes
that make a job fit, what the host needs, the time and energy, and the whole :class:`Estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rigready.assess.estimate.breakdown import MemoryBreakdown
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.model import ModelShape

Status = Literal["fits", "tight", "offload", "no"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one GPU."""

    status: Status
    #: The card's memory.
    vram_bytes: int
    #: What the verdict compared: the least memory the job needs on a card
    #: (``MemoryBreakdown.needs_free_bytes``).
    needed_bytes: int
    offload_slowdown: float | None
    reasons: tuple[str, ...]
    #: System RAM the offloaded part needs (offload verdicts only).
    offloaded_bytes: int | None = None
    #: The memory available for the job it was compared with (``GpuTarget.job_bytes``; None:
    #: the card's VRAM).
    available_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A change to the workload and what it would need."""

    change: str
    #: The changed job's peak as nvidia-smi shows it on a roomy card.
    total_bytes: int
    status: Status
    #: The changed workload, so a caller can re-check it (None: not recorded).
    workload: Workload | None = None
    #: The least memory the changed job needs on a card (what its status was judged on; None:
    #: not recorded).
    needs_free_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class HostNeeds:
    """System RAM and disk for the job."""

    ram_bytes: int
    load_peak_bytes: int
    disk_bytes: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Timing:
    """Speed and the cost of a job; None where the GPU's figures are unknown."""

    tokens_per_s: float | None
    flops_per_token: float
    utilisation: float
    compute_dtype: str
    hours: float | None
    energy_kwh: float | None
    cost_usd: float | None
    decode_tokens_per_s: float | None
    prefill_s: float | None
    reasons: tuple[str, ...]
    #: One optimizer step (training) of one micro-batch per GPU, seconds.
    step_seconds: float | None = None
    #: The runtime the speed describes (``tokens_per_s`` and ``decode_tokens_per_s``).
    runtime: str = ""
    #: Decoding in a llama.cpp-class runtime (bandwidth-bound), tokens/s.
    llamacpp_tokens_per_s: float | None = None
    #: Image models: images trained on (or generated) per second over all GPUs.
    images_per_s: float | None = None


@dataclass(frozen=True, slots=True)
class Estimate:
    """Everything the estimator says about one job on one GPU."""

    shape: ModelShape
    workload: Workload
    gpu: GpuTarget | None
    memory: MemoryBreakdown
    verdict: Verdict | None
    max_batch: int | None
    max_seq: int | None
    suggestions: tuple[Suggestion, ...]
    timing: Timing
    host: HostNeeds
    reasons: tuple[str, ...]
