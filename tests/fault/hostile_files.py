"""Hostile stand-ins for a file rigready reads, made at test time: a FIFO nobody writes to, a
folder, symlinks to a FIFO, to ``/dev/zero``, to nowhere and to themselves, a huge sparse file,
100,000 nested brackets, binary junk, an empty file. Used by ``test_fault_files.py`` and by
``benchmarks/hostile_inputs.py``."""

from __future__ import annotations

import os
from pathlib import Path

KINDS = ("fifo", "folder", "symlink-to-fifo", "symlink-to-dev-zero", "dangling-symlink",
         "symlink-loop", "huge", "nested", "binary", "empty")


def make(path: Path, kind: str, *, toml: bool = False) -> Path:
    """Put a hostile ``kind`` of file at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "symlink-to-fifo":
        os.mkfifo(path.with_name(path.name + ".pipe"))
        path.symlink_to(path.with_name(path.name + ".pipe"))
    elif kind == "symlink-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "dangling-symlink":
        path.symlink_to(path.with_name("nowhere"))
    elif kind == "symlink-loop":
        path.symlink_to(path)
    elif kind == "huge":
        with path.open("wb") as handle:
            handle.truncate(64 * 2**20)  # sparse: no disk used, but over every read limit
    elif kind == "nested":
        path.write_text(("a = " + "[" * 100_000 + "]" * 100_000) if toml
                        else "[" * 100_000 + "]" * 100_000)
    elif kind == "binary":
        path.write_bytes(b"\x00\xff\xfe\x10" * 64)
    elif kind == "empty":
        path.write_bytes(b"")
    else:  # pragma: no cover - a test's typo
        raise ValueError(kind)
    return path
