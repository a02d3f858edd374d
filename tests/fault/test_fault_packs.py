"""Hostile catalog data packs (issue 24, items 7 and 8), built at test time: each is refused in
one line, quickly, with little memory, and leaves the packs folder as it was."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from rigready.catalog import BUILTIN_DATA_DIR
from rigready.catalog.pack import (
    PackError,
    build_pack,
    install_pack,
    installed_pack,
    packs_dir,
    remove_pack,
)
from rigready.desktop.cli import main
from tests.fault import pack_bombs

#: Python allocations allowed while a hostile pack is refused (the bombs unpack to 64 MiB+).
MEMORY_BOUND = 24 * 2**20


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() \
        else []


def _installed_good(tmp_path: Path) -> Path:
    good = build_pack(BUILTIN_DATA_DIR, tmp_path / "good.tar.gz", "2000.01.01", date(2000, 1, 1))
    install_pack(good.read_bytes(), "good")
    return good


def _refused(path: Path, needle: str, capsys: pytest.CaptureFixture[str],
             ) -> tuple[str, int, float]:
    """``rigready catalog update PATH``: (its one error line, peak traced bytes, seconds)."""
    capsys.readouterr()
    tracemalloc.start()
    started = time.monotonic()
    try:
        code = main(["catalog", "update", str(path)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("rigready: error:"), err
    assert needle in err[0], err[0]
    return err[0], peak, time.monotonic() - started


def _special(kind: str) -> Callable[[Path], Path]:
    return lambda path: pack_bombs.special_member(path, kind)


BOMBS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "gzip-bomb": (lambda p: pack_bombs.gzip_bomb(p, 64), "refused before unpacking it"),
    "gzip-bomb-wrong-checksum": (
        lambda p: pack_bombs.gzip_bomb(p, 64, right_checksum=False),
        "refused before unpacking it"),
    "sparse": (pack_bombs.sparse_bomb, "is a sparse file"),
    "pax-header-bomb": (pack_bombs.pax_bomb, "unpacks to more than"),
    "over-total": (pack_bombs.over_total, "unpacks to more than 4 MiB"),
    "many-members": (lambda p: pack_bombs.many_members(p, 2000), "lists 2,000 files"),
    "nested-manifest": (pack_bombs.nested_manifest, "nested more than 64 levels deep"),
    "wrong-checksum": (pack_bombs.wrong_checksum, "checksum mismatch"),
    "manifest-not-first": (pack_bombs.manifest_not_first, "manifest.json must come first"),
    **{f"member-{kind}": (_special(kind), needle) for kind, needle in (
        ("symlink", "is a link"), ("hardlink", "is a link"), ("chardev", "is a device or pipe"),
        ("blockdev", "is a device or pipe"), ("fifo", "is a device or pipe"),
        ("dir", "is a folder"))},
}


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_hostile_pack_is_refused_with_bounded_memory_and_nothing_changes(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: a 64 MiB gzip bomb was read whole into memory (a 1.5 GB one reached 4.5 GB, and
    1.5 GB with a wrong checksum); a sparse member grew to 16 GB; a nested manifest raised
    RecursionError."""
    _installed_good(tmp_path)
    before = _tree(packs_dir())
    build, needle = BOMBS[case]
    _, peak, seconds = _refused(build(tmp_path / f"{case}.tar.gz"), needle, capsys)
    assert peak < MEMORY_BOUND, f"{case}: {peak / 2**20:.1f} MiB traced"
    assert seconds < 10
    assert _tree(packs_dir()) == before
    assert installed_pack() is not None and installed_pack().version == "2000.01.01"  # type: ignore[union-attr]


def test_a_folder_named_current_json_neither_crashes_remove_nor_half_installs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: install left a pack folder and a .current.* file behind and exited 'Is a
    directory'; --remove crashed with IsADirectoryError."""
    good = build_pack(BUILTIN_DATA_DIR, tmp_path / "good.tar.gz", "2099.01.01", date(2099, 1, 1))
    (packs_dir() / "current.json").mkdir(parents=True)
    assert main(["catalog", "update", str(good)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "current.json is not the pointer file" in err[0], err
    assert _tree(packs_dir()) == ["current.json"]
    assert main(["catalog", "update", "--remove"]) == 0
    assert "removed" in capsys.readouterr().out
    assert _tree(packs_dir()) == []
    assert main(["catalog", "update", str(good)]) == 0
    assert installed_pack() is not None


def test_a_failure_while_switching_leaves_the_previous_pack_and_no_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _installed_good(tmp_path)
    before = _tree(packs_dir())
    newer = build_pack(BUILTIN_DATA_DIR, tmp_path / "new.tar.gz", "2099.01.01", date(2099, 1, 1))
    real_replace = os.replace

    def failing_replace(src: object, dst: object) -> None:
        if str(dst).endswith("current.json"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        install_pack(newer.read_bytes(), "new")
    assert _tree(packs_dir()) == before
    assert installed_pack().version == "2000.01.01"  # type: ignore[union-attr]


def test_reinstalling_the_installed_pack_keeps_it(tmp_path: Path) -> None:
    good = _installed_good(tmp_path)
    before = _tree(packs_dir())
    install_pack(good.read_bytes(), "again")
    assert _tree(packs_dir()) == before
    assert installed_pack() is not None


def test_a_pointer_that_is_a_fifo_or_nested_json_means_no_pack(tmp_path: Path) -> None:
    _installed_good(tmp_path)
    pointer = packs_dir() / "current.json"
    pointer.unlink()
    os.mkfifo(pointer)
    assert installed_pack() is None  # never waits on the pipe
    pointer.unlink()
    pointer.write_text("[" * 100_000 + "]" * 100_000)
    assert installed_pack() is None
    pointer.write_text(json.dumps({"folder": "../../etc"}))
    assert installed_pack() is None
    assert remove_pack() is True


def test_a_whole_pack_checksum_is_checked_before_anything_is_unpacked(tmp_path: Path) -> None:
    from rigready.catalog.pack import opened_pack

    bomb = pack_bombs.gzip_bomb(tmp_path / "bomb.tar.gz", 64)
    with pytest.raises(PackError, match="does not match the expected"), \
            opened_pack(str(bomb), sha256="a" * 64):
        raise AssertionError("opened")  # pragma: no cover
    with pytest.raises(PackError, match="64 hexadecimal digits"), \
            opened_pack(str(bomb), sha256="xyz"):
        raise AssertionError("opened")  # pragma: no cover
    assert _tree(packs_dir()) == []
