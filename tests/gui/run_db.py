"""Monitor databases holding a training run, written from the captured fixtures
(tests/data/training) the way ``rigready run`` writes them: the real stream parser, tracker and
alert engine, a progress row, a host sample and (optionally) a GPU sample with its process list
once a second of the capture's own clock. Only the recorder's thread is left out, so a test
can write a run a second at a time and follow it as the window does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from rigready.monitor.sample import GpuProcess, GpuSample, HostSample, Sample
from rigready.monitor.store import Store
from rigready.monitor.store_runs import ProgressRow, final_fields, progress_fields
from rigready.monitor.training.events import RunEnded, RunEvent, RunMetrics
from rigready.monitor.training.run_alerts import RunAlertEngine
from rigready.monitor.training.tracker import RunInfo, RunTracker
from tests.helpers.training import replay

GIB = 1024**3
RUN_PID, DESKTOP_PID = 4242, 1500


def gpu_sample(t: float, run_gib: float | None) -> GpuSample:
    """A 24 GiB card: the run (pid 4242) holds ``run_gib``, Xorg 0.4 GiB; power at the cap
    (throttled) between 10 and 16 s into the run when asked."""
    procs = [GpuProcess(DESKTOP_PID, "Xorg", int(0.4 * GIB))]
    if run_gib is not None:
        procs.append(GpuProcess(RUN_PID, "python3", int(run_gib * GIB)))
    used = int(sum(p.used_memory_bytes or 0 for p in procs) + 0.3 * GIB)
    return GpuSample(index=0, name="Fake RTX 4090", utilization_pct=97.0 if run_gib else 3.0,
                     memory_utilization_pct=40.0, memory_used_bytes=used,
                     memory_total_bytes=24 * GIB, temperature_c=71.0, temp_slowdown_c=88.0,
                     power_w=440.0, power_limit_w=450.0, sm_clock_mhz=2520.0,
                     memory_clock_mhz=10501.0, sm_clock_max_mhz=2790.0,
                     memory_clock_max_mhz=10501.0, throttle_reasons=(),
                     processes=tuple(procs))


@dataclass
class RunWriter:
    """Writes one captured run into ``path``, a second of its clock at a time."""

    path: Path
    name: str
    gpu: bool = True
    label: str | None = None
    end: RunEnded | None = None
    #: Seconds the capture's times are moved by (to put the run "now").
    shift: float = 0.0
    session_id: int = 0
    events: list[RunEvent] = field(default_factory=list)
    started: float = 0.0
    _i: int = 0
    _next_tick: float = 0.0
    _ticks: int = 0

    def __post_init__(self) -> None:
        events, parser = replay(self.name)
        self.events = sorted(events, key=lambda e: e.time)
        self.started = self.events[0].time + self.shift - 1.0
        self.last_lines = parser.last_lines()
        self.tracker = RunTracker(RunInfo(self.label, ("python3", f"{self.name}.py"),
                                          self.started))
        self.alerts = RunAlertEngine(started=self.started)
        with Store(self.path) as store:
            self.session_id = store.start_session(
                label=self.label, host="test", interval_s=1.0, started=self.started,
                gpus=["0: Fake RTX 4090"] if self.gpu else [])
            store.start_run(self.session_id, label=self.label, command=self.tracker.info.command,
                            started=self.started, source="wrapper")
        self._next_tick = self.started + 1.0

    @property
    def last_time(self) -> float:
        """The time of the capture's last event (moved)."""
        return self.events[-1].time + self.shift

    def write_until(self, until: float) -> None:
        """Write everything the run did up to ``until`` (its moved clock)."""
        with Store(self.path) as store:
            while True:
                next_event = self.events[self._i].time + self.shift \
                    if self._i < len(self.events) else math.inf
                t = min(next_event, self._next_tick)
                if t > until or t == math.inf:
                    break
                if next_event <= self._next_tick:
                    self._event(store, self.events[self._i], next_event)
                    self._i += 1
                else:
                    self._tick(store, t)
                    self._next_tick += 1.0
            store.commit()

    def _event(self, store: Store, event: RunEvent, t: float) -> None:
        from dataclasses import replace

        moved = replace(event, time=t)
        self.tracker.apply(moved)
        if isinstance(moved, RunMetrics):
            store.add_run_metrics(self.session_id, moved)
        for alert in self.alerts.update(moved):
            self.tracker.apply_alert(alert)
            store.add_event(self.session_id, t=alert.time, kind="alert", name=alert.kind,
                            state=alert.state, message=alert.message, value=alert.value)

    def _tick(self, store: Store, t: float) -> None:
        snap = self.tracker.snapshot(t)
        run_gib = 6.0 + min(2.0, (t - self.started) / 10) if self.gpu else None
        gpus = (gpu_sample(t, run_gib),) if self.gpu else ()
        store.add_sample(self.session_id, Sample(
            t, HostSample(cpu_pct=55.0, ram_used_bytes=9 * GIB, ram_total_bytes=32 * GIB), gpus))
        vram = int(run_gib * GIB) if run_gib is not None else None
        from rigready.monitor.training.events import ProcessTick

        self.tracker.apply(ProcessTick(t, True, vram, 97.0 if self.gpu else None, 180.0,
                                       card_vram_total_bytes=24 * GIB if self.gpu else None))
        snap = self.tracker.snapshot(t)
        store.add_run_progress(self.session_id, ProgressRow(
            t, snap.step, snap.total, snap.rate, snap.eta_s, vram, 180.0))
        self._ticks += 1
        if self._ticks % 10 == 0:  # as the recorder (RUN_ROW_EVERY)
            store.update_run(self.session_id, **progress_fields(snap, self.alerts.final_loss))

    def finish(self, end: RunEnded | None = None) -> None:
        """Write the rest and the end (default: finished, exit 0, a second after the last
        event)."""
        self.write_until(self.last_time + 0.5)
        t = self.last_time + 1.0
        end = end or RunEnded(t, "finished", exit_code=0)
        when = max(end.time, t)  # an end given without its time comes after the last event
        end = RunEnded(when, end.outcome, end.exit_code, end.signal, when - self.started,
                       end.last_lines or tuple(self.last_lines), end.out_of_memory)
        with Store(self.path) as store:
            self._event(store, end, end.time)
            snap = self.tracker.snapshot(end.time)
            store.update_run(self.session_id, **final_fields(snap, self.alerts.final_loss))
            store.end_session(self.session_id, end.time + 0.5)


def write_run(path: Path, name: str, **options: object) -> RunWriter:
    """A whole finished (or ``end=``-ed) run in ``path``."""
    end = options.pop("end", None)
    writer = RunWriter(path, name, **options)  # type: ignore[arg-type]
    writer.finish(end)  # type: ignore[arg-type]
    return writer
