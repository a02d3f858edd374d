"""A measured workload as the history keeps it, and how it corrects later estimates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MeasureStatus = Literal["ok", "oom", "error", "timeout", "crashed", "cancelled", "unavailable"]


@dataclass(frozen=True, slots=True)
class MeasuredRun:
    """Peak memory and step time of one workload, measured on this machine's GPU."""

    model: str
    method: str
    precision: str
    batch: int
    seq_len: int
    new_tokens: int
    checkpointing: bool
    lora_rank: int
    lora_targets: tuple[str, ...]
    #: ``ok``; ``oom`` (it does not fit: an answer); ``error``, ``timeout``, ``crashed``,
    #: ``unavailable`` (torch or another package missing) say why nothing was measured.
    status: MeasureStatus
    gpu_name: str | None
    #: Device memory in use at the peak of the steps, as nvidia-smi shows it (NVML).
    peak_bytes: int | None
    max_allocated_bytes: int | None
    max_reserved_bytes: int | None
    #: Median training step (after a warm-up step), or one whole generate() call.
    step_seconds: float | None
    #: What the estimator said for the same workload when it was measured.
    estimate_bytes: int | None
    #: The stack that ran it, e.g. ``torch 2.11.0, transformers 5.17.0, peft 0.18.0``.
    stack: str
    message: str = ""

    def same_job(self, model: str, method: str, precision: str) -> bool:
        """Whether this run measured the same model, method and precision."""
        return (self.model, self.method, self.precision) == (model, method, precision)

    @property
    def ratio(self) -> float | None:
        """Measured over estimated peak (None without both)."""
        if self.status != "ok" or not self.peak_bytes or not self.estimate_bytes:
            return None
        return self.peak_bytes / self.estimate_bytes


def measured_label(run: MeasuredRun) -> str:
    """A one-line summary for the history list."""
    job = (f"{run.model} {run.method} {run.precision} b{run.batch}x{run.seq_len}"
           + (" ckpt" if run.checkpointing else ""))
    where = f" on {run.gpu_name}" if run.gpu_name else ""
    if run.status == "ok" and run.peak_bytes is not None:
        est = (f" (estimate {run.estimate_bytes / 2**30:.1f})"
               if run.estimate_bytes else "")
        step = f", step {run.step_seconds:.3f} s" if run.step_seconds is not None else ""
        return f"Measured {job}{where}: {run.peak_bytes / 2**30:.1f} GiB{est}{step}"
    if run.status == "oom":
        return f"Measured {job}{where}: does not fit (out of memory)"
    return f"Measured {job}{where}: {run.status} ({run.message[:80]})"
