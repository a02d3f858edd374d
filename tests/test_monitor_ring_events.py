"""Throttle/alert spans for the charts, and the sampler hooks the GUI relies on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rigready.monitor.alerts import AlertConfig
from rigready.monitor.providers.base import Reading
from rigready.monitor.providers.fake import ScriptedProvider
from rigready.monitor.ring import Span, spans_from_events
from rigready.monitor.sample import GpuSample, HostSample
from rigready.monitor.sampler import Sampler
from rigready.monitor.store import Store
from rigready.monitor.store_read import EventRecord

DATA = Path(__file__).parent / "data" / "monitor"


def stored_events(name: str) -> list[EventRecord]:
    path = DATA / f"{name}-2026-11-22" / f"{name}-session.sqlite3"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    rows = conn.execute("SELECT id, session_id, t, kind, name, state, gpu, message, value "
                        "FROM events ORDER BY t, id").fetchall()
    conn.close()
    return [EventRecord(r[0], r[1], r[2], r[3], r[4], r[5] or "", r[6], r[7] or "", r[8])
            for r in rows]


def ev(t: float, kind: str, name: str, state: str, gpu: int | None = 0) -> EventRecord:
    return EventRecord(0, 1, t, kind, name, state, gpu, f"{name} {state}", None)


def test_h200_session_has_one_power_cap_episode() -> None:
    events = stored_events("h200")
    (span,) = spans_from_events(events)  # the power_throttle alert repeats the episode
    assert (span.kind, span.name, span.gpu) == ("throttle", "sw_power_cap", 0)
    assert span.end is not None and round(span.end - span.start) == 67  # 16 s to 83 s
    both = spans_from_events(events, skip_alerts=frozenset())
    assert [(s.kind, s.name) for s in both] == [("throttle", "sw_power_cap"),
                                                ("alert", "power_throttle")]
    alert = both[1]
    assert alert.end is not None and round(alert.end - alert.start) == 63


def test_h100_per_flip_rows_without_state_are_not_spans() -> None:
    events = stored_events("h100")
    assert len(events) == 28 and all(e.state == "" for e in events)
    assert spans_from_events(events) == ()


def test_open_spans_pairs_and_gpu_filter() -> None:
    events = [ev(10, "throttle", "hw_slowdown", "raised", 1),
              ev(11, "alert", "temperature", "raised", 0),
              ev(12, "gap", "nvml", "raised", None),
              ev(15, "alert", "temperature", "cleared", 0),
              ev(16, "alert", "temperature", "raised", 0)]
    spans = spans_from_events(events)
    assert [(s.name, s.gpu, s.start, s.end) for s in spans] == [
        ("hw_slowdown", 1, 10, None), ("temperature", 0, 11, 15), ("temperature", 0, 16, None)]
    assert spans[0].end_or(99.0) == 99.0 and spans[1].end_or(99.0) == 15
    only0 = spans_from_events(events, gpu=0)
    assert all(s.gpu == 0 for s in only0) and len(only0) == 2
    assert isinstance(only0[0], Span)


def hot(t_index: int) -> Reading:
    reasons = ("sw_power_cap",) if 2 <= t_index < 6 else ()
    return Reading(host=HostSample(cpu_pct=1.0),
                   gpus=(GpuSample(index=0, name="G", temperature_c=50.0, temp_slowdown_c=90.0,
                                   throttle_reasons=reasons),))


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_on_event_reports_throttle_episodes_as_they_are_stored(tmp_path: Path) -> None:
    clock = Clock()
    seen: list[EventRecord] = []
    provider = ScriptedProvider([hot(i) for i in range(30)])
    sampler = Sampler([provider], db_path=tmp_path / "m.sqlite3", clock=clock, monotonic=clock,
                      host="box", on_event=seen.append)
    sampler.open_session("hooks")
    for _ in range(30):
        sampler.tick()
        clock.now += 1.0
    sampler.close_session()
    assert [(e.kind, e.name, e.state) for e in seen] == [
        ("throttle", "sw_power_cap", "raised"), ("throttle", "sw_power_cap", "cleared")]
    assert all(e.session_id == 1 and e.id == 0 for e in seen)
    with Store(tmp_path / "m.sqlite3") as store:
        stored = [(e.kind, e.name, e.state, e.time) for e in
                  store.events_between(0, 2e9) if e.kind == "throttle"]
    assert stored == [(e.kind, e.name, e.state, e.time) for e in seen]


def test_set_alert_config_applies_from_the_next_tick() -> None:
    clock = Clock()
    full = Reading(gpus=(GpuSample(index=0, name="G", memory_used_bytes=90,
                                   memory_total_bytes=100),))
    sampler = Sampler([ScriptedProvider([full])], clock=clock, monotonic=clock, host="box")
    sampler.open_session()
    for _ in range(10):
        sampler.tick()
        clock.now += 1.0
    assert sampler.active_alerts() == ()  # 90 % is below the default 95 %
    sampler.set_alert_config(AlertConfig(vram_raise_pct=85.0, vram_clear_pct=80.0,
                                         raise_after_s=0.0))
    sampler.tick()
    assert [a.kind for a in sampler.active_alerts()] == ["vram"]
