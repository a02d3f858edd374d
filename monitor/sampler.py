"""The sampler: a daemon thread that reads the providers every ``interval_s`` seconds.

Each tick merges the providers' readings into one :class:`~monitor.sample.Sample`, publishes it
for the GUI (:meth:`Sampler.latest`, under a lock), judges alerts, and, when a database path was
given, writes it through the thread's own :class:`~monitor.store.Store` connection, committing at
least once a second. A provider that raises :class:`ProviderError` is retried with exponential
backoff (1 s, 2 s, ... up to 60 s) and the outage is logged once and stored as a ``gap`` event,
then a ``recovered`` event; a provider that raises anything else has a bug and is switched off
(:mod:`rigready.monitor.tick_events`, with the stall and throttle events of a tick).
Nothing a provider or the database does stops the thread.

Clocks are injected; :meth:`Sampler.open_session`, :meth:`Sampler.tick` and
:meth:`Sampler.close_session` run on the caller's thread, so tests drive it without sleeping.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from rigready.monitor.alerts import AlertConfig, AlertEngine, AlertEvent
from rigready.monitor.providers.base import Provider
from rigready.monitor.sample import GpuSample, HostSample, Sample
from rigready.monitor.store import Store, StoreError
from rigready.monitor.store_lock import MonitorLock
from rigready.monitor.store_read import EventRecord
from rigready.monitor.store_session import open_for_session, report_previous
from rigready.monitor.throttle import ThrottleLog
from rigready.monitor.tick_events import ProviderPoll, TickEvent, stall_gap, throttle_events

log = logging.getLogger("rigready.monitor.sampler")
_T = TypeVar("_T")

MIN_INTERVAL_S = 0.2
MAX_INTERVAL_S = 60.0
DEFAULT_INTERVAL_S = 1.0
COMMIT_EVERY_S = 1.0
#: (kind, name, gpu, message, value, state) of an event to store.
class SamplerError(ValueError):
    """Bad sampler settings (interval out of range) or misuse (started twice)."""


def validate_interval(seconds: float) -> float:
    """Return ``seconds`` if within 0.2-60 s, else raise :class:`SamplerError`."""
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise SamplerError(f"interval must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} s, "
                           f"got {seconds:g}")
    return float(seconds)


class Sampler:
    """Samples providers on its own thread and logs sessions to SQLite."""

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        db_path: Path | str | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        alert_config: AlertConfig | None = None,
        on_sample: Callable[[Sample], None] | None = None,
        on_alert: Callable[[AlertEvent], None] | None = None,
        on_event: Callable[[EventRecord], None] | None = None,
        on_store_problem: Callable[[str | None], None] | None = None,
        host: str | None = None,
        commit_every_s: float = COMMIT_EVERY_S,
        retention: tuple[float, float] | None = (7.0, 365.0),
    ) -> None:
        """Configure (nothing runs until :meth:`start`).

        Args:
            providers: Sources to read each tick (the sampler never closes them until
                :meth:`close`).
            db_path: SQLite file to log to; None keeps samples in memory only (``latest``).
            interval_s: Seconds between ticks, 0.2-60.
            clock: Wall clock (Unix seconds) stamped on samples and events.
            monotonic: Clock for scheduling, backoff and commit timing.
            alert_config: Alert thresholds.
            on_sample: Called on the sampler thread after each tick.
            on_alert: Called on the sampler thread for every alert raised or cleared.
            on_event: Called on the sampler thread for every other event of a tick (throttle
                episode start/end, provider gap, recovery), as an unsaved record (``id`` 0).
            on_store_problem: Called on the sampler thread when writing to the database starts
                failing (with the reason: disk full, locked, I/O error; the rows stay queued
                and are retried) and with None when it works again.
            host: Host name recorded with the session (this machine's when None).
            commit_every_s: Longest time rows may wait for a commit.
            retention: (raw days, aggregate days) applied to the database when a session
                opens; None skips it.

        Raises:
            SamplerError: Interval out of range.
        """
        self.interval_s = validate_interval(interval_s)
        self._providers = [ProviderPoll(p) for p in providers]
        self._db_path = None if db_path is None else Path(db_path)
        self._clock = clock
        self._monotonic = monotonic
        self._alerts = AlertEngine(alert_config or AlertConfig())
        self._on_sample = on_sample
        self._on_alert = on_alert
        self._on_event = on_event
        self._on_store_problem = on_store_problem
        self._lock_file: MonitorLock | None = None
        #: Why the database cannot be written now (None while writes succeed).
        self.store_problem: str | None = None
        #: Ticks of the last session that never reached the database (known at close).
        self.lost_samples = 0
        #: What the user must be told about the database (a corrupt one set aside).
        self.store_notices: tuple[str, ...] = ()
        self._host = host or socket.gethostname()
        self._commit_every = commit_every_s
        self._retention = retention
        self._lock = threading.Lock()
        self._latest: Sample | None = None
        self._store: Store | None = None
        self._session_id: int | None = None
        self._oldest_pending: float | None = None
        self._last_tick: tuple[float, float] | None = None  # (clock, monotonic) of the last tick
        self._throttle = ThrottleLog()
        self._recorded_gpus: tuple[str, ...] = ()
        self._recorded_notes: tuple[str, ...] = ()
        self._warned: set[str] = set()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._startup_error: BaseException | None = None
        self.ticks = 0
        #: CPU seconds the sampling thread has used in the current session.
        self.cpu_seconds = 0.0

    # -- public, any thread ---------------------------------------------------------------

    def latest(self) -> Sample | None:
        """The newest sample (None before the first tick)."""
        with self._lock:
            return self._latest

    def active_alerts(self) -> tuple[AlertEvent, ...]:
        """Alerts currently raised."""
        with self._lock:
            return self._alerts.active()

    @property
    def session_id(self) -> int | None:
        """The database id of the running session (None without a database)."""
        return self._session_id

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def set_alert_config(self, config: AlertConfig) -> None:
        """Judge alerts with new thresholds from the next tick on (alert state is kept)."""
        with self._lock:
            self._alerts.config = config

    def notes(self) -> tuple[str, ...]:
        """The providers' notes (switched-off fields), prefixed with the provider name."""
        return tuple(f"{s.provider.name}: {n}" for s in self._providers
                     for n in s.provider.notes())

    def start(self, label: str | None = None) -> int | None:
        """Start a session on a new daemon thread; returns its id once the first tick is due.

        Raises:
            SamplerError: Already running.
            StoreError: The database could not be opened.
        """
        if self.running:
            raise SamplerError("the sampler is already running")
        self._stop.clear()
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, args=(label,), name="rigready-sampler",
                                        daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error
        return self._session_id

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, end the session and commit. Safe to call when not running."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        """Stop, then close every provider."""
        self.stop()
        for state in self._providers:
            try:
                state.provider.close()
            except Exception:
                log.debug("closing %s failed", state.provider.name, exc_info=True)

    def _run(self, label: str | None) -> None:
        try:
            self.open_session(label)
        except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        cpu_start = time.thread_time()
        try:
            due = self._monotonic()
            while True:
                self.tick()
                self.cpu_seconds = time.thread_time() - cpu_start
                due += self.interval_s
                now = self._monotonic()
                if due < now:  # fell behind (suspend, slow disk): skip, never burst
                    due = now
                if self._stop.wait(due - now):
                    break
        finally:
            self.close_session()

    # -- the sampling thread (or a test driving it) ---------------------------------------

    def open_session(self, label: str | None = None) -> int | None:
        """Open the store (on this thread) and record a new session; resets alert state."""
        self._alerts.reset()
        self._throttle.reset()
        self._recorded_gpus = ()
        self._last_tick = None
        self.ticks = 0
        self.cpu_seconds = 0.0
        if self._db_path is None:
            self._session_id = None
            return None
        self.lost_samples = 0
        self._set_store_problem(None)
        store, lock = open_for_session(self._db_path)
        try:
            self.store_notices = (*store.notices,
                                  *report_previous(store, lock.previous, self._clock))
            if self._retention is not None:
                raw_days, aggregate_days = self._retention
                done = store.apply_retention(self._clock(), raw_days=raw_days,
                                             aggregate_days=aggregate_days)
                if done.folded_rows or done.deleted_aggregates:
                    log.info("retention: %d raw rows folded into 1-minute aggregates, %d old "
                             "aggregates removed", done.folded_rows, done.deleted_aggregates)
            self._recorded_notes = self.notes()
            self._session_id = store.start_session(
                label=label, host=self._host, interval_s=self.interval_s,
                started=self._clock(), notes=self._recorded_notes)
        except BaseException:
            with contextlib.suppress(StoreError):  # a failed start leaves neither a
                store.close()                      # connection nor a lock behind
            lock.release()
            raise
        self._store, self._lock_file = store, lock
        self._oldest_pending = None
        lock.record(self._session_id, 0, 0)
        return self._session_id

    def close_session(self) -> None:
        """End the session, commit and close the store."""
        store, self._store = self._store, None
        lock, self._lock_file = self._lock_file, None
        if store is None or self._session_id is None:
            if lock is not None:
                lock.release()
            return
        try:
            ended = self._clock()
            for change in self._throttle.close(ended):
                store.add_event(self._session_id, t=ended, kind="throttle", name=change.reason,
                                gpu=change.gpu, state=change.state, message=change.message,
                                value=change.duration_s)
            store.end_session(self._session_id, ended)
        except StoreError as exc:
            log.warning("could not close the session cleanly: %s", exc)
            self._set_store_problem(str(exc))
        finally:
            self.lost_samples = store.queued_samples + store.dropped
            try:
                store.close()
            except StoreError as exc:
                log.warning("closing the database failed: %s", exc)
            if lock is not None:
                lock.record(self._session_id, self.ticks, self.lost_samples)
                lock.release()
        if self.lost_samples:
            log.error("%d samples of session %s could not be saved: %s", self.lost_samples,
                      self._session_id, self.store_problem)

    def tick(self) -> Sample:
        """Read every provider once, publish, judge alerts, queue rows, commit when due."""
        now = self._clock()
        mono = self._monotonic()
        host: HostSample | None = None
        gpus: list[GpuSample] = []
        events = stall_gap(self._last_tick, now, mono, self.interval_s)
        self._last_tick = (now, mono)
        for state in self._providers:
            reading = state.read(now, mono, self.interval_s, events)
            if reading is None:
                continue
            if host is None and reading.host is not None:
                host = reading.host
            gpus.extend(reading.gpus)
        sample = Sample(time=now, host=host or HostSample(),
                        gpus=tuple(sorted(gpus, key=lambda g: g.index)))
        events.extend(throttle_events(self._throttle, sample))
        with self._lock:
            self._latest = sample
            alerts = self._alerts.update(sample, in_session=True)
        self.ticks += 1
        self._persist(sample, events, alerts, mono)
        for alert in alerts:
            self._call(self._on_alert, alert, "on_alert")
        for kind, name, gpu_index, message, value, change in events:
            self._call(self._on_event, EventRecord(0, self._session_id, now, kind, name, change,
                                                   gpu_index, message, value), "on_event")
        self._call(self._on_sample, sample, "on_sample")
        return sample

    def _persist(self, sample: Sample, events: list[TickEvent],
                 alerts: tuple[AlertEvent, ...], mono: float) -> None:
        store, session = self._store, self._session_id
        if store is None or session is None:
            return
        try:
            store.add_sample(session, sample)
            for kind, name, gpu, message, value, state in events:
                store.add_event(session, t=sample.time, kind=kind, name=name, gpu=gpu,
                                message=message, value=value, state=state)
            for a in alerts:
                store.add_event(session, t=a.time, kind="alert", name=a.kind, state=a.state,
                                gpu=a.gpu, message=a.message, value=a.value)
            self._record_session_facts(store, session, sample)
            if self._oldest_pending is None:
                self._oldest_pending = mono
            # Commit now if waiting for the next tick would leave the oldest queued row
            # uncommitted for longer than commit_every (at 1 Hz: every tick).
            if mono - self._oldest_pending + self.interval_s >= self._commit_every - 1e-6:
                store.commit()
                self._oldest_pending = None
                self._set_store_problem(None)
                self._record_status(store)
        except StoreError as exc:
            self._set_store_problem(str(exc), waiting=store.queued_samples)
            self._record_status(store)

    def _record_status(self, store: Store) -> None:
        """After each commit attempt: the lock file's status line says how many samples were
        taken and how many wait in memory, for the next start to report after a SIGKILL."""
        if self._lock_file is not None:
            self._lock_file.record(self._session_id, self.ticks,
                                   store.queued_samples + store.dropped)

    def _set_store_problem(self, problem: str | None, waiting: int = 0) -> None:
        """Record whether writing works; tell the owner (stderr, the GUI's banner) on change.

        :attr:`store_problem` keeps the cause only: the count of samples waiting belongs to
        the moment it was told (a final message quoting it was stale).
        """
        if (problem is None) == (self.store_problem is None):
            self.store_problem = problem if problem is None else self.store_problem
            return
        self.store_problem = problem
        told = problem
        if problem is None:
            log.warning("writing samples works again; the waiting samples were saved")
        else:
            if waiting:
                told = f"{problem} ({waiting} samples waiting in memory)"
            log.warning("writing samples failed, will keep trying: %s", told)
        if self._on_store_problem is not None:
            self._call(self._on_store_problem, told, "on_store_problem")

    def _record_session_facts(self, store: Store, session: int, sample: Sample) -> None:
        gpus = tuple(f"{g.index}: {g.name}" for g in sample.gpus)
        if gpus and gpus != self._recorded_gpus:
            known = self._recorded_gpus
            self._recorded_gpus = tuple(sorted(set(known) | set(gpus)))
            store.update_session(session, gpus=self._recorded_gpus)
        notes = self.notes()
        if notes != self._recorded_notes:
            self._recorded_notes = notes
            store.update_session(session, notes=notes)

    def _call(self, callback: Callable[[_T], None] | None, arg: _T, what: str) -> None:
        if callback is None:
            return
        try:
            callback(arg)
        except Exception as exc:  # noqa: BLE001 - a GUI callback must not stop sampling
            self._warn_once(what, f"{what} callback failed: {exc!r}")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", message)
