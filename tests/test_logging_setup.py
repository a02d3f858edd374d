"""The rotating log file: where it goes, rotation, idempotence, a quiet CLI (no Qt needed)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigready.desktop import crash
from rigready.desktop.cli import __version__, main
from rigready.desktop.logging_setup import (
    BACKUP_COUNT,
    LOG_FILE_NAME,
    MAX_BYTES,
    configure_logging,
    current_log_file,
    level_from_environment,
    log_file_path,
    remove_logging,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_logging() -> Iterator[None]:
    level = logging.getLogger().level
    yield
    remove_logging()
    logging.getLogger().setLevel(level)


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_log_file_lives_in_the_log_folder_of_rigready_home(rigready_home: Path) -> None:
    path = configure_logging()
    assert path == rigready_home / "logs" / LOG_FILE_NAME == log_file_path()
    logging.getLogger("some.module").warning("the fan is loud")
    _flush()
    text = path.read_text(encoding="utf-8")
    assert f"rigready {__version__} cli started" in text
    assert "WARNING  some.module [MainThread] the fan is loud" in text
    assert current_log_file() == path


def test_configuring_twice_keeps_one_handler_and_a_new_home_moves_it(tmp_path: Path) -> None:
    first = configure_logging(tmp_path / "a")
    assert configure_logging(tmp_path / "a") == first
    ours = [h for h in logging.getLogger().handlers if type(h).__name__ == "_RigreadyLogHandler"]
    assert len(ours) == 1
    second = configure_logging(tmp_path / "b")
    assert second == tmp_path / "b" / LOG_FILE_NAME
    assert current_log_file() == second
    logging.getLogger("x").info("after the move")
    _flush()
    assert "after the move" in second.read_text(encoding="utf-8")
    assert first is not None and "after the move" not in first.read_text(encoding="utf-8")


def test_the_window_after_the_cli_adds_a_gui_start_line(tmp_path: Path) -> None:
    path = configure_logging(tmp_path, role="cli")
    configure_logging(tmp_path, role="gui")
    _flush()
    assert path is not None
    text = path.read_text(encoding="utf-8")
    assert text.count(" cli started") == 1 and text.count(" gui started") == 1


def test_the_file_rotates_and_keeps_three_old_ones(tmp_path: Path) -> None:
    path = configure_logging(tmp_path)
    assert path is not None
    line = "x" * 1000
    writer = logging.getLogger("rotation.test")
    for _ in range((BACKUP_COUNT + 2) * MAX_BYTES // 1000):
        writer.info(line)
    _flush()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [LOG_FILE_NAME] + [f"{LOG_FILE_NAME}.{i}" for i in range(1, BACKUP_COUNT + 1)]
    assert all(p.stat().st_size <= MAX_BYTES for p in tmp_path.iterdir())


def test_an_unwritable_log_folder_means_no_log_file_not_a_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    assert configure_logging(blocker / "logs") is None
    assert current_log_file() is None


@pytest.mark.parametrize(("value", "level"), [
    (None, logging.INFO), ("", logging.INFO), ("debug", logging.DEBUG),
    (" WARNING ", logging.WARNING), ("error", logging.ERROR), ("chatty", logging.INFO),
])
def test_level_from_environment(value: str | None, level: int) -> None:
    assert level_from_environment(value) == level


def test_environment_level_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_LOG_LEVEL", "DEBUG")
    path = configure_logging(tmp_path)
    logging.getLogger("deep").debug("a detail")
    _flush()
    assert path is not None and "DEBUG    deep" in path.read_text(encoding="utf-8")


def test_cli_logs_the_command_and_stays_quiet_on_stderr(
        rigready_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "check"]) == 0
    logging.getLogger("rigready.desktop.commands").warning("a warning nobody asked to see")
    _flush()
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith("Catalog OK")
    text = (rigready_home / "logs" / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "command: rigready catalog check" in text
    assert "a warning nobody asked to see" in text


def test_cli_process_run_installs_the_crash_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = (sys.excepthook, threading.excepthook)
    monkeypatch.setattr(sys, "argv", ["rigready", "catalog", "check"])
    try:
        assert main() == 0
        assert isinstance(sys.excepthook, crash.CrashHandler)
        assert sys.excepthook.log_file == current_log_file()
    finally:
        crash.restore(previous)


def _run_cli(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    # the caller's PYTHONPATH (a worktree's build/pkgroot) first: ROOT holds no rigready package
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(ROOT)) if p)
    env = {**os.environ, "RIGREADY_HOME": str(home), "PYTHONPATH": path}
    env.pop("RIGREADY_LOG_LEVEL", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)


def test_an_unexpected_cli_error_is_one_line_with_the_log_and_the_traceback_is_logged(
        tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import rigready.desktop.commands.catalog as c\n"
        "def boom(args):\n"
        "    raise RuntimeError('the catalog exploded')\n"
        "c._run_check = boom\n"
        "from rigready.desktop.cli import main\n"
        "sys.argv = ['rigready', 'catalog', 'check']\n"
        "sys.exit(main())\n"
    )
    result = _run_cli(code, tmp_path)
    log_file = tmp_path / "logs" / LOG_FILE_NAME
    assert result.returncode == 1
    assert result.stderr == (f"rigready: unexpected error: RuntimeError: the catalog exploded "
                             f"(details in {log_file}; please attach it to a bug report)\n")
    text = log_file.read_text(encoding="utf-8")
    assert "CRITICAL rigready.crash [MainThread] Unexpected error:" in text
    assert "Traceback (most recent call last)" in text and "in boom" in text


def test_no_cli_command_imports_logging_handlers(tmp_path: Path) -> None:
    """The log file rotates without ``logging.handlers`` (socket, pickle, queue: about 7 ms of
    every command); a fresh interpreter running ``detect --json`` never imports it."""
    code = ("import sys; from rigready.desktop.cli import main; "
            "main(['detect', '--json']); "
            "print('logging.handlers' in sys.modules, file=sys.stderr)")
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False,
                          env=dict(os.environ, RIGREADY_HOME=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"
