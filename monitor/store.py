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
  problem lasts (up to :data:`~rigready.monitor.store_connection.MAX_QUEUED` rows; older ones
  are counted in ``dropped``).

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
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import IO, Any

from rigready.monitor import export, retention
from rigready.monitor.retention import Aggregate, RetentionResult
from rigready.monitor.sample import GpuSample, Sample
from rigready.monitor.schema import GPU_COLUMNS, HOST_COLUMNS, SCHEMA_VERSION
from rigready.monitor.store_connection import StoreConnection, StoreError
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

BENCH_KINDS: tuple[str, ...] = ("gemm-cpu", "gemm-gpu", "storage", "measure")


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


class Store(StoreConnection):
    """One connection to the monitor database; use one per thread or process."""

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
