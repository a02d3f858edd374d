"""The recorder's own connection to the monitor database (on the recorder thread).

Rows are queued in memory and written in one transaction every
:data:`~.recorder.COMMIT_EVERY_S`; logged records go in one multi-row insert per commit (a row
at a time cost four times as much). A failure (full disk, locked database) is told once through
``tell`` and the rows wait for the next commit; nothing here raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rigready.monitor.training.events import RunMetrics

log = logging.getLogger("rigready.monitor.training")


class RecorderStore:
    """One run's rows, written through a :class:`~rigready.monitor.store.Store` of its own."""

    def __init__(self, db_path: Path | None, tell: Callable[[str, str], None],
                 forget: Callable[[str], None]) -> None:
        """Nothing is opened until :meth:`open`; ``tell(key, text)`` says a problem once,
        ``forget(key)`` lets it be said again."""
        self._db_path = db_path
        self._tell = tell
        self._forget = forget
        self._store: Any = None
        self._session: int | None = None
        self._metrics: list[RunMetrics] = []
        self._failing = False

    @property
    def open_(self) -> bool:
        """Whether rows are being saved."""
        return self._store is not None

    def open(self, session_id: int | None, **run: Any) -> None:
        """Open the store and start the run's row (``run``: the ``runs`` columns)."""
        if self._db_path is None or session_id is None:
            return
        from rigready.monitor.store import Store, StoreError

        self._session = session_id
        try:
            self._store = Store(self._db_path)
            self._store.start_run(session_id, **run)
        except (StoreError, OSError, ValueError) as exc:
            self._tell("store", f"not saving this run's progress to the database: {exc}; "
                                "the run goes on")
            if self._store is not None:
                self.close()

    def add_metrics(self, metrics: RunMetrics) -> None:
        """Keep one logged record for the next commit."""
        if self._store is not None:
            self._metrics.append(metrics)

    def call(self, action: Callable[[Any, int], None]) -> None:
        """Queue a write: ``action(store, session_id)``."""
        if self._store is None or self._session is None:
            return
        try:
            action(self._store, self._session)
        except Exception as exc:  # noqa: BLE001 - StoreError and anything else alike
            self._tell("store-write", f"cannot save the run: {exc}; retrying, the run goes on")

    def commit(self) -> None:
        """Write what is queued (the rows stay queued when it fails)."""
        if self._store is None:
            return
        if self._metrics and self._session is not None:
            batch, self._metrics = self._metrics, []
            self.call(lambda s, session: s.add_run_metrics_many(session, batch))
        try:
            self._store.commit()
        except Exception as exc:  # noqa: BLE001
            if not self._failing:
                self._failing = True
                self._tell("commit", f"cannot save the run: {exc}; the rows wait in memory "
                                     "and are retried, the run goes on")
            return
        if self._failing:
            self._failing = False
            self._forget("commit")
            log.warning("saving the run works again")

    def close(self) -> None:
        """Close the store (after a last :meth:`commit` by the caller)."""
        store, self._store = self._store, None
        if store is None:
            return
        try:
            store.close()
        except Exception as exc:  # noqa: BLE001
            if self._failing:  # already told: say it once
                log.warning("closing the run's store failed: %s", exc)
            else:
                self._tell("close", f"some of the run could not be saved: {exc}")
