"""The terminal side of :mod:`.wrapper`: window size, the child's controlling terminal, raw
mode (POSIX only)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


def window_size(fds: Sequence[int]) -> bytes:
    """The packed window size of the first of ``fds`` that is a sized terminal, else the
    environment's (``COLUMNS``/``LINES``) or 80x24: a 0x0 pty makes tqdm print nothing."""
    import fcntl
    import shutil
    import struct
    import termios

    for fd in fds:
        try:
            packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
        except OSError:
            continue
        rows, cols = struct.unpack("HHHH", packed)[:2]
        if rows and cols:
            return packed
    size = shutil.get_terminal_size((80, 24))
    return struct.pack("HHHH", size.lines, size.columns, 0, 0)


def make_controlling_tty() -> None:
    """Make the pty (the child's stdout) its controlling terminal; runs in the child between
    fork and exec."""
    import fcntl
    import termios

    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


def foreground(fd: int) -> bool:
    """Whether this process group owns the terminal ``fd`` (raw mode would stop a background
    job with SIGTTOU)."""
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False


def raw_attrs(attrs: list[Any]) -> list[Any]:
    """``termios`` attributes for raw input (no echo, no line editing, no signal keys: those go
    to the child's pty). Output processing stays on: rigready's own messages keep their line
    ends."""
    import termios

    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attrs
    iflag &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP | termios.IXON)
    lflag &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    return [iflag, oflag, cflag, lflag, ispeed, ospeed, cc]
