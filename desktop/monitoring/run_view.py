"""A training run as the monitor's views show it (Qt-free): followed live from the database, or
replayed at any moment of a saved run.

Both end in a :class:`RunDisplay`: the run's :class:`~rigready.monitor.training.tracker.RunSnapshot`
at that moment, the series its loss chart draws (raw and smoothed loss, eval loss, learning rate,
throughput, by step), its record (command, outcome, last lines) and the run alerts live then.

- :class:`LiveRun` is fed the rows ``rigready run`` / ``rigready monitor --watch`` write
  (:meth:`rigready.monitor.store.Store.run_rows_after`), on the GUI thread, through a
  :class:`~rigready.monitor.training.tracker.RunTracker`. The ETA shown is the one the run's own
  recorder computed (stored each second with its progress), counted down to now: the CLI, the
  exporter and the window then agree.
- :class:`RunReplay` holds a saved run, read once on the thread pool; :meth:`RunReplay.at` answers
  for any moment by bisection (the crosshair moves with the mouse), never by re-feeding a tracker.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import cast

from rigready.monitor.alerts import live_conditions
from rigready.monitor.store_read import EventRecord
from rigready.monitor.store_runs import ProgressRow, RunRecord, RunRowsAfter
from rigready.monitor.training.events import (
    Outcome,
    ProcessTick,
    RunEnded,
    RunMetrics,
    RunProgress,
)
from rigready.monitor.training.run_alerts import RUN_ALERT_KINDS, RunAlert
from rigready.monitor.training.tracker import (
    FloatArray,
    RunInfo,
    RunSnapshot,
    RunTracker,
    SeriesName,
    Smoother,
)

RUN_KINDS = frozenset(RUN_ALERT_KINDS)
#: Chart series versions, unique in the process.
_VERSIONS = itertools.count(1)
_OUTCOMES = frozenset({"running", "finished", "crashed", "killed", "interrupted", "unknown"})


@dataclass(frozen=True, slots=True)
class RunCharts:
    """The run's chart series, x = step (numpy arrays, ``setData`` ready)."""

    loss_x: FloatArray
    loss: FloatArray
    loss_smoothed: FloatArray
    eval_x: FloatArray
    eval_loss: FloatArray
    lr_x: FloatArray
    learning_rate: FloatArray
    throughput_x: FloatArray
    throughput: FloatArray
    #: The step of the moment shown (replay: the crosshair's), for a marker line.
    marker_step: float | None = None
    #: Unique to these series (across runs, live and replayed), so a chart skips ``setData``
    #: only when it shows these very series already.
    version: int = 0


@dataclass(frozen=True, slots=True)
class RunDisplay:
    """What a view shows of a run at one moment."""

    snapshot: RunSnapshot
    charts: RunCharts
    record: RunRecord | None
    #: (kind, message) of the run alerts live at that moment (finished/crashed stay).
    alerts: tuple[tuple[str, str], ...]
    live: bool
    #: The run's process tree (live, when known): its rows in the process list are marked.
    pids: frozenset[int] = frozenset()
    #: CPU of the run's process tree at that moment (100 = one core), None when unread.
    cpu_pct: float | None = None

    @property
    def title(self) -> str:
        """``run 'lora r16'`` (or the session number), for headings."""
        info = self.snapshot.info
        name = f"'{info.label}'" if info.label else f"session {info.session_id}"
        return f"Run {name}"

    @property
    def command(self) -> str:
        """The command line (wrapper; the program by its name, not its folder) or the folder
        followed (``--watch``)."""
        words = list(self.snapshot.info.command)
        if words and self.snapshot.info.source != "watch":
            words[0] = PurePath(words[0]).name or words[0]
        return shlex.join(words)


def run_info(record: RunRecord) -> RunInfo:
    """The tracker's :class:`RunInfo` of a stored run."""
    source = record.source if record.source in ("wrapper", "watch") else "replay"
    return RunInfo(label=record.label, command=record.command, started=record.started,
                   source=source, session_id=record.session_id)  # type: ignore[arg-type]


def ended_of(record: RunRecord) -> RunEnded | None:
    """The end of a stored run (None while it is running)."""
    if record.outcome == "running":
        return None
    outcome = cast(Outcome, record.outcome if record.outcome in _OUTCOMES else "unknown")
    end = record.ended if record.ended is not None else record.started
    return RunEnded(time=end, outcome=outcome, exit_code=record.exit_code,
                    signal=record.signal, duration_s=record.duration_s,
                    last_lines=record.last_lines, out_of_memory=record.out_of_memory)


def progress_events(row: ProgressRow, card_total: int | None
                    ) -> tuple[RunProgress | None, ProcessTick]:
    """A stored progress row as the tracker's events (no :class:`RunProgress` before a step)."""
    progress = None if row.step is None else RunProgress(
        time=row.time, step=row.step, total=row.total, rate=row.rate, source="db")
    tick = ProcessTick(time=row.time, alive=True, process_vram_bytes=row.process_vram_bytes,
                       cpu_pct=row.cpu_pct, card_vram_total_bytes=card_total)
    return progress, tick


def feed(tracker: RunTracker, metrics: Sequence[RunMetrics], progress: Sequence[ProgressRow],
         card_total: int | None) -> None:
    """Apply stored rows in time order (a progress row written after a log has its step)."""
    merged: Iterator[tuple[float, int, RunMetrics | ProgressRow]] = heapq.merge(
        ((m.time, 0, m) for m in metrics), ((r.time, 1, r) for r in progress),
        key=lambda x: (x[0], x[1]))
    for _t, _order, row in merged:
        if isinstance(row, RunMetrics):
            tracker.apply(row)
            continue
        step, tick = progress_events(row, card_total)
        if step is not None:
            tracker.apply(step)
        tracker.apply(tick)


def run_alert_of(event: EventRecord) -> RunAlert | None:
    """A stored run-alert event as a :class:`RunAlert` (None for GPU alerts and the rest)."""
    if event.kind != "alert" or event.name not in RUN_KINDS or \
            event.state not in ("raised", "cleared"):
        return None
    return RunAlert(event.time, event.name, event.state, event.message,  # type: ignore[arg-type]
                    event.value)


def charts_of(tracker: RunTracker, version: int, smoothed: Smoother,
              marker_step: float | None = None) -> RunCharts:
    """The chart series of everything ``tracker`` was fed."""
    def get(name: SeriesName) -> tuple[FloatArray, FloatArray]:
        return tracker.series(name)

    loss_x, loss = get("loss")
    eval_x, eval_loss = get("eval_loss")
    lr_x, lr = get("learning_rate")
    tp_x, tp = get("throughput")
    return RunCharts(loss_x, loss, smoothed.extend(loss), eval_x, eval_loss, lr_x, lr, tp_x, tp,
                     marker_step, version)


def _recorded_eta(snap: RunSnapshot, row: ProgressRow | None, now: float) -> RunSnapshot:
    """The recorder's ETA (stored with its progress), counted down to ``now``."""
    if row is None or row.eta_s is None or snap.ended is not None:
        return snap
    end = row.time + row.eta_s
    return replace(snap, eta_s=max(0.0, end - now), eta_end=end)


class LiveRun:
    """A run followed live: feed it :meth:`apply` with each batch of new rows."""

    def __init__(self, record: RunRecord) -> None:
        """Start following ``record`` (nothing read yet)."""
        self.record = record
        self.tracker = RunTracker(run_info(record))
        self.last_progress: ProgressRow | None = None
        self.pids: frozenset[int] = frozenset()
        #: False once the run stopped being recorded without an end (its rigready was killed).
        self.recording = True
        self._version = next(_VERSIONS)
        self._smoothed = Smoother()
        self._charts: RunCharts | None = None

    @property
    def session_id(self) -> int:
        """The run's session."""
        return self.record.session_id

    def apply(self, record: RunRecord, rows: RunRowsAfter | None) -> list[EventRecord]:
        """Take the run's newest record and rows; returns the new run-alert events."""
        self.record = record
        fresh: list[EventRecord] = []
        if rows is not None:
            feed(self.tracker, rows.metrics, rows.progress, record.card_vram_total_bytes)
            if rows.progress:
                self.last_progress = rows.progress[-1]
            for event in rows.events:
                alert = run_alert_of(event)
                if alert is not None:
                    self.tracker.apply_alert(alert)
                    fresh.append(event)
            if rows.metrics:
                self._version = next(_VERSIONS)
                self._charts = None
        end = ended_of(record)
        if end is not None and self.tracker.ended is None:
            self.tracker.apply(end)
        return fresh

    def stopped_recording(self, now: float) -> None:
        """Its rigready stopped without recording an end (killed): say so, stop the clock."""
        if self.tracker.ended is None:
            self.recording = False
            self.tracker.apply(RunEnded(time=self.tracker.last_time or now, outcome="unknown"))

    def display(self, now: float, card_total: int | None = None) -> RunDisplay:
        """The run now; ``card_total`` is the card's memory as the window reads it, shown
        until the run's record has its own (written every few seconds)."""
        snap = _recorded_eta(self.tracker.snapshot(now), self.last_progress, now)
        if snap.card_vram_total_bytes is None and card_total:
            snap = replace(snap, card_vram_total_bytes=card_total)
        if self._charts is None:
            self._charts = charts_of(self.tracker, self._version, self._smoothed)
        alerts = tuple((a.kind, a.message) for a in snap.alerts)
        cpu = None if self.last_progress is None else self.last_progress.cpu_pct
        return RunDisplay(snap, self._charts, self.record, alerts, live=True, pids=self.pids,
                          cpu_pct=cpu)


def _ffill(times: list[float], values: list[float | None]) -> tuple[list[float], list[float]]:
    """(times, values) of the records that carry a value, for "latest at t" lookups."""
    kept = [(t, v) for t, v in zip(times, values, strict=True) if v is not None]
    return [t for t, _ in kept], [v for _, v in kept]


def _latest(series: tuple[list[float], list[float]], t: float) -> float | None:
    i = bisect.bisect_right(series[0], t) - 1
    return series[1][i] if i >= 0 else None


class RunReplay:
    """A saved run: its record, rows and the session's events; :meth:`at` any moment."""

    def __init__(self, record: RunRecord, metrics: list[RunMetrics],
                 progress: list[ProgressRow], events: tuple[EventRecord, ...]) -> None:
        """Build the chart series once (call on the thread pool: a long run has many rows)."""
        self.record = record
        self.events = events
        self.progress = progress
        tracker = RunTracker(run_info(record))
        feed(tracker, metrics, progress, record.card_vram_total_bytes)
        end = ended_of(record)
        if end is not None:
            tracker.apply(end)
        self.final = tracker.snapshot(end.time if end is not None else tracker.last_time)
        self.charts = charts_of(tracker, next(_VERSIONS), Smoother())
        self._p_times = [row.time for row in progress]
        peak, peaks = 0, []
        for row in progress:
            peak = max(peak, row.process_vram_bytes or 0)
            peaks.append(peak)
        self._peaks = peaks
        train = [m for m in metrics if m.kind != "summary"]
        times = [m.time for m in train]
        self._series = {name: _ffill(times, [getattr(m, name) for m in train])
                        for name in ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch")}
        thr = [m for m in metrics if m.kind != "eval"]  # as the tracker: summary counts
        self._throughput = _ffill([m.time for m in thr], [m.throughput for m in thr])

    @property
    def end(self) -> float:
        """When the run ended (or its last row)."""
        ended = self.final.ended
        return ended.time if ended is not None else self.final.time

    def at(self, t: float) -> RunDisplay:
        """The run as it was at ``t`` (its state at the nearest progress row before)."""
        i = bisect.bisect_right(self._p_times, t) - 1
        row = self.progress[i] if i >= 0 else None
        final = self.final
        done = final.ended is not None and t >= final.ended.time
        latest = {name: _latest(series, t) for name, series in self._series.items()}
        rate = row.rate if row is not None else None
        # as RunTracker.throughput_rate: the run's logged rate, else the bar's
        throughput, unit = _latest(self._throughput, t), final.throughput_unit
        if throughput is None or unit is None:
            throughput, unit = rate, f"{final.unit}/s"
        step = row.step if row is not None else None
        end = None if done or row is None or row.eta_s is None else row.time + row.eta_s
        snap = replace(
            final, time=t, step=step if not done else final.step,
            total=row.total if row is not None and row.total else final.total, rate=rate,
            elapsed_s=max(0.0, min(t, self.end) - self.record.started),
            eta_s=None if end is None else max(0.0, end - t), eta_end=end,
            loss=latest["loss"], eval_loss=latest["eval_loss"],
            learning_rate=latest["learning_rate"], grad_norm=latest["grad_norm"],
            epoch=latest["epoch"], throughput=throughput, throughput_unit=unit,
            process_vram_bytes=row.process_vram_bytes if row is not None else None,
            process_vram_peak_bytes=(self._peaks[i] or None) if i >= 0 else None,
            outcome=final.outcome if done else "running", ended=final.ended if done else None,
            alerts=())
        alerts = tuple((kind, message) for kind, message in
                       live_conditions(self.events, gpu=None, at=t) if kind in RUN_KINDS)
        marker = None if snap.step is None else float(snap.step)
        return RunDisplay(snap, replace(self.charts, marker_step=marker), self.record, alerts,
                          live=False, cpu_pct=None if row is None else row.cpu_pct)
