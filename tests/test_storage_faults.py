"""Storage faults are errors the user sees, and nothing is lost: foreign and corrupt databases,
injected disk-full and lock errors, read-only and full disks for readers, one monitor per
database. The real small-filesystem and multi-process cases are in test_fault_processes.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rigready.monitor import store_guard
from rigready.monitor.providers.fake import FakeProvider
from rigready.monitor.sampler import Sampler
from rigready.monitor.store import Store, StoreError


def _filled(db: Path, ticks: int = 5) -> None:
    sampler = Sampler([FakeProvider()], db_path=db, clock=iter(range(1000, 9000)).__next__,
                      retention=None)
    sampler.open_session("x")
    for _ in range(ticks):
        sampler.tick()
    sampler.close_session()


def _stored_ticks(db: Path) -> int:
    with Store(db, readonly=True) as store:
        return sum(s.ticks for s in store.sessions())


def test_foreign_sqlite_file_is_refused_unchanged(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('Ada')")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="another program's SQLite database") as info:
        Store(other)
    assert info.value.kind == "foreign"
    assert other.read_bytes() == before  # no tables added, still a rollback journal, not WAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]
    check = sqlite3.connect(other)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    check.close()


def test_corrupt_database_is_set_aside_and_a_fresh_one_started(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    _filled(db, 50)
    raw = bytearray(db.read_bytes())
    assert len(raw) > 3 * 4096
    raw[2 * 4096:3 * 4096] = b"\xa5" * 4096  # a page of garbage after the header
    db.write_bytes(bytes(raw))
    with Store(db) as store:
        assert len(store.notices) == 1 and "was corrupt" in store.notices[0]
        assert store.sessions() == []
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("m.sqlite3.corrupt-")
             and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(raw)  # kept exactly as it was


def test_injected_disk_full_keeps_rows_until_a_commit_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "m.sqlite3"
    problems: list[str | None] = []
    sampler = Sampler([FakeProvider()], db_path=db, clock=iter(range(1000, 9000)).__next__,
                      retention=None, on_store_problem=problems.append)
    sampler.open_session("full")
    sampler.tick()
    real_commit = Store.commit
    state = {"full": True}

    def commit(self: Store) -> None:
        if state["full"] and self.pending:
            self._rollback()
            raise StoreError(self._explain(sqlite3.OperationalError(
                "database or disk is full")), "full")
        real_commit(self)

    monkeypatch.setattr(Store, "commit", commit)
    for _ in range(10):
        sampler.tick()
    assert sampler.store_problem is not None and "is full" in sampler.store_problem
    assert problems and problems[0] is not None and "is full" in problems[0]
    state["full"] = False
    sampler.tick()
    assert sampler.store_problem is None and problems[-1] is None
    sampler.close_session()
    assert sampler.lost_samples == 0 and _stored_ticks(db) == 12


def test_free_space_floor_stops_writes_and_counts_lost(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "m.sqlite3"
    sampler = Sampler([FakeProvider()], db_path=db, clock=iter(range(1000, 9000)).__next__,
                      retention=None)
    sampler.open_session("floor")
    sampler.tick()
    monkeypatch.setattr(store_guard, "free_bytes", lambda folder: 1024)
    for _ in range(4):
        sampler.tick()
    assert sampler.store_problem is not None and "is full" in sampler.store_problem
    sampler.close_session()  # still full: the waiting ticks are counted, not silently lost
    assert sampler.lost_samples == 4
    monkeypatch.undo()
    assert _stored_ticks(db) == 1


def test_reader_on_a_full_disk_reads_a_copy(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "m.sqlite3"
    _filled(db, 7)
    real = store_guard.free_bytes
    monkeypatch.setattr("rigready.monitor.store_guard.free_bytes",
                        lambda folder: 0 if Path(folder) == tmp_path else real(folder))
    with Store(db, readonly=True) as store:
        assert store.sessions()[0].ticks == 7
        copy = store._copy
        assert copy is not None and copy.folder is not None and copy.folder.exists()
    assert copy.folder is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.sqlite3", "m.sqlite3.lock"]


def test_reader_in_a_read_only_folder(tmp_path: Path) -> None:
    db = tmp_path / "ro" / "m.sqlite3"
    db.parent.mkdir()
    _filled(db, 3)
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    db.parent.chmod(0o500)
    db.chmod(0o400)
    try:
        with Store(db, readonly=True) as store:
            assert store.sessions()[0].ticks == 3
    finally:
        db.parent.chmod(0o700)


def test_second_monitor_on_one_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    first = Sampler([FakeProvider()], db_path=db, retention=None)
    first.open_session("first")
    second = Sampler([FakeProvider()], db_path=db, retention=None)
    with pytest.raises(StoreError, match=r"another monitor .* is already logging") as info:
        second.open_session("second")
    assert info.value.kind == "locked"
    first.close_session()
    second.open_session("now free")
    second.close_session()


def test_locked_database_rows_are_retried(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    store = Store(db)
    store._conn.execute("PRAGMA busy_timeout = 50")
    session = store.start_session(label="x", host="h", interval_s=1, started=1.0)
    blocker = sqlite3.connect(db, timeout=0.05)
    blocker.execute("BEGIN IMMEDIATE")
    from rigready.monitor.sample import HostSample, Sample

    for t in range(3):
        store.add_sample(session, Sample(time=2.0 + t, host=HostSample(cpu_pct=1.0)))
    with pytest.raises(StoreError, match="locked") as info:
        store.commit()
    assert info.value.kind == "locked" and store.queued_samples == 3
    blocker.rollback()
    blocker.close()
    store.commit()
    assert store.queued_samples == 0
    store.close()
    assert _stored_ticks(db) == 3


def test_a_healthy_database_on_a_read_only_filesystem_is_not_called_corrupt(
        tmp_path: Path) -> None:
    """A WAL database on a read-only mount: the writer says read-only (it said 'corrupt and
    could not be set aside'), the reader reads it, and nothing is renamed."""
    import os
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    source = tmp_path / "rw"
    source.mkdir()
    _filled(source / "m.sqlite3", 4)
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow bind mounts")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)],
                          capture_output=True).returncode != 0:
            pytest.skip("this machine does not allow a read-only remount")
        before = sorted(p.name for p in source.iterdir())
        with pytest.raises(StoreError, match="read-only filesystem") as info:
            Store(mount / "m.sqlite3")
        assert "corrupt" not in str(info.value)
        with Store(mount / "m.sqlite3", readonly=True) as store:
            assert store.sessions()[0].ticks == 4
        assert sorted(p.name for p in source.iterdir()) == before
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
