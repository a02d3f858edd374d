"""Reading and writing the user's own files safely; every command and page goes through here.

Reading (:func:`read_user_bytes`, :func:`read_user_text`): only regular files (a FIFO, a device
such as ``/dev/zero`` or a folder is refused at once, never read or waited on), at most ``limit``
bytes, one clear :class:`UserFileError` line per problem; JSON through
:mod:`rigready.catalog.userjson` on top of them. :func:`regular_or_absent` checks a file that a
library will open blocking.

Writing (:func:`write_user_file`, :func:`atomic_output`): the data goes to a temporary file in
the same folder, is flushed and ``fsync``-ed, then renamed over the target, so an interrupted or
failed write (full disk, Ctrl-C, a bad session id) leaves the old file as it was and no
temporary file behind. An existing file is replaced only with ``force``; a symlink is followed
and the file it points to is replaced, the link itself stays.

What no output may replace, checked here for every write so no command can forget
(:func:`output_target`), compared by file identity (a hard link, a symlink, ``..`` or a bind
mount of the same file is the same file): the command's inputs (``protect``, and every file
declared with :func:`declare_input`: the CLI's ``--profile`` and ``--db`` are declared as they
are parsed), rigready's own files (:func:`rigready.catalog.paths.app_owned`: the database, the
settings, logs, cache and packs folders), any SQLite database, and a database's ``-wal``,
``-shm``, ``-journal`` or ``.lock`` file. The app writing its own settings passes ``app_file``.

This module sits in ``catalog`` (the bottom layer) so that the catalog loader, ``assess``,
``monitor`` and ``desktop`` can all use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

#: Default read limit: far above any profile, config.json, facts or catalog file.
DEFAULT_READ_LIMIT = 8 * 1024 * 1024


class UserFileError(ValueError):
    """A user file that cannot be read or written as asked; the message is one line."""


def _describe_mode(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _strerror(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is exceeded"
    return exc.strerror or str(exc)


def read_user_bytes(path: Path | str, *, limit: int = DEFAULT_READ_LIMIT) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    The file is opened non-blocking, so a FIFO without a writer does not hang, and checked with
    ``fstat`` on the open descriptor (no race with a swapped file).

    Raises:
        UserFileError: missing, unreadable, not a regular file, or larger than ``limit``.
    """
    where = str(path)
    if not where:
        raise UserFileError("no file name given")
    try:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(where, flags)
    except OSError as exc:
        raise UserFileError(f"{where}: cannot read the file ({_strerror(exc)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UserFileError(f"{where}: cannot read {_describe_mode(info.st_mode)}; "
                                "give a regular file")
        if info.st_size > limit:
            raise UserFileError(f"{where}: too large ({info.st_size:,} bytes; at most "
                                f"{limit:,})")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # read to EOF, but never more than limit + 1 (a growing file)
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UserFileError(f"{where}: too large (more than {limit:,} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise UserFileError(f"{where}: cannot read the file ({_strerror(exc)})") from None
    finally:
        os.close(fd)


def read_user_text(path: Path | str, *, limit: int = DEFAULT_READ_LIMIT,
                   kind: str = "text") -> str:
    """:func:`read_user_bytes` decoded as UTF-8 (``kind`` names the expected format).

    Raises:
        UserFileError: as :func:`read_user_bytes`, or the bytes are not UTF-8.
    """
    raw = read_user_bytes(path, limit=limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserFileError(f"{path}: not a text file (expected {kind})") from None


def regular_or_absent(path: Path | str) -> bool:
    """Whether ``path`` is a regular file (through any symlink) or nothing yet: safe to hand to
    a library that opens it blocking (Qt's settings, the log handler). A FIFO there would hang
    the open until someone read or wrote the pipe; ``stat`` itself never waits."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(info.st_mode)


def path_exists(path: Path | str, *, folder: bool = False) -> bool:
    """Whether ``path`` exists (is a folder, with ``folder``); False rather than an error for
    a name the system cannot even look up (too long, a NUL byte, no permission)."""
    try:
        target = Path(path)
        return target.is_dir() if folder else target.exists()
    except (OSError, ValueError):
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return os.path.realpath(a) == os.path.realpath(b)


#: Files the running command reads (see :func:`declare_input`).
_inputs: list[Path] = []
#: Names of the files SQLite and the monitor keep beside a database, and what they are.
_SIDECARS = (("-wal", "write-ahead log"), ("-shm", "shared-memory index"),
             ("-journal", "rollback journal"), (".lock", "monitor lock file"))
_SQLITE_HEADER = b"SQLite format 3\x00"


def declare_input(path: Path | str) -> None:
    """Record a file the running command reads: no output of this process may replace it."""
    if str(path):
        _inputs.append(Path(path))


def forget_inputs() -> None:
    """Forget the declared inputs (a new command starts)."""
    _inputs.clear()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def _in_folder(target: Path, folders: dict[tuple[int, int], Path]) -> Path | None:
    """The app folder that holds ``target`` (by identity of ``target``'s folder or any folder
    above it, so a bind mount or a second name of the folder is seen), or None."""
    for folder in (target.parent, *target.parent.parents):
        found = folders.get(_identity(folder) or (-1, -1))
        if found is not None:
            return found
    return None


def _is_database(path: Path) -> bool:
    """Whether ``path`` is a regular file holding a SQLite database (or an empty one, as a
    monitor database is for a moment). Never waits on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        return info.st_size == 0 or os.read(fd, len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:
        return False
    finally:
        os.close(fd)


def _never_replaced(text: str, target: Path, protect: Iterable[Path | str | None],
                    app_file: bool) -> None:
    """Raise :class:`UserFileError` when ``target`` is an input, an app-owned file or
    something a database needs (see the module doc)."""
    for guarded in (*protect, *_inputs):
        if guarded is not None and str(guarded) and _same_file(target, Path(guarded)):
            raise UserFileError(f"{text}: refusing to write over {guarded}, which this command "
                                "reads; choose another file")
    if not app_file:
        from rigready.catalog.paths import app_owned

        files, folders = app_owned()
        for owned in files:
            if _same_file(target, owned):
                raise UserFileError(f"{text}: refusing to write over {owned}, rigready's own "
                                    "file; choose another file")
        known = {key: folder for folder in folders if (key := _identity(folder)) is not None}
        holder = _in_folder(target, known)
        if holder is not None:
            raise UserFileError(f"{text}: refusing to write into {holder}, where rigready keeps "
                                "its own files; choose another folder")
    for suffix, what in _SIDECARS:
        base = Path(str(target)[:-len(suffix)]) if target.name.endswith(suffix) else None
        if base is not None and base.name and _is_database(base):
            raise UserFileError(f"{text}: refusing to write over the {what} of {base.name}; "
                                "choose another file")
    if _is_database(target) and os.path.getsize(target) > 0:
        raise UserFileError(f"{text}: refusing to write over a SQLite database (a monitor "
                            "history, or another program's data); choose another file")


def output_target(path: Path | str, *, force: bool = False,
                  protect: Iterable[Path | str | None] = (), app_file: bool = False) -> Path:
    """The file a write to ``path`` will replace, after every check, without writing.

    Symlinks are followed (the file they point to is the target). Call it before long work so
    a refused output is reported before the work, not after.

    Args:
        path: Where to write.
        force: Replace an existing file.
        protect: The command's inputs (besides those declared with :func:`declare_input`).
        app_file: rigready writes one of its own files (settings, cache, price overrides):
            skip the app-owned check, keep the others.

    Raises:
        UserFileError: no name, a folder or a device, a missing folder, an existing file without
            ``force``, an input of the command, one of rigready's own files, a SQLite database
            or a database's ``-wal``/``-shm``/``-journal``/``.lock`` file.
    """
    text = str(path)
    if not text or text.endswith(os.sep):
        raise UserFileError(f"{text or 'the output'}: give a file name, not a folder")
    target = Path(os.path.realpath(text))
    _never_replaced(text, target, protect, app_file)
    if not target.parent.is_dir():
        raise UserFileError(f"{text}: the folder {target.parent} does not exist")
    try:
        info = target.stat()
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise UserFileError(f"{text}: cannot write here ({_strerror(exc)})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UserFileError(f"{text}: is {_describe_mode(info.st_mode)}; give a file name")
    if not force:
        raise UserFileError(f"{text} already exists; add --force to replace it")
    return target


@contextlib.contextmanager
def atomic_output(path: Path | str, *, force: bool = False,
                  protect: Iterable[Path | str | None] = (), binary: bool = False,
                  newline: str | None = None, app_file: bool = False) -> Iterator[IO[Any]]:
    """A file object whose content replaces ``path`` only when the block ends without error.

    Written to a hidden temporary file next to the target, flushed, fsynced, renamed over it and
    the folder fsynced. On any exception (including Ctrl-C) the temporary file is removed and the
    target is untouched. A new file gets the usual permissions (0666 less the umask); a
    replaced one keeps its own. ``force``, ``protect`` and ``app_file``: as
    :func:`output_target`.

    Raises:
        UserFileError: as :func:`output_target`, or the write failed (disk full, permissions).
    """
    target = output_target(path, force=force, protect=protect, app_file=app_file)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".tmp")
    except OSError as exc:
        raise UserFileError(f"{path}: cannot write here ({_strerror(exc)})") from None
    tmp = Path(tmp_name)
    try:
        try:
            os.chmod(fd, stat.S_IMODE(target.stat().st_mode))
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(fd, 0o666 & ~umask)
        mode = "wb" if binary else "w"
        encoding = None if binary else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserFileError(f"cannot write {path} ({_strerror(exc)}); the old file, if any, "
                            "is unchanged") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a folder; the rename itself is still atomic
    finally:
        os.close(fd)


def write_user_file(path: Path | str, data: str | bytes, *, force: bool = False,
                    protect: Iterable[Path | str | None] = (), app_file: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`); returns the target.

    Raises:
        UserFileError: as :func:`atomic_output`.
    """
    binary = isinstance(data, bytes)
    with atomic_output(path, force=force, protect=protect, binary=binary,
                       app_file=app_file) as out:
        out.write(data)
    return Path(os.path.realpath(path))
