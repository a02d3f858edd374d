"""Run-aware alerts (pure state machine, injected times) and "All clear" while a throttle
episode is live."""

from __future__ import annotations

import math

import numpy as np

from rigready.monitor.alerts import live_conditions
from rigready.monitor.store_read import EventRecord
from rigready.monitor.training.events import ProcessTick, RunEnded, RunMetrics, RunProgress
from rigready.monitor.training.run_alerts import RunAlertConfig, RunAlertEngine


def _loss(t: float, step: int, loss: float, grad: float = 0.5) -> RunMetrics:
    return RunMetrics(time=t, step=step, loss=loss, grad_norm=grad)


def test_nan_raises_once_and_clears_after_finite_logs() -> None:
    engine = RunAlertEngine(RunAlertConfig(nan_clear_logs=2), started=0.0)
    assert engine.update(_loss(1, 1, 2.0)) == ()
    raised = engine.update(_loss(2, 2, math.nan))
    assert [(a.kind, a.state, a.step) for a in raised] == [("loss_nan", "raised", 2)]
    assert engine.update(_loss(3, 3, math.inf)) == ()  # hysteresis: no second alert
    assert engine.update(_loss(4, 4, 1.0)) == ()
    cleared = engine.update(_loss(5, 5, 1.0))
    assert [(a.kind, a.state) for a in cleared] == [("loss_nan", "cleared")]


def test_spike_over_the_recent_median_with_hysteresis() -> None:
    engine = RunAlertEngine(RunAlertConfig(spike_factor=3, spike_clear_factor=1.5,
                                           spike_min_history=5, spike_clear_logs=2))
    for i in range(6):
        assert engine.update(_loss(i, i, 1.0 + 0.01 * i)) == ()
    raised = engine.update(_loss(7, 7, 3.5))
    assert [a.kind for a in raised] == ["loss_spike"] and raised[0].value == 3.5
    assert engine.update(_loss(8, 8, 2.0)) == ()  # between 1.5x and 3x: still raised
    assert engine.update(_loss(9, 9, 1.1)) == ()
    assert [a.state for a in engine.update(_loss(10, 10, 1.0))] == ["cleared"]


def test_stalled_needs_no_progress_a_live_process_and_an_idle_gpu() -> None:
    engine = RunAlertEngine(RunAlertConfig(stall_after_s=60), started=0.0)
    engine.update(RunProgress(time=10, step=5, total=100))
    assert engine.update(ProcessTick(time=80, alive=True, gpu_util_pct=95)) == ()  # busy
    assert engine.update(ProcessTick(time=80, alive=False, gpu_util_pct=0)) == ()  # gone
    raised = engine.update(ProcessTick(time=80, alive=True, gpu_util_pct=2))
    assert [a.kind for a in raised] == ["run_stalled"] and "step 5" in raised[0].message
    assert [a.state for a in engine.update(RunProgress(time=81, step=6, total=100))] == [
        "cleared"]


def test_stalled_uses_cpu_without_gpu_and_waits_longer_before_the_first_step() -> None:
    engine = RunAlertEngine(RunAlertConfig(stall_after_s=60, stall_start_factor=3), started=0)
    assert engine.update(ProcessTick(time=100, alive=True, cpu_pct=1.0)) == ()
    assert [a.kind for a in engine.update(ProcessTick(time=181, alive=True, cpu_pct=1.0))] == [
        "run_stalled"]
    other = RunAlertEngine(RunAlertConfig(stall_after_s=60), started=0)
    assert other.update(ProcessTick(time=500, alive=True)) == ()  # nothing readable: no alert


def test_finished_crashed_interrupted_and_oom_advice() -> None:
    done = RunAlertEngine(started=0.0)
    done.update(_loss(1, 10, 0.83))
    alert = done.update(RunEnded(time=62, outcome="finished", exit_code=0, duration_s=62))[0]
    assert alert.kind == "run_finished" and "1m02s" in alert.message and "0.83" in alert.message
    oom = RunAlertEngine(started=0.0, oom_advice=("The estimate is 27.3 GiB on this 24 GiB GPU",))
    alert = oom.update(RunEnded(time=5, outcome="crashed", exit_code=1, duration_s=5,
                                last_lines=("torch.OutOfMemoryError: CUDA out of memory",),
                                out_of_memory=True))[0]
    assert alert.kind == "run_crashed" and "out of GPU memory" in alert.message
    assert "27.3 GiB" in alert.message and alert.detail[0].startswith("The estimate")
    killed = RunAlertEngine(started=0.0).update(RunEnded(time=5, outcome="killed", signal=9,
                                                         last_lines=("step 50",)))
    assert "signal 9" in killed[0].message and "step 50" in killed[0].message
    assert RunAlertEngine(started=0.0).update(RunEnded(time=5, outcome="interrupted",
                                                       signal=2)) == ()


def _event(t: float, kind: str, name: str, state: str, message: str = "") -> EventRecord:
    return EventRecord(0, 1, t, kind, name, state, 0, message or name, None)


def test_no_all_clear_in_the_second_a_power_cap_episode_starts() -> None:
    events = [_event(10, "throttle", "sw_power_cap", "raised", "GPU 0 throttling: sw_power_cap"),
              _event(15, "alert", "power_throttle", "raised", "GPU 0 power throttling"),
              _event(40, "alert", "power_throttle", "cleared"),
              _event(45, "throttle", "sw_power_cap", "cleared")]
    assert live_conditions(events, gpu=0, at=9.9) == ()
    assert live_conditions(events, gpu=0, at=10.0) == (
        ("power_throttle", "GPU 0 throttling: sw_power_cap"),)
    assert live_conditions(events, gpu=0, at=20) == (("power_throttle",
                                                      "GPU 0 power throttling"),)
    assert [k for k, _ in live_conditions(events, gpu=0, at=42)] == ["power_throttle"]
    assert live_conditions(events, gpu=0, at=46) == ()
    assert live_conditions(events, gpu=1, at=20) == ()


def test_replay_snapshot_is_not_all_clear_during_an_episode() -> None:
    from pathlib import Path

    from rigready.desktop.monitoring.replay import ReplayData
    from rigready.desktop.monitoring.snapshots import replay_snapshot
    from rigready.monitor.ring import COLUMNS
    from rigready.monitor.store_read import SessionInfo

    times = np.arange(0.0, 60.0)
    values = np.full((len(COLUMNS), times.size), 50.0)
    info = SessionInfo(1, None, None, 0.0, 60.0, 1.0, ("0: GPU",), (), 60, 59.0)
    data = ReplayData(Path("x"), (info,), info, {0: "GPU"}, {0: (times, values)},
                      (_event(10, "throttle", "sw_power_cap", "raised", "capped"),))
    assert replay_snapshot(data, 0, 10.0).alerts == (("power_throttle", "capped"),)
    assert replay_snapshot(data, 0, 9.0).alerts == ()


def test_flapping_power_cap_is_sustained_throttling_with_a_grace() -> None:
    from dataclasses import replace

    from rigready.monitor.alerts import AlertConfig, AlertEngine
    from rigready.monitor.sample import GpuSample, HostSample, Sample

    base = GpuSample(index=0, name="GPU", throttle_reasons=())
    flapping = [("sw_power_cap",), ()] * 8 + [()] * 15  # on/off every second, then off

    def run(config: AlertConfig) -> list[tuple[str, float]]:
        engine = AlertEngine(config)
        out: list[tuple[str, float]] = []
        for i, reasons in enumerate(flapping):
            sample = Sample(time=float(i), host=HostSample(),
                            gpus=(replace(base, throttle_reasons=reasons),))
            out.extend((e.state, e.time) for e in engine.update(sample))
        return out

    assert run(AlertConfig(raise_after_s=5, clear_after_s=10)) == []  # strict: never raised
    assert run(AlertConfig(raise_after_s=5, clear_after_s=10, throttle_grace_s=2)) == [
        ("raised", 6.0), ("cleared", 27.0)]
