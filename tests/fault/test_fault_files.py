"""Every file rigready reads, replaced by something hostile (issue 24, items 11, 16 and 17): a
FIFO nobody writes to, a folder, a symlink to a FIFO or to /dev/zero, a dangling symlink, a
huge (sparse) file, 100,000 nested brackets, binary junk. Each command either refuses in one
``rigready: error:`` line (a file the user named) or carries on without it (a cache, a setting,
the log) — never a traceback, never a hang."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from rigready.catalog.paths import cache_dir, config_dir, data_dir, log_dir, user_catalog_dir
from rigready.desktop.cli import main
from rigready.desktop.logging_setup import remove_logging
from tests.fault.hostile_files import KINDS, make

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "tests" / "data" / "rigs" / "profiles" / "rtx4090-desktop.json"
HANG_S = 20


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"no answer within {HANG_S} s")


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        remove_logging()


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected error" not in err, err
    return code, err.strip().splitlines()


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, err = _run(argv, capsys)
    lines = [line for line in err if line.startswith("rigready: error:")]
    assert code == 2 and len(lines) == 1, (argv, err)
    return lines[0]


# -- files the user names: refused in one line ------------------------------------------------

NAMED: dict[str, Callable[[Path], list[str]]] = {
    "profile": lambda f: ["score", "--profile", str(f)],
    "config.json": lambda f: ["estimate", str(f), "--gpu", "rtx-4090"],
    "facts": lambda f: ["plan", "llama-3.2-1b", "--profile", str(PROFILE), "--facts", str(f)],
    "catalog-file": lambda f: ["catalog", "check", str(f)],
}


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "empty"])
@pytest.mark.parametrize("role", sorted(NAMED))
def test_a_named_file_that_is_hostile_is_refused_in_one_line(
        role: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: catalog check /dev/zero or a FIFO said 'OK (0 file(s))' and exit 0."""
    target = make(tmp_path / ("config.json" if role == "config.json" else f"{role}.input"),
                  kind, toml=role == "catalog-file")
    _refused(NAMED[role](target), capsys)


def test_catalog_check_of_a_folder_that_is_no_catalog(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 'catalog check /etc' said 'OK (0 file(s))' and exit 0."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("box\n")
    assert "no *.toml catalog files" in _refused(["catalog", "check", str(tmp_path / "etc")],
                                                 capsys)


@pytest.mark.parametrize("argv", [
    ["history", "--db", "{long}.db"],
    ["catalog", "check", "{long}.toml"],
    ["bench", "storage", "--path", "{long}"],
    ["bench", "storage", "--path", "/etc/hostname/x"],
    ["estimate", "{long}.json", "--gpu", "rtx-4090"],
    ["score", "--profile", "{long}.json"],
    ["plan", "llama-3.2-1b", "--profile", str(PROFILE), "--markdown", "{long}.md"],
    ["detect", "--profile", str(PROFILE), "--save", "/etc/hostname/x/y.json"],
])
def test_impossible_paths_are_one_line(argv: list[str], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 'unexpected error: OSError [Errno 36]' for history --db, catalog check and
    bench storage --path with a 300-character name."""
    long = str(tmp_path / ("x" * 300))
    line = _refused([a.replace("{long}", long) for a in argv], capsys)
    assert any(why in line for why in ("too long", "Not a directory", "does not exist")), line


@pytest.mark.skipif(not __import__("importlib").util.find_spec("PySide6"),
                    reason="gui needs PySide6")
@pytest.mark.parametrize("target", ["/etc/hostname/x/y.png", "{tmp}/missing/sub/y.png"])
def test_gui_screenshot_refuses_a_missing_folder_before_qt_starts(
        target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: NotADirectoryError for /etc/hostname/x/y.png; a missing folder was created."""
    path = target.replace("{tmp}", str(tmp_path))
    assert "does not exist" in _refused(["gui", "--screenshot", path], capsys)
    assert not (tmp_path / "missing").exists()


# -- files the app keeps for itself: used when sound, otherwise left aside --------------------

def _prices_on() -> None:
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "prices.json").write_text('{"live_cloud_offers": true}')


OWN: dict[str, tuple[Callable[[], Path], list[str]]] = {
    "prices.json": (lambda: config_dir() / "prices.json",
                    ["plan", "llama-3.2-1b", "--profile", str(PROFILE)]),
    "prices.json (catalog online)": (lambda: config_dir() / "prices.json",
                                     ["catalog", "online"]),
    "vast-offers.json": (lambda: cache_dir() / "vast-offers.json",
                         ["plan", "llama-3.2-1b", "--profile", str(PROFILE), "--online"]),
    "rigready.log": (lambda: log_dir() / "rigready.log", ["catalog", "list", "tiers"]),
    "catalog-packs/current.json": (lambda: data_dir() / "catalog-packs" / "current.json",
                                   ["catalog", "update"]),
    "a user catalog file": (lambda: user_catalog_dir() / "extra.toml", ["catalog", "check"]),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", sorted(OWN))
def test_an_app_file_that_is_hostile_never_hangs_or_crashes(
        role: str, kind: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Before: prices.json or vast-offers.json as a FIFO hung 'plan'; the log as a FIFO hung
    every command; 100,000 nested brackets raised RecursionError."""
    monkeypatch.delenv("VAST_API_KEY", raising=False)
    if role == "vast-offers.json":
        _prices_on()
    path_of, argv = OWN[role]
    make(path_of(), kind, toml=role.endswith("catalog file"))
    code, err = _run(argv, capsys)
    user_catalog = role == "a user catalog file"  # only regular *.toml files are read there
    if user_catalog and kind in ("huge", "nested", "binary", "empty"):
        assert code == 2 and len(err) == 1 and err[0].startswith("rigready: error:"), err
    else:
        assert code == 0, (role, kind, err)
