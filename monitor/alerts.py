"""Alerts with hysteresis and minimum durations: a pure state machine over samples.

Each alert is judged per GPU. A condition is *bad* (over the raise threshold), *good* (past the
clear threshold) or *in between* (the hysteresis band, or not readable). An alert is raised once
the condition has been bad for ``raise_after_s`` and cleared once it has been good for
``clear_after_s``; time in between resets both timers, so a value hovering at the threshold
neither flaps nor fires. Unknown readings (None) never raise anything.

Alerts:

- ``temperature``: within ``temp_margin_c`` of the GPU's slowdown threshold.
- ``thermal_throttle`` / ``power_throttle``: the matching clock-event reasons are active.
- ``vram``: VRAM use above ``vram_raise_pct``.
- ``stalled``: "training stalled?" -- utilisation under ``stall_util_pct`` for ``stall_after_s``
  during a session, on a GPU that was busy (at least ``stall_busy_pct``) earlier in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from rigready.gpu.throttle import POWER_REASONS, THERMAL_REASONS
from rigready.monitor.sample import GpuSample, Sample

AlertKind = Literal["temperature", "thermal_throttle", "power_throttle", "vram", "stalled"]
ALERT_KINDS: tuple[AlertKind, ...] = (
    "temperature", "thermal_throttle", "power_throttle", "vram", "stalled")


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Thresholds (user-configurable). Raise and clear thresholds differ for hysteresis."""

    temp_margin_c: float = 5.0
    temp_clear_margin_c: float = 8.0
    vram_raise_pct: float = 95.0
    vram_clear_pct: float = 92.0
    stall_util_pct: float = 5.0
    stall_busy_pct: float = 30.0
    stall_after_s: float = 120.0
    raise_after_s: float = 5.0
    clear_after_s: float = 10.0
    enabled: frozenset[str] = frozenset(ALERT_KINDS)

    def __post_init__(self) -> None:
        """Reject thresholds that would make the hysteresis band negative."""
        problems = []
        if self.temp_clear_margin_c < self.temp_margin_c:
            problems.append("temp_clear_margin_c must be >= temp_margin_c")
        if self.vram_clear_pct > self.vram_raise_pct:
            problems.append("vram_clear_pct must be <= vram_raise_pct")
        if self.stall_busy_pct < self.stall_util_pct:
            problems.append("stall_busy_pct must be >= stall_util_pct")
        if min(self.raise_after_s, self.clear_after_s, self.stall_after_s) < 0:
            problems.append("durations must be >= 0")
        unknown = set(self.enabled) - set(ALERT_KINDS)
        if unknown:
            problems.append(f"unknown alert kinds {sorted(unknown)}")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert changing state on one GPU."""

    time: float
    kind: AlertKind
    gpu: int
    state: Literal["raised", "cleared"]
    message: str
    value: float | None = None


@dataclass(slots=True)
class _State:
    raised: bool = False
    bad_since: float | None = None
    good_since: float | None = None


Verdict = bool | None  # True bad, False good, None in between / unknown


@dataclass(slots=True)
class _Rule:
    kind: AlertKind
    judge: Callable[[GpuSample], tuple[Verdict, float | None, str]]
    raise_after: float
    clear_after: float


@dataclass(slots=True)
class AlertEngine:
    """Feed it every sample in order; it returns the alerts that changed state."""

    config: AlertConfig = field(default_factory=AlertConfig)
    _states: dict[tuple[AlertKind, int], _State] = field(default_factory=dict)
    _busy_seen: set[int] = field(default_factory=set)
    _active: dict[tuple[AlertKind, int], AlertEvent] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget everything (a new session starts); no cleared events are emitted."""
        self._states.clear()
        self._busy_seen.clear()
        self._active.clear()

    def active(self) -> tuple[AlertEvent, ...]:
        """The raised events of alerts still active, oldest first."""
        return tuple(sorted(self._active.values(), key=lambda e: (e.time, e.gpu, e.kind)))

    def update(self, sample: Sample, *, in_session: bool = True) -> tuple[AlertEvent, ...]:
        """Judge one sample (its ``time`` is the clock); returns raised/cleared events."""
        events: list[AlertEvent] = []
        rules = self._rules(in_session)
        for gpu in sample.gpus:
            if in_session and gpu.utilization_pct is not None and \
                    gpu.utilization_pct >= self.config.stall_busy_pct:
                self._busy_seen.add(gpu.index)
            for rule in rules:
                if rule.kind not in self.config.enabled:
                    continue
                verdict, value, message = rule.judge(gpu)
                event = self._step(rule, gpu.index, sample.time, verdict, value, message)
                if event is not None:
                    events.append(event)
        return tuple(events)

    def _rules(self, in_session: bool) -> tuple[_Rule, ...]:
        c = self.config
        rules = [
            _Rule("temperature", self._temperature, c.raise_after_s, c.clear_after_s),
            _Rule("thermal_throttle", lambda g: _reasons(g, THERMAL_REASONS, "thermal"),
                  c.raise_after_s, c.clear_after_s),
            _Rule("power_throttle", lambda g: _reasons(g, POWER_REASONS, "power"),
                  c.raise_after_s, c.clear_after_s),
            _Rule("vram", self._vram, c.raise_after_s, c.clear_after_s),
        ]
        if in_session:
            rules.append(_Rule("stalled", self._stalled, c.stall_after_s, 0.0))
        return tuple(rules)

    def _step(self, rule: _Rule, gpu: int, now: float, verdict: Verdict, value: float | None,
              message: str) -> AlertEvent | None:
        state = self._states.setdefault((rule.kind, gpu), _State())
        if verdict is True:
            state.good_since = None
            if state.bad_since is None:
                state.bad_since = now
            if not state.raised and now - state.bad_since >= rule.raise_after:
                state.raised = True
                event = AlertEvent(now, rule.kind, gpu, "raised", message, value)
                self._active[(rule.kind, gpu)] = event
                return event
        elif verdict is False:
            state.bad_since = None
            if state.good_since is None:
                state.good_since = now
            if state.raised and now - state.good_since >= rule.clear_after:
                state.raised = False
                self._active.pop((rule.kind, gpu), None)
                return AlertEvent(now, rule.kind, gpu, "cleared", message, value)
        else:
            state.bad_since = state.good_since = None
        return None

    def _temperature(self, g: GpuSample) -> tuple[Verdict, float | None, str]:
        t, limit = g.temperature_c, g.temp_slowdown_c
        if t is None or limit is None:
            return None, t, ""
        c = self.config
        message = f"GPU {g.index} at {t:.0f} °C, slowdown at {limit:.0f} °C"
        if t >= limit - c.temp_margin_c:
            return True, t, message
        if t <= limit - c.temp_clear_margin_c:
            return False, t, message
        return None, t, message

    def _vram(self, g: GpuSample) -> tuple[Verdict, float | None, str]:
        pct = g.memory_used_pct
        if pct is None:
            return None, None, ""
        message = f"GPU {g.index} VRAM {pct:.1f}% used"
        if pct > self.config.vram_raise_pct:
            return True, pct, message
        if pct <= self.config.vram_clear_pct:
            return False, pct, message
        return None, pct, message

    def _stalled(self, g: GpuSample) -> tuple[Verdict, float | None, str]:
        util = g.utilization_pct
        if util is None or g.index not in self._busy_seen:
            return None, util, ""
        c = self.config
        if util < c.stall_util_pct:
            return True, util, (f"Training stalled? GPU {g.index} at {util:.0f}% for "
                                f"{c.stall_after_s:.0f} s after being busy")
        if util >= c.stall_busy_pct:
            return False, util, f"GPU {g.index} busy again ({util:.0f}%)"
        return None, util, ""


def _reasons(g: GpuSample, group: frozenset[str],
             word: str) -> tuple[Verdict, float | None, str]:
    if g.throttle_reasons is None:
        return None, None, ""
    active = sorted(set(g.throttle_reasons) & group)
    if active:
        return True, None, f"GPU {g.index} {word} throttling: {', '.join(active)}"
    return False, None, f"GPU {g.index} no longer {word} throttling"
