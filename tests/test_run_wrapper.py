"""``rigready run`` end to end: output passed through byte for byte (binary junk, a 10 MB
line), exit statuses as a shell gives them, signals reaching the child, the window size, and a
locked or full database never touching the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rigready.monitor.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pty")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, RIGREADY_FAKE_PROVIDER="1", COLUMNS="123", LINES="45",
               RIGREADY_DATA_DIR=os.environ.get("RIGREADY_DATA_DIR", ""))
    env.update(extra)
    return env


def _run(tmp_path: Path, *child: str, timeout: float = 120,
         extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    cmd = [sys.executable, "-m", "rigready.desktop.cli", "run", "--db",
           str(tmp_path / "db.sqlite3"), "--no-desktop-notify", *extra, "--", *child]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=_env(),
                          stdin=subprocess.DEVNULL, check=False)


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_output_is_passed_through_byte_for_byte(tmp_path: Path) -> None:
    child = _script(tmp_path, """
        import os, sys
        junk = bytes(range(256)) * 50
        line = b"x" * (10 * 1024 * 1024) + b"\\n"
        bars = b"".join(b"\\r%3d%%|#   | %d/10 [00:01<00:01,  5.00it/s]" % (i * 10, i)
                        for i in range(11))
        for part in (b"\\x1b[31mred\\x1b[0m\\n", junk, line, bars, b"\\n{'loss': '1.5'}\\n"):
            view = memoryview(part)
            while view:
                view = view[os.write(1, view):]
    """)
    payload = (b"\x1b[31mred\x1b[0m\n" + bytes(range(256)) * 50 + b"x" * (10 * 1024 * 1024)
               + b"\n" + b"".join(b"\r%3d%%|#   | %d/10 [00:01<00:01,  5.00it/s]" % (i * 10, i)
                                  for i in range(11)) + b"\n{'loss': '1.5'}\n")
    result = _run(tmp_path, sys.executable, child)
    assert result.returncode == 0, result.stderr
    assert result.stdout == payload.replace(b"\n", b"\r\n")  # the pty's own ONLCR, nothing else
    with Store(tmp_path / "db.sqlite3", readonly=True) as store:
        run = store.runs()[0]
    assert run.outcome == "finished" and run.steps == 10 and run.total_steps == 10


@pytest.mark.parametrize(("code", "status"), [
    ("raise SystemExit(3)", 3),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 128 + 9),
    ("pass", 0),
])
def test_exit_status_is_the_childs(tmp_path: Path, code: str, status: int) -> None:
    result = _run(tmp_path, sys.executable, "-c", code)
    assert result.returncode == status
    assert b"Traceback" not in result.stderr


def test_missing_and_unrunnable_commands_are_one_line(tmp_path: Path) -> None:
    missing = _run(tmp_path, "no-such-command-rigready")
    assert missing.returncode == 127
    assert missing.stderr.decode().strip().splitlines() == [
        "rigready run: error: command not found: no-such-command-rigready"]
    plain = tmp_path / "not-executable"
    plain.write_text("echo hi\n")
    assert _run(tmp_path, str(plain)).returncode == 126


def test_sigterm_reaches_the_child_and_the_status_follows(tmp_path: Path) -> None:
    child = _script(tmp_path, """
        import signal, sys, time
        def stop(signum, frame):
            print(f"child got {signum}", flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        time.sleep(60)
    """)
    cmd = [sys.executable, "-m", "rigready.desktop.cli", "run", "--db",
           str(tmp_path / "db.sqlite3"), "--no-desktop-notify", "--", sys.executable, child]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert b"child got 15" in out and proc.returncode == 7, err


def test_the_child_sees_a_terminal_of_the_callers_size(tmp_path: Path) -> None:
    result = _run(tmp_path, sys.executable, "-c",
                  "import os, sys; print(os.isatty(1), os.isatty(2), os.get_terminal_size())")
    assert result.stdout.strip() == b"True True os.terminal_size(columns=123, lines=45)"


def test_a_locked_database_never_touches_the_run(tmp_path: Path) -> None:
    from rigready.monitor.store_lock import MonitorLock

    db = tmp_path / "db.sqlite3"
    Store(db).close()
    lock = MonitorLock(db)  # another monitor is logging to this database
    try:
        result = _run(tmp_path, sys.executable, "-c", "print('trained')")
    finally:
        lock.release()
    assert result.returncode == 0 and result.stdout == b"trained\r\n"
    lines = result.stderr.decode().splitlines()
    assert sum("not recording this run" in line for line in lines) == 1


def test_a_full_disk_is_told_once_and_the_run_goes_on(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from rigready.monitor import store_connection
    from rigready.monitor.store_guard import GuardError
    from rigready.monitor.training.events import RunEnded
    from rigready.monitor.training.recorder import RunRecorder
    from rigready.monitor.training.tracker import RunInfo

    db = tmp_path / "db.sqlite3"
    with Store(db) as store:
        session = store.start_session(label=None, host=None, interval_s=1.0, started=0.0)
    told: list[str] = []
    recorder = RunRecorder(RunInfo("r", ("train",), 0.0), db_path=db, on_problem=told.append,
                           tick_s=0.05)
    recorder.start(session)
    time.sleep(0.3)

    def full(path: Path, minimum: int = 0) -> None:
        raise GuardError("full", f"the disk holding {path} is full")

    monkeypatch.setattr(store_connection, "check_space", full)
    for i in range(200):
        recorder.feed_output(b"\r %d%%|#| %d/200 [00:01<00:01, 5.00it/s]" % (i // 2, i),
                             float(i))
    time.sleep(1.5)
    snap = recorder.finish(RunEnded(time=3.0, outcome="finished", exit_code=0))
    assert snap.step == 199 and snap.outcome == "finished"
    assert len([t for t in told if "full" in t]) == 1


def test_a_parser_exception_is_told_once_and_recording_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rigready.monitor.training import stream
    from rigready.monitor.training.events import RunEnded
    from rigready.monitor.training.recorder import RunRecorder
    from rigready.monitor.training.tracker import RunInfo

    def broken(self: object, data: bytes) -> list[object]:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(stream.StreamParser, "feed", broken)
    told: list[str] = []
    recorder = RunRecorder(RunInfo("r", ("train",), 0.0), on_problem=told.append, tick_s=0.05)
    recorder.start(None)
    for i in range(50):
        recorder.feed_output(b"line %d\n" % i, float(i))
    snap = recorder.finish(RunEnded(time=2.0, outcome="finished", exit_code=0))
    assert snap.outcome == "finished" and recorder.stats.chunks == 50
    assert len(told) == 1 and "parser bug" in told[0]


@pytest.mark.parametrize("target", ["the run's database", "a symlink to it", "the default one"])
def test_capture_never_replaces_a_database_even_with_force(tmp_path: Path, target: str) -> None:
    # --capture was opened with a plain open("w"): '--capture DB --force' emptied the monitor
    # database (every session lost) although no output may replace one.
    home = tmp_path / "home"
    default = home / "data" / "rigready.sqlite3"
    for db in (tmp_path / "db.sqlite3", default):
        db.parent.mkdir(parents=True, exist_ok=True)
        with Store(db) as store:
            store.save_bench_result(kind="storage", fingerprint="f", label="kept", result={})
    (tmp_path / "link.db").symlink_to(tmp_path / "db.sqlite3")
    path = {"the run's database": tmp_path / "db.sqlite3", "a symlink to it": tmp_path / "link.db",
            "the default one": default}[target]
    before = {p: p.read_bytes() for p in (tmp_path / "db.sqlite3", default)}
    cmd = [sys.executable, "-m", "rigready.desktop.cli", "run", "--db",
           str(tmp_path / "db.sqlite3"), "--no-desktop-notify", "--capture", str(path),
           "--force", "--", sys.executable, "-c", "print('never run')"]
    result = subprocess.run(cmd, capture_output=True, timeout=120,
                            env=_env(RIGREADY_HOME=str(home)), stdin=subprocess.DEVNULL,
                            check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().startswith("rigready: error: ")
    assert b"refusing to write" in result.stderr and b"never run" not in result.stdout
    assert {p: p.read_bytes() for p in before} == before


def test_an_ordinary_capture_file_is_written_and_replaced_with_force(tmp_path: Path) -> None:
    capture = tmp_path / "run.jsonl"
    capture.write_text("old")
    refused = _run(tmp_path, sys.executable, "-c", "print('hi')", extra=("--capture", str(capture)))
    assert refused.returncode == 2 and capture.read_text() == "old"
    done = _run(tmp_path, sys.executable, "-c", "print('hi')",
                extra=("--capture", str(capture), "--force"))
    assert done.returncode == 0, done.stderr
    assert capture.read_text().startswith('{"t": ')
