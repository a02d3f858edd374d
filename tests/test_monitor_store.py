from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from rigready.monitor.export import CSV_HEADER, sample_from_dict
from rigready.monitor.providers.fake import FakeProvider
from rigready.monitor.sample import GpuSample, HostSample, Sample
from rigready.monitor.schema import MIGRATIONS, SCHEMA_VERSION
from rigready.monitor.store import Store, StoreError


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fake_samples(n: int, start: float = 1_700_000_000.0, gpus: int = 2,
                 step: float = 1.0) -> list[Sample]:
    clock = Clock(start)
    provider = FakeProvider(gpus=gpus, clock=clock)
    out = []
    for _ in range(n):
        reading = provider.read()
        assert reading.host is not None
        out.append(Sample(time=clock.now, host=reading.host, gpus=reading.gpus))
        clock.now += step
    return out


def filled(path: Path, samples: list[Sample], label: str = "run") -> tuple[Store, int]:
    store = Store(path)
    session = store.start_session(label=label, host="box", interval_s=1.0,
                                  started=samples[0].time, gpus=["0: Fake"])
    for sample in samples:
        store.add_sample(session, sample)
    store.commit()
    return store, session


def test_new_database_is_wal_at_current_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "sub" / "m.sqlite3")
    assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    assert store.db.journal_mode == "wal"
    assert {"sessions", "samples", "host_samples", "events", "gpu_aggregates",
            "host_aggregates", "bench_results"} <= set(store.db.table_names())
    store.close()
    again = Store(tmp_path / "sub" / "m.sqlite3")  # reopening migrates nothing
    assert again.schema_version() == SCHEMA_VERSION
    again.close()


def test_samples_round_trip_exactly(tmp_path: Path) -> None:
    samples = fake_samples(5)
    odd = Sample(time=samples[-1].time + 1, host=HostSample(),
                 gpus=(GpuSample(index=0, name="X", throttle_reasons=None),
                       GpuSample(index=1, name="Y", throttle_reasons=("sw_power_cap",
                                                                       "hw_slowdown"))))
    store, session = filled(tmp_path / "m.sqlite3", [*samples, odd])
    back = store.samples_between(samples[0].time, odd.time + 1)
    assert back == [*samples, odd]
    assert store.samples_between(samples[1].time, samples[3].time) == samples[1:3]
    assert store.session_samples(session) == [*samples, odd]
    store.close()


def test_uncommitted_rows_are_invisible_to_a_second_connection(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    writer, session = filled(path, fake_samples(3))
    reader = Store(path, readonly=True)
    extra = fake_samples(1, start=1_800_000_000.0)[0]
    writer.add_sample(session, extra)
    assert writer.pending
    assert len(reader.samples_between(0, 2e9)) == 3  # WAL: the reader is not blocked
    writer.commit()
    assert len(reader.samples_between(0, 2e9)) == 4
    writer.close()
    reader.close()


def test_sessions_events_and_series(tmp_path: Path) -> None:
    samples = fake_samples(4)
    store, session = filled(tmp_path / "m.sqlite3", samples)
    store.add_event(session, t=samples[1].time, kind="alert", name="vram", state="raised",
                    gpu=1, message="VRAM 96%", value=96.0)
    store.update_session(session, notes=["fan: not supported"])
    store.end_session(session, samples[-1].time + 1)
    (info,) = store.sessions()
    assert (info.id, info.label, info.host, info.ticks) == (session, "run", "box", 4)
    assert info.notes == ("fan: not supported",) and info.duration_s == 4.0
    (event,) = store.events_between(0, 2e9, session_id=session)
    assert (event.kind, event.name, event.state, event.gpu, event.value) == (
        "alert", "vram", "raised", 1, 96.0)
    series = store.series_between(0, 2e9, ["utilization_pct", "power_w"], gpu=1)
    assert series["t"] == [s.time for s in samples]
    assert series["power_w"] == [s.gpus[1].power_w for s in samples]
    host = store.series_between(0, 2e9, ["cpu_pct"], gpu=None)
    assert host["cpu_pct"] == [s.host.cpu_pct for s in samples]
    with pytest.raises(ValueError, match="unknown column"):
        store.series_between(0, 1, ["nope; DROP TABLE samples"])
    with pytest.raises(StoreError, match="no session 99"):
        store.session(99)
    store.close()


def test_retention_folds_old_rows_into_minute_aggregates(tmp_path: Path) -> None:
    start = 1_700_000_040.0  # a whole minute
    samples = fake_samples(180, start=start)  # three minutes at 1 Hz
    store, session = filled(tmp_path / "m.sqlite3", samples)
    before = store.aggregates_between(start, start + 180, bucket_s=60)
    result = store.apply_retention(start + 7 * 86400 + 120.5)  # first two minutes expire
    assert result.cutoff == start + 120 and result.folded_rows == 120 * 3  # 2 GPU + host rows
    assert len(store.samples_between(0, 2e9)) == 60
    after = store.aggregates_between(start, start + 180, bucket_s=60)
    assert [(a.bucket, a.gpu, a.n) for a in after] == [(a.bucket, a.gpu, a.n) for a in before]
    for old, new in zip(before, after, strict=True):
        for metric, (lo, mean, hi) in old.stats.items():
            assert new.stats[metric][0] == lo and new.stats[metric][2] == hi
            assert new.stats[metric][1] == pytest.approx(mean)
    gpu0 = [s.gpus[0].utilization_pct or 0.0 for s in samples[:60]]
    first = next(a for a in after if a.gpu == 0)
    lo, mean, hi = first.stats["utilization_pct"]
    assert (lo, hi) == (min(gpu0), max(gpu0)) and mean == pytest.approx(sum(gpu0) / 60)
    # Running it again changes nothing; wider buckets merge stored and raw data.
    assert store.apply_retention(start + 7 * 86400 + 120.5).folded_rows == 0
    (whole,) = [a for a in store.aggregates_between(start, start + 180, bucket_s=3600)
                if a.gpu == 1]
    util = [s.gpus[1].utilization_pct or 0.0 for s in samples]
    assert whole.n == 180 and whole.mean("utilization_pct") == pytest.approx(sum(util) / 180)
    # A year later the aggregates go too.
    gone = store.apply_retention(start + 400 * 86400)
    assert gone.deleted_aggregates == 3 * 3 and store.aggregates_between(0, 2e9) == []
    assert store.session(session).id == session
    store.close()


def test_export_csv_and_json(tmp_path: Path) -> None:
    samples = fake_samples(3)
    store, session = filled(tmp_path / "m.sqlite3", samples)
    store.add_event(session, t=samples[0].time, kind="gap", name="nvml", message="lost")
    store.commit()
    out = io.StringIO()
    assert store.export_session_csv(session, out) == 6
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_HEADER
    assert float(rows[1]["power_w"]) == samples[0].gpus[1].power_w
    assert rows[0]["processes"] == "4242:python3:18790481920"
    assert rows[0]["time_utc"].startswith("2023-11-14T22:13:20")
    doc_text = io.StringIO()
    assert store.export_session_json(session, doc_text) == 3
    doc: dict[str, Any] = json.loads(doc_text.getvalue())
    assert doc["format"] == "rigready-session" and doc["session"]["label"] == "run"
    assert [sample_from_dict(s) for s in doc["samples"]] == samples
    assert doc["events"][0]["kind"] == "gap"
    store.close()


def test_bench_results(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.sqlite3")
    first = store.save_bench_result(kind="gemm-cpu", fingerprint="fp1", label="numpy",
                                    result={"gflops": 512.5}, created="2026-01-01T00:00:00+00:00")
    second = store.save_bench_result(kind="storage", fingerprint="fp1", label="nvme",
                                     result='{"read_mb_s": 3000}',
                                     created="2026-01-02T00:00:00+00:00")
    assert second > first
    assert [r.id for r in store.list_bench_results()] == [second, first]
    (gemm,) = store.list_bench_results(kind="gemm-cpu")
    assert gemm.result == {"gflops": 512.5} and gemm.fingerprint == "fp1"
    assert len(store.list_bench_results(limit=1)) == 1
    assert store.save_bench_result(kind="gemm-gpu", fingerprint="f", label="x", result={}) > 0
    with pytest.raises(ValueError, match="unknown benchmark kind"):
        store.save_bench_result(kind="gemm", fingerprint="f", label="x", result={})
    with pytest.raises(ValueError):
        store.save_bench_result(kind="storage", fingerprint="f", label="x", result="not json")
    store.close()


def test_forward_migrations_run_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    Store(path).close()
    ran: list[int] = []

    def v2(db: Any) -> None:
        ran.append(2)
        db["sessions"].add_column("gpu_driver", str)

    with Store(path, migrations=(*MIGRATIONS, v2)) as store:
        assert store.schema_version() == SCHEMA_VERSION + 1
        assert "gpu_driver" in store.db["sessions"].columns_dict
    with Store(path, migrations=(*MIGRATIONS, v2)):
        pass
    assert ran == [2]
    with pytest.raises(StoreError, match="newer than this rigready"):
        Store(path)  # the old code meets the newer schema


def test_failed_migration_leaves_the_old_version(tmp_path: Path) -> None:
    def broken(db: Any) -> None:
        db.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(StoreError, match="disk I/O error"):
        Store(tmp_path / "m.sqlite3", migrations=(*MIGRATIONS, broken))
    with Store(tmp_path / "m.sqlite3") as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert "half" not in store.db.table_names()


def test_environment_problems_raise_store_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="is not a SQLite database; rigready will not touch"):
        Store(junk)
    assert junk.read_bytes() == b"this is not a database at all" * 100
    with pytest.raises(StoreError, match="no database"):
        Store(tmp_path / "missing.sqlite3", readonly=True)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open"):
        Store(blocker / "m.sqlite3")  # parent is a file


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="cannot open"):
            Store(folder / "m.sqlite3")
    finally:
        folder.chmod(0o700)
