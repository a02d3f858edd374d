"""Opening the database for a monitor session, and what the last monitor left behind.

:func:`open_for_session` locks the database file (:class:`~rigready.monitor.store_lock.MonitorLock`)
before anything opens it, opens the store, then locks the file now at the path (new, or a
corrupt one renamed aside), and reports what an earlier monitor could not
(:func:`report_previous`).

A session whose ``ended`` is empty while no monitor holds the database's lock was never closed:
its monitor was killed (SIGKILL, the OOM killer), crashed or lost power. What is known about it:
the samples the database holds, and, from the lock file's last status line
(:class:`~rigready.monitor.store_lock.LockRecord`, rewritten at every commit), how many samples
were waiting in memory for a commit (a full disk) and how many the monitor had committed, which
the database no longer holds if its write-ahead log was damaged or cut.

The next ``rigready monitor`` says this once and stores it as a ``gap`` event named
``unclosed`` in that session; ``rigready history`` says it for every such session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rigready.monitor.store import Store, StoreError
from rigready.monitor.store_guard import GuardError
from rigready.monitor.store_lock import LockRecord, MonitorLock
from rigready.monitor.store_read import SessionInfo

#: Event names of the reports stored in the events table (kind "gap").
UNCLOSED_EVENT = "unclosed"
WAL_EVENT = "wal-damaged"
STALL_EVENT = "stall"


@dataclass(frozen=True, slots=True)
class Unclosed:
    """One session that was never closed."""

    session: SessionInfo
    message: str
    lost: int | None  # samples known lost (None: none known)


def _utc(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def unclosed_sessions(sessions: list[SessionInfo], record: LockRecord | None, *,
                      running: bool = False) -> list[Unclosed]:
    """The sessions never closed, newest first (``running``: a monitor writes now, so the
    newest open session is alive and left out)."""
    out: list[Unclosed] = []
    skip_live = running
    for info in sessions:  # newest first
        if info.ended is not None:
            continue
        if skip_live:
            skip_live = False
            continue
        mine = record if record is not None and record.session == info.id else None
        parts = [f"session {info.id} ended without closing (its monitor"
                 + (f", pid {mine.pid}," if mine is not None else "")
                 + f" was killed, crashed or lost power): it holds {info.ticks} samples, "
                 f"the last at {_utc(info.last_sample)}"]
        lost = 0
        if mine is not None and mine.waiting:
            lost += mine.waiting
            parts.append(f"{mine.waiting} samples waiting in memory for a commit (the disk "
                         "was full or the database locked) are lost")
        missing = 0 if mine is None else mine.stored - info.ticks
        if missing > 0:
            lost += missing
            parts.append(f"{missing} samples it had saved are missing (its write-ahead log "
                         "was damaged or cut)")
        out.append(Unclosed(info, "; ".join(parts), lost or None))
    return out


def wal_samples_lost(sessions: list[SessionInfo], record: LockRecord | None) -> str:
    """Samples of the lock record's session missing from the database, in words ("" when
    unknown): the best count of what a damaged log took."""
    if record is None or record.session is None:
        return ""
    info = next((s for s in sessions if s.id == record.session), None)
    if info is None:
        return f"session {record.session}, with {record.stored} saved samples, is missing"
    missing = record.stored - info.ticks
    if missing <= 0:
        return ""
    return (f"{missing} samples of session {info.id} are missing (its monitor had saved "
            f"{record.stored}, the database holds {info.ticks})")


def open_for_session(path: Path) -> tuple[Store, MonitorLock]:
    """The store and its lock for a monitor session (release the lock after closing it).

    Raises:
        StoreError: locked by another monitor (under any name), or unusable.
    """
    try:
        lock = MonitorLock(path)
    except GuardError as exc:
        raise StoreError(str(exc), exc.kind) from None
    store = None
    try:
        store = Store(path)
        lock.follow()
    except BaseException as exc:
        if store is not None:
            with contextlib.suppress(StoreError):
                store.close()
        lock.release()
        if isinstance(exc, GuardError):
            raise StoreError(str(exc), exc.kind) from None
        raise
    return store, lock


def report_previous(store: Store, record: LockRecord | None,
                    clock: Callable[[], float]) -> list[str]:
    """Tell (and store as ``gap`` events, once) what the last writer could not: a damaged
    write-ahead log found on opening, sessions never closed. Call it holding the lock.

    Returns:
        The notices for the user.
    """
    sessions = store.sessions()
    notices: list[str] = []
    if store.wal_damage is not None:
        lost = wal_samples_lost(sessions, record)
        target = record.session if record is not None and record.session else None
        if target is None and sessions:
            target = sessions[0].id
        message = store.wal_damage.describe()
        if store.wal_kept is not None:
            message += f"; copies kept in {store.wal_kept.name} and {store.wal_kept.name}-wal"
        if lost:  # told to the user with the unclosed session below; stored here
            message = f"{message}; {lost}"
        store.add_event(target, t=clock(), kind="gap", name=WAL_EVENT, state="raised",
                        message=message, value=store.wal_damage.lost_frames)
    for item in unclosed_sessions(sessions, record):
        told = store.events_between(float("-inf"), float("inf"), session_id=item.session.id)
        if any(e.kind == "gap" and e.name == UNCLOSED_EVENT for e in told):
            continue
        notices.append(item.message)
        when = item.session.last_sample or item.session.started
        store.add_event(item.session.id, t=when, kind="gap", name=UNCLOSED_EVENT,
                        state="raised", message=item.message,
                        value=None if item.lost is None else float(item.lost))
    with contextlib.suppress(StoreError):  # a full disk: the events stay queued for later
        store.commit()
    return notices
