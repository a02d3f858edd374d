"""Export of one monitoring session to CSV or JSON (used by :class:`rigready.monitor.store.Store`).

CSV: one row per GPU per tick (a tick without GPUs gives one row with an empty ``gpu``), with the
host columns repeated alongside, times as Unix seconds and ISO-8601 UTC. Throttle reasons are
joined with ``;``, processes written as ``pid:name:bytes`` joined with ``;``. Empty cell = not
read.

JSON: ``{"format": "rigready-session", "version": 1, "session": {...}, "samples": [...],
"events": [...]}`` where each sample mirrors :class:`rigready.monitor.sample.Sample`.

A session that is a training run adds, in CSV, the run's columns (``run_step``, ``run_loss``...:
its progress and latest logged values at each tick) and, in JSON, ``run`` (the record),
``run_metrics`` (every logged record) and ``run_progress`` (once a second).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import IO, Any

from rigready.monitor.sample import GpuSample, Sample
from rigready.monitor.schema import GPU_COLUMNS, HOST_COLUMNS
from rigready.monitor.store_read import EventRecord, SessionInfo

JSON_FORMAT = "rigready-session"
JSON_VERSION = 1
CSV_HEADER: tuple[str, ...] = ("time", "time_utc", "gpu", *GPU_COLUMNS, "throttle_reasons",
                               "processes", *HOST_COLUMNS)


def iso_utc(t: float) -> str:
    """Unix seconds as ISO-8601 UTC with milliseconds."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def _cell(value: object) -> object:
    return "" if value is None else value


def _gpu_cells(gpu: GpuSample | None) -> list[object]:
    if gpu is None:
        return [""] * (1 + len(GPU_COLUMNS) + 2)
    reasons = "" if gpu.throttle_reasons is None else ";".join(gpu.throttle_reasons)
    procs = ";".join(f"{p.pid}:{p.name or ''}:{_cell(p.used_memory_bytes)}"
                     for p in gpu.processes)
    return [gpu.index, *(_cell(getattr(gpu, c)) for c in GPU_COLUMNS), reasons, procs]


def write_csv(info: SessionInfo, samples: Sequence[Sample], out: IO[str], *,
              run_columns: Sequence[str] = (),
              run_cells: Callable[[float], list[object]] | None = None) -> int:
    """Write the session's samples as CSV; returns the number of data rows.

    ``run_columns``/``run_cells``: a training run's extra columns and their cells at a time.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*CSV_HEADER, *run_columns))
    rows = 0
    for sample in samples:
        host = [_cell(getattr(sample.host, c)) for c in HOST_COLUMNS]
        extra = run_cells(sample.time) if run_cells is not None else []
        for gpu in sample.gpus or (None,):
            writer.writerow([f"{sample.time:.3f}", iso_utc(sample.time), *_gpu_cells(gpu), *host,
                             *extra])
            rows += 1
    return rows


def session_dict(info: SessionInfo) -> dict[str, Any]:
    """A session as plain JSON-able data."""
    return {
        "id": info.id, "label": info.label, "host": info.host, "started": info.started,
        "started_utc": iso_utc(info.started), "ended": info.ended,
        "ended_utc": None if info.ended is None else iso_utc(info.ended),
        "interval_s": info.interval_s, "gpus": list(info.gpus), "notes": list(info.notes),
        "ticks": info.ticks,
    }


def write_json(info: SessionInfo, samples: Sequence[Sample], events: Sequence[EventRecord],
               out: IO[str], run: dict[str, Any] | None = None) -> int:
    """Write the session document; returns the number of samples. ``run``: a training run's
    ``run``, ``run_metrics`` and ``run_progress`` entries."""
    document: dict[str, Any] = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "session": session_dict(info),
        "samples": [asdict(s) for s in samples],
        "events": [asdict(e) for e in events],
    }
    if run is not None:
        document.update(run)
    json.dump(_finite(document), out, indent=1)
    out.write("\n")
    return len(samples)


def _finite(value: Any) -> Any:
    """NaN and infinities as strings ("nan"): JSON has no such numbers (a run's NaN loss)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def sample_from_dict(data: dict[str, Any]) -> Sample:
    """Rebuild a :class:`Sample` from one entry of an exported JSON document's ``samples``."""
    from rigready.monitor.sample import GpuProcess, HostSample

    gpus = []
    for g in data.get("gpus", []):
        fields = dict(g)
        reasons = fields.pop("throttle_reasons", None)
        procs = fields.pop("processes", [])
        gpus.append(GpuSample(
            throttle_reasons=None if reasons is None else tuple(reasons),
            processes=tuple(GpuProcess(**p) for p in procs), **fields))
    return Sample(time=float(data["time"]), host=HostSample(**data.get("host", {})),
                  gpus=tuple(gpus))
