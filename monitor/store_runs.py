"""Training runs in the monitor database (schema v2): writing and reading ``runs``,
``run_metrics`` and ``run_progress`` (used by :class:`rigready.monitor.store.Store`).

A run is a monitor session (its GPU and host samples, its events) plus one ``runs`` row keyed
by the session id: command, label, start and end, outcome and exit status, steps, final loss,
the peak VRAM of the run's own processes, the job as described (``job``: model, method...,
with the estimate) and the estimate-versus-measured comparison (``comparison``). Run alerts are
rows of ``events`` (kind ``alert``, names ``loss_nan``, ``loss_spike``, ``run_stalled``,
``run_finished``, ``run_crashed``).
"""

from __future__ import annotations

import bisect
import json
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rigready.monitor.store_read import EventRecord
from rigready.monitor.training.events import RunMetrics
from rigready.monitor.training.tracker import RunSnapshot

#: Columns of ``runs`` that :meth:`Store.update_run` may change.
RUN_FIELDS: tuple[str, ...] = (
    "label", "command", "cwd", "source", "started", "ended", "outcome", "exit_code", "signal",
    "steps", "total_steps", "final_loss", "peak_process_vram_bytes", "card_vram_total_bytes",
    "out_of_memory", "last_lines", "job", "comparison")
_JSON_FIELDS = frozenset({"command", "last_lines", "job", "comparison"})


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One stored run."""

    session_id: int
    label: str | None
    command: tuple[str, ...]
    cwd: str | None
    source: str
    started: float
    ended: float | None
    outcome: str
    exit_code: int | None
    signal: int | None
    steps: int | None
    total_steps: int | None
    final_loss: float | None
    peak_process_vram_bytes: int | None
    card_vram_total_bytes: int | None
    out_of_memory: bool
    last_lines: tuple[str, ...]
    job: dict[str, Any] | None
    comparison: dict[str, Any] | None

    @property
    def duration_s(self) -> float | None:
        """End minus start (None while running or when the wrapper was killed)."""
        return None if self.ended is None else self.ended - self.started

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {"session_id": self.session_id, "label": self.label,
                "command": list(self.command), "cwd": self.cwd, "source": self.source,
                "started": self.started, "ended": self.ended, "duration_s": self.duration_s,
                "outcome": self.outcome, "exit_code": self.exit_code, "signal": self.signal,
                "steps": self.steps, "total_steps": self.total_steps,
                "final_loss": self.final_loss,
                "peak_process_vram_bytes": self.peak_process_vram_bytes,
                "card_vram_total_bytes": self.card_vram_total_bytes,
                "out_of_memory": self.out_of_memory, "last_lines": list(self.last_lines),
                "job": self.job, "comparison": self.comparison}


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """One second of a run's progress."""

    time: float
    step: int | None
    total: int | None
    rate: float | None
    eta_s: float | None
    process_vram_bytes: int | None
    cpu_pct: float | None


def run_row(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (RUN_FIELDS names) as a row: JSON fields encoded, booleans as 0/1.

    Raises:
        ValueError: An unknown field.
    """
    unknown = set(values) - set(RUN_FIELDS) - {"session_id"}
    if unknown:
        raise ValueError(f"unknown run field(s) {sorted(unknown)}")
    row: dict[str, Any] = {}
    for key, value in values.items():
        if key in _JSON_FIELDS and value is not None:
            value = json.dumps(list(value) if isinstance(value, tuple) else value)
        elif isinstance(value, bool):
            value = int(value)
        row[key] = value
    return row


def metrics_row(session_id: int, m: RunMetrics) -> dict[str, Any]:
    """One metrics record as a ``run_metrics`` row. SQLite stores NaN as NULL, so a non-finite
    loss, eval loss or grad norm is also kept, as text, in ``extra`` (restored on reading)."""
    extra: dict[str, Any] = dict(m.extra)
    for name in ("loss", "eval_loss", "grad_norm"):
        value = getattr(m, name)
        if value is not None and not math.isfinite(value):
            extra[f"{name}_nonfinite"] = str(value)
    extra = {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in extra.items()}
    return {"session_id": session_id, "t": m.time, "step": m.step, "kind": m.kind,
            "loss": m.loss, "eval_loss": m.eval_loss, "learning_rate": m.learning_rate,
            "grad_norm": m.grad_norm, "epoch": m.epoch, "throughput": m.throughput,
            "throughput_unit": m.throughput_unit,
            "extra": json.dumps(extra) if extra else None, "source": m.source}


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def has_run_tables(conn: sqlite3.Connection) -> bool:
    """Whether the database has the run tables (a v1 file opened read-only has not)."""
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'")
    return row.fetchone() is not None


def read_runs(conn: sqlite3.Connection, session_id: int | None = None) -> list[RunRecord]:
    """Runs (all, or one), newest first."""
    if not has_run_tables(conn):
        return []
    where, params = ("WHERE session_id = ?", [session_id]) if session_id is not None else ("", [])
    sql = (f"SELECT session_id, {', '.join(RUN_FIELDS)} FROM runs {where} "
           "ORDER BY started DESC, session_id DESC")
    out = []
    for r in conn.execute(sql, params):
        d = dict(zip(("session_id", *RUN_FIELDS), r, strict=True))
        out.append(RunRecord(
            session_id=int(d["session_id"]), label=d["label"],
            command=tuple(str(c) for c in (_json(d["command"]) or ())), cwd=d["cwd"],
            source=d["source"] or "wrapper", started=float(d["started"]), ended=d["ended"],
            outcome=d["outcome"] or "unknown", exit_code=d["exit_code"], signal=d["signal"],
            steps=d["steps"], total_steps=d["total_steps"], final_loss=d["final_loss"],
            peak_process_vram_bytes=d["peak_process_vram_bytes"],
            card_vram_total_bytes=d["card_vram_total_bytes"],
            out_of_memory=bool(d["out_of_memory"]),
            last_lines=tuple(str(x) for x in (_json(d["last_lines"]) or ())),
            job=_json(d["job"]), comparison=_json(d["comparison"])))
    return out


def _restore(value: float | None, extra: dict[str, Any], name: str) -> float | None:
    text = extra.pop(f"{name}_nonfinite", None)
    return float(text) if text is not None else value


def read_run_metrics(conn: sqlite3.Connection, session_id: int) -> list[RunMetrics]:
    """A run's metrics records, oldest first (non-finite values restored)."""
    if not has_run_tables(conn):
        return []
    sql = (f"SELECT {_METRICS_SELECT} FROM run_metrics WHERE session_id = ? "
           "ORDER BY t, rowid")
    return [_metrics(r) for r in conn.execute(sql, [session_id])]


_METRICS_SELECT = ("t, step, kind, loss, eval_loss, learning_rate, grad_norm, epoch, "
                   "throughput, throughput_unit, extra, source")
_PROGRESS_SELECT = "t, step, total, rate, eta_s, process_vram_bytes, cpu_pct"


def _metrics(r: Any) -> RunMetrics:
    extra = _json(r[10]) or {}
    loss = _restore(r[3], extra, "loss")
    eval_loss = _restore(r[4], extra, "eval_loss")
    grad_norm = _restore(r[6], extra, "grad_norm")
    pairs = tuple(sorted((str(k), float(v)) for k, v in extra.items()))
    return RunMetrics(time=float(r[0]), step=r[1], kind=r[2] or "train", loss=loss,
                      eval_loss=eval_loss, learning_rate=r[5], grad_norm=grad_norm,
                      epoch=r[7], throughput=r[8], throughput_unit=r[9], extra=pairs,
                      source=r[11] or "log")


def read_run_progress(conn: sqlite3.Connection, session_id: int) -> list[ProgressRow]:
    """A run's once-a-second progress rows, oldest first."""
    if not has_run_tables(conn):
        return []
    sql = f"SELECT {_PROGRESS_SELECT} FROM run_progress WHERE session_id = ? ORDER BY t"
    return [ProgressRow(float(r[0]), *r[1:]) for r in conn.execute(sql, [session_id])]


@dataclass(frozen=True, slots=True)
class RunRowsAfter:
    """What a run added since a reader last looked (a live view reads only new rows).

    The ``*_after`` cursors are row ids (the order rows were written in, which a watched log
    folder's own record times need not follow); pass them back for the next read."""

    metrics: tuple[RunMetrics, ...]
    progress: tuple[ProgressRow, ...]
    events: tuple[EventRecord, ...]
    metrics_after: int
    progress_after: int
    events_after: int


def read_run_rows_after(conn: sqlite3.Connection, session_id: int, metrics_after: int = 0,
                        progress_after: int = 0, events_after: int = 0) -> RunRowsAfter:
    """A run's metrics, progress and events rows written after the given row ids, in the order
    written (events: the run's session's, alerts and throttle episodes alike)."""
    if not has_run_tables(conn):
        return RunRowsAfter((), (), (), metrics_after, progress_after, events_after)
    metrics, progress, events = [], [], []
    m_after, p_after, e_after = metrics_after, progress_after, events_after
    sql = (f"SELECT rowid, {_METRICS_SELECT} FROM run_metrics WHERE session_id = ? "
           "AND rowid > ? ORDER BY rowid")
    for r in conn.execute(sql, [session_id, metrics_after]):
        m_after = max(m_after, int(r[0]))
        metrics.append(_metrics(r[1:]))
    sql = (f"SELECT rowid, {_PROGRESS_SELECT} FROM run_progress WHERE session_id = ? "
           "AND rowid > ? ORDER BY rowid")
    for r in conn.execute(sql, [session_id, progress_after]):
        p_after = max(p_after, int(r[0]))
        progress.append(ProgressRow(float(r[1]), *r[2:]))
    sql = ("SELECT id, t, kind, name, state, gpu, message, value FROM events "
           "WHERE session_id = ? AND id > ? ORDER BY id")
    for r in conn.execute(sql, [session_id, events_after]):
        e_after = max(e_after, int(r[0]))
        events.append(EventRecord(int(r[0]), session_id, float(r[1]), r[2], r[3] or "",
                                  r[4] or "", r[5], r[6] or "", r[7]))
    return RunRowsAfter(tuple(metrics), tuple(progress), tuple(events), m_after, p_after,
                        e_after)


#: Columns a run adds to each row of a session's CSV export.
RUN_CSV_COLUMNS: tuple[str, ...] = ("run_step", "run_total", "run_eta_s",
                                    "run_process_vram_bytes", "run_loss", "run_eval_loss",
                                    "run_learning_rate", "run_grad_norm")


def run_cells(progress: list[ProgressRow], metrics: list[RunMetrics]
              ) -> Callable[[float], list[object]]:
    """A function giving, for a sample time, the run's CSV cells: the progress row and the
    latest logged values at or before it (empty cells before the first)."""
    p_times = [row.time for row in progress]
    latest: list[tuple[float, dict[str, float]]] = []
    values: dict[str, float] = {}
    for m in metrics:
        for name in ("loss", "eval_loss", "learning_rate", "grad_norm"):
            value = getattr(m, name)
            if value is not None and not (m.kind == "summary" and name == "loss"):
                values[name] = value
        latest.append((m.time, dict(values)))
    m_times = [t for t, _ in latest]

    def cells(t: float) -> list[object]:
        i = bisect.bisect_right(p_times, t) - 1
        row = progress[i] if i >= 0 else None
        j = bisect.bisect_right(m_times, t) - 1
        known = latest[j][1] if j >= 0 else {}
        head: list[object] = ["", "", "", ""] if row is None else [
            _blank(row.step), _blank(row.total), _blank(row.eta_s),
            _blank(row.process_vram_bytes)]
        return head + [_blank(known.get(n)) for n in ("loss", "eval_loss", "learning_rate",
                                                      "grad_norm")]

    return cells


def _blank(value: object) -> object:
    return "" if value is None else value


def progress_fields(snap: RunSnapshot, final_loss: float | None) -> dict[str, Any]:
    """The ``runs`` columns that change while the run goes on."""
    return {"steps": snap.step, "total_steps": snap.total,
            "final_loss": final_loss if final_loss is not None else snap.loss,
            "peak_process_vram_bytes": snap.process_vram_peak_bytes,
            "card_vram_total_bytes": snap.card_vram_total_bytes}


def final_fields(snap: RunSnapshot, final_loss: float | None) -> dict[str, Any]:
    """The ``runs`` columns known at the end."""
    end = snap.ended
    return {**progress_fields(snap, final_loss),
            "ended": None if end is None else end.time,
            "outcome": "unknown" if end is None else end.outcome,
            "exit_code": None if end is None else end.exit_code,
            "signal": None if end is None else end.signal,
            "out_of_memory": bool(end and end.out_of_memory),
            "last_lines": None if end is None else list(end.last_lines[-12:])}
