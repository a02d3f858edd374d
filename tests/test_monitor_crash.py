"""SIGKILL during logging: the database stays intact and loses at most the last ~2 s, and a
second process reads while the writer writes (WAL). Runs ``rigready monitor`` for real in a
subprocess with the test-only fake provider (about 5 s)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rigready.monitor.store import Store
from tests.helpers.monitor_procs import ROOT, env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def start_monitor(db: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rigready.desktop.cli", "monitor", "--interval", "0.2", "--duration",
         "120", "--db", str(db), "--label", "killed"],
        cwd=ROOT, env=env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_keeps_the_database_intact_and_recent(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    proc = start_monitor(db, tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not db.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        reader = None
        while reader is None and time.monotonic() < deadline:
            try:
                reader = Store(db, readonly=True)
            except Exception:  # noqa: BLE001 - the writer may still be creating the schema
                time.sleep(0.05)
        assert reader is not None, proc.stderr.read() if proc.stderr else ""
        # Read continuously while the other process writes: never blocked, always growing.
        counts = []
        while time.monotonic() < deadline:
            counts.append(len(reader.samples_between(0, 2e10)))
            if counts[-1] >= 15:  # about 3 s of logging at 0.2 s
                break
            time.sleep(0.05)
        assert counts[-1] >= 15 and counts == sorted(counts)
        reader.close()
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    newest = conn.execute("SELECT MAX(t) FROM host_samples").fetchone()[0]
    conn.close()
    assert newest >= killed_at - 2.0, f"lost {killed_at - newest:.2f} s of samples"
    with Store(db) as store:  # a new writer opens it fine; the killed session stays open
        (info,) = store.sessions()
        assert info.label == "killed" and info.ended is None and info.ticks >= 15
