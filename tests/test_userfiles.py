"""User files are sacred: the shared reader and writer (catalog.userfiles) and the commands
that write files through it (detect --save, history --export, plan --markdown)."""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path

import pytest

from rigready.catalog.userfiles import (
    UserFileError,
    atomic_output,
    read_user_bytes,
    read_user_text,
    write_user_file,
)
from rigready.desktop.cli import main

PROFILE = Path(__file__).parent / "data" / "profiles" / "hobbyist"
RTX3060 = PROFILE / "desktop-rtx3060-12gb-32gb-ddr4.json"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_reader_refuses_fifo_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(UserFileError, match="named pipe"):
        read_user_bytes(fifo)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_reader_refuses_devices(device: str) -> None:
    with pytest.raises(UserFileError, match="a device"):
        read_user_bytes(device)


def test_reader_limits_size_and_folders(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2000)
    with pytest.raises(UserFileError, match="too large"):
        read_user_bytes(big, limit=1000)
    assert read_user_bytes(big, limit=2000) == b" " * 2000
    with pytest.raises(UserFileError, match="a folder"):
        read_user_bytes(tmp_path)
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UserFileError, match="not a text file"):
        read_user_text(tmp_path / "bin")


def test_writer_needs_force_and_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "mine.csv"
    target.write_text("precious\n")
    with pytest.raises(UserFileError, match="already exists; add --force"):
        write_user_file(target, "new")
    with pytest.raises(RuntimeError), atomic_output(target, force=True) as out:
        out.write("half a file")
        raise RuntimeError("the export failed half-way")
    assert target.read_text() == "precious\n" and _leftovers(tmp_path) == []
    write_user_file(target, "new", force=True)
    assert target.read_text() == "new" and _leftovers(tmp_path) == []


def test_writer_disk_full_leaves_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "p.json"
    target.write_text("old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UserFileError, match="the disk is full"):
        write_user_file(target, "x" * 1000, force=True)
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_writer_follows_symlinks_and_keeps_mode(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_user_file(link, "new", force=True)
    assert link.is_symlink() and real.read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o640


def test_writer_refuses_protected_and_bad_names(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    db.write_bytes(b"SQLite format 3\x00")
    with pytest.raises(UserFileError, match="which this command reads"):
        write_user_file(db, "x", force=True, protect=[db])
    with pytest.raises(UserFileError, match="give a file name"):
        write_user_file("", "x")
    with pytest.raises(UserFileError, match="does not exist"):
        write_user_file(tmp_path / "no" / "such.json", "x")
    with pytest.raises(UserFileError, match="is a folder"):
        write_user_file(tmp_path, "x", force=True)
    assert not (tmp_path.parent / f"{tmp_path.name}.tmp").exists()


def test_concurrent_writers_never_mix(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"

    def write(letter: str) -> None:
        for _ in range(20):
            write_user_file(target, letter * 10000, force=True)

    threads = [threading.Thread(target=write, args=(c,)) for c in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    text = target.read_text()
    assert text in ("a" * 10000, "b" * 10000) and _leftovers(tmp_path) == []


def test_detect_save_protects_existing_and_input(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text("keep")
    assert main(["detect", "--profile", str(RTX3060), "--save", str(mine)]) == 2
    assert "already exists; add --force" in capsys.readouterr().err
    assert mine.read_text() == "keep"
    assert main(["detect", "--profile", str(RTX3060), "--save", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err
    assert not (tmp_path.parent / f"{tmp_path.name}.tmp").exists()
    copy = tmp_path / "copy.json"
    copy.write_text(RTX3060.read_text())
    assert main(["detect", "--profile", str(copy), "--save", str(copy), "--force"]) == 2
    assert "which this command reads" in capsys.readouterr().err
    assert main(["detect", "--profile", str(RTX3060), "--save", str(mine), "--force"]) == 0
    assert json.loads(mine.read_text())["schema"] == "rigready.profile"


def test_plan_markdown_never_overwrites_the_profile(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(RTX3060.read_text())
    before = profile.read_text()
    code = main(["plan", "llama-3.2-1b", "--budget", "100", "--profile", str(profile),
                 "--markdown", str(profile), "--force"])
    assert code == 2 and "which this command reads" in capsys.readouterr().err
    assert profile.read_text() == before


def test_history_export_errors_leave_files_alone(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from rigready.monitor.store import Store

    db = tmp_path / "m.sqlite3"
    Store(db).close()
    mine = tmp_path / "mine.csv"
    mine.write_text("precious")
    args = ["history", "--db", str(db), "--session", "99", "--export", "csv"]
    assert main([*args, "--output", str(mine)]) == 2
    assert mine.read_text() == "precious"
    assert main([*args, "--output", str(mine), "--force"]) == 2
    assert "no session 99" in capsys.readouterr().err and mine.read_text() == "precious"
    size = db.stat().st_size
    assert main([*args[:-4], "--session", "1", "--export", "csv", "--output", str(db),
                 "--force"]) == 2
    assert "which this command reads" in capsys.readouterr().err
    assert db.stat().st_size == size and _leftovers(tmp_path) == []
