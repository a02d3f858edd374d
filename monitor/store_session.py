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
LOST_EVENT = "lost"
STALL_EVENT = "stall"


@dataclass(frozen=True, slots=True)
class Loss:
    """Samples a monitor took but the database does not hold (or may not), in words."""

    session_id: int | None  # the session they belong to (None: that session is gone)
    message: str
    lost: int | None  # how many are known lost (None: unknown)
    event: str  # the event name it is stored under: UNCLOSED_EVENT or LOST_EVENT


def _utc(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _unclosed(info: SessionInfo, mine: LockRecord | None) -> Loss:
    parts = [f"session {info.id} ended without closing (its monitor"
             + (f", pid {mine.pid}," if mine is not None else "")
             + f" was killed, crashed or lost power): it holds {info.ticks} samples, the last "
             f"at {_utc(info.last_sample)}"]
    lost = 0
    if mine is not None and mine.waiting:
        lost += mine.waiting
        parts.append(f"{mine.waiting} samples waiting in memory for a commit (the disk was "
                     "full or the database locked) are lost")
    missing = 0 if mine is None else mine.stored - info.ticks
    if missing > 0:
        lost += missing
        parts.append(f"{missing} samples it had saved are missing (its write-ahead log was "
                     "damaged or cut)")
    return Loss(info.id, "; ".join(parts), lost or None, UNCLOSED_EVENT)


def losses(sessions: list[SessionInfo], record: LockRecord | None, *,
           running: bool = False, fresh: bool = False) -> list[Loss]:
    """What the database and the last lock record say was lost, newest session first.

    Args:
        sessions: Every session (newest first).
        record: The lock file's record (the last monitor's status), if any.
        running: A monitor writes now: the newest open session is alive, and the record is
            its own.
        fresh: The database was just started anew (a corrupt one set aside): the record
            describes the old one.
    """
    out: list[Loss] = []
    skip_live = running
    for info in sessions:
        if info.ended is None:
            if skip_live:
                skip_live = False
                continue
            mine = record if record is not None and record.session == info.id else None
            out.append(_unclosed(info, mine))
    if record is None or record.session is None or fresh or running:
        return out
    found = next((s for s in sessions if s.id == record.session), None)
    if found is None and record.stored:
        out.append(Loss(None, f"the session the last monitor (pid {record.pid}) wrote, with "
                              f"{record.stored} saved samples, is missing from the database "
                              "(its write-ahead log was lost or damaged)", record.stored,
                        LOST_EVENT))
    elif found is not None and found.ended is not None and record.stored > found.ticks:
        missing = record.stored - found.ticks
        out.append(Loss(found.id, f"{missing} samples of session {found.id} that its monitor "
                                  f"had saved are missing (it saved {record.stored}, the "
                                  f"database holds {found.ticks})", missing, LOST_EVENT))
    return out


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
    write-ahead log found on opening, sessions never closed, saved samples now missing. Call
    it holding the lock, before the new session starts.

    Returns:
        The notices for the user (besides ``store.notices``).
    """
    sessions = store.sessions()
    known = {s.id for s in sessions}
    if store.wal_damage is not None:
        message = store.wal_damage.describe()
        if store.wal_kept is not None:
            message += f"; copies kept in {store.wal_kept.name} and {store.wal_kept.name}-wal"
        target = record.session if record is not None and record.session in known else None
        store.add_event(target, t=clock(), kind="gap", name=WAL_EVENT, state="raised",
                        message=message, value=store.wal_damage.lost_frames)
    notices: list[str] = []
    for loss in losses(sessions, record, fresh=store.fresh):
        if loss.event == UNCLOSED_EVENT and loss.session_id is not None:
            told = store.events_between(float("-inf"), float("inf"), session_id=loss.session_id)
            if any(e.kind == "gap" and e.name == UNCLOSED_EVENT for e in told):
                continue  # said at an earlier start
        notices.append(loss.message)
        info = next((s for s in sessions if s.id == loss.session_id), None)
        when = clock() if info is None else (info.last_sample or info.started)
        store.add_event(loss.session_id, t=when, kind="gap", name=loss.event, state="raised",
                        message=loss.message, value=None if loss.lost is None else loss.lost)
    with contextlib.suppress(StoreError):  # a full disk: the events stay queued for later
        store.commit()
    return notices
