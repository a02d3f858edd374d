from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from rigready.monitor.alerts import AlertConfig, AlertEvent
from rigready.monitor.providers.base import ProviderError, Reading
from rigready.monitor.providers.fake import FakeProvider, ScriptedProvider
from rigready.monitor.sample import GpuSample, HostSample, Sample
from rigready.monitor.sampler import Sampler, SamplerError, validate_interval
from rigready.monitor.store import Store, StoreError


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def gpu(index: int = 0, **kw: object) -> GpuSample:
    return GpuSample(index=index, name=f"G{index}", **kw)  # type: ignore[arg-type]


def make(providers: list[object], tmp_path: Path | None, clock: Clock,
         **kw: object) -> Sampler:
    return Sampler(providers, db_path=None if tmp_path is None else tmp_path / "m.sqlite3",  # type: ignore[arg-type]
                   clock=clock, monotonic=clock, host="box", **kw)  # type: ignore[arg-type]


def test_interval_is_validated() -> None:
    assert validate_interval(0.2) == 0.2 and validate_interval(60) == 60.0
    for bad in (0.1, 61, 0):
        with pytest.raises(SamplerError, match=r"between 0\.2 and 60"):
            validate_interval(bad)
    with pytest.raises(SamplerError):
        Sampler([], interval_s=0.05)


def test_tick_merges_providers_and_publishes_latest(tmp_path: Path) -> None:
    clock = Clock()
    host = ScriptedProvider([Reading(host=HostSample(cpu_pct=12.0))], name="host")
    nvidia = ScriptedProvider([Reading(gpus=(gpu(1, utilization_pct=50.0),
                                             gpu(0, utilization_pct=90.0)))], name="nvml")
    sampler = make([host, nvidia], tmp_path, clock)
    assert sampler.latest() is None
    session = sampler.open_session("run")
    sample = sampler.tick()
    assert sample.time == clock.now and sample.host.cpu_pct == 12.0
    assert [g.index for g in sample.gpus] == [0, 1]  # sorted by index
    assert sampler.latest() is sample
    sampler.close_session()
    with Store(tmp_path / "m.sqlite3") as store:
        (info,) = store.sessions()
        assert (info.id, info.label, info.host, info.gpus) == (session, "run", "box",
                                                              ("0: G0", "1: G1"))
        assert info.ended == clock.now
        assert store.samples_between(0, 2e9) == [sample]


def test_provider_failure_is_a_gap_with_backoff_then_recovery(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    ok = Reading(gpus=(gpu(0, utilization_pct=99.0),))
    lost = ProviderError("GPU is lost")
    nvml = ScriptedProvider([ok, lost, lost, lost, ok], name="nvml")
    sampler = make([nvml], tmp_path, clock)
    sampler.open_session()
    read_at: list[float] = []
    with caplog.at_level(logging.WARNING, logger="rigready.monitor.sampler"):
        for _ in range(12):
            before = nvml.reads
            sample = sampler.tick()
            if nvml.reads > before:
                read_at.append(clock.now - 1_700_000_000.0)
            if nvml.reads > before and nvml.reads in (2, 3, 4):
                assert sample.gpus == ()  # the failed reads leave a gap
            clock.now += 1.0
    # Failures at t=1, 2 (1 s backoff), 4 (2 s), success at 8 (4 s).
    assert read_at[:5] == [0.0, 1.0, 2.0, 4.0, 8.0]
    assert len([r for r in caplog.records if "GPU is lost" in r.getMessage()]) == 1
    sampler.close_session()
    with Store(tmp_path / "m.sqlite3") as store:
        events = store.events_between(0, 2e9)
        assert [(e.kind, e.name, e.time - 1_700_000_000.0) for e in events] == [
            ("gap", "nvml", 1.0), ("recovered", "nvml", 8.0)]
        assert events[1].value == 7.0
        gpu_ticks = [s.time - 1_700_000_000.0 for s in store.samples_between(0, 2e9) if s.gpus]
        assert 1.0 not in gpu_ticks and 8.0 in gpu_ticks


def test_unexpected_provider_error_switches_it_off_but_sampling_goes_on(tmp_path: Path) -> None:
    clock = Clock()
    broken = ScriptedProvider([RuntimeError("bug")], name="buggy")
    host = ScriptedProvider([Reading(host=HostSample(cpu_pct=5.0))], name="host")
    sampler = make([broken, host], None, clock)
    sampler.open_session()
    for _ in range(3):
        assert sampler.tick().host.cpu_pct == 5.0
        clock.now += 1
    assert broken.reads == 1


def test_alerts_and_throttle_episodes_are_stored_and_called_back(tmp_path: Path) -> None:
    clock = Clock()
    hot = gpu(0, temperature_c=88.0, temp_slowdown_c=90.0, throttle_reasons=("sw_power_cap",))
    seen: list[AlertEvent] = []
    sampler = make([ScriptedProvider([Reading(gpus=(hot,))])], tmp_path, clock,
                   alert_config=AlertConfig(raise_after_s=2), on_alert=seen.append)
    sampler.open_session()
    for _ in range(4):
        sampler.tick()
        clock.now += 1
    assert [(a.kind, a.state) for a in seen] == [("temperature", "raised"),
                                                 ("power_throttle", "raised")]
    assert [a.kind for a in sampler.active_alerts()] == ["power_throttle", "temperature"]
    sampler.close_session()
    with Store(tmp_path / "m.sqlite3") as store:
        kinds = [(e.kind, e.name, e.state) for e in store.events_between(0, 2e9)]
    assert kinds == [("throttle", "sw_power_cap", "raised"), ("alert", "temperature", "raised"),
                     ("alert", "power_throttle", "raised"),
                     ("throttle", "sw_power_cap", "cleared")]


def test_commits_are_batched_to_about_one_second(tmp_path: Path) -> None:
    clock = Clock()
    sampler = make([FakeProvider(clock=clock)], tmp_path, clock, interval_s=0.2,
                   retention=None)
    sampler.open_session()
    reader = Store(tmp_path / "m.sqlite3", readonly=True)
    visible = []
    for _ in range(10):
        sampler.tick()
        visible.append(len(reader.samples_between(0, 2e9)))
        clock.now += 0.2
    # Ticks every 0.2 s, a commit once the next tick would pass 1 s: rows appear in batches.
    assert visible == [0, 0, 0, 0, 5, 5, 5, 5, 5, 10]
    sampler.close_session()
    reader.close()


def test_store_errors_do_not_stop_sampling(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    sampler = make([FakeProvider(clock=clock)], tmp_path, clock)
    sampler.open_session()

    def full(*args: object, **kwargs: object) -> None:
        raise StoreError("database or disk is full")

    monkeypatch.setattr(Store, "add_sample", full)
    for _ in range(3):
        assert sampler.tick().gpus  # still sampling and publishing
        clock.now += 1
    assert sampler.latest() is not None
    sampler.close_session()


def test_callback_errors_are_contained() -> None:
    clock = Clock()

    def explode(sample: Sample) -> None:
        raise ValueError("GUI went away")

    sampler = make([FakeProvider(clock=clock)], None, clock, on_sample=explode)
    sampler.open_session()
    sampler.tick()
    sampler.tick()
    assert sampler.ticks == 2


def test_thread_runs_ticks_and_stop_closes_the_session(tmp_path: Path) -> None:
    fake = FakeProvider()
    sampler = Sampler([fake], db_path=tmp_path / "m.sqlite3", interval_s=0.2)
    session = sampler.start("thread")
    with pytest.raises(SamplerError, match="already running"):
        sampler.start()
    deadline = time.monotonic() + 10
    while sampler.ticks < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    sampler.close()
    assert not sampler.running and sampler.ticks >= 3
    with Store(tmp_path / "m.sqlite3") as store:
        info = store.session(session or 0)
        assert info.ended is not None and info.ticks == sampler.ticks


def test_start_reports_an_unusable_database(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    sampler = Sampler([FakeProvider()], db_path=blocker / "m.sqlite3")
    with pytest.raises(StoreError):
        sampler.start()
    assert not sampler.running


def test_a_stall_is_a_gap_event_with_its_length_and_the_samples_missed(tmp_path: Path) -> None:
    """A tick more than two intervals after the last (SIGSTOP, Ctrl-Z, a suspended machine)
    is recorded, not silently missing (issue 24, item 6)."""
    clock = Clock()
    seen: list[object] = []
    sampler = make([FakeProvider(clock=clock)], tmp_path, clock, interval_s=0.5,
                   retention=None, on_event=seen.append)
    sampler.open_session("paused")
    for step in (0.5, 0.5, 1.0, 5.0, 0.5):  # on time, a late tick (two intervals), a pause
        sampler.tick()
        clock.now += step
    sampler.tick()
    sampler.close_session()
    with Store(tmp_path / "m.sqlite3", readonly=True) as store:
        gaps = [e for e in store.events_between(0, 2e10) if e.kind == "gap"]
    assert [(g.name, g.value) for g in gaps] == [("stall", 5.0)]
    assert "no samples for 5.0 s (about 9 missed at one every 0.5 s)" in gaps[0].message
    assert len(seen) == 1
