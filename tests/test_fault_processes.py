"""Faults with real processes (bounded, ~15 s in all): a disk that fills while the monitor
writes (a real size-limited filesystem where this machine allows mounting one), two monitors
and a concurrent writer on one database, every stop signal on the monitor and the storage
benchmark. Each test counts what was printed against what was stored."""

from __future__ import annotations

import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from rigready.monitor.store import Store
from tests.helpers.monitor_procs import (
    CLOSED,
    fill,
    monitor,
    rigready,
    small_filesystem,
    stored,
    wait_logging,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals, Linux mounts")


def test_disk_fills_while_the_monitor_writes(tmp_path: Path) -> None:
    with small_filesystem(tmp_path, 40) as mount:
        db = mount / "m.sqlite3"
        proc = monitor(tmp_path, db, duration=5)
        wait_logging(proc, db)
        filler = fill(mount)
        time.sleep(1.0)
        reader = rigready(tmp_path, "history", "--db", str(db))  # used to die of SIGBUS
        out, err = reader.communicate(timeout=30)
        assert reader.returncode == 0, err
        assert "closed" in out or "running" in out
        _, err = proc.communicate(timeout=30)
        # The disk stayed full to the end: the unsaved samples are counted and the exit says so.
        assert proc.returncode == 2, err
        assert "warning: cannot save samples: the disk holding" in err
        last = err.strip().splitlines()[-1]
        assert last.startswith("rigready: error: ") and "could not be saved" in last
        assert "waiting in memory" not in last  # a count from the first warning was stale
        printed = int(CLOSED.search(err).group(1))  # type: ignore[union-attr]
        lost = int(re.search(r"error: (\d+) of", last).group(1))  # type: ignore[union-attr]
        filler.unlink()
        assert stored(db) + lost == printed  # every sample is either stored or reported
        assert stored(db) >= 3


def test_second_monitor_is_refused_and_a_concurrent_writer_loses_nothing(
        tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    first = monitor(tmp_path, db, duration=3)
    wait_logging(first, db)
    second = monitor(tmp_path, db, duration=3)
    _, err2 = second.communicate(timeout=30)
    assert second.returncode == 2
    assert err2.strip().splitlines()[-1].startswith(
        f"rigready: error: another monitor (pid {first.pid}) is already logging to {db}")
    # Another process writes benchmark rows the whole time (short transactions, busy timeout).
    saved = 0
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        with Store(db) as store:
            store.save_bench_result(kind="storage", fingerprint="f", label="x",
                                    result={"n": saved})
        saved += 1
    _, err1 = first.communicate(timeout=30)
    assert first.returncode == 0, err1
    printed = int(CLOSED.search(err1).group(1))  # type: ignore[union-attr]
    assert stored(db) == printed  # no sample lost
    with Store(db, readonly=True) as store:
        assert len(store.list_bench_results(limit=10_000)) == saved


def test_stop_signals_close_the_session_and_keep_every_sample(tmp_path: Path) -> None:
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    runs = [(stop, tmp_path / f"{stop.name}.sqlite3") for stop in stops]
    procs = [monitor(tmp_path, db) for _, db in runs]  # all three at once
    for (stop, db), proc in zip(runs, procs, strict=True):
        wait_logging(proc, db, ticks=2)
        proc.send_signal(stop)
    for (stop, db), proc in zip(runs, procs, strict=True):
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, (stop, err)
        printed = int(CLOSED.search(err).group(1))  # type: ignore[union-attr]
        with Store(db, readonly=True) as store:
            (session,) = store.sessions()
        assert session.ended is not None and session.ticks == printed, stop


def test_every_stop_signal_removes_the_storage_test_file(tmp_path: Path) -> None:
    stops = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT]
    runs = []
    for k, stop in enumerate(stops):
        folder = tmp_path / f"disk{k}"
        folder.mkdir()
        proc = rigready(tmp_path, "bench", "storage", "--path", str(folder), "--size-mib", "16",
                         "--seconds", "0.1", "--no-save", "--force")
        runs.append((stop, folder, proc))
    for k, (stop, folder, proc) in enumerate(runs):
        deadline = time.monotonic() + 30
        while not any(folder.iterdir()) and time.monotonic() < deadline:  # benchmark running
            time.sleep(0.02)
        time.sleep(0.4 * k)  # from writing the file to the timed passes
        proc.send_signal(stop)
    for stop, folder, proc in runs:
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err and "unexpected error" not in err, err
        assert proc.returncode in (128 + stop, 130, -stop, 0), (stop, proc.returncode, err)
        assert list(folder.iterdir()) == [], (stop, err)


def test_sigkill_loop_on_the_monitor_and_the_benchmark(tmp_path: Path) -> None:
    """SIGKILL at start-up, mid-run and later (three monitors at once), and once mid-benchmark:
    every database stays intact and reopens for writing, at most ~1 s of samples is lost, and
    the benchmark's orphaned test file is removed by the next run's first step."""
    from rigready.assess.bench.storage_target import clean_stale

    runs = []
    for k, delay in enumerate((0.05, 1.5, 3.0)):
        db = tmp_path / f"k{k}.sqlite3"
        runs.append((db, delay, monitor(tmp_path, db), time.monotonic()))
    bench_dir = tmp_path / "disk"
    bench_dir.mkdir()
    bench = rigready(tmp_path, "bench", "storage", "--path", str(bench_dir), "--size-mib", "16",
                      "--seconds", "0.1", "--no-save", "--force")
    deadline = time.monotonic() + 30
    while not any(bench_dir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    bench.kill()
    bench.wait(timeout=10)
    killed_at: dict[Path, float] = {}
    for db, delay, proc, started in runs:
        time.sleep(max(0.0, started + delay - time.monotonic()))
        proc.kill()
        killed_at[db] = time.time()  # each monitor's own kill, not the last one's
        proc.wait(timeout=10)
    for db, _, _, _ in runs:
        if not db.exists():
            continue  # killed before it created anything
        check = sqlite3.connect(db)
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        check.close()
        with Store(db) as store:  # reopens for writing: lock released, schema intact
            last = max((s.last_sample or 0 for s in store.sessions()), default=None)
        if last:
            assert killed_at[db] - last < 1.5  # committed at least once a second
    orphans = list(bench_dir.iterdir())  # SIGKILL cannot be caught: the file is orphaned ...
    assert len(orphans) == 1
    assert clean_stale(bench_dir) == orphans  # ... and the next run's first step removes it
    assert list(bench_dir.iterdir()) == []
