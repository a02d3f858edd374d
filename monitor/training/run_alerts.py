"""Run-aware alerts: a pure state machine over a run's events, with hysteresis on each.

- ``loss_nan``: the first logged record whose loss, eval loss or grad norm is NaN or infinite
  (the Trainer's default ``logging_nan_inf_filter`` keeps NaN out of the logged *loss*, so a
  NaN grad norm is often the first sign). Clears after :attr:`RunAlertConfig.nan_clear_logs`
  finite records in a row.
- ``loss_spike``: a training loss above :attr:`RunAlertConfig.spike_factor` times the median of
  the recent ones (at least :attr:`RunAlertConfig.spike_min_history` of them); clears once
  :attr:`RunAlertConfig.spike_clear_logs` records in a row are under
  :attr:`RunAlertConfig.spike_clear_factor` times it.
- ``run_stalled``: no progress for :attr:`RunAlertConfig.stall_after_s` while the process lives
  and is idle (its GPU under :attr:`RunAlertConfig.stall_gpu_idle_pct`; without GPU readings,
  its process tree under :attr:`RunAlertConfig.stall_cpu_idle_pct` of a core). Before the first
  step the wait is :attr:`RunAlertConfig.stall_start_factor` times longer (models load
  slowly). Clears when progress resumes.
- ``run_finished`` / ``run_crashed``: the process ended (exit 0 / anything else), once.

GPU alerts (VRAM near full, thermal and power throttling, temperature) come from
:class:`rigready.monitor.alerts.AlertEngine` through the sampler, as in ``rigready monitor``.
The clock is each event's ``time``.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from rigready.monitor.training.events import (
    ProcessTick,
    RunEnded,
    RunEvent,
    RunMetrics,
    RunProgress,
)
from rigready.monitor.training.loss_truth import LossWatch

RunAlertKind = Literal["loss_nan", "loss_spike", "run_stalled", "run_finished", "run_crashed"]
RUN_ALERT_KINDS: tuple[RunAlertKind, ...] = (
    "loss_nan", "loss_spike", "run_stalled", "run_finished", "run_crashed")
#: How a view colours each kind: "bad", "warn" or "ok".
RUN_ALERT_LEVELS: dict[str, str] = {"loss_nan": "bad", "loss_spike": "warn",
                                    "run_stalled": "warn", "run_finished": "ok",
                                    "run_crashed": "bad"}
RUN_ALERT_TITLES: dict[str, str] = {"loss_nan": "Loss is NaN", "loss_spike": "Loss spike",
                                    "run_stalled": "Run stalled?", "run_finished": "Finished",
                                    "run_crashed": "Crashed"}


@dataclass(frozen=True, slots=True)
class RunAlertConfig:
    """Thresholds (user-configurable); raise and clear thresholds differ for hysteresis."""

    spike_factor: float = 3.0
    spike_clear_factor: float = 1.5
    spike_window: int = 20
    spike_min_history: int = 5
    spike_clear_logs: int = 3
    nan_clear_logs: int = 5
    stall_after_s: float = 600.0
    stall_start_factor: float = 3.0
    stall_gpu_idle_pct: float = 10.0
    stall_cpu_idle_pct: float = 5.0
    enabled: frozenset[str] = frozenset(RUN_ALERT_KINDS)

    def __post_init__(self) -> None:
        """Reject settings without a hysteresis band or with unknown kinds."""
        problems = []
        if not 1.0 < self.spike_clear_factor <= self.spike_factor:
            problems.append("need 1 < spike_clear_factor <= spike_factor")
        if self.spike_min_history < 1 or self.spike_window < self.spike_min_history:
            problems.append("need 1 <= spike_min_history <= spike_window")
        if min(self.spike_clear_logs, self.nan_clear_logs) < 1:
            problems.append("clear counts must be >= 1")
        if self.stall_after_s <= 0 or self.stall_start_factor < 1:
            problems.append("stall_after_s must be > 0 and stall_start_factor >= 1")
        unknown = set(self.enabled) - set(RUN_ALERT_KINDS)
        if unknown:
            problems.append(f"unknown run alert kinds {sorted(unknown)}")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class RunAlert:
    """A run alert changing state."""

    time: float
    kind: RunAlertKind
    state: Literal["raised", "cleared"]
    message: str
    value: float | None = None
    step: int | None = None
    #: Context lines (a crash's last output lines, the estimator's advice).
    detail: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        """"bad", "warn" or "ok" (a view's colour)."""
        return "ok" if self.state == "cleared" else RUN_ALERT_LEVELS[self.kind]


def duration_text(seconds: float | None, unknown: str = "?") -> str:
    """``1h02m``, ``4m05s`` (``unknown`` for None): how the run's alerts, its closing line and
    ``rigready history`` say a length of time."""
    if seconds is None:
        return unknown
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@dataclass(slots=True)
class RunAlertEngine:
    """Feed it every event of one run in time order; it returns the alerts that changed."""

    config: RunAlertConfig = field(default_factory=RunAlertConfig)
    started: float | None = None
    #: What to tell after "CUDA out of memory" when the job is known (the estimator's answer
    #: and suggestions, put here by the caller; the engine stays free of the estimator).
    oom_advice: tuple[str, ...] = ()
    _losses: deque[float] = field(default_factory=deque)
    _active: dict[str, RunAlert] = field(default_factory=dict)
    _nan_clean: int = 0
    _spike_clean: int = 0
    _last_step: int | None = None
    _progress_at: float | None = None
    _loss_watch: LossWatch = field(default_factory=LossWatch)
    _ended: bool = False

    def active(self) -> tuple[RunAlert, ...]:
        """Raised alerts not yet cleared (finished/crashed stay), oldest first."""
        return tuple(sorted(self._active.values(), key=lambda a: a.time))

    @property
    def final_loss(self) -> float | None:
        """The run's final loss as it is stored: the latest finite one, NaN once the loss went
        non-finite (a filtered ``0`` after a NaN included; :mod:`.loss_truth`)."""
        return self._loss_watch.truth().final

    def update(self, event: RunEvent) -> tuple[RunAlert, ...]:
        """Judge one event; returns raised/cleared alerts."""
        if self.started is None:
            self.started = event.time
        if isinstance(event, RunMetrics):
            return self._metrics(event)
        if isinstance(event, RunProgress):
            return self._progress(event.time, event.step)
        if isinstance(event, ProcessTick):
            return self._tick(event)
        if isinstance(event, RunEnded):
            return self._ended_run(event)
        return ()

    def _on(self, kind: str) -> bool:
        return kind in self.config.enabled

    def _raise(self, alert: RunAlert) -> tuple[RunAlert, ...]:
        if alert.kind in self._active or not self._on(alert.kind):
            return ()
        self._active[alert.kind] = alert
        return (alert,)

    def _clear(self, kind: RunAlertKind, time: float, message: str,
               step: int | None = None) -> tuple[RunAlert, ...]:
        if self._active.pop(kind, None) is None:
            return ()
        return (RunAlert(time, kind, "cleared", message, step=step),)

    def _progress(self, time: float, step: int | None) -> tuple[RunAlert, ...]:
        if step is None or step == self._last_step:
            return ()
        self._last_step = step
        self._progress_at = time
        return self._clear("run_stalled", time, f"Progress again at step {step}", step)

    def _metrics(self, m: RunMetrics) -> tuple[RunAlert, ...]:
        self._loss_watch.observe(m)
        out = list(self._progress(m.time, m.step)) if m.kind != "summary" else []
        bad = m.non_finite()
        where = f"step {m.step}" if m.step is not None else "the latest log"
        if bad is not None:
            self._nan_clean = 0
            name, value = bad
            label = {"loss": "loss", "eval_loss": "eval loss", "grad_norm": "gradient norm"}[name]
            out.extend(self._raise(RunAlert(
                m.time, "loss_nan", "raised", f"The {label} is {value} at {where}: the run is no "
                "longer learning (learning rate too high, bad data or overflow)", value,
                m.step)))
            return tuple(out)
        if m.kind == "summary":
            return tuple(out)
        if "loss_nan" in self._active:
            self._nan_clean += 1
            if self._nan_clean >= self.config.nan_clear_logs:
                out.extend(self._clear("loss_nan", m.time,
                                       f"Finite again for {self._nan_clean} logs ({where})",
                                       m.step))
        if m.kind == "train" and m.loss is not None and self._loss_watch.finite:
            out.extend(self._spike(m, where))
        return tuple(out)

    def _spike(self, m: RunMetrics, where: str) -> tuple[RunAlert, ...]:
        assert m.loss is not None
        c = self.config
        out: tuple[RunAlert, ...] = ()
        if len(self._losses) >= c.spike_min_history:
            median = statistics.median(self._losses)
            scale = abs(median) or 1e-12
            if m.loss - median > (c.spike_factor - 1) * scale:
                self._spike_clean = 0
                out = self._raise(RunAlert(
                    m.time, "loss_spike", "raised",
                    f"Loss {m.loss:.4g} at {where} is {m.loss / median if median else math.inf:.1f}"
                    f"x the recent median ({median:.4g})", m.loss, m.step))
            elif m.loss - median <= (c.spike_clear_factor - 1) * scale and \
                    "loss_spike" in self._active:
                self._spike_clean += 1
                if self._spike_clean >= c.spike_clear_logs:
                    out = self._clear("loss_spike", m.time,
                                      f"Loss back near the median ({m.loss:.4g} at {where})",
                                      m.step)
            else:
                self._spike_clean = 0
        self._losses.append(m.loss)
        while len(self._losses) > c.spike_window:
            self._losses.popleft()
        return out

    def _tick(self, tick: ProcessTick) -> tuple[RunAlert, ...]:
        if self._ended or not tick.alive or self.started is None:
            return ()
        c = self.config
        since = self._progress_at if self._progress_at is not None else self.started
        wait = c.stall_after_s * (1.0 if self._progress_at is not None else c.stall_start_factor)
        if tick.gpu_util_pct is not None:
            idle: bool | None = tick.gpu_util_pct < c.stall_gpu_idle_pct
            what = f"GPU at {tick.gpu_util_pct:.0f}%"
        elif tick.cpu_pct is not None:
            idle = tick.cpu_pct < c.stall_cpu_idle_pct
            what = f"its processes at {tick.cpu_pct:.0f}% CPU"
        else:
            idle, what = None, ""
        if idle and tick.time - since >= wait:
            step = "before its first step" if self._last_step is None else \
                f"at step {self._last_step}"
            return self._raise(RunAlert(
                tick.time, "run_stalled", "raised",
                f"No progress for {duration_text(tick.time - since)} {step} while the process is "
                f"still running and {what}: stuck (data loader, deadlock, waiting for input)?",
                tick.time - since, self._last_step))
        return ()

    def _ended_run(self, end: RunEnded) -> tuple[RunAlert, ...]:
        if self._ended:
            return ()
        self._ended = True
        out = list(self._clear("run_stalled", end.time, "The process ended", self._last_step))
        told = self._loss_watch.truth()
        text = told.text()
        loss = "" if text is None else (f", final {text}" if told.finite else f", {text}")
        step = "" if self._last_step is None else f" at step {self._last_step}"
        took = duration_text(end.duration_s)
        if end.outcome == "finished":
            out.extend(self._raise(RunAlert(end.time, "run_finished", "raised",
                                            f"Finished in {took}{step}{loss}", end.duration_s,
                                            self._last_step)))
            return tuple(out)
        if end.outcome in ("running", "unknown"):
            return tuple(out)
        how = (f"killed by signal {end.signal}" if end.signal is not None
               else f"exit status {end.exit_code}")
        if end.outcome == "interrupted":
            return tuple(out)  # the user stopped it: nothing to alert about
        oom = ": out of GPU memory" if end.out_of_memory else ""
        last = next((line for line in reversed(end.last_lines) if line.strip()), "")
        message = f"Crashed after {took}{step} ({how}){oom}"
        detail = end.last_lines
        if oom and self.oom_advice:
            message += ". " + self.oom_advice[0]
            detail = (*self.oom_advice, *end.last_lines)
        elif last and not oom:
            message += f": {last[:160]}"
        out.extend(self._raise(RunAlert(end.time, "run_crashed", "raised", message,
                                        float(end.status or 0), self._last_step, detail)))
        return tuple(out)
