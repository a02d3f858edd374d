"""Chart series without Qt: a preallocated numpy ring buffer of recent samples, the columns a
chart draws, conversions from the store's rows and aggregates, and throttle/alert spans.

The ring keeps ``capacity`` rows of (time, values). Each row is written twice, at slot ``i`` and
``i + capacity`` of arrays twice as long, so the rows in time order are always one contiguous
slice: :meth:`SeriesRing.view` and :meth:`SeriesRing.window` return numpy *views*, never copies.
A view stays valid until the next write; draw from it before appending again.

Missing readings are NaN, so a chart leaves a gap instead of drawing a made-up zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rigready.monitor.retention import Aggregate
from rigready.monitor.sample import Sample
from rigready.monitor.store_read import EventRecord

GIB = 1024**3
NAN = float("nan")

#: What one ring row holds, in order. VRAM in GiB, RAM as % of the host's total.
COLUMNS: tuple[str, ...] = (
    "gpu_util_pct", "mem_util_pct", "vram_used_gib", "vram_total_gib", "temp_c",
    "temp_slowdown_c", "power_w", "power_limit_w", "sm_clock_mhz", "mem_clock_mhz",
    "sm_clock_max_mhz", "mem_clock_max_mhz", "cpu_pct", "ram_pct",
)
COLUMN: dict[str, int] = {name: i for i, name in enumerate(COLUMNS)}

#: Store columns (``Store.series_between``) that :func:`rows_from_series` needs.
GPU_SERIES_COLUMNS: tuple[str, ...] = (
    "utilization_pct", "memory_utilization_pct", "memory_used_bytes", "memory_total_bytes",
    "temperature_c", "temp_slowdown_c", "power_w", "power_limit_w", "sm_clock_mhz",
    "memory_clock_mhz", "sm_clock_max_mhz", "memory_clock_max_mhz",
)
HOST_SERIES_COLUMNS: tuple[str, ...] = ("cpu_pct", "ram_used_bytes", "ram_total_bytes")
_GPU_SCALE: tuple[float, ...] = (1, 1, 1 / GIB, 1 / GIB, 1, 1, 1, 1, 1, 1, 1, 1)

FloatArray = npt.NDArray[np.float64]
ValueArray = npt.NDArray[np.float32]


def _num(value: object, scale: float = 1.0) -> float:
    if value is None:
        return NAN
    return float(value) * scale  # type: ignore[arg-type]


def _pct(used: object, total: object) -> float:
    if used is None or not total:
        return NAN
    return 100.0 * float(used) / float(total)  # type: ignore[arg-type]


def sample_row(sample: Sample, gpu: int) -> tuple[float, ...]:
    """The values of GPU ``gpu`` and the host in :data:`COLUMNS` order (NaN when unread).

    A sample without that GPU (none installed, or its provider failed) gives NaN GPU columns and
    the host columns.
    """
    g = next((x for x in sample.gpus if x.index == gpu), None)
    if g is None:
        gpu_values = (NAN,) * len(GPU_SERIES_COLUMNS)
    else:
        raw = (g.utilization_pct, g.memory_utilization_pct, g.memory_used_bytes,
               g.memory_total_bytes, g.temperature_c, g.temp_slowdown_c, g.power_w,
               g.power_limit_w, g.sm_clock_mhz, g.memory_clock_mhz, g.sm_clock_max_mhz,
               g.memory_clock_max_mhz)
        gpu_values = tuple(_num(v, s) for v, s in zip(raw, _GPU_SCALE, strict=True))
    host = sample.host
    return (*gpu_values, _num(host.cpu_pct), _pct(host.ram_used_bytes, host.ram_total_bytes))


class SeriesRing:
    """A fixed-size, time-ordered buffer of rows: float64 times and float32 values.

    Times must not go backwards: a row older than the newest one (the wall clock was set back)
    empties the ring first, because the time axis has to stay sorted for slicing. A row with the
    same time as the newest one is ignored.
    """

    def __init__(self, capacity: int, columns: int = len(COLUMNS)) -> None:
        """Allocate room for ``capacity`` rows of ``columns`` values.

        Raises:
            ValueError: Capacity or column count below 1.
        """
        if capacity < 1 or columns < 1:
            raise ValueError(f"capacity and columns must be >= 1, got {capacity}, {columns}")
        self._cap = capacity
        self._t: FloatArray = np.full(2 * capacity, NAN, dtype=np.float64)
        self._v: ValueArray = np.full((columns, 2 * capacity), NAN, dtype=np.float32)
        self._next = 0
        self._size = 0
        #: Times the ring was emptied because the clock went backwards.
        self.restarts = 0

    @property
    def capacity(self) -> int:
        """Most rows kept."""
        return self._cap

    @property
    def columns(self) -> int:
        """Values per row."""
        return int(self._v.shape[0])

    def __len__(self) -> int:
        return self._size

    def clear(self) -> None:
        """Forget every row (the arrays stay allocated)."""
        self._next = 0
        self._size = 0

    @property
    def last_time(self) -> float | None:
        """Time of the newest row, or None when empty."""
        return None if self._size == 0 else float(self._t[self._next - 1 + self._cap])

    @property
    def first_time(self) -> float | None:
        """Time of the oldest row, or None when empty."""
        return None if self._size == 0 else float(self._t[self._start()])

    def _start(self) -> int:
        return (self._next - self._size) % self._cap

    def _accept(self, t: float) -> bool:
        last = self.last_time
        if last is None or t > last:
            return True
        if t < last:
            self.clear()
            self.restarts += 1
            return True
        return False

    def append(self, t: float, values: Sequence[float]) -> None:
        """Add one row.

        Raises:
            ValueError: ``values`` does not have one entry per column.
        """
        if len(values) != self.columns:
            raise ValueError(f"expected {self.columns} values, got {len(values)}")
        if not self._accept(t):
            return
        i = self._next
        self._t[i] = self._t[i + self._cap] = t
        self._v[:, i] = self._v[:, i + self._cap] = values
        self._next = (i + 1) % self._cap
        self._size = min(self._size + 1, self._cap)

    def extend(self, times: npt.ArrayLike, values: npt.ArrayLike) -> None:
        """Add many rows at once (``values`` shaped ``(columns, n)``); only the newest
        ``capacity`` rows are kept. Rows not newer than the ring's newest are dropped, unless the
        whole batch is older (the clock went back): then the ring starts again from the batch.

        Raises:
            ValueError: Shapes disagree, or ``times`` is not sorted.
        """
        t = np.asarray(times, dtype=np.float64)
        v = np.asarray(values, dtype=np.float32)
        if t.ndim != 1 or v.shape != (self.columns, t.size):
            raise ValueError(f"need times (n,) and values ({self.columns}, n), got "
                             f"{t.shape} and {v.shape}")
        if t.size == 0:
            return
        if np.any(np.diff(t) < 0):
            raise ValueError("times must be sorted")
        last = self.last_time
        if last is not None and t[0] <= last:
            if t[-1] < last:  # the whole batch is older: the clock went back, start again
                self.clear()
                self.restarts += 1
            else:  # overlaps what the ring holds: keep only the newer rows
                keep = t > last
                t, v = t[keep], v[:, keep]
        if t.size > self._cap:
            t, v = t[-self._cap:], v[:, -self._cap:]
        slots = (self._next + np.arange(t.size)) % self._cap
        self._t[slots] = t
        self._t[slots + self._cap] = t
        self._v[:, slots] = v
        self._v[:, slots + self._cap] = v
        self._next = int((self._next + t.size) % self._cap)
        self._size = min(self._size + int(t.size), self._cap)

    def view(self) -> tuple[FloatArray, ValueArray]:
        """Every row, oldest first, as views ``(times, values[columns, n])``."""
        s = self._start()
        return self._t[s:s + self._size], self._v[:, s:s + self._size]

    def window(self, t0: float, t1: float) -> tuple[FloatArray, ValueArray]:
        """Rows with ``t0 <= time <= t1``, as views."""
        return window_of(*self.view(), t0, t1)

    def latest(self) -> tuple[float, ValueArray] | None:
        """The newest row as ``(time, values)``, or None."""
        if self._size == 0:
            return None
        i = self._next - 1 + self._cap
        return float(self._t[i]), self._v[:, i]

    def nearest(self, t: float) -> int | None:
        """Index (into :meth:`view`) of the row closest in time to ``t``; None when empty."""
        return nearest_index(self.view()[0], t)


def window_of(times: FloatArray, values: ValueArray, t0: float, t1: float,
              edge_rows: int = 0) -> tuple[FloatArray, ValueArray]:
    """The rows of sorted ``times`` with ``t0 <= time <= t1`` (views, no copy).

    ``edge_rows`` more rows are kept beyond each end where there are any, so a line drawn from
    the window reaches the edges of the range.
    """
    i0 = max(int(np.searchsorted(times, t0, side="left")) - edge_rows, 0)
    i1 = min(int(np.searchsorted(times, t1, side="right")) + edge_rows, times.size)
    return times[i0:i1], values[:, i0:i1]


def column_peaks(values: ValueArray) -> list[float]:
    """Each column's maximum over the rows, ignoring NaN (NaN when a column was never read)."""
    out: list[float] = []
    for column in values:
        finite = column[np.isfinite(column)]
        out.append(float(finite.max()) if finite.size else NAN)
    return out


def peak_decimate(times: FloatArray, values: ValueArray,
                  buckets: int) -> tuple[FloatArray, ValueArray]:
    """Min and max of every column over ``buckets`` equal runs of rows, for drawing.

    Each run becomes two rows at its first time: the minimum, then the maximum (NaN only where a
    column was never read in that run), so spikes and dips survive as they do in pyqtgraph's
    "peak" downsampling. Rows that do not fill the last run are kept as they are. Inputs with at
    most ``2 * buckets`` rows are returned unchanged (the same views).
    """
    n = times.size
    if buckets < 1 or n <= 2 * buckets:
        return times, values
    size = n // buckets
    whole = size * buckets
    chunks = values[:, :whole].reshape(values.shape[0], buckets, size)
    out_v = np.empty((values.shape[0], 2 * buckets + n - whole), dtype=values.dtype)
    out_v[:, 0:2 * buckets:2] = np.fmin.reduce(chunks, axis=2)
    out_v[:, 1:2 * buckets:2] = np.fmax.reduce(chunks, axis=2)
    out_v[:, 2 * buckets:] = values[:, whole:]
    starts = times[:whole:size]
    out_t = np.concatenate([np.repeat(starts, 2), times[whole:]])
    return out_t, out_v


def nearest_index(times: FloatArray, t: float) -> int | None:
    """Index of the element of sorted ``times`` closest to ``t`` (None for an empty array)."""
    if times.size == 0 or math.isnan(t):
        return None
    i = int(np.searchsorted(times, t))
    if i == 0:
        return 0
    if i >= times.size:
        return int(times.size - 1)
    return i if times[i] - t < t - times[i - 1] else i - 1


def _column(series: Mapping[str, Sequence[Any]], name: str, scale: float = 1.0) -> FloatArray:
    values = series.get(name)
    if values is None:
        return np.full(len(series.get("t", ())), NAN)
    out = np.array([NAN if v is None else float(v) for v in values], dtype=np.float64)
    return out * scale if scale != 1.0 else out


def rows_from_series(gpu: Mapping[str, Sequence[Any]] | None,
                     host: Mapping[str, Sequence[Any]]) -> tuple[FloatArray, ValueArray]:
    """Ring rows from ``Store.series_between`` results of one GPU and of the host.

    Args:
        gpu: ``{"t": [...], column: [...]}`` with :data:`GPU_SERIES_COLUMNS`, or None (no GPU).
        host: The same for :data:`HOST_SERIES_COLUMNS`.

    Returns:
        ``(times, values[len(COLUMNS), n])`` over the union of both time columns, sorted; a
        column with no reading at a time is NaN there.
    """
    gpu_t = np.asarray(gpu.get("t", ()) if gpu else (), dtype=np.float64)
    host_t = np.asarray(host.get("t", ()), dtype=np.float64)
    times = np.union1d(gpu_t, host_t)
    values = np.full((len(COLUMNS), times.size), NAN, dtype=np.float32)
    if gpu and gpu_t.size:
        where = np.searchsorted(times, gpu_t)
        for row, (name, scale) in enumerate(zip(GPU_SERIES_COLUMNS, _GPU_SCALE, strict=True)):
            values[row, where] = _column(gpu, name, scale)
    if host_t.size:
        where = np.searchsorted(times, host_t)
        values[COLUMN["cpu_pct"], where] = _column(host, "cpu_pct")
        used, total = _column(host, "ram_used_bytes"), _column(host, "ram_total_bytes")
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.where(total > 0, 100.0 * used / total, NAN)
        values[COLUMN["ram_pct"], where] = pct
    return times, values


def rows_from_aggregates(aggregates: Iterable[Aggregate],
                         gpu: int) -> tuple[FloatArray, ValueArray]:
    """Ring rows of bucket means (``Store.aggregates_between``) for GPU ``gpu`` and the host.

    Each row is stamped with its bucket's start. Metrics the aggregates do not keep (the memory
    clock's maximum) are NaN.
    """
    gpu_rows: dict[str, list[Any]] = {"t": []}
    host_rows: dict[str, list[Any]] = {"t": []}
    for a in aggregates:
        if a.gpu is None:
            target, names = host_rows, HOST_SERIES_COLUMNS
        elif a.gpu == gpu:
            target, names = gpu_rows, GPU_SERIES_COLUMNS
        else:
            continue
        target["t"].append(a.bucket)
        for name in names:
            target.setdefault(name, []).append(a.mean(name))
    return rows_from_series(gpu_rows if gpu_rows["t"] else None, host_rows)


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time when a throttle reason or an alert was active on one GPU."""

    start: float
    end: float | None  # None: still active at the last event seen
    kind: str  # "throttle" or "alert"
    name: str  # the reason ("sw_power_cap") or the alert kind ("temperature")
    gpu: int | None
    message: str

    def end_or(self, now: float) -> float:
        """The end, or ``now`` while the span is still open."""
        return now if self.end is None else self.end


#: Alerts that repeat a throttle episode; charts shade the episode instead.
THROTTLE_ALERTS = frozenset({"power_throttle", "thermal_throttle"})


def spans_from_events(events: Iterable[EventRecord], *, gpu: int | None = None,
                      skip_alerts: frozenset[str] = THROTTLE_ALERTS) -> tuple[Span, ...]:
    """Pair "raised" and "cleared" throttle and alert events into spans, oldest first.

    Args:
        events: Stored or live events in time order; other kinds (gaps, notes) and events
            without a state (old per-flip throttle rows) are ignored.
        gpu: Keep only this GPU's spans (None keeps all).
        skip_alerts: Alert kinds to leave out.
    """
    open_: dict[tuple[str, str, int | None], EventRecord] = {}
    done: list[Span] = []
    for e in events:
        if e.kind not in ("throttle", "alert") or (gpu is not None and e.gpu != gpu):
            continue
        if e.kind == "alert" and e.name in skip_alerts:
            continue
        key = (e.kind, e.name, e.gpu)
        if e.state == "raised":
            open_.setdefault(key, e)
        elif e.state == "cleared" and key in open_:
            first = open_.pop(key)
            done.append(Span(first.time, e.time, e.kind, e.name, e.gpu, first.message))
    done.extend(Span(e.time, None, e.kind, e.name, e.gpu, e.message) for e in open_.values())
    return tuple(sorted(done, key=lambda s: (s.start, s.name)))
