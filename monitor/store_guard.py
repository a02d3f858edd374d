"""Checks before the monitor database is opened or written, so storage faults become messages.

- :func:`free_bytes` / :func:`check_space`: a write never starts on a (nearly) full disk. SQLite
  keeps the WAL index (``-shm``) memory-mapped; on a full ext4 disk touching a new page of it
  raises SIGBUS and kills the process without a word, so the store stops writing while
  :data:`MIN_FREE_BYTES` are still free, and readers copy the database to a folder with room.
- :func:`inspect_file`: a file that is not SQLite, or another program's SQLite database, is
  refused *before* anything in it changes (no tables added, no switch to WAL).
- :func:`set_aside`: a corrupt rigready database is renamed (never written into, never deleted)
  so a fresh one can start.
One monitor per database file: :mod:`rigready.monitor.store_lock`; a damaged write-ahead log:
:mod:`rigready.monitor.store_wal`.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("rigready.monitor.store")

#: Writing stops while this much is still free on the database's disk.
MIN_FREE_BYTES = 16 * 1024 * 1024
#: Below this much free space even a reader could crash (the WAL index may need a new page).
READER_MIN_FREE_BYTES = 1024 * 1024
SQLITE_HEADER = b"SQLite format 3\x00"
#: The tables of a rigready database (a file with other tables belongs to someone else).
OUR_TABLES = frozenset({"sessions", "samples", "host_samples", "events", "gpu_aggregates",
                        "host_aggregates", "bench_results"})


class GuardError(Exception):
    """A check failed; ``kind`` is "full", "foreign", "locked", "readonly" or "io"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def free_bytes(folder: Path) -> int | None:
    """Bytes an unprivileged process may still write in ``folder``'s filesystem (None if
    unknown)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def check_writable(path: Path) -> None:
    """Raise :class:`GuardError` ("io") when ``path``'s folder is on a read-only filesystem or
    not writable: SQLite would then fail to open a healthy database ("unable to open database
    file"), which read as corruption."""
    folder = path.parent
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return  # unknown: the open below reports what is wrong
    if read_only or not os.access(folder, os.W_OK | os.X_OK):
        what = "on a read-only filesystem" if read_only else "a folder this user cannot write to"
        raise GuardError("io", f"{folder} is {what}, so rigready cannot write to {path.name} "
                               "there; give a --db in a writable folder")


def check_space(path: Path, minimum: int = MIN_FREE_BYTES) -> None:
    """Raise :class:`GuardError` ("full") when ``path``'s disk has less than ``minimum`` free."""
    free = free_bytes(path.parent)
    if free is not None and free < minimum:
        raise GuardError("full", f"the disk holding {path} is full ({free / 2**20:.1f} MiB "
                                 f"free, rigready needs {minimum / 2**20:.0f} MiB to write "
                                 "safely); free some space")


@dataclass(frozen=True, slots=True)
class FileState:
    """What :func:`inspect_file` found."""

    exists: bool
    ours: bool  # empty, new, or a rigready database
    corrupt: bool
    problem: str = ""


def inspect_file(path: Path) -> FileState:
    """Look at an existing file without changing it (read-only connection, no WAL switch).

    Raises:
        GuardError: ("foreign") not SQLite, or another program's SQLite database.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return FileState(exists=False, ours=True, corrupt=False)
    except OSError as exc:
        raise GuardError("io", f"cannot open the database at {path}: {exc.strerror}") from None
    if not path.is_file():
        raise GuardError("foreign", f"{path} is not a file; give a database file for --db")
    if size == 0:
        return FileState(exists=True, ours=True, corrupt=False)
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise GuardError("io", f"cannot read {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        raise GuardError("foreign", f"{path} is not a SQLite database; rigready will not "
                                    "touch it (choose another --db)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        return FileState(exists=True, ours=True, corrupt=True, problem=str(exc))
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        if (tables and not tables & OUR_TABLES) or (tables - OUR_TABLES and version == 0):
            raise GuardError("foreign", f"{path} is another program's SQLite database "
                                        f"(tables: {', '.join(sorted(tables)[:5])}); rigready "
                                        "will not change it (choose another --db)")
        check = conn.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:  # SQLite's report spans lines: one line for the user
            problem = " ".join(str(check[0][0]).replace("***", "").split())
            return FileState(exists=True, ours=True, corrupt=True, problem=problem)
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise GuardError("locked", f"{path} is locked by another program ({text})") from None
        return FileState(exists=True, ours=True, corrupt=True, problem=text)
    finally:
        conn.close()
    return FileState(exists=True, ours=True, corrupt=False)


def set_aside(path: Path, clock: float | None = None) -> Path:
    """Rename a corrupt database (and its ``-wal``/``-shm``) to ``NAME.corrupt-YYYYmmdd-HHMMSS``.

    Raises:
        GuardError: ("io") the rename failed.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(target)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                side.rename(Path(f"{target}{suffix}"))
    except OSError as exc:
        raise GuardError("io", f"{path} is corrupt and could not be set aside: "
                               f"{exc.strerror}") from None
    return target


class ReadCopy:
    """A private copy of a database (with its WAL) in a folder with free space, for reading
    when the database's own disk is full or its folder is read-only."""

    def __init__(self, path: Path) -> None:
        """Copy ``path`` and ``path-wal``.

        Raises:
            GuardError: ("full") no folder with room for the copy.
        """
        sources = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
        need = sum(p.stat().st_size for p in sources) + 4 * READER_MIN_FREE_BYTES
        self.folder: Path | None = None
        for base in (tempfile.gettempdir(), "/dev/shm", str(Path.home())):
            free = free_bytes(Path(base))  # statvfs needs a path that exists
            if free is not None and free >= need:
                try:
                    self.folder = Path(tempfile.mkdtemp(prefix="rigready-read-", dir=base))
                except OSError:
                    continue
                break
        if self.folder is None:
            raise GuardError("full", f"the disk holding {path} is full and no other folder has "
                                     f"room for a copy to read; free some space")
        self.path = self.folder / path.name
        try:
            for source in sources:
                shutil.copyfile(source, self.folder / source.name)
        except OSError as exc:
            self.close()
            code = "full" if exc.errno == errno.ENOSPC else "io"
            raise GuardError(code, f"cannot copy {path} to read it: {exc.strerror}") from None

    def close(self) -> None:
        """Remove the copy."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def open_for_writing(path: Path, min_free: int) -> tuple[sqlite3.Connection, list[str]]:
    """A connection for writing, after every check; and what the user must be told.

    Raises:
        GuardError: full disk, foreign file, locked, or a corrupt file that cannot be moved.
        OSError: the folder cannot be created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    check_writable(path)
    check_space(path, min_free)
    state = inspect_file(path)  # refuses a foreign file before anything changes
    notices = []
    if state.corrupt:
        aside = set_aside(path)
        notices.append(f"{path} was corrupt ({state.problem}); it was renamed to "
                       f"{aside.name} and a new database started")
        log.warning("%s", notices[-1])
    return sqlite3.connect(str(path), timeout=10), notices


def open_for_reading(path: Path) -> tuple[sqlite3.Connection, ReadCopy | None]:
    """A read-only connection (``mode=ro``); on a full disk or in a read-only folder, one to a
    private copy (returned too, for closing). Reading changes nothing, so no foreign or corrupt
    check here.

    Raises:
        GuardError: no such file, or no room anywhere for the copy.
        sqlite3.DatabaseError: the file cannot be read.
    """
    if not path.is_file():
        raise GuardError("io", f"no database at {path}")
    free = free_bytes(path.parent)
    if free is None or free >= READER_MIN_FREE_BYTES:
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn, None
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc) and "readonly" not in str(exc):
                raise
    # Full disk (the WAL index could fault) or a read-only folder: read a private copy.
    copy = ReadCopy(path)
    return sqlite3.connect(str(copy.path), timeout=10), copy
