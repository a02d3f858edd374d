from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigready.gpu.throttle import CLOCK_EVENT_BITS, decode_clock_events, encode_clock_events
from rigready.monitor.alerts import AlertConfig, AlertEngine, AlertEvent
from rigready.monitor.sample import GpuSample, HostSample, Sample
from rigready.monitor.throttle import ThrottleLog

GIB = 1024**3
BASE = GpuSample(index=0, name="GPU", utilization_pct=95.0, memory_used_bytes=10 * GIB,
                 memory_total_bytes=24 * GIB, temperature_c=60.0, temp_slowdown_c=90.0,
                 throttle_reasons=())


def run(engine: AlertEngine, gpus: Iterable[GpuSample], start: float = 0.0,
        step: float = 1.0, in_session: bool = True) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for i, gpu in enumerate(gpus):
        sample = Sample(time=start + i * step, host=HostSample(), gpus=(gpu,))
        events.extend(engine.update(sample, in_session=in_session))
    return events


def temps(*values: float) -> list[GpuSample]:
    return [replace(BASE, temperature_c=v) for v in values]


def test_temperature_raises_after_the_minimum_duration_and_clears_with_hysteresis() -> None:
    engine = AlertEngine(AlertConfig(raise_after_s=3, clear_after_s=5))
    # 85 °C is within 5 °C of the 90 °C slowdown: bad from t=2, raised at t=5.
    events = run(engine, temps(80, 84, 85, 86, 86, 86, 84, 83, 82, 81, 81, 81, 81, 81, 81))
    assert [(e.time, e.state) for e in events] == [(5.0, "raised"), (13.0, "cleared")]
    assert events[0].kind == "temperature" and events[0].value == 86
    assert "slowdown at 90" in events[0].message
    # 84-83 °C is inside the band (82-85): neither timer runs; <= 82 °C counts as good from t=8.
    assert engine.active() == ()


def test_a_value_hovering_at_the_threshold_does_not_flap() -> None:
    engine = AlertEngine(AlertConfig(raise_after_s=2, clear_after_s=2))
    assert run(engine, temps(*[85, 84] * 20)) == []


def test_short_spikes_do_not_raise() -> None:
    engine = AlertEngine(AlertConfig(raise_after_s=5))
    assert run(engine, temps(70, 88, 88, 70, 88, 88, 88, 70)) == []


def test_unknown_temperature_or_threshold_never_raises() -> None:
    engine = AlertEngine(AlertConfig(raise_after_s=0))
    gpus = [replace(BASE, temperature_c=None), replace(BASE, temp_slowdown_c=None,
                                                       temperature_c=99.0)]
    assert run(engine, gpus * 5) == []


def test_vram_above_95_percent() -> None:
    engine = AlertEngine(AlertConfig(raise_after_s=1, clear_after_s=1))
    used = [20, 23, 23, 23, 22.5, 22, 22]  # GiB of 24: 83%, 95.8%, ..., 93.8% (band), 91.7%
    events = run(engine, [replace(BASE, memory_used_bytes=int(u * GIB)) for u in used])
    assert [(e.kind, e.state, e.time) for e in events] == [
        ("vram", "raised", 2.0), ("vram", "cleared", 6.0)]
    assert events[0].value == pytest.approx(100 * 23 / 24)


def test_thermal_and_power_throttling_are_separate_alerts() -> None:
    engine = AlertEngine(AlertConfig(raise_after_s=2, clear_after_s=2))
    reasons = [("sw_power_cap",)] * 3 + [("sw_power_cap", "hw_thermal_slowdown")] * 3 + [()] * 3
    events = run(engine, [replace(BASE, throttle_reasons=r) for r in reasons])
    assert [(e.kind, e.state, e.time) for e in events] == [
        ("power_throttle", "raised", 2.0), ("thermal_throttle", "raised", 5.0),
        ("thermal_throttle", "cleared", 8.0), ("power_throttle", "cleared", 8.0)]
    assert "hw_thermal_slowdown" in events[1].message


def test_training_stalled_only_after_the_gpu_was_busy() -> None:
    config = AlertConfig(stall_after_s=60, stall_util_pct=5, stall_busy_pct=30)
    idle = [replace(BASE, utilization_pct=0.0)] * 200
    assert run(AlertEngine(config), idle, step=1.0) == []  # idle from the start: no alarm
    engine = AlertEngine(config)
    busy = [replace(BASE, utilization_pct=97.0)] * 10
    events = run(engine, busy + idle[:100] + busy[:1])
    assert [(e.kind, e.state, e.time) for e in events] == [
        ("stalled", "raised", 70.0), ("stalled", "cleared", 110.0)]
    assert "stalled" in events[0].message


def test_no_stall_alarm_outside_a_session() -> None:
    engine = AlertEngine(AlertConfig(stall_after_s=10))
    gpus = [replace(BASE, utilization_pct=97.0)] * 3 + [replace(BASE, utilization_pct=0.0)] * 30
    assert run(engine, gpus, in_session=False) == []


def test_each_gpu_has_its_own_state_and_reset_forgets() -> None:
    engine = AlertEngine(AlertConfig(raise_after_s=0))
    hot = replace(BASE, index=1, temperature_c=89.0)
    sample = Sample(time=0.0, host=HostSample(), gpus=(BASE, hot))
    (event,) = engine.update(sample)
    assert (event.gpu, event.kind) == (1, "temperature")
    assert engine.active() == (event,)
    engine.reset()
    assert engine.active() == ()


def test_disabled_alerts_and_bad_config() -> None:
    engine = AlertEngine(AlertConfig(raise_after_s=0, enabled=frozenset({"vram"})))
    assert run(engine, temps(89, 89)) == []
    with pytest.raises(ValueError, match="vram_clear_pct"):
        AlertConfig(vram_raise_pct=90, vram_clear_pct=95)
    with pytest.raises(ValueError, match="unknown alert kinds"):
        AlertConfig(enabled=frozenset({"smoke"}))


@given(st.integers(min_value=0, max_value=2**40))
def test_clock_event_masks_round_trip(mask: int) -> None:
    assert encode_clock_events(decode_clock_events(mask)) == mask


def test_clock_event_names() -> None:
    assert decode_clock_events(0) == ()
    assert decode_clock_events(0x4 | 0x40) == ("sw_power_cap", "hw_thermal_slowdown")
    assert decode_clock_events(0x1000) == ("unknown_0x1000",)
    assert len({name for _, name in CLOCK_EVENT_BITS}) == 9
    with pytest.raises(ValueError):
        encode_clock_events(["too_hot"])


def test_throttle_log_turns_flapping_into_one_episode() -> None:
    log = ThrottleLog(clear_after_s=10)
    pattern = [("sw_power_cap",), (), (), ("sw_power_cap",), ()] * 6 + [("gpu_idle",)] * 12
    changes = [c for t, r in enumerate(pattern) for c in log.update(float(t), 0, r)]
    assert [(c.time, c.state, c.reason) for c in changes] == [
        (0.0, "raised", "sw_power_cap"), (38.0, "cleared", "sw_power_cap")]
    assert changes[1].duration_s == 28.0
    assert "active in 12 of 39 samples" in changes[1].message


def test_throttle_log_close_ends_open_episodes() -> None:
    log = ThrottleLog()
    log.update(0.0, 1, ("hw_slowdown",))
    log.update(1.0, 1, None)  # unreadable: no change
    assert log.open_reasons(1) == ("hw_slowdown",)
    (closed,) = log.close(5.0)
    assert (closed.gpu, closed.reason, closed.state) == (1, "hw_slowdown", "cleared")
    assert log.open_reasons(1) == ()
