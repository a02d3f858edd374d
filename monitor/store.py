"""The monitor's SQLite database (through sqlite-utils): sessions, samples, events, aggregates
and benchmark results.

- WAL journal, ``synchronous=NORMAL``: a second process (another app window, ``rigready
  history``) reads while the sampler writes, and a killed writer loses only uncommitted rows.
- Writes are batched: :meth:`Store.add_sample` and :meth:`Store.add_event` open a transaction
  that :meth:`Store.commit` closes; the sampler commits at least once a second.
- The schema version lives in ``PRAGMA user_version`` and is migrated forward on open
  (:mod:`rigready.monitor.schema`).
- Each thread needs its own :class:`Store` (sqlite3 connections are per thread).
- Queued rows stay in memory until a commit succeeds: a locked database, a full disk or an I/O
  error rolls the batch back and keeps it for the next commit, so nothing is lost while the
  problem lasts (up to :data:`MAX_QUEUED` rows; older ones are counted in ``dropped``).

Environmental problems (unwritable folder, corrupt or foreign file, newer schema, disk full) raise
:class:`StoreError` with a one-line message and a ``kind``. Before anything is written
(:mod:`rigready.monitor.store_guard`): the disk must have room, a non-SQLite file or another
program's database is refused untouched, and a corrupt rigready database is renamed aside
(``notices`` says so) and a fresh one started. Memory-mapped I/O stays off (``mmap_size=0``).
Read-only stores never write; when the disk is full or the folder read-only they read a private
copy.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import sqlite_utils

from rigready.monitor import export, retention
from rigready.monitor.retention import Aggregate, RetentionResult
from rigready.monitor.sample import GpuSample, Sample
from rigready.monitor.schema import GPU_COLUMNS, HOST_COLUMNS, MIGRATIONS, SCHEMA_VERSION
from rigready.monitor.store_guard import (
    MIN_FREE_BYTES,
    GuardError,
    ReadCopy,
    check_space,
    open_for_reading,
    open_for_writing,
)
from rigready.monitor.store_lock import monitor_running
from rigready.monitor.store_read import (
    EventRecord,
    SessionInfo,
    read_events,
    read_samples,
    read_series,
    read_sessions,
)
from rigready.monitor.store_runs import (
    RUN_CSV_COLUMNS,
    ProgressRow,
    RunRecord,
    RunRowsAfter,
    metrics_row,
    read_run_metrics,
    read_run_progress,
    read_run_rows_after,
    read_runs,
    run_cells,
    run_row,
)
from rigready.monitor.store_wal import (
    WalDamage,
    db_page_size,
    keep_aside,
    orphaned_log,
    scan_wal,
)
from rigready.monitor.training.events import RunMetrics
from rigready.monitor.training.loss_truth import loss_truth

__all__ = [
    "BENCH_KINDS",
    "SCHEMA_VERSION",
    "Aggregate",
    "BenchResult",
    "EventRecord",
    "ProgressRow",
    "RetentionResult",
    "RunRecord",
    "SessionInfo",
    "Store",
    "StoreError",
]

log = logging.getLogger("rigready.monitor.store")

BENCH_KINDS: tuple[str, ...] = ("gemm-cpu", "gemm-gpu", "storage", "measure")
#: The oldest schema a read-only store reads without migrating (v2 only added the run tables,
#: which read as empty when missing), so 'history' and a replay work on a file not yet migrated.
READABLE_FROM = 1
#: Most rows kept in memory while commits fail (a day of 1 Hz samples with events).
MAX_QUEUED = 200_000


class StoreError(Exception):
    """The database cannot be used (path, permissions, corruption, version, disk full).

    ``kind``: "full", "locked", "readonly", "corrupt", "foreign", "io", "version" or "other".
    """

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class BenchResult:
    """One saved benchmark run."""

    id: int
    created: str
    fingerprint: str
    kind: str
    label: str
    result_json: str

    @property
    def result(self) -> Any:
        """``result_json`` parsed."""
        return json.loads(self.result_json)


def _gpu_row(session_id: int, t: float, gpu: GpuSample) -> dict[str, Any]:
    row: dict[str, Any] = {"session_id": session_id, "t": t, "gpu": gpu.index}
    for column in GPU_COLUMNS:
        row[column] = getattr(gpu, column)
    reasons = gpu.throttle_reasons
    row["throttle_reasons"] = None if reasons is None else ",".join(reasons)
    row["processes"] = json.dumps(
        [[p.pid, p.name, p.used_memory_bytes] for p in gpu.processes]) if gpu.processes else None
    return row


class Store:
    """One connection to the monitor database; use one per thread or process."""

    def __init__(self, path: Path | str, *, readonly: bool = False,
                 migrations: Sequence[Callable[[Any], None]] = MIGRATIONS,
                 min_free_bytes: int = MIN_FREE_BYTES) -> None:
        """Open (creating and migrating unless ``readonly``) the database at ``path``.

        Args:
            path: The SQLite file (its folder is created when missing).
            readonly: Open for reading only; the file must exist at the current schema.
            migrations: Forward migrations (tests pass their own list).
            min_free_bytes: Writing stops while this much is still free on the disk.

        Raises:
            StoreError: The file cannot be opened, is not a rigready database, or is newer.
        """
        self.path = Path(path)
        #: The file itself (symlinks, ``..`` and ``/proc/self/fd`` resolved, as SQLite resolves
        #: them to name the ``-wal``): what the checks look at, what is opened.
        self.real = Path(os.path.realpath(path))
        self._migrations = tuple(migrations)
        self._min_free = min_free_bytes
        self._queued: deque[tuple[bool, Callable[[], object]]] = deque()  # (is a sample, write)
        self._copy: ReadCopy | None = None
        #: Sample ticks given up after :data:`MAX_QUEUED` writes piled up behind failing commits.
        self.dropped = 0
        #: What the user must be told (a corrupt database set aside, a damaged log).
        self.notices: list[str] = []
        #: A damaged write-ahead log found on opening, and where its copy was kept (writers).
        self.wal_damage: WalDamage | None = None
        self.wal_kept: Path | None = None
        #: The database was started anew (a corrupt one renamed aside) when it was opened.
        self.fresh = False
        try:
            self._conn = self._connect(readonly)
            self._conn.execute("PRAGMA mmap_size = 0")  # no SIGBUS from a mapped main file
            self.db = sqlite_utils.Database(self._conn, execute_plugins=False)
            if not readonly:
                self._conn.execute("PRAGMA busy_timeout = 10000")
                if self.db.journal_mode != "wal":
                    self.db.enable_wal()
                self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(readonly)
        except GuardError as exc:
            self._abandon()
            raise StoreError(self._told(str(exc)), exc.kind) from None
        except sqlite3.DatabaseError as exc:
            self._abandon()
            raise StoreError(self._told(self._explain(exc)), self._kind(exc)) from None
        except OSError as exc:
            self._abandon()
            raise StoreError(self._told(f"cannot open the database at {self.path}: {exc}"),
                             "io") from None
        except StoreError as exc:
            self._abandon()
            raise StoreError(self._told(str(exc)), exc.kind) from None

    def _abandon(self) -> None:
        """After a failed open: close what was opened."""
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        self._drop_copy()

    def _told(self, problem: str) -> str:
        """``problem``, after what was found first (a damaged log explains missing tables)."""
        if self.wal_damage is None or not self.notices:
            return problem
        return f"{'; '.join(self.notices)}; and: {problem}"

    def _drop_copy(self) -> None:
        if self._copy is not None:
            self._copy.close()
            self._copy = None

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        self._check_wal(readonly)
        if readonly:
            conn, self._copy = open_for_reading(self.real)
            return conn
        conn, notices = open_for_writing(self.real, self._min_free)
        self.notices.extend(notices)
        self.fresh = bool(notices)  # the only notice: a corrupt database was set aside
        return conn

    def _check_wal(self, readonly: bool) -> None:
        """Before SQLite opens the file: find a damaged log (which it would replay only in
        part, and a writer then checkpoint away), keep a copy aside, say so.

        A reader only reports (and skips the check while a monitor writes: the live log is
        its writer's business); a writer refuses to open when no copy can be kept.
        """
        wal = Path(f"{self.real}-wal")
        if readonly and monitor_running(self.real):
            return
        orphan = orphaned_log(self.real, wal)
        damage = orphan or scan_wal(wal, db_page_size(self.real))
        if damage is None:
            return
        self.wal_damage = damage
        if readonly and orphan is not None:  # opening would delete the log: do not open
            raise GuardError("corrupt", f"{damage.describe()}; not opened, so nothing is "
                                        "discarded (the next 'rigready monitor' keeps a copy "
                                        "aside)")
        if readonly:
            self.notices.append(f"{damage.describe()}; the next 'rigready monitor' keeps a "
                                "copy aside before using the database")
            return
        try:
            self.wal_kept = keep_aside(self.real, wal)
        except OSError as exc:
            raise GuardError("io", f"{damage.describe()}, and no copy could be kept aside "
                                   f"({exc.strerror or exc}); rigready will not write to "
                                   f"{self.path.name}, which would discard the damaged part "
                                   "for good: free some space") from None
        self.notices.append(f"{damage.describe()}; the database and the damaged log as they "
                            f"were are kept in {self.wal_kept.name} and "
                            f"{self.wal_kept.name}-wal")
        log.warning("%s", self.notices[-1])

    @staticmethod
    def _kind(exc: sqlite3.DatabaseError) -> str:
        text = str(exc).lower()
        for needle, kind in (("full", "full"), ("locked", "locked"), ("busy", "locked"),
                             ("readonly", "readonly"), ("read-only", "readonly"),
                             ("unable to open", "readonly"), ("not a database", "corrupt"),
                             ("malformed", "corrupt"), ("disk i/o", "io")):
            if needle in text:
                return kind
        return "other"

    def _explain(self, exc: sqlite3.DatabaseError) -> str:
        text = str(exc)
        kind = self._kind(exc)
        if kind == "corrupt":
            return f"{self.path} is corrupt or not a rigready database ({text})"
        if kind == "readonly":
            return f"cannot open the database at {self.path} for writing ({text})"
        if kind == "full":
            return f"the disk holding {self.path} is full ({text}); free some space"
        if kind == "locked":
            return f"{self.path} is locked by another program ({text})"
        if kind == "io":
            return f"the disk holding {self.path} failed to read or write ({text})"
        return f"database error on {self.path}: {text}"

    def _migrate(self, readonly: bool) -> None:
        target = len(self._migrations)
        version = self.schema_version()
        if version > target:
            raise StoreError(f"{self.path} has schema version {version}, newer than this "
                             f"rigready understands ({target}); update rigready", "version")
        if version == target:
            return
        if readonly:
            if version >= READABLE_FROM and target == SCHEMA_VERSION:
                return  # later versions only add tables (runs): an older file reads as is
            raise StoreError(f"{self.path} has schema version {version} and needs migrating "
                             f"to {target}; open it once without read-only", "version")
        self._conn.execute("BEGIN IMMEDIATE")  # one writer migrates; others wait then skip
        try:
            version = self.schema_version()
            for index in range(version, target):
                self._migrations[index](self.db)
                self._conn.execute(f"PRAGMA user_version = {index + 1}")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        """The database's ``PRAGMA user_version``."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Commit pending rows and close the connection (even when that commit fails)."""
        try:
            self.commit()
        finally:
            self._conn.close()
            self._drop_copy()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------

    # _begin_note: writes start with BEGIN IMMEDIATE, which waits (busy_timeout) for the write
    # lock. A deferred BEGIN that reads first and then writes fails at once with "database is
    # locked" when another connection committed meanwhile (WAL snapshot), busy timeout or not:
    # that is how two writers once each lost a third of their rows.

    def _write(self, action: Callable[[], Any]) -> Any:
        """Run ``action`` now inside the open transaction (for rows whose id is needed)."""
        try:
            check_space(self.real, self._min_free)
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN IMMEDIATE")  # see _begin_note
            return action()
        except GuardError as exc:
            raise StoreError(str(exc), exc.kind) from None
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise StoreError(self._explain(exc), self._kind(exc)) from None

    def _queue(self, action: Callable[[], object], sample: bool = False) -> None:
        """Keep ``action`` for the next :meth:`commit` (which retries it until it succeeds)."""
        self._queued.append((sample, action))
        if len(self._queued) > MAX_QUEUED:
            was_sample, _ = self._queued.popleft()
            self.dropped += was_sample

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass

    def commit(self) -> None:
        """Write the queued rows and commit; on failure keep them for the next call.

        Raises:
            StoreError: The disk is full (or below the free-space floor), the database is
                locked past the busy timeout, or an I/O error; the rows stay queued.
        """
        if not self._queued and not self._conn.in_transaction:
            return
        try:
            if self._queued:
                check_space(self.real, self._min_free)
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN IMMEDIATE")  # see _begin_note
            for _, action in self._queued:
                action()
            self._conn.execute("COMMIT")
            self._queued.clear()
        except GuardError as exc:
            self._rollback()
            raise StoreError(str(exc), exc.kind) from None
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise StoreError(self._explain(exc), self._kind(exc)) from None

    @property
    def pending(self) -> bool:
        """Whether rows are waiting for :meth:`commit`."""
        return bool(self._queued) or self._conn.in_transaction

    @property
    def queued_samples(self) -> int:
        """How many sample ticks wait in memory for a commit that succeeds."""
        return sum(1 for sample, _ in self._queued if sample)

    def start_session(self, *, label: str | None, host: str | None, interval_s: float,
                      started: float, gpus: Sequence[str] = (),
                      notes: Sequence[str] = ()) -> int:
        """Insert a session row and commit it; returns its id."""
        row = {"label": label, "host": host, "started": started, "ended": None,
               "interval_s": interval_s, "gpus": json.dumps(list(gpus)),
               "notes": json.dumps(list(notes))}
        session_id = int(self._write(lambda: self.db.table("sessions").insert(row).last_pk))
        self.commit()
        return session_id

    def update_session(self, session_id: int, *, gpus: Sequence[str] | None = None,
                       notes: Sequence[str] | None = None, ended: float | None = None) -> None:
        """Change a session's GPU list, notes or end time (committed with the next batch)."""
        changes: dict[str, Any] = {}
        if gpus is not None:
            changes["gpus"] = json.dumps(list(gpus))
        if notes is not None:
            changes["notes"] = json.dumps(list(notes))
        if ended is not None:
            changes["ended"] = ended
        if changes:
            self._queue(lambda: self.db.table("sessions").update(session_id, changes))

    def end_session(self, session_id: int, ended: float) -> None:
        """Record the end time and commit."""
        self.update_session(session_id, ended=ended)
        self.commit()

    def add_sample(self, session_id: int, sample: Sample) -> None:
        """Queue one tick: a host row and one wide row per GPU (call :meth:`commit` later)."""
        host = sample.host
        host_row: dict[str, Any] = {"session_id": session_id, "t": sample.time}
        host_row.update({c: getattr(host, c) for c in HOST_COLUMNS})
        gpu_rows = [_gpu_row(session_id, sample.time, g) for g in sample.gpus]

        def insert() -> None:
            self.db.table("host_samples").insert(host_row)
            if gpu_rows:
                self.db.table("samples").insert_all(gpu_rows)

        self._queue(insert, sample=True)

    def add_event(self, session_id: int | None, *, t: float, kind: str, name: str,
                  state: str = "", gpu: int | None = None, message: str = "",
                  value: float | None = None) -> None:
        """Queue one event (alert raised/cleared, throttle change, gap, recovery)."""
        row = {"session_id": session_id, "t": t, "kind": kind, "gpu": gpu, "name": name,
               "state": state, "message": message, "value": value}
        self._queue(lambda: self.db.table("events").insert(row))

    # -- reading --------------------------------------------------------------------------

    def _read(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            raise StoreError(self._explain(exc), self._kind(exc)) from None

    def sessions(self) -> list[SessionInfo]:
        """Every session, newest first, with its tick count."""
        result: list[SessionInfo] = self._read(lambda: read_sessions(self._conn))
        return result

    def session(self, session_id: int) -> SessionInfo:
        """One session.

        Raises:
            StoreError: No such session.
        """
        found: list[SessionInfo] = self._read(lambda: read_sessions(self._conn, session_id))
        if not found:
            raise StoreError(f"no session {session_id} in {self.path}")
        return found[0]

    def samples_between(self, t0: float, t1: float, *,
                        session_id: int | None = None) -> list[Sample]:
        """Raw samples with ``t0 <= time < t1`` (optionally of one session), oldest first."""
        result: list[Sample] = self._read(lambda: read_samples(self._conn, t0, t1, session_id))
        return result

    def session_samples(self, session_id: int) -> list[Sample]:
        """Every raw sample of one session, oldest first."""
        return self.samples_between(float("-inf"), float("inf"), session_id=session_id)

    def series_between(self, t0: float, t1: float, columns: Sequence[str], *,
                       gpu: int | None = 0, session_id: int | None = None
                       ) -> dict[str, list[Any]]:
        """Raw columns as lists for fast charting: ``{"t": [...], column: [...]}``.

        Args:
            t0: Start (inclusive), Unix seconds.
            t1: End (exclusive).
            columns: GpuSample field names (or HostSample ones when ``gpu`` is None).
            gpu: GPU index, or None for the host table.
            session_id: Restrict to one session.
        """
        result: dict[str, list[Any]] = self._read(
            lambda: read_series(self._conn, t0, t1, tuple(columns), gpu, session_id))
        return result

    def events_between(self, t0: float, t1: float, *,
                       session_id: int | None = None) -> list[EventRecord]:
        """Events with ``t0 <= t < t1``, oldest first."""
        result: list[EventRecord] = self._read(
            lambda: read_events(self._conn, t0, t1, session_id))
        return result

    def aggregates_between(self, t0: float, t1: float, *, bucket_s: float = 60.0,
                           session_id: int | None = None) -> list[Aggregate]:
        """min/mean/max per ``bucket_s`` bucket over raw rows and stored aggregates.

        For chart ranges too long to draw point by point (hours to a year). Host buckets have
        ``gpu=None``.
        """
        if not bucket_s > 0:
            raise ValueError(f"bucket_s must be above zero, got {bucket_s}")
        result: list[Aggregate] = self._read(
            lambda: retention.aggregates_between(self._conn, t0, t1, bucket_s, session_id))
        return result

    def apply_retention(self, now: float, *, raw_days: float = 7.0,
                        aggregate_days: float = 365.0) -> RetentionResult:
        """Fold raw samples older than ``raw_days`` into 1-minute aggregates and drop
        aggregates and events older than ``aggregate_days``. Commits."""
        self.commit()
        result: RetentionResult = self._write(
            lambda: retention.apply_retention(self._conn, now, raw_days, aggregate_days))
        self.commit()
        return result

    def export_session_csv(self, session_id: int, out: IO[str]) -> int:
        """Write one session as CSV (one row per GPU per tick, host columns alongside)."""
        info = self.session(session_id)
        run = self.run(session_id)
        cells = None if run is None else run_cells(self.run_progress(session_id),
                                                   self.run_metrics(session_id))
        columns = () if run is None else RUN_CSV_COLUMNS
        rows: int = self._read(lambda: export.write_csv(
            info, self.session_samples(session_id), out, run_columns=columns,
            run_cells=cells))
        return rows

    def export_session_json(self, session_id: int, out: IO[str]) -> int:
        """Write one session, its samples and events as one JSON document."""
        info = self.session(session_id)
        samples = self.session_samples(session_id)
        events = self.events_between(float("-inf"), float("inf"), session_id=session_id)
        run = self.run(session_id)
        metrics = [] if run is None else self.run_metrics(session_id)
        extra: dict[str, Any] | None = None if run is None else {
            "run": {**run.to_dict(), "loss": loss_truth(metrics).text()},
            "run_metrics": [asdict(m) for m in metrics],
            "run_progress": [asdict(p) for p in self.run_progress(session_id)]}
        count: int = export.write_json(info, samples, events, out, extra)
        return count

    # -- benchmark results ----------------------------------------------------------------

    def save_bench_result(self, *, kind: str, fingerprint: str, label: str,
                          result: Mapping[str, Any] | str, created: str | None = None) -> int:
        """Store one benchmark run and commit; returns its id.

        Args:
            kind: One of :data:`BENCH_KINDS` ("gemm-cpu", "gemm-gpu", "storage", "measure").
            fingerprint: The machine fingerprint string the run belongs to.
            label: A short human label.
            result: The result as a JSON-able mapping, or as JSON text.
            created: ISO-8601 UTC time; now when None.

        Raises:
            ValueError: Unknown kind, or ``result`` text that is not JSON.
        """
        if kind not in BENCH_KINDS:
            raise ValueError(f"unknown benchmark kind {kind!r}; expected one of {BENCH_KINDS}")
        text = result if isinstance(result, str) else json.dumps(result, sort_keys=True)
        json.loads(text)  # raises ValueError for bad JSON text
        when = created or datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="seconds")
        row = {"created": when, "fingerprint": fingerprint, "kind": kind, "label": label,
               "result_json": text}
        new_id = int(self._write(lambda: self.db.table("bench_results").insert(row).last_pk))
        self.commit()
        return new_id

    def list_bench_results(self, kind: str | None = None, limit: int = 50) -> list[BenchResult]:
        """Saved benchmark runs, newest first, optionally of one kind."""
        where, params = ("WHERE kind = ?", [kind]) if kind is not None else ("", [])
        sql = ("SELECT id, created, fingerprint, kind, label, result_json FROM bench_results "
               f"{where} ORDER BY created DESC, id DESC LIMIT ?")
        rows = self._read(lambda: self._conn.execute(sql, [*params, limit]).fetchall())
        return [BenchResult(int(r[0]), r[1], r[2] or "", r[3], r[4] or "", r[5]) for r in rows]


    # -- training runs (schema v2, :mod:`rigready.monitor.store_runs`) ---------------------

    def start_run(self, session_id: int, **fields: Any) -> None:
        """Insert the ``runs`` row of a session (fields: :data:`~.store_runs.RUN_FIELDS`)
        and commit.

        Raises:
            ValueError: An unknown field.
        """
        row = run_row({"session_id": session_id, "outcome": "running", **fields})
        self._write(lambda: self.db.table("runs").insert(row, replace=True))
        self.commit()

    def update_run(self, session_id: int, **fields: Any) -> None:
        """Change fields of a run (committed with the next batch)."""
        row = run_row(fields)
        if row:
            self._queue(lambda: self.db.table("runs").update(session_id, row))

    def add_run_metrics(self, session_id: int, metrics: RunMetrics) -> None:
        """Queue one logged record of a run."""
        row = metrics_row(session_id, metrics)
        self._queue(lambda: self.db.table("run_metrics").insert(row))

    def add_run_metrics_many(self, session_id: int, metrics: Sequence[RunMetrics]) -> None:
        """Queue a batch of logged records as one multi-row insert (the recorder's way: a
        row at a time costs about four times as much)."""
        rows = [metrics_row(session_id, m) for m in metrics]
        if rows:
            self._queue(lambda: self.db.table("run_metrics").insert_all(rows))

    def add_run_progress(self, session_id: int, row: ProgressRow) -> None:
        """Queue one second of a run's progress."""
        values = {"session_id": session_id, "t": row.time, "step": row.step,
                  "total": row.total, "rate": row.rate, "eta_s": row.eta_s,
                  "process_vram_bytes": row.process_vram_bytes, "cpu_pct": row.cpu_pct}
        self._queue(lambda: self.db.table("run_progress").insert(values))

    def runs(self) -> list[RunRecord]:
        """Every run, newest first."""
        result: list[RunRecord] = self._read(lambda: read_runs(self._conn))
        return result

    def run(self, session_id: int) -> RunRecord | None:
        """The run of one session (None when the session is not a run)."""
        found: list[RunRecord] = self._read(lambda: read_runs(self._conn, session_id))
        return found[0] if found else None

    def run_metrics(self, session_id: int) -> list[RunMetrics]:
        """A run's logged records, oldest first."""
        result: list[RunMetrics] = self._read(lambda: read_run_metrics(self._conn, session_id))
        return result

    def run_rows_after(self, session_id: int, metrics_after: int = 0, progress_after: int = 0,
                       events_after: int = 0) -> RunRowsAfter:
        """What a run wrote after the given row ids (a live view follows a run with this,
        reading only new rows; pass back the returned cursors)."""
        result: RunRowsAfter = self._read(lambda: read_run_rows_after(
            self._conn, session_id, metrics_after, progress_after, events_after))
        return result

    def run_progress(self, session_id: int) -> list[ProgressRow]:
        """A run's once-a-second progress, oldest first."""
        result: list[ProgressRow] = self._read(lambda: read_run_progress(self._conn, session_id))
        return result
