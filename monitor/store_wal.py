"""A damaged write-ahead log is found, kept aside and reported before SQLite discards it.

SQLite replays a WAL only up to the first frame whose checksum fails (the checksums chain from
frame to frame), and only up to the last commit before it; everything after that vanishes
without an error, and the next writer's checkpoint deletes it for good. :func:`scan_wal` reads
the log the way the format page describes it (https://www.sqlite.org/fileformat.html#the_write_ahead_log)
before any connection opens the database:

- a 32-byte header: magic ``0x377f0682``/``0x377f0683`` (the last bit: checksums read their
  32-bit words big-endian), format 3007000, page size, checkpoint sequence, two salts and a
  checksum of the first 24 bytes;
- frames of a 24-byte header (page number, database size in pages for a commit frame, the
  header's salts, a cumulative checksum) and one page.

Damage is *evidence that SQLite will drop committed transactions*: a commit frame of the
current log (its salts match the header) after the frame where the chain breaks, that verifies
against the checksum stored in the frame before it (so it is genuine, not leftovers of a
rolled-back write); a header SQLite rejects while committed frames follow it; or a log cut in
the middle of a frame of the current log. A torn last transaction, frames of an older log
generation and rolled-back leftovers are normal and not reported.

:func:`keep_aside` copies the database and the log to ``DB.wal-damaged-STAMP`` and
``DB.wal-damaged-STAMP-wal`` (a pair SQLite opens as it was), once per distinct damaged log.
"""

from __future__ import annotations

import array
import hashlib
import os
import shutil
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_MAGIC = (0x377F0682, 0x377F0683)
_VERSION = 3007000
_HEADER = 32
_FRAME_HEADER = 24
_MASK = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class WalDamage:
    """What :func:`scan_wal` found wrong with a log."""

    wal: Path
    frames: int  # frames of the current log in the file
    applied: int  # of them, what SQLite replays (up to the last commit before the break)
    lost_frames: int  # frames of committed transactions SQLite will not replay
    lost_commits: int  # those transactions (the sampler commits about once a second)
    reason: str  # where the log is broken

    def describe(self) -> str:
        """One sentence for the user."""
        commits = f" ({self.lost_commits} transactions)" if self.lost_commits else ""
        return (f"the write-ahead log {self.wal.name} is damaged ({self.reason}): SQLite "
                f"replays only its first {self.applied} of {self.frames} frames, so "
                f"{self.lost_frames} frames{commits} written after that are missing from the "
                "database")


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    words = array.array("I")
    words.frombytes(data)
    if big_endian != (sys.byteorder == "big"):
        words.byteswap()
    it = iter(words)
    for x0, x1 in zip(it, it, strict=True):
        s0 = (s0 + x0 + s1) & _MASK
        s1 = (s1 + x1 + s0) & _MASK
    return s0, s1


def _page_size(value: int) -> bool:
    return 512 <= value <= 65536 and value & (value - 1) == 0


def db_page_size(db: Path) -> int:
    """The page size in ``db``'s header (4096 when unreadable)."""
    try:
        with db.open("rb") as handle:
            handle.seek(16)
            raw = handle.read(2)
    except OSError:
        return 4096
    if len(raw) != 2:
        return 4096
    value = struct.unpack(">H", raw)[0]
    value = 65536 if value == 1 else value
    return value if _page_size(value) else 4096


def scan_wal(wal: Path, page_size_hint: int = 4096) -> WalDamage | None:
    """Read ``wal`` and return what SQLite would silently drop (None: nothing, or no log).

    ``page_size_hint`` (the database's page size) is used only when the log's own header is
    unreadable.
    """
    data = b""
    for _ in range(3):  # a writer may restart the log while it is read: read until stable
        try:
            with wal.open("rb") as handle:
                data = handle.read()
                handle.seek(0)
                if handle.read(_HEADER) == data[:_HEADER]:
                    break
        except OSError:
            return None
    else:
        return None
    if len(data) <= _HEADER:
        return None
    magic, version, page, _seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:_HEADER])
    big = magic == _MAGIC[1]
    header_ok = (magic in _MAGIC and version == _VERSION and _page_size(page)
                 and _checksum(data[:24], 0, 0, big) == (c1, c2))
    if not header_ok:
        return _scan_headless(wal, data, page_size_hint)
    return _scan_frames(wal, data, page, (salt1, salt2), (c1, c2), big)


def _frames(data: bytes, page: int) -> int:
    return (len(data) - _HEADER) // (_FRAME_HEADER + page)


def _scan_frames(wal: Path, data: bytes, page: int, salts: tuple[int, int],
                 start: tuple[int, int], big: bool) -> WalDamage | None:
    size = _FRAME_HEADER + page
    count = _frames(data, page)
    running = stored = start
    chained = True
    applied = 0
    break_at: int | None = None
    last_lost_commit: int | None = None
    lost_commits = 0
    extent = 0  # frames of the current log: up to the last frame carrying its salts
    for index in range(count):
        offset = _HEADER + index * size
        header = data[offset:offset + _FRAME_HEADER]
        pgno, commit, s1, s2, k1, k2 = struct.unpack(">6I", header)
        ours = (s1, s2) == salts and pgno > 0
        extent = index + 1 if ours else extent
        if ours:
            body = header[:8] + data[offset + _FRAME_HEADER:offset + size]
            expected = running if chained else stored
            genuine = _checksum(body, *expected, big) == (k1, k2)
            if chained and genuine:
                running = (k1, k2)
                applied = index + 1 if commit else applied
            elif chained:
                chained, break_at = False, index
            elif genuine and commit:
                lost_commits += 1
                last_lost_commit = index
        elif chained:
            chained, break_at = False, index
        stored = (k1, k2)
    tail = (len(data) - _HEADER) % size
    cut = False
    if tail >= _FRAME_HEADER and chained:
        offset = _HEADER + count * size
        pgno, commit, s1, s2, _k1, _k2 = struct.unpack(">6I", data[offset:offset + 24])
        cut = (s1, s2) == salts and pgno > 0
    if last_lost_commit is not None:
        where = f"frame {(break_at or 0) + 1} fails its checksum"
        return WalDamage(wal, extent, applied, last_lost_commit + 1 - applied, lost_commits,
                         where)
    if cut:
        return WalDamage(wal, count + 1, applied, count + 1 - applied, 0,
                         f"it ends inside frame {count + 1}: the file was cut short")
    return None


def committed_frames(wal: Path) -> tuple[int, int]:
    """``(frames, commits)`` of the log SQLite would replay (a valid header and chain)."""
    try:
        with wal.open("rb") as handle:
            data = handle.read()
    except OSError:
        return 0, 0
    if len(data) <= _HEADER:
        return 0, 0
    magic, version, page, _seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:_HEADER])
    big = magic == _MAGIC[1]
    if not (magic in _MAGIC and version == _VERSION and _page_size(page)
            and _checksum(data[:24], 0, 0, big) == (c1, c2)):
        return 0, 0
    running = (c1, c2)
    frames = commits = 0
    for index in range(_frames(data, page)):
        offset = _HEADER + index * (_FRAME_HEADER + page)
        header = data[offset:offset + _FRAME_HEADER]
        pgno, commit, s1, s2, k1, k2 = struct.unpack(">6I", header)
        body = header[:8] + data[offset + _FRAME_HEADER:offset + _FRAME_HEADER + page]
        if (s1, s2) != (salt1, salt2) or pgno == 0 \
                or _checksum(body, *running, big) != (k1, k2):
            break
        running = (k1, k2)
        if commit:
            frames, commits = index + 1, commits + 1
    return frames, commits


def orphaned_log(db: Path, wal: Path) -> WalDamage | None:
    """A log with committed frames next to a database file that is missing or empty: SQLite
    deletes such a log as soon as anything opens the database (a reader too)."""
    try:
        size = db.stat().st_size
    except FileNotFoundError:
        size = 0
    except OSError:
        return None
    if size:
        return None
    frames, commits = committed_frames(wal)
    if not commits:
        return None
    what = "missing" if not db.exists() else "empty"
    return WalDamage(wal, frames, 0, frames, commits,
                     f"the database file is {what}, and SQLite deletes the log of an empty "
                     "database when it opens it")


def _scan_headless(wal: Path, data: bytes, page_hint: int) -> WalDamage | None:
    """A header SQLite rejects: it then ignores every frame. Damage if committed frames of one
    log follow (salts shared with the first frame)."""
    page = page_hint
    count = _frames(data, page)
    if count == 0:
        return None
    first = struct.unpack(">6I", data[_HEADER:_HEADER + _FRAME_HEADER])
    salts = first[2:4]
    frames = commits = 0
    for index in range(count):
        offset = _HEADER + index * (_FRAME_HEADER + page)
        pgno, commit, s1, s2, _k1, _k2 = struct.unpack(
            ">6I", data[offset:offset + _FRAME_HEADER])
        if (s1, s2) == salts and pgno > 0:
            frames += 1
            commits += commit != 0
    if commits == 0:
        return None
    return WalDamage(wal, frames, 0, frames, commits, "its header is damaged")


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _copy(source: Path, target: Path) -> None:
    """Copy to a temporary name, fsync, rename: a failed copy leaves no half file."""
    temp = target.with_name(f".{target.name}.tmp")
    try:
        shutil.copyfile(source, temp)
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def keep_aside(db: Path, wal: Path, clock: float | None = None) -> Path:
    """Copy ``db`` and its damaged ``wal`` next to it (never moving or deleting anything);
    returns the database copy. A log already kept (same bytes) is not copied again.

    Raises:
        OSError: the copy failed (disk full, read-only folder); nothing half-written stays.
    """
    digest = _digest(wal)
    size = wal.stat().st_size
    for kept in sorted(db.parent.glob(f"{db.name}.wal-damaged-*-wal")):
        if kept.stat().st_size == size and _digest(kept) == digest:
            return kept.with_name(kept.name[:-len("-wal")])
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock))
    target = db.with_name(f"{db.name}.wal-damaged-{stamp}")
    n = 1
    while target.exists() or Path(f"{target}-wal").exists():
        n += 1
        target = db.with_name(f"{db.name}.wal-damaged-{stamp}-{n}")
    _copy(wal, Path(f"{target}-wal"))  # the log first: it is what SQLite would discard
    if db.exists():
        try:
            _copy(db, target)
        except BaseException:
            Path(f"{target}-wal").unlink(missing_ok=True)
            raise
    return target
