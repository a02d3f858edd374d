"""Signals during a benchmark: every one a user can send stops it cleanly.

Ctrl-C (SIGINT) arrives as KeyboardInterrupt; SIGTERM, SIGHUP (the terminal closed) and SIGQUIT
(Ctrl-\\) would kill the process outright and leave the storage benchmark's test file behind, so
:func:`stop_signals_raise` turns them into ``SystemExit(128 + signal)``, which runs every
``finally:``. :func:`signals_deferred` holds all of them back while cleanup itself runs (freeing
AIO buffers, removing the file), so a second signal cannot cut cleanup short; they are delivered
when it ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: Signals that end the process unless handled (SIGINT is Python's KeyboardInterrupt).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP/SIGQUIT raise SystemExit (main thread only; elsewhere
    Python delivers no signals, so there is nothing to do)."""
    if not _on_main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_exit) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Block SIGINT and the stop signals for the block's duration; pending ones are delivered
    (and their handlers run) right after it."""
    block = {signal.SIGINT, *STOP_SIGNALS}
    if not _on_main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, block)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
