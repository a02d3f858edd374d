"""ETA from the measured step rate, smoothed so it does not jump with each step.

The rate is measured over a trailing window (:attr:`EtaEstimator.window_fraction` of the time
since the first completed step, at least :attr:`EtaEstimator.min_window_s`), so periodic pauses
(evaluations, checkpoints) are averaged in and a run that changes speed is followed within
minutes. The first step is left out: it carries start-up (CUDA context, compilation, data
workers) that the rest of the run does not repeat. The predicted end time then moves toward
each new prediction with a time constant of :attr:`EtaEstimator.smoothing_s` seconds, so the
shown ETA counts down steadily instead of following every redraw. While no progress comes for
longer than a step (or the run's logged chunk of steps) takes, the end moves out with the
clock: a stalled run's ETA holds instead of counting down to zero.

Pure: the caller passes the time of each observation (the line's or the record's own time).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Eta:
    """An ETA at one moment."""

    #: Steps per second over the window.
    rate: float
    #: Seconds left (smoothed), at the time asked.
    remaining_s: float
    #: Predicted end, Unix seconds (smoothed).
    end_time: float


@dataclass(slots=True)
class EtaEstimator:
    """Feed it (time, step, total) observations in time order; ask :meth:`estimate`."""

    window_fraction: float = 0.5
    min_window_s: float = 30.0
    smoothing_s: float = 20.0
    #: No ETA before this much time of progress has been seen, or :attr:`warmup_steps` steps
    #: over at least a second (a fast run has its rate sooner).
    warmup_s: float = 3.0
    warmup_steps: int = 20
    _obs: deque[tuple[float, int]] = field(default_factory=deque)
    _first: tuple[float, int] | None = None
    _last: tuple[float, int] | None = None
    _total: int | None = None
    _smoothed_end: float | None = None
    _smoothed_at: float | None = None
    #: The largest step increment between recent observations: a run seen through its logs
    #: (every ``logging_steps``) advances in chunks, not steps.
    _chunk: int = 1

    def reset(self) -> None:
        """Forget everything (a new run or phase)."""
        self._obs.clear()
        self._first = self._last = None
        self._total = None
        self._smoothed_end = self._smoothed_at = None
        self._chunk = 1

    def observe(self, time: float, step: int, total: int | None) -> None:
        """Record that ``step`` steps were done at ``time`` (of ``total``)."""
        if total is not None and total > 0:
            if self._total is not None and total != self._total:
                self._smoothed_end = None  # a new total: the old prediction means nothing
            self._total = total
        if self._last is not None and step < self._last[1]:
            self.reset()  # the counter went back: a new phase
            self._total = total
        if self._last is not None and step == self._last[1]:
            return  # a redraw without progress says nothing new about the rate
        if self._last is not None and self._last[1] >= 1:
            self._chunk = max(1, step - self._last[1]) if len(self._obs) < 4 else max(
                self._chunk, step - self._last[1])
        self._last = (time, step)
        if step < 1:
            return
        if self._first is None:
            self._first = (time, step)
        self._obs.append((time, step))
        self._trim(time)

    def _trim(self, now: float) -> None:
        assert self._first is not None
        window = max(self.min_window_s, self.window_fraction * (now - self._first[0]))
        edge = now - window
        # keep one observation at or before the window's edge, so the window is full
        while len(self._obs) > 2 and self._obs[1][0] <= edge:
            self._obs.popleft()

    def rate(self) -> float | None:
        """Steps per second over the window (None until enough progress, see
        :attr:`warmup_s`)."""
        if len(self._obs) < 2:
            return None
        (t0, s0), (t1, s1) = self._obs[0], self._obs[-1]
        span = t1 - t0
        if s1 <= s0 or span < min(1.0, self.warmup_s) or (
                span < self.warmup_s and s1 - s0 < self.warmup_steps):
            return None
        return (s1 - s0) / (t1 - t0)

    def estimate(self, now: float) -> Eta | None:
        """The ETA at ``now`` (None without a total or a measured rate)."""
        rate = self.rate()
        if rate is None or self._total is None or self._last is None:
            return None
        t_last, step = self._last
        left = max(0, self._total - step)
        raw_end = t_last + left / rate
        if left > 0:
            # no progress for longer than a step (or a logged chunk) takes: the run is at least
            # that far from its end now, so the end moves out with the clock instead of the
            # countdown running on to zero while the run stands still
            raw_end = max(raw_end, now + max(0, left - self._chunk) / rate)
        if self._smoothed_end is None or self._smoothed_at is None:
            self._smoothed_end = raw_end
        else:
            dt = max(0.0, now - self._smoothed_at)
            weight = 1.0 - math.exp(-dt / self.smoothing_s) if self.smoothing_s > 0 else 1.0
            self._smoothed_end += (raw_end - self._smoothed_end) * weight
        self._smoothed_at = now
        if step >= self._total:
            self._smoothed_end = min(self._smoothed_end, now)
        return Eta(rate=rate, remaining_s=max(0.0, self._smoothed_end - now),
                   end_time=self._smoothed_end)
