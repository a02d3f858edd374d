"""The rotating log file ``rigready.log`` in the platform log folder.

Both the CLI and the window call :func:`configure_logging` at start. Records go to the file only:
the CLI stays quiet on stderr (its output is its report), and the window has no terminal to
write to. The file rotates at :data:`MAX_BYTES` and keeps :data:`BACKUP_COUNT` older files
(``rigready.log.1`` ...), so it never grows past about 4 MB. ``RIGREADY_LOG_LEVEL=DEBUG`` (or
INFO, WARNING, ERROR) changes the level; the default is INFO. No Qt here.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from pathlib import Path

from rigready.catalog.paths import log_dir
from rigready.catalog.userfiles import regular_or_absent

LOG_FILE_NAME = "rigready.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 3
LEVEL_VARIABLE = "RIGREADY_LOG_LEVEL"
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
           "ERROR": logging.ERROR}

log = logging.getLogger(__name__)


class _RigreadyLogHandler(logging.FileHandler):
    """The handler :func:`configure_logging` adds (its own class, so it can find it again).

    It rotates as ``logging.handlers.RotatingFileHandler`` does (before a record that would
    take the file past ``max_bytes``: ``.log.2`` -> ``.log.3`` ..., the file -> ``.log.1``), in
    a few lines of its own because importing ``logging.handlers`` (socket, pickle, queue)
    costs about 7 ms of every CLI command, a twentieth of issue 20's 150 ms start-up target.
    """

    role = ""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        super().__init__(path, encoding="utf-8", delay=True)
        self.max_bytes, self.backups = max_bytes, backups

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record``, rotating first when it would pass :attr:`max_bytes`."""
        try:
            if self._full(record):
                self._rotate()
        except Exception:  # noqa: BLE001 - as logging does: a failing log never stops the app
            self.handleError(record)
            return
        super().emit(record)

    def _full(self, record: logging.LogRecord) -> bool:
        if self.max_bytes <= 0:
            return False
        if self.stream is None:  # delay=True: the file opens at the first record
            self.stream = self._open()
        # a FIFO or device in the file's place is never rotated (its "size" means nothing)
        if not os.path.isfile(self.baseFilename):
            return False
        size = self.stream.tell()
        return size + len(self.format(record)) + 1 >= self.max_bytes

    def _rotate(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        base = self.baseFilename
        for n in range(self.backups - 1, 0, -1):
            older = f"{base}.{n}"
            if os.path.exists(older):
                os.replace(older, f"{base}.{n + 1}")
        if self.backups > 0 and os.path.exists(base):
            os.replace(base, f"{base}.1")
        self.stream = self._open()


def log_file_path(directory: Path | None = None) -> Path:
    """Where the log file is (or will be): ``rigready.log`` in ``directory`` or ``log_dir()``."""
    return (directory if directory is not None else log_dir()) / LOG_FILE_NAME


def level_from_environment(value: str | None) -> int:
    """The level named by ``RIGREADY_LOG_LEVEL`` (any case); INFO when unset or unknown."""
    return _LEVELS.get((value or "").strip().upper(), logging.INFO)


def current_log_file() -> Path | None:
    """The file the configured handler writes to, or None when logging is not configured."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _RigreadyLogHandler):
            return Path(handler.baseFilename)
    return None


def configure_logging(directory: Path | None = None, *, role: str = "cli") -> Path | None:
    """Send every log record to the rotating file ``rigready.log``.

    Calling it again is harmless: a handler for the same file is kept, one for another file
    (``RIGREADY_HOME`` changed) is closed and replaced.

    Args:
        directory: folder of the log file; by default ``rigready.catalog.paths.log_dir()``.
        role: ``"cli"`` or ``"gui"``, written in the start line.

    Returns:
        The log file's path, or None when its folder cannot be created or written (the app then
        runs without a log file rather than failing).
    """
    target = log_file_path(directory)
    root = logging.getLogger()
    level = level_from_environment(os.environ.get(LEVEL_VARIABLE))
    for handler in list(root.handlers):
        if not isinstance(handler, _RigreadyLogHandler):
            continue
        if Path(handler.baseFilename) == target.absolute():
            root.setLevel(level)
            if handler.role != role:  # the CLI went on to open the window
                handler.role = role
                log.info("%s", start_line(role))
            return target
        root.removeHandler(handler)
        handler.close()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(target.parent, os.W_OK) or not regular_or_absent(target):
        return None  # a FIFO in its place would hang the first log line of every command
    handler = _RigreadyLogHandler(target, MAX_BYTES, BACKUP_COUNT)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.role = role
    root.addHandler(handler)
    root.setLevel(level)
    log.info("%s", start_line(role))
    return target


def start_line(role: str) -> str:
    """One line naming the version, the role, Python and the system, for the top of a run."""
    from rigready.desktop.cli import __version__

    frozen = " (bundle)" if getattr(sys, "frozen", False) else ""
    return (f"rigready {__version__}{frozen} {role} started; Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()} {platform.machine()}")


def remove_logging() -> None:
    """Close and remove the handler :func:`configure_logging` added (tests use this)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _RigreadyLogHandler):
            root.removeHandler(handler)
            handler.close()
