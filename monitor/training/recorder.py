"""The run's recorder: a daemon thread that turns what the run shows into a record.

It takes the copy of the output stream (the wrapper appends it to a bounded list, read every
:data:`BATCH_S`), and through an inbox events from a watched folder, the sampler's samples and
GPU alerts, and the end of the process. It parses the stream (:class:`~.stream.StreamParser`),
feeds the :class:`~.tracker.RunTracker` and the :class:`~.run_alerts.RunAlertEngine`, once a
second reads the process tree's CPU and VRAM (:mod:`.process`), and writes the run to the
monitor database through its own :class:`~rigready.monitor.store.Store` connection (the sampler
has its own).

Nothing here may stop or slow the training: the wrapper only appends (never blocks; past
:data:`MAX_QUEUED_BYTES` of unread output the parsing copy is dropped, the pass-through is not),
and every failure inside (full disk, locked database, a parser bug, a callback) is told once
through ``on_problem`` and the recorder carries on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rigready.monitor.alerts import AlertEvent
from rigready.monitor.sample import Sample
from rigready.monitor.store_runs import ProgressRow, final_fields, progress_fields
from rigready.monitor.training.capture import write_chunk
from rigready.monitor.training.events import ProcessTick, RunEnded, RunEvent, RunMetrics
from rigready.monitor.training.process import ProcessTree, process_tree_vram
from rigready.monitor.training.recorder_store import RecorderStore
from rigready.monitor.training.run_alerts import RunAlert, RunAlertConfig, RunAlertEngine
from rigready.monitor.training.stream import StreamParser
from rigready.monitor.training.tracker import RunInfo, RunSnapshot, RunTracker

log = logging.getLogger("rigready.monitor.training")

MAX_QUEUED_BYTES = 16 * 1024 * 1024
TICK_S = 1.0
#: Seconds between commits (a viewer following the database sees rows this much later).
COMMIT_EVERY_S = 2.0
#: The recorder looks at the output gathered so far this often (alerts come at most this much
#: later): the pump only appends to a list, so whatever the line rate nothing wakes the
#: recorder but this, the samples and the end (a wake-up per line cost 4% of a core).
BATCH_S = 0.25
#: Ticks between updates of the ``runs`` row while the run goes on.
RUN_ROW_EVERY = 10
_END = object()


@dataclass(slots=True)
class RecorderStats:
    """What the recorder did (for the closing line and the benchmarks)."""

    chunks: int = 0
    dropped_bytes: int = 0
    metrics: int = 0
    alerts: int = 0
    #: CPU of the recorder thread, and the part spent parsing output (with the tracker and
    #: the alert engine it feeds): ``benchmarks/run_wrapper_cost.py``'s split.
    cpu_seconds: float = 0.0
    parse_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


class RunRecorder:
    """See the module docstring. Start it, feed it, :meth:`finish` it."""

    def __init__(self, info: RunInfo, *, db_path: Path | None = None,
                 config: RunAlertConfig | None = None,
                 clock: Callable[[], float] = time.time,
                 on_alert: Callable[[RunAlert], None] | None = None,
                 on_snapshot: Callable[[RunSnapshot], None] | None = None,
                 on_problem: Callable[[str], None] | None = None,
                 capture: IO[str] | None = None, tick_s: float = TICK_S,
                 run_fields: dict[str, Any] | None = None,
                 oom_advice: tuple[str, ...] = ()) -> None:
        """Configure (the thread starts with :meth:`start`).

        Args:
            info: The run (its ``session_id`` is where rows go; None records nothing).
            db_path: The monitor database holding that session.
            config: Run alert thresholds.
            clock: Wall clock.
            on_alert: Called on the recorder thread for each run alert and each GPU alert
                (as a :class:`RunAlert` or an :class:`AlertEvent`).
            on_snapshot: Called on the recorder thread once a second.
            on_problem: Called once per kind of failure with a one-line message.
            capture: A text file to write the timestamped stream to (``--capture``).
            tick_s: Seconds between process readings.
            run_fields: Extra ``runs`` columns to store at the start (command, cwd, job...).
            oom_advice: What to add to a crash report that says "out of memory".
        """
        self.info = info
        self.tracker = RunTracker(info)
        self.alerts = RunAlertEngine(config or RunAlertConfig(), started=info.started,
                                     oom_advice=tuple(oom_advice))
        #: The arrival time of the chunk being parsed: the parser stamps its events with it.
        self._chunk_time = clock()
        self.parser = StreamParser(clock=lambda: self._chunk_time)
        self.stats = RecorderStats()
        self._clock = clock
        self._on_alert = on_alert
        self._on_snapshot = on_snapshot
        self._on_problem = on_problem
        self._capture = capture
        self._tick_s = tick_s
        self._run_fields = dict(run_fields or {})
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: Output copies (bytes, arrival time), appended by the pump (an append is atomic).
        self._output: list[tuple[bytes, float]] = []
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._snapshot: RunSnapshot | None = None
        self._sample: Sample | None = None
        self._tree = None if info.pid is None else ProcessTree(info.pid)
        self._told: set[str] = set()
        self._store = RecorderStore(db_path, self._tell, self._told.discard)
        self._thread: threading.Thread | None = None
        self._ended: RunEnded | None = None
        self._ticks = 0

    # -- any thread -----------------------------------------------------------------------

    def start(self, session_id: int | None = None) -> None:
        """Start the thread (which opens the store); ``session_id`` (when given) is the monitor
        session the run's rows belong to (known once the sampler has started)."""
        if session_id is not None:
            from dataclasses import replace

            self.info = replace(self.info, session_id=session_id)
            self.tracker.info = self.info
        self._thread = threading.Thread(target=self._run, name="rigready-run-recorder",
                                        daemon=True)
        self._thread.start()

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran."""
        return self._thread is not None

    def add_run_fields(self, **fields: Any) -> None:
        """More ``runs`` columns for the start (call before :meth:`start`)."""
        self._run_fields.update(fields)

    def set_oom_advice(self, advice: tuple[str, ...]) -> None:
        """What a crash report adds after "out of memory" (known once the job is estimated)."""
        self.alerts.oom_advice = tuple(advice)

    def feed_output(self, data: bytes, t: float) -> None:
        """A copy of output bytes (from the pump; never blocks)."""
        if self._queued_bytes + len(data) > MAX_QUEUED_BYTES:
            self.stats.dropped_bytes += len(data)
            self._tell("behind", "the run prints faster than rigready can read it; some output "
                                 "was shown but not parsed")
            return
        self._queued_bytes += len(data)
        self._output.append((data, t))

    def feed_events(self, events: list[RunEvent]) -> None:
        """Events from a watched folder."""
        if events:
            self._inbox.put(list(events))

    def feed_sample(self, sample: Sample) -> None:
        """A sampler tick (from the sampler thread)."""
        self._inbox.put(sample)

    def feed_gpu_alert(self, alert: AlertEvent) -> None:
        """A GPU alert from the sampler's engine (VRAM, throttling, temperature)."""
        self._inbox.put(alert)

    def snapshot(self) -> RunSnapshot | None:
        """The newest published snapshot."""
        with self._lock:
            return self._snapshot

    def finish(self, ended: RunEnded | None, timeout: float = 10.0) -> RunSnapshot:
        """Hand over the end (None: watching stopped), wait for the thread; the final state."""
        self._inbox.put((_END, ended))
        if self._thread is not None:
            self._thread.join(timeout)
        snap = self.snapshot()
        return snap if snap is not None else self.tracker.snapshot(self._clock())

    # -- the recorder thread ---------------------------------------------------------------

    def _tell(self, key: str, text: str) -> None:
        if key in self._told:
            return
        self._told.add(key)
        self.stats.problems.append(text)
        log.warning("%s", text)
        if self._on_problem is not None:
            try:
                self._on_problem(text)
            except Exception:  # a callback that fails is logged, never raised
                log.debug("on_problem failed", exc_info=True)

    def _call(self, callback: Callable[[Any], None] | None, arg: Any, what: str) -> None:
        if callback is None:
            return
        try:
            callback(arg)
        except Exception as exc:  # noqa: BLE001 - a callback must not stop recording
            self._tell(what, f"{what} failed: {exc!r}")

    def _run(self) -> None:
        cpu0 = time.thread_time()
        info = self.info  # the store belongs to this thread (a SQLite connection does)
        self._store.open(info.session_id, label=info.label, command=info.command,
                         started=info.started, source=info.source, **self._run_fields)
        next_tick = time.monotonic() + self._tick_s
        last_commit = time.monotonic()
        ended = False
        while not ended:
            wait = max(0.0, min(next_tick - time.monotonic(), BATCH_S))
            try:
                batch = [self._inbox.get(timeout=wait)]
            except queue.Empty:
                batch = []
            while True:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            ended = self._take(batch)
            try:
                if not ended and time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self._tick_s
                    self._tick()
                if not ended and time.monotonic() - last_commit >= COMMIT_EVERY_S:
                    last_commit = time.monotonic()
                    self._store.commit()
            except Exception as exc:  # noqa: BLE001 - a bug must not end the recording
                self._bug(exc)
            self.stats.cpu_seconds = time.thread_time() - cpu0
        self.stats.cpu_seconds = time.thread_time() - cpu0

    def _take(self, batch: list[Any]) -> bool:
        """Handle a batch, each item on its own (a failure never drops the rest); whether the
        end was among them."""
        parse0 = time.thread_time()
        output, self._output = self._output, []  # everything before the end is in it
        if output:
            try:
                self._read_output(output)
            except Exception as exc:  # noqa: BLE001 - a bug must not end the recording
                self._bug(exc)
        for item in batch:
            if isinstance(item, tuple) and item and item[0] is _END:
                self.stats.parse_seconds += time.thread_time() - parse0
                try:
                    self._end(item[1])
                except Exception as exc:  # noqa: BLE001 - still end the thread
                    self._bug(exc)
                    self._store.close()
                return True
            try:
                self._handle(item)
            except Exception as exc:  # noqa: BLE001 - a bug must not end the recording
                self._bug(exc)
        self.stats.parse_seconds += time.thread_time() - parse0
        return False

    def _bug(self, exc: Exception) -> None:
        log.error("run recorder", exc_info=exc)
        self._tell("bug", f"rigready's run reader failed ({exc!r}); the run goes on")

    def _read_output(self, output: list[tuple[bytes, float]]) -> None:
        self.stats.chunks += len(output)
        self._queued_bytes -= sum(len(data) for data, _ in output)
        if self._capture is not None:
            try:
                for data, t in output:
                    write_chunk(self._capture, t, data)
            except (OSError, ValueError) as exc:
                self._capture = None
                self._tell("capture", f"cannot write the capture file ({exc}); capture stopped")
        for data, t in output:  # each at its arrival time (the batch is up to BATCH_S old)
            self._chunk_time = t
            self._events(self.parser.feed(data))

    def _handle(self, item: Any) -> None:
        if isinstance(item, list):
            self._events(item)
        elif isinstance(item, Sample):
            self._sample = item
        elif isinstance(item, AlertEvent):
            self.stats.alerts += 1
            self._call(self._on_alert, item, "alert callback")

    def _events(self, events: list[RunEvent]) -> None:
        for event in events:
            self.tracker.apply(event)
            if isinstance(event, RunMetrics):
                self.stats.metrics += 1
                self._store_metrics(event)
            for alert in self.alerts.update(event):
                self._alert(alert)

    def _store_metrics(self, metrics: RunMetrics) -> None:
        self._store.add_metrics(metrics)

    def _alert(self, alert: RunAlert) -> None:
        self.tracker.apply_alert(alert)
        self.stats.alerts += 1
        self._store.call(lambda s, session: s.add_event(
            session, t=alert.time, kind="alert", name=alert.kind, state=alert.state,
            message=alert.message, value=alert.value))
        self._call(self._on_alert, alert, "alert callback")

    def _process_tick(self, now: float) -> ProcessTick:
        sample = self._sample
        pids = self._tree.pids() if self._tree is not None else frozenset()
        alive = bool(pids) if self._tree is not None else True
        cpu = self._tree.cpu_pct() if self._tree is not None and pids else None
        vram = util = used = total = None
        if sample is not None and sample.gpus:
            if pids:
                vram = process_tree_vram(sample, pids)
            utils = [g.utilization_pct for g in sample.gpus if g.utilization_pct is not None]
            util = max(utils) if utils else None
            busiest = max(sample.gpus, key=lambda g: g.memory_used_bytes or 0)
            used, total = busiest.memory_used_bytes, busiest.memory_total_bytes
        return ProcessTick(time=now, alive=alive, process_vram_bytes=vram, gpu_util_pct=util,
                           cpu_pct=cpu, card_vram_used_bytes=used, card_vram_total_bytes=total)

    def _tick(self) -> None:
        now = self._clock()
        cpu = None
        if self._ended is None:
            tick = self._process_tick(now)
            cpu = tick.cpu_pct
            self._events([tick])
        snap = self.tracker.snapshot(now)
        with self._lock:
            self._snapshot = snap
        if self._ended is None:
            row = ProgressRow(now, snap.step, snap.total, snap.rate, snap.eta_s,
                              snap.process_vram_bytes, cpu)
            self._store.call(lambda s, session: s.add_run_progress(session, row))
            self._ticks += 1
            if self._ticks % RUN_ROW_EVERY == 0:  # a killed wrapper still leaves the run's facts
                self._store.call(lambda s, session: s.update_run(session, **progress_fields(
                    snap, snap.loss_truth.final)))
        self._call(self._on_snapshot, snap, "snapshot callback")

    def _end(self, ended: RunEnded | None) -> None:
        try:
            self._events(self.parser.close())
        except Exception as exc:  # noqa: BLE001 - the end is recorded all the same
            self._bug(exc)
        if ended is not None:
            ended = RunEnded(time=ended.time, outcome=ended.outcome, exit_code=ended.exit_code,
                             signal=ended.signal, duration_s=ended.duration_s,
                             last_lines=self.parser.last_lines() or ended.last_lines,
                             out_of_memory=ended.out_of_memory or self.parser.out_of_memory)
            self._ended = ended
            self._events([ended])
        snap = self.tracker.snapshot(self._clock())
        with self._lock:
            self._snapshot = snap
        self._store.call(lambda s, session: s.update_run(session, **final_fields(
            snap, snap.loss_truth.final)))
        self._store.commit()
        self._store.close()
        self._call(self._on_snapshot, snap, "snapshot callback")
