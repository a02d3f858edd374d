"""What the Monitor page charts: the live samples (one ring buffer per GPU, 24 h at 1 Hz), a
replayed session or the store's history aggregates; the GPU and the time window chosen; and the
rows, time range and tile values that follow from them. No widgets: the page draws from it."""

from __future__ import annotations

from collections.abc import Sequence

from rigready.desktop.monitoring.replay import HistoryData, ReplayData
from rigready.desktop.monitoring.text import WINDOW_BY_KEY
from rigready.monitor.ring import FloatArray, SeriesRing, ValueArray, column_peaks, sample_row
from rigready.monitor.sample import Sample

RING_CAPACITY = 86_400
LIVE_WINDOW = "5 min"


class ChartSource:
    """The Monitor page's data: ``mode`` is "live" (the rings) or "replay" (``replay``);
    ``history`` holds aggregates while a 7- or 30-day window is shown."""

    def __init__(self) -> None:
        self.rings: dict[int, SeriesRing] = {}
        self.gpu_names: dict[int, str] = {}
        self.latest: Sample | None = None
        self.mode = "live"
        self.replay: ReplayData | None = None
        self.replay_cursor: float | None = None
        self.history: HistoryData | None = None
        self.window_key = LIVE_WINDOW
        self.gpu = 0

    def add_samples(self, samples: Sequence[Sample]) -> None:
        """Append live samples to their GPUs' rings (a host-only sample to GPU 0's)."""
        if samples:
            self.latest = samples[-1]
        for sample in samples:
            for g in sample.gpus:
                self.gpu_names[g.index] = g.name
            for index in [g.index for g in sample.gpus] or [0]:
                ring = self.rings.get(index)
                if ring is None:
                    ring = self.rings[index] = SeriesRing(RING_CAPACITY)
                ring.append(sample.time, sample_row(sample, index))

    def show_replay(self, data: ReplayData) -> None:
        """Chart a replayed session (its whole length)."""
        self.mode, self.replay, self.history = "replay", data, None
        self.window_key = "Session"

    def show_live(self) -> None:
        """Chart the live rings again."""
        self.mode, self.replay, self.history = "live", None, None
        self.replay_cursor = None

    def rows(self, history: bool = False) -> tuple[FloatArray, ValueArray]:
        """The chosen GPU's rows (``history``: the aggregates when a long window has them)."""
        if history and self.history is not None and self.gpu in self.history.rows:
            return self.history.rows[self.gpu]
        if self.mode == "replay" and self.replay is not None:
            return self.replay.rows.get(self.gpu, next(iter(self.replay.rows.values())))
        ring = self.rings.get(self.gpu) or self.rings.get(min(self.rings, default=0))
        return ring.view() if ring is not None else SeriesRing(1).view()

    def x_range(self, session_started: float | None) -> tuple[float, float] | None:
        """The time range the chosen window covers now (None before any data); a live
        "Session" window starts at ``session_started`` (the first sample when None)."""
        if self.history is not None:
            return self.history.start, self.history.end
        t, _ = self.rows()
        if t.size == 0:
            return None
        end = float(t[-1])
        seconds = WINDOW_BY_KEY[self.window_key].seconds
        if seconds is not None:
            return end - seconds, end
        if self.replay is not None:
            return self.replay.session.started, end
        return (float(t[0]) if session_started is None else session_started), end

    def tile_values(self) -> list[float] | None:
        """What the tiles show: a replay's peaks, else the newest sample (None before any)."""
        v = self.rows()[1]
        if self.mode == "replay":
            return column_peaks(v)
        return [float(x) for x in v[:, -1]] if v.shape[1] else None
