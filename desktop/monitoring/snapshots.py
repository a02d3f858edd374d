"""What the training monitor shows, built from live rings or a replayed session (Qt-free)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from rigready.desktop.monitoring.replay import ReplayData, session_title
from rigready.desktop.monitoring.run_view import RunDisplay
from rigready.desktop.monitoring.text import MonitorSnapshot
from rigready.monitor.alerts import AlertEvent, live_conditions
from rigready.monitor.ring import COLUMN, FloatArray, ValueArray, window_of

SPARK_SECONDS = 300.0


def gpu_title(gpu: int, names: Mapping[int, str]) -> str:
    """"GPU 0 · NVIDIA H200", or a plain statement when no GPU was read."""
    return f"GPU {gpu} · {names[gpu]}" if gpu in names else "No GPU readings"


def busiest_time(times: FloatArray, values: ValueArray) -> float | None:
    """Time of the highest power draw (the heart of a training run), else of the last row."""
    if times.size == 0:
        return None
    power = values[COLUMN["power_w"]]
    finite = np.isfinite(power)
    if not finite.any():
        return float(times[-1])
    return float(times[finite][int(np.argmax(power[finite]))])


def replay_snapshot(data: ReplayData, gpu: int, at: float | None) -> MonitorSnapshot:
    """The replayed session at time ``at`` (its end when None): values, the 5 minutes before
    and the alerts active then."""
    times, values = data.rows.get(gpu, next(iter(data.rows.values())))
    moment = data.end if at is None else at
    spark_t, spark_v = window_of(times, values, moment - SPARK_SECONDS, moment)
    # alerts and throttle episodes alike: "All clear" never shows while either is live (the
    # run's alerts are in the session's events too)
    active = live_conditions(data.events, gpu=gpu, at=moment)
    run = None if data.run is None else data.run.at(moment)
    return MonitorSnapshot(gpu_title(gpu, data.gpus), f"Replay · {session_title(data.session)}",
                           moment - data.session.started, spark_t, spark_v, active, run)


def live_snapshot(times: FloatArray, values: ValueArray, gpu: int, names: Mapping[int, str],
                  *, session_id: int | None, started: float | None,
                  alerts: Iterable[AlertEvent], run: RunDisplay | None = None
                  ) -> MonitorSnapshot:
    """The newest live values, the 5 minutes before them and ``gpu``'s active alerts.

    Args:
        times: Row times of ``gpu`` (the ring's view).
        values: Its values.
        gpu: GPU shown.
        names: GPU names by index.
        session_id: The logging session, or None when only watching.
        started: When the session started, for the elapsed time (none while only watching).
        alerts: Active alerts of every GPU.
        run: The run followed now, whose alerts join the GPU's.
    """
    end = float(times[-1]) if times.size else None
    if end is None:
        spark_t, spark_v = times, values
    else:
        spark_t, spark_v = window_of(times, values, end - SPARK_SECONDS, end)
    source = ("Live · not logging" if session_id is None
              else f"Live · logging session {session_id}")
    # session time only while a session is being logged: watching is not a session
    elapsed = None if end is None or started is None or session_id is None else end - started
    active: tuple[tuple[str, str], ...] = tuple((e.kind, e.message) for e in alerts
                                                if e.gpu == gpu)
    if run is not None:
        active = run.alerts + active
    return MonitorSnapshot(gpu_title(gpu, names), source, elapsed, spark_t, spark_v, active,
                           run)
