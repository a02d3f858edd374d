"""The GUI's owner of the sampler thread.

The :class:`~monitor.sampler.Sampler` runs on its own thread with its own SQLite connection. Its
callbacks only append to thread-safe deques; a ``QTimer`` on the GUI thread drains them every
``poll_ms`` and emits plain signals, so no widget is touched from another thread and the GUI
thread never reads NVML or writes SQLite. Starting (provider set-up: ``nvmlInit``, field probes;
opening the database and applying retention) and stopping run on the thread pool through
:class:`~desktop.worker.GeneratorWorker`.

Two modes: *watching* samples without a database (live values only) and *logging* records a
session in ``db_path``. Providers are created once and reused across sessions.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from rigready.desktop.worker import GeneratorWorker
from rigready.monitor.alerts import AlertConfig, AlertEvent
from rigready.monitor.providers.base import Provider
from rigready.monitor.sample import Sample
from rigready.monitor.sampler import Sampler
from rigready.monitor.store_read import EventRecord

log = logging.getLogger(__name__)

ProvidersFactory = Callable[[], tuple[list[Provider], list[str]]]
_QUEUE = 100_000


def _default_providers() -> tuple[list[Provider], list[str]]:
    from rigready.monitor.providers import default_providers

    return default_providers()


@dataclass(frozen=True, slots=True)
class _Started:
    sampler: Sampler
    providers: list[Provider]
    skipped: tuple[str, ...]
    logging: bool
    label: str | None
    started: float


class MonitorController(QObject):
    """Starts and stops the sampler off the GUI thread and relays its output as signals.

    Signals:
        samples_ready: ``list[Sample]`` received since the last poll, oldest first.
        alert_changed: One :class:`AlertEvent` (raised or cleared).
        event_logged: One :class:`EventRecord` (throttle episode, gap, recovery).
        state_changed: ``str``, the new :attr:`state`.
        failed: ``str``, why starting failed.
    """

    samples_ready = Signal(list)
    alert_changed = Signal(object)
    event_logged = Signal(object)
    state_changed = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        db_path: Path,
        *,
        providers: ProvidersFactory = _default_providers,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        interval_s: float = 1.0,
        poll_ms: int = 1000,
        alert_config: AlertConfig | None = None,
        parent: QObject | None = None,
    ) -> None:
        """Configure; nothing runs until :meth:`watch` or :meth:`start_logging`.

        Args:
            db_path: Database the logging sessions go to.
            providers: Makes the providers and the list of skipped sources (called once, on
                the thread pool).
            clock: Wall clock for samples.
            monotonic: Scheduling clock for the sampler.
            interval_s: Seconds between samples.
            poll_ms: How often the GUI drains the sampler's output.
            alert_config: Alert thresholds.
            parent: Qt parent.
        """
        super().__init__(parent)
        self.db_path = db_path
        self._factory = providers
        self._clock = clock
        self._monotonic = monotonic
        self.interval_s = interval_s
        self._alert_config = alert_config or AlertConfig()
        self._samples: deque[Sample] = deque(maxlen=_QUEUE)
        self._alerts: deque[AlertEvent] = deque(maxlen=_QUEUE)
        self._events: deque[EventRecord] = deque(maxlen=_QUEUE)
        self._providers: list[Provider] | None = None
        self._sampler: Sampler | None = None
        self._worker: GeneratorWorker | None = None
        self.state = "stopped"
        self.skipped: tuple[str, ...] = ()
        self.session_id: int | None = None
        self.session_label: str | None = None
        self.session_started: float | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)

    # -- public, GUI thread --------------------------------------------------------------

    @property
    def sampler(self) -> Sampler | None:
        """The running sampler (None while stopped)."""
        return self._sampler

    @property
    def busy(self) -> bool:
        """Whether a start or stop is under way."""
        return self._worker is not None and self._worker.running

    @property
    def alert_config(self) -> AlertConfig:
        """The thresholds samplers get."""
        return self._alert_config

    def now(self) -> float:
        """The sampler's wall clock now."""
        return self._clock()

    def notes(self) -> tuple[str, ...]:
        """Provider notes (switched-off fields) of the running sampler."""
        return () if self._sampler is None else self._sampler.notes()

    def storage_problems(self) -> list[tuple[str, str]]:
        """Database trouble the user must see now, as banner lines ("storage", message): a
        write that keeps failing (disk full, locked) or a corrupt database set aside."""
        sampler = self._sampler
        if sampler is None:
            return []
        out = [("storage", f"samples are not being saved: {sampler.store_problem}")
               ] if sampler.store_problem else []
        return out + [("storage", notice) for notice in sampler.store_notices]

    def active_alerts(self) -> tuple[AlertEvent, ...]:
        """Alerts raised and not yet cleared."""
        return () if self._sampler is None else self._sampler.active_alerts()

    def watch(self) -> None:
        """Sample without recording (live values only); no-op while busy or already running."""
        if self.busy or self.state == "watching":
            return
        self._begin(logging=False, label=None)

    def start_logging(self, label: str | None = None) -> None:
        """Record a new session in the database (restarting the sampler with it)."""
        if self.busy or self.state == "logging":
            return
        self._begin(logging=True, label=(label or "").strip() or None)

    def stop_logging(self) -> None:
        """End the session and go back to watching."""
        if self.busy or self.state != "logging":
            return
        self._begin(logging=False, label=None)

    def set_alert_config(self, config: AlertConfig) -> None:
        """New thresholds, for the running sampler and the next ones."""
        self._alert_config = config
        if self._sampler is not None:
            self._sampler.set_alert_config(config)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop everything now (the window is closing): blocks until the session is closed."""
        self.timer.stop()
        if self._worker is not None:
            self._worker.wait(timeout_s)
        sampler = self._sampler
        self._sampler = None
        if sampler is not None:
            sampler.stop(timeout_s)
        for provider in self._providers or ():
            try:
                provider.close()
            except Exception:
                log.debug("closing %s failed", provider.name, exc_info=True)
        self._providers = None
        self._set_state("stopped")

    @Slot()
    def poll(self) -> None:
        """Drain what the sampler produced and emit it (the timer calls this)."""
        batch: list[Sample] = []
        while self._samples:
            batch.append(self._samples.popleft())
        while self._events:
            self.event_logged.emit(self._events.popleft())
        while self._alerts:
            self.alert_changed.emit(self._alerts.popleft())
        if batch:
            self.samples_ready.emit(batch)

    # -- starting and stopping -----------------------------------------------------------

    def _begin(self, *, logging: bool, label: str | None) -> None:
        old = self._sampler
        providers = self._providers
        self._sampler = None
        self._set_state("starting" if old is None else "switching")

        def job() -> Generator[str, None, _Started]:
            if old is not None:
                yield "Stopping the sampler…"
                old.stop()
            yield "Starting the sampler…"
            found, skipped = (providers, list(self.skipped)) if providers is not None \
                else self._factory()
            sampler = Sampler(found, db_path=self.db_path if logging else None,
                              interval_s=self.interval_s, clock=self._clock,
                              monotonic=self._monotonic, alert_config=self._alert_config,
                              on_sample=self._samples.append, on_alert=self._alerts.append,
                              on_event=self._events.append)
            started = self._clock()
            try:
                sampler.start(label)
            except BaseException:
                if providers is None:  # made here: nobody else will close them
                    for provider in found:
                        provider.close()
                raise
            return _Started(sampler, found, tuple(skipped), logging, label, started)

        worker = GeneratorWorker(job, self)
        worker.finished.connect(self._on_started)
        worker.errored.connect(self._on_failed)
        self._worker = worker
        worker.start()

    @Slot(object)
    def _on_started(self, result: _Started) -> None:
        self._sampler = result.sampler
        self._providers = result.providers
        self.skipped = result.skipped
        self.session_id = result.sampler.session_id if result.logging else None
        self.session_label = result.label
        self.session_started = result.started
        self.timer.start()
        self._set_state("logging" if result.logging else "watching")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        log.warning("the sampler could not start: %s", message)
        self.session_id = None
        self._set_state("stopped")
        self.failed.emit(message)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
