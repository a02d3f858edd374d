"""Finding and following a live training run in the monitor database, off the GUI thread.

``rigready run`` and ``rigready monitor --watch`` record their run in the monitor database while
it goes on (the window's own database unless they were given ``--db``). The window follows the
run there rather than watching a log folder itself: one reader of the run's output (the
recorder, whose alerts, ETA and history the CLI, the exporter and the window then share), no
second GPU sampler, and runs started from a terminal, over SSH or in tmux show up by themselves.

:class:`RunFinder` (Qt-free) does one poll: it finds the newest run whose rigready still holds
the database's lock (a run row says "running" after its rigready was killed; the lock does not
outlive it), or one that ended since the window began looking (a run that crashed within a
second), then reads only the rows written since the last poll
(:meth:`~rigready.monitor.store.Store.run_rows_after`), the run's process tree and whether its
rigready shows desktop notifications itself. :class:`RunFollower` runs it once a second on a
daemon thread with its own read-only connection; a 1 s ``QTimer`` on the GUI thread hands the
results over as signals, as :class:`~rigready.desktop.monitoring.controller.MonitorController`
does with samples.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from rigready.monitor.store import Store, StoreError
from rigready.monitor.store_lock import LockRecord, monitor_running, read_record
from rigready.monitor.store_runs import RunRecord, RunRowsAfter
from rigready.monitor.training.process import ProcessTree

log = logging.getLogger(__name__)

#: Environment variables without which a process cannot show desktop notifications.
_DESKTOP_VARIABLES = ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY")


@dataclass(frozen=True, slots=True)
class RunPoll:
    """One poll's news about the followed run."""

    record: RunRecord
    rows: RunRowsAfter | None
    #: A different run than the last poll's: start a new view.
    new: bool
    #: Its rigready still records it (False after that process died without an end).
    recording: bool
    #: The run's process tree (None: not known, e.g. a ``--watch`` run).
    pids: frozenset[int] | None
    #: Whether the run's own rigready shows desktop notifications (None: cannot tell).
    notifies: bool | None


def rigready_notifies(pid: int) -> bool | None:
    """Whether the rigready process ``pid`` shows desktop notifications itself: it was not given
    ``--no-desktop-notify`` and has a desktop session. None when that cannot be read."""
    try:
        import psutil

        process = psutil.Process(pid)
        if "--no-desktop-notify" in process.cmdline():
            return False
        environment = process.environ()
    except Exception:  # noqa: BLE001 - gone, not ours, psutil missing: cannot tell
        return None
    return any(environment.get(name) for name in _DESKTOP_VARIABLES)


class RunFinder:
    """One poll at a time (see the module docstring); not thread-safe, one thread uses it."""

    def __init__(self, db_path: Path, *, clock: Callable[[], float] = time.time,
                 lock_record: Callable[[Path], LockRecord | None] = read_record,
                 lock_held: Callable[[Path], bool] = monitor_running,
                 process_tree: Callable[[int], frozenset[int]] | None = None,
                 notifies: Callable[[int], bool | None] = rigready_notifies,
                 find_every_s: float = 2.0, pids_every_s: float = 2.0) -> None:
        """Configure; the lock and process readers are injectable for tests."""
        self.db_path = db_path
        self._clock = clock
        self._lock_record = lock_record
        self._lock_held = lock_held
        self._tree = process_tree or (lambda pid: ProcessTree(pid).pids())
        self._notifies = notifies
        self._find_every = find_every_s
        self._pids_every = pids_every_s
        self.session_id: int | None = None
        self._cursors = (0, 0, 0)
        self._ended = False
        self._last_find = -float("inf")
        self._last_pids = -float("inf")
        self._holder: int | None = None
        #: Runs that end after this are shown even if they ended between two polls (a run that
        #: crashes in its first second); set at the first poll.
        self._since: float | None = None
        self._followed: set[int] = set()

    def _holder_of(self, session_id: int) -> int | None:
        """The pid of the rigready recording ``session_id`` now, else None."""
        record = self._lock_record(self.db_path)
        if record is None or record.session != session_id or not self._lock_held(self.db_path):
            return None
        return record.pid

    def _find(self, store: Store) -> RunRecord | None:
        now = self._clock()
        if self._since is None:
            self._since = now
        if now - self._last_find < self._find_every:
            return None
        self._last_find = now
        for record in store.runs():  # newest first
            if record.session_id in self._followed:
                continue
            if record.outcome == "running" and self._holder_of(record.session_id) is not None:
                return record
            if record.ended is not None and record.ended >= self._since:
                return record  # ended since the window looked: it is news
        return None

    def poll(self, store: Store) -> RunPoll | None:
        """What changed since the last poll (None: nothing to tell)."""
        new = False
        if self.session_id is None or self._ended:
            found = self._find(store)
            if found is None:
                return None
            self.session_id, self._cursors, self._ended, new = found.session_id, (0, 0, 0), \
                False, True
            self._followed.add(found.session_id)
            self._holder = self._holder_of(found.session_id)
            self._last_pids = -float("inf")
        session_id = self.session_id
        assert session_id is not None
        record = store.run(session_id)
        if record is None:  # the run was deleted (retention): look for another
            self._ended = True
            return None
        rows = store.run_rows_after(session_id, *self._cursors)
        self._cursors = (rows.metrics_after, rows.progress_after, rows.events_after)
        recording = record.outcome != "running" or self._holder_of(session_id) is not None
        if record.outcome != "running" or not recording:
            self._ended = True  # the last rows are read; look for the next run from now on
        pids = None
        now = self._clock()
        if self._holder is not None and record.source != "watch" and recording \
                and (new or now - self._last_pids >= self._pids_every):
            self._last_pids = now
            pids = self._tree(self._holder)
        notifies = None if not new or self._holder is None else self._notifies(self._holder)
        return RunPoll(record, rows, new, recording, pids, notifies)


class RunFollower(QObject):
    """Runs a :class:`RunFinder` once a second on its own thread; emits ``polled(RunPoll)`` on
    the GUI thread (drained by a ``QTimer``, like the sampler's samples)."""

    polled = Signal(object)

    def __init__(self, db_path: Path, *, poll_s: float = 1.0,
                 finder: RunFinder | None = None, parent: QObject | None = None) -> None:
        """Configure; :meth:`start` starts the thread."""
        super().__init__(parent)
        self.finder = finder or RunFinder(db_path)
        self.db_path = db_path
        self._poll_s = poll_s
        self._news: deque[RunPoll] = deque(maxlen=1000)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(max(50, int(poll_s * 1000)))
        self.timer.timeout.connect(self.drain)

    @property
    def running(self) -> bool:
        """Whether the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start following (no-op when running)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rigready-run-follower",
                                        daemon=True)
        self._thread.start()
        self.timer.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (the window is closing)."""
        self.timer.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._thread = None

    @Slot()
    def drain(self) -> None:
        """Emit what the thread found since the last call."""
        while self._news:
            self.polled.emit(self._news.popleft())

    def _loop(self) -> None:
        store: Any = None
        told = False
        while not self._stop.is_set():
            try:
                if store is None and self.db_path.exists():
                    store = Store(self.db_path, readonly=True)
                if store is not None:
                    news = self.finder.poll(store)
                    if news is not None:
                        self._news.append(news)
                told = False
            except StoreError as exc:  # locked for a moment, replaced, not ours yet: retry
                if not told:
                    log.info("cannot follow runs in %s: %s", self.db_path, exc)
                    told = True
                if store is not None:
                    store.close()
                store = None
            except Exception:
                log.exception("following runs failed")
            self._stop.wait(self._poll_s)
        if store is not None:
            store.close()
