"""What a training run tells us, as frozen facts: progress, metrics, process readings, the end.

Every parser (stream, TensorBoard, ``trainer_state.json``, ``metrics.csv``) turns what it reads
into these events; the tracker, the ETA, the alerts, the store and the exporter consume them, so
a run followed through its output looks the same as one followed through its log folder.
``time`` is wall-clock Unix seconds: when the line was seen, or the record's own time when the
log file carries one (TensorBoard ``wall_time``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["train", "eval", "summary"]
Outcome = Literal["running", "finished", "crashed", "killed", "interrupted", "unknown"]


@dataclass(frozen=True, slots=True)
class RunProgress:
    """A progress bar's reading (or a log's step counter)."""

    time: float
    step: int
    #: Steps in the whole run (None when the bar has no total).
    total: int | None
    #: Steps per second as the bar shows it (``s/it`` bars are inverted); None before it knows.
    rate: float | None = None
    unit: str = "it"
    elapsed_s: float | None = None
    #: The bar's own remaining-time guess (tqdm's smoothed one); rigready's ETA is its own.
    remaining_s: float | None = None
    desc: str = ""
    #: Lightning's "Epoch k/N" bars: the epoch shown (0-based) and how many there are.
    epoch: int | None = None
    epochs: int | None = None
    source: str = "tqdm"

    @property
    def fraction(self) -> float | None:
        """Share of the run done, 0-1 (None without a total)."""
        if not self.total:
            return None
        return min(1.0, max(0.0, self.step / self.total))


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """One logged record: a training log (loss, lr, grad norm), an evaluation or the summary."""

    time: float
    step: int | None
    kind: MetricKind = "train"
    loss: float | None = None
    eval_loss: float | None = None
    learning_rate: float | None = None
    grad_norm: float | None = None
    epoch: float | None = None
    #: Whatever rate the run reports (tokens/s, samples/s, steps/s), with its unit.
    throughput: float | None = None
    throughput_unit: str | None = None
    #: Other numeric fields the log carried (``mean_token_accuracy``, ``eval_runtime``...).
    extra: tuple[tuple[str, float], ...] = ()
    #: Where it was read: "log" (a printed dict), "postfix" (a tqdm postfix), "tensorboard",
    #: "trainer_state", "csv", "bar" (a Rich bar's metrics).
    source: str = "log"

    def non_finite(self) -> tuple[str, float] | None:
        """The first of loss, eval loss and grad norm that is NaN or infinite, with its value."""
        for name in ("loss", "eval_loss", "grad_norm"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                return name, value
        return None


@dataclass(frozen=True, slots=True)
class ProcessTick:
    """The run's process tree and GPU, read once a second by the recorder."""

    time: float
    alive: bool
    #: VRAM held by the run's own processes (NVML per-process), None when unreadable.
    process_vram_bytes: int | None = None
    #: The busiest GPU's utilisation, None without GPU readings.
    gpu_util_pct: float | None = None
    #: CPU of the whole process tree (100 = one core), None when unreadable.
    cpu_pct: float | None = None
    card_vram_used_bytes: int | None = None
    card_vram_total_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class RunEnded:
    """The run's process ended (or watching stopped)."""

    time: float
    outcome: Outcome
    exit_code: int | None = None
    #: The signal that ended it (SIGKILL = 9), None for a normal exit.
    signal: int | None = None
    duration_s: float | None = None
    #: The last lines the run printed (crash context), oldest first.
    last_lines: tuple[str, ...] = ()
    #: Its output said the device ran out of memory ("CUDA out of memory", OutOfMemoryError).
    out_of_memory: bool = False

    @property
    def status(self) -> int | None:
        """The exit status a shell reports: the code, or 128 + signal."""
        if self.signal is not None:
            return 128 + self.signal
        return self.exit_code


@dataclass(frozen=True, slots=True)
class RunHints:
    """Facts about the job the run told: HF Trainer's start banner ("***** Running training
    *****", INFO level), peft's "trainable params: X || all params: Y" line, or the arguments
    and model config a Trainer logs to TensorBoard. A source fills what it knows; the tracker
    merges them (:class:`~.tracker.JobHints`)."""

    time: float
    total_steps: int | None = None
    batch_per_device: int | None = None
    trainable_params: int | None = None
    epochs: int | None = None
    #: The model's name or path (a Trainer's logged model config, ``_name_or_path``).
    model: str | None = None
    learning_rate: float | None = None
    #: The banner's "Num examples" and "Gradient Accumulation steps" (or the logged arguments).
    num_examples: int | None = None
    grad_accum: int | None = None
    #: "Total train batch size (w. parallel, distributed & accumulation)".
    total_batch: int | None = None
    #: peft's "all params" (base model plus adapters).
    all_params: int | None = None
    #: The logged model config (``model_config/text_summary``) as JSON text.
    model_config: str | None = None
    #: "bf16", "fp16" or "fp32" from the logged arguments.
    precision: str | None = None
    gradient_checkpointing: bool | None = None
    #: Where it was read: "banner", "peft", "tensorboard".
    source: str = "banner"


RunEvent = RunProgress | RunMetrics | ProcessTick | RunEnded | RunHints
