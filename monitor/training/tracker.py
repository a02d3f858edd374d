"""The run as a view shows it: one model fed by every source, for the CLI, the exporter and the
GUI's training monitor.

:class:`RunTracker` takes the events of one run (from the wrapper's stream, a watched folder, or
rows read back from the database for a replay) and keeps what a screen needs: step / total,
rate, elapsed, the smoothed ETA, the latest loss / eval loss / learning rate / grad norm /
throughput, the run's own VRAM (current and peak) next to the card's, the series for charts and
the alerts raised. :meth:`RunTracker.snapshot` returns a frozen :class:`RunSnapshot`; the series
are read with :meth:`RunTracker.series` as numpy arrays (``setData`` ready), so a 1 Hz refresh
copies no lists. Not thread-safe: one owner thread feeds and reads it (the GUI's poll timer, or
the recorder thread, which publishes snapshots).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from rigready.monitor.training.eta import EtaEstimator
from rigready.monitor.training.events import (
    Outcome,
    ProcessTick,
    RunEnded,
    RunEvent,
    RunHints,
    RunMetrics,
    RunProgress,
)
from rigready.monitor.training.loss_truth import LossTruth, LossWatch
from rigready.monitor.training.run_alerts import RunAlert

SeriesName = Literal["loss", "eval_loss", "learning_rate", "grad_norm", "throughput",
                     "process_vram"]
SERIES: tuple[SeriesName, ...] = ("loss", "eval_loss", "learning_rate", "grad_norm",
                                  "throughput", "process_vram")
FloatArray = npt.NDArray[np.float64]
#: Progress read from log files: one may lag another, so it never moves the step back.
_LOG_SOURCES = frozenset({"trainer_state", "csv", "tensorboard"})


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What is known of a run before it says anything."""

    label: str | None
    #: The command line (wrapper) or the folder followed (``--watch``).
    command: tuple[str, ...]
    started: float
    source: Literal["wrapper", "watch", "replay"] = "wrapper"
    session_id: int | None = None
    pid: int | None = None


@dataclass(frozen=True, slots=True)
class JobHints:
    """The job as the run told it, merged from every :class:`RunHints` (later facts win)."""

    total_steps: int | None = None
    batch_per_device: int | None = None
    grad_accum: int | None = None
    total_batch: int | None = None
    num_examples: int | None = None
    epochs: int | None = None
    trainable_params: int | None = None
    all_params: int | None = None
    model: str | None = None
    model_config: str | None = None
    learning_rate: float | None = None
    precision: str | None = None
    gradient_checkpointing: bool | None = None
    #: Where the facts came from ("banner", "peft", "tensorboard"), in order of arrival.
    sources: tuple[str, ...] = ()

    def merged(self, hint: RunHints) -> JobHints:
        """These facts with ``hint``'s known ones over them."""
        from dataclasses import fields, replace

        changes = {f.name: getattr(hint, f.name) for f in fields(self)
                   if f.name != "sources" and getattr(hint, f.name, None) is not None}
        sources = self.sources if hint.source in self.sources else (*self.sources, hint.source)
        return replace(self, **changes, sources=sources)


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """A run at one moment (all None until known)."""

    info: RunInfo
    time: float
    step: int | None
    total: int | None
    rate: float | None
    unit: str
    elapsed_s: float
    eta_s: float | None
    eta_end: float | None
    loss: float | None
    eval_loss: float | None
    learning_rate: float | None
    grad_norm: float | None
    epoch: float | None
    throughput: float | None
    throughput_unit: str | None
    process_vram_bytes: int | None
    process_vram_peak_bytes: int | None
    card_vram_total_bytes: int | None
    outcome: Outcome
    ended: RunEnded | None
    alerts: tuple[RunAlert, ...]
    #: The loss as it can be told (NaN after the Trainer's filtered zeros; ``loss`` agrees).
    loss_truth: LossTruth = field(default_factory=lambda: LossTruth(None))
    #: What the run told of its job (Trainer banner, peft line, logged arguments and config).
    hints: JobHints | None = None

    @property
    def fraction(self) -> float | None:
        """Share done, 0-1."""
        if self.step is None or not self.total:
            return None
        return min(1.0, self.step / self.total)


def smooth(values: FloatArray, weight: float = 0.6) -> FloatArray:
    """TensorBoard's debiased exponential moving average (NaN points are skipped, kept NaN)."""
    return Smoother(weight).extend(values)


@dataclass(slots=True)
class Smoother:
    """:func:`smooth` of a series that only grows, computed for the new points only (a live
    view's loss chart costs the same at its 10,000th logged loss as at its 10th)."""

    weight: float = 0.6
    _last: float = 0.0
    _count: int = 0
    _out: FloatArray = field(default_factory=lambda: np.empty(0))

    def extend(self, values: FloatArray) -> FloatArray:
        """The smoothed ``values``, of which the ones seen before are a prefix (a shorter
        series starts again)."""
        done = self._out.size
        if values.size < done:
            self._last, self._count, done = 0.0, 0, 0
            self._out = np.empty(0)
        if values.size == done:
            return self._out
        tail = np.full(values.size - done, np.nan, dtype=np.float64)
        w = self.weight
        for i, value in enumerate(values[done:]):
            if not math.isfinite(value):
                continue
            self._last = self._last * w + (1 - w) * value
            self._count += 1
            tail[i] = self._last / (1 - w ** self._count) if w < 1 else value
        self._out = np.concatenate([self._out, tail]) if done else tail
        return self._out


@dataclass(slots=True)
class _Series:
    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, step: float, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)


@dataclass(slots=True)
class RunTracker:
    """Accumulates one run's events (see the module docstring)."""

    info: RunInfo
    eta: EtaEstimator = field(default_factory=EtaEstimator)
    step: int | None = None
    total: int | None = None
    rate: float | None = None
    unit: str = "it"
    epoch: float | None = None
    last: dict[str, float | None] = field(default_factory=dict)
    throughput_unit: str | None = None
    process_vram: int | None = None
    process_vram_peak: int | None = None
    card_vram_total: int | None = None
    ended: RunEnded | None = None
    alerts: dict[str, RunAlert] = field(default_factory=dict)
    last_time: float = 0.0
    _series: dict[str, _Series] = field(default_factory=dict)
    metrics_count: int = 0
    #: (time, step) about once a second, for the steady step time.
    progress_points: list[tuple[float, int]] = field(default_factory=list)
    losses: LossWatch = field(default_factory=LossWatch)
    hints: JobHints | None = None

    def apply(self, event: RunEvent) -> None:
        """Take one event."""
        self.last_time = max(self.last_time, event.time)
        if isinstance(event, RunProgress):
            self._progress(event)
        elif isinstance(event, RunMetrics):
            self._metrics(event)
        elif isinstance(event, ProcessTick):
            self._tick(event)
        elif isinstance(event, RunEnded):
            self.ended = event
        elif isinstance(event, RunHints):
            self.hints = (self.hints or JobHints()).merged(event)
            if event.total_steps and self.total is None:
                self.total = event.total_steps

    def apply_alert(self, alert: RunAlert) -> None:
        """Keep raised alerts until cleared."""
        if alert.state == "raised":
            self.alerts[alert.kind] = alert
        else:
            self.alerts.pop(alert.kind, None)

    def _progress(self, p: RunProgress) -> None:
        if p.source in _LOG_SOURCES and self.step is not None and p.step < self.step:
            return  # a log file behind another (trainer_state.json saved less often)
        self.step = p.step
        if p.total:
            self.total = p.total
        self.rate = p.rate if p.rate is not None else self.rate
        self.unit = p.unit
        self.eta.observe(p.time, p.step, self.total)
        self._point(p.time, p.step)

    def _point(self, time: float, step: int) -> None:
        points = self.progress_points
        if not points or (step != points[-1][1] and time - points[-1][0] >= 1.0):
            points.append((time, step))
        elif step < points[-1][1]:
            points.clear()  # a new phase counts from zero again
            points.append((time, step))

    def _x(self, m: RunMetrics) -> float:
        if m.step is not None:
            return float(m.step)
        return float(self.step) if self.step is not None else float(self.metrics_count)

    def _metrics(self, m: RunMetrics) -> None:
        self.metrics_count += 1
        x = self._x(m)
        if m.step is not None and m.kind != "summary" and (self.step is None or m.step > self.step):
            self.step = m.step  # logs without a bar (watching a folder) still move the run on
            self.eta.observe(m.time, m.step, self.total)
            self._point(m.time, m.step)
        loss = self.losses.observe(m)  # a filtered 0 after a NaN is NaN, not a loss
        for name in ("loss", "eval_loss", "learning_rate", "grad_norm"):
            value = loss if name == "loss" else getattr(m, name)
            if value is None:
                continue
            self.last[name] = value
            self._add(name, x, value)
        if m.epoch is not None:
            self.epoch = m.epoch
        if m.throughput is not None and m.kind != "eval":
            self.last["throughput"] = m.throughput
            self.throughput_unit = m.throughput_unit
            self._add("throughput", x, m.throughput)

    def _tick(self, t: ProcessTick) -> None:
        if t.process_vram_bytes is not None:
            self.process_vram = t.process_vram_bytes
            self.process_vram_peak = max(self.process_vram_peak or 0, t.process_vram_bytes)
            self._add("process_vram", t.time, float(t.process_vram_bytes))
        if t.card_vram_total_bytes is not None:
            self.card_vram_total = t.card_vram_total_bytes

    def _add(self, name: str, x: float, value: float) -> None:
        self._series.setdefault(name, _Series()).add(x, value)

    def series(self, name: SeriesName) -> tuple[FloatArray, FloatArray]:
        """(x, values) of one series: x is the step (``process_vram``: Unix time)."""
        s = self._series.get(name)
        if s is None:
            return np.empty(0), np.empty(0)
        return np.asarray(s.steps, dtype=np.float64), np.asarray(s.values, dtype=np.float64)

    def throughput_rate(self) -> tuple[float | None, str]:
        """The best rate the run gives: logged tokens/s or samples/s, else the bar's it/s."""
        value = self.last.get("throughput")
        if value is not None and self.throughput_unit:
            return value, self.throughput_unit
        return self.rate, f"{self.unit}/s"

    def snapshot(self, now: float) -> RunSnapshot:
        """The run at ``now``."""
        ended = self.ended
        eta = None if ended is not None else self.eta.estimate(now)
        end_time = ended.time if ended is not None else now
        throughput, unit = self.throughput_rate()
        return RunSnapshot(
            info=self.info, time=now, step=self.step, total=self.total, rate=self.rate,
            unit=self.unit, elapsed_s=max(0.0, end_time - self.info.started),
            eta_s=None if eta is None else eta.remaining_s,
            eta_end=None if eta is None else eta.end_time,
            loss=self.last.get("loss"), eval_loss=self.last.get("eval_loss"),
            learning_rate=self.last.get("learning_rate"), grad_norm=self.last.get("grad_norm"),
            epoch=self.epoch, throughput=throughput, throughput_unit=unit,
            process_vram_bytes=self.process_vram,
            process_vram_peak_bytes=self.process_vram_peak,
            card_vram_total_bytes=self.card_vram_total,
            outcome="running" if ended is None else ended.outcome, ended=ended,
            alerts=tuple(sorted(self.alerts.values(), key=lambda a: a.time)),
            loss_truth=self.losses.truth(), hints=self.hints)
