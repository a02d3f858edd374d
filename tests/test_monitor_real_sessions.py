"""Replays the sessions logged on real GPUs (tests/data/monitor/*-2026-11-22, see the README
there) through the store, exports, alerts and Prometheus parser."""

from __future__ import annotations

import io
import itertools
import json
import shutil
import sqlite3
import statistics
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rigready.monitor.alerts import AlertEngine
from rigready.monitor.export import sample_from_dict
from rigready.monitor.sample import GpuSample, Sample
from rigready.monitor.store import Store

DATA = Path(__file__).parent / "data" / "monitor"
GIB = 1024**3
RUNS = {
    "h100": (DATA / "h100-2026-11-22", "NVIDIA H100 80GB HBM3", 80, 75),
    "h200": (DATA / "h200-2026-11-22", "NVIDIA H200", 141, 85),
}


@pytest.fixture(params=sorted(RUNS))
def run(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Store, list[Sample]]:
    key = request.param
    folder = RUNS[key][0]
    copy = tmp_path / "session.sqlite3"
    shutil.copy(folder / f"{key}-session.sqlite3", copy)
    store = Store(copy, readonly=True)
    request.addfinalizer(store.close)
    return key, store, store.session_samples(1)


def gpu0(samples: list[Sample]) -> list[GpuSample]:
    return [s.gpus[0] for s in samples]


def training(samples: list[Sample]) -> list[GpuSample]:
    """Ticks where the training process held more than 10 GiB of VRAM."""
    return [g for g in gpu0(samples)
            if any((p.used_memory_bytes or 0) > 10 * GIB for p in g.processes)]


def test_session_facts_and_integrity(run: tuple[str, Store, list[Sample]]) -> None:
    key, store, samples = run
    _, name, vram_gib, seconds = RUNS[key]
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    (info,) = store.sessions()
    assert info.label == "training loop" and info.gpus == (f"0: {name}",)
    assert info.ended is not None and info.duration_s == pytest.approx(seconds, abs=1.5)
    assert info.ticks == len(samples) >= seconds
    assert any("fan speed: not supported" in n for n in info.notes)
    steps = [b.time - a.time for a, b in itertools.pairwise(samples)]
    assert statistics.median(steps) == pytest.approx(1.0, abs=0.01) and max(steps) < 1.5
    first = samples[0].gpus[0]
    assert first.name == name and first.uuid and first.uuid.startswith("GPU-")
    assert first.memory_total_bytes is not None
    assert first.memory_total_bytes / GIB == pytest.approx(vram_gib, rel=0.02)
    assert (first.temp_slowdown_c, first.temp_shutdown_c) == (89.0, 95.0)
    assert (first.power_limit_w, first.sm_clock_max_mhz) == (700.0, 1980.0)


def test_training_loop_is_visible(run: tuple[str, Store, list[Sample]]) -> None:
    _, _, samples = run
    busy = training(samples)
    idle = [g for g in gpu0(samples) if not g.processes]
    assert len(busy) >= 55 and len(idle) >= 5
    assert statistics.median(g.utilization_pct or 0 for g in busy) >= 95
    assert statistics.median(g.memory_utilization_pct or 0 for g in busy) >= 30
    busy_power = statistics.median(g.power_w or 0 for g in busy)
    idle_power = statistics.median(g.power_w or 0 for g in idle)
    assert 500 <= busy_power <= 705 and idle_power <= 150
    assert all(g.utilization_pct == 0 for g in idle[:3])
    temps = [g.temperature_c for g in gpu0(samples) if g.temperature_c is not None]
    assert len(temps) == len(samples) and 20 <= min(temps) < max(temps) < 89
    assert max(g.temperature_c or 0 for g in busy) > min(temps) + 10  # it warmed up
    for g in gpu0(samples):
        assert g.sm_clock_mhz is not None and g.sm_clock_max_mhz is not None
        assert 0 < g.sm_clock_mhz <= g.sm_clock_max_mhz
        assert g.fan_pct is None and g.pstate == 0 and g.throttle_reasons is not None
    assert any("sw_power_cap" in (g.throttle_reasons or ()) for g in busy)
    assert {p.name for g in busy for p in g.processes} == {"python3"}
    host = [s.host for s in samples]
    assert all(h.ram_total_bytes and h.cpu_pct is not None for h in host[1:])


def test_energy_counter_matches_the_power_integral(run: tuple[str, Store, list[Sample]]) -> None:
    _, _, samples = run
    energy = [g.energy_j for g in gpu0(samples)]
    assert all(e is not None for e in energy)
    assert energy == sorted(energy)  # type: ignore[type-var]
    integral = sum((b.time - a.time) * ((a.gpus[0].power_w or 0) + (b.gpus[0].power_w or 0)) / 2
                   for a, b in itertools.pairwise(samples))
    assert (energy[-1] or 0) - (energy[0] or 0) == pytest.approx(integral, rel=0.05)


def test_exports_match_the_database(run: tuple[str, Store, list[Sample]]) -> None:
    key, store, samples = run
    folder = RUNS[key][0]
    csv_now = io.StringIO()
    store.export_session_csv(1, csv_now)
    assert csv_now.getvalue() == (folder / f"{key}-session.csv").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads((folder / f"{key}-session.json").read_text("utf-8"))
    assert [sample_from_dict(s) for s in doc["samples"]] == samples
    assert len(doc["events"]) == len(store.events_between(float("-inf"), float("inf")))


def test_aggregates_bracket_the_raw_values(run: tuple[str, Store, list[Sample]]) -> None:
    _, store, samples = run
    buckets = [a for a in store.aggregates_between(0, 2e10, bucket_s=60) if a.gpu == 0]
    assert sum(a.n for a in buckets) == len(samples)
    for a in buckets:
        lo, mean, hi = a.stats["power_w"]
        assert lo is not None and mean is not None and hi is not None and lo <= mean <= hi


def test_replayed_alerts_match_what_was_logged() -> None:
    copy = DATA / "h200-2026-11-22" / "h200-session.sqlite3"
    conn = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    logged = conn.execute("SELECT name, state, t FROM events WHERE kind = 'alert' "
                          "ORDER BY t").fetchall()
    conn.close()
    doc = json.loads((DATA / "h200-2026-11-22" / "h200-session.json").read_text("utf-8"))
    engine = AlertEngine()
    replayed = [(e.kind, e.state, e.time) for s in doc["samples"]
                for e in engine.update(sample_from_dict(s))]
    assert replayed == [tuple(row) for row in logged]
    assert [k for k, state, _ in replayed if state == "raised"] == ["power_throttle"]


@pytest.mark.parametrize("key", sorted(RUNS))
def test_prometheus_scrape_from_the_gpu_machine(key: str) -> None:
    folder, name, vram_gib, _ = RUNS[key]
    text = (folder / "metrics.txt").read_text(encoding="utf-8")
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if "gpu" in s.labels:
                assert s.labels["modelName"] == name and s.labels["device"] == "nvidia0"
                assert s.labels["UUID"].startswith("GPU-") and s.labels["Hostname"]
            values[s.name] = s.value
    assert values["DCGM_FI_DEV_GPU_UTIL"] == 100.0
    assert 500 < values["DCGM_FI_DEV_POWER_USAGE"] <= 705
    fb_total = values["DCGM_FI_DEV_FB_USED"] + values["DCGM_FI_DEV_FB_FREE"]
    assert fb_total / 1024 == pytest.approx(vram_gib, rel=0.02)
    assert "DCGM_FI_DEV_FAN_SPEED" not in values
