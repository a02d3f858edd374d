"""Reading the monitor database back into dataclasses (used by
:class:`rigready.monitor.store.Store`)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from rigready.monitor.sample import GpuProcess, GpuSample, HostSample, Sample
from rigready.monitor.schema import GPU_COLUMNS, HOST_COLUMNS


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One logging session."""

    id: int
    label: str | None
    host: str | None
    started: float
    ended: float | None  # None while running, or when the writer was killed
    interval_s: float | None
    gpus: tuple[str, ...]
    notes: tuple[str, ...]
    ticks: int
    last_sample: float | None

    @property
    def duration_s(self) -> float | None:
        """End (or last sample, for a killed session) minus start."""
        end = self.ended if self.ended is not None else self.last_sample
        return None if end is None else end - self.started


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event: kind is "alert", "throttle", "gap", "recovered" or "note"."""

    id: int
    session_id: int | None
    time: float
    kind: str
    name: str
    state: str
    gpu: int | None
    message: str
    value: float | None


def _json_tuple(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    value = json.loads(text)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def read_sessions(conn: sqlite3.Connection, session_id: int | None = None) -> list[SessionInfo]:
    """Sessions (all, or the one asked for), newest first."""
    where, params = ("WHERE s.id = ?", [session_id]) if session_id is not None else ("", [])
    sql = (
        "SELECT s.id, s.label, s.host, s.started, s.ended, s.interval_s, s.gpus, s.notes, "
        "(SELECT COUNT(*) FROM host_samples h WHERE h.session_id = s.id), "
        "(SELECT MAX(t) FROM host_samples h WHERE h.session_id = s.id) "
        f"FROM sessions s {where} ORDER BY s.started DESC, s.id DESC"
    )
    return [
        SessionInfo(int(r[0]), r[1], r[2], float(r[3]), r[4], r[5], _json_tuple(r[6]),
                    _json_tuple(r[7]), int(r[8]), r[9])
        for r in conn.execute(sql, params)
    ]


def _range(t0: float, t1: float, session_id: int | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if t0 != float("-inf"):
        clauses.append("t >= ?")
        params.append(t0)
    if t1 != float("inf"):
        clauses.append("t < ?")
        params.append(t1)
    if session_id is not None:
        clauses.append("session_id = ?")
        params.append(session_id)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _processes(text: str | None) -> tuple[GpuProcess, ...]:
    if not text:
        return ()
    return tuple(GpuProcess(int(p[0]), p[1], None if p[2] is None else int(p[2]))
                 for p in json.loads(text))


def read_samples(conn: sqlite3.Connection, t0: float, t1: float,
                 session_id: int | None) -> list[Sample]:
    """Rebuild :class:`Sample` objects from host rows and GPU rows sharing (session, time)."""
    where, params = _range(t0, t1, session_id)
    hosts: dict[tuple[int, float], HostSample] = {}
    host_sql = f"SELECT session_id, t, {', '.join(HOST_COLUMNS)} FROM host_samples {where}"
    for row in conn.execute(host_sql, params):
        hosts[(row[0], row[1])] = HostSample(*row[2:])
    gpus: dict[tuple[int, float], list[GpuSample]] = {}
    gpu_sql = (f"SELECT session_id, t, gpu, throttle_reasons, processes, "
               f"{', '.join(GPU_COLUMNS)} FROM samples {where} ORDER BY t, gpu")
    for row in conn.execute(gpu_sql, params):
        fields = dict(zip(GPU_COLUMNS, row[5:], strict=True))
        reasons = row[3]
        gpus.setdefault((row[0], row[1]), []).append(GpuSample(
            index=int(row[2]),
            throttle_reasons=None if reasons is None else tuple(r for r in reasons.split(",") if r),
            processes=_processes(row[4]),
            **fields,
        ))
    keys = sorted(set(hosts) | set(gpus), key=lambda k: (k[1], k[0]))
    return [Sample(time=k[1], host=hosts.get(k, HostSample()), gpus=tuple(gpus.get(k, ())))
            for k in keys]


def read_events(conn: sqlite3.Connection, t0: float, t1: float,
                session_id: int | None) -> list[EventRecord]:
    """Events in the range, oldest first."""
    where, params = _range(t0, t1, session_id)
    sql = (f"SELECT id, session_id, t, kind, name, state, gpu, message, value FROM events "
           f"{where} ORDER BY t, id")
    return [EventRecord(int(r[0]), r[1], float(r[2]), r[3], r[4] or "", r[5] or "", r[6],
                        r[7] or "", r[8]) for r in conn.execute(sql, params)]


def read_series(conn: sqlite3.Connection, t0: float, t1: float, columns: tuple[str, ...],
                gpu: int | None, session_id: int | None) -> dict[str, list[Any]]:
    """Columns of raw rows as lists (``"t"`` first): GPU ``gpu``'s rows, or host rows if None.

    Raises:
        ValueError: A column that the table does not have.
    """
    allowed = HOST_COLUMNS if gpu is None else GPU_COLUMNS
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; choose from {allowed}")
    where, params = _range(t0, t1, session_id)
    table = "host_samples"
    if gpu is not None:
        table = "samples"
        where = f"{where} AND gpu = ?" if where else "WHERE gpu = ?"
        params.append(gpu)
    names = ("t", *columns)
    out: dict[str, list[Any]] = {name: [] for name in names}
    for row in conn.execute(f"SELECT {', '.join(names)} FROM {table} {where} ORDER BY t", params):
        for name, value in zip(names, row, strict=True):
            out[name].append(value)
    return out
