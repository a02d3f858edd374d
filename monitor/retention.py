"""Retention (raw samples -> 1-minute min/mean/max aggregates) and bucketed chart queries.

Raw rows older than ``raw_days`` are folded into ``gpu_aggregates`` / ``host_aggregates`` (one
row per session, GPU and minute, with the row count ``n``) and deleted; aggregates and events
older than ``aggregate_days`` are deleted. Folding merges into an existing bucket (count-weighted
mean), so running it twice, or after a clock step, never loses or double-counts data.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

from rigready.monitor.schema import GPU_METRICS, HOST_METRICS

DAY = 86400.0
MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What one :func:`apply_retention` pass did."""

    cutoff: float
    folded_rows: int
    deleted_aggregates: int
    deleted_events: int


@dataclass(frozen=True, slots=True)
class Aggregate:
    """min/mean/max of each metric over one bucket; ``gpu`` is None for host metrics."""

    bucket: float
    gpu: int | None
    n: int
    stats: dict[str, tuple[float | None, float | None, float | None]]

    def mean(self, metric: str) -> float | None:
        """The bucket's mean of ``metric`` (None when never read)."""
        return self.stats.get(metric, (None, None, None))[1]


def _fold(conn: sqlite3.Connection, raw: str, agg: str, keys: tuple[str, ...],
          metrics: tuple[str, ...], cutoff: float) -> int:
    key_cols = ", ".join(keys)
    stat_cols = ", ".join(f"{m}_{s}" for m in metrics for s in ("min", "mean", "max"))
    selects = ", ".join(f"MIN({m}), AVG({m}), MAX({m})" for m in metrics)
    conflict = ", ".join(
        f"{m}_min = MIN(COALESCE({m}_min, excluded.{m}_min), "
        f"COALESCE(excluded.{m}_min, {m}_min)), "
        f"{m}_max = MAX(COALESCE({m}_max, excluded.{m}_max), "
        f"COALESCE(excluded.{m}_max, {m}_max)), "
        f"{m}_mean = CASE WHEN {m}_mean IS NULL THEN excluded.{m}_mean "
        f"WHEN excluded.{m}_mean IS NULL THEN {m}_mean "
        f"ELSE ({m}_mean * n + excluded.{m}_mean * excluded.n) / (n + excluded.n) END"
        for m in metrics)
    sql = (
        f"INSERT INTO {agg} ({key_cols}, bucket, n, {stat_cols}) "
        f"SELECT {key_cols}, CAST(t / {MINUTE} AS INTEGER) * {MINUTE} AS b, COUNT(*), {selects} "
        f"FROM {raw} WHERE t < ? GROUP BY {key_cols}, b "
        f"ON CONFLICT ({key_cols}, bucket) DO UPDATE SET {conflict}, n = n + excluded.n"
    )
    conn.execute(sql, [cutoff])
    return conn.execute(f"DELETE FROM {raw} WHERE t < ?", [cutoff]).rowcount


def apply_retention(conn: sqlite3.Connection, now: float, raw_days: float,
                    aggregate_days: float) -> RetentionResult:
    """Fold and delete as described in the module docstring (inside the caller's transaction).

    Raises:
        ValueError: Negative periods, or aggregates kept for less time than raw samples.
    """
    if raw_days < 0 or aggregate_days < raw_days:
        raise ValueError(f"need 0 <= raw_days <= aggregate_days, got {raw_days}, {aggregate_days}")
    cutoff = math.floor((now - raw_days * DAY) / MINUTE) * MINUTE  # whole minutes only
    folded = _fold(conn, "samples", "gpu_aggregates", ("session_id", "gpu"), GPU_METRICS, cutoff)
    folded += _fold(conn, "host_samples", "host_aggregates", ("session_id",), HOST_METRICS, cutoff)
    old = now - aggregate_days * DAY
    deleted = conn.execute("DELETE FROM gpu_aggregates WHERE bucket < ?", [old]).rowcount
    deleted += conn.execute("DELETE FROM host_aggregates WHERE bucket < ?", [old]).rowcount
    events = conn.execute("DELETE FROM events WHERE t < ?", [old]).rowcount
    return RetentionResult(cutoff, folded, deleted, events)


def _bucketed(conn: sqlite3.Connection, raw: str, agg: str, gpu_col: str,
              metrics: tuple[str, ...], t0: float, t1: float, bucket_s: float,
              session_id: int | None) -> list[Aggregate]:
    session_clause = "" if session_id is None else " AND session_id = ?"
    raw_cols = ", ".join(f"{m} AS {m}_min, {m} AS {m}_mean, {m} AS {m}_max" for m in metrics)
    agg_cols = ", ".join(f"{m}_min, {m}_mean, {m}_max" for m in metrics)
    outer = ", ".join(
        f"MIN({m}_min), SUM({m}_mean * n) / SUM(CASE WHEN {m}_mean IS NOT NULL THEN n END), "
        f"MAX({m}_max)" for m in metrics)
    sql = (
        f"SELECT {gpu_col} AS g, CAST(t / ? AS INTEGER) * ? AS b, SUM(n), {outer} FROM ("
        f"SELECT {gpu_col}, t, 1 AS n, {raw_cols} FROM {raw} "
        f"WHERE t >= ? AND t < ?{session_clause} "
        f"UNION ALL SELECT {gpu_col}, bucket AS t, n, {agg_cols} FROM {agg} "
        f"WHERE bucket >= ? AND bucket < ?{session_clause}"
        f") GROUP BY g, b ORDER BY b, g"
    )
    window: list[float | int] = [t0, t1] + ([session_id] if session_id is not None else [])
    params: list[float | int] = [bucket_s, bucket_s, *window, *window]
    out: list[Aggregate] = []
    for row in conn.execute(sql, params):
        stats = {m: (row[3 + 3 * i], row[4 + 3 * i], row[5 + 3 * i])
                 for i, m in enumerate(metrics)}
        gpu = None if gpu_col == "NULL" else int(row[0])
        out.append(Aggregate(float(row[1]), gpu, int(row[2]), stats))
    return out


def aggregates_between(conn: sqlite3.Connection, t0: float, t1: float, bucket_s: float,
                       session_id: int | None) -> list[Aggregate]:
    """Buckets of ``bucket_s`` seconds over [t0, t1): GPU buckets then host, each by time."""
    t0 = max(t0, -1e18)
    t1 = min(t1, 1e18)
    gpu = _bucketed(conn, "samples", "gpu_aggregates", "gpu", GPU_METRICS, t0, t1, bucket_s,
                    session_id)
    host = _bucketed(conn, "host_samples", "host_aggregates", "NULL", HOST_METRICS, t0, t1,
                     bucket_s, session_id)
    return sorted(gpu + host, key=lambda a: (a.bucket, -1 if a.gpu is None else a.gpu))
