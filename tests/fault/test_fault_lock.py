"""One monitor per database FILE, whatever names it, and a lock file that is never written through.

Issue 24, items 1-3. Aliases of a database (hard links, symlinks, ``..``, relative paths,
``/proc/self/fd``, a bind mount) are refused while a monitor holds the file, in both orders; a
lock file that is a symlink, a FIFO, a folder, a hard link or someone's data is refused with one
line and never changed; the lock descriptor's release keeps SQLite's own POSIX locks."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rigready.desktop.cli import main
from rigready.monitor.providers.fake import FakeProvider
from rigready.monitor.sampler import Sampler
from rigready.monitor.store import Store, StoreError
from rigready.monitor.store_lock import MonitorLock, lock_path, monitor_running, read_record
from tests.helpers.monitor_procs import CLOSED, monitor, rigready, wait_logging

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock, /proc, bind mounts")


def _sampler(db: Path) -> Sampler:
    return Sampler([FakeProvider()], db_path=db, retention=None)


def _bind_mount(tmp_path: Path, db: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    target = tmp_path / "bound"
    target.mkdir()
    done = subprocess.run(["mount", "--bind", str(db.parent), str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not allow a bind mount: {done.stderr.strip()!r}")
    return target / db.name


def _proc_fd(tmp_path: Path, db: Path) -> Path:
    fd = os.open(db, os.O_RDONLY)  # closed with the test process; never closed mid-test
    return Path(f"/proc/self/fd/{fd}")


def _same(tmp: Path, db: Path) -> Path:
    return db


def _hard_link(tmp: Path, db: Path, folder: str = "") -> Path:
    target = (tmp / folder if folder else db.parent) / "h.db"
    target.parent.mkdir(exist_ok=True)
    os.link(db, target)
    return target


def _symlink(tmp: Path, db: Path, relative: bool = False) -> Path:
    link = db.parent / "s.db"
    link.symlink_to(db.name if relative else db)
    return link


def _linked_folder(tmp: Path, db: Path) -> Path:
    (tmp / "linked").symlink_to(db.parent)
    return tmp / "linked" / db.name


def _dot_dot(tmp: Path, db: Path) -> Path:
    (db.parent / "sub").mkdir()
    return db.parent / "sub" / ".." / db.name


#: Another name of the database file ``db`` (which exists) in ``tmp_path``.
ALIASES: dict[str, Callable[[Path, Path], Path]] = {
    "the same path": _same,
    "a hard link": _hard_link,
    "a hard link in another folder": lambda tmp, db: _hard_link(tmp, db, "other"),
    "a symlink": _symlink,
    "a relative symlink": lambda tmp, db: _symlink(tmp, db, relative=True),
    "a symlinked folder": _linked_folder,
    "a path through ..": _dot_dot,
    "a relative path": lambda tmp, db: Path(os.path.relpath(db)),
    "doubled slashes": lambda tmp, db: Path(f"{db.parent}//./{db.name}"),
    "/proc/self/fd/N": _proc_fd,
    "a bind mount": _bind_mount,
}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "a.db"
    Store(db).close()
    yield db
    subprocess.run(["umount", "-l", str(tmp_path / "bound")], capture_output=True)


@pytest.mark.parametrize("first_by_alias", [False, True], ids=["real-first", "alias-first"])
@pytest.mark.parametrize("alias", list(ALIASES))
def test_a_second_monitor_through_any_alias_is_refused(
        tmp_path: Path, database: Path, alias: str, first_by_alias: bool) -> None:
    other = ALIASES[alias](tmp_path, database)
    first, second = (other, database) if first_by_alias else (database, other)
    holder = _sampler(first)
    holder.open_session("first")
    try:
        intruder = _sampler(second)
        with pytest.raises(StoreError) as refused:
            intruder.open_session("second")
        assert refused.value.kind == "locked"
        assert f"another monitor (pid {os.getpid()})" in str(refused.value)
        assert "\n" not in str(refused.value)
        assert monitor_running(database) and monitor_running(other)
        for _ in range(3):
            holder.tick()
    finally:
        holder.close_session()
    assert not monitor_running(database)
    later = _sampler(second)  # the lock is free again, under either name
    later.open_session("later")
    later.tick()
    later.close_session()
    with Store(database, readonly=True) as store:
        sessions = {s.label: s for s in store.sessions()}
    assert sessions["first"].ticks == 3 and sessions["first"].ended is not None
    assert sessions["later"].ticks == 1


def test_a_new_database_through_a_symlink_is_locked_before_it_exists(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    link = tmp_path / "link.db"
    link.symlink_to(db)
    holder = MonitorLock(link)  # the file does not exist yet: the name lock is on the target
    try:
        with pytest.raises(Exception, match="another monitor"):
            MonitorLock(db)
    finally:
        holder.release()
    assert lock_path(link) == lock_path(db) == Path(f"{db}.lock")


def _lock_holder_posix_locks(path: Path) -> list[str]:
    info = path.stat()
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    with open("/proc/locks", encoding="ascii") as handle:
        return [line for line in handle if "POSIX" in line and wanted in line
                and f" {os.getpid()} " in line]


def test_releasing_the_file_lock_keeps_sqlites_own_locks(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it: the
    file lock's descriptor must stay open while SQLite has the file open in this process."""
    db = tmp_path / "m.db"
    Store(db).close()
    reader = sqlite3.connect(db)
    reader.execute("PRAGMA journal_mode").fetchone()
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM sessions").fetchone()  # holds a shared lock on db
    before = _lock_holder_posix_locks(db)
    assert before, "SQLite holds no POSIX lock on the database: nothing to check"
    lock = MonitorLock(db)
    lock.release()
    assert _lock_holder_posix_locks(db) == before
    reader.rollback()
    reader.close()


# -- the lock file itself (item 3) --------------------------------------------------------

def _symlink_to_user_file(tmp: Path, lock: Path) -> Path:
    (tmp / "v.txt").write_text("IMPORTANT\n")
    lock.symlink_to(tmp / "v.txt")
    return tmp / "v.txt"


def _dangling_symlink(tmp: Path, lock: Path) -> Path:
    lock.symlink_to(tmp / "would-be-created.txt")
    return tmp / "would-be-created.txt"


def _symlink_to_device(tmp: Path, lock: Path) -> Path:
    lock.symlink_to("/dev/null")
    return lock


def _fifo(tmp: Path, lock: Path) -> Path:
    os.mkfifo(lock)
    return lock


def _folder(tmp: Path, lock: Path) -> Path:
    lock.mkdir()
    (lock / "keep.txt").write_text("mine\n")
    return lock / "keep.txt"


def _hard_linked_lock(tmp: Path, lock: Path) -> Path:
    (tmp / "v.txt").write_text("IMPORTANT\n")
    os.link(tmp / "v.txt", lock)
    return tmp / "v.txt"


def _user_data(tmp: Path, lock: Path) -> Path:
    lock.write_text("my notes, not a lock\n")
    return lock


def _socket(tmp: Path, lock: Path) -> Path:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(lock))
    return lock


REFUSED: dict[str, Callable[[Path, Path], Path]] = {
    "a symlink to a user file": _symlink_to_user_file,
    "a dangling symlink": _dangling_symlink,
    "a symlink to /dev/null": _symlink_to_device,
    "a FIFO": _fifo,
    "a folder": _folder,
    "a hard link to a user file": _hard_linked_lock,
    "a user's own file": _user_data,
    "a socket": _socket,
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_a_lock_file_that_is_not_ours_is_refused_and_never_written(
        tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_FAKE_PROVIDER", "1")
    monkeypatch.setenv("RIGREADY_HOME", str(tmp_path / "home"))
    db = tmp_path / "m.db"
    victim = REFUSED[kind](tmp_path, Path(f"{db}.lock"))
    before = victim.read_bytes() if victim.is_file() else None
    existed = os.path.lexists(victim)
    code = main(["monitor", "--db", str(db), "--interval", "0.2", "--duration", "0.2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("rigready: error: ") and "lock file" in err[-1], err
    assert "Traceback" not in "\n".join(err)
    if before is not None:
        assert victim.read_bytes() == before
    assert os.path.lexists(victim) == existed  # a dangling link's target is never created
    assert not db.exists()  # refused before the database was even created


ACCEPTED = {
    "missing": None,
    "empty": b"",
    "a dead monitor's pid (old format)": b"999999\n",
    "a dead monitor's status": b"999999\nsession            3 ticks           40 waiting "
                                b"           2\n",
}


@pytest.mark.parametrize("content", list(ACCEPTED))
def test_a_stale_lock_file_of_ours_never_blocks(tmp_path: Path, content: str) -> None:
    db = tmp_path / "m.db"
    raw = ACCEPTED[content]
    if raw is not None:
        Path(f"{db}.lock").write_bytes(raw)
    sampler = _sampler(db)
    sampler.open_session("after")
    record = read_record(db)
    assert record is not None and record.pid == os.getpid()
    sampler.tick()
    sampler.close_session()
    record = read_record(db)
    assert record is not None and record.ticks == 1 and record.waiting == 0


# -- the reproductions, with real processes ---------------------------------------

def test_hard_link_and_symlink_monitors_are_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    """Item 1: ``monitor --db a.db &``; ``ln a.db b.db; monitor --db b.db`` was accepted and the
    first session later vanished. Both aliases are refused; every printed sample is stored."""
    db = tmp_path / "a.db"
    first = monitor(tmp_path, db, duration=120)  # stopped below: never a race with load
    wait_logging(first, db, ticks=1)
    os.link(db, tmp_path / "b.db")
    (tmp_path / "s.db").symlink_to(db)
    seconds = [monitor(tmp_path, tmp_path / alias, duration=1) for alias in ("b.db", "s.db")]
    for second in seconds:
        _, err = second.communicate(timeout=30)
        assert second.returncode == 2, err
        assert err.strip().splitlines()[-1].startswith(
            f"rigready: error: another monitor (pid {first.pid}) is already logging"), err
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    printed = int(CLOSED.search(err).group(1))  # type: ignore[union-attr]
    after = monitor(tmp_path, tmp_path / "b.db", duration=0.3)
    after.communicate(timeout=30)
    history = rigready(tmp_path, "history", "--db", str(db))
    out, _ = history.communicate(timeout=30)
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [int(r[4]) for r in rows if r[0] == "1"] == [printed]  # the first session intact
    assert [r[5] for r in rows] == ["closed", "closed"]


def test_an_export_over_a_held_lock_file_is_refused(tmp_path: Path) -> None:
    """Item 2: the export replaced the lock file by rename and a second monitor was then
    accepted. Now the lock file is never an output, and the file lock stays regardless."""
    db = tmp_path / "c.db"
    first = monitor(tmp_path, db, duration=120)
    wait_logging(first, db, ticks=1)
    lock = Path(f"{db}.lock")
    before = lock.read_bytes()
    export = rigready(tmp_path, "history", "--db", str(db), "--session", "1", "--export",
                      "json", "--output", str(lock), "--force")
    _, err = export.communicate(timeout=30)
    assert export.returncode == 2 and "refusing to write over the monitor lock file" in err
    assert lock.read_bytes()[:8] == before[:8]  # the same holder's record
    lock.unlink()  # even a lock file removed behind the monitor's back ...
    second = monitor(tmp_path, db, duration=0.3)
    _, err = second.communicate(timeout=30)
    assert second.returncode == 2 and "another monitor" in err  # ... the file lock holds
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=30)
    assert first.returncode == 0
