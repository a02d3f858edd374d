"""No command writes over a file it reads or rigready owns (issue 24, items 2 and 5).

Every writer (``history --export --output``, ``plan --markdown``, ``detect --save``, and the
``gui --screenshot`` writer as the CLI declares its inputs) is aimed at every kind of file it
must never replace: its own inputs under any name (a hard link, a symlink, ``..``,
``/proc/self/fd``), a database and its ``-wal``/``-shm``/``.lock``, another SQLite database, the
default database, the settings, price overrides, user catalog files, the log, the cache, the
installed packs, and a new file in the settings folder. Each is refused with one line and exit 2,
and the file is left exactly as it was. The GUI's real ``--screenshot`` runs are in
tests/gui/test_screenshot_outputs.py."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from rigready.catalog.userfiles import UserFileError, write_user_file
from rigready.desktop.cli import build_parser, main
from rigready.monitor.providers.fake import FakeProvider
from rigready.monitor.sampler import Sampler

PROFILE = Path(__file__).resolve().parents[1] / "data/rigs/profiles/rtx4090-desktop.json"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with every kind of file rigready owns, a monitor database, another program's
    database and a profile."""
    root = tmp_path_factory.mktemp("outputs")
    home = root / "home"
    saved = os.environ.get("RIGREADY_HOME")
    os.environ["RIGREADY_HOME"] = str(home)
    try:
        assert main(["catalog", "price", "set", "rtx-4090", "1500"]) == 0  # the overrides
    finally:
        if saved is None:
            del os.environ["RIGREADY_HOME"]
        else:
            os.environ["RIGREADY_HOME"] = saved
    (home / "config" / "settings.ini").write_text("[window]\ngeometry=1\n")
    (home / "config" / "prices.json").write_text('{"live_offers": false}')
    (home / "config" / "catalog" / "my-parts.toml").write_text(
        '[meta]\nupdated = 2026-12-01\ndescription = "my additions"\n')
    (home / "cache").mkdir()
    (home / "cache" / "vast-offers.json").write_text('{"answer": []}')
    (home / "data" / "catalog-packs").mkdir(parents=True)
    (home / "data" / "catalog-packs" / "current.json").write_text('{"version": "x"}')
    for db in (home / "data" / "rigready.sqlite3", root / "m.db"):
        sampler = Sampler([FakeProvider()], db_path=db, retention=None)
        sampler.open_session("kept")
        sampler.tick()
        sampler.close_session()
    for side in ("-wal", "-shm"):  # as while a monitor writes
        Path(f"{root / 'm.db'}{side}").write_bytes(b"\0" * 64)
    other = sqlite3.connect(root / "other.db")
    other.execute("CREATE TABLE contacts (name TEXT)")
    other.commit()
    other.close()
    shutil.copyfile(PROFILE, root / "p.json")
    (home / "logs").mkdir(exist_ok=True)
    with (home / "logs" / "rigready.log").open("a") as log:
        log.write("an old log line\n")
    return root


def _link(name: str) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        os.link(root / name, root / f"hard-{name}")
        return root / f"hard-{name}"
    return make


def _symlink(name: str) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        (root / f"sym-{name}").symlink_to(root / name)
        return root / f"sym-{name}"
    return make


def _dotdot(name: str) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        (root / "sub").mkdir(exist_ok=True)
        return root / "sub" / ".." / name
    return make


def _proc_fd(name: str) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        return Path(f"/proc/self/fd/{os.open(root / name, os.O_RDONLY)}")
    return make


def _in_linked_config(root: Path) -> Path:
    (root / "config-alias").symlink_to(root / "home" / "config")
    return root / "config-alias" / "settings.ini"


def _at(relative: str) -> Callable[[Path], Path]:
    return lambda root: root / relative


#: Targets no output may replace, and what the file is (for the ids).
DATABASE_TARGETS: dict[str, Callable[[Path], Path]] = {
    "the --db database": _at("m.db"),
    "a hard link to the --db database": _link("m.db"),
    "a symlink to the --db database": _symlink("m.db"),
    "the --db database through ..": _dotdot("m.db"),
    "the --db database as /proc/self/fd/N": _proc_fd("m.db"),
    "its -wal": _at("m.db-wal"),
    "its -shm": _at("m.db-shm"),
    "its lock file": _at("m.db.lock"),
}
PROFILE_TARGETS: dict[str, Callable[[Path], Path]] = {
    "the --profile in use": _at("p.json"),
    "a hard link to the --profile": _link("p.json"),
    "a symlink to the --profile": _symlink("p.json"),
    "the --profile through ..": _dotdot("p.json"),
    "the --profile as /proc/self/fd/N": _proc_fd("p.json"),
}
APP_TARGETS: dict[str, Callable[[Path], Path]] = {
    "another program's SQLite database": _at("other.db"),
    "the default database": _at("home/data/rigready.sqlite3"),
    "the default database's lock file": _at("home/data/rigready.sqlite3.lock"),
    "the price overrides": _at("home/config/catalog/price-overrides.toml"),
    "a user catalog file": _at("home/config/catalog/my-parts.toml"),
    "a new file among the user catalog files": _at("home/config/catalog/new.toml"),
    "the window settings": _at("home/config/settings.ini"),
    "the live-prices setting": _at("home/config/prices.json"),
    "the settings through a symlinked folder": _in_linked_config,
    "the log file": _at("home/logs/rigready.log"),
    "the live-offers cache": _at("home/cache/vast-offers.json"),
    "an installed pack's file": _at("home/data/catalog-packs/current.json"),
}


def _history(root: Path, target: Path) -> list[str]:
    return ["history", "--db", str(root / "m.db"), "--session", "1", "--export", "csv",
            "--output", str(target), "--force"]


def _plan(root: Path, target: Path) -> list[str]:
    return ["plan", "llama-3.1-8b", "--method", "lora", "--budget", "500", "--profile",
            str(root / "p.json"), "--markdown", str(target), "--force"]


def _detect(root: Path, target: Path) -> list[str]:
    return ["detect", "--profile", str(root / "p.json"), "--save", str(target), "--force"]


def _gui(root: Path, target: Path) -> list[str]:
    return ["gui", "--screenshot", str(target), "--profile", str(root / "p.json"), "--db",
            str(root / "m.db"), "--force"]


COMMANDS: dict[str, tuple[Callable[[Path, Path], list[str]], dict[str, Callable[[Path], Path]]]] = {
    "history --output": (_history, {**DATABASE_TARGETS, **APP_TARGETS}),
    "plan --markdown": (_plan, {**PROFILE_TARGETS, **APP_TARGETS}),
    "detect --save": (_detect, {**PROFILE_TARGETS, **APP_TARGETS}),
    "gui --screenshot": (_gui, {**DATABASE_TARGETS, **PROFILE_TARGETS, **APP_TARGETS}),
}
CASES = [(command, kind) for command, (_, targets) in COMMANDS.items() for kind in targets]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize(("command", "kind"), CASES, ids=[f"{c}: {k}" for c, k in CASES])
def test_no_output_replaces_an_input_or_an_app_file(
        template: Path, tmp_path: Path, command: str, kind: str,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    shutil.copytree(template, root, symlinks=True)
    monkeypatch.setenv("RIGREADY_HOME", str(root / "home"))
    build, targets = COMMANDS[command]
    target = targets[kind](root)
    before = _snapshot(root)
    argv = build(root, target)
    if command == "gui --screenshot":  # the window's writer, with the inputs the CLI declares
        args = build_parser().parse_args(argv)
        with pytest.raises(UserFileError) as refused:
            write_user_file(args.screenshot, b"\x89PNG\r\n\x1a\n", force=True)
        err = f"rigready: error: {refused.value}"
    else:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("rigready: error: ") and "refusing to write" in err, err
    after = _snapshot(root)
    log = "home/logs/rigready.log"  # the command itself appends to the log
    assert after.pop(log).startswith(before.pop(log))
    assert after == before


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_ordinary_output_is_still_written(template: Path, tmp_path: Path, command: str,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    shutil.copytree(template, root, symlinks=True)
    monkeypatch.setenv("RIGREADY_HOME", str(root / "home"))
    out = tmp_path / "out.file"
    out.write_text("old")
    build, _ = COMMANDS[command]
    if command == "gui --screenshot":
        args = build_parser().parse_args(build(root, out))
        write_user_file(args.screenshot, b"\x89PNG\r\n\x1a\n", force=True)
    else:
        assert main(build(root, out)) == 0, capsys.readouterr().err
    assert out.read_text(errors="replace") != "old"
