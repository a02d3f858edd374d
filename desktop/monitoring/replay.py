"""Reading saved monitoring data for the charts (Qt-free): a whole session for replay (with its
training run, when it recorded one), or the store's 1-minute aggregates for the 7-day and
30-day views.

Both are generators in the project's long-work style (yield progress text, return the result) so
the page runs them on the thread pool: a day-long session is 86,400 rows per GPU.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

from rigready.desktop.monitoring.run_view import RunReplay
from rigready.monitor.ring import (
    GPU_SERIES_COLUMNS,
    HOST_SERIES_COLUMNS,
    FloatArray,
    ValueArray,
    rows_from_aggregates,
    rows_from_series,
)
from rigready.monitor.store import SessionInfo, Store, StoreError
from rigready.monitor.store_read import EventRecord
from rigready.monitor.store_runs import RunRecord

Rows = tuple[FloatArray, ValueArray]
INF = float("inf")


def session_gpus(info: SessionInfo) -> dict[int, str]:
    """GPU index -> name from a session's ``gpus`` entries ("0: NVIDIA H200")."""
    out: dict[int, str] = {}
    for entry in info.gpus:
        index, _, name = entry.partition(":")
        if index.strip().isdigit():
            out[int(index)] = name.strip()
    return out


def session_title(info: SessionInfo) -> str:
    """``session 3 'lora run'`` style name."""
    return f"session {info.id}" + (f" '{info.label}'" if info.label else "")


def session_entry(info: SessionInfo, run: RunRecord | None) -> str:
    """A line of the session picker: a run says so, with its outcome and steps."""
    if run is None:
        return f"{session_title(info)} · {info.ticks} samples"
    steps = f" · {run.steps:,} steps" if run.steps else ""
    return f"run {info.id}" + (f" '{run.label}'" if run.label else "") + \
        f" · {run.outcome}{steps}"


@dataclass(frozen=True, slots=True)
class ReplayData:
    """One saved session, ready to chart."""

    path: Path
    sessions: tuple[SessionInfo, ...]
    session: SessionInfo
    gpus: dict[int, str]
    rows: dict[int, Rows]  # GPU index (0 when the session has none) -> rows
    events: tuple[EventRecord, ...] = field(default=())
    #: The training run recorded in this session (None: a plain monitor session).
    run: RunReplay | None = None
    #: The runs of the database by session id (the picker marks them).
    runs: dict[int, RunRecord] = field(default_factory=dict)

    @property
    def end(self) -> float:
        """Time of the last row (or the session's start)."""
        ends = [float(t[-1]) for t, _ in self.rows.values() if t.size]
        return max(ends, default=self.session.started)


def load_replay(path: Path, session_id: int | None = None
                ) -> Generator[str, None, ReplayData]:
    """Read one session (the newest when ``session_id`` is None) from the database at ``path``.

    Raises:
        StoreError: No database, not a rigready database, no sessions or no such session.
    """
    yield f"Opening {path.name}…"
    with Store(path, readonly=True) as store:
        sessions = tuple(store.sessions())
        if not sessions:
            raise StoreError(f"{path} holds no monitoring sessions")
        info = sessions[0] if session_id is None else store.session(session_id)
        yield f"Reading {session_title(info)}…"
        host = store.series_between(-INF, INF, HOST_SERIES_COLUMNS, gpu=None,
                                    session_id=info.id)
        gpus = session_gpus(info)
        rows: dict[int, Rows] = {}
        for index in sorted(gpus) or [0]:
            series = store.series_between(-INF, INF, GPU_SERIES_COLUMNS, gpu=index,
                                          session_id=info.id) if gpus else None
            rows[index] = rows_from_series(series, host)
            yield f"Read GPU {index}"
        events = tuple(store.events_between(-INF, INF, session_id=info.id))
        runs = {run.session_id: run for run in store.runs()}
        run = None
        record = runs.get(info.id)
        if record is not None:
            yield f"Reading run {info.id}…"
            run = RunReplay(record, store.run_metrics(info.id), store.run_progress(info.id),
                            events)
    return ReplayData(path, sessions, info, gpus, rows, events, run, runs)


@dataclass(frozen=True, slots=True)
class HistoryData:
    """Bucket means over a long window, per GPU."""

    start: float
    end: float
    bucket_s: float
    rows: dict[int, Rows]


def load_history(path: Path, end: float, span_s: float, gpus: tuple[int, ...] = (0,),
                 bucket_s: float = 60.0) -> Generator[str, None, HistoryData]:
    """Read 1-minute min/mean/max buckets of ``[end - span_s, end)`` (all sessions) as rows.

    Raises:
        StoreError: No database yet, or it cannot be read.
    """
    yield f"Reading {span_s / 86400:.0f} days of history…"
    with Store(path, readonly=True) as store:
        aggregates = store.aggregates_between(end - span_s, end + bucket_s, bucket_s=bucket_s)
    rows = {g: rows_from_aggregates(aggregates, g) for g in gpus}
    return HistoryData(end - span_s, end, bucket_s, rows)
