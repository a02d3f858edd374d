"""The monitor database's connection: opening (guards, damaged-log check, migration), the
batched write queue and its commits, and the mapping of SQLite errors to :class:`StoreError`.

:class:`rigready.monitor.store.Store` builds the sessions, samples, events, benchmark results and
training runs on top of this; the module docstring there tells the rules (WAL, batching, what is
kept while commits fail).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

import sqlite_utils

from rigready.monitor.schema import MIGRATIONS, SCHEMA_VERSION
from rigready.monitor.store_guard import (
    MIN_FREE_BYTES,
    GuardError,
    ReadCopy,
    check_space,
    open_for_reading,
    open_for_writing,
)
from rigready.monitor.store_lock import monitor_running
from rigready.monitor.store_wal import (
    WalDamage,
    db_page_size,
    keep_aside,
    orphaned_log,
    scan_wal,
)

log = logging.getLogger("rigready.monitor.store")

#: The oldest schema a read-only store reads without migrating (v2 only added the run tables,
#: which read as empty when missing), so 'history' and a replay work on a file not yet migrated.
READABLE_FROM = 1
#: Most rows kept in memory while commits fail (a day of 1 Hz samples with events).
MAX_QUEUED = 200_000


class StoreError(Exception):
    """The database cannot be used (path, permissions, corruption, version, disk full).

    ``kind``: "full", "locked", "readonly", "corrupt", "foreign", "io", "version" or "other".
    """

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


class StoreConnection:
    """One connection to the monitor database, its write queue and commits (the base of
    :class:`~rigready.monitor.store.Store`); use one per thread or process."""

    def __init__(self, path: Path | str, *, readonly: bool = False,
                 migrations: Sequence[Callable[[Any], None]] = MIGRATIONS,
                 min_free_bytes: int = MIN_FREE_BYTES) -> None:
        """Open (creating and migrating unless ``readonly``) the database at ``path``.

        Args:
            path: The SQLite file (its folder is created when missing).
            readonly: Open for reading only; the file must exist at the current schema.
            migrations: Forward migrations (tests pass their own list).
            min_free_bytes: Writing stops while this much is still free on the disk.

        Raises:
            StoreError: The file cannot be opened, is not a rigready database, or is newer.
        """
        self.path = Path(path)
        #: The file itself (symlinks, ``..`` and ``/proc/self/fd`` resolved, as SQLite resolves
        #: them to name the ``-wal``): what the checks look at, what is opened.
        self.real = Path(os.path.realpath(path))
        self._migrations = tuple(migrations)
        self._min_free = min_free_bytes
        self._queued: deque[tuple[bool, Callable[[], object]]] = deque()  # (is a sample, write)
        self._copy: ReadCopy | None = None
        #: Sample ticks given up after :data:`MAX_QUEUED` writes piled up behind failing commits.
        self.dropped = 0
        #: What the user must be told (a corrupt database set aside, a damaged log).
        self.notices: list[str] = []
        #: A damaged write-ahead log found on opening, and where its copy was kept (writers).
        self.wal_damage: WalDamage | None = None
        self.wal_kept: Path | None = None
        #: The database was started anew (a corrupt one renamed aside) when it was opened.
        self.fresh = False
        try:
            self._conn = self._connect(readonly)
            self._conn.execute("PRAGMA mmap_size = 0")  # no SIGBUS from a mapped main file
            self.db = sqlite_utils.Database(self._conn, execute_plugins=False)
            if not readonly:
                self._conn.execute("PRAGMA busy_timeout = 10000")
                if self.db.journal_mode != "wal":
                    self.db.enable_wal()
                self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(readonly)
        except GuardError as exc:
            self._abandon()
            raise StoreError(self._told(str(exc)), exc.kind) from None
        except sqlite3.DatabaseError as exc:
            self._abandon()
            raise StoreError(self._told(self._explain(exc)), self._kind(exc)) from None
        except OSError as exc:
            self._abandon()
            raise StoreError(self._told(f"cannot open the database at {self.path}: {exc}"),
                             "io") from None
        except StoreError as exc:
            self._abandon()
            raise StoreError(self._told(str(exc)), exc.kind) from None

    def _abandon(self) -> None:
        """After a failed open: close what was opened."""
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        self._drop_copy()

    def _told(self, problem: str) -> str:
        """``problem``, after what was found first (a damaged log explains missing tables)."""
        if self.wal_damage is None or not self.notices:
            return problem
        return f"{'; '.join(self.notices)}; and: {problem}"

    def _drop_copy(self) -> None:
        if self._copy is not None:
            self._copy.close()
            self._copy = None

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        self._check_wal(readonly)
        if readonly:
            conn, self._copy = open_for_reading(self.real)
            return conn
        conn, notices = open_for_writing(self.real, self._min_free)
        self.notices.extend(notices)
        self.fresh = bool(notices)  # the only notice: a corrupt database was set aside
        return conn

    def _check_wal(self, readonly: bool) -> None:
        """Before SQLite opens the file: find a damaged log (which it would replay only in
        part, and a writer then checkpoint away), keep a copy aside, say so.

        A reader only reports (and skips the check while a monitor writes: the live log is
        its writer's business); a writer refuses to open when no copy can be kept.
        """
        wal = Path(f"{self.real}-wal")
        if readonly and monitor_running(self.real):
            return
        orphan = orphaned_log(self.real, wal)
        damage = orphan or scan_wal(wal, db_page_size(self.real))
        if damage is None:
            return
        self.wal_damage = damage
        if readonly and orphan is not None:  # opening would delete the log: do not open
            raise GuardError("corrupt", f"{damage.describe()}; not opened, so nothing is "
                                        "discarded (the next 'rigready monitor' keeps a copy "
                                        "aside)")
        if readonly:
            self.notices.append(f"{damage.describe()}; the next 'rigready monitor' keeps a "
                                "copy aside before using the database")
            return
        try:
            self.wal_kept = keep_aside(self.real, wal)
        except OSError as exc:
            raise GuardError("io", f"{damage.describe()}, and no copy could be kept aside "
                                   f"({exc.strerror or exc}); rigready will not write to "
                                   f"{self.path.name}, which would discard the damaged part "
                                   "for good: free some space") from None
        self.notices.append(f"{damage.describe()}; the database and the damaged log as they "
                            f"were are kept in {self.wal_kept.name} and "
                            f"{self.wal_kept.name}-wal")
        log.warning("%s", self.notices[-1])

    @staticmethod
    def _kind(exc: sqlite3.DatabaseError) -> str:
        text = str(exc).lower()
        for needle, kind in (("full", "full"), ("locked", "locked"), ("busy", "locked"),
                             ("readonly", "readonly"), ("read-only", "readonly"),
                             ("unable to open", "readonly"), ("not a database", "corrupt"),
                             ("malformed", "corrupt"), ("disk i/o", "io")):
            if needle in text:
                return kind
        return "other"

    def _explain(self, exc: sqlite3.DatabaseError) -> str:
        text = str(exc)
        kind = self._kind(exc)
        if kind == "corrupt":
            return f"{self.path} is corrupt or not a rigready database ({text})"
        if kind == "readonly":
            return f"cannot open the database at {self.path} for writing ({text})"
        if kind == "full":
            return f"the disk holding {self.path} is full ({text}); free some space"
        if kind == "locked":
            return f"{self.path} is locked by another program ({text})"
        if kind == "io":
            return f"the disk holding {self.path} failed to read or write ({text})"
        return f"database error on {self.path}: {text}"

    def _migrate(self, readonly: bool) -> None:
        target = len(self._migrations)
        version = self.schema_version()
        if version > target:
            raise StoreError(f"{self.path} has schema version {version}, newer than this "
                             f"rigready understands ({target}); update rigready", "version")
        if version == target:
            return
        if readonly:
            if version >= READABLE_FROM and target == SCHEMA_VERSION:
                return  # later versions only add tables (runs): an older file reads as is
            raise StoreError(f"{self.path} has schema version {version} and needs migrating "
                             f"to {target}; open it once without read-only", "version")
        self._conn.execute("BEGIN IMMEDIATE")  # one writer migrates; others wait then skip
        try:
            version = self.schema_version()
            for index in range(version, target):
                self._migrations[index](self.db)
                self._conn.execute(f"PRAGMA user_version = {index + 1}")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        """The database's ``PRAGMA user_version``."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Commit pending rows and close the connection (even when that commit fails)."""
        try:
            self.commit()
        finally:
            self._conn.close()
            self._drop_copy()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------

    # _begin_note: writes start with BEGIN IMMEDIATE, which waits (busy_timeout) for the write
    # lock. A deferred BEGIN that reads first and then writes fails at once with "database is
    # locked" when another connection committed meanwhile (WAL snapshot), busy timeout or not:
    # that is how two writers once each lost a third of their rows.

    def _write(self, action: Callable[[], Any]) -> Any:
        """Run ``action`` now inside the open transaction (for rows whose id is needed)."""
        try:
            check_space(self.real, self._min_free)
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN IMMEDIATE")  # see _begin_note
            return action()
        except GuardError as exc:
            raise StoreError(str(exc), exc.kind) from None
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise StoreError(self._explain(exc), self._kind(exc)) from None

    def _queue(self, action: Callable[[], object], sample: bool = False) -> None:
        """Keep ``action`` for the next :meth:`commit` (which retries it until it succeeds)."""
        self._queued.append((sample, action))
        if len(self._queued) > MAX_QUEUED:
            was_sample, _ = self._queued.popleft()
            self.dropped += was_sample

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass

    def commit(self) -> None:
        """Write the queued rows and commit; on failure keep them for the next call.

        Raises:
            StoreError: The disk is full (or below the free-space floor), the database is
                locked past the busy timeout, or an I/O error; the rows stay queued.
        """
        if not self._queued and not self._conn.in_transaction:
            return
        try:
            if self._queued:
                check_space(self.real, self._min_free)
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN IMMEDIATE")  # see _begin_note
            for _, action in self._queued:
                action()
            self._conn.execute("COMMIT")
            self._queued.clear()
        except GuardError as exc:
            self._rollback()
            raise StoreError(str(exc), exc.kind) from None
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise StoreError(self._explain(exc), self._kind(exc)) from None

    @property
    def pending(self) -> bool:
        """Whether rows are waiting for :meth:`commit`."""
        return bool(self._queued) or self._conn.in_transaction

    @property
    def queued_samples(self) -> int:
        """How many sample ticks wait in memory for a commit that succeeds."""
        return sum(1 for sample, _ in self._queued if sample)

    def _read(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            raise StoreError(self._explain(exc), self._kind(exc)) from None
