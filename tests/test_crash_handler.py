"""Qt-free crash handling: reports, messages, the main-thread and thread hooks."""

from __future__ import annotations

import io
import logging
import sys
import threading
from pathlib import Path
from types import TracebackType

import pytest

from rigready.desktop.crash import (
    CrashHandler,
    CrashReport,
    cli_message,
    crash_message,
    install,
    restore,
    summarize,
)


def _raise(exc: BaseException) -> tuple[type[BaseException], BaseException,
                                      TracebackType | None]:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - the test needs the exc_info triple
        return type(caught), caught, caught.__traceback__


def test_summarize_takes_the_first_line_and_caps_it() -> None:
    assert summarize(ValueError, ValueError("bad value\nmore")) == "ValueError: bad value"
    assert summarize(KeyError, KeyError()) == "KeyError"
    long = summarize(RuntimeError, RuntimeError("y" * 500))
    assert len(long) == len("RuntimeError: ") + 200 and long.endswith("…")


def test_messages_name_the_log_file_or_say_there_is_none(tmp_path: Path) -> None:
    log_file = tmp_path / "rigready.log"
    report = CrashReport("ValueError: boom", "Traceback...", log_file, thread="sampler")
    text = crash_message(report)
    assert "background task 'sampler'" in text and str(log_file) in text
    assert "ValueError: boom" in text
    assert str(log_file) in cli_message(report)
    without = CrashReport("ValueError: boom", "Traceback...", None)
    assert "No log file could be written" in crash_message(without)
    assert cli_message(without) == "rigready: unexpected error: ValueError: boom"


def test_handler_logs_the_traceback_and_prints_one_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    handler = CrashHandler(tmp_path / "rigready.log", stream=stream)
    exc_type, exc, tb = _raise(ZeroDivisionError("division by zero"))
    with caplog.at_level(logging.CRITICAL, logger="rigready.crash"):
        handler(exc_type, exc, tb)
    assert stream.getvalue() == cli_message(handler.reports[0]) + "\n"
    assert "Traceback" not in stream.getvalue()
    record = caplog.records[-1]
    assert record.levelno == logging.CRITICAL
    assert "ZeroDivisionError: division by zero" in record.getMessage()
    assert "in _raise" in record.getMessage()


def test_without_a_log_file_the_traceback_goes_to_the_stream() -> None:
    stream = io.StringIO()
    handler = CrashHandler(None, stream=stream)
    exc_type, exc, tb = _raise(OSError("disk gone"))
    handler(exc_type, exc, tb)
    assert "Traceback (most recent call last)" in stream.getvalue()
    assert stream.getvalue().startswith("rigready: unexpected error: OSError: disk gone\n")


def test_notify_receives_the_report_and_a_failing_notify_is_contained() -> None:
    seen: list[CrashReport] = []
    handler = CrashHandler(Path("/logs/rigready.log"), notify=seen.append)
    exc_type, exc, tb = _raise(ValueError("first"))
    report = handler.handle(exc_type, exc, tb)
    assert seen == [report]
    assert report is not None and report.summary == "ValueError: first"
    assert "ValueError: first" in report.details

    def broken(_report: CrashReport) -> None:
        raise RuntimeError("the dialog failed too")

    handler.notify = broken
    exc_type, exc, tb = _raise(ValueError("second"))
    assert handler.handle(exc_type, exc, tb) is not None


def test_ctrl_c_is_not_a_crash() -> None:
    stream = io.StringIO()
    handler = CrashHandler(None, stream=stream)
    exc_type, exc, tb = _raise(KeyboardInterrupt())
    assert handler.handle(exc_type, exc, tb) is None
    assert stream.getvalue() == "" and handler.reports == []


def test_install_routes_thread_errors_and_restore_puts_the_old_hooks_back() -> None:
    before = (sys.excepthook, threading.excepthook)
    seen: list[CrashReport] = []
    handler = CrashHandler(None, notify=seen.append)
    previous = install(handler)
    try:
        assert previous == before
        assert sys.excepthook is handler

        def work() -> None:
            raise LookupError("sensor vanished")

        thread = threading.Thread(target=work, name="sampler-thread")
        thread.start()
        thread.join()
    finally:
        restore(previous)
    assert (sys.excepthook, threading.excepthook) == before
    assert [r.thread for r in seen] == ["sampler-thread"]
    assert seen[0].summary == "LookupError: sensor vanished"
