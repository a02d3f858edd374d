"""One monitor per database *file*, and what a killed monitor left behind.

:class:`MonitorLock` takes two ``flock`` locks (the kernel drops them when the process dies, so
a lock file left by a killed monitor never blocks the next one):

- the *name lock* on ``REAL.lock``, where ``REAL`` is the database path with symlinks, ``..``
  and relative parts resolved. It exists before the database does, and the file carries the
  holder's pid and a status line (session, samples taken, samples waiting for a commit) that
  the next start reads after a SIGKILL (:func:`read_record`). The status is rewritten in place
  with the same length, so updating it needs no new disk space (the disk may be full).
- the *file lock* on the database file itself: it follows the file whatever names it (hard
  links, bind mounts, ``/proc/self/fd/N``), which the name lock cannot. Two writers on one file
  under two names would each keep their own ``NAME-wal`` and lose each other's sessions.
  ``flock`` and SQLite's POSIX byte-range locks are independent on local filesystems.

Closing *any* descriptor of a file drops every POSIX lock the process holds on it, SQLite's
included (SQLite's "how to corrupt" page warns about exactly this). So a file-lock descriptor
is closed only when no other descriptor of this process refers to the file; otherwise it stays
open (unlocked) and a later release closes it.

The lock file is never written through a symlink, into a FIFO or folder, into a file with other
links, or over content that is not a lock record (:class:`GuardError` "foreign" instead).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rigready.monitor.store_guard import GuardError, check_writable

#: A lock record: the pid line, then the status line (fixed width, rewritten in place).
_RECORD = re.compile(rb"\A(\d+)\n(session +(\d+) ticks +(\d+) waiting +(\d+)(?: pid +(\d+))?\n)?"
                     rb"\s*\Z")
_NUMBER = 12  # digits reserved per status number: the record never changes length
#: How long a start waits for a lock held for a moment (a ``history`` probing it).
_RETRY_S = 0.1


@dataclass(frozen=True, slots=True)
class LockRecord:
    """What a lock file says about the monitor that wrote it last."""

    pid: int
    session: int | None = None
    ticks: int = 0  # samples taken
    waiting: int = 0  # of them, not yet committed (a full disk, a locked database)

    @property
    def stored(self) -> int:
        """Samples the monitor had committed when it last wrote the record."""
        return self.ticks - self.waiting


def lock_path(db: Path) -> Path:
    """The name-lock file of ``db``: next to the real file, symlinks and ``..`` resolved."""
    return Path(f"{os.path.realpath(db)}.lock")


def read_record(db: Path) -> LockRecord | None:
    """The record in ``db``'s lock file (None: no file, not a regular file, or no record).

    Reads without locking; never follows a symlink."""
    try:
        fd = os.open(lock_path(db), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return _parse(os.read(fd, 256))
    except OSError:
        return None
    finally:
        os.close(fd)


def _parse(raw: bytes) -> LockRecord | None:
    found = _RECORD.match(raw)
    if found is None:
        return None
    holder, status, session, ticks, waiting, writer = found.groups()
    if status is None:
        return LockRecord(int(holder))
    return LockRecord(int(writer or holder), int(session) or None, int(ticks), int(waiting))


def _status_line(raw: bytes) -> bytes:
    """The status line of a record (b"" when none): kept when a new holder takes the lock, so
    a start that fails before its session opens does not erase what a killed monitor left."""
    found = _RECORD.match(raw)
    return b"" if found is None or found.group(2) is None else found.group(2)


def _flock_holder(key: tuple[int, int]) -> int | None:
    """The pid holding a ``flock`` write lock on the file ``(st_dev, st_ino)`` (Linux's
    ``/proc/locks``; None when unknown)."""
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    dev, ino = key
    wanted = f"{os.major(dev):02x}:{os.minor(dev):02x}:{ino}"
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[3] == "WRITE" \
                and fields[5] == wanted:
            with contextlib.suppress(ValueError):
                return int(fields[4])
    return None


def monitor_running(db: Path) -> bool:
    """Whether a monitor holds ``db``'s lock now (by its name lock, or a file lock seen in
    ``/proc/locks``). Opens no descriptor of the database itself, so it is safe in a process
    that has the database open."""
    with contextlib.suppress(OSError):
        info = os.stat(db)
        if _flock_holder((info.st_dev, info.st_ino)) is not None:
            return True
    try:
        fd = os.open(lock_path(db), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the shared lock just taken
    return False


# -- descriptors of database files that must not be closed yet ------------------------------

_kept: dict[tuple[int, int], list[int]] = {}
_kept_guard = threading.Lock()


def _others_open(key: tuple[int, int], ours: list[int]) -> bool:
    """Whether this process has a descriptor of the file ``key`` other than ``ours``
    (unknown counts as yes)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            with contextlib.suppress(ValueError, OSError):
                fd = int(name)
                if fd in ours:
                    continue
                info = os.fstat(fd)
                if (info.st_dev, info.st_ino) == key and stat.S_ISREG(info.st_mode):
                    return True
        return False
    return True


def _close_when_safe(key: tuple[int, int], fd: int) -> None:
    """Close ``fd`` (and earlier kept ones of the same file) unless that would drop another
    connection's POSIX locks; otherwise keep them for a later call."""
    with _kept_guard:
        ours = _kept.setdefault(key, [])
        ours.append(fd)
        if _others_open(key, ours):
            return
        for kept in _kept.pop(key):
            with contextlib.suppress(OSError):
                os.close(kept)


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


class MonitorLock:
    """The locks held while a monitor session writes to a database (see the module doc)."""

    def __init__(self, db: Path) -> None:
        """Take the name lock, and the file lock if the database exists.

        Raises:
            GuardError: ("locked") another monitor holds either lock; ("foreign") the lock file
                is a symlink, not a regular file, has other links or holds something else;
                ("io") it cannot be created.
        """
        self.db = Path(db)
        self.real = Path(os.path.realpath(db))
        self.path = lock_path(db)
        #: What the lock file said before this monitor took it (a killed monitor's status).
        self.previous: LockRecord | None = None
        self._file_fd: int | None = None
        self._file_key: tuple[int, int] | None = None
        self._status = b""
        self._fd: int | None = self._open_lock_file()
        try:
            self._lock_name()
            self.follow()
        except BaseException:
            self.release()
            raise
        self._write(f"{os.getpid()}\n".encode() + _status_line(os.pread(self._fd, 256, 0)))

    def _open_lock_file(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GuardError("io", f"cannot open the database at {self.db}: cannot create "
                                   f"the folder {self.path.parent} ({exc.strerror or exc})"
                             ) from None
        check_writable(self.real)  # a read-only disk: say so, not "cannot create the lock"
        flags = (os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                 | getattr(os, "O_CLOEXEC", 0))
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a symlink
                raise GuardError("foreign", f"the lock file {self.path} is a symbolic link; "
                                            "rigready will not write through it (remove the "
                                            "link)") from None
            if exc.errno == errno.EISDIR:
                raise GuardError("foreign", f"the lock file {self.path} is a folder; remove "
                                            "it or give another --db") from None
            raise GuardError("io", f"cannot create the lock file {self.path}: "
                                   f"{exc.strerror}") from None
        info = os.fstat(fd)
        problem = ""
        if not stat.S_ISREG(info.st_mode):
            problem = f"is {_describe(info.st_mode)}"
        elif info.st_nlink != 1:
            problem = "has other names (hard links) and writing the lock would change them"
        elif info.st_size and _parse(os.pread(fd, 256, 0)) is None:
            problem = "holds something other than a monitor's lock record"
        if problem:
            os.close(fd)
            raise GuardError("foreign", f"the lock file {self.path} {problem}; rigready will "
                                        "not write to it (move it away or give another --db)")
        return fd

    def _lock_name(self) -> None:
        import fcntl

        assert self._fd is not None
        deadline = time.monotonic() + _RETRY_S
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    record = _parse(os.pread(self._fd, 256, 0))
                    holder = "?" if record is None else str(record.pid)
                    raise GuardError("locked", f"another monitor (pid {holder}) is already "
                                               f"logging to {self.db}; stop it first, or give "
                                               "this one another --db") from None
                time.sleep(0.01)
        self.previous = _parse(os.pread(self._fd, 256, 0))

    def follow(self) -> None:
        """Hold the file lock on the file now at the database path (call again after the
        database was created or a corrupt one was renamed aside).

        Raises:
            GuardError: ("locked") another monitor writes to that file under another name.
        """
        import fcntl

        with contextlib.suppress(OSError):
            info = os.stat(self.real)
            if (info.st_dev, info.st_ino) == self._file_key:
                return  # already held: no second descriptor (closing it would cost locks)
        try:
            fd = os.open(self.real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                         | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return  # not created yet, or not openable: the store's own checks say why
        info = os.fstat(fd)
        key = (info.st_dev, info.st_ino)
        if key == self._file_key or not stat.S_ISREG(info.st_mode):
            _close_when_safe(key, fd)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            _close_when_safe(key, fd)
            pid = _flock_holder(key)
            raise GuardError("locked", f"another monitor (pid {pid or '?'}) is already logging "
                                       f"to the file {self.db} names (under another name: a "
                                       "hard link, bind mount or other alias of it); stop it "
                                       "first, or give this one another --db") from None
        self._drop_file_lock()
        self._file_fd, self._file_key = fd, key

    def record(self, session: int | None, ticks: int, waiting: int) -> None:
        """Rewrite the status line in place (same length each time: no new disk space)."""
        pid = os.getpid()
        self._write(f"{pid}\nsession {session or 0:>{_NUMBER}} ticks {ticks:>{_NUMBER}} "
                    f"waiting {waiting:>{_NUMBER}} pid {pid:>{_NUMBER}}\n".encode())

    def _write(self, status: bytes) -> None:
        if self._fd is None or status == self._status:
            return
        with contextlib.suppress(OSError):
            os.pwrite(self._fd, status, 0)
            if len(status) != len(self._status):
                os.ftruncate(self._fd, len(status))
            self._status = status

    def _drop_file_lock(self) -> None:
        fd, key = self._file_fd, self._file_key
        self._file_fd = self._file_key = None
        if fd is None or key is None:
            return
        import fcntl

        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        _close_when_safe(key, fd)

    def release(self) -> None:
        """Drop both locks (the lock file stays: an unlocked file means nobody holds it).
        Call it after the store is closed."""
        self._drop_file_lock()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
