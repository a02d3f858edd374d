"""Unexpected exceptions: log the traceback, then tell the user where the log is.

:class:`CrashHandler` is installed as ``sys.excepthook`` and ``threading.excepthook`` by
:func:`install`. For every exception nothing else caught it writes the full traceback to the log
(``rigready.desktop.logging_setup``), then either prints one line on stderr naming the log file (the
CLI) or hands a :class:`CrashReport` to a ``notify`` callback (the window shows a dialog, see
``rigready.desktop.crash_dialog``), so the app never vanishes without a word. No Qt here: the CLI
uses it.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

log = logging.getLogger("rigready.crash")

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]
ThreadHook = Callable[[threading.ExceptHookArgs], object]


@dataclass(frozen=True, slots=True)
class CrashReport:
    """One unexpected exception, as the user is told about it.

    Attributes:
        summary: ``"ValueError: the message"`` (the type alone when the message is empty).
        details: the formatted traceback.
        log_file: the log file the traceback was written to, or None when there is none.
        thread: the name of the thread it happened in, or None for the main thread.
    """

    summary: str
    details: str
    log_file: Path | None
    thread: str | None = None


def summarize(exc_type: type[BaseException], exc: BaseException | None) -> str:
    """``"Type: message"`` on one line (the message's first line, at most 200 characters)."""
    text = str(exc).strip() if exc is not None else ""
    first = text.splitlines()[0] if text else ""
    if len(first) > 200:
        first = first[:199] + "…"
    return f"{exc_type.__name__}: {first}" if first else exc_type.__name__


def crash_message(report: CrashReport) -> str:
    """What the user reads: what happened and where the details are."""
    where = f" in the background task '{report.thread}'" if report.thread else ""
    text = f"rigready hit an unexpected error{where}: {report.summary}."
    if report.log_file is not None:
        text += (f" The details were written to {report.log_file}; please attach that file "
                 "when you report the problem.")
    else:
        text += " No log file could be written, so the details are shown below."
    return text


def cli_message(report: CrashReport) -> str:
    """The one line the CLI prints on stderr (the traceback is in the log)."""
    text = f"rigready: unexpected error: {report.summary}"
    if report.log_file is not None:
        return f"{text} (details in {report.log_file}; please attach it to a bug report)"
    return text


class CrashHandler:
    """The hook itself: log, then print a line or notify; it never raises.

    Args:
        log_file: the log file to name (from ``configure_logging``), or None.
        notify: called with each report (the window shows a dialog); None for the CLI.
        stream: where the one-line message goes when there is no ``notify`` (stderr by default;
            with no log file the traceback follows it, so nothing is lost).
    """

    def __init__(self, log_file: Path | None,
                 notify: Callable[[CrashReport], None] | None = None,
                 stream: TextIO | None = None) -> None:
        self.log_file = log_file
        self.notify = notify
        self.stream = stream
        self.reports: list[CrashReport] = []

    def handle(self, exc_type: type[BaseException], exc: BaseException | None,
               tb: TracebackType | None, thread: str | None = None) -> CrashReport | None:
        """Log one exception and tell the user; returns the report (None for Ctrl+C)."""
        if issubclass(exc_type, KeyboardInterrupt):
            return None
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        where = f" in thread {thread}" if thread else ""
        log.critical("Unexpected error%s:\n%s", where, details.rstrip())
        report = CrashReport(summarize(exc_type, exc), details, self.log_file, thread)
        self.reports.append(report)
        if self.notify is not None:
            try:
                self.notify(report)
            except Exception:  # a failing dialog must not hide the first error
                log.exception("Could not show the error dialog")
            return report
        stream = self.stream if self.stream is not None else sys.stderr
        try:
            stream.write(cli_message(report) + "\n")
            if report.log_file is None:
                stream.write(details)
            stream.flush()
        except (OSError, ValueError):
            pass  # stderr closed: the log has it
        return report

    def __call__(self, exc_type: type[BaseException], exc: BaseException,
                 tb: TracebackType | None) -> None:
        """``sys.excepthook`` signature."""
        self.handle(exc_type, exc, tb)

    def thread_hook(self, args: threading.ExceptHookArgs) -> None:
        """``threading.excepthook`` signature."""
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "unknown"
        self.handle(args.exc_type, args.exc_value, args.exc_traceback, thread=name)


def install(handler: CrashHandler) -> tuple[ExceptHook, ThreadHook]:
    """Make ``handler`` the process's exception hooks; returns the previous ones (to restore)."""
    previous = (sys.excepthook, threading.excepthook)
    sys.excepthook = handler
    threading.excepthook = handler.thread_hook
    return previous


def restore(previous: tuple[ExceptHook, ThreadHook]) -> None:
    """Put back the hooks :func:`install` returned."""
    sys.excepthook, threading.excepthook = previous
